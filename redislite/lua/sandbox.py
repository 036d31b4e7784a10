"""The Lua side of the scripting sandbox, as Lua source run once per engine.

Redis 7.0 embeds a patched Lua 5.1 whose VM supports read-only tables.
Stock Lua 5.1 (``lupa.lua51``) has none, so protection is built from proxies:

* every library table a script can reach (``redis``, ``string``, ``math``,
  ``cjson``...) is an empty proxy whose ``__index`` is the real table and whose
  ``__newindex`` raises "Attempt to modify a readonly table";
* scripts run with ``setfenv`` on a proxy of the globals table ``G``; ``G``
  itself has an ``__index`` that raises "Script attempted to access nonexistent
  global variable", so a missing global costs nothing until it is missed;
* ``rawset``/``setmetatable``/``getmetatable``/``next``/``pairs``/``ipairs``/
  ``rawget`` see through or refuse proxies, ``loadstring``/``load`` give their
  chunk the sandbox environment and refuse bytecode, and ``pcall`` is Redis's
  (an error table from ``redis.call`` comes back as its message).

Internal frames carry the chunk name ``=redislite``; the error handler and
:func:`where` skip them so positions name the user's line, as Redis reports
the caller of a C function.  ``#t`` on a proxy is 0 (Lua 5.1 has no ``__len``
for tables) -- a documented gap.

The bootstrap takes a table of Python callables (``P``) and returns the API
table the Python engine uses.  Python callables never become reachable from a
script: they stay in upvalues of Lua closures.
"""

BOOT = r'''
local P = ...
local dbg = debug
local getinfo, sethook = dbg.getinfo, dbg.sethook
local rawget_, rawset_, rawequal_, next_, type_, tostring_, tonumber_ = rawget, rawset, rawequal, next, type, tostring, tonumber
local error_, select_, setmetatable_, getmetatable_, setfenv_ = error, select, setmetatable, getmetatable, setfenv
local loadstring_, load_, pcall_, xpcall_, unpack_, ipairs_, pairs_ = loadstring, load, pcall, xpcall, unpack, ipairs, pairs
local string_, math_, table_, coroutine_ = string, math, table, coroutine
local sfind, ssub, sbyte, schar, sformat, sgsub, srep = string.find, string.sub, string.byte, string.char, string.format, string.gsub, string.rep
local floor, huge = math.floor, math.huge
local tconcat, tinsert, tremove, tsort = table.concat, table.insert, table.remove, table.sort
local newproxy_ = newproxy

local INTERNAL = "=redislite"
local RO = "Attempt to modify a readonly table"

-- position of the first user frame above *level*, as luaL_where prints it
local function where(level)
  level = level or 2
  while true do
    local i = getinfo(level + 1, "Sl")
    if not i then return "" end
    if i.what ~= "C" and i.source ~= INTERNAL then
      if i.currentline and i.currentline > 0 then
        return i.short_src .. ":" .. i.currentline .. ": "
      end
      return ""
    end
    level = level + 1
  end
end

local function fail(msg) error_(where(2) .. msg, 0) end

local function typename(v)
  if v == nil then return "no value" end
  return type_(v)
end

-- read-only proxies -----------------------------------------------------
local real_of = setmetatable_({}, {__mode = "k"})
local function ro_newindex() error_(where(2) .. RO, 0) end
local function protect(t)
  local p = {}
  real_of[p] = t
  setmetatable_(p, {__index = t, __newindex = ro_newindex})
  return p
end
local function protected(t) return real_of[t] ~= nil end

local function copy(t)
  local c = {}
  for k, v in pairs_(t) do c[k] = v end
  return c
end

local function missing_global(_, k)
  error_(where(2) .. "Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 0)
end
local ERRMETA = {__index = missing_global}

-- errors ------------------------------------------------------------------
-- luaPushErrorBuff: "-CODE msg" or "msg" -> {err = "CODE msg"}
local function trim(s)
  s = sgsub(s, "^[\r\n]+", "")
  s = sgsub(s, "[\r\n]+$", "")
  return s
end
local function error_table(s)
  local code, msg
  if ssub(s, 1, 1) == "-" then
    local sp = sfind(s, " ", 1, true)
    if not sp then code, msg = "ERR", ssub(s, 2) else code, msg = ssub(s, 2, sp - 1), ssub(s, sp + 1) end
  else
    code, msg = "ERR", s
  end
  return {err = code .. " " .. trim(msg)}
end
local function raise(msg) error_(error_table(msg)) end

-- __redis__err__handler: any error -> {err=..., source=..., line=...}
local py_unwrap = P.unwrap
local function errh(err)
  local level = 2
  local i = getinfo(level, "Sl")
  while i and (i.what == "C" or i.source == INTERNAL) do
    level = level + 1
    i = getinfo(level, "Sl")
  end
  if type_(err) == "userdata" then
    local t, msg, bare = py_unwrap(err)
    if t then
      err = t
    elseif msg then
      local pos = ""
      if not bare and i and i.currentline and i.currentline > 0 then pos = i.short_src .. ":" .. i.currentline .. ": " end
      err = pos .. msg
    end
  end
  if type_(err) ~= "table" or protected(err) then
    err = {err = "ERR " .. tostring_(err)}
  end
  if i and i.currentline and i.currentline > 0 then
    rawset_(err, "source", i.source)
    rawset_(err, "line", i.currentline)
  end
  return err
end

-- builtins that must see through (or refuse) proxies -------------------------
local function check_table(v, n, fname)
  if type_(v) ~= "table" then
    error_(where(3) .. "bad argument #" .. n .. " to '" .. fname .. "' (table expected, got " .. typename(v) .. ")", 0)
  end
end
local function s_next(t, k)
  check_table(t, 1, "next")
  return next_(real_of[t] or t, k)
end
local function s_pairs(t)
  check_table(t, 1, "pairs")
  return s_next, t, nil
end
local function s_ipairs(t)
  check_table(t, 1, "ipairs")
  return ipairs_(real_of[t] or t)
end
local function s_rawget(t, k)
  check_table(t, 1, "rawget")
  return rawget_(real_of[t] or t, k)
end
-- Builtins that can fail on a read-only table are C functions to Lua (Python
-- trampolines, P.make_cf), as in Redis, so "return rawset(_G, k, v)" keeps the
-- user's frame for the error's "script: ..., on @user_script:1." part; the
-- read-only error itself carries no position (luaG_runerror in a C function).
local make_cf = P.make_cf
-- the name a C function was called by, as luaL_argerror prints it ('?' under pcall);
-- called from the Lua body of a make_cf trampoline
local function cname()
  local i = getinfo(4, "n")
  return i and i.name or "?"
end
local function argtype(n, ...)
  if select_("#", ...) < n then return "no value" end
  return type_((select_(n, ...)))
end
local function badarg(n, what)
  return "bad argument #" .. n .. " to '" .. cname() .. "' (" .. what .. ")"
end
local function s_rawset_impl(...)
  local t, k, v = ...
  if type_(t) ~= "table" then return "err", badarg(1, "table expected, got " .. argtype(1, ...)) end
  if select_("#", ...) < 2 then return "err", badarg(2, "value expected") end
  if select_("#", ...) < 3 then return "err", badarg(3, "value expected") end
  if real_of[t] then return "bare", RO end
  local ok, e = pcall_(rawset_, t, k, v)
  if not ok then return "bare", e end
  return "ok", t
end
local string_meta_proxy, global_meta_proxy
-- Python callables (redis.call, load, the libraries...) are lupa userdata sharing
-- one metatable: to scripts they are functions, with no metatable to tamper with.
local PYMETA = getmetatable_(P.make_cf)
local function s_type(...)
  if select_("#", ...) == 0 then error_(where(2) .. "bad argument #1 to 'type' (value expected)", 0) end
  local v = ...
  local t = type_(v)
  if t == "userdata" and getmetatable_(v) == PYMETA then return "function" end
  return t
end
local function s_getmetatable(v)
  if type_(v) == "string" then return string_meta_proxy end
  if type_(v) == "userdata" and getmetatable_(v) == PYMETA then return nil end
  local real = real_of[v]
  if real then
    -- the globals' metatable (Redis: a read-only table with the __index guard)
    if getmetatable_(real) == ERRMETA then return global_meta_proxy end
    return nil
  end
  return getmetatable_(v)
end
local function s_setmetatable_impl(...)
  local t, m = ...
  if type_(t) ~= "table" then return "err", badarg(1, "table expected, got " .. argtype(1, ...)) end
  local tm = type_(m)
  if tm ~= "nil" and tm ~= "table" then return "err", badarg(2, "nil or table expected") end
  local old = dbg.getmetatable(t)
  if old ~= nil and rawget_(old, "__metatable") ~= nil then return "err", "cannot change a protected metatable" end
  if real_of[t] then return "bare", RO end
  return "ok", setmetatable_(t, m)
end
local s_rawset, s_setmetatable = make_cf(s_rawset_impl), make_cf(s_setmetatable_impl)
-- a C library function's argument error, raised from its Lua wrapper: named as
-- the caller called it ('?' under pcall), positioned at a Lua caller only
local function wrapper_error(msg)
  local n, c = getinfo(2, "n"), getinfo(3, "Sl")
  local pos = ""
  if c and c.what ~= "C" and c.source ~= INTERNAL and c.currentline > 0 then
    pos = c.short_src .. ":" .. c.currentline .. ": "
  end
  error_(pos .. sgsub(msg, "%$NAME", n and n.name or "?"), 0)
end
local function s_table_mutator(f, fname)
  return function(...)
    local t = ...
    local nargs = select_("#", ...)
    if type_(t) ~= "table" then
      wrapper_error("bad argument #1 to '$NAME' (table expected, got " .. (nargs == 0 and "no value" or type_(t)) .. ")")
    end
    -- the argument checks of Lua 5.1's tinsert/tremove/tsort, so their errors
    -- name the user's line rather than this wrapper
    if fname == "insert" then
      if nargs ~= 2 and nargs ~= 3 then wrapper_error("wrong number of arguments to 'insert'") end
      if nargs == 3 and tonumber_((select_(2, ...))) == nil then
        wrapper_error("bad argument #2 to '$NAME' (number expected, got " .. type_((select_(2, ...))) .. ")")
      end
    elseif nargs >= 2 then
      local a = select_(2, ...)
      if fname == "sort" and a ~= nil and type_(a) ~= "function" then
        wrapper_error("bad argument #2 to '$NAME' (function expected, got " .. type_(a) .. ")")
      elseif fname == "remove" and a ~= nil and tonumber_(a) == nil then
        wrapper_error("bad argument #2 to '$NAME' (number expected, got " .. type_(a) .. ")")
      end
    end
    local real = real_of[t]
    if real then
      -- Redis's read-only check is on each write: sorting or removing from
      -- a table with no array part writes nothing
      if fname ~= "insert" and #real == 0 then return f({}, select_(2, ...)) end
      error_(RO, 0)
    end
    return f(...)
  end
end
local function redis_pcall_fix(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type_(e) == "userdata" then
    local t, msg = py_unwrap(e)
    if t then e = t elseif msg then return false, msg end
  end
  if type_(e) == "table" then
    local m = rawget_(e, "err")
    local tm = type_(m)
    if tm == "string" or tm == "number" then return false, m end
  end
  return false, e
end
local function s_pcall(...)
  if select_("#", ...) == 0 then
    error_(where(2) .. "bad argument #1 to 'pcall' (value expected)", 0)
  end
  return redis_pcall_fix(pcall_(...))
end

-- Library functions that raise are Python callables (C functions to Lua), so
-- a tail call "return lib.f(...)" keeps the user's frame for the error position,
-- as Redis's C libraries do.  Lua-written ones return (nil, message) on error
-- and go through a Python trampoline (P.make_c).
local ERRMARK = {}
local make_c = P.make_c
local s_random, s_randomseed = P.random, P.randomseed

-- cjson (lua-cjson 2.1 as bundled by Redis), written in Lua so tables are
-- walked and built in the same order as the C library does --------------------
local cjson_null = newproxy_(false)
local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["/"] = "\\/", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}
for c = 0, 31 do
  local ch = schar(c)
  if not escapes[ch] then escapes[ch] = sformat("\\u%04x", c) end
end
escapes["\127"] = "\\u007f"
local function json_string(s)
  return '"' .. sgsub(s, '[%c"\\/]', function(c) return escapes[c] or c end) .. '"'
end
local function json_number(n)
  if n ~= n or n == huge or n == -huge then
    error_("Cannot serialise number: must not be NaN or Inf", 0)
  end
  return sformat("%.14g", n)
end
local encode_value
local function json_table(t, depth, out)
  depth = depth + 1
  if depth > 1000 then error_("Cannot serialise, excessive nesting (" .. depth .. ")", 0) end
  local max, items = 0, 0
  local is_array = true
  for k in next_, t do
    if type_(k) == "number" and k ~= 0 and floor(k) == k and k >= 1 then
      if k > max then max = k end
      items = items + 1
    else
      is_array = false
      break
    end
  end
  if is_array and max > items * 2 and max > 10 then
    error_("Cannot serialise table: excessively sparse array", 0)
  end
  if is_array and max > 0 then
    out[#out + 1] = "["
    for i = 1, max do
      if i > 1 then out[#out + 1] = "," end
      encode_value(rawget_(t, i), depth, out)
    end
    out[#out + 1] = "]"
  else
    out[#out + 1] = "{"
    local first = true
    for k, v in next_, t do
      if not first then out[#out + 1] = "," end
      first = false
      local tk = type_(k)
      if tk == "string" then
        out[#out + 1] = json_string(k)
      elseif tk == "number" then
        out[#out + 1] = '"' .. json_number(k) .. '"'
      else
        error_("Cannot serialise " .. tk .. ": table key must be a number or string", 0)
      end
      out[#out + 1] = ":"
      encode_value(v, depth, out)
    end
    out[#out + 1] = "}"
  end
end
encode_value = function(v, depth, out)
  local t = type_(v)
  if t == "string" then out[#out + 1] = json_string(v)
  elseif t == "number" then out[#out + 1] = json_number(v)
  elseif t == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif t == "nil" or rawequal_(v, cjson_null) then out[#out + 1] = "null"
  elseif t == "table" then json_table(real_of[v] or v, depth, out)
  else error_("Cannot serialise " .. t .. ": type not supported", 0) end
end
local function cjson_encode(...)
  if select_("#", ...) ~= 1 then return nil, "bad argument #1 to 'encode' (expected 1 argument)" end
  local v = ...
  local out = {}
  local ok, e = pcall_(encode_value, v, 0, out)
  if not ok then return nil, e end
  return tconcat(out)
end

local json_decode_value
local function jerr(expected, found, pos)
  error_("Expected " .. expected .. " but found " .. found .. " at character " .. pos, 0)
end
local function skip_ws(s, i)
  local _, e = sfind(s, "^[ \t\r\n]*", i)
  return e + 1
end
-- Numbers are read with C's strtod (lua-cjson with decode_invalid_numbers on,
-- Redis's setting): a sign, "inf"/"infinity"/"nan[(...)]" in any case, hex
-- with an optional binary exponent, leading zeros.  strtod_end is the end
-- (exclusive) of the longest prefix strtod accepts at i, or nil.
local slower = string.lower
local function strtod_end(s, i)
  local j = i
  local c = ssub(s, j, j)
  if c == "+" or c == "-" then j = j + 1 end
  local word = slower(ssub(s, j, j + 2))
  if word == "inf" then
    if slower(ssub(s, j, j + 7)) == "infinity" then return j + 8 end
    return j + 3
  end
  if word == "nan" then
    local _, e = sfind(s, "^%([%w_]*%)", j + 3)
    return e and e + 1 or j + 3
  end
  local digits, k = "^%d*", j
  if sfind(s, "^0[xX]", j) then digits, k = "^%x*", j + 2 end
  local _, e = sfind(s, digits, k)
  local n = e + 1 - k
  k = e + 1
  if ssub(s, k, k) == "." then
    _, e = sfind(s, digits, k + 1)
    n = n + e - k
    k = e + 1
  end
  if n == 0 then
    if digits == "^%x*" then return j + 1 end  -- "0x": strtod reads the 0
    return nil
  end
  _, e = sfind(s, digits == "^%x*" and "^[pP][-+]?%d+" or "^[eE][-+]?%d+", k)
  return e and e + 1 or k
end
-- json_is_invalid_number, for a token not starting with '-' or a digit
local function invalid_number_start(s, i)
  local c = ssub(s, i, i)
  if c == "+" then return true end
  local word = slower(ssub(s, i, i + 2))
  return word == "inf" or word == "nan"
end
local json_string_at
-- the token at i as json_next_token names it in errors, and where: a string
-- token that fails to lex reports its own error and position
local function token_name(s, i)
  local c = ssub(s, i, i)
  if c == "" or c == "\0" then return "T_END", i end
  local names = {["{"] = "T_OBJ_BEGIN", ["}"] = "T_OBJ_END", ["["] = "T_ARR_BEGIN", ["]"] = "T_ARR_END",
                 [":"] = "T_COLON", [","] = "T_COMMA"}
  if names[c] then return names[c], i end
  if c == '"' then
    local ok, e = pcall_(json_string_at, s, i)
    if ok then return "T_STRING", i end
    local found, at = string.match(e, "found (.-) at character (%d+)$")
    return found, tonumber_(at)
  end
  if sfind(c, "[%-%d]") then return strtod_end(s, i) and "T_NUMBER" or "invalid number", i end
  if ssub(s, i, i + 3) == "true" or ssub(s, i, i + 4) == "false" then return "T_BOOLEAN", i end
  if ssub(s, i, i + 3) == "null" then return "T_NULL", i end
  if invalid_number_start(s, i) then return strtod_end(s, i) and "T_NUMBER" or "invalid number", i end
  return "invalid token", i
end
local function jerr_at(expected, s, i)
  local found, at = token_name(s, i)
  jerr(expected, found, at)
end
local function utf8_char(cp)
  if cp < 0x80 then return schar(cp) end
  if cp < 0x800 then return schar(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return schar(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return schar(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end
local unescapes = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"}
json_string_at = function(s, i, expected)
  expected = expected or "value"
  local out = {}
  local j = i + 1
  while true do
    local a, b = sfind(s, '["\\%z]', j)
    if not a or ssub(s, a, a) == "\0" then jerr(expected, "unexpected end of string", a or #s + 1) end
    out[#out + 1] = ssub(s, j, a - 1)
    if ssub(s, a, a) == '"' then return tconcat(out), a + 1 end
    local c = ssub(s, a + 1, a + 1)
    if c == "u" then
      -- json_append_unicode_escape: a surrogate must be a high one followed by \u<low>
      local hex = ssub(s, a + 2, a + 5)
      local cp = sfind(hex, "^%x%x%x%x$") and tonumber_(hex, 16)
      if not cp then jerr(expected, "invalid unicode escape code", a) end
      local nexti = a + 6
      if cp >= 0xD800 and cp <= 0xDFFF then
        local lo = ssub(s, nexti, nexti + 1) == "\\u" and sfind(ssub(s, nexti + 2, nexti + 5), "^%x%x%x%x$")
                   and tonumber_(ssub(s, nexti + 2, nexti + 5), 16)
        if cp >= 0xDC00 or not lo or lo < 0xDC00 or lo > 0xDFFF then
          jerr(expected, "invalid unicode escape code", a)
        end
        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
        nexti = nexti + 6
      end
      out[#out + 1] = utf8_char(cp)
      j = nexti
    elseif unescapes[c] then
      out[#out + 1] = unescapes[c]
      j = a + 2
    else
      jerr(expected, "invalid escape code", a)
    end
  end
end
json_decode_value = function(s, i, depth)
  i = skip_ws(s, i)
  local c = ssub(s, i, i)
  if c == "{" then
    depth = depth + 1
    if depth > 1000 then error_("Found too many nested data structures (" .. depth .. ") at character " .. i, 0) end
    local t = {}
    i = skip_ws(s, i + 1)
    if ssub(s, i, i) == "}" then return t, i + 1 end
    while true do
      i = skip_ws(s, i)
      if ssub(s, i, i) ~= '"' then jerr_at("object key string", s, i) end
      local k
      k, i = json_string_at(s, i, "object key string")
      i = skip_ws(s, i)
      if ssub(s, i, i) ~= ":" then jerr_at("colon", s, i) end
      local v
      v, i = json_decode_value(s, i + 1, depth)
      rawset_(t, k, v)
      i = skip_ws(s, i)
      local d = ssub(s, i, i)
      if d == "}" then return t, i + 1 end
      if d ~= "," then jerr_at("comma or object end", s, i) end
      i = i + 1
    end
  elseif c == "[" then
    depth = depth + 1
    if depth > 1000 then error_("Found too many nested data structures (" .. depth .. ") at character " .. i, 0) end
    local t = {}
    i = skip_ws(s, i + 1)
    if ssub(s, i, i) == "]" then return t, i + 1 end
    local n = 0
    while true do
      local v
      v, i = json_decode_value(s, i, depth)
      n = n + 1
      rawset_(t, n, v)
      i = skip_ws(s, i)
      local d = ssub(s, i, i)
      if d == "]" then return t, i + 1 end
      if d ~= "," then jerr_at("comma or array end", s, i) end
      i = i + 1
    end
  elseif c == '"' then
    return json_string_at(s, i)
  elseif ssub(s, i, i + 3) == "true" then return true, i + 4
  elseif ssub(s, i, i + 4) == "false" then return false, i + 5
  elseif ssub(s, i, i + 3) == "null" then return cjson_null, i + 4
  elseif c == "-" or sfind(c, "^%d") or invalid_number_start(s, i) then
    local e = strtod_end(s, i)
    if not e then jerr("value", "invalid number", i) end
    return tonumber_(ssub(s, i, e - 1)), e
  else
    jerr_at("value", s, i)
  end
end
local function cjson_decode(...)
  if select_("#", ...) ~= 1 then return nil, "bad argument #1 to 'decode' (expected 1 argument)" end
  local s = ...
  if type_(s) == "number" then s = tostring_(s) end
  if type_(s) ~= "string" then return nil, "bad argument #1 to 'decode' (string expected, got " .. typename(s) .. ")" end
  if #s >= 2 and (sbyte(s, 1) == 0 or sbyte(s, 2) == 0) then
    return nil, "JSON parser does not support UTF-16 or UTF-32"
  end
  local ok, v, i = pcall_(json_decode_value, s, 1, 0)
  if not ok then return nil, v end
  i = skip_ws(s, i)
  if i <= #s and ssub(s, i, i) ~= "\0" then
    local found, at = token_name(s, i)
    return nil, "Expected the end but found " .. found .. " at character " .. at
  end
  return v
end
local function cjson_cfg(v) return function(...) return v end end
local cjson = {
  encode = make_c(cjson_encode), decode = make_c(cjson_decode), null = cjson_null,
  encode_keep_buffer = cjson_cfg(true), encode_max_depth = cjson_cfg(1000), decode_max_depth = cjson_cfg(1000),
  encode_number_precision = cjson_cfg(14), encode_sparse_array = function() return false, 2, 10 end,
  encode_invalid_numbers = cjson_cfg(false), decode_invalid_numbers = cjson_cfg(true),
  _NAME = "cjson", _VERSION = "2.1.0",
}
cjson.new = function() return cjson end

-- cmsgpack / struct / bit: Python does the byte work ----------------------------
local cmsgpack = {
  pack = P.msgpack_pack, unpack = P.msgpack_unpack,
  unpack_one = P.msgpack_unpack_one, unpack_limit = P.msgpack_unpack_limit,
  _NAME = "cmsgpack", _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo", _DESCRIPTION = "MessagePack C implementation for Lua",
}
local struct = {pack = P.struct_pack, unpack = P.struct_unpack, size = P.struct_size}
local bit = {}
for _, name in ipairs_({"tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift",
                         "rol", "ror", "bswap"}) do
  bit[name] = P["bit_" .. name]
end

-- the shared builtins -------------------------------------------------------------
local mathcopy = copy(math_)
mathcopy.random = s_random
mathcopy.randomseed = s_randomseed
local tablecopy = copy(table_)
tablecopy.insert = s_table_mutator(tinsert, "insert")
tablecopy.remove = s_table_mutator(tremove, "remove")
tablecopy.sort = s_table_mutator(tsort, "sort")

local LIBS = {
  string = protect(string_), math = protect(mathcopy), table = protect(tablecopy),
  coroutine = protect(coroutine_), cjson = protect(cjson), cmsgpack = protect(cmsgpack),
  struct = protect(struct), bit = protect(bit),
}
-- getmetatable("") must not hand out the real string library table
string_meta_proxy = protect({__index = LIBS.string})
global_meta_proxy = protect(ERRMETA)

local text_load
-- Redis's Lua never loads bytecode: a chunk starting with ESC is lexed as text
-- ("unexpected symbol near 'char(27)'").  Stock 5.1 would undump it, so the
-- first byte is swapped for another one the lexer refuses the same way.
text_load = function(s, name)
  if type_(s) == "string" and sbyte(s, 1) == 27 then
    local f, e = loadstring_("\1" .. ssub(s, 2), name or s)
    if f then return nil, "bytecode loading is not allowed" end   -- not reached: \1 cannot start a chunk
    return nil, (sgsub(e, "near 'char%(1%)'$", "near 'char(27)'"))
  end
  return loadstring_(s, name)
end

local function base_globals(env_ref)
  local G = {
    assert = assert, collectgarbage = collectgarbage, error = error_, gcinfo = gcinfo,
    getmetatable = s_getmetatable, ipairs = s_ipairs, next = s_next, pairs = s_pairs,
    pcall = s_pcall, rawequal = rawequal_, rawget = s_rawget, rawset = s_rawset, select = select_,
    setmetatable = s_setmetatable, tonumber = tonumber_, tostring = tostring_, type = s_type,
    unpack = unpack_, xpcall = xpcall_, _VERSION = _VERSION, __redis__err__handler = errh,
  }
  for k, v in pairs_(LIBS) do G[k] = v end
  local function s_loadstring(s, name)
    local f, e = text_load(s, name)
    if f then setfenv_(f, env_ref[1]) end
    return f, e
  end
  -- luaB_load: a reader function only (Lua 5.1 has no load(string))
  local function s_load_impl(...)
    local fn, name = ...
    if name ~= nil and type_(name) ~= "string" and type_(name) ~= "number" then
      return "err", badarg(2, "string expected, got " .. type_(name))
    end
    if type_(fn) ~= "function" then return "err", badarg(1, "function expected, got " .. argtype(1, ...)) end
    local parts = {}
    while true do
      local ok, piece = pcall_(fn)
      if not ok then return "ok", nil, piece end
      if piece == nil or piece == "" then break end
      local tp = type_(piece)
      if tp ~= "string" and tp ~= "number" then return "ok", nil, "reader function must return a string" end
      parts[#parts + 1] = piece
    end
    local f, e = s_loadstring(tconcat(parts), name or "=(load)")
    if f then return "ok", f end
    return "ok", nil, e
  end
  G.loadstring = s_loadstring
  G.load = make_cf(s_load_impl)
  return G
end

-- the redis.* API ------------------------------------------------------------------
local function add_log_api(r)
  r.log = P.log
  r.LOG_DEBUG, r.LOG_VERBOSE, r.LOG_NOTICE, r.LOG_WARNING = 0, 1, 2, 3
  r.REDIS_VERSION, r.REDIS_VERSION_NUM = P.version, P.version_num
end

local function runtime_redis()
  local r = {}
  r.call = P.call
  r.pcall = P.pcall
  r.error_reply = function(...)
    local s = ...
    if select_("#", ...) ~= 1 or type_(s) ~= "string" then return error_table("wrong number or type of arguments") end
    if ssub(s, 1, 1) ~= "-" then s = "-" .. s end
    return error_table(s)
  end
  r.status_reply = function(...)
    local s = ...
    if select_("#", ...) ~= 1 or type_(s) ~= "string" then return error_table("wrong number or type of arguments") end
    return {ok = s}
  end
  r.sha1hex = P.sha1hex
  r.setresp = P.setresp
  r.set_repl = P.set_repl
  r.replicate_commands = function() return true end
  r.breakpoint = function() return false end
  r.debug = function() end
  r.acl_check_cmd = P.acl_check
  r.REPL_NONE, r.REPL_AOF, r.REPL_SLAVE, r.REPL_REPLICA, r.REPL_ALL = 0, 1, 2, 2, 3
  add_log_api(r)
  return r
end

-- hooks: every 100k instructions ask Python whether to go on -----------------------
local py_tick = P.tick
local KILLED = "Script killed by user with SCRIPT KILL..."
local count_hook
local function kill_hook()
  -- raise only on a user line: never inside the error handler or our own code
  local i = getinfo(2, "S")
  if i and i.what ~= "C" and i.source ~= INTERNAL then
    error_(error_table(KILLED))
  end
end
count_hook = function()
  if py_tick() then
    -- as Redis: fire on every line from now on, so pcall cannot swallow the kill
    sethook(kill_hook, "l")
  end
end
sethook(count_hook, "", 100000)

local API = {}

-- The KEYS and ARGV tables of one EVAL or FCALL (as luaCreateArray): the first
-- nkeys values are the keys, the rest the arguments.
local function split_args(nkeys, ...)
  if nkeys == 1 then return {(...)}, {select_(2, ...)} end
  if nkeys == 0 then return {}, {...} end
  local all = {...}
  local n = select_("#", ...)
  if n == nkeys then return all, {} end
  local keys, args = {}, {}
  for i = 1, nkeys do keys[i] = all[i] end
  for i = nkeys + 1, n do args[i - nkeys] = all[i] end
  return keys, args
end

-- EVAL engine: globals with KEYS/ARGV ---------------------------------------------------
function API.new_eval_env()
  local env_ref = {}
  local G = base_globals(env_ref)
  G.redis = protect(runtime_redis())
  local ENV = protect(G)
  env_ref[1] = ENV
  G._G = ENV
  setmetatable_(G, ERRMETA)
  -- One call per EVAL: fresh KEYS and ARGV, then the script.  G has no
  -- __newindex, so a plain store is a raw one.
  local function run_eval(f, nkeys, ...)
    G.KEYS, G.ARGV = split_args(nkeys, ...)
    -- no hook reset here: the kill hook only ever replaces the count hook when
    -- the script was killed, and Engine.execute resets it then (reset_hook).
    -- Only the first value a script returns counts.
    local ok, r = xpcall_(f, errh)
    return ok, r
  end
  return G, ENV, run_eval
end

-- FUNCTION engine: one env whose globals switch between the load API and the runtime
function API.new_function_env(register)
  local env_ref = {}
  local RUN = base_globals(env_ref)
  RUN.redis = protect(runtime_redis())
  setmetatable_(RUN, ERRMETA)
  local load_redis = {}
  load_redis.register_function = register
  add_log_api(load_redis)
  setmetatable_(load_redis, ERRMETA)
  local LOAD = {redis = protect(load_redis)}
  setmetatable_(LOAD, ERRMETA)
  local meta = {__index = RUN, __newindex = ro_newindex}
  local ENV = setmetatable_({}, meta)
  real_of[ENV] = RUN
  env_ref[1] = ENV
  RUN._G = ENV
  local function set_mode(loading)
    meta.__index = loading and LOAD or RUN
    real_of[ENV] = loading and LOAD or RUN
  end
  return ENV, set_mode
end

function API.compile(code, chunkname, env)
  local f, e = text_load(code, chunkname)
  if not f then return nil, e end
  setfenv_(f, env)
  return f, nil
end

local function finish(ok, r)
  sethook(count_hook, "", 100000)
  return ok, r
end
function API.run(f)
  return finish(xpcall_(f, errh))
end
local function run_function_tables(f, keys, args)
  return finish(xpcall_(function() return f(keys, args) end, errh))
end
API.run_function_tables = run_function_tables
-- FCALL: the keys and arguments come as varargs after nkeys (one Lua call, no
-- tables built from Python); run_function_tables takes them built (huge calls)
function API.run_function(f, nkeys, ...)
  local ok, r = run_function_tables(f, split_args(nkeys, ...))
  return ok, r
end
function API.run_load(f)
  return finish(xpcall_(f, errh))
end

function API.error_table(s) return error_table(s) end
function API.reset_hook() sethook(count_hook, "", 100000) end
function API.is_function(v) return type_(v) == "function" end
function API.is_table(v) return type_(v) == "table" end
function API.is_null(v) return rawequal_(v, cjson_null) end
API.ERRMARK = ERRMARK
API.null = cjson_null
function API.lua_is_number(v) return tonumber_(v) ~= nil end
function API.to_number(v) return tonumber_(v) end
function API.tostring(v) return tostring_(v) end
function API.objlen(t) return #t end
-- called by a Python library function: luaL_where(L, 1), the position of its
-- caller if that is a Lua function ("" under pcall)
function API.c_where()
  local i = getinfo(3, "Sl")
  if i and i.what ~= "C" and i.currentline and i.currentline > 0 then
    return i.short_src .. ":" .. i.currentline .. ": "
  end
  return ""
end
-- called by a Python library function: the name Lua called it by ('?' under pcall)
function API.c_name()
  local i = getinfo(2, "n")
  return i and i.name or "?"
end
return API
'''
