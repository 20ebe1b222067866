"""The Lua 5.1 runtime (lupa) with Redis 7.0's sandbox.

One lupa LuaRuntime holds two sandboxes, as Redis holds two lua_States: one for EVAL scripts
and one for FUNCTION libraries. The bootstrap below (Lua, chunk name ``=photon``) builds them:

* Redis 7.0.15 makes its globals and every library table read-only (a patched Lua). Stock Lua
  cannot, so each protected table is an empty proxy whose metatable reads through to the real
  table and refuses writes with Redis's "Attempt to modify a readonly table"; the builtins that
  bypass metatables (rawset, rawget, next, pairs, setmetatable, getmetatable,
  table.insert/remove/sort) are wrapped to treat a proxy as its table, never handing it out.
* Reading a missing global raises "Script attempted to access nonexistent global variable".
* The globals are exactly Redis's (no os, io, print, require, dofile, getfenv, setfenv...);
  loadstring/load compile into the sandbox and refuse bytecode.
* The redis API and the C libraries (cjson, cmsgpack, bit, struct, math.random) are Python
  functions made real Lua C functions (``python.as_function``): a C function keeps its
  caller's frame even in ``return redis.call(...)``, so errors name the script line as in
  Redis. They raise Python exceptions, which reach Lua as userdata; every place that catches
  an error (the error handler, pcall, xpcall, coroutine.resume) turns them back into what
  Redis raises: a {err=...} table, or a message placed at the calling line.
* pcall turns a Redis error table into its message, as Redis's own pcall does.
* Errors go through Redis's error handler (its own chunk, ``@err_handler_def``, laid out as
  Redis's): a table {err=..., source=..., line=...} naming the script line.
* Python callbacks are only ever reachable as those C functions, and attribute access on
  Python objects is refused anyway.

Known differences, all from wrappers being Lua functions where Redis's are C: an argument
error raised by a wrapped builtin called in a tail position (``return pairs(nil)``) names no
line; ``pcall(error, msg, 2)`` places the message nowhere instead of at the script line; a
library error inside ``coroutine.wrap`` carries one position prefix where Redis writes two;
and lupa reads -0 as 0, so ``redis.call('echo', -0)`` sends "0".
"""
from __future__ import annotations

from typing import Any, Callable

from lupa import lua51

BOOTSTRAP = r"""
local py = ...
local asf = python.as_function
local type, error, tostring, tonumber, select, rawget, rawset, next =
      type, error, tostring, tonumber, select, rawget, rawset, next
local setmetatable, getmetatable, pcall, xpcall, loadstring, setfenv, unpack =
      setmetatable, getmetatable, pcall, xpcall, loadstring, setfenv, unpack
local tconcat, tinsert, tremove, tsort = table.concat, table.insert, table.remove, table.sort
local sbyte, resume = string.byte, coroutine.resume
local sethook, getinfo = debug.sethook, debug.getinfo
local RO = 'Attempt to modify a readonly table'
local SOURCE = '=photon'

local function pack(...) return {n = select('#', ...), ...} end
local function cfuncs(t)
  local out = {}
  for k, f in next, t do out[k] = asf(f) end
  return out
end

-- errors raised by Python (C) functions arrive as userdata: turn them into what Redis's
-- C functions raise (a {err=...} table, or a message already placed at the script's line)
local unwrap = asf(py.unwrap)
local gsub = string.gsub
local function materialize(e)
  local te = type(e)
  if te == 'string' then  -- a C function's error placed on one of our lines: no line, as C
    return (gsub(e, '^photon:%d+: ', ''))
  end
  if te ~= 'userdata' then return e end
  local kind, msg = unwrap(e)
  if kind == 'table' then return {err = msg} end
  if kind == 'string' then return msg end
  return e
end

-- read-only tables ----------------------------------------------------------------------
local backing = setmetatable({}, {__mode = 'k'})
local shown = setmetatable({}, {__mode = 'k'})
local function ro_newindex() error(RO, 2) end
local function protect(t, meta)
  local mt = {__index = t, __newindex = ro_newindex}
  local p = setmetatable({}, mt)
  backing[p] = t
  shown[p] = meta
  return p, mt
end
local function missing(_, k)
  local tk = type(k)
  if tk ~= 'string' and tk ~= 'number' then
    error('Second argument to luaProtectedTableError must be a string or number', 2)
  end
  error("Script attempted to access nonexistent global variable '" .. k .. "'", 2)
end
local MISSING = {__index = missing}

local function got(present, v)
  if not present then return 'no value' end
  return type(v)
end
local function need_table(fname, present, t)
  if type(t) ~= 'table' then
    error("bad argument #1 to '" .. fname .. "' (table expected, got " .. got(present, t) .. ')',
          3)
  end
end

-- builtins seen through the proxies -------------------------------------------------------
local S = {}
S.pairs = function(...)
  local t = ...
  need_table('pairs', select('#', ...) > 0, t)
  local b = backing[t]
  if not b then return next, t, nil end
  return function(_, k) return next(b, k) end, t, nil  -- never hand out the real table
end
S.next = function(...)
  local t, k = ...
  need_table('next', select('#', ...) > 0, t)
  return next(backing[t] or t, k)
end
S.rawget = function(...)
  local t, k = ...
  need_table('rawget', select('#', ...) > 0, t)
  return rawget(backing[t] or t, k)
end
S.rawset = function(...)
  local t, k, v = ...
  need_table('rawset', select('#', ...) > 0, t)
  if backing[t] then error(RO, 0) end
  rawset(t, k, v)
  return t
end
S.getmetatable = function(...)
  if select('#', ...) == 0 then
    error("bad argument #1 to 'getmetatable' (value expected)", 2)
  end
  local t = ...
  if backing[t] then return shown[t] end
  return getmetatable(t)
end
S.setmetatable = function(...)
  local t, m = ...
  need_table('setmetatable', select('#', ...) > 0, t)
  if backing[t] then error(RO, 0) end
  local tm = type(m)
  if tm ~= 'nil' and tm ~= 'table' then
    error("bad argument #2 to 'setmetatable' (nil or table expected)", 2)
  end
  return setmetatable(t, m)
end
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = materialize((...))
  if type(e) == 'table' then
    local m = e.err
    local tm = type(m)
    if tm == 'string' or tm == 'number' then return false, m end
  end
  return false, e
end
S.pcall = function(...) return pcall_result(pcall(...)) end
S.xpcall = function(f, h)
  return xpcall(f, function(e) return h(materialize(e)) end)
end

local function resume_result(ok, ...)
  if ok then return true, ... end
  return false, materialize((...))
end
local CO = {}
for k, v in next, coroutine do CO[k] = v end
CO.resume = function(co, ...) return resume_result(resume(co, ...)) end

local T = {}
for k, v in next, table do T[k] = v end
T.insert = function(...)
  local t = ...
  need_table('insert', select('#', ...) > 0, t)
  if backing[t] then error(RO, 0) end
  local n = select('#', ...)
  if n ~= 2 and n ~= 3 then error("wrong number of arguments to 'insert'", 2) end
  tinsert(...)
end
T.remove = function(...)
  local t = ...
  need_table('remove', select('#', ...) > 0, t)
  local b = backing[t]
  if b then
    if #b == 0 then return end
    error(RO, 0)
  end
  return tremove(...)
end
T.sort = function(...)
  local t = ...
  need_table('sort', select('#', ...) > 0, t)
  local b = backing[t]
  if b then
    if #b < 2 then return end
    error(RO, 0)
  end
  tsort(...)
end

local function loaders(env)
  local function ls(...)
    local src, name = ...
    local ts = type(src)
    if ts ~= 'string' and ts ~= 'number' then
      error("bad argument #1 to 'loadstring' (string expected, got " ..
            got(select('#', ...) > 0, src) .. ')', 2)
    end
    src = tostring(src)
    -- as Redis's Lua: a binary chunk is read as source text (and fails as text does)
    if sbyte(src, 1) == 27 then return loadstring(' ' .. src, name or src) end
    local f, e = loadstring(src, name)
    if f then setfenv(f, env) end
    return f, e
  end
  local function ld(...)
    local fn, name = ...
    if type(fn) ~= 'function' then
      error("bad argument #1 to 'load' (function expected, got " ..
            got(select('#', ...) > 0, fn) .. ')', 2)
    end
    local parts, n = {}, 0
    while true do
      local piece = fn()
      if piece == nil or piece == '' then break end
      if type(piece) ~= 'string' then return nil, 'reader function must return a string' end
      n = n + 1
      parts[n] = piece
    end
    return ls(tconcat(parts), name or '=(load)')
  end
  return ls, ld
end

-- Redis's error handler, a chunk of its own laid out as Redis's @err_handler_def (an error
-- inside it reports that line, as in Redis); frames of C functions and of this bootstrap are
-- passed over to name the script's line
local err_handler = loadstring(py.err_handler_source, '@err_handler_def')(getinfo, materialize,
                                                                         SOURCE)

-- the script time limit (a count hook, as Redis's) ------------------------------------------
local time_check = asf(py.time_check)
local kill_message
local function killed_hook()
  local i = getinfo(2, 'S')
  if i and i.source ~= SOURCE and i.source ~= '@err_handler_def' then
    error({err = kill_message})
  end
end
local function count_hook()
  local m = time_check()
  if m then
    kill_message = m
    sethook(killed_hook, 'l')
    error({err = m})
  end
end

-- the redis API --------------------------------------------------------------------------
local function add_log(r, api)
  r.log = api.log
  r.LOG_DEBUG, r.LOG_VERBOSE, r.LOG_NOTICE, r.LOG_WARNING = 0, 1, 2, 3
  r.REDIS_VERSION = py.version
  r.REDIS_VERSION_NUM = py.version_num
end

local REDIS_API = cfuncs(py.redis)
local function make_redis(for_eval)
  local r = {}
  for _, name in next, {'call', 'pcall', 'setresp', 'sha1hex', 'error_reply', 'status_reply',
                        'set_repl', 'acl_check_cmd'} do
    r[name] = REDIS_API[name]
  end
  add_log(r, REDIS_API)
  r.REPL_NONE, r.REPL_AOF, r.REPL_SLAVE, r.REPL_REPLICA, r.REPL_ALL = 0, 1, 2, 2, 3
  if for_eval then
    r.breakpoint = function() return false end
    r.debug = function() end
    r.replicate_commands = function() return true end
  end
  return r
end

-- libraries (Python C functions) -------------------------------------------------------------
local null = newproxy()
local cjson = cfuncs(py.cjson)
cjson.null = null
cjson._NAME, cjson._VERSION = 'cjson', '2.1.0'
local function setting(...)
  local values = pack(...)
  return function() return unpack(values, 1, values.n) end
end
cjson.encode_keep_buffer = setting(true)
cjson.encode_max_depth = setting(1000)
cjson.decode_max_depth = setting(1000)
cjson.encode_number_precision = setting(14)
cjson.encode_sparse_array = setting(false, 2, 10)
cjson.encode_invalid_numbers = setting(false)
cjson.decode_invalid_numbers = setting(true)

local cmsgpack = cfuncs(py.cmsgpack)
cmsgpack._NAME, cmsgpack._VERSION = 'cmsgpack', 'lua-cmsgpack 0.4.0'
cmsgpack._COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo'
cmsgpack._DESCRIPTION = 'MessagePack C implementation for Lua'

local M = {}
for k, v in next, math do M[k] = v end
for k, f in next, cfuncs(py.math) do M[k] = f end

-- the sandboxes ---------------------------------------------------------------------------
local STRING = protect(string)
local CJSON = protect(cjson)
cjson.new = function() return CJSON end
local shared = {
  string = STRING, table = protect(T), math = protect(M), coroutine = protect(CO),
  cjson = CJSON, cmsgpack = protect(cmsgpack), bit = protect(cfuncs(py.bit)),
  struct = protect(cfuncs(py.struct)),
}
local BUILTINS = {'xpcall', 'tostring', 'setmetatable', 'next', 'assert', 'tonumber',
  'rawequal', 'collectgarbage', 'getmetatable', 'rawset', 'pcall', 'type', 'select',
  'unpack', 'gcinfo', 'pairs', 'rawget', 'ipairs', 'error'}
local function globals(for_eval)
  local G = setmetatable({}, MISSING)
  for _, name in next, BUILTINS do G[name] = S[name] or _G[name] end
  for k, v in next, shared do G[k] = v end
  G._VERSION = _VERSION
  G.redis = protect(make_redis(for_eval))
  return G
end

-- string values: their metatable shows (read-only) the sandbox's string table
getmetatable('').__metatable = protect({__index = STRING})

local EVAL_G = globals(true)
local EVAL_ENV = protect(EVAL_G, protect({__index = missing}))
EVAL_G._G = EVAL_ENV
EVAL_G.__redis__err__handler = err_handler
EVAL_G.loadstring, EVAL_G.load = loaders(EVAL_ENV)

local FN_G = globals(false)
local FN_ENV, FN_MT = protect(FN_G)
FN_G._G = FN_ENV
FN_G.loadstring, FN_G.load = loaders(FN_ENV)

local LOAD_REDIS = setmetatable({register_function = asf(py.register_function)}, MISSING)
add_log(LOAD_REDIS, REDIS_API)
local LOAD_G = setmetatable({redis = protect(LOAD_REDIS)}, MISSING)

-- entry points for Python ------------------------------------------------------------------
local api = {}
api.null = null

function api.compile(code, chunkname, for_eval)
  local f, e = loadstring(code, chunkname)
  if not f then return nil, e end
  setfenv(f, for_eval and EVAL_ENV or FN_ENV)
  return f
end

function api.run(fn, keys, args, for_eval, limited)
  if for_eval then
    rawset(EVAL_G, 'KEYS', keys)
    rawset(EVAL_G, 'ARGV', args)
  end
  if limited then sethook(count_hook, '', 100000) end
  local ok, r
  if for_eval then
    ok, r = xpcall(fn, err_handler)
  else
    ok, r = xpcall(function() return fn(keys, args) end, err_handler)
  end
  if limited then sethook() end
  return ok, r
end

local function load_handler(e) return materialize(e) end
function api.load_library(fn, limited)
  FN_MT.__index = LOAD_G
  backing[FN_ENV] = LOAD_G
  if limited then sethook(count_hook, '', 100000) end
  local ok, e = xpcall(fn, load_handler)
  if limited then sethook() end
  FN_MT.__index = FN_G
  backing[FN_ENV] = FN_G
  return ok, e
end

function api.isfunction(f) return type(f) == 'function' end
function api.where()
  local i = getinfo(3, 'Sl')  -- 1: here, 2: the Python function, 3: the line calling it
  if i and i.currentline > 0 and i.source ~= SOURCE then
    return i.short_src .. ':' .. i.currentline .. ': '
  end
  return ''
end
function api.isnull(v) return v == null end

return api
"""


ERR_HANDLER = b"""local getinfo, materialize, SOURCE = ...
local type, tostring = type, tostring
return function(err)
  err = materialize(err)
  local level = 2
  local i = getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.source == SOURCE) do level = level + 1 i = getinfo(level, 'nSl') end
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}  end  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end  return err
end
"""


def _no_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError(name)


class LuaEngine:
    """The runtime and the bootstrap's entry points; ``callbacks`` are the Python functions
    the sandbox calls (redis.call, the libraries, the time limit...)."""

    def __init__(self, callbacks: dict[str, Any]) -> None:
        self.lua = lua51.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                                    unpack_returned_tuples=True, attribute_filter=_no_attributes)
        lua = self.lua
        self.table_from: Callable[..., Any] = lua.table_from
        py = {}
        for name, value in callbacks.items():
            if isinstance(value, dict):
                value = lua.table_from({k.encode(): v for k, v in value.items()})
            py[name.encode()] = value
        py[b"err_handler_source"] = ERR_HANDLER
        loader = lua.globals().loadstring
        chunk = loader(BOOTSTRAP.encode(), b"=photon")
        if isinstance(chunk, tuple):  # pragma: no cover - a bug in the bootstrap
            raise RuntimeError(chunk[1])
        self.api = chunk(lua.table_from(py))
        self.null = self.api.null
        self._compile = self.api.compile
        self.run = self.api.run
        self.load_library = self.api.load_library
        self.where = self.api.where

    def compile(self, code: bytes, chunkname: bytes, for_eval: bool) -> tuple[Any, bytes | None]:
        """(function, None) or (None, Lua's error message)."""
        if code[:1] == b"\x1b":  # as Redis's Lua: a binary chunk is read (and fails) as text
            code = b" " + code
        result = self._compile(code, chunkname, for_eval)
        if isinstance(result, tuple):
            return None, result[1]
        return result, None
