"""HyperLogLog (Redis 7.0's hyperloglog.c): PFADD, PFCOUNT, PFMERGE.

The value is a plain string in Redis's exact layout, so GET, DUMP-like copies and STRLEN see
what Redis would: the 16-byte header ("HYLL", encoding, three zero bytes, the cached
cardinality little endian with its top bit marking it stale), then either the sparse opcodes
(ZERO 00xxxxxx, XZERO 01xxxxxx xxxxxxxx, VAL 1vvvvvxx) or 16384 dense 6-bit registers packed
little endian. Elements are hashed with MurmurHash64A (seed 0xadc83b19) and counted with
Ertl's estimator, as Redis does, so the counts agree too.
"""
from __future__ import annotations

import math

from photon.commands.strings import _rewrite
from photon.commands.table import command
from photon.errors import RedisError
from photon.keyspace.encoding import FLAG_RAW, STRING
from photon.protocol.reply import OK

HLL_P = 14
HLL_Q = 64 - HLL_P
HLL_REGISTERS = 1 << HLL_P
HLL_P_MASK = HLL_REGISTERS - 1
HLL_BITS = 6
HLL_REGISTER_MAX = (1 << HLL_BITS) - 1
HDR = 16
DENSE_SIZE = HDR + (HLL_REGISTERS * HLL_BITS + 7) // 8
DENSE, SPARSE = 0, 1
VAL_MAX_VALUE = 32
VAL_MAX_LEN = 4
ZERO_MAX_LEN = 64
XZERO_MAX_LEN = 16384
SPARSE_MAX_BYTES = 3000  # hll-sparse-max-bytes
ALPHA_INF = 0.721347520444481703680

_M64 = (1 << 64) - 1
_MURMUR_M = 0xC6A4A7935BD1E995
_SEED = 0xADC83B19

INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected"
NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."


class _Corrupt(Exception):
    pass


# --- hashing ------------------------------------------------------------------------------

def murmur64a(data: bytes, seed: int = _SEED) -> int:
    m = _MURMUR_M
    n = len(data)
    h = (seed ^ (n * m)) & _M64
    end = n - (n & 7)
    for i in range(0, end, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (k * m) & _M64
        k ^= k >> 47
        k = (k * m) & _M64
        h ^= k
        h = (h * m) & _M64
    rest = n & 7
    if rest:
        for j in range(rest - 1, -1, -1):
            h ^= data[end + j] << (8 * j)
        h = (h * m) & _M64
    h ^= h >> 47
    h = (h * m) & _M64
    h ^= h >> 47
    return h


def pat_len(element: bytes) -> tuple[int, int]:
    """hllPatLen: (register index, length of the 000..1 run + 1)."""
    h = murmur64a(element)
    index = h & HLL_P_MASK
    h >>= HLL_P
    h |= 1 << HLL_Q
    count = 1
    bit = 1
    while not h & bit:
        count += 1
        bit <<= 1
    return index, count


# --- registers ----------------------------------------------------------------------------

def _dense_get(regs: bytearray, i: int) -> int:
    byte = i * HLL_BITS // 8
    fb = i * HLL_BITS & 7
    b0 = regs[byte]
    b1 = regs[byte + 1] if byte + 1 < len(regs) else 0
    return ((b0 >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX


def _dense_set(regs: bytearray, i: int, val: int) -> None:
    byte = i * HLL_BITS // 8
    fb = i * HLL_BITS & 7
    fb8 = 8 - fb
    regs[byte] = (regs[byte] & ~(HLL_REGISTER_MAX << fb) | (val << fb)) & 0xFF
    if byte + 1 < len(regs):
        regs[byte + 1] = (regs[byte + 1] & ~(HLL_REGISTER_MAX >> fb8) | (val >> fb8)) & 0xFF


def _dense_registers(value: bytearray) -> list[int]:
    big = int.from_bytes(value[HDR:], "little")
    return [(big >> (HLL_BITS * i)) & HLL_REGISTER_MAX for i in range(HLL_REGISTERS)]


def _sparse_runs(value: bytearray):
    """(first register, run length, value) for each sparse opcode; _Corrupt if the opcodes
    do not cover exactly the 16384 registers."""
    p = HDR
    end = len(value)
    idx = 0
    while p < end:
        op = value[p]
        if op & 0xC0 == 0:
            run, val = (op & 0x3F) + 1, 0
            p += 1
        elif op & 0xC0 == 0x40:
            run = (((op & 0x3F) << 8) | (value[p + 1] if p + 1 < end else 0)) + 1
            val = 0
            p += 2
        else:
            run, val = (op & 0x3) + 1, ((op >> 2) & 0x1F) + 1
            if run + idx > HLL_REGISTERS:
                break
            p += 1
        yield idx, run, val
        idx += run
    if idx != HLL_REGISTERS:
        raise _Corrupt


def _registers(value: bytearray) -> list[int]:
    if value[4] == DENSE:
        return _dense_registers(value)
    regs = [0] * HLL_REGISTERS
    for first, run, val in _sparse_runs(value):
        if val:
            regs[first:first + run] = [val] * run
    return regs


def _to_dense(value: bytearray) -> bytearray:
    """hllSparseToDense (the header, cached cardinality included, is kept)."""
    if value[4] == DENSE:
        return value
    dense = bytearray(DENSE_SIZE)
    dense[:HDR] = value[:HDR]
    dense[4] = DENSE
    regs = memoryview(dense)[HDR:]
    big = 0
    for first, run, val in _sparse_runs(value):
        if val:
            for i in range(first, first + run):
                big |= val << (HLL_BITS * i)
    regs[:] = big.to_bytes(len(regs), "little")
    return dense


def new_hll() -> bytearray:
    """createHLLObject: sparse, every register in XZERO runs, cached cardinality 0."""
    value = bytearray(b"HYLL" + bytes((SPARSE, 0, 0, 0)) + bytes(8))
    left = HLL_REGISTERS
    while left:
        run = min(XZERO_MAX_LEN, left)
        value += bytes((((run - 1) >> 8) | 0x40, (run - 1) & 0xFF))
        left -= run
    return value


def _invalidate(value: bytearray) -> None:
    value[15] |= 0x80


def _val_op(val: int, run: int) -> int:
    return ((val - 1) << 2 | (run - 1)) | 0x80


def _sparse_set(value: bytearray, index: int, count: int) -> tuple[int, bytearray]:
    """hllSparseSet: (1 updated / 0 not, the value, possibly promoted to dense)."""
    if count > VAL_MAX_VALUE:
        return _promote(value, index, count)
    p = HDR
    end = len(value)
    first = 0
    prev = None
    span = 0
    while p < end:
        op = value[p]
        oplen = 1
        if op & 0xC0 == 0:
            span = (op & 0x3F) + 1
        elif op & 0x80:
            span = (op & 0x3) + 1
        else:
            span = (((op & 0x3F) << 8) | (value[p + 1] if p + 1 < end else 0)) + 1
            oplen = 2
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        raise _Corrupt
    op = value[p]
    is_zero = op & 0xC0 == 0
    is_xzero = op & 0xC0 == 0x40
    is_val = bool(op & 0x80)
    if is_val:
        oldcount = ((op >> 2) & 0x1F) + 1
        if oldcount >= count:
            return 0, value
        if span == 1:
            value[p] = _val_op(count, 1)
            return 1, _merge_vals(value, prev)
    if is_zero and span == 1:
        value[p] = _val_op(count, 1)
        return 1, _merge_vals(value, prev)
    seq = bytearray()
    last = first + span - 1

    def zeros(n: int) -> None:
        if n > ZERO_MAX_LEN:
            seq.extend((((n - 1) >> 8) | 0x40, (n - 1) & 0xFF))
        else:
            seq.append(n - 1)

    if is_zero or is_xzero:
        if index != first:
            zeros(index - first)
        seq.append(_val_op(count, 1))
        if index != last:
            zeros(last - index)
    else:
        curval = ((op >> 2) & 0x1F) + 1
        if index != first:
            seq.append(_val_op(curval, index - first))
        seq.append(_val_op(count, 1))
        if index != last:
            seq.append(_val_op(curval, last - index))
    oldlen = 2 if is_xzero else 1
    delta = len(seq) - oldlen
    if delta > 0 and len(value) + delta > SPARSE_MAX_BYTES:
        return _promote(value, index, count)
    value[p:p + oldlen] = seq
    return 1, _merge_vals(value, prev)


def _merge_vals(value: bytearray, prev: int | None) -> bytearray:
    """Step 4 of hllSparseSet: merge up to five adjacent VAL opcodes of equal value, then
    mark the cached cardinality stale."""
    p = prev if prev is not None else HDR
    scan = 5
    while p < len(value) and scan > 0:
        scan -= 1
        op = value[p]
        if op & 0xC0 == 0x40:
            p += 2
            continue
        if op & 0xC0 == 0:
            p += 1
            continue
        if p + 1 < len(value) and value[p + 1] & 0x80:
            nxt = value[p + 1]
            v1 = ((op >> 2) & 0x1F) + 1
            v2 = ((nxt >> 2) & 0x1F) + 1
            if v1 == v2:
                run = (op & 0x3) + 1 + (nxt & 0x3) + 1
                if run <= VAL_MAX_LEN:
                    value[p + 1] = _val_op(v1, run)
                    del value[p]
                    continue
        p += 1
    _invalidate(value)
    return value


def _promote(value: bytearray, index: int, count: int) -> tuple[int, bytearray]:
    dense = _to_dense(value)
    regs = memoryview(dense)[HDR:]
    if _dense_get(dense[HDR:], index) < count:
        buf = bytearray(regs)
        _dense_set(buf, index, count)
        regs[:] = buf
    return 1, dense


def _add(value: bytearray, element: bytes) -> tuple[int, bytearray]:
    index, count = pat_len(element)
    if value[4] == DENSE:
        regs = value[HDR:]
        if _dense_get(regs, index) >= count:
            return 0, value
        _dense_set(regs, index, count)
        value[HDR:] = regs
        return 1, value
    return _sparse_set(value, index, count)


# --- counting -----------------------------------------------------------------------------

def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def count(registers: list[int]) -> int:
    """hllCount from a register histogram (Ertl's improved estimator)."""
    m = float(HLL_REGISTERS)
    histo = [0] * 64
    for r in registers:
        histo[r] += 1
    z = m * _tau((m - histo[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    if not math.isfinite(e):
        return 0
    whole = math.floor(e)  # llroundl: halves away from zero
    return int(whole) + (1 if e - whole >= 0.5 else 0)


# --- commands -----------------------------------------------------------------------------

def _hll_value(meta) -> bytearray:
    """isHLLObjectOrReply: the value of an HLL key, or Redis's error."""
    v = meta.value
    if (len(v) < HDR or v[:4] != b"HYLL" or v[4] > SPARSE
            or (v[4] == DENSE and len(v) != DENSE_SIZE)):
        raise RedisError(NOT_HLL)
    return bytearray(v)


def _save(c, key: bytes, meta, value: bytearray) -> None:
    ks = c.server.keyspace
    if meta is None:
        ks.set_string(c.db, key, bytes(value), flags=FLAG_RAW)
    else:
        _rewrite(ks, c.db, key, meta, bytes(value), flags=meta.flags | FLAG_RAW)


@command("pfadd", -2, "write denyoom fast", 1, 1, 1)
def pfadd(c, argv):
    ks = c.server.keyspace
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    updated = 0
    if meta is None:
        value = new_hll()
        updated = 1
    else:
        value = _hll_value(meta)
    try:
        for element in argv[2:]:
            changed, value = _add(value, element)
            updated += changed
    except _Corrupt:
        raise RedisError(INVALID_HLL) from None
    if updated:
        _invalidate(value)
        _save(c, argv[1], meta, value)
    return 1 if updated else 0


@command("pfcount", -2, "readonly", 1, -1, 1)
def pfcount(c, argv):
    ks = c.server.keyspace
    if len(argv) > 2:
        merged = [0] * HLL_REGISTERS
        for key in argv[1:]:
            meta = ks.lookup_typed(c.db, key, STRING)
            if meta is None:
                continue
            value = _hll_value(meta)
            try:
                regs = _registers(value)
            except _Corrupt:
                raise RedisError(INVALID_HLL) from None
            merged = [a if a >= b else b for a, b in zip(merged, regs)]
        return count(merged)
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    if meta is None:
        return 0
    value = _hll_value(meta)
    if not value[15] & 0x80:
        return int.from_bytes(value[8:16], "little")
    try:
        card = count(_registers(value))
    except _Corrupt:
        raise RedisError(INVALID_HLL) from None
    # Redis caches the cardinality in the value (a write, though PFCOUNT is read-only).
    value[8:16] = card.to_bytes(8, "little")
    _save(c, argv[1], meta, value)
    return card


@command("pfmerge", -2, "write denyoom", 1, -1, 1)
def pfmerge(c, argv):
    ks = c.server.keyspace
    merged = [0] * HLL_REGISTERS
    use_dense = False
    try:
        for key in argv[1:]:
            meta = ks.lookup_typed(c.db, key, STRING)
            if meta is None:
                continue
            value = _hll_value(meta)
            if value[4] == DENSE:
                use_dense = True
            regs = _registers(value)
            merged = [a if a >= b else b for a, b in zip(merged, regs)]
        meta = ks.lookup_typed(c.db, argv[1], STRING)
        value = new_hll() if meta is None else bytearray(meta.value)
        if use_dense:
            value = _to_dense(value)
        if value[4] == DENSE:
            regs = value[HDR:]
            for j, v in enumerate(merged):
                if v and _dense_get(regs, j) < v:
                    _dense_set(regs, j, v)
            value[HDR:] = regs
        else:
            for j, v in enumerate(merged):
                if v:
                    if value[4] == DENSE:
                        regs = value[HDR:]
                        if _dense_get(regs, j) < v:
                            _dense_set(regs, j, v)
                        value[HDR:] = regs
                    else:
                        _, value = _sparse_set(value, j, v)
    except _Corrupt:
        raise RedisError(INVALID_HLL) from None
    _invalidate(value)
    _save(c, argv[1], meta, value)
    return OK
