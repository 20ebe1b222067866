"""Sorted sets end to end on a real ``photon serve`` through redis-py, in RESP2 and RESP3:
a leaderboard, range queries, set algebra, blocking pops woken by other clients, and data
surviving a kill -9 restart."""
from __future__ import annotations

import shutil
import threading
import time

import pytest
import redis


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, shared_photon):
    client = shared_photon.client(protocol=request.param)
    client.flushall()
    client.resp = request.param
    yield client
    client.close()


def pairs(reply):
    """redis-py gives tuples in RESP2 and lists in RESP3: compare as tuples."""
    return [tuple(p) for p in reply]


# --- a leaderboard ----------------------------------------------------------------------------

def test_leaderboard(r):
    scores = {f"player{i}": (i * 37) % 101 for i in range(50)}
    assert r.zadd("board", scores) == 50
    assert r.zcard("board") == 50
    top = pairs(r.zrevrange("board", 0, 2, withscores=True))
    expected = sorted(scores.items(), key=lambda kv: (-kv[1], [-ord(ch) for ch in kv[0]]))[:3]
    assert top == [(m.encode(), float(s)) for m, s in expected]
    # points for a game played
    assert r.zincrby("board", 15, "player3") == scores["player3"] + 15
    assert r.zscore("board", "player3") == scores["player3"] + 15
    # rank of a player, and who is near them
    rank = r.zrevrank("board", "player3")
    assert r.zrevrange("board", rank, rank) == [b"player3"]
    around = r.zrevrange("board", max(rank - 1, 0), rank + 1)
    assert b"player3" in around
    # brackets by score
    assert r.zcount("board", 50, "+inf") == sum(
        1 for m, s in scores.items() if (s + 15 if m == "player3" else s) >= 50)
    assert pairs(r.zrangebyscore("board", "(90", "+inf", withscores=True)) == sorted(
        ((m.encode(), float(s)) for m, s in
         {**scores, "player3": scores["player3"] + 15}.items() if s > 90),
        key=lambda p: (p[1], p[0]))
    # only raise a best score
    assert r.zadd("board", {"player3": 1}, gt=True, ch=True) == 0
    assert r.zadd("board", {"player3": 1000}, gt=True, ch=True) == 1
    assert r.zrevrange("board", 0, 0) == [b"player3"]
    # season end: keep the top 10
    assert r.zremrangebyrank("board", 0, -11) == 40
    assert r.zcard("board") == 10
    assert r.zrevrank("board", "player3") == 0


def test_scores_round_trip(r):
    values = {"a": 1.1, "b": -0.5, "c": float("inf"), "d": float("-inf"), "e": 1e-300,
              "f": 123456789.123, "g": 0.0}
    r.zadd("z", values)
    for m, v in values.items():
        assert r.zscore("z", m) == v
    assert r.zmscore("z", ["a", "x", "c"]) == [1.1, None, float("inf")]
    assert r.zrange("z", 0, -1) == [b"d", b"b", b"g", b"e", b"a", b"f", b"c"]
    assert r.zadd("z", {"a": 1}, incr=True) == 2.1


def test_ranges(r):
    r.zadd("z", {m: i for i, m in enumerate("abcdefghij")})
    assert r.zrange("z", 2, 4) == [b"c", b"d", b"e"]
    assert r.zrange("z", 2, 4, desc=True) == [b"h", b"g", b"f"]
    assert r.zrange("z", "(2", 4, byscore=True) == [b"d", b"e"]
    assert r.zrange("z", "+inf", "-inf", byscore=True, desc=True, offset=1, num=2) == \
        [b"i", b"h"]
    assert pairs(r.zrangebyscore("z", 3, "+inf", start=0, num=2, withscores=True)) == \
        [(b"d", 3.0), (b"e", 4.0)]
    assert r.zrevrangebyscore("z", 5, "(2") == [b"f", b"e", b"d"]
    assert r.zrank("z", "e") == 4 and r.zrevrank("z", "e") == 5
    r.zadd("lex", {m: 0 for m in ["apple", "apricot", "banana", "blueberry", "cherry"]})
    assert r.zrangebylex("lex", "[ap", "(b") == [b"apple", b"apricot"]
    assert r.zrevrangebylex("lex", "+", "[b") == [b"cherry", b"blueberry", b"banana"]
    assert r.zlexcount("lex", "[b", "(c") == 2
    assert r.zrange("lex", "[b", "+", bylex=True, offset=1, num=5) == [b"blueberry", b"cherry"]
    assert r.zrangestore("dst", "z", 0, 2) == 3
    assert r.zrange("dst", 0, -1) == [b"a", b"b", b"c"]
    assert r.zremrangebyscore("z", "-inf", "(5") == 5
    assert r.zremrangebylex("lex", "[a", "(b") == 2
    assert r.zrange("lex", 0, -1) == [b"banana", b"blueberry", b"cherry"]


def test_autocomplete_on_one_big_score(r):
    """Equal scores make the score index a member index: lex ranges seek instead of walking."""
    words = [f"word{i:05d}".encode() for i in range(3000)]
    pipe = r.pipeline(transaction=False)
    for i in range(0, len(words), 500):
        pipe.zadd("words", {w: 0 for w in words[i:i + 500]})
    pipe.execute()
    assert r.zrangebylex("words", "[word0299", "+", start=0, num=3) == \
        [b"word02990", b"word02991", b"word02992"]
    assert r.zrevrangebylex("words", "(word01000", "-", start=0, num=2) == \
        [b"word00999", b"word00998"]
    assert r.zlexcount("words", "[word01", "(word02") == 1000
    assert r.object("encoding", "words") == b"skiplist"


def test_set_algebra(r):
    r.zadd("math", {"ann": 90, "bob": 70, "cid": 85})
    r.zadd("art", {"bob": 95, "cid": 60, "dan": 80})
    r.sadd("club", "ann", "dan")
    assert pairs(r.zunion(["math", "art"], withscores=True)) == [
        (b"dan", 80.0), (b"ann", 90.0), (b"cid", 145.0), (b"bob", 165.0)]
    assert pairs(r.zinter({"math": 1, "art": 2}, aggregate="MAX", withscores=True)) == [
        (b"cid", 120.0), (b"bob", 190.0)]
    assert r.zdiff(["math", "art"]) == [b"ann"]
    assert r.zinter(["math", "club"]) == [b"ann"]
    assert r.zintercard(2, ["math", "art"]) == 2
    assert r.zintercard(2, ["math", "art"], limit=1) == 1
    assert r.zunionstore("all", ["math", "art", "club"], aggregate="MIN") == 4
    assert pairs(r.zrange("all", 0, -1, withscores=True)) == [
        (b"ann", 1.0), (b"dan", 1.0), (b"cid", 60.0), (b"bob", 70.0)]
    assert r.zinterstore("both", ["math", "art"]) == 2
    assert r.zdiffstore("only", ["art", "math"]) == 1
    assert r.zrange("only", 0, -1) == [b"dan"]
    assert r.zinterstore("none", ["math", "nokey"]) == 0
    assert r.exists("none") == 0


def test_pops_and_random(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    # without a count RESP3 replies one flat pair, RESP2 a flat list redis-py pairs up
    assert r.zpopmin("z") == ([b"a", 1.0] if r.resp == 3 else [(b"a", 1.0)])
    assert pairs(r.zpopmax("z", 2)) == [(b"d", 4.0), (b"c", 3.0)]
    assert r.zcard("z") == 1
    r.zadd("z", {"x": 10, "y": 20})
    assert r.zmpop(2, ["nokey", "z"], max=True, count=2)[0] == b"z"
    assert r.zcard("z") == 1
    member = r.zrandmember("z")
    assert member == r.zrange("z", 0, 0)[0]
    r.zadd("z", {f"m{i}": i for i in range(30)})
    assert len(set(r.zrandmember("z", 10))) == 10
    assert len(r.zrandmember("z", -50)) == 50
    seen = dict(r.zscan_iter("z", count=7))
    assert len(seen) == 31 and seen[b"m29"] == 29.0


def test_zscan_on_a_big_set(r):
    pipe = r.pipeline(transaction=False)
    for i in range(0, 5000, 1000):
        pipe.zadd("big", {f"k{j}": j for j in range(i, i + 1000)})
    pipe.execute()
    seen = {}
    for member, score in r.zscan_iter("big", count=250):
        seen[member] = score
    assert len(seen) == 5000
    assert seen[b"k4321"] == 4321.0
    assert len(list(r.zscan_iter("big", match="k12*", count=1000))) == 111


def test_errors_reach_the_client(r):
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.zadd("s", {"a": 1})
    with pytest.raises(redis.ResponseError, match="not a valid float"):
        r.execute_command("ZADD", "z", "nan", "a")
    with pytest.raises(redis.ResponseError, match="min or max is not a float"):
        r.zcount("z", "x", 1)
    r.zadd("z", {"a": float("inf")})
    with pytest.raises(redis.ResponseError, match="resulting score is not a number"):
        r.zincrby("z", float("-inf"), "a")


# --- blocking pops ----------------------------------------------------------------------------

TARGETS = ["photon"] + (["redis"] if shutil.which("redis-server") else [])


@pytest.fixture(params=TARGETS)
def node(request, shared_photon):
    """Each blocking scenario runs on photon and, when installed, on redis-server 7.0."""
    n = shared_photon if request.param == "photon" else request.getfixturevalue("redis_ref")
    c = n.client()
    c.flushall()
    c.close()
    return n


class Blocked:
    """One blocking call in a thread, on its own connection."""

    def __init__(self, node, fn, protocol: int = 2) -> None:
        self.client = node.client(protocol=protocol)
        self.result = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn) -> None:
        try:
            self.result = fn(self.client)
        except Exception as e:  # noqa: BLE001
            self.error = e

    def join(self, timeout: float = 10):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "still blocked"
        self.client.close()
        if self.error is not None:
            raise self.error
        return self.result


def wait_blocked(node, n: int, timeout: float = 5) -> None:
    c = node.client()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if c.info("clients")["blocked_clients"] >= n:
                return
            time.sleep(0.02)
        raise AssertionError(f"{n} clients never blocked")
    finally:
        c.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_bzpopmin_woken_by_zadd(node, protocol):
    r = node.client()
    w = Blocked(node, lambda c: c.bzpopmin(["q1", "q2"], timeout=10), protocol)
    wait_blocked(node, 1)
    r.zadd("q2", {"job": 5, "other": 7})
    assert tuple(w.join()) == (b"q2", b"job", 5.0)
    assert r.zrange("q2", 0, -1) == [b"other"]


def test_bzpopmax_and_bzmpop_woken(node):
    r = node.client()
    w1 = Blocked(node, lambda c: c.bzpopmax("q", timeout=10))
    wait_blocked(node, 1)
    w2 = Blocked(node, lambda c: c.bzmpop(10, 1, ["q"], min=True, count=5))
    wait_blocked(node, 2)
    r.zadd("q", {"a": 1, "b": 2, "c": 3})
    assert tuple(w1.join()) == (b"q", b"c", 3.0)  # first blocked, first served
    assert w2.join() == [b"q", [[b"a", b"1"], [b"b", b"2"]]]
    assert r.exists("q") == 0


def test_blocking_pop_timeouts(node):
    for protocol in (2, 3):
        c = node.client(protocol=protocol)
        t = time.monotonic()
        assert c.bzpopmin("none", timeout=0.2) is None
        assert c.bzmpop(0.2, 1, ["none"], min=True) is None
        assert 0.35 <= time.monotonic() - t < 3
        c.close()


def test_blocked_client_ignores_other_types_and_other_dbs(node):
    r = node.client()
    w = Blocked(node, lambda c: c.bzpopmin("q", timeout=10))
    wait_blocked(node, 1)
    r.set("q", "string now")      # another type: the waiter keeps waiting
    other_db = node.client(db=1)
    other_db.zadd("q", {"x": 1})  # same name, other database
    time.sleep(0.2)
    assert w.thread.is_alive()
    r.delete("q")
    r.zadd("q", {"y": 2})
    assert tuple(w.join()) == (b"q", b"y", 2.0)
    assert other_db.zcard("q") == 1
    other_db.close()


def test_waiter_is_served_from_the_key_that_became_ready(node):
    r = node.client()
    w = Blocked(node, lambda c: c.bzpopmin(["q1", "q2"], timeout=10))
    wait_blocked(node, 1)
    pipe = r.pipeline(transaction=True)
    pipe.zadd("q2", {"b": 2})
    pipe.zadd("q1", {"a": 1})
    pipe.execute()
    assert tuple(w.join()) == (b"q2", b"b", 2.0)
    assert r.zrange("q1", 0, -1) == [b"a"]


def test_one_member_for_two_waiters(node):
    r = node.client()
    w1 = Blocked(node, lambda c: c.bzmpop(10, 1, ["q"], max=True, count=3), protocol=3)
    wait_blocked(node, 1)
    w2 = Blocked(node, lambda c: c.bzpopmin("q", timeout=0.5))
    wait_blocked(node, 2)
    r.zadd("q", {"only": 1.5})
    assert w1.join() == [b"q", [[b"only", 1.5]]]
    assert w2.join() is None


def test_multi_pushing_and_popping_leaves_nothing_for_waiters(node):
    r = node.client()
    w = Blocked(node, lambda c: c.bzpopmin("q", timeout=1))
    wait_blocked(node, 1)
    pipe = r.pipeline(transaction=True)
    pipe.zadd("q", {"a": 1})
    pipe.zpopmin("q")
    pipe.bzpopmin("q", timeout=0)  # never blocks inside MULTI
    assert pipe.execute()[2] is None
    assert w.join() is None


# --- durability -------------------------------------------------------------------------------

def test_sorted_set_survives_kill_9(photon):
    r = photon.client()
    r.zadd("z", {f"m{i}": i / 3 for i in range(500)})
    r.zrem("z", "m7")
    r.zadd("small", {"a": 1})
    photon.restart()
    r = photon.client()
    assert r.zcard("z") == 499
    assert r.zscore("z", "m10") == 10 / 3
    assert r.zrank("z", "m8") == 7
    assert r.zrange("z", -1, -1) == [b"m499"]
    assert r.object("encoding", "z") == b"skiplist"
    assert r.object("encoding", "small") == b"listpack"


def test_reverse_ranges_whose_only_entry_opens_the_range(r):
    """On LevelDB a reverse scan must still see a range's only entry when it sits exactly at
    the range's lower bound (an empty member at the minimum score)."""
    r.zadd("z", {"": 1})
    assert r.zrevrangebylex("z", "[a", "[") == [b""]
    assert r.zrevrangebylex("z", "+", "-") == [b""]
    assert r.zrevrangebyscore("z", 1, 1) == [b""]
    assert r.zrange("z", 5, 1, byscore=True, desc=True) == [b""]
    r.zadd("z", {"b": 1})
    assert r.zrevrangebylex("z", "(b", "-") == [b""]
