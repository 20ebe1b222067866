"""EVAL, SCRIPT, FUNCTION and FCALL through the gate, on in-memory engines."""
import time

import pytest
from hiredis import ReplyError

from photon.scripting.functions import RECORD_KEY
from photon.scripting.runtime import Scripting

def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return str(reply)

# --- EVAL basics ------------------------------------------------------------------------------

def test_keys_argv_and_conversions(client):
    assert client.send("EVAL", "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "1", "k", "a", "b") == [
        b"k", b"a", 1, 2]
    assert client.send("EVAL", "return 3.99", "0") == 3
    assert client.send("EVAL", "return -3.99", "0") == -3
    assert client.send("EVAL", "return {1, 2, nil, 4}", "0") == [1, 2]
    assert client.send("EVAL", "return {true, false, 'x'}", "0") == [1, None, b"x"]
    assert client.send("EVAL", "return {ok = 'fine'}", "0") == b"fine"
    assert err(client.send("EVAL", "return {err = 'MY error'}", "0")) == "MY error"
    assert client.send("EVAL", "return 1/0", "0") == -(1 << 63)
    assert client.send("EVAL", "return {map = {a = 1}}", "0") == [b"a", 1]

def test_resp3_conversions(client):
    client.send("HELLO", "3")
    client.send("HSET", "h", "f", "v")
    assert client.send("EVAL", "redis.setresp(3) return redis.call('hgetall', 'h')", "0") == {
        b"f": b"v"}
    assert client.send("EVAL", "redis.setresp(3) return true", "0") is True
    assert client.send("EVAL", "return true", "0") == 1
    assert client.send("EVAL", "return {double = 1.5}", "0") == 1.5
    assert client.send("EVAL", "redis.setresp(3) return type(redis.call('get', 'nope'))",
                       "0") == b"nil"
    assert client.send("EVAL", "return type(redis.call('get', 'nope'))", "0") == b"boolean"

def test_numkeys_errors(client):
    assert err(client.send("EVAL", "return 1", "-1")) == "ERR Number of keys can't be negative"
    assert err(client.send("EVAL", "return 1", "2", "a")) == (
        "ERR Number of keys can't be greater than number of args")
    assert err(client.send("EVAL", "return 1", "x")) == (
        "ERR value is not an integer or out of range")

def test_call_and_pcall_errors(client):
    client.send("SET", "s", "abc")
    sha = "6f5ade10a69975e903c6d07b10ea44c6382381a5"
    assert err(client.send("EVAL", "return redis.call('incr',KEYS[1])", "1", "s")) == (
        f"ERR value is not an integer or out of range script: {sha}, on @user_script:1.")
    assert err(client.send("EVAL", "return redis.pcall('incr',KEYS[1])", "1", "s")) == (
        "ERR value is not an integer or out of range")
    assert client.send("EVAL", "local ok, e = pcall(redis.call, 'nosuch') return e", "0") == (
        b"ERR Unknown Redis command called from script")
    assert "This Redis command is not allowed from script" in err(
        client.send("EVAL", "return redis.call('blpop', 'l', 0)", "0"))
    assert "Write commands are not allowed from read-only scripts." in err(
        client.send("EVAL_RO", "return redis.call('set', 'a', 'b')", "0"))
    assert client.send("EXISTS", "a") == 0

def test_error_lines(client):
    reply = err(client.send("EVAL", "local x = 1\n\nerror('third line')", "0"))
    assert reply.startswith("ERR user_script:3: third line script: ")
    assert reply.endswith(", on @user_script:3.")
    reply = err(client.send("EVAL", "local function f()\n  return redis.call('nope')\nend\n"
                            "return f()", "0"))
    assert reply.endswith("on @user_script:2.")  # the tail call keeps the caller's line

def test_sandbox(client):
    assert "Attempt to modify a readonly table" in err(client.send("EVAL", "x = 1", "0"))
    assert "Attempt to modify a readonly table" in err(
        client.send("EVAL", "redis.call = function() end", "0"))
    assert "Script attempted to access nonexistent global variable 'os'" in err(
        client.send("EVAL", "return os.time()", "0"))
    for name in ("io", "require", "dofile", "print", "debug", "getfenv", "setfenv", "newproxy"):
        assert "nonexistent global variable" in err(
            client.send("EVAL", f"return {name}", "0")), name
    assert client.send("EVAL", "return {loadstring(string.dump(function() end))}", "0") == []
    # nothing a script does leaks into the next one
    client.send("EVAL", "pcall(function() string.x = 1 end) KEYS[5] = 'x' return 1", "0")
    assert client.send("EVAL", "return {string.x == nil, KEYS[5] == nil}", "0") == [1, 1]
    # no builtin hands out the table behind a read-only one
    for script in ("local _, real = pairs(string) real.x = 1",
                   "local _, real = pairs(_G) real.x = 1",
                   "local j = cjson.new() j.x = 1",
                   "getmetatable('').__index.x = 1",
                   "getmetatable(_G).x = 1",
                   "local k, v = next(_G) rawset(_G, k, 1)"):
        assert "Attempt to modify a readonly table" in err(client.send("EVAL", script, "0")), (
            script)
    assert client.send("EVAL", "return {string.x == nil, cjson.x == nil}", "0") == [1, 1]

def test_shebang_flags(client):
    assert client.send("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0") is None
    assert "on @user_script:2." in err(client.send(
        "EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')", "0"))
    assert err(client.send("EVAL_RO", "#!lua\nreturn 1", "0")) == (
        "ERR Can not execute a script with write flag using *_ro command.")
    assert err(client.send("EVAL", "#!lua flags=bad\nreturn 1", "0")) == (
        "ERR Unexpected flag in script shebang: bad")

def test_select_inside_a_script_stays_there(client):
    assert client.send("EVAL", "redis.call('select', 3) return redis.call('set', 'k', 'v')",
                       "0") == b"OK"
    assert client.send("EXISTS", "k") == 0
    client.send("SELECT", "3")
    assert client.send("GET", "k") == b"v"
    assert client.send("EVAL", "return redis.call('get', 'k')", "0") == b"v"

def test_script_cache(client):
    sha = client.send("SCRIPT", "LOAD", "return 'x'")
    assert client.send("EVALSHA", sha, "0") == b"x"
    assert client.send("EVALSHA", sha.upper(), "0") == b"x"
    assert client.send("SCRIPT", "EXISTS", sha, "0" * 40) == [1, 0]
    assert client.send("SCRIPT", "FLUSH", "ASYNC") == b"OK"
    assert err(client.send("EVALSHA", sha, "0")) == (
        "NOSCRIPT No matching script. Please use EVAL.")
    assert err(client.send("SCRIPT", "KILL")) == "NOTBUSY No scripts in execution right now."
    assert err(client.send("SCRIPT", "FLUSH", "X")) == (
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option")

def test_scripts_are_one_transaction(server, client):
    """The script's writes are committed together, after it ends."""
    ks = server.keyspace
    commits = []
    ks.commit_listener = lambda shard, ops: commits.append(len(ops))
    client.send("EVAL", "for i = 1, 50 do redis.call('set', 'k' .. i, i) end return 1", "0")
    assert sum(commits) >= 50
    assert len(commits) <= len(ks.shards)  # one batch per shard, not one per command
    assert client.send("GET", "k50") == b"50"

def test_eval_inside_multi(client):
    client.send("MULTI")
    assert client.send("EVAL", "return redis.call('incr', KEYS[1])", "1", "n") == b"QUEUED"
    assert client.send("EVAL", "return redis.call('incr', KEYS[1])", "1", "n") == b"QUEUED"
    assert client.send("EXEC") == [1, 2]

def test_watch_sees_script_writes(server, client):
    other = server.new_client()
    client.send("WATCH", "w")
    client.send("MULTI")
    client.send("SET", "w", "mine")
    other.send("EVAL", "return redis.call('set', KEYS[1], 'theirs')", "1", "w")
    assert client.send("EXEC") is None
    assert client.send("GET", "w") == b"theirs"

def test_monitor_shows_script_commands(server, client):
    monitor = server.new_client()
    monitor.send("MONITOR")
    monitor.transport.data.clear()
    client.send("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "k")
    lines = bytes(monitor.transport.data).decode()
    assert '"EVAL" "return redis.call(\'set\', KEYS[1], \'v\')" "1" "k"' in lines
    assert '[0 lua] "set" "k" "v"' in lines
    assert lines.index('"EVAL"') < lines.index("[0 lua]")

def test_acl_inside_scripts(server, client):
    client.send("ACL", "SETUSER", "app", "on", "nopass", "~app:*", "+eval", "+get", "+set",
                "-del")
    app = server.new_client()
    assert app.send("AUTH", "app", "x") == b"OK"
    assert app.send("EVAL", "return redis.call('set', 'app:1', 'v')", "0") == b"OK"
    assert "The user executing the script can't access at least one of the keys mentioned" in (
        err(app.send("EVAL", "return redis.call('get', 'other')", "0")))
    assert "The user executing the script can't run this command or subcommand" in (
        err(app.send("EVAL", "return redis.call('del', 'app:1')", "0")))
    assert app.send("EVAL", "return {redis.acl_check_cmd('get', 'app:x'), "
                            "redis.acl_check_cmd('del', 'app:x')}", "0") == [1, None]

def test_random_is_seedable_and_shared(client):
    first = client.send("EVAL", "math.randomseed(42) return {math.random(100), math.random(100)}",
                        "0")
    again = client.send("EVAL", "math.randomseed(42) return {math.random(100), math.random(100)}",
                        "0")
    assert first == again == [75, 35]  # redis-server 7.0.15 gives the same

# --- the time limit ---------------------------------------------------------------------------

def test_long_script_is_stopped_and_undone(server, client):
    server.scripting.time_limit_override = 50
    started = time.monotonic()
    reply = err(client.send("EVAL", "redis.call('set', 'partial', '1') "
                                    "while true do end", "0"))
    assert time.monotonic() - started < 5
    assert reply.startswith("ERR Script killed: it ran longer than the script time limit (50 ms)")
    assert client.send("EXISTS", "partial") == 0
    # pcall cannot keep a killed script going
    reply = err(client.send("EVAL", "while true do pcall(function() while true do end end) end",
                            "0"))
    assert "Script killed" in reply
    assert client.send("EVAL", "return 'alive'", "0") == b"alive"

def test_long_script_inside_multi_keeps_earlier_writes(server, client):
    server.scripting.time_limit_override = 50
    client.send("MULTI")
    client.send("SET", "before", "1")
    client.send("EVAL", "redis.call('set', 'partial', '1') while true do end", "0")
    reply = client.send("EXEC")
    assert reply[0] == b"OK" and "Script killed" in err(reply[1])
    assert client.send("MGET", "before", "partial") == [b"1", b"1"]

def test_function_load_timeout(client):
    reply = err(client.send("FUNCTION", "LOAD", "#!lua name=slow\nwhile true do end"))
    assert reply == "ERR Error registering functions: ERR FUNCTION LOAD timeout"

# --- functions ----------------------------------------------------------------------------------

LIB = ("#!lua name=lib\n"
       "redis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)\n"
       "redis.register_function{function_name='count', callback=function(keys) "
       "return redis.call('incr', keys[1]) end, description='counts'}\n"
       "redis.register_function{function_name='peek', callback=function(keys) "
       "return redis.call('get', keys[1]) end, flags={'no-writes'}}\n")

def test_function_load_and_call(client):
    assert client.send("FUNCTION", "LOAD", LIB) == b"lib"
    assert err(client.send("FUNCTION", "LOAD", LIB)) == "ERR Library 'lib' already exists"
    assert client.send("FUNCTION", "LOAD", "REPLACE", LIB) == b"lib"
    assert client.send("FCALL", "hello", "0", "you") == b"hi you"
    assert client.send("FCALL", "HELLO", "0", "case") == b"hi case"
    assert client.send("FCALL", "count", "1", "c") == 1
    assert client.send("FCALL_RO", "peek", "1", "c") == b"1"
    assert err(client.send("FCALL_RO", "count", "1", "c")) == (
        "ERR Can not execute a script with write flag using *_ro command.")
    assert err(client.send("FCALL", "nope", "0")) == "ERR Function not found"
    assert err(client.send("FCALL", "hello", "x")) == "ERR Bad number of keys provided"
    listing = client.send("FUNCTION", "LIST")
    assert listing[0][:4] == [b"library_name", b"lib", b"engine", b"LUA"]
    names = [f[1] for f in listing[0][5]]
    assert names == [b"hello", b"count", b"peek"]  # registration order
    assert listing[0][5][1] == [b"name", b"count", b"description", b"counts", b"flags", []]
    assert listing[0][5][2][5] == [b"no-writes"]
    assert client.send("FUNCTION", "STATS") == [
        b"running_script", None, b"engines",
        [b"LUA", [b"libraries_count", 1, b"functions_count", 3]]]

def test_function_errors_name_the_function(client):
    client.send("FUNCTION", "LOAD", "#!lua name=bad\n\nredis.register_function('boom', "
                                    "function() error('oops') end)")
    assert err(client.send("FCALL", "boom", "0")) == (
        "ERR user_function:3: oops script: boom, on @user_function:3.")
    assert err(client.send("FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')")) == (
        "ERR Error registering functions: ERR user_function:2: Script attempted to access "
        "nonexistent global variable 'call'")

def test_function_dump_restore(client):
    client.send("FUNCTION", "LOAD", LIB)
    payload = client.send("FUNCTION", "DUMP")
    assert err(client.send("FUNCTION", "RESTORE", payload)) == "ERR Library lib already exists"
    assert client.send("FUNCTION", "RESTORE", payload, "REPLACE") == b"OK"
    assert client.send("FUNCTION", "FLUSH") == b"OK"
    assert client.send("FUNCTION", "LIST") == []
    assert client.send("FUNCTION", "RESTORE", payload) == b"OK"
    assert client.send("FCALL", "hello", "0", "again") == b"hi again"
    assert err(client.send("FUNCTION", "RESTORE", payload[:-1] + b"x")) == (
        "ERR DUMP payload version or checksum are wrong")
    assert client.send("FUNCTION", "DELETE", "lib") == b"OK"
    assert err(client.send("FUNCTION", "DELETE", "lib")) == "ERR Library not found"

def test_functions_are_kept_in_the_keyspace(server, client):
    client.send("FUNCTION", "LOAD", LIB)
    ks = server.keyspace
    assert ks.rget(server.shard_range[0], RECORD_KEY) is not None
    client.send("FLUSHALL")
    assert client.send("FCALL", "hello", "0", "x") == b"hi x"
    # a fresh scripting state (a restart) reads the libraries back from the record
    server._scripting = Scripting(server)
    assert client.send("FCALL", "hello", "0", "back") == b"hi back"
    # a record written underneath (a replica applying its master's batch) is picked up
    ks.rput(server.shard_range[0], RECORD_KEY, None)
    ks.commit()
    assert err(client.send("FCALL", "hello", "0", "x")) == "ERR Function not found"

# --- robustness --------------------------------------------------------------------------------

def test_self_referencing_table_reply_ends(client):
    reply = client.send("EVAL", "local t = {} t[1] = t return t", "0")
    depth = 0
    while isinstance(reply, list):
        reply = reply[0]
        depth += 1
    assert depth > 100 and "reached lua stack limit" in str(reply)

def test_big_replies_both_ways(client):
    client.send("EVAL", "for i = 1, 10000 do redis.call('rpush', 'big', i) end return 1", "0")
    reply = client.send("EVAL", "return redis.call('lrange', 'big', 0, -1)", "0")
    assert len(reply) == 10000 and reply[-1] == b"10000"

def test_cjson_and_friends(client):
    assert client.send("EVAL", "return cjson.encode(cjson.decode(ARGV[1]))", "0",
                       '{"a":[1,2,{"b":null}]}') == b'{"a":[1,2,{"b":null}]}'
    assert client.send("EVAL", "return cmsgpack.unpack(cmsgpack.pack({1, 2, 3}))", "0") == [
        1, 2, 3]
    assert client.send("EVAL", "return bit.band(0xff, 0x0f)", "0") == 15
    assert client.send("EVAL", "return struct.unpack('>I2', struct.pack('>I2', 513))",
                       "0") == 513

@pytest.mark.parametrize("cmd", ["multi", "exec", "watch", "subscribe", "auth", "hello",
                                 "script", "function", "eval", "fcall", "monitor", "wait",
                                 "client"])
def test_noscript_commands_refused(client, cmd):
    args = ", ".join(["'%s'" % cmd] + ["'x'"] * 3)
    reply = err(client.send("EVAL", f"return redis.call({args})", "0"))
    assert "This Redis command is not allowed from script" in reply or (
        "Wrong number of args" in reply or "Unknown Redis command" in reply)
