"""Command families, one module each; importing a module binds its handlers."""

FAMILIES = ("connection", "server", "keys", "strings", "lists", "bitmaps", "hyperloglog", "introspection", "memory", "dump", "protected", "hashes", "sets", "zsets", "pubsub", "persistence", "transactions", "scripting", "functions", "geo", "sort", "replication", "replicaof", "acl")


def load_all():
    import importlib
    for name in FAMILIES:
        try:
            importlib.import_module("redislite.commands." + name)
        except ModuleNotFoundError as e:
            if e.name != "redislite.commands." + name:
                raise
