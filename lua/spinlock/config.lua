-- Experiment configuration: load (YAML or Lua), normalise the user's guide shorthand, apply
-- overrides, validate strictly, fill defaults, and hand back one internal form that the rest of the
-- library builds on (documented in docs/configuration.md).
--
-- Design notes
-- * Strict: an unknown key is an error naming the file, the line, the full key path and the
--   nearest valid key.  The reference silently dropped unknown keys (store_trajectories, per-variant
--   IC parameters, ...), which is how its configs came to lie about what they generate.
-- * All problems found in one pass are reported together (one per line), so a user fixes a config
--   in one round.  User mistakes raise a plain string with error(msg, 0): no traceback, no
--   "file.lua:123:" prefix.  `config.try_load` returns nil, msg instead.
-- * Overrides are applied to the document before validation, so they are checked exactly like file
--   contents (the reference assigned them after validation).
-- * Keys the reference accepts but ignores are accepted here with a warning saying they have no
--   effect (see NO_EFFECT below); keys it ignores but we honour are plain schema keys.

local yaml = require "spinlock.yaml"
local cli = require "spinlock.cli"

local M = {}

local NULL = yaml.null
local fmt = string.format

---------------------------------------------------------------------------------------------------
-- small helpers

local function is_int(v) return type(v) == "number" and v == v and v % 1 == 0 and v > -2^53 and v < 2^53 end
local function is_num(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end
local function is_map(v)
  if type(v) ~= "table" or v == NULL then return false end
  local info = yaml.info(v)
  if info then return info.keys ~= nil end
  return next(v) == nil or v[1] == nil
end
local function is_list(v)
  if type(v) ~= "table" or v == NULL then return false end
  local info = yaml.info(v)
  if info then return info.keys == nil end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v and (n > 0 or getmetatable(v) == nil)
end

local function typename(v)
  if v == NULL then return "null" end
  if type(v) == "table" then
    if is_list(v) and (#v > 0 or (yaml.info(v) and yaml.info(v).keys == nil)) then return "a list" end
    return "a mapping"
  end
  if type(v) == "string" then return fmt("string %q", v) end
  return fmt("%s %s", type(v), tostring(v))
end

local function join(path, key)
  if path == "" then return tostring(key) end
  if type(key) == "number" then return fmt("%s[%d]", path, key) end
  return path .. "." .. tostring(key)
end

-- nearest candidate to `key` (ignoring case), or nil when nothing is reasonably close
local function suggest(key, candidates) return cli.nearest(key, candidates, true) end
M._edit_distance = cli.edit_distance

local function copy_list(t) local c = {}; for i, v in ipairs(t) do c[i] = v end; return c end

---------------------------------------------------------------------------------------------------
-- validation context: collects errors and warnings with file/line

local Ctx = {}
Ctx.__index = Ctx

local function new_ctx(source, opts)
  return setmetatable({ source = source, errors = {}, warnings = {}, alias = {}, lines = {},
                        override_of = {}, opts = opts or {} }, Ctx)
end

local function parent_path(p)
  return p:match("^(.*)%[%d+%]$") or p:match("^(.*)%.[^.]*$")
end

-- "file:line: 'key.path'" or "file: override 'name' (key.path)"
function Ctx:where(path, line)
  local p = path
  while p do
    local name = self.override_of[p]
    if name then
      if name == path then return fmt("%s: override '%s'", self.source, path) end
      return fmt("%s: override '%s' (%s)", self.source, name, path)
    end
    p = parent_path(p)
  end
  -- a missing key has no line of its own: point at the nearest enclosing key
  p = path
  while line == nil and p do line = self.lines[p]; p = parent_path(p) end
  local shown = self.alias[path] or path
  if line then return fmt("%s:%d: '%s'", self.source, line, shown) end
  return fmt("%s: '%s'", self.source, shown)
end

function Ctx:err(path, msg, line)
  self.errors[#self.errors + 1] = self:where(path, line) .. ": " .. msg
end

function Ctx:warn(path, msg, line)
  self.warnings[#self.warnings + 1] = self:where(path, line) .. ": " .. msg
end

-- record the line of every key below `node` (called once on the raw document)
local function record_lines(ctx, node, path)
  if type(node) ~= "table" or node == NULL then return end
  local info = yaml.info(node)
  if info then
    for k, l in pairs(info.line) do
      local p = join(path, k)
      if ctx.lines[p] == nil then ctx.lines[p] = l end
    end
  end
  for k, v in pairs(node) do record_lines(ctx, v, join(path, k)) end
end

---------------------------------------------------------------------------------------------------
-- schema description
--
-- A schema node is a table with `t` = "map" | "int" | "number" | "bool" | "string" | "list" |
-- "any"; optional default, required, min, max, gt (exclusive min), lt (exclusive max), enum
-- (strings), of (list element schema), min_len, noeffect (reason string: accepted, warned, dropped).
-- Maps list their fields in order: { t = "map", fields = { {name, schema}, ... } }.

local function S(t, o) o = o or {}; o.t = t; return o end
local function map(fields, o) o = o or {}; o.t = "map"; o.fields = fields; return o end

local NOEFFECT_STRAT = "stratification is not implemented (plain scrambled Sobol is used, as in the reference); this key has no effect"
local NOEFFECT_REFINE = "adaptive refinement is not implemented; this key has no effect"
local NOEFFECT_PAR = "generation runs on one device; parallelism settings have no effect"
local NOEFFECT_PERF = "performance switches have no effect (the engine picks its own kernels)"

local SAMPLING = map({
  { "strategy", S("string", { enum = { "sobol_stratified", "sobol" }, default = "sobol_stratified" }) },
  { "sobol", map({
    { "scramble", S("bool", { default = true }) },
    { "scramble_method", S("string", { enum = { "owen", "lms_shift" }, default = "owen" }) },
    { "seed", S("int", { min = 0, max = 2^53 - 1, default = 42 }) },
  }) },
  { "integer_mapping", S("string", { enum = { "equal_mass", "reference_round" }, default = "equal_mass" }) },
  { "stratification", map({
    { "method", S("string", { enum = { "adaptive", "uniform", "variance_based" }, default = "adaptive" }) },
    { "num_strata_per_dim", S("int", { min = 2, max = 10, default = 4 }) },
    { "min_samples_per_stratum", S("int", { min = 1, default = 10 }) },
  }, { noeffect = NOEFFECT_STRAT }) },
  { "refinement", map({
    { "enabled", S("bool", { default = true }) },
    { "pilot_fraction", S("number", { gt = 0, max = 0.1, default = 0.01 }) },
    { "variance_threshold", S("number", { gt = 0, default = 0.1 }) },
    { "max_iterations", S("int", { min = 1, max = 10, default = 3 }) },
  }, { noeffect = NOEFFECT_REFINE }) },
  { "validation", map({
    { "check_discrepancy", S("bool", { default = true }) },
    { "max_discrepancy", S("number", { min = 0, default = 0.01 }) },
    { "check_correlation", S("bool", { default = true }) },
    { "max_pairwise_correlation", S("number", { min = 0, max = 1, default = 0.05 }) },
  }) },
  { "total_samples", S("int", { min = 1, required = true }) },
  { "batch_size", S("int", { min = 1, default = 1000 }) },
})

-- IC names and their parameters come from the IC module (spinlock.ic: the C generator registry
-- plus its variants), so a config accepts exactly the ICs generation can run.  Required lazily:
-- the IC module needs the engine core.
local num_pos = function(d) return S("number", { gt = 0, default = d }) end
local function icmod() return require "spinlock.ic" end

-- name -> generator: a registry generator, a known variant ("random", gaussian_random_field_v2,
-- multiscale_grf_low, ...), or a generator with a _v<digits>, _low, _mid or _high suffix; nil
-- for anything else (including the methods "mixed" and "sampled").
function M.ic_generator_of(name)
  if type(name) ~= "string" then return nil end
  return icmod().base_of(name)
end

local INPUT_GENERATION_FIELDS = {
  { "method", S("string", { default = "random" }) },
  { "ic_type_weights", S("any") },            -- checked by check_input_generation
  { "length_scale", S("number", { gt = 0, max = 1, default = 0.1 }) },
  { "variance", num_pos(1.0) },
  { "distribution", S("any", { noeffect = "the reference never reads it; this key has no effect" }) },
  { "num_samples_per_operator", S("any", { noeffect = "one IC is drawn per operator; this key has no effect" }) },
  { "spatial_size", S("any", { noeffect = "the IC size is the operator's grid_size; this key has no effect" }) },
}

local SIMULATION = map({
  { "device", S("string", { default = "auto" }) },
  { "precision", S("string", { enum = { "float32", "float16", "bfloat16" }, default = "float32" }) },
  { "num_realizations", S("int", { min = 1, max = 100, default = 10 }) },
  { "num_timesteps", S("int", { min = 1, max = 10000, default = 1 }) },
  { "input_generation", S("any") },            -- checked by check_input_generation
  { "parallelism", map({
    { "strategy", S("string", { default = "data_parallel" }) },
    { "devices", S("any", { default = "auto" }) },
  }, { noeffect = NOEFFECT_PAR }) },
  { "performance", map({
    { "compile", S("bool", { default = false }) },
    { "benchmark_cudnn", S("bool", { default = true }) },
    { "deterministic", S("bool", { default = false }) },
  }, { noeffect = NOEFFECT_PERF }) },
  { "extract_operator_features", S("bool", {
    noeffect = "use `features: {architecture: true}`; this key has no effect" }) },
})

local DATASET = map({
  { "output_path", S("string") },               -- default datasets/<metadata.name>.h5
  { "storage", map({
    { "backend", S("string", { enum = { "hdf5" }, default = "hdf5" }) },
    { "compression", S("string", { enum = { "gzip", "lzf", "none" }, default = "gzip" }) },
    { "compression_level", S("int", { min = 0, max = 9, default = 4 }) },
    { "chunk_size", S("int", { min = 1, default = 1000 }) },
    { "store_trajectories", S("bool", { default = false }) },
    { "trajectory_dtype", S("string", { enum = { "float16", "float32" }, default = "float32" }) },
  }) },
  { "data_to_store", S("any", { noeffect = "what is stored follows `features` and `dataset.storage`; this key has no effect" }) },
  { "metadata", S("any", { noeffect = "metadata is always written in full; this key has no effect" }) },
})

local LOGGING = map({
  { "level", S("string", { enum = { "DEBUG", "INFO", "WARNING", "ERROR" }, default = "INFO" }) },
  { "format", S("string", { enum = { "structured", "plain" }, default = "plain" }) },
  { "output", S("string", { default = "stdout" }) },
  { "metrics", S("any") },
})

M.FEATURE_FAMILIES = { "initial", "architecture", "summary", "temporal" }
M.FEATURE_ALIASES = { ic = "initial", nop = "architecture", sdf = "summary", td = "temporal" }

local TOP = {
  { "version", S("string", { default = "1.0" }) },
  { "metadata", S("any") },                     -- checked by check_metadata (extra keys kept)
  { "parameter_space", S("any") },              -- checked by check_parameter_space
  { "sampling", SAMPLING },
  { "simulation", SIMULATION },
  { "dataset", DATASET },
  { "features", S("any") },                     -- checked by check_features
  { "logging", LOGGING },
}
local TOP_SCHEMA = map(TOP)

local function field_names(schema)
  local names = {}
  for i, f in ipairs(schema.fields) do names[i] = f[1] end
  return names
end

---------------------------------------------------------------------------------------------------
-- generic checker

local check -- forward

local function check_scalar(ctx, v, s, path)
  local t = s.t
  if t == "any" then return v end
  if t == "int" then
    if not is_int(v) then ctx:err(path, "expected an integer, found " .. typename(v)); return nil end
  elseif t == "number" then
    if not is_num(v) then ctx:err(path, "expected a number, found " .. typename(v)); return nil end
  elseif t == "bool" then
    if type(v) ~= "boolean" then ctx:err(path, "expected true or false, found " .. typename(v)); return nil end
    return v
  elseif t == "string" then
    if type(v) == "number" then v = tostring(v) end
    if type(v) ~= "string" then ctx:err(path, "expected a string, found " .. typename(v)); return nil end
    if s.enum then
      local ok = false
      for _, e in ipairs(s.enum) do if e == v then ok = true end end
      if not ok then
        local hint = suggest(v, s.enum)
        ctx:err(path, fmt("expected one of %s, found %q%s", table.concat(s.enum, ", "), v,
                          hint and fmt(" (did you mean '%s'?)", hint) or ""))
        return nil
      end
    end
    return v
  end
  -- numeric bounds
  if s.min and v < s.min then ctx:err(path, fmt("must be >= %s, found %s", tostring(s.min), tostring(v))); return nil end
  if s.max and v > s.max then ctx:err(path, fmt("must be <= %s, found %s", tostring(s.max), tostring(v))); return nil end
  if s.gt and v <= s.gt then ctx:err(path, fmt("must be > %s, found %s", tostring(s.gt), tostring(v))); return nil end
  if s.lt and v >= s.lt then ctx:err(path, fmt("must be < %s, found %s", tostring(s.lt), tostring(v))); return nil end
  return v
end

local function default_of(s)
  if s.t == "map" then
    local out = {}
    for _, f in ipairs(s.fields) do
      local d = default_of(f[2])
      if d ~= nil then out[f[1]] = d end
    end
    return out
  end
  if type(s.default) == "table" then return copy_list(s.default) end
  return s.default
end

local function check_map(ctx, v, s, path)
  if v == nil or v == NULL then return default_of(s) end
  if not is_map(v) then ctx:err(path, "expected a mapping, found " .. typename(v)); return default_of(s) end
  local known = {}
  for _, f in ipairs(s.fields) do known[f[1]] = f[2] end
  local out = {}
  for _, k in ipairs(yaml.keys(v)) do
    if known[k] == nil and not s.open then
      local hint = suggest(tostring(k), field_names(s))
      ctx:err(join(path, k), "unknown key" .. (hint and fmt(" (did you mean '%s'?)", join(path, hint)) or
        fmt(" (valid keys here: %s)", table.concat(field_names(s), ", "))))
    elseif known[k] == nil then
      out[k] = v[k]
    end
  end
  for _, f in ipairs(s.fields) do
    local name, fs = f[1], f[2]
    local x = v[name]
    local p = join(path, name)
    if x ~= nil and fs.noeffect then ctx:warn(p, fs.noeffect) end
    if x == nil or x == NULL then
      if fs.required then ctx:err(p, "is required") end
      out[name] = default_of(fs)
    else
      out[name] = check(ctx, x, fs, p)
      if out[name] == nil then out[name] = default_of(fs) end
    end
  end
  return out
end

function check(ctx, v, s, path)
  if s.t == "map" then return check_map(ctx, v, s, path) end
  if s.t == "list" then
    if not is_list(v) then ctx:err(path, "expected a list, found " .. typename(v)); return nil end
    if s.min_len and #v < s.min_len then ctx:err(path, fmt("needs at least %d element(s)", s.min_len)); return nil end
    local out = {}
    for i, x in ipairs(v) do out[i] = check(ctx, x, s.of, join(path, i)) end
    return out
  end
  return check_scalar(ctx, v, s, path)
end

---------------------------------------------------------------------------------------------------
-- parameter space

M.CATEGORIES = { "architecture", "stochastic", "operator", "evolution" }

-- Semantic constraints on the parameter names the generator understands.  `int`: values must be
-- whole numbers; `values`: allowed choices.
M.KNOWN_PARAMETERS = {
  num_layers = { int = true, min = 1, max = 32 },
  base_channels = { int = true, min = 1, max = 4096 },
  kernel_size = { int = true, min = 1, max = 31, odd = true },
  activation = { values = { "relu", "gelu", "silu", "swish", "tanh", "none" } },
  dropout_rate = { min = 0, lt = 1 },
  noise_type = { values = { "gaussian", "laplace", "multiplicative", "dropout" } },
  noise_scale = { min = 0 },
  noise_schedule = { values = { "constant", "annealing", "periodic" } },
  schedule_period = { int = true, min = 1 },
  spatial_correlation = { min = 0 },
  normalization = { values = { "none", "instance", "batch", "group", "layer" } },
  grid_size = { int = true, min = 8, max = 4096 },
  update_policy = { values = { "autoregressive", "residual", "convex" } },
  alpha = { min = 0, lt = 1 },
  dt = { gt = 0 },
}
-- what the generator uses for a known name that is not in the parameter space (spec §1.3, §5.2)
M.UNSAMPLED_DEFAULTS = { grid_size = 64, update_policy = "residual", dt = 0.01, alpha = 0.5 }

local PARAM_KEYS = {
  integer = { "type", "bounds", "description" },
  continuous = { "type", "bounds", "log_scale", "description" },
  choice = { "type", "choices", "weights", "description" },
  boolean = { "type", "description" },
}
local PARAM_TYPES = { "integer", "continuous", "choice", "boolean" }

-- kinds of list elements as written in YAML ("int"/"float"/...), or guessed for Lua tables
local function elem_kind(list, i)
  local info = yaml.info(list)
  if info and info.kind[i] then return info.kind[i] end
  local v = list[i]
  if type(v) == "number" then return is_int(v) and "int" or "float" end
  if type(v) == "string" then return "string" end
  if type(v) == "boolean" then return "bool" end
  return "other"
end

-- Turn the guide's shorthand into the explicit form.  Returns the explicit spec table (or nil).
--   [lo, hi] ints -> integer; [lo, hi] with a float -> continuous; other lists -> choice;
--   a scalar -> single-value choice; a mapping without `type` -> inferred from choices/bounds.
local function expand_shorthand(ctx, v, path)
  if is_list(v) then
    if #v == 0 then ctx:err(path, "an empty list is not a parameter (give [lo, hi] bounds or a list of choices)"); return nil end
    local all_num, any_float = true, false
    for i = 1, #v do
      local k = elem_kind(v, i)
      if k ~= "int" and k ~= "float" then all_num = false end
      if k == "float" then any_float = true end
    end
    if all_num and #v == 2 then
      return { type = any_float and "continuous" or "integer", bounds = { v[1], v[2] } }
    end
    return { type = "choice", choices = copy_list(v) }
  end
  if is_map(v) then
    if v.type ~= nil then return v end
    local e = {}
    for k, x in pairs(v) do e[k] = x end
    if v.choices ~= nil then e.type = "choice"
    elseif is_list(v.bounds) and #v.bounds == 2 then
      e.type = (elem_kind(v.bounds, 1) == "float" or elem_kind(v.bounds, 2) == "float" or v.log_scale)
               and "continuous" or "integer"
    else
      ctx:err(path, "parameter needs a `type` (integer, continuous, choice or boolean)")
      return nil
    end
    return e
  end
  if v == NULL then ctx:err(path, "parameter has no value"); return nil end
  if type(v) == "table" then ctx:err(path, "expected a parameter mapping or shorthand list, found " .. typename(v)); return nil end
  return { type = "choice", choices = { v } }
end

local function check_param(ctx, name, category, raw, path)
  local v = expand_shorthand(ctx, raw, path)
  if v == nil then return nil end
  local ptype = v.type
  if ptype == "array" then
    ctx:err(join(path, "type"), "array parameters are not supported (the reference mapper rejects them too); use one scalar parameter per element")
    return nil
  end
  if type(ptype) ~= "string" or PARAM_KEYS[ptype] == nil then
    local hint = type(ptype) == "string" and suggest(ptype, PARAM_TYPES)
    ctx:err(join(path, "type"), fmt("expected one of %s, found %s%s", table.concat(PARAM_TYPES, ", "),
      typename(ptype), hint and fmt(" (did you mean '%s'?)", hint) or ""))
    return nil
  end
  local allowed = {}
  for _, k in ipairs(PARAM_KEYS[ptype]) do allowed[k] = true end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local ok = true
  for _, k in ipairs(keys) do
    if not allowed[k] then
      local hint = suggest(tostring(k), PARAM_KEYS[ptype])
      ctx:err(join(path, k), fmt("unknown key for %s %s parameter%s", ptype == "integer" and "an" or "a", ptype,
        hint and fmt(" (did you mean '%s'?)", join(path, hint)) or
        fmt(" (valid keys: %s)", table.concat(PARAM_KEYS[ptype], ", "))))
      ok = false
    end
  end
  local p = { name = name, category = category, type = ptype, description = "" }
  if v.description ~= nil then
    if type(v.description) ~= "string" then ctx:err(join(path, "description"), "expected a string, found " .. typename(v.description)); ok = false
    else p.description = v.description end
  end

  if ptype == "integer" or ptype == "continuous" then
    local b = v.bounds
    local bp = join(path, "bounds")
    if b == nil then ctx:err(bp, fmt("is required for %s %s parameter", ptype == "integer" and "an" or "a", ptype)); return nil end
    if not is_list(b) or #b ~= 2 or not is_num(b[1]) or not is_num(b[2]) then
      ctx:err(bp, "expected [lo, hi] with two numbers, found " .. typename(b)); return nil
    end
    local lo, hi = b[1], b[2]
    if ptype == "integer" and (not is_int(lo) or not is_int(hi)) then
      ctx:err(bp, fmt("integer bounds must be whole numbers, found [%s, %s]", tostring(lo), tostring(hi))); return nil
    end
    if not (lo < hi) then ctx:err(bp, fmt("needs lo < hi, found [%s, %s]", tostring(lo), tostring(hi))); return nil end
    p.bounds = { lo, hi }
    p.lo, p.hi = lo, hi
    if ptype == "continuous" then
      local ls = v.log_scale
      if ls == nil or ls == NULL then ls = false end
      if type(ls) ~= "boolean" then ctx:err(join(path, "log_scale"), "expected true or false, found " .. typename(ls)); return nil end
      if ls and lo <= 0 then ctx:err(bp, fmt("log_scale needs lo > 0, found [%s, %s]", tostring(lo), tostring(hi))); return nil end
      p.log_scale = ls
    end
  elseif ptype == "choice" then
    local c = v.choices
    local cp = join(path, "choices")
    if not is_list(c) or #c == 0 then ctx:err(cp, "expected a non-empty list, found " .. typename(c)); return nil end
    local seen = {}
    for i, x in ipairs(c) do
      if not (type(x) == "string" or is_num(x) or type(x) == "boolean") then
        ctx:err(join(cp, i), "choices must be strings, numbers or booleans, found " .. typename(x)); return nil
      end
      if seen[x] then ctx:err(join(cp, i), fmt("duplicate choice %s", tostring(x))); return nil end
      seen[x] = true
    end
    p.choices = copy_list(c)
    local w = v.weights
    if w ~= nil and w ~= NULL then
      local wp = join(path, "weights")
      if not is_list(w) then ctx:err(wp, "expected a list of numbers, found " .. typename(w)); return nil end
      if #w ~= #c then ctx:err(wp, fmt("has %d weight(s) but there are %d choice(s)", #w, #c)); return nil end
      local sum = 0
      for i, x in ipairs(w) do
        if not is_num(x) then ctx:err(join(wp, i), "expected a number, found " .. typename(x)); return nil end
        if x < 0 then ctx:err(join(wp, i), fmt("weights must be non-negative, found %s", tostring(x))); return nil end
        sum = sum + x
      end
      if math.abs(sum - 1) > 1e-6 then
        ctx:err(wp, fmt("weights must sum to 1 (within 1e-6), found sum %.9g", sum)); return nil
      end
      p.weights = copy_list(w)
    end
  end
  if not ok then return nil end

  -- semantic checks for names the generator understands
  local known = M.KNOWN_PARAMETERS[name]
  if name == "input_channels" or name == "output_channels" then
    ctx:warn(path, "channels are fixed at 3; this parameter is sampled and stored but has no effect")
  elseif known == nil then
    -- A near miss of a name the generator reads is almost surely a typo, and a typo in a
    -- sampled parameter silently changes the dataset (the intended parameter keeps its
    -- default): an error, unless the intended name is declared too.  Names far from every
    -- known one are extra sampled dimensions, which users may want: a warning.
    local best, bestd
    for kn in pairs(M.KNOWN_PARAMETERS) do
      local d = cli.edit_distance(name:lower(), kn)
      if not bestd or d < bestd or (d == bestd and kn < best) then best, bestd = kn, d end
    end
    local declared = ctx.param_names and ctx.param_names[best]
    if bestd and bestd <= 2 and bestd < #best / 2 and not declared then
      ctx:err(path, fmt("not a parameter the generator understands (did you mean '%s'?); a misspelt " ..
        "parameter is sampled but has no effect while '%s' keeps its default. Rename it, or pick a name " ..
        "further from '%s' for an extra sampled dimension", best, best, best))
      return nil
    end
    local hint = bestd and not declared and bestd <= math.max(2, math.floor(#name / 3)) and bestd < #best / 2
    ctx:warn(path, "not a parameter the generator understands; it is sampled and stored but has no effect" ..
      (hint and fmt(" (did you mean '%s'?)", best) or ""))
  else
    local function bad_value(x)
      if known.values then
        for _, a in ipairs(known.values) do if a == x then return nil end end
        local hint = type(x) == "string" and suggest(x, known.values)
        return fmt("%s is not a valid %s (expected one of %s)%s", typename(x), name, table.concat(known.values, ", "),
                   hint and fmt(" (did you mean '%s'?)", hint) or "")
      end
      if not is_num(x) then return fmt("%s must be a number, found %s", name, typename(x)) end
      if known.int and not is_int(x) then return fmt("%s must be a whole number, found %s", name, tostring(x)) end
      if known.min and x < known.min then return fmt("%s must be >= %s, found %s", name, tostring(known.min), tostring(x)) end
      if known.max and x > known.max then return fmt("%s must be <= %s, found %s", name, tostring(known.max), tostring(x)) end
      if known.gt and x <= known.gt then return fmt("%s must be > %s, found %s", name, tostring(known.gt), tostring(x)) end
      if known.lt and x >= known.lt then return fmt("%s must be < %s, found %s", name, tostring(known.lt), tostring(x)) end
      if known.odd and x % 2 == 0 then return fmt("%s must be odd (even kernels shift the grid), found %s", name, tostring(x)) end
      return nil
    end
    if known.values and ptype ~= "choice" then
      ctx:err(join(path, "type"), fmt("%s takes named values: use type choice with choices from %s", name, table.concat(known.values, ", ")))
      return nil
    end
    if known.int and ptype == "continuous" then
      ctx:err(join(path, "type"), fmt("%s is a whole number: use type integer or a choice of integers", name)); return nil
    end
    if ptype == "boolean" then
      ctx:err(join(path, "type"), fmt("%s cannot be a boolean", name)); return nil
    end
    if name == "kernel_size" and ptype == "integer" then
      -- an integer range would include even sizes; keep the odd ones (the guide writes [3, 9])
      local odd = {}
      for k = p.lo, p.hi do if k % 2 == 1 then odd[#odd + 1] = k end end
      ctx:warn(path, fmt("integer range [%d, %d] taken as a choice of the odd sizes %s", p.lo, p.hi, table.concat(odd, ", ")))
      if #odd == 0 then ctx:err(path, "range contains no odd kernel size"); return nil end
      p.type, p.choices, p.bounds, p.lo, p.hi = "choice", odd, nil, nil, nil
    end
    if p.type == "choice" then
      for i, x in ipairs(p.choices) do
        local msg = bad_value(x)
        if msg then ctx:err(join(join(path, "choices"), i), msg); return nil end
      end
    else
      for i, x in ipairs({ p.lo, p.hi }) do
        local msg = bad_value(x)
        if msg then ctx:err(join(join(path, "bounds"), i), msg); return nil end
      end
    end
  end
  return p
end

local function check_parameter_space(ctx, ps, extra_grid)
  local out, flat = {}, {}
  for _, c in ipairs(M.CATEGORIES) do out[c] = {} end
  if ps == nil or ps == NULL then
    ps = {}
  elseif not is_map(ps) then
    ctx:err("parameter_space", "expected a mapping of categories, found " .. typename(ps)); ps = {}
  end
  for _, k in ipairs(yaml.keys(ps)) do
    local known = false
    for _, c in ipairs(M.CATEGORIES) do if c == k then known = true end end
    if not known then
      local hint = suggest(tostring(k), M.CATEGORIES)
      ctx:err(join("parameter_space", k), "unknown parameter category" ..
        (hint and fmt(" (did you mean 'parameter_space.%s'?)", hint) or fmt(" (valid: %s)", table.concat(M.CATEGORIES, ", "))))
    end
  end
  if extra_grid ~= nil then
    -- dataset.grid_size shorthand: a fixed grid, appended to the operator category
    local op = ps.operator
    if op ~= nil and op ~= NULL and is_map(op) and op.grid_size ~= nil then
      ctx:err("dataset.grid_size", "conflicts with parameter_space.operator.grid_size; give only one")
    end
  end
  -- every declared name, so a near-miss check can tell a typo from a deliberate neighbour
  ctx.param_names = { grid_size = extra_grid ~= nil or nil }
  for _, c in ipairs(M.CATEGORIES) do
    local cat = ps[c]
    if is_list(cat) then
      for _, e in ipairs(cat) do if is_map(e) and type(e.name) == "string" then ctx.param_names[e.name] = true end end
    elseif is_map(cat) then
      for _, k in ipairs(yaml.keys(cat)) do ctx.param_names[k] = true end
    end
  end
  if ctx.param_names.noise_type and not ctx.param_names.noise_scale then
    ctx:warn("parameter_space", "noise_type is sampled but noise_scale is not: the stochastic block " ..
      "exists only when both are given (reference convention), so these operators have no noise; add noise_scale")
  end
  local seen, declared = {}, 0
  for _, c in ipairs(M.CATEGORIES) do
    local cat = ps[c]
    local cpath = "parameter_space." .. c
    if cat ~= nil and cat ~= NULL then
      local entries, names = cat, nil
      if is_list(cat) and #cat > 0 then
        -- Lua configs: a list of { name = ..., type = ..., ... } keeps the column order
        entries, names = {}, {}
        for i, e in ipairs(cat) do
          if not is_map(e) or type(e.name) ~= "string" then
            ctx:err(join(cpath, i), "list entries must be parameter tables with a `name` field")
          else
            local spec = {}
            for k, x in pairs(e) do if k ~= "name" then spec[k] = x end end
            if entries[e.name] == nil then names[#names + 1] = e.name end
            entries[e.name] = spec
          end
        end
      end
      if not is_map(entries) then
        ctx:err(cpath, "expected a mapping of parameters, found " .. typename(cat))
      else
        for _, name in ipairs(names or yaml.keys(entries)) do
          local path = join(cpath, name)
          if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
            ctx:err(path, "parameter names must be identifiers (letters, digits, _)")
          elseif seen[name] then
            ctx:err(path, fmt("duplicate parameter name (already in parameter_space.%s)", seen[name]))
          else
            seen[name] = c
            declared = declared + 1
            local p = check_param(ctx, name, c, entries[name], path)
            if p then out[c][#out[c] + 1] = p end
          end
        end
      end
    end
    if c == "operator" and extra_grid ~= nil and not seen.grid_size then
      declared = declared + 1
      local p = check_param(ctx, "grid_size", "operator", extra_grid, "dataset.grid_size")
      if p then out.operator[#out.operator + 1] = p; seen.grid_size = "operator" end
    end
  end
  for _, c in ipairs(M.CATEGORIES) do
    for _, p in ipairs(out[c]) do flat[#flat + 1] = p; p.index = #flat end
  end
  return out, flat, declared
end

---------------------------------------------------------------------------------------------------
-- simulation.input_generation

-- Parameter map of one generator (or variant) block: keys are checked against the registry's
-- parameter names (file/line and a suggestion), then each value and the whole map with the check
-- generation itself runs (spinlock.ic.check_params), so nothing passes here that fails later.
local function check_ic_params(ctx, gen, raw, path)
  if not is_map(raw) then ctx:err(path, "expected a mapping of generator parameters, found " .. typename(raw)); return {} end
  local ic = icmod()
  local names = ic.param_names(gen) or {}
  local known = {}
  for _, n in ipairs(names) do known[n] = true end
  local out, all_ok = {}, true
  for _, k in ipairs(yaml.keys(raw)) do
    local x, kp = raw[k], join(path, k)
    if not known[k] then
      local hint = suggest(tostring(k), names)
      ctx:err(kp, "unknown key" .. (hint and fmt(" (did you mean '%s'?)", join(path, hint)) or
        fmt(" (%s takes: %s)", gen, table.concat(names, ", "))))
      all_ok = false
    else
      local ok, msg = ic.check_params(gen, { [k] = x })
      if ok then out[k] = x
      else ctx:err(kp, (msg:gsub("^" .. gen .. ": ", ""))); all_ok = false end
    end
  end
  if all_ok then
    local ok, msg = ic.check_params(gen, out)   -- rules between keys (e.g. min_width <= max_width)
    if not ok then ctx:err(path, (msg:gsub("^" .. gen .. ": ", ""))) end
  end
  return out
end

local IC_NON_TYPES = { mixed = true, sampled = true }

local function not_an_ic_type(name)
  return fmt("'%s' is a method, not an IC type (%s); list the generators themselves, e.g. " ..
             "{gaussian_random_field: 0.5, structured: 0.5}", name, icmod().METHODS[name])
end

--- The raw simulation.input_generation section the IC module resolves, rebuilt from the normalised
--- one (generation hands this to spinlock.ic.resolve; load() resolves it too, so both agree).
function M.ic_section(ig)
  local raw = { method = ig.method, length_scale = ig.length_scale, variance = ig.variance,
                ic_type_weights = ig.ic_type_weights }
  for name, p in pairs(ig.params or {}) do raw[name] = p end
  return raw
end

local function check_input_generation(ctx, ig)
  local path = "simulation.input_generation"
  local nerr = #ctx.errors
  local fields = {}
  for _, f in ipairs(INPUT_GENERATION_FIELDS) do fields[f[1]] = f[2] end
  if ig == nil or ig == NULL then ig = {} end
  if not is_map(ig) then ctx:err(path, "expected a mapping, found " .. typename(ig)); ig = {} end

  local out = default_of(map(INPUT_GENERATION_FIELDS))
  for _, f in ipairs(INPUT_GENERATION_FIELDS) do
    local k, s = f[1], f[2]
    if ig[k] ~= nil and ig[k] ~= NULL then
      if s.noeffect then ctx:warn(join(path, k), s.noeffect); out[k] = nil
      elseif s.t ~= "any" then
        local v = check(ctx, ig[k], s, join(path, k))
        if v ~= nil then out[k] = v end
      end
    end
  end
  for _, f in ipairs(INPUT_GENERATION_FIELDS) do
    if f[2].noeffect then out[f[1]] = nil end
  end

  local ic_names = icmod().known_names()
  -- method: a method (sampled, mixed) or any IC name
  local method = out.method
  if not IC_NON_TYPES[method] and M.ic_generator_of(method) == nil then
    local cands = { "mixed", "sampled" }
    for _, n in ipairs(ic_names) do cands[#cands + 1] = n end
    local hint = suggest(method, cands)
    ctx:err(join(path, "method"), fmt("unknown IC method %q%s", method, hint and fmt(" (did you mean '%s'?)", hint) or
      " (sampled, mixed, or an IC name: " .. table.concat(ic_names, ", ") .. ")"))
    method = "random"
  end

  -- ic_type_weights: ordered map name -> weight
  local weights, order = {}, {}
  local w = ig.ic_type_weights
  local wpath = join(path, "ic_type_weights")
  if w ~= nil and w ~= NULL then
    if not is_map(w) then ctx:err(wpath, "expected a mapping of IC name -> weight, found " .. typename(w))
    else
      for _, name in ipairs(yaml.keys(w)) do
        local x = w[name]
        if IC_NON_TYPES[name] then
          ctx:err(join(wpath, name), not_an_ic_type(name))
        elseif M.ic_generator_of(tostring(name)) == nil then
          local hint = suggest(tostring(name), ic_names)
          ctx:err(join(wpath, name), "unknown IC type" .. (hint and fmt(" (did you mean '%s'?)", hint) or
            " (a generator or variant name, optionally with a _v<N>, _low, _mid or _high suffix)"))
        elseif not is_num(x) or x < 0 then
          ctx:err(join(wpath, name), "weight must be a non-negative number, found " .. typename(x))
        else
          weights[name] = x; order[#order + 1] = name
        end
      end
    end
  end
  if method ~= "sampled" and #order > 0 then
    ctx:warn(wpath, fmt("has no effect unless method is 'sampled' (method is '%s')", method))
  end

  -- the IC types actually drawn
  local drawn = {}
  if method == "sampled" then
    if #order == 0 then drawn[1] = "gaussian_random_field" else for i, n in ipairs(order) do drawn[i] = n end end
  elseif method == "mixed" then
    drawn = { "gaussian_random_field", "structured" }
  else
    drawn = { method }
  end
  local is_drawn = {}
  for _, n in ipairs(drawn) do is_drawn[n] = true end

  -- per-variant / per-generator parameter maps
  local variant_params = {}
  local valid_here = {}
  for _, f in ipairs(INPUT_GENERATION_FIELDS) do valid_here[#valid_here + 1] = f[1] end
  for _, n in ipairs(ic_names) do valid_here[#valid_here + 1] = n end
  for _, k in ipairs(yaml.keys(ig)) do
    if fields[k] == nil then
      local kp = join(path, tostring(k))
      local gen = M.ic_generator_of(tostring(k))
      if IC_NON_TYPES[k] then
        ctx:err(kp, fmt("'%s' is a method, not an IC generator: parameters go under the generator's own name " ..
                        "(e.g. gaussian_random_field: {length_scale: 0.1})", k))
      elseif gen == nil then
        local hint = suggest(tostring(k), valid_here)
        ctx:err(kp, "unknown key" .. (hint and fmt(" (did you mean '%s'?)", join(path, hint)) or
          " (expected an input_generation setting, or an IC generator / variant name with its parameters)"))
      else
        variant_params[k] = check_ic_params(ctx, gen, ig[k], kp)
        if k ~= gen and not is_drawn[k] then
          ctx:warn(kp, fmt("variant '%s' is not listed in ic_type_weights; its parameters are never used", k))
        end
      end
    end
  end

  out.method = method
  out.ic_type_weights = weights
  out.ic_type_order = order
  out.params = variant_params

  -- Resolve with the IC module, exactly as generation will; the resolved parameters of each
  -- drawn name (variant values, generator map, global GRF settings) fill `mix`.
  local mix = {}
  if #ctx.errors == nerr then
    local ok, plan = pcall(icmod().resolve, M.ic_section(out))
    if not ok then
      ctx:err(path, (tostring(plan):gsub("^simulation%.input_generation:%s*", "")))
    else
      local total = 0
      local wt = {}
      for _, n in ipairs(drawn) do
        wt[n] = method == "sampled" and #order > 0 and weights[n] or 1
        total = total + wt[n]
      end
      if not (total > 0) then
        ctx:err(wpath, "weights must not all be zero")
      else
        for _, n in ipairs(drawn) do
          if wt[n] > 0 then
            local e = icmod().entry(plan, n)
            mix[#mix + 1] = { name = n, generator = e.base, params = e.params, weight = wt[n] / total }
          end
        end
      end
    end
  end
  out.mix = mix
  return out
end

---------------------------------------------------------------------------------------------------
-- metadata, features

local METADATA_FIELDS = { "name", "description", "author", "created" }

local function check_metadata(ctx, md, default_name)
  local out = { name = default_name, description = "", author = "", created = "", extra = {} }
  if md == nil or md == NULL then return out end
  if not is_map(md) then ctx:err("metadata", "expected a mapping, found " .. typename(md)); return out end
  for _, k in ipairs(yaml.keys(md)) do
    local v = md[k]
    local p = join("metadata", k)
    if type(v) == "number" or type(v) == "boolean" then v = tostring(v) end
    local std = false
    for _, f in ipairs(METADATA_FIELDS) do if f == k then std = true end end
    if v == NULL then v = ""
    elseif type(v) ~= "string" then ctx:err(p, "expected a string, found " .. typename(v)); v = nil end
    if v ~= nil then
      if std then out[k] = v else out.extra[k] = v end
    end
  end
  if out.name == nil or out.name == "" then ctx:err("metadata.name", "is required (or give dataset.name)") end
  return out
end

-- The features section has its own schema (family switches plus per-family options), owned by
-- spinlock.features.config; problems are reported through ctx so they carry the file and line.
local function check_features(ctx, f)
  return require("spinlock.features.config").normalize(f ~= NULL and f or nil,
    { report = function(path, msg) ctx:err(path, msg) end })
end

---------------------------------------------------------------------------------------------------
-- shorthand (user's guide "Custom Configurations") and overrides, applied to the raw document

local DATASET_SHORTHAND = {
  name = "metadata.name",
  num_operators = "sampling.total_samples",
  num_realizations = "simulation.num_realizations",
  num_timesteps = "simulation.num_timesteps",
}

local DATASET_SHORTHAND_ORDER = { "name", "num_operators", "num_realizations", "num_timesteps" }

local function get_path(root, path)
  local node = root
  for part in path:gmatch("[^%.]+") do
    if type(node) ~= "table" or node == NULL then return nil end
    node = node[part]
  end
  return node
end

-- set a value at a dotted path in the raw document, creating mappings on the way
local function set_path(ctx, root, path, value, what)
  local parts = {}
  for part in path:gmatch("[^%.]+") do parts[#parts + 1] = part end
  local node, sofar = root, ""
  for i = 1, #parts - 1 do
    sofar = join(sofar, parts[i])
    local nxt = node[parts[i]]
    if nxt == nil or nxt == NULL then
      nxt = {}
      node[parts[i]] = nxt
      if what ~= nil and ctx.override_of[sofar] == nil then ctx.override_of[sofar] = what end
      local info = yaml.info(node)
      if info then info.keys[#info.keys + 1] = parts[i] end
    elseif not is_map(nxt) then
      local who = what and fmt("override '%s'", what) or fmt("'%s'", path)
      ctx.errors[#ctx.errors + 1] = fmt("%s: %s: cannot set '%s' inside %s ('%s')", ctx.source, who, path, typename(nxt), sofar)
      return false
    end
    node = nxt
  end
  local last = parts[#parts]
  local info = yaml.info(node)
  if info and node[last] == nil then info.keys[#info.keys + 1] = last end
  node[last] = value
  return true
end

local function normalise_shorthand(ctx, doc)
  local ds = doc.dataset
  local grid
  if ds ~= nil and ds ~= NULL and is_map(ds) then
    for _, key in ipairs(DATASET_SHORTHAND_ORDER) do
      local target = DATASET_SHORTHAND[key]
      if ds[key] ~= nil then
        if get_path(doc, target) ~= nil then
          ctx:err("dataset." .. key, fmt("conflicts with %s; give only one", target))
        else
          set_path(ctx, doc, target, ds[key], nil)
          ctx.alias[target] = "dataset." .. key
          ctx.lines[target] = ctx.lines["dataset." .. key]
        end
        ds[key] = nil
      end
    end
    if ds.grid_size ~= nil then grid = ds.grid_size; ds.grid_size = nil end
    local info = yaml.info(ds)
    if info then
      local keep = {}
      for _, k in ipairs(info.keys) do if ds[k] ~= nil then keep[#keep + 1] = k end end
      info.keys = keep
    end
  end
  return grid
end

-- named options: the CLI's flags
M.OVERRIDE_NAMES = {
  output = "dataset.output_path",
  output_path = "dataset.output_path",
  device = "simulation.device",
  total_samples = "sampling.total_samples",
  num_operators = "sampling.total_samples",
  batch_size = "sampling.batch_size",
  num_realizations = "simulation.num_realizations",
  num_timesteps = "simulation.num_timesteps",
  seed = "sampling.sobol.seed",
  precision = "simulation.precision",
  store_trajectories = "dataset.storage.store_trajectories",
}

local function apply_overrides(ctx, doc, overrides)
  if overrides == nil then return end
  if type(overrides) ~= "table" then
    error(fmt("config.load: overrides must be a table of path -> value, found %s", type(overrides)), 0)
  end
  local keys = {}
  for k in pairs(overrides) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local v = overrides[k]
    if type(k) ~= "string" then
      ctx.errors[#ctx.errors + 1] = fmt("override keys must be strings, found %s", typename(k))
    elseif v ~= nil then
      local path = M.OVERRIDE_NAMES[k] or k
      local short = path:match("^dataset%.(.*)$")
      if short and DATASET_SHORTHAND[short] then path = DATASET_SHORTHAND[short] end
      if not path:find("%.") and not M.OVERRIDE_NAMES[k] then
        local names = {}
        for n in pairs(M.OVERRIDE_NAMES) do names[#names + 1] = n end
        table.sort(names)
        local hint = suggest(k, names)
        ctx.errors[#ctx.errors + 1] = fmt("override '%s': unknown option%s", k,
          hint and fmt(" (did you mean '%s'?)", hint) or fmt(" (use a dotted key path or one of %s)", table.concat(names, ", ")))
      else
        -- command-line strings are typed like YAML scalars ("200" -> 200, "true" -> true)
        if type(v) == "string" then
          local ok, parsed = pcall(yaml.load, v, "override")
          if ok and parsed ~= nil and type(parsed) ~= "table" then v = parsed end
        end
        if set_path(ctx, doc, path, v, k) then ctx.override_of[path] = k end
      end
    end
  end
end

---------------------------------------------------------------------------------------------------
-- loading

local function basename_noext(path)
  local b = path:match("([^/]+)$") or path
  return (b:gsub("%.[^.]*$", ""))
end

local function load_lua_file(path)
  local chunk, err = loadfile(path)
  if not chunk then error(tostring(err), 0) end -- already "path:line: message"
  setfenv(chunk, setmetatable({}, { __index = _G }))
  local ok, res = pcall(chunk)
  if not ok then error(fmt("%s: error while running the config: %s", path, tostring(res)), 0) end
  if type(res) ~= "table" then error(fmt("%s: a Lua config must return a table, returned %s", path, type(res)), 0) end
  return res
end

-- deep copy of a plain Lua table (Lua configs, so normalisation never mutates the caller's table)
local function plain_copy(v)
  if type(v) ~= "table" or v == NULL then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = plain_copy(x) end
  return c
end

-- Validate a raw document.  `source` names it in messages; `text` is kept for metadata.
local function build(doc, source, text, format, overrides, opts)
  opts = opts or {}
  local ctx = new_ctx(source, opts)
  if doc == NULL or doc == nil then doc = {} end
  if not is_map(doc) then
    error(fmt("%s: the top level of a config must be a mapping, found %s", source, typename(doc)), 0)
  end
  record_lines(ctx, doc, "")
  local grid = normalise_shorthand(ctx, doc)
  apply_overrides(ctx, doc, overrides)

  -- top-level keys
  local top_names = field_names(TOP_SCHEMA)
  local top_known = {}
  for _, n in ipairs(top_names) do top_known[n] = true end
  for _, k in ipairs(yaml.keys(doc)) do
    if not top_known[k] then
      local hint = suggest(tostring(k), top_names)
      ctx:err(tostring(k), "unknown top-level key" .. (hint and fmt(" (did you mean '%s'?)", hint) or
        fmt(" (valid: %s)", table.concat(top_names, ", "))))
    end
  end

  local cfg = {}
  cfg.version = check(ctx, doc.version ~= nil and doc.version ~= NULL and doc.version or "1.0", S("string"), "version") or "1.0"
  cfg.metadata = check_metadata(ctx, doc.metadata, basename_noext(source))
  cfg.parameter_space, cfg.parameters, cfg._declared = check_parameter_space(ctx, doc.parameter_space, grid)
  cfg.sampling = check(ctx, doc.sampling, SAMPLING, "sampling")
  if doc.sampling == nil or doc.sampling == NULL then
    ctx:err("sampling.total_samples", "is required (or give dataset.num_operators)")
  end
  cfg.simulation = check(ctx, doc.simulation, SIMULATION, "simulation")
  local sim = type(doc.simulation) == "table" and doc.simulation ~= NULL and doc.simulation or {}
  cfg.simulation.input_generation = check_input_generation(ctx, sim.input_generation)
  cfg.dataset = check(ctx, doc.dataset, DATASET, "dataset")
  cfg.features = check_features(ctx, doc.features)
  cfg.logging = check(ctx, doc.logging, LOGGING, "logging")

  -- cross-field rules and documented substitutions
  local smp = cfg.sampling
  if smp.sobol.scramble_method == "lms_shift" then
    ctx:warn("sampling.sobol.scramble_method", "lms_shift is not implemented; seeded Owen scrambling is used")
    smp.sobol.scramble_method = "owen"
  end
  if cfg._declared == 0 then
    ctx:err("parameter_space", "defines no parameters (at least one is needed to sample operators)")
  end
  if #cfg.parameters > M.MAX_PARAMETERS then
    ctx:err("parameter_space", fmt("has %d parameters; the Sobol tables cover at most %d", #cfg.parameters, M.MAX_PARAMETERS))
  end
  local dev = cfg.simulation.device
  if not (dev == "auto" or dev == "cpu" or dev == "cuda" or dev:match("^cuda:%d+$")) then
    ctx:err("simulation.device", fmt("expected auto, cpu, cuda or cuda:<index>, found %q", dev))
  end
  local st = cfg.dataset.storage
  if st.compression == "lzf" then
    ctx:warn("dataset.storage.compression", "lzf is an h5py-only filter; gzip is used instead")
    st.compression = "gzip"
  end
  if cfg.dataset.output_path == nil then
    cfg.dataset.output_path = "datasets/" .. (cfg.metadata.name or "dataset") .. ".h5"
  end

  if #ctx.errors > 0 then
    local n = #ctx.errors
    local head = n == 1 and "invalid configuration" or fmt("invalid configuration (%d problems)", n)
    error(head .. ":\n  " .. table.concat(ctx.errors, "\n  "), 0)
  end

  cfg._declared = nil
  cfg.warnings = ctx.warnings
  local warn = opts.warn
  if warn == nil then warn = function(msg) io.stderr:write("warning: ", msg, "\n") end end
  if warn then for _, w in ipairs(ctx.warnings) do warn(w) end end
  cfg.source = { path = source, format = format, text = text }
  cfg.overrides = {}
  if overrides then for k, v in pairs(overrides) do cfg.overrides[k] = v end end
  return cfg
end

M.MAX_PARAMETERS = 64

--- Load and validate a config file (.yaml/.yml, or .lua returning a table).
-- overrides: { ["dotted.key.path"] = value, output = ..., seed = ..., num_operators = ..., ... }
-- opts.warn: function(msg) called per warning (default: print to stderr; false: silent).
-- Raises a plain string (error level 0) describing every problem found.
function M.load(path, overrides, opts)
  if type(path) ~= "string" then error("config.load: expected a file path, found " .. type(path), 0) end
  if path:match("%.lua$") then
    local t = load_lua_file(path)
    local f = io.open(path, "rb"); local text = f and f:read("*a"); if f then f:close() end
    return build(plain_copy(t), path, text, "lua", overrides, opts)
  end
  local doc, text = yaml.load_file(path)
  return build(doc, path, text, "yaml", overrides, opts)
end

--- Same, from YAML text (source names it in messages).
function M.load_string(text, source, overrides, opts)
  source = source or "<string>"
  return build(yaml.load(text, source), source, text, "yaml", overrides, opts)
end

--- Same, from a Lua table (not modified).
function M.from_table(t, source, overrides, opts)
  return build(plain_copy(t), source or "<table>", nil, "table", overrides, opts)
end

--- Protected load: cfg, or nil and the message.
function M.try_load(path, overrides, opts)
  local ok, res = pcall(M.load, path, overrides, opts)
  if ok then return res end
  return nil, tostring(res)
end

--- Flattened parameter list, Sobol column order (architecture, stochastic, operator, evolution;
-- file order within each).  Entries: { index, name, category, type, bounds/lo/hi, log_scale,
-- choices, weights, description }.
function M.parameters(cfg) return cfg.parameters end

function M.parameter(cfg, name)
  for _, p in ipairs(cfg.parameters) do if p.name == name then return p end end
  return nil
end

---------------------------------------------------------------------------------------------------
-- canonical JSON (stored in the dataset metadata; also valid YAML, so it reloads with load_string)

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local map = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
    return map[c] or fmt("\\u%04x", c:byte())
  end) .. '"'
end

local function json_number(x)
  if x ~= x or x == math.huge or x == -math.huge then error("config.to_json: non-finite number", 2) end
  if is_int(x) then return fmt("%d", x) end
  -- shortest text that reads back as the same double
  for digits = 15, 17 do
    local t = fmt("%." .. digits .. "g", x)
    if tonumber(t) == x then return t end
  end
  return fmt("%.17g", x)
end

local function json_value(v)
  local t = type(v)
  if t == "string" then return json_string(v) end
  if t == "number" then return json_number(v) end
  if t == "boolean" then return tostring(v) end
  if v == nil or v == NULL then return "null" end
  if t == "table" then
    if v.__order then
      local parts = {}
      for _, k in ipairs(v.__order) do
        if v[k] ~= nil then parts[#parts + 1] = json_string(k) .. ":" .. json_value(v[k]) end
      end
      return "{" .. table.concat(parts, ",") .. "}"
    end
    if #v > 0 or next(v) == nil and v.__empty_list then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = json_value(x) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local ks = {}
    for k in pairs(v) do ks[#ks + 1] = k end
    table.sort(ks)
    local parts = {}
    for _, k in ipairs(ks) do parts[#parts + 1] = json_string(k) .. ":" .. json_value(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("config.to_json: cannot encode " .. t, 2)
end
M._json_value = json_value

local function ordered(t, order) local o = { __order = order }; for k, v in pairs(t) do o[k] = v end; return o end

local function schema_ordered(v, s)
  if s.t ~= "map" or type(v) ~= "table" then return v end
  local order, o = {}, { __order = nil }
  for _, f in ipairs(s.fields) do
    if not f[2].noeffect and v[f[1]] ~= nil then
      order[#order + 1] = f[1]
      o[f[1]] = schema_ordered(v[f[1]], f[2])
    end
  end
  o.__order = order
  return o
end

--- The fully explicit config (shorthand expanded, defaults filled) as compact JSON with a fixed key
-- order.  Loading it back with config.load_string gives the same parameters and settings.
function M.to_json(cfg)
  local ps = { __order = {} }
  for _, c in ipairs(M.CATEGORIES) do
    local cat = { __order = {} }
    for _, p in ipairs(cfg.parameter_space[c]) do
      local e = { type = p.type }
      local order = { "type" }
      if p.bounds then e.bounds = p.bounds; order[#order + 1] = "bounds" end
      if p.type == "continuous" then e.log_scale = p.log_scale; order[#order + 1] = "log_scale" end
      if p.choices then e.choices = p.choices; order[#order + 1] = "choices" end
      if p.weights then e.weights = p.weights; order[#order + 1] = "weights" end
      if p.description ~= "" then e.description = p.description; order[#order + 1] = "description" end
      e.__order = order
      cat[p.name] = e; cat.__order[#cat.__order + 1] = p.name
    end
    ps[c] = cat; ps.__order[#ps.__order + 1] = c
  end
  local md = { name = cfg.metadata.name, description = cfg.metadata.description, author = cfg.metadata.author,
               created = cfg.metadata.created }
  local mdo = { "name", "description", "author", "created" }
  local extra = {}
  for k in pairs(cfg.metadata.extra) do extra[#extra + 1] = k end
  table.sort(extra)
  for _, k in ipairs(extra) do md[k] = cfg.metadata.extra[k]; mdo[#mdo + 1] = k end

  local sim = schema_ordered(cfg.simulation, SIMULATION)
  local ig = cfg.simulation.input_generation
  local igo = { method = ig.method, length_scale = ig.length_scale, variance = ig.variance }
  local igorder = { "method" }
  if #ig.ic_type_order > 0 then
    igo.ic_type_weights = ordered(ig.ic_type_weights, ig.ic_type_order); igorder[#igorder + 1] = "ic_type_weights"
  end
  igorder[#igorder + 1] = "length_scale"; igorder[#igorder + 1] = "variance"
  local pnames = {}
  for k in pairs(ig.params) do pnames[#pnames + 1] = k end
  table.sort(pnames)
  for _, k in ipairs(pnames) do igo[k] = ig.params[k]; igorder[#igorder + 1] = k end
  igo.__order = igorder
  sim.input_generation = igo

  local smp = schema_ordered(cfg.sampling, SAMPLING)
  local doc = {
    version = cfg.version, metadata = ordered(md, mdo), parameter_space = ps, sampling = smp,
    simulation = sim, dataset = schema_ordered(cfg.dataset, DATASET),
    features = require("spinlock.features.config").to_section(cfg.features), logging = schema_ordered(cfg.logging, LOGGING),
  }
  doc.__order = { "version", "metadata", "parameter_space", "sampling", "simulation", "dataset", "features", "logging" }
  return json_value(doc)
end

return M
