"""Redis's sdssplitargs, shared by inline requests, ACL selectors and script shebang lines."""
from __future__ import annotations

_SPACE = b" \n\r\t\v\f"  # isspace()
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes) -> list[bytes] | None:
    """sdssplitargs: inline arguments with Redis's quoting rules; None when quotes don't balance.
    Redis reads a C string, so a NUL ends the line."""
    line = line.split(b"\0", 1)[0]
    args: list[bytes] = []
    p = 0
    n = len(line)
    while True:
        while p < n and line[p] in _SPACE:
            p += 1
        if p >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if p >= n:
                    return None
                c = line[p]
                if (c == 92 and p + 3 < n and line[p + 1] == 120 and line[p + 2] in _HEX
                        and line[p + 3] in _HEX):
                    cur.append(int(line[p + 2:p + 4], 16))
                    p += 3
                elif c == 92 and p + 1 < n:
                    p += 1
                    cur.append(_ESCAPES.get(line[p], line[p]))
                elif c == 34:
                    if p + 1 < n and line[p + 1] not in _SPACE:
                        return None
                    p += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if p >= n:
                    return None
                c = line[p]
                if c == 92 and p + 1 < n and line[p + 1] == 39:
                    p += 1
                    cur.append(39)
                elif c == 39:
                    if p + 1 < n and line[p + 1] not in _SPACE:
                        return None
                    p += 1
                    break
                else:
                    cur.append(c)
            else:
                if p >= n:
                    break
                c = line[p]
                if c in b" \n\r\t":
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            p += 1
        args.append(bytes(cur))
