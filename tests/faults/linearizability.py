"""Checkers for a history of register operations (one register per key).

``check_linearizable`` is the Wing & Gong search with Lowe's refinements: the history is split
per key (linearizability is compositional, so each register is checked alone), and every
configuration reached (set of linearized ops as a bitset, register value) is remembered so
no configuration is explored twice. On top of that, two reductions that keep real histories
cheap:

* an ``info`` write whose value no read returned is dropped: placing it anywhere or nowhere
  changes no read, so a linearization exists with it iff one exists without it;
* a read that matches the register is linearized at once and never taken back: a valid
  order that puts it later can move it here, so backtracking over it cannot help;
* a write may not replace the register's value while a read of that value is still to be
  linearized and no other write of it is: that branch is dead, however far it would run.
  Without this, a few unknown writes read much later make the search exponential.

``fail`` writes never take effect, ``info`` writes may take effect at any time after their
invocation, ``fail``/``info`` reads constrain nothing. Reads of ``None`` mean never written.
"""
from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tests.faults.history import FAIL, INFO, OK, READ, WRITE, Op

_MISSING = object()


class CheckerGaveUp(Exception):
    """The search ran past its time budget: the history is neither passed nor failed."""


@dataclass
class Anomaly:
    kind: str
    key: str
    message: str
    ops: list[Op] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.kind} on {self.key!r}: {self.message}"]
        lines += [f"    {op}" for op in self.ops]
        return "\n".join(lines)


@dataclass
class CheckResult:
    """``ok`` unless some anomaly was found; ``str()`` explains every one, for an assert."""

    anomalies: list[Anomaly] = field(default_factory=list)
    keys_checked: int = 0
    ops_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.anomalies

    @property
    def key(self) -> str | None:
        return self.anomalies[0].key if self.anomalies else None

    @property
    def message(self) -> str:
        return self.anomalies[0].message if self.anomalies else ""

    @property
    def ops(self) -> list[Op]:
        return self.anomalies[0].ops if self.anomalies else []

    def __bool__(self) -> bool:
        return self.ok

    def __add__(self, other: CheckResult) -> CheckResult:
        return CheckResult(self.anomalies + other.anomalies,
                           max(self.keys_checked, other.keys_checked),
                           max(self.ops_checked, other.ops_checked),
                           self.seconds + other.seconds)

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.ops_checked} ops on {self.keys_checked} keys"
        return "\n".join(str(a) for a in self.anomalies)


def _by_key(history: Iterable[Op]) -> dict[str, list[Op]]:
    keys: dict[str, list[Op]] = defaultdict(list)
    for op in history:
        keys[op.key].append(op)
    return keys


def _initial(initial: Mapping[str, str | None] | str | None, key: str) -> str | None:
    return initial.get(key) if isinstance(initial, Mapping) else initial


def check_linearizable(history: Iterable[Op],
                       initial: Mapping[str, str | None] | str | None = None,
                       timeout: float | None = None) -> CheckResult:
    """Check every key; the result lists one anomaly per key that has no linearization.

    ``initial`` is the value every register (or each key, from a mapping) holds before the
    history; ``timeout`` bounds the whole search, raising ``CheckerGaveUp`` past it.
    """
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    result = CheckResult()
    for key, ops in sorted(_by_key(history).items()):
        anomaly = check_key(key, ops, _initial(initial, key), deadline)
        result.keys_checked += 1
        result.ops_checked += len(ops)
        if anomaly is not None:
            result.anomalies.append(anomaly)
    result.seconds = time.monotonic() - start
    return result


def check_key(key: str, ops: list[Op], initial: str | None = None,
              deadline: float | None = None) -> Anomaly | None:
    """Search for a linearization of one register's ops; None when one exists."""
    refused: dict[str | None, list[Op]] = defaultdict(list)
    writes: dict[str | None, list[Op]] = defaultdict(list)
    reads = []
    for op in ops:
        if op.kind == WRITE:
            (refused if op.outcome == FAIL else writes)[op.value].append(op)
        elif op.kind == READ and op.outcome == OK:
            reads.append(op)
        elif op.kind not in (READ, WRITE):
            raise ValueError(f"unknown op kind {op.kind!r}: {op}")
    read_values = {op.value for op in reads}
    for read in reads:
        v = read.value
        if v == initial:
            continue
        if v not in writes:
            why = "a refused write's value" if v in refused else "a value nobody wrote"
            return Anomaly("nonlinearizable", key, f"a read returned {why}: {v!r}",
                           [read, *refused.get(v, [])])
        if all(w.invoke > read.complete for w in writes[v]):
            return Anomaly("nonlinearizable", key,
                           f"a read returned {v!r} before any write of it began",
                           [read, *writes[v]])
    kept = [op for op in reads]
    for v, ws in writes.items():
        kept += [w for w in ws if w.outcome == OK or v in read_values]
    return _search(key, kept, initial, deadline)


def _search(key: str, ops: list[Op], initial: str | None, deadline: float | None
            ) -> Anomaly | None:
    n = len(ops)
    if n == 0:
        return None
    # Entries 1..2n are calls and returns sorted by time, a call before a return at the same
    # instant (touching ops count as concurrent); 0 is the head and 2n+1 the tail.
    events = [(op.invoke, 0, i) for i, op in enumerate(ops)]
    events += [(op.end, 1, i) for i, op in enumerate(ops)]
    events.sort()
    size = 2 * n + 2
    tail = size - 1
    nxt = list(range(1, size + 1))
    prv = list(range(-1, size - 1))
    entry_op = [0] * size
    is_call = [False] * size
    match = [0] * size
    infinite = [False] * size
    call_entry = [0] * n
    for e, (t, kind, i) in enumerate(events, start=1):
        entry_op[e] = i
        if kind == 0:
            is_call[e] = True
            call_entry[i] = e
        else:
            match[call_entry[i]] = e
            infinite[e] = t == float("inf")
    is_write = [op.kind == WRITE for op in ops]
    values = [op.value for op in ops]
    # Unlinearized reads and writes per value: a write may not bury the register's value while
    # a read of it is still to come and no other write could bring it back.
    pending_reads: dict[str | None, int] = defaultdict(int)
    pending_writes: dict[str | None, int] = defaultdict(int)
    for op in ops:
        (pending_writes if op.kind == WRITE else pending_reads)[op.value] += 1

    state = initial
    linearized = 0
    seen: set[tuple[int, str | None]] = set()
    stack: list[tuple[int, str | None]] = []
    best = (-1, 0, initial, 0)
    steps = 0
    e = nxt[0]
    while e != tail:
        steps += 1
        if deadline is not None and not steps & 0x3FFF and time.monotonic() > deadline:
            raise CheckerGaveUp(f"linearizability search on {key!r} ({n} ops) ran out of time")
        if is_call[e]:
            i = entry_op[e]
            if is_write[i]:
                new = values[i]
                if new != state and pending_reads[state] and not pending_writes[state]:
                    e = nxt[e]
                    continue
            elif values[i] == state:
                new = state
            else:
                e = nxt[e]
                continue
            config = (linearized | (1 << i), new)
            if config in seen:
                e = nxt[e]
                continue
            seen.add(config)
            stack.append((e, state))
            state = new
            linearized = config[0]
            (pending_writes if is_write[i] else pending_reads)[values[i]] -= 1
            r = match[e]
            nxt[prv[e]] = nxt[e]
            prv[nxt[e]] = prv[e]
            nxt[prv[r]] = nxt[r]
            prv[nxt[r]] = prv[r]
            e = nxt[0]
            continue
        if infinite[e]:
            return None
        if len(stack) > best[0]:
            best = (len(stack), entry_op[e], state, linearized)
        while True:
            if not stack:
                return _explain(key, ops, best, initial)
            e, state = stack.pop()
            i = entry_op[e]
            linearized &= ~(1 << i)
            (pending_writes if is_write[i] else pending_reads)[values[i]] += 1
            r = match[e]
            nxt[prv[r]] = r
            prv[nxt[r]] = r
            nxt[prv[e]] = e
            prv[nxt[e]] = e
            if is_write[i]:
                break
        e = nxt[e]
    return None


def _explain(key: str, ops: list[Op], best: tuple[int, int, str | None, int],
             initial: str | None) -> Anomaly:
    """Name the op the deepest search branch stuck on, with the few ops that pin it down.

    A stale read is the usual culprit and has a three-op proof, so the reads still pending at
    that point are searched for one first.
    """
    depth, stuck_i, state, linearized = best
    stuck = ops[stuck_i]
    writes = [op for op in ops if op.kind == WRITE]
    pending = [op for i, op in enumerate(ops) if op.kind == READ and not linearized >> i & 1]
    suspects = {state, stuck.value}
    pending.sort(key=lambda op: (op is not stuck, op.value not in suspects, op.invoke))
    covers = _Covers(writes)
    for read in pending:
        proof = covers.proof(read, initial)
        if proof:
            return Anomaly("nonlinearizable", key,
                           f"stale read: every write of {read.value!r} was followed by an "
                           f"acknowledged write of another value, completed before the read began",
                           [read, *proof])
    done = [op for i, op in enumerate(ops) if linearized >> i & 1]
    last_writes = [op for op in done if op.kind == WRITE and op.value == state][-1:]
    waiting = [op for op in pending if op.value == state][:1] if stuck.kind == WRITE else []
    concurrent = [op for i, op in enumerate(ops) if i != stuck_i
                  and op.invoke <= stuck.complete and op.end >= stuck.invoke]
    also = sorted((op for op in ops if op is not stuck and op.value == stuck.value),
                  key=lambda op: op.kind != WRITE)[:4]
    shown: list[Op] = []
    for op in [stuck, *waiting, *also, *last_writes, *concurrent]:
        if all(op is not s for s in shown) and len(shown) < 12:
            shown.append(op)
    held = f"{state!r}" + (" (initial)" if not last_writes else "")
    why = ", which a later read still has to see" if waiting else ""
    return Anomaly("nonlinearizable", key,
                   f"no linearization: at best {depth} of {len(ops)} ops fit, the register then "
                   f"holding {held}{why}, and the first op listed cannot follow them",
                   shown)


class _Covers:
    """Finds, for a write and a later read, an acknowledged write strictly between them."""

    def __init__(self, writes: list[Op]) -> None:
        self.writes = writes
        self.by_value: dict[str | None, list[Op]] = defaultdict(list)
        for w in writes:
            self.by_value[w.value].append(w)
        acked = sorted((w for w in writes if w.outcome == OK), key=lambda w: w.invoke)
        self.invokes = [w.invoke for w in acked]
        self.soonest: list[Op | None] = [None] * (len(acked) + 1)
        for i in range(len(acked) - 1, -1, -1):
            later = self.soonest[i + 1]
            self.soonest[i] = acked[i] if later is None or acked[i].complete < later.complete \
                else later

    def cover(self, source: Op | None, read: Op) -> Op | None:
        """The acknowledged write that completes first among those invoked after ``source``
        ended, if it completes before ``read`` began and wrote another value."""
        start = 0 if source is None else bisect.bisect_right(self.invokes, source.end)
        w = self.soonest[start]
        if w is None or w.complete >= read.invoke:
            return None
        if w.value != read.value:
            return w
        return next((x for x in self.writes if x.outcome == OK and x.value != read.value
                     and x.complete < read.invoke
                     and (source is None or source.end < x.invoke)), None)

    def proof(self, read: Op, initial: str | None) -> list[Op]:
        """For each write of the read's value (and the initial value if it matches), a write
        covering it; empty unless every one has one, which proves the read stale."""
        sources: list[Op | None] = list(self.by_value.get(read.value, []))
        if read.value == initial:
            sources.append(None)
        proof: list[Op] = []
        for source in sources:
            cover = self.cover(source, read)
            if cover is None:
                return []
            proof += [op for op in (source, cover) if op is not None]
        return proof[:8]


def _strictly_after(later: Op, earlier: Op) -> bool:
    return later.invoke > earlier.end


def acknowledged_lost(history: Iterable[Op], final_reads: Mapping[str, str | None],
                      initial: Mapping[str, str | None] | str | None = None) -> CheckResult:
    """Every acknowledged write must survive: the final value must come from a write that no
    acknowledged write strictly follows (an ``info`` write may land late and win).

    Every key that has an acknowledged write must be in ``final_reads``.
    """
    result = CheckResult()
    for key, ops in sorted(_by_key(history).items()):
        ok_writes = [op for op in ops if op.kind == WRITE and op.outcome == OK]
        if not ok_writes:
            continue
        if key not in final_reads:
            raise ValueError(f"no final read of {key!r}, which has acknowledged writes")
        result.keys_checked += 1
        result.ops_checked += len(ops)
        final = final_reads[key]
        sources = [op for op in ops if op.kind == WRITE and op.outcome in (OK, INFO)
                   and op.value == final]
        last_invoke = max(w.invoke for w in ok_writes)
        frontier = [w for w in ok_writes if w.complete >= last_invoke]
        if not sources:
            origin = "the initial value" if final == _initial(initial, key) else "no write"
            result.anomalies.append(Anomaly(
                "lost", key, f"the final value {final!r} is {origin}, so these acknowledged "
                f"writes (the last ones) are all lost", frontier))
            continue
        best = max(sources, key=lambda w: w.end)
        lost = [w for w in ok_writes if _strictly_after(w, best)]
        if lost:
            result.anomalies.append(Anomaly(
                "lost", key, f"the final value {final!r} comes from a write that these "
                f"acknowledged writes followed, so they are lost", [best, *lost[-5:]]))
    return result


def refused_visible(history: Iterable[Op],
                    final_reads: Mapping[str, str | None] | None = None) -> CheckResult:
    """No value of a definitely refused (``fail``) write may ever be read, finally or not.

    A value also written by an ``ok`` or ``info`` write is not evidence, so it is skipped.
    """
    result = CheckResult()
    for key, ops in sorted(_by_key(history).items()):
        result.keys_checked += 1
        result.ops_checked += len(ops)
        others = {op.value for op in ops if op.kind == WRITE and op.outcome != FAIL}
        refused = {op.value: op for op in ops
                   if op.kind == WRITE and op.outcome == FAIL and op.value not in others}
        for op in ops:
            if op.kind == READ and op.outcome == OK and op.value in refused:
                result.anomalies.append(Anomaly(
                    "refused-visible", key, f"a read returned {op.value!r}, whose write was "
                    f"refused", [refused[op.value], op]))
        final = (final_reads or {}).get(key, _MISSING)
        if final is not _MISSING and final in refused:
            result.anomalies.append(Anomaly(
                "refused-visible", key, f"the final value {final!r} is a refused write's",
                [refused[final]]))
    return result


def check_all(history: Iterable[Op], final_reads: Mapping[str, str | None] | None = None,
              initial: Mapping[str, str | None] | str | None = None,
              timeout: float | None = None) -> CheckResult:
    """Refused writes, then lost writes (with ``final_reads``), then linearizability."""
    ops = list(history)
    result = refused_visible(ops, final_reads)
    if final_reads is not None:
        result = result + acknowledged_lost(ops, final_reads, initial)
    return result + check_linearizable(ops, initial, timeout)
