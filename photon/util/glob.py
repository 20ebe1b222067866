"""Redis glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE) compiled to regular expressions.

The pattern is read exactly as Redis's stringmatchlen reads it (escapes, ranges either way
round, an unclosed class running to the end). Matching never backtracks exponentially: each
segment between stars is found at its leftmost place inside an atomic group, so a crafted
pattern such as ``*a*a*a*a*b`` costs O(len(pattern) * len(key)).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable

Token = tuple  # ('lit', int) | ('any',) | ('star',) | ('class', negate, [(lo, hi), ...])


def tokenize(pattern: bytes) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == 42:  # '*'
            if not tokens or tokens[-1] != ("star",):
                tokens.append(("star",))
        elif ch == 63:  # '?'
            tokens.append(("any",))
        elif ch == 91:  # '['
            i += 1
            negate = i < n and pattern[i] == 94  # '^'
            if negate:
                i += 1
            ranges: list[tuple[int, int]] = []
            while i < n and pattern[i] != 93:  # ']'
                if pattern[i] == 92 and n - i >= 2:  # '\x'
                    i += 1
                    ranges.append((pattern[i], pattern[i]))
                elif n - i >= 3 and pattern[i + 1] == 45:  # 'a-z'
                    ranges.extend(_signed_range(pattern[i], pattern[i + 2]))
                    i += 2
                else:
                    ranges.append((pattern[i], pattern[i]))
                i += 1
            tokens.append(("class", negate, ranges))
        elif ch == 92 and n - i >= 2:  # '\x' outside a class
            i += 1
            tokens.append(("lit", pattern[i]))
        else:
            tokens.append(("lit", ch))
        i += 1
    return tokens


def _signed(b: int) -> int:
    return b - 256 if b >= 128 else b


def _signed_range(a: int, b: int) -> list[tuple[int, int]]:
    """Redis compares class bounds as C chars, signed on x86: bytes 0x80-0xff sort below 0.
    The range as unsigned byte intervals."""
    lo, hi = sorted((_signed(a), _signed(b)))
    out = []
    if lo < 0:
        out.append((lo + 256, min(hi, -1) + 256))
    if hi >= 0:
        out.append((max(lo, 0), hi))
    return out


def _token_regex(tok: Token) -> bytes:
    kind = tok[0]
    if kind == "lit":
        return re.escape(bytes((tok[1],)))
    if kind == "any":
        return b"."
    _, negate, ranges = tok
    if not ranges:
        return b"[^\\x00-\\xff]" if not negate else b"."
    body = b"".join(b"\\x%02x-\\x%02x" % (lo, hi) if lo != hi else b"\\x%02x" % lo
                    for lo, hi in ranges)
    return b"[" + (b"^" if negate else b"") + body + b"]"


def to_regex(pattern: bytes) -> bytes:
    segments: list[list[bytes]] = [[]]
    for tok in tokenize(pattern):
        if tok == ("star",):
            segments.append([])
        else:
            segments[-1].append(_token_regex(tok))
    parts = [b"".join(seg) for seg in segments]
    if len(parts) == 1:
        return parts[0] + b"\\Z"
    middle = b"".join(b"(?>.*?" + p + b")" for p in parts[1:-1] if p)
    return parts[0] + middle + b".*" + parts[-1] + b"\\Z"


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: bytes) -> Callable[[bytes], bool]:
    """A predicate telling whether a byte string matches the Redis glob pattern."""
    if pattern == b"*":
        return lambda s: True  # the callers' match-everything shortcut (KEYS *, no MATCH)
    rx = re.compile(to_regex(pattern), re.DOTALL)
    match = rx.match
    # stringmatchlen never matches an empty string against a non-empty pattern
    return lambda s: match(s) is not None if s else not pattern
