"""The C libraries Redis links into its Lua, redone in Python: lua-cjson 2.1 (cjson), LuaBitOp
(bit), Roberto's struct, lua-cmsgpack, and Redis's rand48 behind math.random.

Each function is called from a small Lua wrapper (see lua.py) and returns ``(True, results...)``
or ``(False, message)``; the wrapper raises the message at the script's line, as a C library's
luaL_error would.
"""
from __future__ import annotations

import math
import re
import struct as _struct
from typing import Any

from lupa import lua51

lua_type = lua51.lua_type


def _num14(n: float | int) -> bytes:
    """Lua's tostring for numbers (LUA_NUMBER_FMT "%.14g")."""
    return fmt_g(n, 14)


def fmt_g(n: float | int, digits: int) -> bytes:
    n = float(n)
    if n != n:
        return b"-nan" if math.copysign(1.0, n) < 0 else b"nan"
    if math.isinf(n):
        return b"inf" if n > 0 else b"-inf"
    return b"%.*g" % (digits, n)


def typename(v: Any) -> str:
    """lua_typename of a value as lupa hands it to Python."""
    t = lua_type(v)
    if t is not None:
        return t
    if v is None:
        return "nil"
    if v is True or v is False:
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, bytes):
        return "string"
    return "userdata"


def tonumber(v: Any) -> float | int | None:
    """lua_tonumber's view: numbers, and strings that read as numbers."""
    if v is True or v is False:
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, bytes):
        s = v.strip(b" \t\n\r\f\v")
        try:
            if s[:2].lower() in (b"0x", b"-0x", b"+0x") or s[:3].lower() in (b"-0x", b"+0x"):
                neg = s.startswith(b"-")
                val = int(s.lstrip(b"+-"), 16)
                return -val if neg else val
            if not s or s.lower().lstrip(b"+-") in (b"inf", b"nan", b"infinity"):
                return None
            return float(s)
        except ValueError:
            return None
    return None


# --- math.random: Redis's rand48 ------------------------------------------------------------

class Rand48:
    """redisLrand48 / redisSrand48 (rand.c): the 48-bit LCG of lrand48, one state per server,
    so math.random gives the same sequence as Redis after the same calls."""

    _MASK = (1 << 48) - 1

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E

    def seed(self, s: int) -> None:
        s &= 0xFFFFFFFF
        self.x = (s << 16) | 0x330E

    def next(self) -> int:
        self.x = (0x5DEECE66D * self.x + 0xB) & self._MASK
        return self.x >> 17

    def random(self) -> float:
        return (self.next() % 2147483647) / 2147483647


# --- cjson ---------------------------------------------------------------------------------

_ESCAPES = {0x22: b'\\"', 0x5C: b"\\\\", 0x2F: b"\\/", 0x08: b"\\b", 0x0C: b"\\f",
            0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x7F: b"\\u007f"}
for _c in range(32):
    _ESCAPES.setdefault(_c, b"\\u%04x" % _c)
_ESCAPE_TABLE = {k: v.decode("latin-1") for k, v in _ESCAPES.items()}


class CJsonError(Exception):
    pass


class CJson:
    def __init__(self, table_from) -> None:
        self.null: Any = None  # cjson.null, a Lua userdata, set once the runtime exists
        self.is_null = lambda v: False
        self.table_from = table_from

    # encode ----------------------------------------------------------------------------------

    def encode(self, *args) -> tuple:
        if len(args) != 1:
            return False, b"bad argument #1 to 'encode' (expected 1 argument)"
        out: list[bytes] = []
        try:
            self._value(args[0], out, 0)
        except CJsonError as e:
            return False, str(e).encode("latin-1")
        return True, b"".join(out)

    def _string(self, s: bytes, out: list[bytes]) -> None:
        out.append(b'"' + s.decode("latin-1").translate(_ESCAPE_TABLE).encode("latin-1") + b'"')

    def _number(self, n, out: list[bytes]) -> None:
        if isinstance(n, float) and (n != n or math.isinf(n)):
            raise CJsonError("Cannot serialise number: must not be NaN or Inf")
        out.append(_num14(n))

    def _value(self, v, out: list[bytes], depth: int) -> None:
        if v is None:
            out.append(b"null")
        elif v is True:
            out.append(b"true")
        elif v is False:
            out.append(b"false")
        elif isinstance(v, bytes):
            self._string(v, out)
        elif isinstance(v, (int, float)):
            self._number(v, out)
        elif lua_type(v) == "table":
            depth += 1
            if depth > 1000:
                raise CJsonError("Cannot serialise, excessive nesting (%d)" % depth)
            self._table(v, out, depth)
        elif self._is_null(v):
            out.append(b"null")
        else:
            raise CJsonError("Cannot serialise %s: type not supported" % typename(v))

    def _is_null(self, v) -> bool:
        return lua_type(v) == "userdata" and self.is_null(v)

    def _table(self, t, out: list[bytes], depth: int) -> None:
        items = list(t.items())
        maximum = 0
        array = True
        for k, _ in items:
            if isinstance(k, (int, float)) and not isinstance(k, bool) and k:
                if k == math.floor(k) and k >= 1:
                    maximum = max(maximum, int(k))
                    continue
            array = False
            break
        if array and maximum > len(items) * 2 and maximum > 10:
            raise CJsonError("Cannot serialise table: excessively sparse array")
        if array and maximum > 0:
            out.append(b"[")
            for i in range(1, maximum + 1):
                if i > 1:
                    out.append(b",")
                self._value(t[i], out, depth)
            out.append(b"]")
            return
        out.append(b"{")
        first = True
        for k, v in items:
            if not first:
                out.append(b",")
            first = False
            if isinstance(k, bytes):
                self._string(k, out)
            elif isinstance(k, (int, float)) and not isinstance(k, bool):
                out.append(b'"' + _num14(k) + b'"')
            else:
                raise CJsonError("Cannot serialise %s: table key must be a number or string"
                                 % typename(k))
            out.append(b":")
            self._value(v, out, depth)
        out.append(b"}")

    # decode ----------------------------------------------------------------------------------

    def decode(self, *args) -> tuple:
        if len(args) != 1:
            return False, b"bad argument #1 to 'decode' (expected 1 argument)"
        s = args[0]
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            s = _num14(s)
        if not isinstance(s, bytes):
            return False, b"bad argument #1 to 'decode' (string expected, got %s)" % (
                typename(s).encode())
        s = s.split(b"\0", 1)[0] if len(s) < 2 or (s[0] and s[1]) else s
        if len(s) >= 2 and (not s[0] or not s[1]):
            return False, b"JSON parser does not support UTF-16 or UTF-32"
        try:
            parser = _JsonParser(s, self)
            value = parser.value(parser.token())
            tok = parser.token()
            if tok[0] != "T_END":
                parser.fail("the end", tok)
        except CJsonError as e:
            return False, str(e).encode("latin-1")
        return True, value


_WS = b" \t\n\r"
_SINGLE = {ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN",
           ord("]"): "T_ARR_END", ord(":"): "T_COLON", ord(","): "T_COMMA"}
_UNKNOWN_START = set(b"fiInNt\"+-0123456789")
# strtod's longest valid prefix: decimal, hex, inf/nan
_STRTOD = re.compile(rb"[+-]?(?:0[xX][0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?(?:[pP][+-]?\d+)?"
                     rb"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE)


class _JsonParser:
    """lua-cjson's tokenizer and recursive parser, with its error texts."""

    def __init__(self, data: bytes, cjson: CJson) -> None:
        self.s = data
        self.i = 0
        self.cj = cjson
        self.depth = 0

    def fail(self, expected: str, tok) -> None:
        found = tok[1] if tok[0] == "T_ERROR" else tok[0]
        raise CJsonError("Expected %s but found %s at character %d" % (expected, found,
                                                                        tok[2] + 1))

    def token(self):
        s, n = self.s, len(self.s)
        i = self.i
        while i < n and s[i] in _WS:
            i += 1
        self.i = i
        if i >= n:
            return ("T_END", None, i)
        ch = s[i]
        if ch in _SINGLE:
            self.i = i + 1
            return (_SINGLE[ch], None, i)
        if ch not in _UNKNOWN_START:
            return ("T_ERROR", "invalid token", i)
        if ch == 0x22:
            return self._string(i)
        if ch == 0x2D or 0x30 <= ch <= 0x39:
            return self._number(i)
        if s.startswith(b"true", i):
            self.i = i + 4
            return ("T_BOOLEAN", True, i)
        if s.startswith(b"false", i):
            self.i = i + 5
            return ("T_BOOLEAN", False, i)
        if s.startswith(b"null", i):
            self.i = i + 4
            return ("T_NULL", None, i)
        low = s[i:i + 4].lower().lstrip(b"+-")
        if ch == 0x2B or low.startswith((b"inf", b"nan")):
            return self._number(i)
        return ("T_ERROR", "invalid token", i)

    def _number(self, i: int):
        m = _STRTOD.match(self.s, i)
        if not m:
            return ("T_ERROR", "invalid number", i)
        text = m.group(0)
        try:
            value = float.fromhex(text.decode()) if b"x" in text.lower() else float(text)
        except ValueError:
            return ("T_ERROR", "invalid number", i)
        self.i = m.end()
        return ("T_NUMBER", value, i)

    def _string(self, i: int):
        s = self.s
        n = len(s)
        j = i + 1
        out = bytearray()
        while True:
            if j >= n:
                return ("T_ERROR", "unexpected end of string", j)
            ch = s[j]
            if ch == 0x22:
                break
            if ch == 0x5C:
                if j + 1 >= n:
                    return ("T_ERROR", "invalid escape code", j)
                e = s[j + 1]
                simple = {0x22: b'"', 0x5C: b"\\", 0x2F: b"/", 0x62: b"\b", 0x66: b"\f",
                          0x6E: b"\n", 0x72: b"\r", 0x74: b"\t"}
                if e in simple:
                    out += simple[e]
                    j += 2
                    continue
                if e == 0x75:
                    cp, j2 = self._unicode(j)
                    if cp is None:
                        return ("T_ERROR", "invalid unicode escape code", j)
                    out += chr(cp).encode("utf-8", "surrogatepass")
                    j = j2
                    continue
                return ("T_ERROR", "invalid escape code", j)
            out.append(ch)
            j += 1
        self.i = j + 1
        return ("T_STRING", bytes(out), i)

    def _unicode(self, j: int):
        s = self.s

        def hex4(k: int):
            part = s[k:k + 4]
            if len(part) != 4 or not all(c in b"0123456789abcdefABCDEF" for c in part):
                return None
            return int(part, 16)

        cp = hex4(j + 2)
        if cp is None:
            return None, j
        j += 6
        if 0xD800 <= cp <= 0xDBFF:
            if s[j:j + 2] != b"\\u":
                return None, j
            low = hex4(j + 2)
            if low is None or not 0xDC00 <= low <= 0xDFFF:
                return None, j
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
            j += 6
        elif 0xDC00 <= cp <= 0xDFFF:
            return None, j
        return cp, j

    def value(self, tok):
        kind = tok[0]
        if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN"):
            return tok[1]
        if kind == "T_NULL":
            return self.cj.null
        if kind == "T_OBJ_BEGIN":
            return self._object()
        if kind == "T_ARR_BEGIN":
            return self._array()
        self.fail("value", tok)

    def _descend(self) -> None:
        self.depth += 1
        if self.depth > 1000:
            raise CJsonError("Found too many nested data structures (%d) at character %d"
                             % (self.depth, self.i))

    def _object(self):
        self._descend()
        out: dict = {}
        tok = self.token()
        if tok[0] != "T_OBJ_END":
            while True:
                if tok[0] != "T_STRING":
                    self.fail("object key string", tok)
                key = tok[1]
                tok = self.token()
                if tok[0] != "T_COLON":
                    self.fail("colon", tok)
                out[key] = self.value(self.token())
                tok = self.token()
                if tok[0] == "T_OBJ_END":
                    break
                if tok[0] != "T_COMMA":
                    self.fail("comma or object end", tok)
                tok = self.token()
        self.depth -= 1
        return self.cj.table_from(out)

    def _array(self):
        self._descend()
        out: list = []
        tok = self.token()
        if tok[0] != "T_ARR_END":
            while True:
                out.append(self.value(tok))
                tok = self.token()
                if tok[0] == "T_ARR_END":
                    break
                if tok[0] != "T_COMMA":
                    self.fail("comma or array end", tok)
                tok = self.token()
        self.depth -= 1
        return self.cj.table_from(out)


# --- bit (LuaBitOp) ------------------------------------------------------------------------

_MAGIC = 6755399441055744.0  # 2^52 + 2^51


def _barg(v, i: int, fname: str) -> int:
    n = tonumber(v)
    if n is None:
        raise _ArgError("bad argument #%d to '%s' (number expected, got %s)" % (
            i, fname, typename(v)))
    return _struct.unpack("<Q", _struct.pack("<d", float(n) + _MAGIC))[0] & 0xFFFFFFFF


def _signed(b: int) -> int:
    b &= 0xFFFFFFFF
    return b - (1 << 32) if b & 0x80000000 else b


class _ArgError(Exception):
    pass


def _bitfn(fn):
    def wrapper(*args):
        try:
            return (True, *fn(*args))
        except _ArgError as e:
            return False, str(e).encode()
    return wrapper


def _need(args, count: int, fname: str) -> None:
    if len(args) < count:
        raise _ArgError("bad argument #%d to '%s' (number expected, got no value)" % (
            len(args) + 1, fname))


def _make_bit() -> dict[str, Any]:
    def tobit(*a):
        _need(a, 1, "tobit")
        return (_signed(_barg(a[0], 1, "tobit")),)

    def bnot(*a):
        _need(a, 1, "bnot")
        return (_signed(~_barg(a[0], 1, "bnot")),)

    def fold(name, op):
        def f(*a):
            _need(a, 1, name)
            r = _barg(a[0], 1, name)
            for i, v in enumerate(a[1:], 2):
                r = op(r, _barg(v, i, name))
            return (_signed(r),)
        return f

    def shift(name, op):
        def f(*a):
            _need(a, 2, name)
            b = _barg(a[0], 1, name)
            n = _barg(a[1], 2, name) & 31
            return (_signed(op(b, n)),)
        return f

    def tohex(*a):
        _need(a, 1, "tohex")
        b = _barg(a[0], 1, "tohex")
        n = 8 if len(a) < 2 or a[1] is None else _signed(_barg(a[1], 2, "tohex"))
        digits = "0123456789abcdef"
        if n < 0:
            n = -n
            digits = "0123456789ABCDEF"
        n = min(n, 8)
        out = []
        for _ in range(n):
            out.append(digits[b & 15])
            b >>= 4
        return ("".join(reversed(out)).encode(),)

    def bswap(*a):
        _need(a, 1, "bswap")
        b = _barg(a[0], 1, "bswap")
        return (_signed(int.from_bytes(b.to_bytes(4, "little"), "big")),)

    def rol(b, n):
        return ((b << n) | (b >> (32 - n))) & 0xFFFFFFFF if n else b

    def ror(b, n):
        return ((b >> n) | (b << (32 - n))) & 0xFFFFFFFF if n else b

    fns = {
        "tobit": tobit, "bnot": bnot, "tohex": tohex, "bswap": bswap,
        "band": fold("band", lambda x, y: x & y), "bor": fold("bor", lambda x, y: x | y),
        "bxor": fold("bxor", lambda x, y: x ^ y),
        "lshift": shift("lshift", lambda b, n: (b << n) & 0xFFFFFFFF),
        "rshift": shift("rshift", lambda b, n: b >> n),
        "arshift": shift("arshift", lambda b, n: (_signed(b) >> n) & 0xFFFFFFFF),
        "rol": shift("rol", rol), "ror": shift("ror", ror),
    }
    return {k: _bitfn(v) for k, v in fns.items()}


BIT = _make_bit()


# --- struct (lua_struct.c) ---------------------------------------------------------------------

_MAXINTSIZE = 32
_MAXALIGN = 8
_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}


class _Header:
    __slots__ = ("little", "align")

    def __init__(self) -> None:
        self.little = True
        self.align = 1


def _getnum(fmt: bytes, i: int, default: int) -> tuple[int, int]:
    if i >= len(fmt) or not 48 <= fmt[i] <= 57:
        return default, i
    a = 0
    while i < len(fmt) and 48 <= fmt[i] <= 57:
        a = a * 10 + fmt[i] - 48
        if a > 0x7FFFFFFF:
            raise _ArgError("integral size overflow")
        i += 1
    return a, i


def _optsize(opt: str, fmt: bytes, i: int) -> tuple[int, int]:
    if opt in _SIZES:
        return _SIZES[opt], i
    if opt == "c":
        return _getnum(fmt, i, 1)
    if opt in "iI":
        size, i = _getnum(fmt, i, 4)
        if size > _MAXINTSIZE:
            raise _ArgError("integral size %d is larger than limit of %d" % (size, _MAXINTSIZE))
        return size, i
    return 0, i


def _toalign(length: int, h: _Header, opt: str, size: int) -> int:
    if size == 0 or opt == "c":
        return 0
    size = min(size, h.align)
    return (size - (length & (size - 1))) & (size - 1)


def _control(opt: str, fmt: bytes, i: int, h: _Header, fname: str) -> int:
    if opt == " ":
        return i
    if opt == ">":
        h.little = False
    elif opt == "<":
        h.little = True
    elif opt == "!":
        a, i = _getnum(fmt, i, _MAXALIGN)
        if a & (a - 1):
            raise _ArgError("alignment %d is not a power of 2" % a)
        h.align = a
    else:
        raise _ArgError("bad argument #1 to '%s' (invalid format option '%s')" % (fname, opt))
    return i


def _checknumber(args, n: int, fname: str) -> float:
    v = args[n - 1] if n <= len(args) else None
    x = tonumber(v)
    if x is None:
        raise _ArgError("bad argument #%d to '%s' (number expected, got %s)" % (
            n, fname, typename(v) if n <= len(args) else "no value"))
    return x


def _checkstring(args, n: int, fname: str) -> bytes:
    v = args[n - 1] if n <= len(args) else None
    if isinstance(v, bytes):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _num14(v)
    raise _ArgError("bad argument #%d to '%s' (string expected, got %s)" % (
        n, fname, typename(v) if n <= len(args) else "no value"))


def _struct_call(fn):
    def wrapper(*args):
        try:
            return (True, *fn(*args))
        except _ArgError as e:
            return False, str(e).encode("latin-1")
    return wrapper


@_struct_call
def _struct_pack(*args):
    fmt = _checkstring(args, 1, "pack")
    h = _Header()
    out = bytearray()
    arg = 2
    i = 0
    while i < len(fmt):
        opt = chr(fmt[i])
        i += 1
        size, i = _optsize(opt, fmt, i)
        out += bytes(_toalign(len(out), h, opt, size))
        if opt in "bBhHlLTiI":
            n = _checknumber(args, arg, "pack")
            arg += 1
            if n != n or math.isinf(n):
                value = 1 << 63
            else:
                value = int(n) & 0xFFFFFFFFFFFFFFFF
            raw = value.to_bytes(8, "little") + bytes(max(0, size - 8))
            raw = raw[:size]
            out += raw if h.little else raw[::-1]
        elif opt == "x":
            out.append(0)
        elif opt in "fd":
            n = _checknumber(args, arg, "pack")
            arg += 1
            try:
                out += _struct.pack(("<" if h.little else ">") + opt, float(n))
            except OverflowError:
                out += _struct.pack(("<" if h.little else ">") + opt,
                                    math.copysign(math.inf, n))
        elif opt in "cs":
            data = _checkstring(args, arg, "pack")
            arg += 1
            if size == 0:
                size = len(data)
            if len(data) < size:
                raise _ArgError("bad argument #%d to 'pack' (string too short)" % arg)
            out += data[:size]
            if opt == "s":
                out.append(0)
        else:
            i = _control(opt, fmt, i, h, "pack")
    return (bytes(out),)


@_struct_call
def _struct_unpack(*args):
    fmt = _checkstring(args, 1, "unpack")
    data = _checkstring(args, 2, "unpack")
    pos = 1
    if len(args) >= 3 and args[2] is not None:
        pos = int(_checknumber(args, 3, "unpack"))
    if pos <= 0:
        raise _ArgError("bad argument #3 to 'unpack' (offset must be 1 or greater)")
    pos -= 1
    ld = len(data)
    h = _Header()
    out: list[Any] = []
    i = 0
    while i < len(fmt):
        opt = chr(fmt[i])
        i += 1
        size, i = _optsize(opt, fmt, i)
        pos += _toalign(pos, h, opt, size)
        if not (size <= ld and pos <= ld - size):
            raise _ArgError("bad argument #2 to 'unpack' (data string too short)")
        if opt in "bBhHlLTiI":
            raw = data[pos:pos + size]
            value = 0
            for b in (raw if not h.little else raw[::-1]):
                value = ((value << 8) | b) & 0xFFFFFFFFFFFFFFFF
            if opt.islower() and size:
                bits = min(size * 8, 64)
                if value & (1 << (bits - 1)):
                    value -= 1 << bits
            out.append(value if -(1 << 53) <= value <= 1 << 53 else float(value))
        elif opt in "fd":
            out.append(_struct.unpack(("<" if h.little else ">") + opt,
                                      data[pos:pos + size])[0])
        elif opt == "c":
            if size == 0:
                if not out or tonumber(out[-1]) is None:
                    raise _ArgError("format 'c0' needs a previous size")
                size = int(tonumber(out.pop()))
                if not (size <= ld and pos <= ld - size):
                    raise _ArgError("bad argument #2 to 'unpack' (data string too short)")
            out.append(data[pos:pos + size])
        elif opt == "s":
            end = data.find(b"\0", pos)
            if end < 0:
                raise _ArgError("unfinished string in data")
            size = end - pos + 1
            out.append(data[pos:end])
        elif opt != "x":
            i = _control(opt, fmt, i, h, "unpack")
        pos += size
    return (*out, pos + 1)


@_struct_call
def _struct_size(*args):
    fmt = _checkstring(args, 1, "size")
    h = _Header()
    pos = 0
    i = 0
    while i < len(fmt):
        opt = chr(fmt[i])
        i += 1
        size, i = _optsize(opt, fmt, i)
        pos += _toalign(pos, h, opt, size)
        if opt == "s":
            raise _ArgError("bad argument #1 to 'size' (option 's' has no fixed size)")
        if opt == "c" and size == 0:
            raise _ArgError("bad argument #1 to 'size' (option 'c0' has no fixed size)")
        if not opt.isalnum():
            i = _control(opt, fmt, i, h, "size")
        pos += size
    return (pos,)


STRUCT = {"pack": _struct_pack, "unpack": _struct_unpack, "size": _struct_size}


# --- cmsgpack -------------------------------------------------------------------------------

class MsgPack:
    MAX_NESTING = 16

    def __init__(self, table_from) -> None:
        self.table_from = table_from

    def pack(self, *args):
        if not args:
            return False, b"bad argument #0 to 'pack' (MessagePack pack needs input.)"
        out = bytearray()
        for v in args:
            self._encode(v, out, 0)
        return True, bytes(out)

    def _int(self, n: int, out: bytearray) -> None:
        if n >= 0:
            if n <= 127:
                out.append(n)
            elif n <= 0xFF:
                out += b"\xcc" + _struct.pack(">B", n)
            elif n <= 0xFFFF:
                out += b"\xcd" + _struct.pack(">H", n)
            elif n <= 0xFFFFFFFF:
                out += b"\xce" + _struct.pack(">I", n)
            else:
                out += b"\xcf" + _struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)
        else:
            if n >= -32:
                out += _struct.pack(">b", n)
            elif n >= -128:
                out += b"\xd0" + _struct.pack(">b", n)
            elif n >= -32768:
                out += b"\xd1" + _struct.pack(">h", n)
            elif n >= -2147483648:
                out += b"\xd2" + _struct.pack(">i", n)
            else:
                out += b"\xd3" + _struct.pack(">q", max(n, -(1 << 63)))

    def _encode(self, v, out: bytearray, level: int) -> None:
        if v is None:
            out.append(0xC0)
        elif v is True:
            out.append(0xC3)
        elif v is False:
            out.append(0xC2)
        elif isinstance(v, (int, float)):
            f = float(v)
            if not math.isinf(f) and f == f and -(1 << 63) <= f < (1 << 63) and int(f) == f:
                self._int(int(f), out)
            else:
                try:
                    as32 = _struct.unpack(">f", _struct.pack(">f", f))[0]
                except OverflowError:
                    as32 = None
                if as32 is not None and (as32 == f or (f != f and as32 != as32)):
                    out += b"\xca" + _struct.pack(">f", f)
                else:
                    out += b"\xcb" + _struct.pack(">d", f)
        elif isinstance(v, bytes):
            n = len(v)
            if n < 32:
                out.append(0xA0 | n)
            elif n <= 0xFF:
                out += b"\xd9" + _struct.pack(">B", n)
            elif n <= 0xFFFF:
                out += b"\xda" + _struct.pack(">H", n)
            else:
                out += b"\xdb" + _struct.pack(">I", n)
            out += v
        elif lua_type(v) == "table" and level < self.MAX_NESTING:
            items = list(v.items())
            count, maximum, array = 0, 0, True
            for k, _ in items:
                if (not isinstance(k, (int, float)) or isinstance(k, bool) or k <= 0
                        or int(k) != k):
                    array = False
                    break
                maximum = max(maximum, int(k))
                count += 1
            if array and maximum == count:
                n = count
                if n < 16:
                    out.append(0x90 | n)
                elif n <= 0xFFFF:
                    out += b"\xdc" + _struct.pack(">H", n)
                else:
                    out += b"\xdd" + _struct.pack(">I", n)
                for i in range(1, n + 1):
                    self._encode(v[i], out, level + 1)
            else:
                n = len(items)
                if n < 16:
                    out.append(0x80 | n)
                elif n <= 0xFFFF:
                    out += b"\xde" + _struct.pack(">H", n)
                else:
                    out += b"\xdf" + _struct.pack(">I", n)
                for k, val in items:
                    self._encode(k, out, level + 1)
                    self._encode(val, out, level + 1)
        else:
            out.append(0xC0)

    # unpack ---------------------------------------------------------------------------------

    def _decode(self, data: bytes, pos: int):
        if pos >= len(data):
            raise _ArgError("Missing bytes in input.")
        b = data[pos]
        pos += 1

        def take(n: int) -> bytes:
            nonlocal pos
            if pos + n > len(data):
                raise _ArgError("Missing bytes in input.")
            out = data[pos:pos + n]
            pos += n
            return out

        if b <= 0x7F:
            return b, pos
        if b >= 0xE0:
            return b - 256, pos
        if 0xA0 <= b <= 0xBF:
            return take(b & 0x1F), pos
        if 0x90 <= b <= 0x9F:
            return self._array(data, pos, b & 0x0F)
        if 0x80 <= b <= 0x8F:
            return self._map(data, pos, b & 0x0F)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple:
            return simple[b], pos
        fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h",
                 0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
        if b in fixed:
            fmt = fixed[b]
            v = _struct.unpack(fmt, take(_struct.calcsize(fmt)))[0]
            if isinstance(v, int) and abs(v) >= 1 << 53:
                v = float(v)
            return v, pos
        lens = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}
        if b in lens:
            fmt = lens[b]
            n = _struct.unpack(fmt, take(_struct.calcsize(fmt)))[0]
            return take(n), pos
        if b in (0xDC, 0xDD):
            fmt = ">H" if b == 0xDC else ">I"
            n = _struct.unpack(fmt, take(_struct.calcsize(fmt)))[0]
            return self._array(data, pos, n)
        if b in (0xDE, 0xDF):
            fmt = ">H" if b == 0xDE else ">I"
            n = _struct.unpack(fmt, take(_struct.calcsize(fmt)))[0]
            return self._map(data, pos, n)
        raise _ArgError("Bad data format in input.")

    def _array(self, data: bytes, pos: int, n: int):
        items = []
        for _ in range(n):
            v, pos = self._decode(data, pos)
            items.append(v)
        return self.table_from(items), pos

    def _map(self, data: bytes, pos: int, n: int):
        out: dict = {}
        for _ in range(n):
            k, pos = self._decode(data, pos)
            v, pos = self._decode(data, pos)
            if k is not None:
                out[k] = v
        return self.table_from(out), pos

    def _unpack(self, data, limit: int, offset: int):
        if not isinstance(data, bytes):
            raise _ArgError("bad argument #1 to 'unpack' (string expected, got %s)"
                            % typename(data))
        out = []
        pos = offset
        while pos < len(data) and (limit <= 0 or len(out) < limit):
            v, pos = self._decode(data, pos)
            out.append(v)
        return out, pos

    def unpack(self, *args):
        try:
            values, _ = self._unpack(args[0] if args else None, 0, 0)
        except _ArgError as e:
            return False, str(e).encode()
        return (True, *values)

    def unpack_one(self, *args):
        return self.unpack_limit(args[0] if args else None, 1, *args[1:2])

    def unpack_limit(self, *args):
        data = args[0] if args else None
        limit = int(tonumber(args[1]) or 0) if len(args) > 1 else 0
        offset = int(tonumber(args[2]) or 0) if len(args) > 2 else 0
        try:
            values, pos = self._unpack(data, limit, offset)
        except _ArgError as e:
            return False, str(e).encode()
        next_offset = -1 if pos >= len(data) else pos
        return (True, next_offset, *values)
