-- Custom feature formulas written in Lua.
--
--   local features = require "spinlock.features"
--   features.register{ name = "my_feature", family = "summary",
--                      fn = function(traj) return traj:abs():amax() end }       -- traj [M,T,C,G,G]
--   features.register{ name = "edge_energy", family = "temporal",
--                      fn = function(traj) return traj:abs():mean({3, 4, 5}) end } -- -> [M,T]
--
-- A `summary` formula returns a number (or a one-element tensor) per operator; with
-- `names = {...}` it returns a tensor of that many values, stored under those names. A `temporal`
-- formula returns a [M,T] tensor (or [M,T,k] with k names). Results become extra columns
-- appended after the built-in ones, so the width is known before any data is seen.
--
-- Files given with `--features my.lua` or `features.custom: [my.lua]` are run once; every
-- register call they make (or the spec table / list of specs they return) is collected for that
-- extractor. Calls made elsewhere (REPL, a script) go into a process-wide list that every
-- extractor created afterwards picks up.
--
-- Mistakes in a spec, a file that fails to load and a formula that raises are user errors naming
-- the formula (and the operator index when it ran on one); no traceback.
local M = {}

local fmt = string.format

local function user_error(msg)
  require("spinlock").user_error("%s", msg)
end
M.user_error = user_error

local function errtext(e)
  if type(e) == "table" and e.msg then return tostring(e.msg) end
  return tostring(e)
end

local SPEC_KEYS = { "name", "family", "fn", "names", "formula", "meaning", "category" }
M.FAMILIES = { summary = true, temporal = true }

local registered = {}   -- process-wide, registration order
local collector          -- list being filled by load_file, or nil

local function suggest(key, valid)
  return require("spinlock.features.config").suggest(key, valid)
end

--- validates a spec and returns the normalised entry (does not store it)
function M.check(spec, where)
  where = where and (where .. ": ") or ""
  if type(spec) ~= "table" then user_error(fmt("%sfeatures.register expects a table, found %s", where, type(spec))) end
  local name = spec.name
  if type(name) ~= "string" or not name:match("^[%a_][%w_%.%-]*$") then
    user_error(fmt("%sfeatures.register: 'name' must be an identifier-like string (letters, digits, _ . -), found %s",
      where, type(name) == "string" and fmt("%q", name) or tostring(name)))
  end
  for k in pairs(spec) do
    local ok = false
    for _, v in ipairs(SPEC_KEYS) do if v == k then ok = true end end
    if not ok then
      local hint = type(k) == "string" and suggest(k, SPEC_KEYS)
      user_error(fmt("%scustom feature '%s': unknown key '%s'%s", where, name, tostring(k),
        hint and fmt(" (did you mean '%s'?)", hint) or fmt(" (valid: %s)", table.concat(SPEC_KEYS, ", "))))
    end
  end
  local family = spec.family or "summary"
  if not M.FAMILIES[family] then
    user_error(fmt("%scustom feature '%s': family must be \"summary\" or \"temporal\", found %s", where, name,
      tostring(family)))
  end
  if type(spec.fn) ~= "function" then
    user_error(fmt("%scustom feature '%s': 'fn' must be a function(traj), found %s", where, name, type(spec.fn)))
  end
  local names = { name }
  if spec.names ~= nil then
    if type(spec.names) ~= "table" or #spec.names == 0 then
      user_error(fmt("%scustom feature '%s': 'names' must be a non-empty list of strings", where, name))
    end
    names = {}
    for i, n in ipairs(spec.names) do
      if type(n) ~= "string" or n == "" then
        user_error(fmt("%scustom feature '%s': names[%d] must be a non-empty string", where, name, i))
      end
      names[i] = n
    end
  end
  for _, k in ipairs({ "formula", "meaning", "category" }) do
    if spec[k] ~= nil and type(spec[k]) ~= "string" then
      user_error(fmt("%scustom feature '%s': '%s' must be a string", where, name, k))
    end
  end
  return { name = name, family = family, fn = spec.fn, names = names,
           formula = spec.formula or "custom Lua formula", meaning = spec.meaning or "",
           category = spec.category or "custom", source = spec.source or "custom", _checked = true }
end

--- features.register{...}: adds a formula (to the file being loaded, else process-wide)
function M.register(spec)
  local e = M.check(spec)
  local list = collector or registered
  for _, o in ipairs(list) do
    if o.name == e.name then user_error(fmt("custom feature '%s' is registered twice", e.name)) end
  end
  e.source = collector and collector.source or e.source
  list[#list + 1] = e
  return e
end

function M.registered()
  local c = {}
  for i, e in ipairs(registered) do c[i] = e end
  return c
end

function M.clear() registered = {} end

---------------------------------------------------------------------------------------------------
-- files: where they are, and what they were (recorded in a dataset's metadata)

local function is_file(p)
  local fh = io.open(p, "r")
  if fh then fh:close() return true end
  return false
end

--- resolve(path, base) -> the path to open: an absolute path as is; a relative one against the
-- folder `base` (the config file's folder) first, then the working directory.  A file found in
-- neither is a user error that says where it looked.
function M.resolve(path, base)
  if path:sub(1, 1) == "/" then
    if is_file(path) then return path end
    user_error(fmt("custom features file '%s' not found", path))
  end
  local tried = {}
  if base and base ~= "" and base ~= "." then
    local p = base:gsub("/+$", "") .. "/" .. path
    if is_file(p) then return p end
    tried[#tried + 1] = p .. " (relative to the config file)"
  end
  if is_file(path) then return path end
  tried[#tried + 1] = path .. " (relative to the working directory)"
  user_error(fmt("custom features file '%s' not found; looked for %s", path, table.concat(tried, " and ")))
end

--- hash_text(s) -> "fnv1a64:<16 hex digits>" (identifies a formula file's text; not cryptographic)
function M.hash_text(s)
  local bit = require "bit"
  local h = 0xcbf29ce484222325ULL
  local prime = 0x100000001b3ULL
  for i = 1, #s do h = bit.bxor(h, s:byte(i)) * prime end
  return "fnv1a64:" .. bit.tohex(h, 16)
end

--- records(paths) -> { files = {path...}, hashes = {"fnv1a64:..."...} } of the files' current text
function M.records(paths)
  local files, hashes = {}, {}
  for _, p in ipairs(paths or {}) do
    local fh = io.open(p, "rb")
    local text = fh and fh:read("*a") or ""
    if fh then fh:close() end
    files[#files + 1] = p
    hashes[#hashes + 1] = fh and M.hash_text(text) or "missing"
  end
  return { files = files, hashes = hashes }
end

--- runs a Lua file of formulas; returns its entries (register calls and/or returned specs)
function M.load_file(path)
  local fh = io.open(path, "r")
  if not fh then user_error(fmt("custom features file '%s' not found", path)) end
  fh:close()
  local chunk, err = loadfile(path)
  if not chunk then user_error(fmt("custom features file %s", err)) end
  local env = setmetatable({}, { __index = _G })
  env.sl = require "spinlock"
  env.register = M.register
  env.features = require "spinlock.features"
  setfenv(chunk, env)
  local prev = collector
  collector = { source = path }
  local ok, ret = pcall(chunk)
  local got = collector
  collector = prev
  if not ok then user_error(fmt("custom features file '%s' failed: %s", path, errtext(ret))) end
  local out = {}
  for i, e in ipairs(got) do out[i] = e end
  if type(ret) == "table" then
    local list = (ret.name or ret.fn) and { ret } or ret
    for i, spec in ipairs(list) do
      local e = M.check(spec, fmt("%s: returned spec %d", path, i))
      e.source = path
      for _, o in ipairs(out) do
        if o.name == e.name then user_error(fmt("%s: custom feature '%s' is defined twice", path, e.name)) end
      end
      out[#out + 1] = e
    end
  end
  return out
end

---------------------------------------------------------------------------------------------------
-- running a formula

local function shape_str(t)
  local s = {}
  for i, d in ipairs(t:shape()) do s[i] = tostring(d) end
  return "[" .. table.concat(s, ",") .. "]"
end

--- run(entry, traj, op_index) -> float32 tensor: summary [k], temporal [M,T,k]
function M.run(e, traj, op_index)
  local sl = require "spinlock"
  local ok, r = pcall(e.fn, traj)
  local opname = op_index and fmt(" on operator %d", op_index) or ""
  if not ok then
    user_error(fmt("custom feature '%s' (%s, from %s) failed%s: %s", e.name, e.family, e.source, opname, errtext(r)))
  end
  local k = #e.names
  local function bad(found, expected)
    user_error(fmt("custom feature '%s' (%s, from %s)%s returned %s; expected %s", e.name, e.family,
      e.source, opname, found, expected))
  end
  if e.family == "summary" then
    local expect = k == 1 and "a number or a one-element tensor" or fmt("a tensor of %d values", k)
    if type(r) == "number" then
      if k ~= 1 then bad("a number", expect) end
      return sl.tensor({ r }, "float32")
    elseif sl.is_tensor(r) then
      if r:numel() ~= k then bad("a tensor of shape " .. shape_str(r), expect) end
      return r:reshape(k):float()
    end
    bad(type(r) == "boolean" and "a boolean" or type(r), expect)
  end
  local M_, T = traj:size(1), traj:size(2)
  local expect = k == 1 and fmt("a tensor of shape [%d,%d]", M_, T) or fmt("a tensor of shape [%d,%d,%d]", M_, T, k)
  if not sl.is_tensor(r) then bad(type(r), expect) end
  local s = r:shape()
  local okshape = s[1] == M_ and s[2] == T and ((#s == 2 and k == 1) or (#s == 3 and s[3] == k))
  if not okshape then bad("a tensor of shape " .. shape_str(r), expect) end
  return r:reshape(M_, T, k):float()
end

return M
