"""Redis's number parsing rules: strict integers (string2ll), doubles (strtod without
spaces or NaN), and INCRBYFLOAT's long-double arithmetic and printing."""
from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction

from photon.errors import NOT_FLOAT, NOT_INTEGER, RedisError
from photon.util.long_double import _LD_MAX, round_ld, string2ld

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def string2ll(s: bytes) -> int | None:
    """Redis's string2ll: optional '-', no '+', no spaces, no leading zeros, fits in int64."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if s[0] == 45:  # '-'
        digits = s[1:]
        neg = True
    else:
        digits = s
        neg = False
    if not digits.isdigit() or (digits[0] == 48 and (len(digits) > 1 or neg)):
        return None
    v = int(digits)
    if neg:
        v = -v
        return v if v >= INT64_MIN else None
    return v if v <= INT64_MAX else None


def parse_int(s: bytes, error: str = NOT_INTEGER) -> int:
    v = string2ll(s)
    if v is None:
        raise RedisError(error)
    return v


_FLOAT_SPECIAL = {b"inf": math.inf, b"+inf": math.inf, b"-inf": -math.inf,
                  b"infinity": math.inf, b"+infinity": math.inf, b"-infinity": -math.inf}


_HEX_FLOAT = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                        rb"(?:[pP][+-]?[0-9]+)?")
_ZERO_MANTISSA = re.compile(rb"[+-]?(?:0[xX])?[0.]*(?:[eEpP].*)?")


def string2d(s: bytes) -> float | None:
    """strtod as Redis's string2d uses it: the whole string, decimal or hex, no leading space,
    never NaN, and a result that overflows or underflows to zero (ERANGE) is refused."""
    if not s or s[0] in b" \t\n\r\v\f" or len(s) > 5000 or s[-1] in b" \t\n\r\v\f":
        return None
    try:
        v = float(s)
    except ValueError:
        if not _HEX_FLOAT.fullmatch(s):
            return None
        try:
            v = float.fromhex(s.decode())
        except OverflowError:
            return None
    if math.isnan(v) or b"_" in s:
        return None
    if math.isinf(v) and s.lower().lstrip(b"+-") not in (b"inf", b"infinity"):
        return None  # overflow
    if v == 0 and not _ZERO_MANTISSA.fullmatch(s):
        return None  # underflow to zero
    return v


def parse_float(s: bytes, error: str = NOT_FLOAT) -> float:
    v = string2d(s)
    if v is None:
        raise RedisError(error)
    return v


# --- INCRBYFLOAT: Redis computes in x87 long double (64-bit mantissa) and prints "%.17Lf"
# with trailing zeros removed. Fractions let us reproduce that bit for bit.

def parse_long_double(s: bytes, error: str = NOT_FLOAT) -> Fraction | float:
    """strtold as Redis's string2ld: an exact long double, or ±inf."""
    v = string2ld(s)
    if v is None:
        raise RedisError(error)
    return v


def add_long_double(a: Fraction | float, b: Fraction | float) -> Fraction | float:
    """a + b in long double; an infinite operand (the only floats here) gives inf or NaN."""
    if isinstance(a, float) or isinstance(b, float):
        # A finite long double can be beyond a double's range: only the infinities matter.
        return (a if isinstance(a, float) else 0.0) + (b if isinstance(b, float) else 0.0)
    r = round_ld(a + b)
    if abs(r) > _LD_MAX:
        return math.inf if r > 0 else -math.inf
    return r


def format_long_double(v: Fraction) -> bytes:
    """``%.17Lf`` then trailing zeros (and a bare point) stripped, as Redis's ld2string does."""
    with localcontext() as ctx:
        ctx.prec = 6000
        d = Decimal(v.numerator) / Decimal(v.denominator)
        text = f"{d.quantize(Decimal(1).scaleb(-17)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.encode()
