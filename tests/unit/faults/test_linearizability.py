"""The checkers on hand-made histories, against a brute-force oracle, and on generated ones."""
from __future__ import annotations

import random
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.faults.history import FAIL, INFO, OK, READ, WRITE, History, Op
from tests.faults.linearizability import (
    CheckerGaveUp, acknowledged_lost, check_all, check_linearizable, refused_visible,
)

W, R = Op.write, Op.read


def lin(ops: list[Op], **kw) -> bool:
    return check_linearizable(ops, **kw).ok


# -- hand-made histories ------------------------------------------------------------------


def test_empty_and_sequential_histories_pass():
    assert lin([])
    assert lin([R(0, "x", None, 0, 1)])
    assert lin([W(0, "x", "a", 0, 1), R(1, "x", "a", 2, 3), W(0, "x", "b", 4, 5),
                R(1, "x", "b", 6, 7)])


def test_stale_read_fails_and_names_the_three_ops():
    ops = [W(0, "x", "a", 0, 1), W(1, "x", "b", 2, 3), R(2, "x", "a", 4, 5)]
    result = check_linearizable(ops)
    assert not result.ok
    assert result.key == "x"
    assert "stale read" in result.message
    assert set(result.ops) == set(ops)


def test_read_of_initial_value_after_acknowledged_write_fails():
    result = check_linearizable([W(0, "x", "a", 0, 1), R(1, "x", None, 2, 3)])
    assert not result.ok and "stale read" in result.message


def test_concurrent_writes_may_land_in_either_order():
    writes = [W(0, "x", "a", 0, 10), W(1, "x", "b", 1, 9)]
    assert lin([*writes, R(2, "x", "a", 11, 12)])
    assert lin([*writes, R(2, "x", "b", 11, 12)])
    assert lin([*writes, R(2, "x", "a", 2, 3), R(3, "x", "b", 4, 5)])
    assert lin([*writes, R(2, "x", "b", 2, 3), R(3, "x", "a", 4, 5)])
    assert not lin([*writes, R(2, "x", "a", 11, 12), R(3, "x", "b", 13, 14)])


def test_reads_concurrent_with_a_write_may_see_old_then_new_but_not_back():
    w = W(0, "x", "a", 0, 10)
    assert lin([w, R(1, "x", None, 1, 2), R(1, "x", "a", 3, 4)])
    assert not lin([w, R(1, "x", "a", 1, 2), R(1, "x", None, 3, 4)])


def test_lost_acknowledged_write_is_not_linearizable_and_is_lost():
    ops = [W(0, "x", "a", 0, 1), W(1, "x", "b", 2, 3), R(2, "x", "a", 10, 11)]
    assert not lin(ops)
    lost = acknowledged_lost(ops, {"x": "a"})
    assert not lost.ok and lost.anomalies[0].kind == "lost"
    assert ops[1] in lost.ops
    assert acknowledged_lost(ops[:2], {"x": "b"}).ok


def test_final_value_from_nowhere_or_initial_loses_the_last_acknowledged_writes():
    ops = [W(0, "x", "a", 0, 1), W(1, "x", "b", 2, 5), W(2, "x", "c", 3, 4)]
    for final in (None, "zzz"):
        result = acknowledged_lost(ops, {"x": final})
        assert not result.ok and set(result.ops) == {ops[1], ops[2]}
    assert acknowledged_lost(ops, {"x": "b"}).ok and acknowledged_lost(ops, {"x": "c"}).ok
    with pytest.raises(ValueError):
        acknowledged_lost(ops, {})


def test_read_of_refused_write_is_caught_by_both_checks():
    ops = [W(0, "x", "a", 0, 1), W(1, "x", "b", 2, 3, FAIL, error="READONLY"),
           R(2, "x", "b", 4, 5)]
    result = check_linearizable(ops)
    assert not result.ok and "refused" in result.message
    visible = refused_visible(ops)
    assert not visible.ok and visible.anomalies[0].kind == "refused-visible"
    assert not refused_visible(ops[:2], {"x": "b"}).ok
    assert refused_visible(ops[:2], {"x": "a"}).ok
    assert lin(ops[:2] + [R(2, "x", "a", 4, 5)])


def test_info_write_may_appear_late_or_never():
    w = W(0, "x", "a", 0, 1, INFO, error="TimeoutError")
    assert lin([w, R(1, "x", None, 2, 3), R(1, "x", "a", 100, 101)])
    assert lin([w, R(1, "x", None, 2, 3), R(1, "x", None, 100, 101)])
    assert not lin([w, R(1, "x", "a", 2, 3), R(1, "x", None, 100, 101)])
    assert acknowledged_lost([w], {"x": None}).ok


def test_info_write_landing_after_a_later_acknowledged_write_is_allowed():
    ops = [W(0, "x", "a", 0, 1, INFO), W(1, "x", "b", 5, 6), R(2, "x", "b", 7, 8),
           R(2, "x", "a", 9, 10)]
    assert lin(ops)
    assert acknowledged_lost(ops, {"x": "a"}).ok
    assert not lin([*ops, R(2, "x", "b", 11, 12)])


def test_info_write_cannot_take_effect_before_it_was_invoked():
    ops = [R(0, "x", "a", 0, 1), W(1, "x", "a", 2, 3, INFO)]
    result = check_linearizable(ops)
    assert not result.ok and "before any write" in result.message


def test_failed_and_unknown_reads_constrain_nothing():
    ops = [W(0, "x", "a", 0, 1), R(1, "x", None, 2, 3, INFO), R(1, "x", None, 4, 5, FAIL)]
    assert lin(ops)


def test_repeated_values_may_be_overwritten_and_restored():
    ops = [W(0, "x", "a", 0, 1), W(0, "x", "b", 2, 3), R(1, "x", "b", 4, 5),
           W(0, "x", "a", 6, 7), R(1, "x", "a", 8, 9)]
    assert lin(ops)
    assert not lin(ops[:3] + [R(1, "x", "a", 8, 9)])


def test_touching_intervals_count_as_concurrent():
    assert lin([W(0, "x", "a", 0, 1), W(1, "x", "b", 1, 2), R(2, "x", "a", 3, 4)])


def test_keys_are_checked_independently_and_initial_values_apply():
    ops = [W(0, "x", "a", 0, 1), R(1, "y", "old", 2, 3), R(1, "x", "a", 2, 3)]
    assert not lin(ops)
    assert lin(ops, initial={"y": "old"})
    result = check_linearizable(ops)
    assert result.key == "y" and result.keys_checked == 2


def test_explanation_without_a_simple_pattern_shows_the_ops_in_conflict():
    ops = [W(0, "x", "a", 0, 3), W(1, "x", "b", 1, 4), R(2, "x", "a", 5, 6),
           R(3, "x", "b", 5, 6)]
    result = check_linearizable(ops)
    assert not result.ok and "no linearization" in result.message
    assert set(result.ops) == set(ops)
    assert len(str(result).splitlines()) == 5


def test_check_all_combines_and_reports_every_anomaly():
    ops = [W(0, "x", "a", 0, 1), W(1, "x", "b", 2, 3), W(1, "x", "c", 2, 3, FAIL),
           R(2, "x", "c", 4, 5)]
    result = check_all(ops, {"x": "a"})
    assert {a.kind for a in result.anomalies} == {"refused-visible", "lost", "nonlinearizable"}
    assert check_all(ops[:2] + [R(2, "x", "b", 4, 5)], {"x": "b"}).ok


def test_time_budget_raises_rather_than_passing():
    # Thirty blind concurrent writes and two contradicting reads: every order must be tried.
    ops = [W(i, "x", f"v{i}", 0, 100) for i in range(30)]
    ops += [R(40, "x", "v0", 101, 102), R(40, "x", "v1", 103, 104)]
    with pytest.raises(CheckerGaveUp):
        check_linearizable(ops, timeout=0.2)


# -- a brute-force oracle on small histories ----------------------------------------------


def brute_force(ops: list[Op], initial=None) -> bool:
    """Try every order: ok ops must all be placed, info writes may be, nothing else counts."""
    must = [o for o in ops if o.outcome == OK]
    may = [o for o in ops if o.kind == WRITE and o.outcome == INFO]
    todo = must + may

    def ready(o: Op, placed: frozenset[int]) -> bool:
        return all(j in placed for j, p in enumerate(todo) if p.end < o.invoke and p in must)

    def go(placed: frozenset[int], state) -> bool:
        if all(j in placed for j, o in enumerate(todo) if o in must):
            return True
        for j, o in enumerate(todo):
            if j in placed or not ready(o, placed):
                continue
            if o.kind == READ and o.value != state:
                continue
            if go(placed | {j}, o.value if o.kind == WRITE else state):
                return True
        return False

    return go(frozenset(), initial)


small_ops = st.lists(
    st.tuples(st.sampled_from([WRITE, WRITE, READ]), st.sampled_from(["a", "b", "c", None]),
              st.integers(0, 12), st.integers(0, 6),
              st.sampled_from([OK, OK, OK, INFO, FAIL])),
    min_size=1, max_size=7)


@settings(max_examples=400, deadline=None)
@given(small_ops)
def test_checker_agrees_with_brute_force(rows):
    ops = []
    for p, (kind, value, start, length, outcome) in enumerate(rows):
        if kind == WRITE:
            ops.append(W(p, "x", value or "a", start, start + length, outcome))
        else:
            ops.append(R(p, "x", value, start, start + length, outcome))
    assert lin(ops) == brute_force(ops), ops


# -- generated histories: correct by construction, then corrupted --------------------------


def register_history(rng: random.Random, n: int, processes: int, info_rate: float = 0.05,
                     late: float = 3.0, key: str = "x") -> list[Op]:
    """Processes run ops back to back; each takes effect at a random instant inside its
    interval (an unknown write up to ``late`` after it), and the register answers reads in
    that order, so the history is linearizable by construction."""
    clocks = [rng.uniform(0, 1) for _ in range(processes)]
    planned = []
    for i in range(n):
        p = rng.randrange(processes)
        invoke = clocks[p] + rng.expovariate(2.0)
        complete = invoke + rng.expovariate(1.0)
        clocks[p] = complete
        kind = WRITE if rng.random() < 0.5 else READ
        outcome = INFO if kind == WRITE and rng.random() < info_rate else OK
        point = rng.uniform(invoke, complete + (late if outcome == INFO else 0.0))
        planned.append((point, i, p, kind, invoke, complete, outcome))
    planned.sort()
    state = None
    ops = []
    for point, i, p, kind, invoke, complete, outcome in planned:
        if kind == WRITE:
            state = f"p{p}-{i}"
            ops.append(W(p, key, state, invoke, complete, outcome))
        else:
            ops.append(R(p, key, state, invoke, complete))
    for j in range(max(1, n // 20)):
        invoke = rng.uniform(0, clocks[0])
        outcome = rng.choice([INFO, FAIL])
        ops.append(W(1000 + j, key, f"lost-{j}", invoke, invoke + 0.5, outcome))
    ops.sort(key=lambda o: o.invoke)
    return ops


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(2, 120), st.integers(1, 6))
def test_generated_register_histories_pass(seed, n, processes):
    ops = register_history(random.Random(seed), n, processes)
    assert check_linearizable(ops).ok
    assert refused_visible(ops).ok


def stale_read_triples(ops: list[Op]):
    writes = [o for o in ops if o.kind == WRITE and o.outcome == OK]
    for r in ops:
        if r.kind != READ or r.outcome != OK:
            continue
        for w2 in writes:
            if w2.complete >= r.invoke or w2.value == r.value:
                continue
            for w1 in writes:
                if w1.complete < w2.invoke:
                    yield r, w1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.integers(0, 2**32), st.integers(10, 150), st.integers(1, 5),
       st.sampled_from(["stale", "future", "refused", "garbage"]))
def test_corrupted_read_is_caught(seed, n, processes, corruption):
    rng = random.Random(seed)
    ops = register_history(rng, n, processes)
    reads = [i for i, o in enumerate(ops) if o.kind == READ]
    assume(reads)
    if corruption == "stale":
        triples = list(stale_read_triples(ops))
        assume(triples)
        r, w1 = rng.choice(triples)
        i, value = ops.index(r), w1.value
    elif corruption == "future":
        later = [(i, w) for i in reads for w in ops
                 if w.kind == WRITE and w.outcome != FAIL and w.invoke > ops[i].complete]
        assume(later)
        i, w = rng.choice(later)
        value = w.value
    elif corruption == "refused":
        refused = [o for o in ops if o.outcome == FAIL]
        assume(refused)
        i, value = rng.choice(reads), rng.choice(refused).value
    else:
        i, value = rng.choice(reads), "never-written"
    r = ops[i]
    ops[i] = R(r.process, r.key, value, r.invoke, r.complete)
    result = check_linearizable(ops)
    assert not result.ok
    assert ops[i] in result.ops


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(5, 100), st.integers(1, 5))
def test_final_value_of_a_generated_history_loses_nothing(seed, n, processes):
    rng = random.Random(seed)
    ops = register_history(rng, n, processes, info_rate=0.0)
    ok_writes = [o for o in ops if o.kind == WRITE and o.outcome == OK]
    assume(ok_writes)
    reads = [o for o in ops if o.kind == READ]
    final = reads[-1].value if reads and reads[-1].invoke > max(o.end for o in ok_writes) \
        else None
    last = max(ok_writes, key=lambda o: o.complete)
    overwritten = [w for w in ok_writes if any(x.invoke > w.complete for x in ok_writes)]
    if final is not None:
        assert acknowledged_lost(ops, {"x": final}).ok
    assert acknowledged_lost(ops, {"x": last.value}).ok or \
        any(x.invoke > last.complete for x in ok_writes)
    if overwritten:
        assert not acknowledged_lost(ops, {"x": overwritten[0].value}).ok


def test_thousands_of_ops_per_key_in_seconds():
    rng = random.Random(7)
    ops = []
    for key in ("k0", "k1"):
        ops += register_history(rng, 3000, 8, info_rate=0.1, late=30.0, key=key)
    history = History(sorted(ops, key=lambda o: o.invoke))
    start = time.monotonic()
    result = check_linearizable(history)
    elapsed = time.monotonic() - start
    assert result.ok, result
    assert result.ops_checked == len(ops)
    assert elapsed < 10, elapsed
    i = next(i for i, o in enumerate(history.ops) if o.kind == READ and o.key == "k1"
             and o.value is not None and o.invoke > 500)
    r = history.ops[i]
    history.ops[i] = R(r.process, r.key, "p0-0-nope", r.invoke, r.complete)
    assert not check_linearizable(history).ok
