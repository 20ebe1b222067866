"""Redis 7.0 functions (functions.c, function_lua.c): libraries of Lua functions loaded with
FUNCTION LOAD and called with FCALL.

Persistence: the libraries live in one internal record of the keyspace (``ff 'f'`` in the
first shard this node serves), holding a FUNCTION DUMP payload. It is written in the same
atomic batch as any other command's writes, so it survives restarts, is copied to replicas by
the ordinary (physical) replication stream and full syncs, and FLUSHALL leaves it alone, as
Redis keeps functions across FLUSHALL. A node compares that record with the one its compiled
libraries came from before using them, so a replica picks up its master's libraries.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from photon.errors import RedisError
from photon.keyspace.encoding import INTERNAL
from photon.scripting import rdb
from photon.scripting.libs import fmt_g, lua_type
from photon.util.splitargs import split_args

if TYPE_CHECKING:
    Scripting = Any  # photon.scripting.runtime.Scripting, which imports this module

log = logging.getLogger("photon.scripting")

RECORD_KEY = bytes((INTERNAL, ord("f")))
LOAD_TIMEOUT_MS = 500

# scripts_flags_def, in Redis's order (FUNCTION LIST shows them in this order)
FLAG_NAMES = [b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys"]
NO_WRITES, ALLOW_OOM, ALLOW_STALE, NO_CLUSTER, ALLOW_CROSS_SLOT = (1 << i for i in range(5))
FLAG_BITS = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}
_NAME_OK = re.compile(rb"[A-Za-z0-9_]+")
BAD_NAME = ("Library names can only contain letters, numbers, or underscores(_) and must be "
            "at least one character long")


class LuaRaise(Exception):
    """Raised by a Python function the sandbox calls: the sandbox turns it into what Redis's
    C function raises there, a {err=...} table (``table``) or a message at the caller's
    line."""

    def __init__(self, message: bytes, table: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.table = table


class Function:
    __slots__ = ("name", "callback", "description", "flags", "library")

    def __init__(self, name: bytes, callback: Any, description: bytes | None, flags: int,
                 library: "Library") -> None:
        self.name = name
        self.callback = callback
        self.description = description
        self.flags = flags
        self.library = library


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: dict[bytes, Function] = {}


class LibrarySet:
    """functionsLibCtx: libraries by name, functions by (case-insensitive) name."""

    def __init__(self) -> None:
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}

    def link(self, lib: Library) -> None:
        for f in lib.functions.values():
            self.functions[f.name.lower()] = f
        self.libraries[lib.name] = lib

    def unlink(self, lib: Library) -> None:
        for f in lib.functions.values():
            self.functions.pop(f.name.lower(), None)
        self.libraries.pop(lib.name, None)

    def join(self, src: "LibrarySet", replace: bool) -> None:
        """libraryJoin: add src's libraries; on a collision give up and change nothing."""
        replaced: list[Library] = []
        try:
            for lib in src.libraries.values():
                old = self.libraries.get(lib.name)
                if old is not None:
                    if not replace:
                        raise RedisError("ERR Library %s already exists" % _s(lib.name))
                    self.unlink(old)
                    replaced.append(old)
            for key, f in src.functions.items():
                if key in self.functions:
                    raise RedisError("ERR Function %s already exists" % _s(f.name))
        except RedisError:
            for old in replaced:
                self.link(old)
            raise
        for lib in src.libraries.values():
            self.link(lib)


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def library_metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """functionExtractLibMetaData: (engine, name, code after the shebang line)."""
    if not code.startswith(b"#!"):
        raise RedisError("ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise RedisError("ERR Invalid library metadata")
    parts = split_args(code[:end])
    if not parts:
        raise RedisError("ERR Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise RedisError("ERR Invalid metadata value, name argument was given "
                                 "multiple times")
            name = part[5:]
            continue
        raise RedisError("ERR Invalid metadata value given: %s" % _s(part))
    if name is None:
        raise RedisError("ERR Library name was not given")
    return engine, name, code[end:]


def _lua_string(v: Any) -> bytes | None:
    """luaGetStringSds: strings, and numbers as Lua prints them."""
    if type(v) is bytes:
        return v
    if type(v) is int or type(v) is float:
        return fmt_g(v, 14)
    return None


def _is_function(v: Any) -> bool:
    return lua_type(v) == "function" or (lua_type(v) is None and callable(v)
                                         and not isinstance(v, (bytes, int, float, bool)))


class Functions:
    """The node's libraries, kept in step with the record in the keyspace."""

    def __init__(self, scripting: "Scripting") -> None:
        self.scripting = scripting
        self.current = LibrarySet()
        self.record: bytes | None = None  # the stored payload self.current was built from
        self.loading: Library | None = None

    # --- the stored record ----------------------------------------------------------------

    def _where(self) -> tuple[Any, int]:
        server = self.scripting.server
        return server.keyspace, server.shard_range[0]

    def sync(self) -> None:
        """Rebuild the libraries when the stored record changed under them (a replica
        applying its master's FUNCTION LOAD, a full sync, a restart)."""
        ks, shard = self._where()
        raw = ks.rget(shard, RECORD_KEY)
        if raw == self.record:
            return
        libs = LibrarySet()
        if raw:
            try:
                codes = rdb.library_codes(raw) if rdb.verify(raw) else []
            except ValueError:
                codes = []
            for code in codes:
                try:
                    self.create(code, False, libs, 0)
                except RedisError as e:
                    log.warning("Function library not loaded from the stored record: %s",
                                e.message)
        self.current = libs
        self.record = raw

    def save(self) -> None:
        """Write the libraries' record with the running command's writes."""
        ks, shard = self._where()
        libs = self.current.libraries.values()
        payload = rdb.dump([lib.code for lib in libs]) if libs else None
        ks.rput(shard, RECORD_KEY, payload)
        self.record = payload

    # --- loading -----------------------------------------------------------------------------

    def create(self, code: bytes, replace: bool, libs: LibrarySet, timeout_ms: int) -> bytes:
        """functionsCreateWithLibraryCtx: compile and register a library into ``libs``;
        its name, or RedisError with Redis's text."""
        engine, name, body = library_metadata(code)
        if not _NAME_OK.fullmatch(name):
            raise RedisError("ERR " + BAD_NAME)
        if engine.lower() != b"lua":
            raise RedisError("ERR Engine '%s' not found" % _s(engine))
        old = libs.libraries.get(name)
        if old is not None and not replace:
            raise RedisError("ERR Library '%s' already exists" % _s(name))
        if old is not None:
            libs.unlink(old)
        try:
            lib = self._compile(name, code, body, timeout_ms)
            if not lib.functions:
                raise RedisError("ERR No functions registered")
            for key, f in lib.functions.items():
                if key.lower() in libs.functions:
                    raise RedisError("ERR Function %s already exists" % _s(f.name))
        except RedisError:
            if old is not None:
                libs.link(old)
            raise
        libs.link(lib)
        return name

    def _compile(self, name: bytes, code: bytes, body: bytes, timeout_ms: int) -> Library:
        scripting = self.scripting
        engine = scripting.engine
        fn, err = engine.compile(body, b"@user_function", False)
        if fn is None:
            raise RedisError("ERR Error compiling function: " + _s(err or b""))
        lib = Library(name, code)
        self.loading = lib
        try:
            ok, error = scripting.load_library(fn, timeout_ms)
        finally:
            self.loading = None
        if not ok:
            raise RedisError("ERR Error registering functions: " + _s(_load_error(error)))
        return lib

    def register(self, *args: Any) -> None:
        """redis.register_function(name, callback) or ({function_name=, callback=,
        flags=, description=})."""
        lib = self.loading
        if lib is None:
            raise LuaRaise(b"ERR redis.register_function can only be called on FUNCTION LOAD "
                           b"command")
        if not 1 <= len(args) <= 2:
            raise LuaRaise(b"ERR wrong number of arguments to redis.register_function")
        if len(args) == 1:
            name, callback, description, flags = _named_args(args[0])
        else:
            name = _lua_string(args[0])
            if name is None:
                raise LuaRaise(b"ERR first argument to redis.register_function must be a "
                               b"string")
            if not _is_function(args[1]):
                raise LuaRaise(b"ERR second argument to redis.register_function must be a "
                               b"function")
            callback, description, flags = args[1], None, 0
        if not _NAME_OK.fullmatch(name):
            raise LuaRaise(b"ERR " + BAD_NAME.encode())
        if name in lib.functions:
            raise LuaRaise(b"ERR Function already exists in the library")
        lib.functions[name] = Function(name, callback, description, flags, lib)


def _named_args(table: Any) -> tuple[bytes, Any, bytes | None, int]:
    if lua_type(table) != "table":
        raise LuaRaise(b"ERR calling redis.register_function with a single argument is only "
                       b"applicable to Lua table (representing named arguments).")
    name = description = callback = None
    flags = 0
    for key, value in table.items():
        k = _lua_string(key)
        if k is None:
            raise LuaRaise(b"ERR named argument key given to redis.register_function is not a "
                           b"string")
        k = k.lower()
        if k == b"function_name":
            name = _lua_string(value)
            if name is None:
                raise LuaRaise(b"ERR function_name argument given to redis.register_function "
                               b"must be a string")
        elif k == b"description":
            description = _lua_string(value)
            if description is None:
                raise LuaRaise(b"ERR description argument given to redis.register_function "
                               b"must be a string")
        elif k == b"callback":
            if not _is_function(value):
                raise LuaRaise(b"ERR callback argument given to redis.register_function must "
                               b"be a function")
            callback = value
        elif k == b"flags":
            if lua_type(value) != "table":
                raise LuaRaise(b"ERR flags argument to redis.register_function must be a table "
                               b"representing function flags")
            flags = _read_flags(value)
        else:
            raise LuaRaise(b"ERR unknown argument given to redis.register_function")
    if name is None:
        raise LuaRaise(b"ERR redis.register_function must get a function name argument")
    if callback is None:
        raise LuaRaise(b"ERR redis.register_function must get a callback argument")
    return name, callback, description, flags


def _read_flags(table: Any) -> int:
    flags = 0
    j = 1
    while True:
        v = table[j]
        if v is None:
            return flags
        text = _lua_string(v)
        bit = FLAG_BITS.get(text.lower()) if text is not None else None
        if bit is None:
            raise LuaRaise(b"ERR unknown flag given")
        flags |= bit
        j += 1


def _load_error(error: Any) -> bytes:
    """luaExtractErrorInformation's message for an error the library code raised."""
    if type(error) is bytes:
        return b"ERR " + error
    if type(error) is int or type(error) is float:
        return b"ERR " + fmt_g(error, 14)
    if lua_type(error) == "table":
        msg = error[b"err"]
        if type(msg) is bytes:
            return msg
        if type(msg) is int or type(msg) is float:
            return fmt_g(msg, 14)
    return b"(null)"
