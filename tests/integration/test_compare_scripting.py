"""Scripting side by side with a real redis-server 7.0.15: the same EVAL / EVALSHA / SCRIPT /
FUNCTION / FCALL requests over raw RESP (RESP2 and RESP3) must get byte-identical replies.

Normalised where Redis's reply is not deterministic: FUNCTION LIST walks Redis's dictionaries
(randomly seeded hashing), so libraries and functions are compared as sorted entries.
"""
from __future__ import annotations

import hiredis
import pytest

from tests.integration.resp import RawConn

pytestmark = pytest.mark.redis_compare


def decode(raw: bytes):
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def _sorted_deep(v):
    if isinstance(v, list):
        items = [_sorted_deep(x) for x in v]
        try:
            return sorted(items, key=repr)
        except TypeError:
            return items
    if isinstance(v, dict):
        return {k: _sorted_deep(x) for k, x in v.items()}
    return v


def unordered(raw: bytes):
    """FUNCTION LIST: the same entries, in any order."""
    return _sorted_deep(decode(raw))


class Pair:
    def __init__(self, photon_port: int, redis_port: int, resp: int = 2) -> None:
        self.p = RawConn(photon_port)
        self.r = RawConn(redis_port)
        self.mismatches: list[str] = []
        self.resp = resp
        if resp == 3:
            self.p.call("HELLO", "3")
            self.r.call("HELLO", "3")

    def close(self) -> None:
        self.p.close()
        self.r.close()

    def check(self, *args, norm=None) -> bytes:
        p, r = self.p.call(*args), self.r.call(*args)
        same = norm(p) == norm(r) if norm is not None else p == r
        if not same:
            self.mismatches.append(f"resp{self.resp} {args!r}:\n    photon {p!r}\n"
                                   f"    redis  {r!r}")
        return p

    def run(self, cases) -> None:
        for case in cases:
            if isinstance(case, dict):
                self.check(*case["cmd"], norm=case.get("norm"))
            else:
                self.check(*case)

    def assert_same(self) -> None:
        if self.mismatches:
            pytest.fail(f"{len(self.mismatches)} replies differ from Redis:\n"
                        + "\n".join(self.mismatches), pytrace=False)


@pytest.fixture
def pair(shared_photon, redis_ref):
    pairs = []

    def make(resp: int = 2) -> Pair:
        p = Pair(shared_photon.port, redis_ref.port, resp)
        pairs.append(p)
        p.check("FLUSHALL")
        p.check("SCRIPT", "FLUSH")
        p.check("FUNCTION", "FLUSH")
        return p

    yield make
    for p in pairs:
        p.close()


def E(script: str, *args) -> tuple:
    """EVAL with the keys given as a list first: E(s, ["k"], "a")."""
    keys = list(args[0]) if args and isinstance(args[0], list) else []
    rest = args[1:] if args and isinstance(args[0], list) else args
    return ("EVAL", script, str(len(keys)), *keys, *rest)


# --- Lua values to replies ----------------------------------------------------------------------

RETURNS = [
    E("return 1"), E("return -7"), E("return 1.9"), E("return -1.9"), E("return 0.5"),
    E("return 3.99e20"), E("return -3.99e20"), E("return 2^53"), E("return 2^63"),
    E("return -2^63"), E("return 1/0"), E("return -1/0"), E("return 0/0"),
    E("return 'hello'"), E("return ''"), E("return 'a\\0b'"), E("return '\\255\\254'"),
    E("return true"), E("return false"), E("return nil"), E("return"),
    E("return {}"), E("return {1, 2, 3}"), E("return {1, 2, nil, 4}"),
    E("return {1, 'a', {2, 3}, true, false}"), E("return {1, {2, {3, {4, nil, 5}}}, 6}"),
    E("return {nil, 1}"), E("return {a = 1, b = 2}"), E("return {1, 2, a = 3}"),
    E("return {[1] = 'x', [3] = 'z'}"), E("return {1.5, -2.5, 1e30}"),
    E("return {ok = 'fine'}"), E("return {ok = 'a\\r\\nb'}"), E("return {ok = 1}"),
    E("return {err = 'bad thing'}"), E("return {err = 'ERR bad thing'}"),
    E("return {err = 'a\\r\\nb'}"), E("return {err = 'trailing\\r\\n'}"), E("return {err = 1}"),
    E("return {err = ''}"), E("return {err = '-X y'}"),
    E("return {1, {err = 'inner'}, {ok = 'fine'}, 3}"), E("return {err = 'e', ok = 'o'}"),
    E("return {double = 3.5}"), E("return {double = 1/0}"), E("return {double = -1/0}"),
    E("return {double = 'x'}"), E("return {double = 3}"), E("return {1, {double = 0.1}}"),
    E("return {map = {a = 1}}"), E("return {map = {}}"), E("return {map = {[1] = 'x'}}"),
    E("return {set = {a = true}}"), E("return {set = {}}"),
    E("return {big_number = '123456789012345678901234567890'}"),
    E("return {big_number = 'a\\r\\nb'}"),
    E("return {verbatim_string = {format = 'txt', string = 'hello'}}"),
    E("return {verbatim_string = {format = 'mkd', string = 'x'}}"),
    E("return {verbatim_string = {format = 'ab', string = 'x'}}"),
    E("return {verbatim_string = {format = 'abcd', string = 'x'}}"),
    E("return {verbatim_string = {format = 1, string = 'x'}}"),
    E("return {verbatim_string = 'x'}"),
    E("return function() end"), E("return {function() end, 1}"), E("return coroutine.create(print or type)"),
    E("return cjson.null"), E("return {cjson.null}"),
    E("redis.setresp(3) return true"), E("redis.setresp(3) return false"),
    E("redis.setresp(3) return {true, false, nil}"), E("redis.setresp(3) return nil"),
    E("redis.setresp(3) return {double = 2.5}"), E("redis.setresp(2) return false"),
    E("return redis.status_reply('FINE')"), E("return redis.error_reply('My Error')"),
    E("return redis.error_reply('-My Error')"), E("return redis.error_reply('x')"),
    E("return redis.error_reply('a\\r\\nb c\\r\\n')"), E("return redis.error_reply()"),
    E("return redis.error_reply(1)"), E("return redis.status_reply(1)"),
    E("return redis.status_reply('a', 'b')"),
    E("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", ["k1", "k2"], "a1", "a2"),
    E("return {KEYS[1], ARGV[1]}", [], "only-argv"), E("return #ARGV", [], "", "", ""),
]

# --- replies to Lua values ----------------------------------------------------------------------

SETUP = [
    ("HSET", "h", "f1", "v1", "f2", "v2"), ("SADD", "st", "m1", "m2"),
    ("ZADD", "z", "1.5", "a", "2", "b"), ("RPUSH", "l", "a", "b", "c"), ("SET", "s", "text"),
    ("SET", "n", "10"), ("ZADD", "z1", "1.5", "only"),
]

CALLS = SETUP + [
    E("return redis.call('get', 's')"), E("return redis.call('get', 'missing')"),
    E("return type(redis.call('get', 'missing'))"), E("return redis.call('incr', 'n')"),
    E("return redis.call('hgetall', 'h')"), E("return redis.call('lrange', 'l', 0, -1)"),
    E("return redis.call('zrange', 'z', 0, -1, 'withscores')"),
    E("return redis.call('zscore', 'z', 'a')"), E("return redis.call('incrbyfloat', 'n', 1.5)"),
    E("return redis.call('ping')"), E("return type(redis.call('ping'))"),
    E("return redis.call('ping').ok"), E("return redis.call('set', 'x', 'y')"),
    E("return redis.call('mget', 's', 'missing', 'n')"), E("return redis.call('exists', 's')"),
    E("return redis.call('echo', 2^63)"), E("return redis.call('echo', 1/0)"),
    E("return redis.call('echo', 0.1)"), E("return redis.call('echo', 123456789012345)"),
    E("return redis.call('echo', 3.14159265358979)"), E("return redis.call('echo', 1e100)"),
    E("return redis.call('set', 'f', 1.5) and redis.call('get', 'f')"),
    E("return redis.call('GET', 's')"), E("return redis.call('Get', 's', 'x')"),
    E("redis.setresp(3) return redis.call('hgetall', 'h')"),
    E("redis.setresp(3) local r = redis.call('hgetall', 'h') return {type(r), type(r.map), "
      "r.map.f1}"),
    E("redis.setresp(3) return redis.call('smembers', 'st')"),
    E("redis.setresp(3) local r = redis.call('smembers', 'st') return {tostring(r.set.m1), "
      "tostring(r.set.zz)}"),
    E("redis.setresp(3) return redis.call('zscore', 'z', 'a')"),
    E("redis.setresp(3) return tostring(redis.call('zscore', 'z', 'a').double)"),
    E("redis.setresp(3) return redis.call('get', 'missing')"),
    E("redis.setresp(3) return {redis.call('get', 'missing')}"),
    E("redis.setresp(3) return type(redis.call('get', 'missing'))"),
    E("redis.setresp(3) return redis.call('mget', 's', 'missing', 'n')"),
    E("redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')"),
    E("redis.setresp(3) return redis.call('zrandmember', 'z1', 1, 'withscores')"),
    E("redis.setresp(3) return redis.call('set', 'x', 'y')"),
    E("redis.setresp(3) return redis.call('lpos', 'l', 'nope')"),
    E("redis.setresp(3) return redis.call('zadd', 'z', 'incr', 'xx', '1', 'nope')"),
    E("redis.setresp(3) return redis.call('config', 'get', 'nope')"),
    E("redis.setresp(2) return redis.call('hgetall', 'h')"),
    E("local t = redis.call('hgetall', 'h') local out = {} for i, v in ipairs(t) do "
      "out[#out + 1] = v end return out"),
]

# --- errors ---------------------------------------------------------------------------------------

ERRORS = SETUP + [
    E("return redis.call('incr', 's')"), E("return redis.pcall('incr', 's')"),
    E("local r = redis.pcall('incr', 's') return {type(r), r.err}"),
    E("return redis.call('incr', 'x', 'y')"), E("return redis.call('nosuch')"),
    E("return redis.call()"), E("return redis.pcall()"), E("return redis.call(1)"),
    E("return redis.call({})"), E("return redis.pcall({})"),
    E("return redis.call('get', {})"), E("return redis.call('get', true)"),
    E("return redis.call('get', nil)"), E("return redis.call('config', 'nosub')"),
    E("return redis.call('config')"), E("return redis.pcall('nosuch')"),
    E("return tostring(redis.pcall('nosuch').err)"),
    E("return redis.call('eval', 'return 1', '0')"), E("return redis.call('multi')"),
    E("return redis.call('blpop', 'l', '0')"), E("return redis.call('subscribe', 'ch')"),
    E("return redis.call('script', 'load', 'return 1')"),
    E("return redis.call('function', 'list')"), E("return redis.call('fcall', 'x', 0)"),
    E("return redis.call('select', 100)"), E("return redis.pcall('select', 100)"),
    E("error('boom')"), E("error('boom', 0)"), E("error('boom', 2)"), E("error({err = 'boom'})"),
    E("error({err = 'ERR boom'})"), E("error(12)"), E("error()"), E("error(true)"),
    E("error({err = 5})"), E("error({err = 'x', source = '@foo', line = 7})"),
    E("error('a\\nb')"), E("error({err = 'a\\nb'})"), E("error(redis.error_reply('E x'))"),
    E("\n\nlocal x = 1\nerror('third')"), E("local function f()\n  error('in f')\nend\nf()"),
    E("local function f()\n  return redis.call('nosuch')\nend\nreturn f()"),
    E("local function f()\n  redis.call('nosuch')\nend\nf()"),
    E("return 1 +"), E("return 1 end"), E("return select('#', ...)"), E("x = 1"),
    E("return y"), E("local t = {} t.x.y = 1"), E("return #nil"), E("return 1 + {}"),
    E("return ('x'):bad()"), E("return string.rep()"), E("return math.floor('a')"),
    E("for k in pairs(nil) do end"), E("table.insert(nil, 1)"), E("rawset(nil, 1, 2)"),
    E("setmetatable(1, {})"), E("local x = next(nil)"), E("local x = rawget(nil, 1)"),
    E("return tonumber()"), E("return unpack(1)"), E("return ('x'):rep(1, 2, 3)"),
    ("EVAL", "return 1", "-1"), ("EVAL", "return 1", "2", "a"), ("EVAL", "return 1", "x"),
    ("EVAL", "return 1", "1.5"), ("EVAL", "return 1", " 1"), ("EVAL", "return 1 +", "-1"),
    ("EVAL", "return 1"), ("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"),
    ("EVALSHA", "fff", "0"), ("EVALSHA_RO", "ffffffffffffffffffffffffffffffffffffffff", "0"),
    ("EVAL_RO", "return redis.call('set', 'a', 'b')", "0"),
    ("EVAL_RO", "return redis.call('get', 's')", "0"),
    ("EVAL_RO", "return redis.pcall('set', 'a', 'b')", "0"),
    E("#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')"),
    E("#!lua flags=no-writes\nreturn redis.call('get', 's')"),
    E("#!lua\nreturn redis.call('set', 'a', 'b')"), E("#!lua flags=bogus\nreturn 1"),
    E("#!luax\nreturn 1"), E("#!lua name=x\nreturn 1"), E("#!lua"), E("#!lua flags=\nreturn 1"),
    E("#!lua flags=no-writes,\nreturn 1"), E("#!lua  flags=no-writes,allow-oom\nreturn 2"),
    E("#!lua flags=no-writes,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 3"),
    E("#!lua flags=NO-WRITES\nreturn 1"), E("#!lua\nerror('second line')"),
    ("EVAL_RO", "#!lua\nreturn 1", "0"), ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"),
    E("error(setmetatable({}, {__newindex = function() error('x') end}))"), E("error(redis)"),
    E("local co = coroutine.wrap(function() error('inner') end) co()"),
    E("local co = coroutine.wrap(function() redis.call('nosuch') end) co()"),
    E("return cjson.decode('{')"), E("local x = cjson.decode('{')"),
    E("return {pcall(cjson.decode, '{')}"), E("return {pcall(function(a) error('lvl2', 2) end, 1)}"),
    E("return {pcall(function() error('lvl2', 2) end)}"),
    E("local function f() error('lvl2', 2) end\nlocal function g()\n f()\nend\ng()"),
    E("return {pcall(function(a) return cjson.decode(a) end, '{')}"),
    E("return {pcall(function(a) local x = cjson.decode(a) return x end, '{')}"),
    E("return {pcall(function(a) return bit.band(a) end, 'x')}"),
    E("return {pcall(function(a) return math.random(a) end, 0)}"),
    E("return {xpcall(function() return struct.pack('q') end, function(e) return e end)}"),
    E("local ok, e = pcall(function(a) redis.call(a) end, 'nosuch') return e"),
    E("return redis.status_reply('a\\0b')"), E("return redis.error_reply('a\\0b')"),
    E("return {err = 'a\\0b'}"), E("return {ok = 'a\\0b'}"), E("error('a\\0b')"),
    E("return {1, 2, {err = 'x\\0y'}}"), E("return string.rep('x', -1)"),
]

# --- the sandbox ----------------------------------------------------------------------------------

SANDBOX = [
    E("local t = {} for k in pairs(_G) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(redis) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(string) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(table) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(math) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(coroutine) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(cjson) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(bit) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(struct) do t[#t + 1] = k end table.sort(t) return t"),
    E("local t = {} for k in pairs(cmsgpack) do t[#t + 1] = k end table.sort(t) return t"),
    E("return type(os)"), E("return type(io)"), E("return type(require)"),
    E("return type(loadstring)"), E("return type(load)"), E("return type(dofile)"),
    E("return type(print)"), E("return type(debug)"), E("return type(module)"),
    E("return type(package)"), E("return type(newproxy)"), E("return type(getfenv)"),
    E("return type(setfenv)"), E("return type(gcinfo)"), E("return type(string.dump)"),
    E("return {type(redis.call), type(redis.pcall), type(redis.log)}"),
    E("return redis.nokey"), E("return _VERSION"), E("return _G._G == _G"),
    E("return rawget(_G, 'nothere')"), E("return rawget(_G, 'redis') == redis"),
    E("rawset(_G, 'zz', 1) return zz"), E("string.foo = 1 return 1"),
    E("redis.call = nil return 1"), E("local f = function() x = 5 end f() return 1"),
    E("return _G.nothere"), E("return _G[1]"), E("return _G[true]"),
    E("setmetatable(_G, nil) return 1"), E("return getmetatable(_G) == nil"),
    E("local m = getmetatable(_G) return type(m.__index)"),
    E("local m = getmetatable(_G) m.__index = nil return 1"),
    E("return getmetatable(string)"), E("return next(_G) ~= nil"), E("_G.KEYS = 1 return 1"),
    E("KEYS[1] = 'x' return KEYS[1]", ["k"]), E("table.insert(string, 1)"), E("table.insert(_G, 1) return 1"),
    E("table.remove(redis) return 1"), E("table.sort(math) return 1"),
    E("return tostring(getmetatable('').__index == string)"),
    E("return getmetatable('').__index.upper('x')"), E("getmetatable('').__index = nil return 1"),
    E("return ('abc'):upper()"), E("local t = setmetatable({}, {__index = function() return 7 "
                                     "end}) return t.x"),
    E("return pcall(function() error('x') end)"), E("return {pcall(function() error('x') end)}"),
    E("return {pcall(redis.call, 'incr', 'x', 'y')}"),
    E("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), type(e), tostring(e)}"),
    E("local ok, e = pcall(error, {err = 'a'}) return {tostring(ok), type(e), e}"),
    E("local ok, e = pcall(error, {err = 5}) return {tostring(ok), type(e)}"),
    E("local ok, e = pcall(error, {x = 5}) return {tostring(ok), type(e)}"),
    E("local ok, e = pcall(function() redis.call('nosuch') end) return {tostring(ok), e}"),
    E("local ok, e = pcall(function() return cjson.decode('{') end) return {tostring(ok), e}"),
    E("local ok, e = pcall(cjson.decode, '{') return {tostring(ok), e}"),
    E("return {pcall(function(...) return select('#', ...) end, 1, nil, 3)}"),
    E("return {pcall(nil)}"), E("return {pcall(nil, 1)}"), E("return {pcall(redis.call)}"),
    E("return {xpcall(function() error('x') end, function(e) return 'H:' .. e end)}"),
    E("local ok, e = xpcall(function() redis.call('nosuch') end, function(e) return e end) "
      "return {tostring(ok), type(e), e.err}"),
    E("return {loadstring('return 1 +')}"), E("return loadstring('return 5')()"),
    E("return {loadstring('return x', 'chunk')}"),
    E("local f = loadstring('return x') return f()"),
    E("local f = loadstring('y = 5') f() return 1"),
    E("local f = loadstring('return ARGV[1]') return f()", [], "a1"),
    E("return {load(function() return nil end)}"),
    E("local parts = {'return ', '4'} local i = 0 return load(function() i = i + 1 "
      "return parts[i] end)()"),
    E("return {loadstring(string.dump(function() return 1 end))}"),
    E("return coroutine.wrap(function() coroutine.yield(5) end)()"),
    E("local co = coroutine.create(function() x = 1 end) return {coroutine.resume(co)}"),
    E("local co = coroutine.create(function() redis.call('nosuch') end) "
      "local ok, e = coroutine.resume(co) return {tostring(ok), type(e), e.err}"),
    E("local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 "
      "end) return {co(1), co(10)}"),
    E("return string.format('%d %s %5.2f %q', 3.7, 'x', 1.2345, 'a\"b')"),
    E("return {string.find('hello world', 'o w')}"), E("return string.gsub('abc', 'b', 'X')"),
    E("return {string.byte('ABC', 1, 3)}"), E("return string.char(72, 105)"),
    E("return tostring(1e15)"), E("return tostring(0.1)"), E("return tostring(-0)"),
    E("return tostring(2^53)"), E("return tonumber('0x10')"), E("return tonumber('1e3')"),
    E("return tonumber('  12  ')"), E("return tonumber('z', 36)"),
    E("return {math.floor(-3.5), math.ceil(-3.5), math.abs(-2), math.max(1, 5, 3)}"),
    E("return tostring(math.pi)"), E("return math.huge"), E("return {math.frexp(8)}"),
    E("return math.fmod(7, 3)"), E("return tostring(math.sqrt(2))"),
    E("return table.concat({1, 2, 'a'}, ',')"), E("local t = {3, 1, 2} table.sort(t) return t"),
    E("local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) return t"),
    E("local t = {} table.insert(t, 'a') table.insert(t, 1, 'b') return t"),
    E("local t = {'a', 'b', 'c'} table.remove(t, 1) return t"),
    E("return {unpack({1, 2, 3})}"), E("return select(2, 'a', 'b', 'c')"),
    E("return select('#', 1, nil, nil)"), E("return gcinfo() > 0"),
    E("return collectgarbage('count') > 0"), E("return type(collectgarbage('step'))"),
    E("local s = 0 for i = 1, 100000 do s = s + i end return s"),
    E("return {rawequal(_G, _G), rawequal({}, {})}"), E("return assert(1, 'x')"),
    E("return assert(false, 'failed')"), E("return assert(nil)"),
    E("return tostring(nil) .. tostring(true)"), E("return type(_G)"), E("return type(redis)"),
    E("return #KEYS", ["a", "b"]),
    E("local function f(n) return f(n + 1) + 1 end return f(1)"),
    E("local t = {} setmetatable(t, {__index = function(t, k) return t[k] end}) return t.x"),
    E("local function f(n) if n == 0 then return 0 end return f(n - 1) end return f(100000)"),
    E("return string.rep('x', 1024 * 1024):len()"), E("return #string.format('%099d', 7)"),
    E("return string.format('%d', 2^53)"),
    E("return string.format('%5.1f|%-5s|%x', 3.14159, 'ab', 255)"),
    E("return {string.match('key:123', '(%a+):(%d+)')}"),
    E("return {tostring(1/0), tostring(-1/0), tostring(0/0)}"),
    E("return {math.min(3, 1, 2), math.pow(2, 10), math.log(1), math.exp(0), math.modf(3.7)}"),
    E("return {math.floor(2^31 + 0.5), 2^31 % 7, -7 % 3, 7 % -3}"),
    E("return {table.getn({1, 2, 3}), table.maxn({1, 2, [10] = 3})}"),
    E("return {string.find('a.b', '.', 1, true)}"),
    E("return #redis.sha1hex(string.rep('x', 100000))"),
]

# --- the redis API ----------------------------------------------------------------------------------

API = [
    E("return redis.sha1hex('')"), E("return redis.sha1hex('abc')"), E("return redis.sha1hex(1)"),
    E("return redis.sha1hex(1.5)"), E("return redis.sha1hex({})"), E("return redis.sha1hex()"),
    E("return redis.sha1hex('a', 'b')"),
    E("return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM"),
    E("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"),
    E("return redis.log()"), E("return redis.log(redis.LOG_DEBUG)"),
    E("return redis.log(redis.LOG_DEBUG, 'hello', 'world', 1, {})"),
    E("return redis.log('a', 'b')"), E("return redis.log('1', 'b')"),
    E("return redis.log(10, 'b')"), E("return redis.log(-1, 'b')"),
    E("return redis.setresp(4)"), E("return redis.setresp()"), E("return redis.setresp('3')"),
    E("return redis.setresp(2, 3)"), E("return redis.set_repl(redis.REPL_ALL)"),
    E("return redis.set_repl(99)"), E("return redis.set_repl()"), E("return redis.set_repl(-1)"),
    E("return redis.replicate_commands()"),
    E("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, "
      "redis.REPL_ALL}"),
    E("return redis.breakpoint()"), E("return redis.debug('x')"),
    E("return redis.acl_check_cmd('set', 'a', 'b')"), E("return redis.acl_check_cmd('nosuch')"),
    E("return redis.acl_check_cmd()"), E("return redis.acl_check_cmd('get', {})"),
    E("return redis.acl_check_cmd('get')"),
    E("redis.call('select', 1) redis.call('set', 'dbkey', 'v') return redis.call('get', "
      "'dbkey')"),
    ("GET", "dbkey"), ("SELECT", "1"), ("GET", "dbkey"), ("DEL", "dbkey"), ("SELECT", "0"),
    E("return redis.call('select', 1)"), ("SET", "here", "0"), E("return redis.call('get', 'here')"),
    E("math.randomseed(42) return {math.random(100), math.random(100), math.random(1, 6)}"),
    E("math.randomseed(7) return {tostring(math.random()), math.random(10)}"),
    E("math.randomseed(7) return math.random(0)"), E("math.randomseed(7) return math.random(3, 1)"),
    E("return math.random(1, 2, 3)"), E("return math.random('x')"),
    E("return math.randomseed()"),
]

# --- the libraries --------------------------------------------------------------------------------

LIBS = [
    E("return cjson.encode({1, 2, 3})"), E("return cjson.encode({a = 1})"),
    E("return cjson.encode({})"), E("return cjson.encode('a/b\"c\\\\d\\n\\1\\127\\200')"),
    E("return cjson.encode({[1] = 1, [3] = 3})"), E("return cjson.encode({[1] = 1, [30] = 3})"),
    E("return cjson.encode(0.1)"), E("return cjson.encode(1/3)"), E("return cjson.encode(1e300)"),
    E("return cjson.encode(100)"), E("return cjson.encode(2^60)"),
    E("return cjson.encode(1/0)"), E("return cjson.encode(function() end)"),
    E("return cjson.encode({[true] = 1})"), E("return cjson.encode(cjson.null)"),
    E("return cjson.encode({1, nil, 3})"), E("return cjson.encode({a = {b = {c = {}}}})"),
    E("return cjson.encode({x = 1, y = 's', z = true, w = false})"),
    E("return cjson.encode({[1.5] = 1})"), E("return cjson.encode(true)"),
    E("return cjson.encode(nil)"), E("return cjson.encode()"), E("return cjson.encode(1, 2)"),
    E("return cjson.encode({1, 2, x = 3})"), E("return cjson.encode({[0] = 1})"),
    E("return cjson.encode({['1'] = 1, ['2'] = 2})"),
    E("local t = cjson.decode('[1,2,{\"a\":null}]') return {t[1], t[2], type(t[3].a), "
      "tostring(t[3].a == cjson.null)}"),
    E("return cjson.decode('{bad')"), E("return cjson.decode('')"), E("return cjson.decode('[1,2')"),
    E("return cjson.decode('1.5e3')"), E("return cjson.decode('\"\\\\u00e9\"')"),
    E("return cjson.decode('\"\\\\ud83d\\\\ude00\"')"), E("return cjson.decode('\"\\\\x\"')"),
    E("return cjson.decode('[1, 2] x')"), E("return cjson.decode('{\"a\" 1}')"),
    E("return cjson.decode('{\"a\":1,}')"), E("return cjson.decode('nul')"),
    E("return cjson.decode('[true, false]')"), E("return cjson.decode('\"unterminated')"),
    E("return cjson.decode('-')"), E("return cjson.decode('01')"), E("return cjson.decode('0x10')"),
    E("return cjson.decode()"), E("return cjson.decode({})"), E("return cjson.decode(5)"),
    E("return cjson.encode(cjson.decode('{\"b\":[1,2,{\"c\":\"d\"}],\"a\":\"x\"}'))"),
    E("return cjson.encode(cjson.decode('{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5}'))"),
    E("return type(cjson.null)"), E("return {cjson.encode_max_depth(), "
                                    "cjson.encode_number_precision()}"),
    E("return cmsgpack.pack({1, 2, 'a'})"), E("return cmsgpack.pack({a = 1})"),
    E("return cmsgpack.pack(1.5, -1, 300, 70000, 2^40, 'x', -200, -40000, -2^40)"),
    E("return cmsgpack.pack(true, false, nil, 0.1, 1/0)"),
    E("return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300))"),
    E("return cmsgpack.pack({})"), E("return cmsgpack.pack()"),
    E("return {cmsgpack.unpack(cmsgpack.pack({1, 2, {a = 'b'}}))}"),
    E("local t = cmsgpack.unpack(cmsgpack.pack({1, 2, {a = 'b'}})) return t[3].a"),
    E("return {cmsgpack.unpack(cmsgpack.pack(1, 'two', 3.5, -4))}"),
    E("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}"),
    E("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"),
    E("return {cmsgpack.unpack('\\193')}"), E("return {cmsgpack.unpack('\\205\\1')}"),
    E("return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(3, 1), bit.lshift(1, 31), "
      "bit.rshift(-1, 28), bit.arshift(-16, 2), bit.tohex(255), bit.tohex(-1, -4), "
      "bit.bnot(0), bit.tobit(2^32 + 5), bit.rol(1, 33), bit.bswap(0x12345678)}"),
    E("return {bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.tohex(1, 20), "
      "bit.band(1, 3, 7), bit.ror(1, 1), bit.tobit('12')}"),
    E("return bit.band()"), E("return bit.band('x')"), E("return bit.lshift(1)"),
    E("return struct.pack('>I4', 258)"), E("return {struct.unpack('>I4', '\\0\\0\\1\\2')}"),
    E("return struct.size('>I4i2')"), E("return {struct.unpack('<i2 b', '\\255\\255\\1')}"),
    E("return struct.pack('<hHlLb', -2, 65535, -3, 7, 1)"),
    E("return struct.pack('>d', 1.5) .. struct.pack('<f', 0.25)"),
    E("return {struct.unpack('>d<f', struct.pack('>d<f', 1.5, 0.25))}"),
    E("return struct.pack('s', 'abc') .. struct.pack('c3', 'xyzw')"),
    E("return {struct.unpack('s', 'abc\\0de')}"), E("return {struct.unpack('c2', 'abcd')}"),
    E("return {struct.unpack('i4', 'ab')}"), E("return struct.pack('q', 1)"),
    E("return struct.size('s')"), E("return {struct.unpack('>I2', '\\0\\1\\0\\2', 3)}"),
    E("return struct.pack('!4 b i4', 1, 2)"), E("return {struct.unpack('B c0', '\\2hi!')}"),
    E("return struct.pack('c3', 'ab')"), E("return struct.pack('i40', 1)"),
    E("return struct.pack('!3 i', 1)"), E("return struct.size('i3!8 d')"),
    E("return struct.size('q')"), E("return struct.size('%')"), E("return struct.size('c0')"),
    E("return struct.pack('>i16', -2)"), E("return {struct.unpack('>i3', '\\255\\255\\254')}"),
    E("return {struct.unpack('b', 'x', 0)}"), E("return {struct.unpack('b', 'x', 5)}"),
    E("return struct.pack('b', 'x')"), E("return struct.pack()"), E("return struct.unpack('b')"),
    E("return {struct.unpack('c0', 'abc')}"), E("return {struct.unpack('s', 'abc')}"),
    E("return {struct.unpack('>I8', string.rep('\\255', 8))}"),
    E("return struct.pack('<L', 2^64)"), E("return struct.pack('<l', -1) .. struct.pack('>H', 70000)"),
]

# --- SCRIPT and EVALSHA -------------------------------------------------------------------------

SCRIPT = [
    ("SCRIPT", "LOAD", "return 'loaded'"),
    ("EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"),
    ("EVALSHA", "B534286061D4B9E4026607613B95C06C06015AE8", "0"),
    ("EVALSHA_RO", "b534286061d4b9e4026607613b95c06c06015ae8", "0"),
    ("SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8",
     "B534286061D4B9E4026607613B95C06C06015AE8", "ffff"),
    ("SCRIPT", "LOAD", "return 1 +"), ("SCRIPT", "LOAD", "#!lua flags=bogus\nreturn 1"),
    ("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')"),
    ("EVALSHA", "1b2e82a83151e77d6416d4f03b9b1e6e7e5b4ed4", "0"),
    ("SCRIPT", "HELP"), ("SCRIPT", "KILL"), ("SCRIPT", "FLUSH", "BOGUS"),
    ("SCRIPT", "FLUSH", "ASYNC", "SYNC"), ("SCRIPT", "FLUSH", "SYNC"), ("SCRIPT", "FLUSH"),
    ("SCRIPT", "FLUSH", "async"),
    ("SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8"), ("SCRIPT", "NOPE"),
    ("SCRIPT", "EXISTS"), ("SCRIPT",), ("SCRIPT", "LOAD"), ("SCRIPT", "DEBUG", "NO"),
    ("SCRIPT", "DEBUG", "BAD"),
    ("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"), ("GET", "k"),
    ("EVALSHA", "d8f2fad9f8e86a53d2a6ebd960b33c4972cacc37", "0"),
    ("MULTI",), ("EVAL", "return redis.call('incr', KEYS[1])", "1", "cnt"),
    ("EVAL", "return 1", "-1"), ("EVAL", "return redis.call('incr', KEYS[1])", "1", "cnt"),
    ("EXEC",),
    ("MULTI",), ("EVAL", "return redis.call('nosuch')", "0"), ("GET", "cnt"), ("EXEC",),
]

# --- functions ---------------------------------------------------------------------------------

LIB1 = ("#!lua name=mylib\n"
        "redis.register_function('myfunc', function(keys, args) return {keys[1], args[1]} end)")
LIB_RO = ("#!lua name=rolib\n"
          "redis.register_function{function_name='ro', callback=function(keys, args) "
          "return redis.call('get', keys[1]) end, flags={'no-writes'}, description='a ro func'}")
LIB2 = ("#!lua name=lib2\n"
        "redis.register_function('f2', function(k, a) return redis.call('set', k[1], a[1]) end)")
LIB3 = "#!lua name=lib3\nredis.register_function('f3', function(k, a) error('boom') end)"
LIB4 = ("#!lua name=lib4\n"
        "redis.register_function('f4', function(k, a) return redis.call('incr', 'mylist') end)")
LIB5 = ("#!lua name=lib5\n"
        "redis.register_function('f5', function(k, a) return {type(KEYS), 1} end)")
LIB6 = ("#!lua name=lib6\nlocal r = redis\n"
        "redis.register_function('f6', function() return r.call('ping') end)")
LIB7 = ("#!lua name=lib7\n"
        "redis.register_function('f7', function(k, a) return {k, a, #k, #a} end)")
LIBFLAGS = ("#!lua name=flagged\nredis.register_function{function_name='fl', callback=function() "
            "return 1 end, flags={'no-writes', 'allow-oom', 'allow-stale', 'no-cluster', "
            "'allow-cross-slot-keys'}}")


def L(code: str, replace: bool = False) -> tuple:
    return ("FUNCTION", "LOAD", *(("REPLACE",) if replace else ()), code)


def load_error(body: str) -> tuple:
    return L("#!lua name=x\n" + body)


FUNCTIONS = [
    L(LIB1), L(LIB1), L(LIB1, replace=True), ("FCALL", "myfunc", "1", "k", "a"),
    ("FCALL", "MYFUNC", "0"), ("FCALL_RO", "myfunc", "1", "k", "a"),
    L(LIB_RO), ("FCALL", "ro", "1", "k"), ("FCALL_RO", "ro", "1", "k"),
    ("FCALL", "nofunc", "0"), ("FCALL", "myfunc", "-1"), ("FCALL", "myfunc", "5"),
    ("FCALL", "myfunc", "x"), ("FCALL", "myfunc", "1.0", "k"),
    ("FUNCTION", "LIST", "LIBRARYNAME", "my*"), ("FUNCTION", "LIST", "LIBRARYNAME", "MY*"),
    ("FUNCTION", "LIST", "LIBRARYNAME", "rolib", "WITHCODE"),
    ("FUNCTION", "LIST", "LIBRARYNAME", "zz"), ("FUNCTION", "LIST", "BOGUS"),
    ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
    {"cmd": ("FUNCTION", "LIST"), "norm": unordered},
    {"cmd": ("FUNCTION", "LIST", "WITHCODE"), "norm": unordered},
    ("FUNCTION", "STATS"), L(LIBFLAGS), ("FUNCTION", "LIST", "LIBRARYNAME", "flagged"),
    L("return 1"), L("#!lua\nreturn 1"), L("#!lua name=x\nreturn 1"),
    L("#!lua name=x foo=bar\nreturn 1"), L("#!lua name=a name=b\nreturn 1"),
    L('#!lua name="q q"\nreturn 1'), L("#!lua name=x"), L("#!py name=x\n"), L("#!LUA name=up\n"
                                                                                "redis.register_function('up', function() return 'up' end)"),
    ("FCALL", "UP", "0"), ("FUNCTION", "LOAD", "REPLACE"), ("FUNCTION", "LOAD", "BOGUS", "x"),
    L("#!lua name=x-y\nredis.register_function('f1', function() end)"),
    load_error("redis.register_function('myfunc', function() end)"),
    load_error("redis.register_function('f-1', function() end)"),
    load_error("redis.register_function('f1', 'notfunc')"),
    load_error("redis.register_function('f1')"),
    load_error("redis.register_function('f1', function() end, 3)"),
    load_error("redis.register_function()"),
    load_error("redis.register_function{function_name='f1', callback=function() end, "
               "flags={'bad'}}"),
    load_error("redis.register_function{function_name='f1', callback=function() end, bogus=1}"),
    load_error("redis.register_function{function_name='f1', callback=function() end, "
               "flags='no-writes'}"),
    load_error("redis.register_function{function_name='f1'}"),
    load_error("redis.register_function{callback=function() end}"),
    load_error("redis.register_function{function_name={}, callback=function() end}"),
    load_error("redis.register_function{function_name='f1', callback=1}"),
    load_error("redis.register_function{function_name='f1', callback=function() end, "
               "description={}}"),
    load_error("redis.register_function({}, function() end)"),
    load_error("redis.register_function('', function() end)"),
    load_error("redis.call('set', 'a', 'b')"), load_error("error('oops')"),
    load_error("return 1 +"), load_error("local a = KEYS"), load_error("x = 1"),
    load_error("redis.register_function('f1', function() end) "
               "redis.register_function('f1', function() end)"),
    load_error("local x = string.format('%d', 1)"), load_error("local x = redis.setresp"),
    load_error("redis.log(redis.LOG_DEBUG, 'loading') return 1"),
    load_error("redis.register_function(5, function() return 5 end)"),
    ("FCALL", "5", "0"), ("FUNCTION", "DELETE", "x"),
    L(LIB2), ("FCALL", "f2", "1", "k", "v"), ("GET", "k"), ("FCALL_RO", "f2", "1", "k", "v"),
    L(LIB3), ("FCALL", "f3", "0"), ("RPUSH", "mylist", "x"), L(LIB4), ("FCALL", "f4", "0"),
    L(LIB5), ("FCALL", "f5", "0"), L(LIB6), ("FCALL", "f6", "0"), L(LIB7),
    ("FCALL", "f7", "2", "k1", "k2", "a1"), ("FCALL", "f7", "0"),
    ("FUNCTION", "DELETE", "lib3"), ("FUNCTION", "DELETE", "lib3"), ("FUNCTION", "DELETE", "LIB2"),
    ("FUNCTION", "DELETE"), ("FUNCTION", "FLUSH", "BAD"), ("FUNCTION", "FLUSH", "SYNC", "x"),
    ("FUNCTION", "KILL"), ("FUNCTION", "HELP"), ("FUNCTION", "NOPE"), ("FUNCTION",),
    ("FUNCTION", "STATS", "x"), ("FUNCTION", "DUMP", "x"),
    ("FUNCTION", "RESTORE", "garbage"), ("FUNCTION", "RESTORE", "x", "BOGUS"),
    ("FUNCTION", "RESTORE", "x", "FLUSH", "more"),
    ("FUNCTION", "FLUSH"), ("FUNCTION", "STATS"), {"cmd": ("FUNCTION", "LIST")},
]


def test_lua_values_to_replies(pair):
    for resp in (2, 3):
        p = pair(resp)
        p.run(RETURNS)
        p.assert_same()


def test_replies_to_lua_values(pair):
    for resp in (2, 3):
        p = pair(resp)
        p.run(CALLS)
        p.assert_same()


def test_errors(pair):
    for resp in (2, 3):
        p = pair(resp)
        p.run(ERRORS)
        p.assert_same()


def test_sandbox(pair):
    p = pair()
    p.run(SANDBOX)
    p.assert_same()


def test_redis_api(pair):
    p = pair()
    p.run(API)
    p.assert_same()


def test_libraries(pair):
    p = pair()
    p.run(LIBS)
    p.assert_same()


def test_script_cache_and_transactions(pair):
    p = pair()
    p.run(SCRIPT)
    p.assert_same()


def test_functions(pair):
    for resp in (2, 3):
        p = pair(resp)
        p.run(FUNCTIONS)
        p.assert_same()


def test_function_dump_is_redis_bytes(pair):
    """FUNCTION DUMP from photon and from Redis are the same bytes (one library each way, so
    no dictionary order is involved), and each restores the other's payload."""
    p = pair()
    code = LIB1 + "\n" + "-- padding so the code is LZF-compressed\n" * 3
    p.check("FUNCTION", "LOAD", code)
    dump_p = p.check("FUNCTION", "DUMP")
    payload = decode(dump_p)
    p.check("FUNCTION", "FLUSH")
    p.check("FUNCTION", "RESTORE", payload)
    p.check("FCALL", "myfunc", "1", "a", "b")
    p.check("FUNCTION", "RESTORE", payload)
    p.check("FUNCTION", "RESTORE", payload, "REPLACE")
    p.check("FUNCTION", "RESTORE", payload, "FLUSH")
    p.check("FUNCTION", "RESTORE", payload[:-1] + bytes((payload[-1] ^ 1,)))
    p.check("FUNCTION", "RESTORE", payload, "APPEND")
    p.check("FUNCTION", "DELETE", "mylib")
    p.check("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('myfunc', "
                                "function() return 0 end)")
    p.check("FUNCTION", "RESTORE", payload)
    p.check("FUNCTION", "RESTORE", payload, "REPLACE")
    p.assert_same()


def test_bytecode_is_read_as_text(pair):
    """Redis's Lua refuses binary chunks by reading them as source text."""
    p = pair()
    p.check(*E("local f, e = loadstring(string.dump(function() return 1 end)) return e"))
    p.check(*E("local f, e = loadstring('\\27Lua') return e"))
    p.check(*E("local f, e = load(function() return nil end) return {f == nil, e}"))
    bytecode = decode(p.r.call(*E("return string.dump(function() return 1 end)")))
    p.check("EVAL", bytecode, "0")
    p.check("SCRIPT", "LOAD", bytecode)
    p.check("FUNCTION", "LOAD", b"#!lua name=bc\n" + bytecode)
    p.assert_same()
