"""Sorted sets side by side with a real redis-server 7.0: the same command sequences over raw
RESP2 and RESP3 connections must get byte-identical replies from photon and from Redis.

Scripted sequences cover leaderboard-style use and every error path; seeded random sequences
mix all sorted-set commands over small (listpack) and big (skiplist) sets. Only replies that
Redis makes deterministic are compared: ZRANDMEMBER with a count below the size and ZSCAN of a
big set (hash-table order in Redis) are left out.
"""
from __future__ import annotations

import random
import socket

import hiredis
import pytest

pytestmark = pytest.mark.redis_compare


def _request(args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode("latin-1") if isinstance(a, str) else a
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)


class Raw:
    """A connection returning each reply as the exact bytes the server wrote."""

    def __init__(self, port: int, resp: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")
        if resp == 3:
            self.call("HELLO", "3")

    def close(self) -> None:
        self.f.close()
        self.sock.close()

    def call(self, *args) -> bytes:
        self.sock.sendall(_request(args))
        return self.read()

    def read(self) -> bytes:
        line = self.f.readline()
        assert line.endswith(b"\r\n"), line
        kind = line[:1]
        out = line
        if kind in (b"$", b"=", b"!"):
            n = int(line[1:-2])
            if n >= 0:
                out += self.f.read(n + 2)
        elif kind in (b"*", b"~", b">", b"%"):
            n = int(line[1:-2])
            for _ in range(max(n, 0) * (2 if kind == b"%" else 1)):
                out += self.read()
        return out


class Pair:
    def __init__(self, photon_port: int, redis_port: int, resp: int) -> None:
        self.photon = Raw(photon_port, resp)
        self.redis = Raw(redis_port, resp)
        self.resp = resp
        self.check("FLUSHALL")

    def check(self, *args) -> bytes:
        want = self.redis.call(*args)
        got = self.photon.call(*args)
        assert got == want, f"{args!r} (RESP{self.resp}): redis {want!r}, photon {got!r}"
        return got

    def run(self, script: str) -> None:
        for line in script.strip().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                self.check(*line.split())

    def close(self) -> None:
        self.photon.close()
        self.redis.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def pair(request, shared_photon, redis_ref):
    p = Pair(shared_photon.port, redis_ref.port, request.param)
    yield p
    p.close()


# --- scripted sequences -----------------------------------------------------------------------

LEADERBOARD = """
ZADD board 1200 alice 950 bob 1430 carol 1100 dave 1430 erin 700 frank
ZCARD board
ZREVRANGE board 0 2 WITHSCORES
ZREVRANK board dave
ZRANK board dave
ZINCRBY board 250 bob
ZADD board GT CH 1000 alice 1500 carol
ZADD board LT 100 frank 2000 frank
ZADD board XX INCR 30 erin
ZADD board NX INCR 30 erin
ZREVRANGE board 0 -1 WITHSCORES
ZRANGE board +inf 1100 BYSCORE REV LIMIT 0 3 WITHSCORES
ZRANGE board (1100 +inf BYSCORE WITHSCORES
ZCOUNT board 1000 (1430
ZSCORE board carol
ZMSCORE board alice nobody carol
ZRANGESTORE top3 board 0 2 REV
ZRANGE top3 0 -1 WITHSCORES
ZREMRANGEBYRANK board 0 -4
ZRANGE board 0 -1 WITHSCORES
ZPOPMAX board
ZPOPMIN board 2
ZCARD board
OBJECT ENCODING board
ZUNIONSTORE season 2 board top3 WEIGHTS 1 0.5 AGGREGATE MAX
ZRANGE season 0 -1 WITHSCORES
"""

SCORES = """
ZADD s 1.1 a 0.1 b 1e20 c 123456789012345678 d -1.7976931348623157e308 e 5e-324 f
ZADD s 3.14159265358979 g 0x1p-3 h -0 i +inf j -INF k 1e-310 l 1.0000000000000002 m
ZRANGE s 0 -1 WITHSCORES
ZSCAN s 0
ZSCORE s d
ZINCRBY s 1e308 c
ZINCRBY s 1e308 c
ZINCRBY s 1e308 c
ZINCRBY s -inf j
ZINCRBY fresh -0 a
ZADD fresh INCR -0 b
ZRANGE fresh 0 -1 WITHSCORES
ZUNION 1 s WEIGHTS -0 WITHSCORES
ZUNION 1 s WEIGHTS 0 WITHSCORES
ZINTER 2 s s WEIGHTS 1 -1 WITHSCORES
ZADD s 1e999 x
ZADD s 1e-400 x
ZADD s nan x
ZADD s 0x x
ZADD s 1_0 x
ZCOUNT s 1e-400 1
ZCOUNT s -1e999 1e999
ZCOUNT s ( 1
ZCOUNT s 0x10 inf
"""

ERRORS = """
SET str x
ZADD z 1 a 2 b 3 c
ZADD z nx xx 1 a
ZADD z gt lt 1 a
ZADD z nx gt 1 a
ZADD z incr 1 a 2 b
ZADD z 1 a 2
ZADD z nx 1
ZADD str 1 a
ZADD str x a
ZINCRBY z nx a
ZINCRBY z x a
ZINCRBY str 1 a
ZRANGE z 0 -1 LIMIT 0 1
ZRANGE z 0 -1 LIMIT 0 -1
ZRANGE z 0 -1 rev rev
ZRANGE z 0 -1 byscore bylex
ZRANGE z [a + BYLEX WITHSCORES
ZRANGEBYLEX z [a + WITHSCORES
ZRANGEBYSCORE z 0 1 LIMIT 0
ZRANGEBYSCORE z 0 1 REV
ZRANGESTORE d z 0 -1 WITHSCORES
ZRANGE z x 1
ZRANGE z (x 1 BYSCORE
ZRANGE z a b BYLEX
ZRANGE str 0 1
ZCOUNT str x 1
ZLEXCOUNT str [a x
ZLEXCOUNT z - +a
ZREMRANGEBYRANK z x 1
ZREMRANGEBYSCORE z 1 nan
ZREMRANGEBYLEX z a +
ZPOPMIN z -1
ZPOPMIN z x
ZPOPMIN z 1 2
ZPOPMAX str 0
ZMPOP 0 z min
ZMPOP x z min
ZMPOP 1 z mid
ZMPOP 2 z min
ZMPOP 1 z min count 0
ZMPOP 1 z min count 1 count 1
ZMPOP 2 nokey str min
BZPOPMIN str -1
BZPOPMIN str abc
BZPOPMIN str 0
BZMPOP abc 1 z min
BZMPOP abc 0 z min
BZMPOP -1 1 z min
BZMPOP 0 1 z min count x
ZUNION 0 z
ZUNIONSTORE d 0 z
ZINTERCARD 0 z
ZINTERCARD -1 z
ZINTER x z
ZUNION 2 z
ZUNION 1 z WEIGHTS 1 2
ZUNION 1 z WEIGHTS x
ZUNION 1 z AGGREGATE avg
ZUNION 1 str WEIGHTS x
ZDIFF 1 z WEIGHTS 1
ZDIFF 1 z AGGREGATE sum
ZUNIONSTORE d 1 z WITHSCORES
ZINTERCARD 1 z LIMIT -1
ZINTERCARD 1 z LIMIT x
ZINTERCARD 1 z WITHSCORES
ZRANDMEMBER z -9223372036854775808
ZRANDMEMBER z 9223372036854775807 WITHSCORES
ZRANDMEMBER z 1 WITHSCORE
ZRANDMEMBER z x
ZRANDMEMBER str
ZSCAN z x
ZSCAN z 0 COUNT 0
ZSCAN str 0
ZSCAN nokey 0 COUNT 0
ZRANK str a
ZRANK z a withscore extra
ZREM str a
ZSCORE str a
ZMSCORE str a
ZCARD str
ZADD z
ZSCORE z
ZPOPMIN
"""

LEX = """
ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g
ZRANGEBYLEX l - +
ZRANGEBYLEX l [b (f
ZRANGEBYLEX l (b [f LIMIT 1 2
ZREVRANGEBYLEX l [f (b
ZREVRANGEBYLEX l (f [b LIMIT 1 10
ZRANGEBYLEX l [bb +
ZREVRANGEBYLEX l [dd -
ZRANGEBYLEX l + -
ZRANGEBYLEX l - -
ZRANGEBYLEX l [a (a
ZRANGEBYLEX l [a [a
ZRANGEBYLEX l [ +
ZRANGE l [c + BYLEX REV
ZRANGE l + [c BYLEX REV LIMIT 1 2
ZLEXCOUNT l (a (g
ZLEXCOUNT l - +
ZREMRANGEBYLEX l (a [c
ZRANGE l 0 -1
ZADD m 1 z 2 a 3 m 4 b 5 y
ZRANGEBYLEX m - +
ZRANGEBYLEX m [b +
ZRANGEBYLEX m - [c
ZRANGEBYLEX m (a [y
ZREVRANGEBYLEX m + [b
ZREVRANGEBYLEX m [y [b
ZLEXCOUNT m [b [z
ZRANGEBYLEX m - + LIMIT 1 9223372036854775807
ZRANGEBYLEX m - + LIMIT 9223372036854775807 1
ZREVRANGEBYLEX m + - LIMIT 3 9223372036854775807
ZRANGESTORE dst m - + BYLEX LIMIT 9223372036854775807 9223372036854775807
ZRANGEBYSCORE m -inf +inf LIMIT 1 9223372036854775807
ZREMRANGEBYLEX m [b [n
ZREMRANGEBYLEX m [m [z
EXISTS m
"""

SETOPS = """
ZADD u1 1 a 2 b 3 c
ZADD u2 10 b 20 c 30 d
SADD s1 a d x
ZUNION 2 u1 u2 WITHSCORES
ZUNION 2 u1 u2 WEIGHTS 2 3 WITHSCORES
ZUNION 2 u1 u2 AGGREGATE MIN WITHSCORES
ZUNION 3 u1 u2 s1 AGGREGATE MAX WITHSCORES
ZINTER 2 u1 u2 WITHSCORES
ZINTER 2 u1 u2 WEIGHTS 1 -1 WITHSCORES
ZINTER 2 u2 s1 WITHSCORES
ZINTER 2 s1 s1 WITHSCORES
ZDIFF 2 u1 u2 WITHSCORES
ZDIFF 2 s1 u1 WITHSCORES
ZDIFF 3 u2 nokey u1
ZINTERCARD 2 u1 u2
ZINTERCARD 2 u1 u2 LIMIT 1
ZINTERCARD 1 u1 LIMIT 2 LIMIT 3
ZADD i1 inf a -inf b
ZADD i2 -inf a inf b
ZUNION 2 i1 i2 WITHSCORES
ZINTER 2 i1 i2 WEIGHTS 0 1 WITHSCORES
ZINTER 2 i1 i2 WEIGHTS 0 0 AGGREGATE MIN WITHSCORES
ZINTER 2 i1 i2 WEIGHTS 1 0 AGGREGATE MAX WITHSCORES
ZUNIONSTORE dst 2 u1 u2 WEIGHTS 1 inf
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 u1 u2 AGGREGATE MAX
ZRANGE dst 0 -1 WITHSCORES
ZDIFFSTORE dst 1 nokey
EXISTS dst
SET str x
ZUNIONSTORE str 1 s1
TYPE str
OBJECT ENCODING str
ZUNIONSTORE u1 2 u1 u2
ZRANGE u1 0 -1 WITHSCORES
"""

POPS = """
ZADD z 1 a 2 b 3 c 4 d 5 e
ZPOPMIN z
ZPOPMIN z 1
ZPOPMAX z 2
ZPOPMIN z 0
ZPOPMIN nokey
ZPOPMIN nokey 2
ZADD z 1 a 2 b 3 c
ZMPOP 1 z MIN
ZMPOP 2 nokey z MAX COUNT 5
ZMPOP 1 z MAX
BZPOPMIN nokey 0.01
BZMPOP 0.01 1 nokey MIN
ZADD z 1 a 2 b 3 c
BZPOPMIN z 0
BZPOPMAX nokey z 0
BZMPOP 0 1 z MAX COUNT 3
EXISTS z
MULTI
BZPOPMIN z 0
BZMPOP 0 1 z MIN
ZADD z 7 q
BZPOPMAX z 0
EXEC
"""

RANDOM_DETERMINISTIC = """
ZADD z 1 a 2 b 3 c
ZRANDMEMBER z 3 WITHSCORES
ZRANDMEMBER z 10
ZRANDMEMBER z 0
ZRANDMEMBER nokey
ZRANDMEMBER nokey 5 WITHSCORES
"""


# Geo (geo.c over sorted sets): the resp-compatibility suite's cases, options and errors.
GEO = """
GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
geoadd Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2
geoadd Sicily 13.583333 37.316667 Agrigento
geodist Sicily Palermo Catania
geodist Sicily Palermo Catania km
geodist Sicily Palermo Catania ft
geodist Sicily Palermo Catania MI
geodist Sicily Palermo Catania xx
geodist Sicily Palermo Catania km x
geodist Sicily Palermo nope
geodist nokey a b
geohash Sicily Palermo Catania nope edge1 Agrigento
geohash nokey a
geopos Sicily Palermo Catania NonExisting edge2
geopos nokey a b
georadius Sicily 15 37 200 m
georadius Sicily 15 37 200 km
georadius Sicily 15 37 200 ft
georadius Sicily 15 37 200 mi
georadius Sicily 15 37 200 km withcoord
georadius Sicily 15 37 200 km withdist
georadius Sicily 15 37 200 km withhash
georadius Sicily 15 37 200 km withhash withcoord withdist asc
georadius Sicily 15 37 200 km count 1
georadius Sicily 15 37 200 km count 1 any
georadius Sicily 15 37 200 km count 2 desc
georadius Sicily 15 37 200 km asc
georadius Sicily 15 37 200 km desc
georadius Sicily 15 37 200 KM count 1
georadius Sicily 15 37 200 km store here
zrange here 0 -1 withscores
georadius Sicily 15 37 200 km storedist here
zrange here 0 -1 withscores
georadius Sicily 15 37 1 m store here
exists here
georadius Sicily 15 37 200 km store here withdist
georadius_ro Sicily 15 37 200 km store here
georadius Sicily 15 37 200 km any
georadius Sicily 15 37 200 km count 0
georadius Sicily 15 37 200 km count x
georadius Sicily 15 37 -1 km
georadius Sicily 15 37 x km
georadius Sicily 15 37 1 parsec
georadius Sicily 200 37 1 km
georadius Sicily 15 86 1 km
georadius Sicily x 37 1 km
georadius nokey 15 37 200 km
georadius nokey 15 37 200 km store here
georadiusbymember Sicily Agrigento 100 m
georadiusbymember Sicily Agrigento 100 km
georadiusbymember Sicily Agrigento 100 ft
georadiusbymember Sicily Agrigento 100 mi
georadiusbymember Sicily Agrigento 100 km withcoord withdist withhash
georadiusbymember Sicily Agrigento 100 km count 1 any
georadiusbymember Sicily Agrigento 300 km desc
georadiusbymember Sicily Agrigento 100 km store here storedist there
zrange there 0 -1 withscores
georadiusbymember Sicily nope 100 km
georadiusbymember nokey nope 100 km
georadiusbymember nokey nope 100 km store there
georadiusbymember_ro Sicily Agrigento 100 km withdist
geosearch Sicily fromlonlat 15 37 byradius 200 m
geosearch Sicily fromlonlat 15 37 byradius 200 km
geosearch Sicily fromlonlat 15 37 byradius 200 mi
geosearch Sicily fromlonlat 15 37 bybox 400 400 m
geosearch Sicily fromlonlat 15 37 bybox 400 400 km
geosearch Sicily fromlonlat 15 37 bybox 400 400 ft
geosearch Sicily fromlonlat 15 37 bybox 400 400 mi
geosearch Sicily frommember Palermo byradius 200 km
geosearch Sicily frommember Palermo bybox 400 400 km
geosearch Sicily frommember Palermo bybox 400 400 mi withdist withcoord
geosearch Sicily fromlonlat 15 37 byradius 200 km count 1
geosearch Sicily fromlonlat 15 37 byradius 200 km count 1 any
geosearch Sicily fromlonlat 15 37 byradius 200 km withcoord withdist withhash
geosearch Sicily fromlonlat 15 37 byradius 200 km desc
geosearch Sicily byradius 200 km
geosearch Sicily fromlonlat 15 37
geosearch Sicily fromlonlat 15 37 frommember Palermo byradius 1 km
geosearch Sicily fromlonlat 15 37 byradius 1 km bybox 1 1 km
geosearch Sicily fromlonlat 15 37 bybox -1 1 km
geosearch Sicily fromlonlat 15 37 bybox x 1 km
geosearch Sicily fromlonlat 15 37 bybox 1 x km
geosearch Sicily frommember nope bybox 1 1 km
geosearch Sicily fromlonlat 15 37 byradius 200 km store x
geosearch nokey frommember nope bybox 1 1 km
GEOSEARCH Sicily frommember Palermo
geosearchstore here Sicily fromlonlat 15 37 byradius 200 km
geosearchstore here Sicily fromlonlat 15 37 bybox 400 400 km storedist
zrange here 0 -1 withscores
geosearchstore here Sicily fromlonlat 15 37 byradius 200 km withdist
geosearchstore here Sicily fromlonlat 15 37 byradius 200 km count 1 any
geosearchstore here icily frommember Palermo byradius 200 mi
exists here
geoadd Sicily nx ch 13.361389 38.115556 Palermo 15 37 New
geoadd Sicily xx ch 13.361389 38.2 Palermo 15 37 New2
geoadd Sicily xx nx 13 38 Palermo
geoadd Sicily 13 38
geoadd Sicily ch ch ch
geoadd Sicily gt 13 38 x
geoadd Sicily 200 38 x
geoadd Sicily 13 x x
geoadd Sicily -180 -85.05112878 sw 180 85.05112878 ne 0 0 zero
geopos Sicily sw ne zero
geohash Sicily sw ne zero
set str x
geoadd str 1 1 a
geopos str a
georadius str 1 1 1 km
geoadd geokey 0 0 value
zadd plain 1.5 a -3 b
geopos plain a b
geohash plain a
command getkeys georadius k 1 2 3 km store a storedist b store c
command getkeys georadiusbymember k m 3 km storedist b
command getkeys georadius k 1 2 3 km store
command info georadius geosearchstore geoadd georadius_ro
"""

@pytest.mark.parametrize("script", [LEADERBOARD, SCORES, ERRORS, LEX, SETOPS, POPS,
                                    RANDOM_DETERMINISTIC, GEO],
                         ids=["leaderboard", "scores", "errors", "lex", "setops", "pops",
                              "randmember", "geo"])
def test_script(pair, script):
    pair.run(script)


def test_encodings_and_conversions(pair):
    pair.check("ZADD", "z", *sum([[str(i), f"m{i}"] for i in range(128)], []))
    pair.check("OBJECT", "ENCODING", "z")
    pair.check("ZADD", "z", "1", "x")
    pair.check("OBJECT", "ENCODING", "z")
    pair.check("ZREMRANGEBYRANK", "z", "0", "100")
    pair.check("OBJECT", "ENCODING", "z")
    pair.check("ZUNIONSTORE", "u", "1", "z")
    pair.check("OBJECT", "ENCODING", "u")
    pair.check("ZRANGESTORE", "r", "z", "0", "5")
    pair.check("OBJECT", "ENCODING", "r")
    pair.check("ZADD", "long", "1", "x" * 64)
    pair.check("OBJECT", "ENCODING", "long")
    pair.check("ZADD", "long", "1", "y" * 65)
    pair.check("OBJECT", "ENCODING", "long")
    pair.check("ZADD", "dup", *(["1", "a"] * 129))
    pair.check("OBJECT", "ENCODING", "dup")
    pair.check("ZADD", "k3", "XX", "1", "b" * 65)
    pair.check("ZADD", "k3", "1", "a")
    pair.check("ZADD", "k3", "XX", "1", "b" * 65)
    pair.check("OBJECT", "ENCODING", "k3")


def test_big_set_ranges(pair):
    """Ranks, ranges and removals on a set past the listpack limits (skiplist in Redis)."""
    members = [f"player:{i:04d}" for i in range(1500)]
    rnd = random.Random(7)
    for i in range(0, 1500, 250):
        args = []
        for m in members[i:i + 250]:
            args += [str(rnd.randint(0, 400) / 4), m]
        pair.check("ZADD", "big", *args)
    for cmd in (("ZCARD", "big"), ("ZRANGE", "big", "0", "9", "WITHSCORES"),
                ("ZRANGE", "big", "-10", "-1", "WITHSCORES"),
                ("ZRANGE", "big", "700", "710"), ("ZREVRANGE", "big", "1000", "1010"),
                ("ZRANK", "big", "player:0777"), ("ZREVRANK", "big", "player:0777"),
                ("ZCOUNT", "big", "20", "(30"),
                ("ZRANGEBYSCORE", "big", "(50", "51", "WITHSCORES"),
                ("ZREVRANGEBYSCORE", "big", "99", "-inf", "LIMIT", "100", "5"),
                ("ZRANGE", "big", "[player:0100", "(player:0110", "BYLEX"),
                ("ZLEXCOUNT", "big", "-", "+"),
                ("ZINTERCARD", "2", "big", "big"),
                ("ZREMRANGEBYSCORE", "big", "10", "20"), ("ZREMRANGEBYRANK", "big", "-50", "-1"),
                ("ZPOPMIN", "big", "3"), ("ZPOPMAX", "big", "3"),
                ("ZMPOP", "1", "big", "MIN", "COUNT", "4"),
                ("ZCARD", "big"), ("ZRANGE", "big", "0", "-1", "WITHSCORES"),
                ("OBJECT", "ENCODING", "big"), ("ZRANDMEMBER", "big", "5000", "WITHSCORES")):
        pair.check(*cmd)


def test_zscan_of_a_big_set_returns_every_member_once(pair):
    pair.check("ZADD", "big", *sum([[str(i % 17), f"m{i}"] for i in range(700)], []))
    found = {}
    for conn in (pair.photon, pair.redis):
        seen: dict[bytes, bytes] = {}
        cursor = "0"
        while True:
            reader = hiredis.Reader()
            reader.feed(conn.call("ZSCAN", "big", cursor, "COUNT", "50"))
            cursor, items = reader.gets()
            for j in range(0, len(items), 2):
                seen[items[j]] = items[j + 1]
            if cursor == b"0":
                break
        found[conn] = seen
    assert found[pair.photon] == found[pair.redis]
    assert len(found[pair.photon]) == 700


# --- seeded random sequences ------------------------------------------------------------------

def _commands(rnd: random.Random, members: list[str], n: int):
    keys = ["k1", "k2", "k3", "set", "str"]

    def k():
        return rnd.choice(keys[:3] * 3 + keys[3:])

    def m():
        return rnd.choice(members)

    def score():
        return rnd.choice(["1", "2", "-1", "0", "1.5", "inf", "-inf", "+inf", "(1", "3e2", "0.1",
                           "-0", "(2.5", str(rnd.randint(-5, 5)), repr(rnd.random())])

    def sc():
        return score().lstrip("(")

    def lex():
        return rnd.choice(["-", "+", "[a", "(a", "[c", "(e", "[ab", "[m1", "(m2", "[", "(",
                           "[j", "x"])

    def idx():
        return str(rnd.randint(-8, 8))

    def limit():
        return ["LIMIT", idx(), idx()] if rnd.random() < 0.5 else []

    def opts(*choices):
        return rnd.sample(list(choices), rnd.randint(0, len(choices)))

    makers = [
        lambda: ["ZADD", k(), *opts("NX", "XX", "GT", "LT", "CH", "INCR")[:2],
                 *sum([[sc(), m()] for _ in range(rnd.randint(1, 3))], [])],
        lambda: ["ZADD", k(), *sum([[sc(), m()] for _ in range(rnd.randint(1, 12))], [])],
        lambda: ["ZINCRBY", k(), sc(), m()],
        lambda: ["ZREM", k(), m(), m()],
        lambda: ["ZSCORE", k(), m()],
        lambda: ["ZMSCORE", k(), m(), m()],
        lambda: ["ZCARD", k()],
        lambda: ["ZCOUNT", k(), score(), score()],
        lambda: ["ZLEXCOUNT", k(), lex(), lex()],
        lambda: ["ZRANGE", k(), idx(), idx(), *opts("WITHSCORES", "REV")],
        lambda: ["ZRANGE", k(), score(), score(), "BYSCORE", *opts("WITHSCORES", "REV"),
                 *limit()],
        lambda: ["ZRANGE", k(), lex(), lex(), "BYLEX", *opts("REV"), *limit()],
        lambda: ["ZRANGESTORE", k(), k(), idx(), idx()],
        lambda: ["ZRANGESTORE", k(), k(), score(), score(), "BYSCORE", *limit()],
        lambda: ["ZREVRANGE", k(), idx(), idx(), "WITHSCORES"],
        lambda: ["ZRANGEBYSCORE", k(), score(), score(), "WITHSCORES", *limit()],
        lambda: ["ZREVRANGEBYSCORE", k(), score(), score(), *limit()],
        lambda: ["ZRANGEBYLEX", k(), lex(), lex(), *limit()],
        lambda: ["ZREVRANGEBYLEX", k(), lex(), lex()],
        lambda: ["ZRANK", k(), m()],
        lambda: ["ZREVRANK", k(), m()],
        lambda: ["ZPOPMIN", k(), *([str(rnd.randint(0, 3))] if rnd.random() < 0.5 else [])],
        lambda: ["ZPOPMAX", k(), *([str(rnd.randint(0, 3))] if rnd.random() < 0.5 else [])],
        lambda: ["ZMPOP", "2", k(), k(), rnd.choice(["MIN", "MAX"]),
                 *(["COUNT", str(rnd.randint(1, 3))] if rnd.random() < 0.5 else [])],
        lambda: ["BZPOPMIN", k(), k(), "0.01"],
        lambda: ["BZMPOP", "0.01", "2", k(), k(), rnd.choice(["MIN", "MAX"]), "COUNT", "2"],
        lambda: ["ZREMRANGEBYRANK", k(), idx(), idx()],
        lambda: ["ZREMRANGEBYSCORE", k(), score(), score()],
        lambda: ["ZREMRANGEBYLEX", k(), lex(), lex()],
        lambda: [rnd.choice(["ZUNION", "ZINTER", "ZDIFF"]), "2", k(), k(), "WITHSCORES"],
        lambda: [rnd.choice(["ZUNION", "ZINTER"]), "3", k(), k(), k(), "WEIGHTS", sc(), sc(),
                 sc(), "AGGREGATE", rnd.choice(["SUM", "MIN", "MAX"]), "WITHSCORES"],
        lambda: [rnd.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), k(), "2", k(), k()],
        lambda: ["ZINTERCARD", "2", k(), k(),
                 *(["LIMIT", str(rnd.randint(0, 3))] if rnd.random() < 0.5 else [])],
        lambda: ["ZRANDMEMBER", k(), "0"],
        lambda: ["ZRANDMEMBER", k(), "100000", "WITHSCORES"],
        lambda: ["OBJECT", "ENCODING", k()],
        lambda: ["TYPE", k()],
    ]
    for _ in range(n):
        yield rnd.choice(makers)()


SMALL_MEMBERS = list("abcdefghij") + ["", "aa", "ab", "b\x00", "\xff"]
BIG_MEMBERS = [f"m{i}" for i in range(300)] + list("abcdefghij")


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_small(pair, seed):
    pair.check("SADD", "set", "a", "b", "q")
    pair.check("SET", "str", "x")
    for argv in _commands(random.Random(seed), SMALL_MEMBERS, 600):
        pair.check(*argv)
    if pair.resp == 2:
        for key in ("k1", "k2", "k3"):
            pair.check("ZSCAN", key, "0")  # listpack: whole, in order


@pytest.mark.parametrize("seed", range(3))
def test_random_sequences_big(pair, seed):
    rnd = random.Random(100 + seed)
    for key in ("k1", "k2", "k3"):
        pair.check("ZADD", key, *sum([[str(rnd.randint(-3, 3)), m] for m in BIG_MEMBERS], []))
    for argv in _commands(rnd, BIG_MEMBERS, 600):
        if argv[0] == "ZADD" and len(argv) > 8:
            argv += sum([[str(rnd.randint(0, 9)), rnd.choice(BIG_MEMBERS)] for _ in range(40)],
                        [])
        pair.check(*argv)


@pytest.mark.parametrize("seed", range(3))
def test_geo_random_searches(pair, seed):
    """Random places around a random centre at several spreads, searched by radius and box
    with random options: unsorted replies must list places in Redis's box-scan order."""
    rnd = random.Random(500 + seed)
    for trial in range(8):
        key = f"g{trial}"
        clat, clon = rnd.uniform(-85, 85), rnd.uniform(-180, 180)
        spread = rnd.choice([0.01, 0.5, 5, 40, 180])
        args = []
        for i in range(rnd.randint(1, 40)):
            lon = max(-180, min(180, clon + rnd.uniform(-spread, spread)))
            lat = max(-85.05, min(85.05, clat + rnd.uniform(-spread, spread)))
            args += [f"{lon:.6f}", f"{lat:.6f}", f"m{i}"]
        pair.check("GEOADD", key, *args)
        for _ in range(8):
            unit = rnd.choice(["m", "km", "mi", "ft"])
            rad = f"{rnd.uniform(0, 3000) * (1000 if unit == 'm' else 1):.3f}"
            opts = rnd.choice([[], ["WITHDIST"], ["WITHCOORD", "WITHHASH"], ["ASC"], ["DESC"],
                               ["COUNT", "3"], ["COUNT", "2", "ANY"], ["WITHDIST", "DESC"]])
            member = f"m{rnd.randint(0, 3)}"
            qlon = f"{max(-180, min(180, clon + rnd.uniform(-spread, spread))):.5f}"
            qlat = f"{max(-85, min(85, clat + rnd.uniform(-spread, spread))):.5f}"
            w, h = f"{rnd.uniform(0, 3000):.2f}", f"{rnd.uniform(0, 3000):.2f}"
            pair.check("GEORADIUS", key, qlon, qlat, rad, unit, *opts)
            pair.check("GEORADIUSBYMEMBER", key, member, rad, unit, *opts)
            pair.check("GEOSEARCH", key, "FROMLONLAT", qlon, qlat, "BYBOX", w, h, "km", *opts)
            pair.check("GEODIST", key, member, f"m{rnd.randint(0, 5)}", unit)
            pair.check("GEOPOS", key, member)
            pair.check("GEOHASH", key, member)
