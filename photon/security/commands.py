"""ACL (Redis 7.0's subcommands and replies) and PHOTON.AUTH, the cluster peers' proof."""
from __future__ import annotations

import secrets
import time

from photon.commands.table import command, container, lookup
from photon.errors import RedisError
from photon.protocol.reply import OK, Status
from photon.security import acl as aclmod
from photon.security.acl import AclError, has_spaces
from photon.util.numbers import string2ll

container("acl", -2)


def _sec(c):
    return c.server.security


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _syntax(argv: list[bytes]) -> RedisError:
    """addReplySubcommandSyntaxError."""
    return RedisError("ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL "
                      "HELP." % _text(argv[1][:128]))


@command("acl|setuser", -3, "admin noscript loading stale", 0, 0, 0)
def acl_setuser(c, argv):
    name = argv[2]
    if has_spaces(name):
        raise RedisError("ERR Usernames can't contain spaces or null characters")
    try:
        _sec(c).setuser(name, argv[3:])
    except AclError as e:
        raise RedisError(str(e)) from None
    return OK


@command("acl|deluser", -3, "admin noscript loading stale", 0, 0, 0)
def acl_deluser(c, argv):
    if any(name == b"default" for name in argv[2:]):
        raise RedisError("ERR The 'default' user cannot be removed")
    return _sec(c).deluser(argv[2:])


def _selector_fields(sel: aclmod.Selector) -> list:
    return [b"commands", sel.describe_commands().encode("utf-8", "surrogateescape"),
            b"keys", sel.describe_keys().encode("utf-8", "surrogateescape"),
            b"channels", sel.describe_channels().encode("utf-8", "surrogateescape")]


def _pairs(items: list) -> dict:
    return dict(zip(items[::2], items[1::2]))


@command("acl|getuser", 3, "admin noscript loading stale", 0, 0, 0)
def acl_getuser(c, argv):
    from photon.protocol.reply import SetReply

    user = _sec(c).users.get(argv[2])
    if user is None:
        return None
    flags = SetReply(f.encode() for f in aclmod.FLAG_ORDER if f in user.flags)
    out = {b"flags": flags, b"passwords": [p.encode() for p in user.passwords]}
    out.update(_pairs(_selector_fields(user.root)))
    out[b"selectors"] = [_pairs(_selector_fields(s)) for s in user.selectors[1:]]
    return out


@command("acl|list", 2, "admin noscript loading stale", 0, 0, 0)
def acl_list(c, argv):
    return [u.line().encode("utf-8", "surrogateescape") for u in _sec(c).users.sorted()]


@command("acl|users", 2, "admin noscript loading stale", 0, 0, 0)
def acl_users(c, argv):
    return [u.name for u in _sec(c).users.sorted()]


@command("acl|whoami", 2, "noscript loading stale", 0, 0, 0)
def acl_whoami(c, argv):
    return c.user


@command("acl|save", 2, "admin noscript loading stale", 0, 0, 0)
def acl_save(c, argv):
    if not _sec(c).save_quietly():
        raise RedisError("ERR There was an error trying to save the ACLs. Please check the "
                         "server logs for more information")
    return OK


@command("acl|load", 2, "admin noscript loading stale", 0, 0, 0)
def acl_load(c, argv):
    try:
        _sec(c).load()
    except AclError as e:
        raise RedisError("ERR " + str(e)) from None
    return OK


@command("acl|cat", -2, "noscript loading stale", 0, 0, 0)
def acl_cat(c, argv):
    if len(argv) == 2:
        return [cat.encode() for cat in aclmod.CATEGORIES]
    if len(argv) != 3:
        raise _syntax(argv)
    cat = _text(argv[2]).lower()
    if cat not in aclmod.CATEGORIES:
        raise RedisError("ERR Unknown category '%s'" % _text(argv[2][:128]))
    u = aclmod.universe()
    return [cmd.name.encode() for cmd in u.walk() if cat in cmd.categories]


@command("acl|genpass", -2, "noscript loading stale", 0, 0, 0)
def acl_genpass(c, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    bits = 256
    if len(argv) == 3:
        v = string2ll(argv[2])
        if v is None:
            raise RedisError("ERR value is not an integer or out of range")
        bits = v
    if bits <= 0 or bits > 4096:
        raise RedisError("ERR ACL GENPASS argument must be the number of bits for the output "
                         "password, a positive number up to 4096")
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@command("acl|log", -2, "admin noscript loading stale", 0, 0, 0)
def acl_log(c, argv):
    users = _sec(c).users
    count = 10
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            users.log.clear()
            return OK
        v = string2ll(argv[2])
        if v is None:
            raise RedisError("ERR value is not an integer or out of range")
        count = max(0, v)
    now = int(time.time() * 1000)
    out = []
    for entry in users.log[:count]:
        age = (now - int(entry["ctime"] * 1000)) / 1000
        out.append({
            b"count": entry["count"],
            b"reason": aclmod.REASONS[entry["reason"]].encode(),
            b"context": entry["context"].encode(),
            b"object": entry["object"],
            b"username": entry["username"],
            b"age-seconds": float(age),
            b"client-info": entry["cinfo"].encode("utf-8", "surrogateescape"),
        })
    return out


@command("acl|dryrun", -4, "admin noscript loading stale", 0, 0, 0)
def acl_dryrun(c, argv):
    sec = _sec(c)
    if sec.users.get(argv[2]) is None:
        raise RedisError("ERR User '%s' not found" % _text(argv[2]))
    args = argv[3:]
    cmd = lookup(args)
    if cmd is None or cmd.handler is None and not cmd.subcommands:
        raise RedisError("ERR Command '%s' not found" % _text(argv[3]))
    arity = cmd.arity
    if (arity > 0 and arity != len(args)) or len(args) < -arity:
        raise RedisError("ERR wrong number of arguments for '%s' command" % cmd.name)
    verdict = sec.dryrun(argv[2], cmd.name, args)
    return OK if verdict is None else verdict.encode("utf-8", "surrogateescape")


@command("acl|help", 2, "loading stale", 0, 0, 0)
def acl_help(c, argv):
    return [Status(s) for s in (
        b"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"CAT [<category>]",
        b"    List all commands that belong to <category>, or all command categories",
        b"    when no category is specified.",
        b"DELUSER <username> [<username> ...]",
        b"    Delete a list of users.",
        b"DRYRUN <username> <command> [<arg> ...]",
        b"    Returns whether the user can execute the given command without executing the "
        b"command.",
        b"GETUSER <username>",
        b"    Get the user's details.",
        b"GENPASS [<bits>]",
        b"    Generate a secure 256-bit user password. The optional `bits` argument can",
        b"    be used to specify a different size.",
        b"LIST",
        b"    Show users details in config file format.",
        b"LOAD",
        b"    Reload users from the ACL file.",
        b"LOG [<count> | RESET]",
        b"    Show the ACL log entries.",
        b"SAVE",
        b"    Save the current config to the ACL file.",
        b"SETUSER <username> <attribute> [<attribute> ...]",
        b"    Create or modify a user with the specified attributes.",
        b"USERS",
        b"    List all the registered usernames.",
        b"WHOAMI",
        b"    Return the current connection username.",
        b"HELP",
        b"    Prints this help.")]


@command("photon.auth", 5, "noscript loading stale fast", 0, 0, 0)
def photon_auth(c, argv):
    """PHOTON.AUTH node-id unix-ms nonce hmac: this connection is a cluster peer."""
    _sec(c).peer_auth(c, argv[1], argv[2], argv[3], argv[4])
    return OK
