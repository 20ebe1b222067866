"""ACL rules, descriptions and checks (photon.security.acl) without a server. Expected texts
were produced by redis-server 7.0.15 with the same rules; single-command rules are compared as
sets, since Redis prints them in hash-table order (seeded at random on every start)."""
import hashlib

import pytest

from photon.security import acl
from photon.security.acl import AclError, RuleError, User, Users, command_keys, universe


def user(*rules: str, name: bytes = b"u") -> User:
    u = User(name)
    for r in rules:
        u.apply(r.encode())
    return u


def same_rules(got: str, expected: str) -> bool:
    """Equal up to the order of single-command rules (after +@all/-@all and categories)."""
    def split(text):
        parts = text.split()
        head = [p for p in parts if p in ("+@all", "-@all") or p[1:2] == "@"]
        rest = sorted(p for p in parts if p not in head)
        return head, rest
    return split(got) == split(expected)


# --- descriptions (ACL LIST / GETUSER) as redis-server 7.0.15 prints them --------------------

@pytest.mark.parametrize("rules, expected", [
    (["-@all", "+@read", "+@write"], "-@all +@write +@read"),
    (["+@all", "-@read", "-@write"], "+@all -@write -@read"),
    (["-@all", "+@hash", "+@list", "+@set", "+@keyspace"], "-@all +@keyspace +@list +@hash +@set"),
    (["-@all", "+@string", "+@bitmap"], "-@all +@string +@bitmap"),
    (["+@all", "-@string", "-@fast"], "+@all -@fast -substr -msetnx -setrange -lcs -psetex "
                                      "-setex -set -getrange -mset"),
    (["-@all", "+config", "-config|set"], "-@all +config -config|set"),
    (["-@all", "+acl"], "-@all +acl"),
    (["+@all", "-acl"], "+@all -acl"),
    (["-@all", "+select|0", "+select|1", "+get"], "-@all +get +select|0 +select|1"),
    (["+@all", "-get", "+get|x"], "+@all -get +get|x"),
    (["+@read", "-@dangerous"], "-@all +@read -keys -sort_ro"),
    (["+@all", "-@dangerous", "+debug"], "+@all -@dangerous +debug"),
    (["allcommands", "-@admin", "nocommands", "+@string"], "-@all +@string"),
    (["+@all", "-@all"], "-@all"),
    (["-@all", "+get", "+set", "+@hash", "-hset", "+client|id", "+config|get"],
     "-@all +@hash +client|id -hset +config|get +get +set"),
    (["+@all", "-@admin", "+config|get", "-get"], "+@all -@admin +config|get -get"),
    (["+@all", "-flushall", "-debug", "-config|set", "-select", "+select|0"],
     "+@all -flushall -debug -config|set -select +select|0"),
])
def test_command_rules_described_as_redis(rules, expected):
    got = user(*rules).root.describe_commands()
    assert same_rules(got, expected), got


def test_list_lines_as_redis():
    u = user("on", ">pw1", ">pw2", "~foo:*", "&chan*", "+get", "+@hash", "-hget", name=b"alice")
    assert same_rules(u.line(), "user alice on #c592df4a86933b92addc9842402ddf198c638ea9be58916"
                      "ee6e3734e1e3152f8 #93915a0a4bf8f634cb1856494dd4304472ad46b9827f541f76b6"
                      "761c49cc55b0 ~foo:* resetchannels &chan* -@all +@hash -hget +get")
    assert acl.new_default_user().line() == "user default on nopass ~* &* +@all"
    assert User(b"k2").line() == "user k2 off resetchannels -@all"
    assert user("reset", name=b"g").line() == "user g off sanitize-payload resetchannels -@all"
    carol = user("on", "%R~r:*", "%W~w:*", "%RW~rw:*", "+@all", "-debug", name=b"carol")
    assert carol.line() == "user carol on %R~r:* %W~w:* ~rw:* resetchannels +@all -debug"
    c1 = user("on", ">p", "(~a* +get)", "(+set ~b*)", name=b"c1")
    assert c1.line() == ("user c1 on #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7dd"
                         "fca9940 resetchannels -@all (~a* resetchannels -@all +get) (~b* "
                         "resetchannels -@all +set)")
    bob = user("~", "%R", "&", "+@all", "-config|get", name=b"bob")
    assert bob.line() == "user bob off ~ resetchannels & +@all -config|get"
    assert user("on", "nopass", "~*", "+@all", "resetpass", name=b"c2").line() == \
        "user c2 on ~* resetchannels +@all"
    assert user("on", "nopass", ">x", name=b"c3").line() == \
        "user c3 on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 " \
        "resetchannels -@all"
    assert user("on", ">p", "~a*", "~a*", "+get", "+get", name=b"z").line().endswith(
        " ~a* resetchannels -@all +get")


@pytest.mark.parametrize("rule, code", [
    ("badrule", "EINVAL"), ("+nosuch", "ENOENT"), ("+@nosuch", "ENOENT"), ("-@", "ENOENT"),
    ("+", "ENOENT"), ("<nopw", "ENODEV"), ("#abc", "EBADMSG"), ("!abc", "EBADMSG"),
    ("%X~foo", "EINVAL"), ("%~foo", "EINVAL"), ("%RR~x", "EINVAL"), ("+config|nosuch", "ENOENT"),
    ("-select|0", "ENOENT"), ("+config|get|x", "ECHILD"), ("+debug|", "EINVAL"),
    ("~a b", "EINVAL"), ("&a b", "EINVAL"), ("(on)", "EINVAL"), ("(~a* +nosuch)", "ENOENT"),
])
def test_rule_errors(rule, code):
    with pytest.raises(RuleError) as e:
        user(rule)
    assert e.value.code == code


def test_pattern_after_allkeys_or_allchannels():
    with pytest.raises(RuleError) as e:
        user("allkeys", "~x")
    assert e.value.text.startswith("Adding a pattern after the * pattern (or the 'allkeys' flag)")
    with pytest.raises(RuleError) as e:
        user("allchannels", "&x")
    assert e.value.code == "EISDIR"
    assert user("allkeys", "resetkeys", "~x").root.describe_keys() == "~x"


def test_setuser_is_all_or_nothing_and_messages():
    users = Users(None)
    users.setuser(b"alice", [b"on", b">a"])
    with pytest.raises(AclError) as e:
        users.setuser(b"alice", [b"off", b"+nosuch"])
    assert str(e.value) == ("ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or "
                            "category name in ACL")
    assert users.get(b"alice").enabled  # unchanged
    with pytest.raises(AclError) as e:
        users.setuser(b"bob", [b"(~a*", b"+get"])
    assert str(e.value) == "ERR Unmatched parenthesis in acl selector starting at '(~a*'."
    assert users.get(b"bob") is None
    users.setuser(b"bob", [b"(~a*", b"+get)", b"on"])
    assert len(users.get(b"bob").selectors) == 2


def test_passwords():
    u = user("on", ">secret")
    assert u.check_password(b"secret") and not u.check_password(b"nope")
    assert u.passwords == [hashlib.sha256(b"secret").hexdigest()]
    u.apply(b"<secret")
    assert not u.check_password(b"secret")
    u.apply(b"#" + hashlib.sha256(b"x").hexdigest().encode())
    assert u.check_password(b"x")
    u.apply(b"off")
    assert not u.check_password(b"x")  # disabled users cannot log in
    u.apply(b"on")
    u.apply(b"nopass")
    assert u.check_password(b"anything") and u.passwords == []


# --- checks -----------------------------------------------------------------------------------

def check(u: User, *argv: str):
    args = [a.encode() for a in argv]
    u_ = universe()
    name = args[0].decode().lower()
    cmd = u_.by_name[name]
    if cmd.subs and len(args) > 1:
        cmd = cmd.subs[args[1].decode().lower()]
    return u.check(cmd, args)


def test_command_permissions_and_first_args():
    u = user("on", "allkeys", "+@all", "-debug", "-config|set", "-select", "+select|0")
    assert check(u, "get", "k") == (acl.OK, 0)
    assert check(u, "debug", "sleep", "0")[0] == acl.DENIED_CMD
    assert check(u, "config", "set", "maxclients", "1")[0] == acl.DENIED_CMD
    assert check(u, "config", "get", "maxclients") == (acl.OK, 0)
    assert check(u, "select", "0") == (acl.OK, 0)
    assert check(u, "select", "1")[0] == acl.DENIED_CMD
    assert check(user("-@all"), "auth", "x") == (acl.OK, 0)  # no-auth commands always run


def test_key_patterns_with_read_write_permissions():
    u = user("on", "+@all", "~foo*", "%R~r*", "%W~w*")
    assert check(u, "get", "bar") == (acl.DENIED_KEY, 1)
    assert check(u, "get", "foo1") == (acl.OK, 0)
    assert check(u, "set", "r1", "x") == (acl.DENIED_KEY, 1)
    assert check(u, "get", "r1") == (acl.OK, 0)
    assert check(u, "set", "w1", "x") == (acl.OK, 0)
    assert check(u, "set", "w1", "x", "GET") == (acl.DENIED_KEY, 1)  # GET needs read too
    assert check(u, "get", "w1") == (acl.DENIED_KEY, 1)
    assert check(u, "mset", "foo1", "1", "bar", "2") == (acl.DENIED_KEY, 3)
    # LMOVE reads+deletes the source and inserts into the destination
    assert check(u, "lmove", "r1", "w1", "left", "left") == (acl.DENIED_KEY, 1)
    assert check(u, "lmove", "foo", "w1", "left", "left") == (acl.OK, 0)
    assert check(u, "lmove", "w1", "r1", "left", "left") == (acl.DENIED_KEY, 1)
    # ZUNIONSTORE: destination written, sources read (numkeys spec)
    assert check(u, "zunionstore", "w1", "2", "r1", "foo") == (acl.OK, 0)
    assert check(u, "zunionstore", "r1", "2", "r1", "foo") == (acl.DENIED_KEY, 1)


def test_channels():
    u = user("on", "+@all", "allkeys", "&ch*")
    assert check(u, "publish", "x", "1") == (acl.DENIED_CHANNEL, 1)
    assert check(u, "publish", "ch1", "1") == (acl.OK, 0)
    assert check(u, "subscribe", "ch1", "zz") == (acl.DENIED_CHANNEL, 2)
    assert check(u, "psubscribe", "ch*x") == (acl.DENIED_CHANNEL, 1)  # literal compare
    assert check(u, "psubscribe", "ch*") == (acl.OK, 0)
    assert check(u, "unsubscribe", "zz") == (acl.OK, 0)


def test_selectors_any_may_allow_and_most_relevant_refusal():
    u = user("on", "(~a* +get)", "(+set ~b*)")
    assert check(u, "get", "a1") == (acl.OK, 0)
    assert check(u, "set", "b1", "x") == (acl.OK, 0)
    assert check(u, "get", "b1") == (acl.DENIED_KEY, 1)  # a key refusal beats a command one
    assert check(u, "del", "a1")[0] == acl.DENIED_CMD


def test_command_keys_from_redis_key_specs():
    u = universe()
    assert command_keys(u.by_name["get"], [b"get", b"k"]) == [(1, acl.READ)]
    assert command_keys(u.by_name["mset"], [b"mset", b"a", b"1", b"b", b"2"]) == [
        (1, acl.WRITE), (3, acl.WRITE)]
    assert command_keys(u.by_name["zunionstore"], [b"zunionstore", b"d", b"2", b"x", b"y"]) == [
        (1, acl.WRITE), (3, acl.READ), (4, acl.READ)]
    assert command_keys(u.by_name["ping"], [b"ping"]) == []
    assert command_keys(u.by_name["set"], [b"set", b"k", b"v"]) == [(1, acl.WRITE)]


def test_unrestricted():
    assert acl.new_default_user().unrestricted()
    assert not user("on", "+@all", "~*").unrestricted()  # channels restricted
    assert user("on", "+@all", "~*", "&*").unrestricted()
    assert not user("on", "+@all", "-debug", "~*", "&*").unrestricted()
    assert user("on", "+@all", "-debug", "+debug", "~*", "&*").unrestricted()


def test_acl_cat_categories_come_from_redis():
    u = universe()
    assert {c.name for c in u.walk() if "hash" in c.categories} == {
        "hrandfield", "hset", "hvals", "hlen", "hscan", "hincrby", "hincrbyfloat", "hget",
        "hsetnx", "hexists", "hdel", "hmget", "hgetall", "hmset", "hkeys", "hstrlen"}
    assert {"admin", "slow", "dangerous"} <= u.by_name["photon.sync"].categories
    assert u.by_name["debug"].categories == {"admin", "slow", "dangerous"}


# --- the users file ---------------------------------------------------------------------------

def test_users_file_round_trip(tmp_path):
    users = Users(tmp_path / "users.acl")
    users.setuser(b"alice", [b"on", b">pw", b"~k*", b"+@read", b"(+set ~w*)"])
    users.setuser(b"default", [b"resetpass", b">top"])
    users.save()
    text = (tmp_path / "users.acl").read_text()
    assert "pw" not in text.replace("#", "") or "#" in text  # passwords only as hashes
    assert text.splitlines()[1].startswith("user default on #")
    again = Users(tmp_path / "users.acl")
    again.load()
    assert again.dump() == users.dump()
    assert again.get(b"alice").check_password(b"pw")
    assert (tmp_path / "users.acl").stat().st_mode & 0o777 == 0o600


def test_users_file_errors_change_nothing(tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user alice on >x +nosuch\nfoo bar\nuser alice on\n")
    users = Users(path)
    with pytest.raises(AclError) as e:
        users.load()
    text = str(e.value)
    assert f"{path}:1: Unknown command or category name in ACL. " in text
    assert f"{path}:2 should start with user keyword followed by the username. " in text
    assert "WARNING: Duplicate user 'alice' found on line 3. " in text
    assert text.endswith("WARNING: ACL errors detected, no change to the previously active "
                         "ACL rules was performed")
    assert list(users.users) == [b"default"]


def test_acl_log_groups_similar_entries():
    users = Users(None)
    for _ in range(3):
        users.add_log(acl.DENIED_CMD, "toplevel", b"debug", b"u", "info")
    users.add_log(acl.DENIED_KEY, "toplevel", b"k", b"u", "info")
    assert [(e["count"], e["object"]) for e in users.log] == [(1, b"k"), (3, b"debug")]
    for i in range(200):
        users.add_log(acl.DENIED_KEY, "toplevel", b"k%d" % i, b"u", "info")
    assert len(users.log) == 128
