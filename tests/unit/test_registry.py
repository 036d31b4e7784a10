"""The command table drives dispatch, COMMAND and docs/commands.md."""

import os

from redislite.commands import load_all, registry

load_all()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_docs_commands_md_is_generated_from_the_table():
    with open(os.path.join(ROOT, "docs", "commands.md"), encoding="utf-8") as fh:
        assert fh.read() == registry.commands_markdown(), \
            "regenerate: python -m redislite.commands.registry > docs/commands.md"


def test_metadata_is_redis_7_0():
    assert registry.META["redis_version"].startswith("7.0.")
    get = registry.lookup(b"GET")
    assert (get.arity, get.first_key, get.last_key, get.step) == (2, 1, 1, 1)
    assert "readonly" in get.flags and "@string" in get.acl_categories


def test_lookup_any_case_and_key_positions():
    assert registry.lookup(b"gEt") is registry.lookup(b"get")
    mset = registry.lookup(b"mset")
    assert mset.key_positions([b"MSET", b"a", b"1", b"b", b"2"]) == [1, 3]
    assert registry.lookup(b"nosuchcommand") is None


def test_every_bound_command_is_a_redis_command_with_a_handler():
    for spec in registry.supported():
        assert spec.fullname in registry.META["commands"]
        assert spec.handler is not None or spec.subcommands
