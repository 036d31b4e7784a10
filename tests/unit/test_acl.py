"""ACL users, rules, checks, log and file (redislite/acl.py, commands/acl.py) on task.Clock.

Expected strings and error texts are Redis 7.0.15's (taken from redis-server);
tests/compat/test_acl_compat.py compares the same things live, byte for byte.
"""

import json

import pytest
from twisted.internet import task

from redislite import acl as _acl
from redislite.commands import load_all
from redislite.config import Config
from redislite.errors import ReplyError
from redislite.protocol import Client
from redislite.resp.encoder import OK, Map, encode
from redislite.server import Server

load_all()


def make_server(**changes):
    clock = task.Clock()
    clock.advance(1_700_000_000)
    cfg = Config.defaults()
    if changes:
        cfg = cfg.with_changes({k.replace("_", "-"): v for k, v in changes.items()})
    server = Server(cfg, clock)
    server.clock = clock
    return server


@pytest.fixture
def srv():
    return make_server()


def connect(srv):
    c = Client(srv)
    srv.add_client(c)
    return c


@pytest.fixture
def admin(srv):
    return connect(srv)


def err(reply):
    assert isinstance(reply, ReplyError), reply
    return reply.message


def listing(admin):
    return [line.decode() for line in admin.call("ACL", "LIST")]


# -- rules and how they print --------------------------------------------------------------
def test_new_user_and_default_user_strings(admin):
    assert admin.call("ACL", "SETUSER", "alice") == OK
    assert listing(admin) == ["user alice off resetchannels -@all",
                              "user default on nopass ~* &* +@all"]


def test_patterns_passwords_selectors_print_as_redis(admin):
    assert admin.call("ACL", "SETUSER", "bob", "on", ">p1", "~foo*", "%R~bar", "%W~baz", "%R~baz",
                      "&ch*", "+@hash", "-hset", "+config|get", "(+set ~x*)") == OK
    assert listing(admin)[0] == (
        "user bob on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~foo* "
        "%R~bar ~baz resetchannels &ch* -@all +@hash +config|get -hset "
        "(~x* resetchannels -@all +set)")


def test_category_approximation_matches_redis(admin):
    admin.call("ACL", "SETUSER", "c", "+@all", "-@dangerous", "-get")
    admin.call("ACL", "SETUSER", "d", "+@read", "+@write", "-@string")
    lines = listing(admin)
    assert lines[0] == "user c off resetchannels +@all -@dangerous -get"
    # the category part is Redis's exactly; the single commands are Redis's set (its order is random)
    head = ("user d off resetchannels -@all +@sortedset +@hash +@geo +@bitmap +@keyspace "
            "+@hyperloglog +@list +@stream +@set ")
    assert lines[1].startswith(head)
    assert sorted(lines[1][len(head):].split()) == sorted(
        "+function|delete +function|load +function|flush +function|restore +memory|usage "
        "-object|help -xgroup|help +lolwut -pfselftest -xinfo|help".split())


def test_first_args_and_container_rules(admin):
    admin.call("ACL", "SETUSER", "f", "+select|0", "+select|1", "+SELECT|0")
    assert listing(admin)[1] == "user f off resetchannels -@all +select|0 +select|1"
    admin.call("ACL", "SETUSER", "e", "+client", "-client|kill")
    assert listing(admin)[1] == "user e off resetchannels -@all +client -client|kill"


def test_reset_flags_and_clearselectors(admin):
    admin.call("ACL", "SETUSER", "g", "skip-sanitize-payload", "nopass", "on", "allkeys",
               "allchannels", "allcommands")
    assert listing(admin)[1] == "user g on nopass skip-sanitize-payload ~* &* +@all"
    admin.call("ACL", "SETUSER", "g", "reset")
    assert listing(admin)[1] == "user g off sanitize-payload resetchannels -@all"
    admin.call("ACL", "SETUSER", "g", "(~a", "+get)", "(&x +publish)", "clearselectors", "(~b +set)")
    assert listing(admin)[1] == ("user g off sanitize-payload resetchannels -@all "
                                 "(~b resetchannels -@all +set)")


@pytest.mark.parametrize("rule, text", [
    (["~*", "~x"], _acl.E_EEXIST),
    (["&*", "&x"], _acl.E_EISDIR),
    (["#abc"], _acl.E_EBADMSG),
    (["<nopw"], _acl.E_ENODEV),
    (["+nosuch"], _acl.E_ENOENT),
    (["+@nosuch"], _acl.E_ENOENT),
    (["foo"], _acl.E_EINVAL),
    (["%RX~a"], _acl.E_EINVAL),
    (["%~a"], _acl.E_EINVAL),
    (["+client|id|x"], _acl.E_ECHILD),
    (["+config|"], _acl.E_EINVAL),
])
def test_setuser_errors(admin, rule, text):
    message = err(admin.call("ACL", "SETUSER", "g", *rule))
    assert message == "ERR Error in ACL SETUSER modifier '%s': %s" % (rule[-1], text)
    assert admin.call("ACL", "GETUSER", "g") is None     # nothing applied


def test_setuser_is_all_or_nothing(admin):
    admin.call("ACL", "SETUSER", "h", "on", "+get")
    err(admin.call("ACL", "SETUSER", "h", "off", "+set", "+nosuch"))
    assert listing(admin)[1] == "user h on resetchannels -@all +get"


def test_setuser_name_and_parenthesis_errors(admin):
    assert err(admin.call("ACL", "SETUSER", "a b")) == "ERR Usernames can't contain spaces or null characters"
    assert err(admin.call("ACL", "SETUSER", "u", "x", "(foo", "bar")) == \
        "ERR Unmatched parenthesis in acl selector starting at '(foo'."


def test_getuser_reply_shape(admin):
    admin.call("ACL", "SETUSER", "bob", "on", ">p1", "~foo*", "%R~bar", "&ch*", "+get", "(+set ~x*)")
    reply = admin.call("ACL", "GETUSER", "bob")
    assert isinstance(reply, Map)
    wire = encode(reply, True)
    assert wire.startswith(b"%6\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n$9\r\npasswords\r\n*1\r\n")
    fields = dict(reply)
    assert fields["commands"] == b"-@all +get"
    assert fields["keys"] == b"~foo* %R~bar"
    assert fields["channels"] == b"&ch*"
    assert [dict(s) for s in fields["selectors"]] == [
        {"commands": b"-@all +set", "keys": b"~x*", "channels": b""}]


def test_users_deluser_whoami_cat_genpass(admin, srv):
    admin.call("ACL", "SETUSER", "zed")
    admin.call("ACL", "SETUSER", "amy")
    assert admin.call("ACL", "USERS") == [b"amy", b"default", b"zed"]
    assert err(admin.call("ACL", "DELUSER", "zed", "default")) == "ERR The 'default' user cannot be removed"
    assert admin.call("ACL", "DELUSER", "zed", "nosuch") == 1
    assert admin.call("ACL", "WHOAMI") == b"default"
    assert admin.call("ACL", "CAT")[:3] == [b"keyspace", b"read", b"write"]
    assert b"get" in admin.call("ACL", "CAT", "string")
    assert err(admin.call("ACL", "CAT", "nosuch")) == "ERR Unknown category 'nosuch'"
    assert len(admin.call("ACL", "GENPASS")) == 64
    assert len(admin.call("ACL", "GENPASS", "5")) == 2
    assert err(admin.call("ACL", "GENPASS", "0")).startswith("ERR ACL GENPASS argument must be")


def test_dryrun(admin):
    admin.call("ACL", "SETUSER", "bob", "~foo*", "+@hash", "-hset", "&c1", "+publish")
    assert admin.call("ACL", "DRYRUN", "bob", "hget", "foo1", "f") == OK
    assert admin.call("ACL", "DRYRUN", "bob", "hget", "zz", "f") == \
        b"This user has no permissions to access the 'zz' key"
    assert admin.call("ACL", "DRYRUN", "bob", "hset", "foo", "f", "v") == \
        b"This user has no permissions to run the 'hset' command"
    assert admin.call("ACL", "DRYRUN", "bob", "publish", "c2", "m") == \
        b"This user has no permissions to access the 'c2' channel"
    assert err(admin.call("ACL", "DRYRUN", "bob", "hget")) == "ERR wrong number of arguments for 'hget' command"
    assert err(admin.call("ACL", "DRYRUN", "nosuch", "get", "x")) == "ERR User 'nosuch' not found"
    assert err(admin.call("ACL", "DRYRUN", "bob", "nosuch")) == "ERR Command 'nosuch' not found"


# -- enforcement ---------------------------------------------------------------------------
def user_client(srv, admin, *rules, name="u1"):
    assert admin.call("ACL", "SETUSER", name, "on", "nopass", *rules) == OK
    c = connect(srv)
    assert c.call("AUTH", name, "x") == OK
    return c


def test_unrestricted_clients_skip_the_check(srv, admin):
    assert admin.acl_user is None
    c = user_client(srv, admin, "~*", "&*", "+@all")
    assert c.acl_user is None
    admin.call("ACL", "SETUSER", "u1", "-debug")
    assert c.acl_user is srv.acl.users[b"u1"]


def test_command_key_channel_refusals(srv, admin):
    c = user_client(srv, admin, "~k*", "%R~r*", "+get", "+set", "+publish", "&c1", "+client|id")
    assert c.call("GET", "k1") is None
    assert c.call("GET", "r1") is None
    assert err(c.call("SET", "r1", "v")) == _acl.NOPERM_KEY
    assert err(c.call("GET", "zz")) == _acl.NOPERM_KEY
    assert err(c.call("DEL", "k1")) == "NOPERM this user has no permissions to run the 'del' command"
    assert err(c.call("CLIENT", "LIST")) == \
        "NOPERM this user has no permissions to run the 'client|list' command"
    assert isinstance(c.call("CLIENT", "ID"), int)
    assert err(c.call("PUBLISH", "c2", "m")) == _acl.NOPERM_CHANNEL
    assert c.call("PUBLISH", "c1", "m") == 0


def test_set_with_get_needs_read_permission(srv, admin):
    c = user_client(srv, admin, "%W~w*", "+set")
    assert c.call("SET", "w1", "v") == OK
    assert err(c.call("SET", "w1", "v", "GET")) == _acl.NOPERM_KEY


def test_selectors_widen_permissions(srv, admin):
    c = user_client(srv, admin, "~a*", "+get", "(~b* +set)")
    assert c.call("SET", "b1", "v") == OK
    assert err(c.call("SET", "a1", "v")) == _acl.NOPERM_KEY
    assert err(c.call("GET", "b1")) == _acl.NOPERM_KEY


def test_first_arg_rule(srv, admin):
    c = user_client(srv, admin, "+select|0")
    assert c.call("SELECT", "0") == OK
    assert err(c.call("SELECT", "1")) == "NOPERM this user has no permissions to run the 'select' command"


def test_acl_log_entries_group_and_reset(srv, admin):
    c = user_client(srv, admin, "~k*", "+get")
    err(c.call("GET", "zz"))
    err(c.call("GET", "zz"))
    err(c.call("DEL", "k"))
    srv.clock.advance(1.5)
    log = admin.call("ACL", "LOG")
    assert len(log) == 2
    first = dict(log[0])
    assert first["count"] == 1 and first["reason"] == "command" and first["object"] == b"del"
    assert first["context"] == "toplevel" and first["username"] == b"u1"
    assert first["age-seconds"] == 1.5
    assert b"user=u1" in first["client-info"] and b"cmd=del " in first["client-info"]
    second = dict(log[1])
    assert second["count"] == 2 and second["reason"] == "key" and second["object"] == b"zz"
    assert len(admin.call("ACL", "LOG", "1")) == 1
    assert admin.call("ACL", "LOG", "RESET") == OK
    assert admin.call("ACL", "LOG") == []
    assert err(admin.call("ACL", "LOG", "x")) == "ERR value is not an integer or out of range"


def test_acl_log_max_len(srv, admin):
    admin.call("CONFIG", "SET", "acllog-max-len", "2")
    c = user_client(srv, admin, "+get")
    for cmd in ("SET", "DEL", "INCR"):
        err(c.call(cmd, "k", *(["v"] if cmd == "SET" else [])))
    assert [dict(e)["object"] for e in admin.call("ACL", "LOG")] == [b"incr", b"del"]


def test_auth_failures_are_logged(srv, admin):
    c = connect(srv)
    assert err(c.call("AUTH", "nosuch", "x")) == "WRONGPASS invalid username-password pair or user is disabled."
    assert err(c.call("HELLO", "3", "AUTH", "nosuch", "y")).startswith("WRONGPASS")
    entries = [dict(e) for e in admin.call("ACL", "LOG")]
    assert [(e["reason"], e["object"], e["username"]) for e in entries] == [
        ("auth", b"HELLO", b"nosuch"), ("auth", b"AUTH", b"nosuch")]


def test_auth_with_passwords_and_disabled_users(srv, admin):
    admin.call("ACL", "SETUSER", "v", "on", ">p", ">q")
    c = connect(srv)
    assert c.call("AUTH", "v", "q") == OK and c.user == "v"
    assert c.call("ACL", "WHOAMI") is not None
    admin.call("ACL", "SETUSER", "v", "off")
    assert err(connect(srv).call("AUTH", "v", "p")).startswith("WRONGPASS")
    admin.call("ACL", "SETUSER", "v", "on", "<q")
    assert err(connect(srv).call("AUTH", "v", "q")).startswith("WRONGPASS")
    assert connect(srv).call("AUTH", "v", "p") == OK


def test_requirepass_is_the_default_users_password(srv, admin):
    assert err(admin.call("AUTH", "x")).startswith("ERR AUTH <password> called without")
    admin.call("CONFIG", "SET", "requirepass", "s3cret")
    assert listing(admin)[0] == ("user default on #%s ~* &* +@all"
                                 % _acl.hash_password(b"s3cret").decode())
    c = connect(srv)
    assert err(c.call("GET", "k")) == "NOAUTH Authentication required."
    assert c.call("AUTH", "s3cret") == OK
    assert c.call("GET", "k") is None
    admin.call("CONFIG", "SET", "requirepass", "")
    assert listing(admin)[0] == "user default on nopass ~* &* +@all"
    assert connect(srv).call("GET", "k") is None


def test_default_user_with_acl_password_needs_auth(srv, admin):
    admin.call("ACL", "SETUSER", "default", "resetpass", ">pw")
    c = connect(srv)
    assert err(c.call("PING")) == "NOAUTH Authentication required."
    assert c.call("AUTH", "default", "pw") == OK
    assert c.call("RESET").text == "RESET"
    assert err(c.call("PING")) == "NOAUTH Authentication required."


def test_restricted_default_user_applies_to_new_clients(srv, admin):
    admin.call("ACL", "SETUSER", "default", "-flushall")
    c = connect(srv)
    assert err(c.call("FLUSHALL")) == "NOPERM this user has no permissions to run the 'flushall' command"
    assert err(admin.call("FLUSHALL")).startswith("NOPERM")     # existing clients too
    admin.call("ACL", "SETUSER", "default", "+flushall")
    assert c.call("FLUSHALL") == OK
    assert c.acl_user is None          # every command allowed again: back on the fast path


def test_multi_queue_refusal_aborts_exec(srv, admin):
    c = user_client(srv, admin, "~k*", "+get", "+multi", "+exec")
    c.call("MULTI")
    assert err(c.call("GET", "zz")) == _acl.NOPERM_KEY
    assert err(c.call("EXEC")) == "EXECABORT Transaction discarded because of previous errors."
    assert dict(admin.call("ACL", "LOG")[0])["context"] == "multi"


def test_rules_changed_before_exec(srv, admin):
    c = user_client(srv, admin, "~*", "+@all", "&*")
    c.call("MULTI")
    c.call("GET", "k")
    c.call("SET", "k", "v")
    c.call("PUBLISH", "ch", "m")
    admin.call("ACL", "SETUSER", "u1", "-set", "resetchannels")
    reply = c.call("EXEC")
    assert reply[0] is None
    prefix = ("NOPERM ACLs rules changed between the moment the transaction was accumulated and "
              "the EXEC call. This command is no longer allowed for the following reason: ")
    assert err(reply[1]) == prefix + "no permission to execute the command or subcommand"
    assert err(reply[2]) == prefix + "no permission to access one of the channels used as arguments"


def test_lua_call_pcall_and_acl_check_cmd(srv, admin):
    c = user_client(srv, admin, "~k*", "+get", "+eval")
    reply = c.call("EVAL", "return redis.pcall('get','zz')", "0")
    assert err(reply) == ("ERR The user executing the script can't access at least one of the keys "
                          "mentioned in the command arguments")
    reply = c.call("EVAL", "return redis.call('del','k1')", "0")
    assert err(reply).startswith("ERR The user executing the script can't run this command or subcommand "
                                 "script: ")
    assert c.call("EVAL", "return redis.acl_check_cmd('get','k1')", "0") == 1
    assert c.call("EVAL", "return redis.acl_check_cmd('get','zz')", "0") is None
    assert c.call("EVAL", "return redis.acl_check_cmd('del','k1')", "0") is None
    assert err(c.call("EVAL", "return redis.acl_check_cmd('nosuch')", "0")).startswith(
        "ERR Invalid command passed to redis.acl_check_cmd()")
    assert dict(admin.call("ACL", "LOG")[0])["context"] == "lua"


def test_deluser_closes_its_clients(srv, admin):
    c = user_client(srv, admin, "+@all")
    assert admin.call("ACL", "DELUSER", "u1") == 1
    assert c.closing and c.id not in srv.clients


def test_client_kill_user(srv, admin):
    c = user_client(srv, admin, "+@all")
    assert err(admin.call("CLIENT", "KILL", "USER", "nosuch")) == "ERR No such user 'nosuch'"
    assert admin.call("CLIENT", "KILL", "USER", "u1") == 1
    assert c.closing


def test_pubsub_clients_killed_when_channels_revoked(srv, admin):
    c = user_client(srv, admin, "+@all", "&x", "&y")
    c.call("SUBSCRIBE", "x")
    admin.call("ACL", "SETUSER", "u1", "&z")           # a superset: nothing happens
    assert not c.closing
    admin.call("ACL", "SETUSER", "u1", "resetchannels", "&y")
    assert c.closing


# -- the ACL file --------------------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("")
    srv = make_server(aclfile=str(path))
    admin = connect(srv)
    admin.call("ACL", "SETUSER", "bob", "on", ">p1", "~foo*", "+get", "(+set ~x*)")
    assert admin.call("ACL", "SAVE") == OK
    saved = path.read_text()
    assert saved.splitlines() == [line for line in listing(admin)]
    c = user_client(srv, admin, "+@all", name="other")
    path.write_text(saved)
    assert admin.call("ACL", "LOAD") == OK
    assert admin.call("ACL", "USERS") == [b"bob", b"default"]
    assert c.closing                                       # its user set was replaced
    srv2 = make_server(aclfile=str(path))
    assert listing(connect(srv2)) == saved.splitlines()


def test_load_errors_change_nothing(tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user a on +get\n")
    srv = make_server(aclfile=str(path))
    admin = connect(srv)
    path.write_text("user b on +nosuch\nnot a user line\nuser b on\n")
    message = err(admin.call("ACL", "LOAD"))
    assert message == (
        "ERR %s:1: Error in applying operation '+nosuch': Unknown command or category name in "
        "ACL. %s:2 should start with user keyword "
        "followed by the username. WARNING: Duplicate user 'b' found on line 3. WARNING: ACL errors "
        "detected, no change to the previously active ACL rules was performed" % (path, path))
    assert admin.call("ACL", "USERS") == [b"a", b"default"]


def test_save_and_load_need_an_aclfile(admin):
    assert err(admin.call("ACL", "SAVE")) == _acl.NO_ACLFILE
    assert err(admin.call("ACL", "LOAD")) == _acl.NO_ACLFILE


def test_bad_aclfile_refuses_to_start(tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user a +nosuch\n")
    with pytest.raises(_acl.AclStartupError):
        make_server(aclfile=str(path))


# -- HTTP: a bearer token maps to an ACL user ----------------------------------------------
def test_http_bearer_user_password():
    from tests.unit.test_http import Api
    a = Api({"http-token": "tok", "http-allow-dangerous": "yes"})
    a.resp.call("ACL", "SETUSER", "reader", "on", ">rpw", "~pub:*", "+@read", "+acl|whoami")
    assert a.request("GET", "/api/v1/info", token="reader:bad")[0].code == 401
    assert a.request("GET", "/api/v1/keys/pub:x", token="reader:rpw")[0].code == 404
    code, body = a.json("POST", "/api/v1/command", {"args": ["GET", "secret"]}, token="reader:rpw")
    assert code == 403 and body == {"error": _acl.NOPERM_KEY}
    code, body = a.json("POST", "/api/v1/command", {"args": ["SET", "pub:x", "1"]}, token="reader:rpw")
    assert code == 403 and body["error"].startswith("NOPERM")
    code, body = a.json("POST", "/api/v1/command", {"args": ["ACL", "WHOAMI"]}, token="reader:rpw")
    assert (code, body) == (200, {"result": "reader"})
    # the plain token keeps meaning the default user
    code, body = a.json("POST", "/api/v1/command", {"args": ["SET", "secret", "1"]}, token="tok")
    assert (code, body) == (200, {"result": "OK"})


def test_http_default_user_acl_password():
    from tests.unit.test_http import Api
    a = Api()
    assert a.request("GET", "/api/v1/info")[0].code == 200
    a.resp.call("ACL", "SETUSER", "default", "resetpass", ">dpw")
    assert a.request("GET", "/api/v1/info")[0].code == 401
    assert a.request("GET", "/api/v1/info", token="dpw")[0].code == 200
    assert a.request("GET", "/api/v1/info", token="default:dpw")[0].code == 200
    assert json.loads(a.request("GET", "/api/v1/info", token="x")[1])["error"]


# -- users in the config file ----------------------------------------------------------------
def test_config_file_users(tmp_path):
    from redislite.config import ConfigError, build_config
    conf = tmp_path / "redis.conf"
    conf.write_text("user alice on >pw ~a* &x +@read -get +select|0 (~b +set)\n"
                    "user default on nopass ~* &* +@all -flushall\n"
                    "user bob\n")
    clock = task.Clock()
    srv = Server(build_config(file_path=str(conf)), clock)
    admin = connect(srv)
    assert listing(admin) == [
        "user alice on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~a* "
        "resetchannels &x -@all +@read -get +select|0 (~b resetchannels -@all +set)",
        "user bob off resetchannels -@all",
        "user default on nopass sanitize-payload ~* &* +@all -flushall"]
    assert err(admin.call("FLUSHALL")).startswith("NOPERM")
    conf.write_text("user a on\nuser a off\n")
    with pytest.raises(ConfigError, match="Duplicate user found"):
        build_config(file_path=str(conf))
    conf.write_text("user a on ~*\nuser b on ~* ~x\n")
    with pytest.raises(ConfigError, match="Error in user declaration 'on': Adding a pattern after"):
        build_config(file_path=str(conf))
    conf.write_text("user a on +nosuch\n")     # unknown commands fail at load time, as Redis
    with pytest.raises(_acl.AclStartupError, match="Unknown command or category name"):
        Server(build_config(file_path=str(conf)), clock)
    conf.write_text("user a on\n")
    (tmp_path / "users.acl").write_text("")
    with pytest.raises(_acl.AclStartupError, match="but not both"):
        Server(build_config(file_path=str(conf), cli={"aclfile": str(tmp_path / "users.acl")}), clock)


def test_sort_by_and_get_need_every_key_readable(srv, admin):
    c = user_client(srv, admin, "~k*", "+sort", "(%W~* +sort)")
    assert c.call("SORT", "k", "BY", "nosort") == []
    assert err(c.call("SORT", "k", "BY", "w*")) == \
        "ERR BY option of SORT denied due to insufficient ACL permissions."
    assert err(c.call("SORT", "k", "GET", "#", "BY", "x*")) == \
        "ERR GET option of SORT denied due to insufficient ACL permissions."
    d = user_client(srv, admin, "~k*", "%R~*", "+sort", name="u2")
    assert d.call("SORT", "k", "GET", "#", "BY", "x*") == []


def test_twistd_refuses_a_bad_acl_file_before_listening(tmp_path):
    from twisted.python import usage
    from redislite.tap import Options
    path = tmp_path / "users.acl"
    path.write_text("user a +nosuch\n")
    with pytest.raises(usage.UsageError, match="Aborting Redis startup because of ACL errors"):
        Options().parseOptions(["--aclfile", str(path), "--port", "0", "--http-port", "0"])
    assert _acl.startup_problem(Config.defaults()) is None


def test_config_rewrite_writes_the_users(srv, admin, tmp_path):
    path = tmp_path / "redis.conf"
    path.write_text('port 7705\nsave ""\nuser bob on +get\n# comment\nmaxmemory 10mb\n')
    srv.config_file = str(path)
    admin.call("ACL", "SETUSER", "bob", "on", "+get")     # as if loaded from the file
    admin.call("ACL", "SETUSER", "carl", "on")
    assert admin.call("CONFIG", "REWRITE") == OK
    lines = path.read_text().splitlines()
    # as redis-server 7.0.15 rewrites the same file
    assert lines[2:4] == ["user bob on resetchannels -@all +get", "# comment"]
    assert lines[-2:] == ["user carl on resetchannels -@all", "user default on nopass ~* &* +@all"]


def test_sort_get_inside_a_script_checks_the_callers_user(srv, admin):
    c = user_client(srv, admin, "~k*", "+sort", "+eval")
    assert err(c.call("EVAL", "return redis.pcall('sort', KEYS[1], 'GET', '#')", "1", "k")) == \
        "ERR GET option of SORT denied due to insufficient ACL permissions."
    assert admin.call("EVAL", "return redis.pcall('sort', KEYS[1], 'GET', '#')", "1", "k") == []
