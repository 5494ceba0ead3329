-- YAML reader for configs, built on libyaml's event stream (the C module `yaml` that Debian's
-- lua-yaml package, lyaml 6.x, installs).  We do not use lyaml.load because configs need three
-- things it drops:
--   * mapping key order (the parameter order defines the Sobol column order),
--   * the source line of every key (error messages point into the file),
--   * whether a number was written as an integer or a float (`[2, 8]` is an integer range,
--     `[0.0, 0.3]` a continuous one; Lua numbers cannot tell 2 from 2.0).
-- That information lives in a weak side table, `yaml.info(node)`, so the data itself is made of
-- plain Lua tables.
--
-- Scalar typing follows PyYAML's safe loader (the reference implementation's), which configs are
-- written against, with two deliberate differences: `1e-5` (no dot) is a float, not a string, and
-- a leading zero does not mean octal.  `null`, `~` and an empty value load as `yaml.null` so that
-- `key: ~` keeps its key.  Anchors, aliases (deep-copied) and `<<` merge keys are supported.

local M = {}

local cyaml = require "yaml"

M.null = setmetatable({}, { __tostring = function() return "null" end })

-- node -> { keys = {k1, k2, ...} (maps only), line = {[k] = line}, kind = {[k] = kind}, at = line }
-- kind: "int" | "float" | "string" | "bool" | "null" for scalars; absent for containers.
local INFO = setmetatable({}, { __mode = "k" })

function M.info(node) return INFO[node] end

-- ordered keys of a mapping loaded by this module (or pairs order, sorted, for other tables)
function M.keys(node)
  local info = INFO[node]
  if info and info.keys then return info.keys end
  local ks = {}
  for k in pairs(node) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

local BOOL = {
  ["true"] = true, ["True"] = true, ["TRUE"] = true, yes = true, Yes = true, YES = true,
  on = true, On = true, ON = true,
  ["false"] = false, ["False"] = false, ["FALSE"] = false, no = false, No = false, NO = false,
  off = false, Off = false, OFF = false,
}
local NULLS = { [""] = true, ["~"] = true, null = true, Null = true, NULL = true }

-- Resolve a plain (unquoted) scalar; returns value, kind.
local function resolve_plain(s)
  if NULLS[s] then return M.null, "null" end
  local b = BOOL[s]
  if b ~= nil then return b, "bool" end
  if s:match("^[-+]?%d[%d_]*$") then return tonumber((s:gsub("_", ""))), "int" end
  if s:match("^0x%x+$") then return tonumber(s:sub(3), 16), "int" end
  local t = s:gsub("_", "")
  local mantissa = t:match("^[-+]?(%d*%.?%d*)[eE][-+]?%d+$") or t:match("^[-+]?(%d*%.%d*)$")
  if mantissa and mantissa:match("%d") then return tonumber(t), "float" end
  local low = s:lower()
  if low == ".inf" or low == "+.inf" then return math.huge, "float" end
  if low == "-.inf" then return -math.huge, "float" end
  if low == ".nan" then return 0 / 0, "float" end
  return s, "string"
end

local TAGGED = {
  ["tag:yaml.org,2002:str"] = function(s) return s, "string" end,
  ["tag:yaml.org,2002:null"] = function() return M.null, "null" end,
  ["tag:yaml.org,2002:bool"] = function(s) local v = BOOL[s]; if v == nil then return nil end; return v, "bool" end,
  ["tag:yaml.org,2002:int"] = function(s) local v = tonumber(s); if v == nil or v % 1 ~= 0 then return nil end; return v, "int" end,
  ["tag:yaml.org,2002:float"] = function(s) local v = tonumber(s); if v == nil then return nil end; return v, "float" end,
}

local function deep_copy(v)
  if type(v) ~= "table" or v == M.null then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = deep_copy(x) end
  local info = INFO[v]
  if info then
    local ci = { at = info.at, line = {}, kind = {} }
    if info.keys then ci.keys = {}; for i, k in ipairs(info.keys) do ci.keys[i] = k end end
    for k, x in pairs(info.line) do ci.line[k] = x end
    for k, x in pairs(info.kind) do ci.kind[k] = x end
    INFO[c] = ci
  end
  return c
end

-- Parse `text` (one YAML document).  `source` names the input in error messages.
-- Returns the root value; raises "source:line:col: message" (level 0, no traceback) on bad YAML.
function M.load(text, source)
  source = source or "<string>"
  local next_event = cyaml.parser(text)
  local ev
  local function fail(msg, mark)
    mark = mark or (ev and ev.start_mark) or { line = 0, column = 0 }
    error(string.format("%s:%d:%d: %s", source, mark.line + 1, mark.column + 1, msg), 0)
  end
  local function advance()
    local ok, e = pcall(next_event)
    if not ok then
      -- libyaml's message: "... at document: 1, line: 2, column: 2\nwhile parsing ..."
      local msg = tostring(e)
      local line, col = msg:match("line: (%d+), column: (%d+)")
      local what = msg:match("^(.-) at document") or msg
      local ctx = msg:match("\n(.*)$")
      if ctx then what = what .. " (" .. ctx:gsub("%s+$", "") .. ")" end
      error(string.format("%s:%s:%s: YAML syntax error: %s", source, line or "?", col or "?", what), 0)
    end
    ev = e
    return e and e.type
  end

  local anchors = {}
  local parse_node -- forward

  local function parse_mapping(start)
    local map, info = {}, { keys = {}, line = {}, kind = {}, at = start.start_mark.line + 1 }
    INFO[map] = info
    if start.anchor then anchors[start.anchor] = { node = map } end
    while true do
      local t = advance()
      if t == "MAPPING_END" then return map end
      local kmark = ev.start_mark
      local key, kkind = parse_node()
      if type(key) == "table" then fail("mapping keys must be scalars", kmark) end
      if key == M.null then key = "null" end
      advance()
      local vmark = ev.start_mark
      local value, vkind = parse_node()
      if key == "<<" then
        -- merge key: copy keys not already present, after the explicit ones (PyYAML semantics)
        local sources = (type(value) == "table" and INFO[value] and INFO[value].keys) and { value } or value
        if type(sources) ~= "table" then fail("'<<' merge value must be a mapping or a list of mappings", vmark) end
        for _, src in ipairs(sources) do
          local sinfo = type(src) == "table" and INFO[src]
          if not (sinfo and sinfo.keys) then fail("'<<' merge value must be a mapping or a list of mappings", vmark) end
          for _, k in ipairs(sinfo.keys) do
            if map[k] == nil then
              map[k] = deep_copy(src[k]); info.keys[#info.keys + 1] = k
              info.line[k] = sinfo.line[k]; info.kind[k] = sinfo.kind[k]
            end
          end
        end
      else
        if map[key] ~= nil and info.line[key] then
          fail(string.format("duplicate key '%s' (first at line %d)", tostring(key), info.line[key]), kmark)
        end
        if map[key] == nil then info.keys[#info.keys + 1] = key end
        map[key] = value
        info.line[key] = kmark.line + 1
        info.kind[key] = vkind
      end
    end
  end

  local function parse_sequence(start)
    local seq, info = {}, { line = {}, kind = {}, at = start.start_mark.line + 1 }
    INFO[seq] = info
    if start.anchor then anchors[start.anchor] = { node = seq } end
    while true do
      local t = advance()
      if t == "SEQUENCE_END" then return seq end
      local mark = ev.start_mark
      local v, kind = parse_node()
      seq[#seq + 1] = v
      info.line[#seq] = mark.line + 1
      info.kind[#seq] = kind
    end
  end

  -- parse the node whose first event is the current `ev`
  function parse_node()
    local e = ev
    local t = e.type
    if t == "SCALAR" then
      local v, kind
      if e.tag and TAGGED[e.tag] then
        v, kind = TAGGED[e.tag](e.value)
        if v == nil then fail(string.format("value '%s' does not match its tag %s", e.value, e.tag), e.start_mark) end
      elseif e.style == "PLAIN" then
        v, kind = resolve_plain(e.value)
      else
        v, kind = e.value, "string"
      end
      if e.anchor then anchors[e.anchor] = { node = v, kind = kind } end
      return v, kind
    elseif t == "MAPPING_START" then
      return parse_mapping(e)
    elseif t == "SEQUENCE_START" then
      return parse_sequence(e)
    elseif t == "ALIAS" then
      local a = anchors[e.anchor]
      if a == nil then fail("unknown alias '*" .. tostring(e.anchor) .. "'", e.start_mark) end
      return deep_copy(a.node), a.kind
    end
    fail("unexpected YAML event " .. tostring(t), e.start_mark)
  end

  assert(advance() == "STREAM_START")
  local t = advance()
  if t == "STREAM_END" then return M.null end -- empty file
  assert(t == "DOCUMENT_START")
  advance()
  local root = parse_node()
  advance() -- DOCUMENT_END
  if advance() ~= "STREAM_END" then fail("expected a single YAML document, found several") end
  return root
end

function M.load_file(path)
  local f, err = io.open(path, "rb")
  if not f then error(string.format("%s: cannot open: %s", path, tostring(err)), 0) end
  local text, rerr = f:read("*a")
  f:close()
  if not text then
    error(string.format("%s: cannot read (%s); expected a YAML file", path, tostring(rerr)), 0)
  end
  return M.load(text, path), text
end

return M
