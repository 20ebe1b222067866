"""Redis's ``string2ld``: strtold over the whole string, as HINCRBYFLOAT (and INCRBYFLOAT)
read their operands.

It differs from the double parser in ways a client can see: x87 long doubles reach about
1.19e4932 (so ``1e400`` is a valid increment), strtold reads C99 hex floats (``0x10``,
``0x1p3``), and a value that overflows or underflows to zero is rejected (ERANGE) rather
than turned into inf or 0. The result is exact: a Fraction rounded to the nearest long double,
or ±inf for the spellings of infinity (which Redis accepts here and rejects later).
"""
from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

MAX_LONG_DOUBLE_CHARS = 5 * 1024
_LD_MANT = 64
_LD_MIN_EXP = -16382
_LD_MAX = Fraction(2) ** 16384 - Fraction(2) ** (16384 - _LD_MANT)
# The smallest positive (subnormal) long double is 2**-16445; anything below half of it rounds
# to zero. Decimal exponents far outside these bounds are decided without exact arithmetic.
_DEC_HIGH = 4940
_DEC_LOW = -4960
_BIN_HIGH = 16400
_BIN_LOW = -16500



def round_ld(x: Fraction) -> Fraction:
    """Round an exact value to the nearest long double (ties to even)."""
    if x == 0:
        return x
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, _LD_MIN_EXP)
    shift = _LD_MANT - 1 - e
    scaled = a * (Fraction(2) ** shift)
    q, r = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and q & 1):
        q += 1
    return sign * Fraction(q) / (Fraction(2) ** shift)


_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?")
_INF = {b"inf": math.inf, b"+inf": math.inf, b"-inf": -math.inf, b"infinity": math.inf,
        b"+infinity": math.inf, b"-infinity": -math.inf}


def string2ld(s: bytes) -> Fraction | float | None:
    """The long double ``s`` spells, or None where Redis's string2ld fails."""
    n = len(s)
    if n == 0 or n >= MAX_LONG_DOUBLE_CHARS:
        return None
    if _DECIMAL.fullmatch(s):
        return _decimal(s)
    m = _HEX.fullmatch(s)
    if m is not None and (m.group(2) or m.group(3)):
        return _hex(m)
    return _INF.get(s.lower())


def _finish(exact: Fraction) -> Fraction | None:
    if exact == 0:
        return Fraction(0)
    r = round_ld(exact)
    if r == 0 or abs(r) > _LD_MAX:
        return None  # ERANGE: underflow to zero or overflow to HUGE_VALL
    return r


def _decimal(s: bytes) -> Fraction | None:
    try:
        d = Decimal(s.decode("ascii"))
    except (InvalidOperation, UnicodeDecodeError):
        return None
    if d.is_zero():
        return Fraction(0)
    adjusted = d.adjusted()
    if adjusted > _DEC_HIGH or adjusted < _DEC_LOW:
        return None
    return _finish(Fraction(d))


def _hex(m: re.Match) -> Fraction | None:
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or b"", m.group(4)
    digits = (whole + frac).lstrip(b"0")
    if not digits:
        return Fraction(0)
    e = int(exp) if exp is not None else 0
    e -= 4 * len(frac)
    mantissa = int(digits, 16)
    top = mantissa.bit_length() + e
    if top > _BIN_HIGH or top < _BIN_LOW:
        return None
    value = Fraction(mantissa) * (Fraction(2) ** e)
    return _finish(-value if sign == b"-" else value)
