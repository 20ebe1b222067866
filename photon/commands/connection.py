"""Connection commands: PING, ECHO, SELECT, HELLO, AUTH, QUIT, RESET, CLIENT."""
from __future__ import annotations

import re

from photon import REDIS_VERSION
from photon.commands.keys import c_string, select_db
from photon.commands.server import subcommand_syntax_error
from photon.commands.table import COMMANDS, command, container
from photon.errors import RedisError, syntax
from photon.protocol.reply import OK, PONG, Status, Verbatim
from photon.util.numbers import parse_int, string2ll

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


@command("ping", -1, "fast", 0, 0, 0)
def ping(c, argv):
    if len(argv) > 2:
        raise RedisError("ERR wrong number of arguments for 'ping' command")
    if c.subscribed and not c.resp3:
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, "loading stale fast", 0, 0, 0)
def echo(c, argv):
    return argv[1]


@command("select", 2, "loading stale fast", 0, 0, 0)
def select(c, argv):
    c.db = select_db(c, argv[1])
    return OK


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", 0, 0, 0)
def quit_(c, argv):
    c.closing = True
    return OK


def authenticate(c, user: bytes, password: bytes, command: bytes = b"AUTH") -> None:
    """Check credentials (ACL users) and log the client in, or raise WRONGPASS (and add it
    to ACL LOG, as Redis)."""
    c.server.security.authenticate(c, user, password, command)


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", 0, 0, 0)
def auth(c, argv):
    if len(argv) > 3:
        raise syntax()
    if len(argv) == 2:
        if c.server.security.users.default.nopass:
            raise RedisError("ERR AUTH <password> called without any password configured for "
                             "the default user. Are you sure your configuration is correct?")
        authenticate(c, b"default", argv[1], argv[0])
    else:
        authenticate(c, argv[1], argv[2], argv[0])
    return OK


_BAD_NAME = re.compile(rb"[^\x21-\x7e]")


def check_client_name(name: bytes) -> None:
    if _BAD_NAME.search(name):
        raise RedisError("ERR Client names cannot contain spaces, newlines or special "
                         "characters.")


@command("hello", -1, "noscript loading stale fast no_auth allow_busy", 0, 0, 0)
def hello(c, argv):
    proto = None
    if len(argv) >= 2:
        v = string2ll(argv[1])
        if v is None:
            raise RedisError("ERR Protocol version is not an integer or out of range")
        if v < 2 or v > 3:
            raise RedisError("NOPROTO unsupported protocol version")
        proto = v
    name = None
    i = 2
    while i < len(argv):
        # As Redis: options act in order, so AUTH is tried before a later bad SETNAME.
        opt = argv[i].lower()
        left = len(argv) - i - 1
        if opt == b"auth" and left >= 2:
            authenticate(c, argv[i + 1], argv[i + 2], argv[0])
            i += 3
        elif opt == b"setname" and left >= 1:
            name = argv[i + 1]
            check_client_name(name)
            i += 2
        else:
            raise RedisError("ERR Syntax error in HELLO option '%s'" % c_string(argv[i]))
    if not c.authenticated:
        raise RedisError("NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO AUTH <user> <pass> option can be used to "
                         "authenticate the client and select the RESP protocol version at the "
                         "same time")
    if name is not None:
        c.name = name
    if proto is not None:
        c.resp3 = proto == 3
    return {
        b"server": b"redis",
        b"version": REDIS_VERSION.encode(),
        b"proto": 3 if c.resp3 else 2,
        b"id": c.id,
        b"mode": c.server.mode.encode(),
        b"role": c.server.role.encode(),
        b"modules": [],
    }


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", 0, 0, 0)
def reset(c, argv):
    server = c.server
    server.watches.discard_transaction(c)
    server.pubsub.drop_client(c)
    server.monitors.discard(c)
    if c.kind == "monitor":
        c.kind = "normal"
    c.db = 0
    c.resp3 = False
    c.name = b""
    server.security.set_default_auth(c)
    return Status(b"RESET")


# --- CLIENT -------------------------------------------------------------------------------

container("client", -2)


@command("client|id", 2, "noscript loading stale", 0, 0, 0)
def client_id(c, argv):
    return c.id


@command("client|setname", 3, "noscript loading stale", 0, 0, 0)
def client_setname(c, argv):
    check_client_name(argv[2])
    c.name = argv[2]
    return OK


@command("client|getname", 2, "noscript loading stale", 0, 0, 0)
def client_getname(c, argv):
    return c.name or None


@command("client|setinfo", 4, "noscript loading stale", 0, 0, 0)
def client_setinfo(c, argv):
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise RedisError("ERR Unrecognized option '%s'" % argv[2].decode("utf-8", "replace"))
    if _BAD_NAME.search(argv[3]):
        raise RedisError("ERR %s cannot contain spaces, newlines or special characters." %
                         argv[2].decode("utf-8", "replace"))
    if attr == b"lib-name":
        c.lib_name = argv[3]
    else:
        c.lib_ver = argv[3]
    return OK


_CLIENT_TYPES = {b"normal", b"master", b"replica", b"slave", b"pubsub"}


def _client_type(c) -> bytes:
    if c.kind in ("replica", "master"):
        return c.kind.encode()
    return b"pubsub" if c.subscribed else b"normal"


@command("client|list", -2, "admin noscript loading stale", 0, 0, 0)
def client_list(c, argv):
    _as_exec(c)
    clients = list(c.server.clients.values())
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = argv[3].lower()
        if kind not in _CLIENT_TYPES:
            raise RedisError("ERR Unknown client type '%s'" % c_string(argv[3]))
        kind = b"replica" if kind == b"slave" else kind
        clients = [x for x in clients if _client_type(x) == kind]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        # One line per id given, in that order; ids of no client are skipped.
        by_id = c.server.clients
        picked = []
        for arg in argv[3:]:
            v = string2ll(arg)
            if v is None:
                raise RedisError("ERR Invalid client ID")
            if v in by_id:
                picked.append(by_id[v])
        clients = picked
    elif len(argv) != 2:
        raise syntax()
    return Verbatim("".join(x.describe() + "\n" for x in clients).encode())


def _as_exec(c) -> None:
    """Inside EXEC, Redis's last command is still the EXEC itself."""
    if c.in_exec:
        c.last_cmd = COMMANDS[b"exec"]


@command("client|info", 2, "noscript loading stale", 0, 0, 0)
def client_info(c, argv):
    _as_exec(c)
    return Verbatim((c.describe() + "\n").encode())


@command("client|kill", -3, "admin noscript loading stale", 0, 0, 0)
def client_kill(c, argv):
    clients = list(c.server.clients.values())
    if len(argv) == 3:
        addr = argv[2].decode("utf-8", "surrogateescape")
        victims = [x for x in clients if x.addr == addr]
        if not victims:
            raise RedisError("ERR No such client")
        for v in victims:
            _kill(c, v)
        return OK
    filters = []
    skipme = True
    i = 2
    while i < len(argv):
        if i + 1 >= len(argv):
            raise syntax()
        opt, val = argv[i].lower(), argv[i + 1]
        text = val.decode("utf-8", "surrogateescape")
        if opt == b"id":
            ident = string2ll(val)
            if ident is None or ident <= 0:
                raise RedisError("ERR client-id should be greater than 0")
            filters.append(lambda x, ident=ident: x.id == ident)
        elif opt == b"type":
            kind = val.lower()
            if kind not in _CLIENT_TYPES:
                raise RedisError("ERR Unknown client type '%s'" % c_string(val))
            kind = b"replica" if kind == b"slave" else kind
            filters.append(lambda x, kind=kind: _client_type(x) == kind)
        elif opt == b"addr":
            filters.append(lambda x, text=text: x.addr == text)
        elif opt == b"laddr":
            filters.append(lambda x, text=text: x.laddr == text)
        elif opt == b"user":
            if c.server.security.users.get(val) is None:
                raise RedisError("ERR No such user '%s'" % c_string(val))
            filters.append(lambda x, val=val: x.user == val)
        elif opt == b"skipme":
            yes = val.lower()
            if yes not in (b"yes", b"no"):
                raise syntax()
            skipme = yes == b"yes"
        else:
            raise syntax()
        i += 2
    killed = 0
    for x in clients:
        if all(f(x) for f in filters) and not (skipme and x is c):
            _kill(c, x)
            killed += 1
    return killed


def _kill(c, victim) -> None:
    """Close a client; the caller itself goes after its reply is written, as Redis's
    CLIENT_CLOSE_AFTER_REPLY."""
    if victim is c:
        c.closing = True
    else:
        victim.close()


@command("client|unblock", -3, "admin noscript loading stale", 0, 0, 0)
def client_unblock(c, argv):
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason not in (b"timeout", b"error"):
            raise RedisError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        error = reason == b"error"
    target = c.server.clients.get(parse_int(argv[2]))
    return int(target is not None and c.server.blocking.unblock(target, error))


@command("client|pause", -3, "admin noscript loading stale", 0, 0, 0)
def client_pause(c, argv):
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    mode = "all"
    if len(argv) == 4:
        mode = argv[3].lower().decode("latin-1")
        if mode not in ("write", "all"):
            raise RedisError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    ms = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if ms < 0:
        raise RedisError("ERR timeout is negative")
    if ms:
        c.server.pause.start(ms, mode)
    return OK


@command("client|unpause", 2, "admin noscript loading stale", 0, 0, 0)
def client_unpause(c, argv):
    c.server.pause.stop()
    return OK


@command("client|help", 2, "loading stale", 0, 0, 0)
def client_help(c, argv):
    return [Status(s) for s in (
        b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"GETNAME", b"    Return the name of the current connection.",
        b"ID", b"    Return the ID of the current connection.",
        b"INFO", b"    Return information about the current client connection.",
        b"KILL <ip:port>", b"    Kill connection made from <ip:port>.",
        b"KILL <option> <value> [<option> <value> [...]]",
        b"    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME.",
        b"LIST [options ...]", b"    Return information about client connections.",
        b"SETNAME <name>", b"    Assign the name <name> to the current connection.",
        b"SETINFO <lib-name|lib-ver> <value>", b"    Set client library name or version.",
        b"HELP", b"    Print this help.")]
