"""The twistd plugin: discovery, option parsing, precedence and bad values."""

import pytest
from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.python import usage

from redislite import tap


def parse(args, env=None, monkeypatch=None):
    opts = tap.Options()
    opts.parseOptions(args)
    return opts["cfg"]


def test_plugin_is_discovered():
    import twisted.plugins
    makers = {p.tapname: p for p in getPlugins(IServiceMaker, twisted.plugins)}
    assert "redislite" in makers
    assert makers["redislite"].options is tap.Options


def test_defaults_and_help_lists_every_option_with_default():
    cfg = parse([])
    assert cfg["port"] == 6379
    assert cfg["bind"] == ("127.0.0.1",)
    help_text = str(tap.Options())
    for name, _ in tap.OPTIONS:
        assert "--" + name in help_text
    assert "[default: 6379]" in help_text
    assert "[default: noeviction]" in help_text


def test_memory_units_and_precedence(monkeypatch, tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("maxmemory 1mb\nmaxmemory-policy allkeys-lru\ndatabases 8\n")
    monkeypatch.setenv("REDISLITE_MAXMEMORY", "2mb")
    monkeypatch.setenv("REDISLITE_DATABASES", "4")
    cfg = parse(["--config", str(conf), "--maxmemory", "100mb"])
    assert cfg["maxmemory"] == 100 * 1024 * 1024        # command line wins
    assert cfg["databases"] == 4                         # env beats the file
    assert cfg["maxmemory-policy"] == "allkeys-lru"      # file beats the default


@pytest.mark.parametrize("args,needle", [
    (["--maxmemory-policy", "sometimes"], "maxmemory-policy"),
    (["--port", "70000"], "port"),
    (["--maxmemory", "lots"], "maxmemory"),
    (["--databases", "0"], "databases"),
    (["--shards", "0"], "shards"),
])
def test_bad_values_are_usage_errors_naming_the_option(args, needle):
    with pytest.raises(usage.UsageError) as exc:
        parse(args)
    assert needle in str(exc.value)


def test_make_service_builds_listeners():
    from twisted.internet.testing import MemoryReactorClock
    from redislite.service import make_service
    cfg = parse(["--port", "0", "--http-port", "0"])
    svc = make_service(cfg, reactor=MemoryReactorClock())
    assert svc.server.router.count == cfg["shards"]
