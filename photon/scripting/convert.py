"""Redis's conversions between replies and Lua values (script_lua.c).

* A command's reply becomes a Lua value as redisProtocolToLuaType does, for the RESP version
  the script chose with redis.setresp: integers are numbers, bulk strings strings, a status
  {ok=...}, an error {err=...}, arrays tables (a RESP2 null is false inside them too), and in
  RESP3 nulls nil, booleans booleans, doubles {double=n}, maps {map={...}}, sets {set={...}},
  verbatim strings {verbatim_string={format=, string=}}.
* A script's result becomes the reply as luaReplyToRedisReply does: numbers are truncated to
  integers, false is a null (true 1) unless the script switched to RESP3, tables are arrays
  up to the first nil unless they carry err / ok / double / big_number / verbatim_string /
  map / set, and anything else is a null.
"""
from __future__ import annotations

import asyncio
import math
from typing import Any, Callable

from lupa import lua51

from photon.errors import RedisError
from photon.protocol.reply import (
    NULL_ARRAY, NO_REPLY, Double, Push, Raw, SetReply, Status, Verbatim,
)
from photon.scripting.libs import fmt_g

lua_type = lua51.lua_type
INT64_MIN = -(1 << 63)
_MAX_DEPTH = 200  # nesting levels of a reply (Redis stops at its Lua stack limit)


def error_text(message: bytes) -> bytes:
    """luaPushErrorBuff for a reply error: the first word is the code ('ERR' when there is
    none), the rest is trimmed of CR/LF."""
    sp = message.find(b" ")
    if sp < 0:
        code, msg = b"ERR", message
    else:
        code, msg = message[:sp], message[sp + 1:]
    return code + b" " + msg.strip(b"\r\n")


def _text(s: str | bytes) -> bytes:
    return s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s


# --- replies to Lua ---------------------------------------------------------------------------

class ToLua:
    def __init__(self, table_from: Callable[..., Any], new_table: Callable[[], Any]) -> None:
        self.table_from = table_from
        self.new_table = new_table

    def error_table(self, message: bytes) -> Any:
        return self.table_from({b"err": message})

    def convert(self, v: Any, resp3: bool) -> Any:
        t = type(v)
        if t is bytes or t is int:
            return v
        if t is Status:
            return self.table_from({b"ok": bytes(v)})
        if v is None or v is NULL_ARRAY or v is NO_REPLY:
            return None if resp3 else False
        if t is bool:
            return v if resp3 else int(v)
        if t is list or t is tuple or t is Push:
            conv = self.convert
            return self.table_from([conv(x, resp3) for x in v])
        if t is Verbatim:
            if resp3:
                return self.table_from({b"verbatim_string": self.table_from(
                    {b"format": b"txt", b"string": bytes(v)})})
            return bytes(v)
        if t is Double or t is float:
            if resp3:
                return self.table_from({b"double": float(v)})
            return fmt_g(v, 17)
        if t is SetReply or t is set or t is frozenset:
            if not resp3:
                return self.table_from([self.convert(x, resp3) for x in v])
            members = self.new_table()
            for x in v:
                members[self.convert(x, resp3)] = True
            return self.table_from({b"set": members})
        if t is dict:
            if not resp3:
                flat = []
                for k, x in v.items():
                    flat.append(self.convert(k, resp3))
                    flat.append(self.convert(x, resp3))
                return self.table_from(flat)
            entries = self.new_table()
            for k, x in v.items():
                entries[self.convert(k, resp3)] = self.convert(x, resp3)
            return self.table_from({b"map": entries})
        if isinstance(v, RedisError):
            return self.error_table(error_text(_text(v.message)))
        if t is str:
            return v.encode("utf-8", "surrogateescape")
        if t is Raw:
            return self.convert(parse_resp(bytes(v)), resp3)
        if isinstance(v, bytes):
            return bytes(v)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, asyncio.Future):  # nothing may block inside a script
            v.cancel()
            return self.error_table(b"ERR command tried to block inside a script")
        return self.error_table(b"ERR unsupported reply type in script")


# --- RESP bytes (Raw replies) back to values --------------------------------------------------

class BigNumber(bytes):
    pass


def parse_resp(data: bytes) -> Any:
    value, _ = _parse(data, 0)
    return value


def _line(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.index(b"\r\n", pos)
    return data[pos:end], end + 2


def _parse(data: bytes, pos: int) -> tuple[Any, int]:
    kind = data[pos:pos + 1]
    line, pos = _line(data, pos + 1)
    if kind == b"+":
        return Status(line), pos
    if kind == b"-":
        return RedisError(line.decode("utf-8", "surrogateescape")), pos
    if kind == b":":
        return int(line), pos
    if kind in (b"$", b"="):
        n = int(line)
        if n < 0:
            return None, pos
        body = data[pos:pos + n]
        if kind == b"=":
            return Verbatim(body[4:]), pos + n + 2
        return body, pos + n + 2
    if kind == b",":
        text = line.lower()
        value = (math.inf if text in (b"inf", b"+inf") else -math.inf if text == b"-inf"
                 else float(text))
        return Double(value), pos
    if kind == b"_":
        return None, pos
    if kind == b"#":
        return line == b"t", pos
    if kind == b"(":
        return BigNumber(line), pos
    if kind in (b"*", b"~", b">"):
        n = int(line)
        if n < 0:
            return NULL_ARRAY, pos
        items = []
        for _ in range(n):
            item, pos = _parse(data, pos)
            items.append(item)
        return (SetReply(items) if kind == b"~" else items), pos
    if kind in (b"%", b"|"):
        n = int(line)
        out = {}
        pairs = []
        for _ in range(n):
            k, pos = _parse(data, pos)
            v, pos = _parse(data, pos)
            pairs.append((k, v))
        if kind == b"|":  # an attribute: skipped, the reply follows
            return _parse(data, pos)
        for k, v in pairs:
            out[k if not isinstance(k, list) else tuple(k)] = v
        return out, pos
    raise ValueError("bad RESP")


# --- Lua results to the reply -----------------------------------------------------------------

def _ll(x: Any) -> int:
    """(long long)lua_Number, as x86-64 truncates: out of range (and NaN) gives INT64_MIN."""
    if type(x) is int:
        return x
    if x != x or x >= 9223372036854775808.0 or x < -9223372036854775808.0:
        return INT64_MIN
    return int(x)


def _cstr(s: bytes) -> bytes:
    """The part of a Lua string that C string functions see."""
    nul = s.find(b"\0")
    return s if nul < 0 else s[:nul]


def _oneline(s: bytes) -> bytes:
    return s.replace(b"\r", b" ").replace(b"\n", b" ")


class ToReply:
    """Lua value -> the reply for a client speaking ``resp3`` (the caller), given the RESP
    version the script ended with (``script_resp3``)."""

    def __init__(self, resp3: bool, script_resp3: bool) -> None:
        self.resp3 = resp3
        self.script_resp3 = script_resp3

    def top(self, v: Any) -> Any:
        """A plain value when one says it exactly (the encoder picks the RESP shape), else
        Raw bytes; an error table raises RedisError."""
        t = type(v)
        if t is bytes or t is int:
            return v
        if v is None:
            return None
        if t is bool:
            if self.script_resp3:
                return v
            return 1 if v else None
        if t is float:
            return _ll(v)
        if lua_type(v) == "table":
            err = v[b"err"]
            if type(err) is bytes:
                raise RedisError(_cstr(err).rstrip(b"\r\n").decode("utf-8", "surrogateescape"))
            ok = v[b"ok"]
            if type(ok) is bytes:
                return Status(_oneline(_cstr(ok)))
        out: list[bytes] = []
        self.value(v, out, 0)
        return Raw(b"".join(out))

    def value(self, v: Any, out: list[bytes], depth: int) -> None:
        t = type(v)
        resp3 = self.resp3
        if t is bytes:
            out.append(b"$%d\r\n%b\r\n" % (len(v), v))
        elif t is int or t is float:
            out.append(b":%d\r\n" % _ll(v))
        elif t is bool:
            if self.script_resp3:
                out.append((b"#t\r\n" if v else b"#f\r\n") if resp3 else
                           (b":1\r\n" if v else b":0\r\n"))
            elif v:
                out.append(b":1\r\n")
            else:
                out.append(b"_\r\n" if resp3 else b"$-1\r\n")
        elif lua_type(v) == "table":
            if depth >= _MAX_DEPTH:
                out.append(b"-ERR reached lua stack limit\r\n")
                return
            self.table(v, out, depth + 1)
        else:  # nil, functions, userdata, threads
            out.append(b"_\r\n" if resp3 else b"$-1\r\n")

    def table(self, v: Any, out: list[bytes], depth: int) -> None:
        resp3 = self.resp3
        err = v[b"err"]
        if type(err) is bytes:
            out.append(b"-" + _oneline(_cstr(err).rstrip(b"\r\n")) + b"\r\n")
            return
        ok = v[b"ok"]
        if type(ok) is bytes:
            out.append(b"+" + _oneline(_cstr(ok)) + b"\r\n")
            return
        double = v[b"double"]
        if type(double) is int or type(double) is float:
            text = fmt_g(double, 17)
            out.append(b",%b\r\n" % text if resp3 else b"$%d\r\n%b\r\n" % (len(text), text))
            return
        big = v[b"big_number"]
        if type(big) is bytes:
            big = _oneline(big)
            out.append(b"(%b\r\n" % big if resp3 else b"$%d\r\n%b\r\n" % (len(big), big))
            return
        verbatim = v[b"verbatim_string"]
        if lua_type(verbatim) == "table":
            fmt = verbatim[b"format"]
            if type(fmt) is bytes:
                s = verbatim[b"string"]
                if type(s) is bytes:
                    if resp3:
                        ext = (_cstr(fmt)[:3] + b"   ")[:3]
                        out.append(b"=%d\r\n%b:%b\r\n" % (len(s) + 4, ext, s))
                    else:
                        out.append(b"$%d\r\n%b\r\n" % (len(s), s))
                    return
        entries = v[b"map"]
        if lua_type(entries) == "table":
            items = list(entries.items())
            out.append(b"%%%d\r\n" % len(items) if resp3 else b"*%d\r\n" % (2 * len(items)))
            for k, x in items:
                self.value(k, out, depth)
                self.value(x, out, depth)
            return
        members = v[b"set"]
        if lua_type(members) == "table":
            keys = list(members.keys())
            out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(keys))
            for k in keys:
                self.value(k, out, depth)
            return
        items = []
        j = 1
        while True:
            x = v[j]
            if x is None:
                break
            items.append(x)
            j += 1
        out.append(b"*%d\r\n" % len(items))
        for x in items:
            self.value(x, out, depth)

