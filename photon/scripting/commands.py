"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT ..., FCALL, FCALL_RO, FUNCTION ... (Redis's
eval.c and functions.c); the runtime is in ``photon.scripting``."""
from __future__ import annotations

from photon.commands.server import subcommand_syntax_error
from photon.commands.table import command, container
from photon.errors import RedisError
from photon.protocol.reply import OK, SetReply, Status
from photon.scripting import rdb
from photon.scripting.functions import FLAG_NAMES, LibrarySet
from photon.util.glob import compile_glob


def _atoi(s: bytes) -> int:
    """C's atoi, as genericGetKeys reads numkeys."""
    s = s.lstrip(b" \t\n\r\f\v")
    sign = 1
    if s[:1] in (b"-", b"+"):
        sign = -1 if s[:1] == b"-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not 48 <= ch <= 57:
            break
        n = n * 10 + ch - 48
    return sign * n


def _script_keys(argv: list[bytes]) -> list[int]:
    """evalGetKeys / functionGetKeys: numkeys at 2, the keys after it."""
    if len(argv) < 3:
        return []
    n = _atoi(argv[2])
    if n < 1 or n > len(argv) - 3:
        return []
    return list(range(3, 3 + n))


_SCRIPT_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


@command("eval", -3, _SCRIPT_FLAGS, 0, 0, 0, keys=_script_keys)
def eval_(c, argv):
    return c.server.scripting.eval(c, argv, evalsha=False, ro=False)


@command("evalsha", -3, _SCRIPT_FLAGS, 0, 0, 0, keys=_script_keys)
def evalsha(c, argv):
    return c.server.scripting.eval(c, argv, evalsha=True, ro=False)


@command("eval_ro", -3, "readonly " + _SCRIPT_FLAGS, 0, 0, 0, keys=_script_keys)
def eval_ro(c, argv):
    return c.server.scripting.eval(c, argv, evalsha=False, ro=True)


@command("evalsha_ro", -3, "readonly " + _SCRIPT_FLAGS, 0, 0, 0, keys=_script_keys)
def evalsha_ro(c, argv):
    return c.server.scripting.eval(c, argv, evalsha=True, ro=True)


@command("fcall", -3, _SCRIPT_FLAGS, 0, 0, 0, keys=_script_keys)
def fcall(c, argv):
    return c.server.scripting.fcall(c, argv, ro=False)


@command("fcall_ro", -3, "readonly " + _SCRIPT_FLAGS, 0, 0, 0, keys=_script_keys)
def fcall_ro(c, argv):
    return c.server.scripting.fcall(c, argv, ro=True)


# --- SCRIPT ------------------------------------------------------------------------------------

container("script", -2)
_NOTBUSY = "NOTBUSY No scripts in execution right now."


@command("script|load", 3, "noscript stale", 0, 0, 0)
def script_load(c, argv):
    return c.server.scripting.load(argv[2])


@command("script|exists", -3, "noscript", 0, 0, 0)
def script_exists(c, argv):
    return c.server.scripting.exists(argv[2:])


@command("script|flush", -2, "noscript", 0, 0, 0)
def script_flush(c, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise RedisError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    c.server.scripting.flush()
    return OK


@command("script|kill", 2, "noscript allow_busy", 0, 0, 0)
def script_kill(c, argv):
    raise RedisError(_NOTBUSY)


@command("script|debug", 3, "noscript", 0, 0, 0)
def script_debug(c, argv):
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise RedisError("ERR SCRIPT DEBUG is not supported: photon has no Lua debugger")
    raise RedisError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


@command("script|help", 2, "loading stale", 0, 0, 0)
def script_help(c, argv):
    return [Status(s) for s in (
        b"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"DEBUG (YES|SYNC|NO)",
        b"    Set the debug mode for subsequent scripts executed.",
        b"EXISTS <sha1> [<sha1> ...]",
        b"    Return information about the existence of the scripts in the script cache.",
        b"FLUSH [ASYNC|SYNC]",
        b"    Flush the Lua scripts cache. Very dangerous on replicas.",
        b"    When called without the optional mode argument, the behavior is determined by the",
        b"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        b"    * ASYNC: Asynchronously flush the scripts cache.",
        b"    * SYNC: Synchronously flush the scripts cache.",
        b"KILL",
        b"    Kill the currently executing Lua script.",
        b"LOAD <script>",
        b"    Load a script into the scripts cache without executing it.",
        b"HELP",
        b"    Prints this help.")]


# --- FUNCTION ----------------------------------------------------------------------------------

container("function", -2)


@command("function|load", -3, "write denyoom noscript", 0, 0, 0)
def function_load(c, argv):
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        raise RedisError("ERR Unknown option given: %s" % arg.decode("utf-8", "surrogateescape"))
    functions = c.server.scripting.functions
    functions.sync()
    name = functions.create(argv[pos], replace, functions.current, 500)
    functions.save()
    return name


@command("function|delete", 3, "write noscript", 0, 0, 0)
def function_delete(c, argv):
    functions = c.server.scripting.functions
    functions.sync()
    lib = functions.current.libraries.get(argv[2])
    if lib is None:
        raise RedisError("ERR Library not found")
    functions.current.unlink(lib)
    functions.save()
    return OK


@command("function|flush", -2, "write noscript", 0, 0, 0)
def function_flush(c, argv):
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise RedisError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    functions = c.server.scripting.functions
    functions.sync()
    functions.current = LibrarySet()
    functions.save()
    return OK


@command("function|list", -2, "noscript", 0, 0, 0)
def function_list(c, argv):
    with_code = False
    pattern = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
        elif pattern is None and arg.lower() == b"libraryname":
            if i >= len(argv) - 1:
                raise RedisError("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            raise RedisError("ERR Unknown argument %s" % arg.decode("utf-8", "surrogateescape"))
        i += 1
    functions = c.server.scripting.functions
    functions.sync()
    match = compile_glob(pattern.lower()) if pattern is not None else None
    out = []
    for lib in functions.current.libraries.values():
        if match is not None and not match(lib.name.lower()):
            continue
        entry = {
            b"library_name": lib.name,
            b"engine": b"LUA",
            b"functions": [{
                b"name": f.name,
                b"description": f.description,
                b"flags": SetReply(Status(name) for name in FLAG_NAMES
                                   if f.flags & (1 << FLAG_NAMES.index(name))),
            } for f in lib.functions.values()],
        }
        if with_code:
            entry[b"library_code"] = lib.code
        out.append(entry)
    return out


@command("function|stats", 2, "noscript allow_busy", 0, 0, 0)
def function_stats(c, argv):
    functions = c.server.scripting.functions
    functions.sync()
    current = functions.current
    return {b"running_script": None,
            b"engines": {b"LUA": {b"libraries_count": len(current.libraries),
                                  b"functions_count": len(current.functions)}}}


@command("function|dump", 2, "noscript", 0, 0, 0)
def function_dump(c, argv):
    functions = c.server.scripting.functions
    functions.sync()
    return rdb.dump([lib.code for lib in functions.current.libraries.values()])


@command("function|restore", -3, "write denyoom noscript", 0, 0, 0)
def function_restore(c, argv):
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    policy = argv[3].lower() if len(argv) == 4 else b"append"
    if policy not in (b"append", b"replace", b"flush"):
        raise RedisError("ERR Wrong restore policy given, value should be either FLUSH, APPEND "
                         "or REPLACE.")
    payload = argv[2]
    if not rdb.verify(payload):
        raise RedisError("ERR DUMP payload version or checksum are wrong")
    try:
        codes = rdb.library_codes(payload)
    except ValueError as e:
        raise RedisError("ERR " + str(e)) from None
    functions = c.server.scripting.functions
    functions.sync()
    restored = LibrarySet()
    for code in codes:
        functions.create(code, False, restored, 0)
    if policy == b"flush":
        functions.current = restored
    else:
        functions.current.join(restored, policy == b"replace")
    functions.save()
    return OK


@command("function|kill", 2, "noscript allow_busy", 0, 0, 0)
def function_kill(c, argv):
    raise RedisError(_NOTBUSY)


@command("function|help", 2, "loading stale", 0, 0, 0)
def function_help(c, argv):
    return [Status(s) for s in (
        b"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"LOAD [REPLACE] <FUNCTION CODE>",
        b"    Create a new library with the given library name and code.",
        b"DELETE <LIBRARY NAME>",
        b"    Delete the given library.",
        b"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        b"    Return general information on all the libraries:",
        b"    * Library name",
        b"    * The engine used to run the Library",
        b"    * Library description",
        b"    * Functions list",
        b"    * Library code (if WITHCODE is given)",
        b"    It also possible to get only function that matches a pattern using LIBRARYNAME "
        b"argument.",
        b"STATS",
        b"    Return information about the current function running:",
        b"    * Function name",
        b"    * Command used to run the function",
        b"    * Duration in MS that the function is running",
        b"    If no function is running, return nil",
        b"    In addition, returns a list of available engines.",
        b"KILL",
        b"    Kill the current running function.",
        b"FLUSH [ASYNC|SYNC]",
        b"    Delete all the libraries.",
        b"    When called without the optional mode argument, the behavior is determined by the",
        b"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        b"    * ASYNC: Asynchronously flush the libraries.",
        b"    * SYNC: Synchronously flush the libraries.",
        b"DUMP",
        b"    Return a serialized payload representing the current libraries, can be restored "
        b"using FUNCTION RESTORE command",
        b"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        b"    Restore the libraries represented by the given payload, it is possible to give a "
        b"restore policy to",
        b"    control how to handle existing libraries (default APPEND):",
        b"    * FLUSH: delete all existing libraries.",
        b"    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        b"abort.",
        b"    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
        b"replace the old",
        b"      libraries with the new libraries (notice that even on this option there is a "
        b"chance of failure",
        b"      in case of functions name collision with another library).",
        b"HELP",
        b"    Prints this help.")]
