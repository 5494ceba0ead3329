-- Unit-cube values -> parameter values, one Sobol coordinate per parameter (config.parameters order).
--
-- Mapping per type (spec/generation.md §2.2), u in [0, 1):
--   integer     equal_mass (default): floor(lo + u*(hi-lo+1)), clamped to [lo, hi]; every integer
--               gets mass 1/(hi-lo+1).  reference_round: round_half_even(lo + u*(hi-lo)), the
--               reference's rule, whose endpoints get half the mass of interior values.
--   continuous  lo + u*(hi-lo); log_scale: 10^(log10 lo + u*(log10 hi - log10 lo)).
--   choice      no weights: index = min(floor(u*K), K-1).  weights: cumulative c_j = w_1+...+w_j
--               and index = #{j : c_j <= u} (a u on a boundary goes to the next choice), clamped.
--   boolean     u > 0.5.
-- Indices returned to Lua are 1-based; the numeric `values` matrix stores a choice as its
-- 0-based index (so h5py users index the stored `choices` list directly) and a boolean as 0/1.

local ffi = require "ffi"
local sobol = require "spinlock.sobol"

local floor, log10 = math.floor, math.log10

local M = {}

local function round_half_even(x)
  local f = floor(x)
  local d = x - f
  if d > 0.5 then return f + 1 end
  if d < 0.5 then return f end
  return (f % 2 == 0) and f or f + 1
end
M.round_half_even = round_half_even

-- cumulative weights, cached on the parameter spec
local function cumulative(p)
  local c = p._cum
  if c == nil then
    c = {}
    local s = 0
    for i, w in ipairs(p.weights) do s = s + w; c[i] = s end
    p._cum = c
  end
  return c
end

--- Map one unit value.  Returns value, and for choices the 1-based index as a second result.
-- mapping: "equal_mass" (default) or "reference_round" (integers only).
function M.map_value(p, u, mapping)
  local t = p.type
  if t == "integer" then
    local lo, hi = p.lo, p.hi
    if mapping == "reference_round" then
      local v = round_half_even(lo + u * (hi - lo))
      if v < lo then v = lo elseif v > hi then v = hi end
      return v
    end
    local v = floor(lo + u * (hi - lo + 1))
    if v < lo then v = lo elseif v > hi then v = hi end
    return v
  elseif t == "continuous" then
    if p.log_scale then
      local a, b = log10(p.lo), log10(p.hi)
      return 10 ^ (a + u * (b - a))
    end
    return p.lo + u * (p.hi - p.lo)
  elseif t == "choice" then
    local K = #p.choices
    local idx
    if p.weights then
      local c = cumulative(p)
      -- right-side search: count of c_j <= u (K is small; a linear scan is the clearest)
      idx = 0
      for j = 1, K do if c[j] <= u then idx = j end end
      idx = idx + 1
      if idx > K then idx = K end
    else
      idx = floor(u * K) + 1
      if idx > K then idx = K end
      if idx < 1 then idx = 1 end
    end
    return p.choices[idx], idx
  elseif t == "boolean" then
    return u > 0.5
  end
  error("params.map_value: unknown parameter type " .. tostring(t), 2)
end

-- numeric form of a mapped value for the `values` matrix
local function numeric(p, v, idx)
  if p.type == "choice" then return idx - 1 end
  if p.type == "boolean" then return v and 1 or 0 end
  return v
end
M.numeric = numeric

--- Map one row of unit values (Lua table u[1..P]) to { name = value }, { name = choice index }.
function M.map_row(plist, u, mapping)
  local row, index = {}, {}
  for j, p in ipairs(plist) do
    local v, idx = M.map_value(p, u[j], mapping)
    row[p.name] = v
    if idx then index[p.name] = idx end
  end
  return row, index
end

local function plist_of(x)
  if type(x) == "table" and x.parameters and x.sampling then return x.parameters, x.sampling end
  return x, nil
end

--- Sample operators first .. first+count-1 (0-based global indices) of a config.
-- cfg: a config from spinlock.config (or a parameter list plus opts.seed/scramble/integer_mapping).
-- Returns {
--   first, count, P, names = {...},
--   unit   = double[count*P] FFI array, row-major (Sobol values in [0,1)),
--   values = double[count*P] FFI array, row-major (numeric mapped values, see header),
--   rows   = { [r] = { name = value } } for r = 1..count (Lua values: numbers, strings, booleans),
--   index  = { [r] = { name = 1-based choice index } },
-- }
-- The same (config, index) always gives the same row, whatever the range it is generated in.
function M.sample(cfg, first, count, opts)
  opts = opts or {}
  local plist, smp = plist_of(cfg)
  local P = #plist
  local seed = opts.seed or (smp and smp.sobol.seed)
  local scramble = opts.scramble
  if scramble == nil and smp then scramble = smp.sobol.scramble end
  local mapping = opts.integer_mapping or (smp and smp.integer_mapping) or "equal_mass"
  local unit = sobol.array(P, first, count, { seed = seed, scramble = scramble })
  local values = ffi.new("double[?]", math.max(count * P, 1))
  local rows, index = {}, {}
  local u = {}
  for r = 0, count - 1 do
    for j = 1, P do u[j] = unit[r * P + j - 1] end
    local row, idx = M.map_row(plist, u, mapping)
    for j, p in ipairs(plist) do values[r * P + j - 1] = numeric(p, row[p.name], idx[p.name]) end
    rows[r + 1], index[r + 1] = row, idx
  end
  local names = {}
  for j, p in ipairs(plist) do names[j] = p.name end
  return { first = first, count = count, P = P, names = names, unit = unit, values = values,
           rows = rows, index = index }
end

--- Same as sample, with `unit` and `values` as float64 tensors [count, P] (needs the engine).
function M.sample_tensors(cfg, first, count, opts)
  local s = M.sample(cfg, first, count, opts)
  local ok, sl = pcall(require, "spinlock")
  if not ok or type(sl) ~= "table" or not sl.zeros then
    error("params.sample_tensors: tensors need the spinlock engine (run under build/spinlock)", 2)
  end
  local function to_tensor(arr)
    local t = sl.zeros({ count, s.P }, "float64")
    if count > 0 then ffi.copy(ffi.cast("double*", t:ptr()), arr, count * s.P * 8) end
    return t
  end
  s.unit, s.values = to_tensor(s.unit), to_tensor(s.values)
  return s
end

return M
