-- spinlock.ic — initial conditions: IC names → generator + parameters, the per-operator choice of
-- the IC type, and generation (one IC or a batch) through the C generators (engine/core/sl_ic.h).
--
--   local ic = require "spinlock.ic"
--   local plan = ic.resolve(cfg.simulation.input_generation)   -- validates everything up front
--   local name = ic.choose(plan, seed, op_index)               -- e.g. "multiscale_grf_low"
--   local x    = ic.generate(plan, name, seed, op_index, G)    -- float32 [3,G,G]
--   local xs   = ic.generate_batch(plan, names, seed, op_indices, G)  -- [B,3,G,G], OpenMP in C
--   local xs, names = ic.sample_batch(plan, seed, op_indices, G)      -- choose + generate
--
-- Names.  A name is a C generator ("gaussian_random_field", "dla_cluster", …), an alias
-- ("random" = gaussian_random_field), a known variant (gaussian_random_field_v0..v4,
-- multiscale_grf_low/mid/high: the reference configs' intended parameters, which the reference
-- dropped), or any generator followed by _v<digits>, _low, _mid or _high (same generator).
--
-- Parameters, lowest to highest precedence: generator defaults (C) < for gaussian_random_field
-- names, the global input_generation.length_scale / variance < the variant's intended values <
-- input_generation.<generator> < input_generation.<exact name>.  Unknown keys are errors naming
-- the IC and the key (the reference silently dropped them).
--
-- Determinism.  The choice uses the Philox stream (purpose IC-type, operator index) and the field
-- the stream (purpose IC, operator index); both depend only on (seed, operator index, config),
-- never on batching.  Choice names are sorted, so YAML map order does not matter.  The
-- operator index is used as given (the dataset row, 0-based).
local core = require "spinlock.core"
local yaml = require "spinlock.yaml"

local ic = {}

-- Variants with the parameters the reference configs intended (spec/generation.md §1.9).
local VARIANTS = {
  random = { base = "gaussian_random_field", params = {} },
  gaussian_random_field_v0 = { base = "gaussian_random_field", params = { length_scale = 0.05, variance = 0.25 } },
  gaussian_random_field_v1 = { base = "gaussian_random_field", params = { length_scale = 0.05, variance = 0.5 } },
  gaussian_random_field_v2 = { base = "gaussian_random_field", params = { length_scale = 0.05, variance = 1.0 } },
  gaussian_random_field_v3 = { base = "gaussian_random_field", params = { length_scale = 0.05, variance = 2.0 } },
  gaussian_random_field_v4 = { base = "gaussian_random_field", params = { length_scale = 0.05, variance = 4.0 } },
  multiscale_grf_low  = { base = "multiscale_grf", params = { scales = { 0.30, 0.35, 0.40 } } },
  multiscale_grf_mid  = { base = "multiscale_grf", params = { scales = { 0.08, 0.10, 0.12 } } },
  multiscale_grf_high = { base = "multiscale_grf", params = { scales = { 0.02, 0.03, 0.04 } } },
}
ic.VARIANTS = VARIANTS

-- Scalar keys of simulation.input_generation.  `distribution`, `num_samples_per_operator` and
-- `spatial_size` exist in the reference schema but do nothing there; they are accepted and
-- ignored so reference configs load.
local TOP_KEYS = {
  method = true, ic_type_weights = true, length_scale = true, variance = true,
  distribution = true, num_samples_per_operator = true, spatial_size = true,
}

local generators, by_name   -- filled on first use from the C registry

local function registry()
  if not generators then
    generators, by_name = core.ic_generators(), {}
    for _, g in ipairs(generators) do by_name[g.name] = g end
  end
  return generators, by_name
end

-- Base generator of a name, or nil.
local function base_of(name)
  local _, known = registry()
  if known[name] then return name end
  if VARIANTS[name] then return VARIANTS[name].base end
  local stem = name:match("^(.-)_v%d+$") or name:match("^(.-)_low$") or name:match("^(.-)_mid$")
               or name:match("^(.-)_high$")
  if stem and known[stem] then return stem end
  if stem and VARIANTS[stem] then return VARIANTS[stem].base end
  return nil
end

-- "mixed" and "sampled" are methods (a choice of IC types), not IC types themselves.
local METHODS = { mixed = "each operator draws gaussian_random_field or structured with equal weight",
                  sampled = "each operator draws from ic_type_weights" }
ic.METHODS = METHODS

local function unknown_name(name, where)
  if METHODS[name] then
    error(("%s: '%s' is a method (%s), not an initial condition; it can only be the value of method")
          :format(where, name, METHODS[name]), 0)
  end
  local _, known = registry()
  local list = {}
  for k in pairs(known) do list[#list + 1] = k end
  table.sort(list)
  error(("%s: unknown initial condition '%s' (generators: %s; variants add _v<n>, _low, _mid, _high)")
        :format(where, tostring(name), table.concat(list, ", ")), 0)
end

-- YAML null (`~`, `null`, an empty value: spinlock.yaml's null, or lyaml's for tables built with
-- lyaml) counts as unset.
local function is_null(v)
  return v == nil or v == yaml.null or (type(v) == "table" and tostring(v) == "lyaml.null")
end

-- YAML null or false → false, the binding's "unset"; lists are copied.
local function plain(v)
  if type(v) == "table" then
    if is_null(v) then return false end
    local out = {}
    for i, x in ipairs(v) do out[i] = x end
    return out
  end
  if v == nil then return false end
  return v
end

local function merge_into(dst, src)
  for k, v in pairs(src or {}) do dst[k] = plain(v) end
end


-- Builds the entry {name, base, params} of a name under the plan's config and validates it.
local function make_entry(plan, name)
  local base = base_of(name)
  if not base then unknown_name(name, "simulation.input_generation") end
  local cfg, params = plan.config, {}
  if base == "gaussian_random_field" then
    if not is_null(cfg.length_scale) then params.length_scale = cfg.length_scale end
    if not is_null(cfg.variance) then params.variance = cfg.variance end
  end
  if VARIANTS[name] then merge_into(params, VARIANTS[name].params) end
  local base_map, own_map = cfg[base], cfg[name]
  if base ~= name and type(base_map) == "table" then merge_into(params, base_map) end
  if type(own_map) == "table" then merge_into(params, own_map) end
  local ok, err = pcall(core.ic_check, base, params)
  if not ok then
    err = tostring(err):gsub("^ic: ", "")
    if base ~= name then err = err:gsub("^" .. base .. ":", name .. " (" .. base .. "):") end
    error("simulation.input_generation: " .. err, 0)
  end
  return { name = name, base = base, params = params }
end

-- Returns the entry of `name` (resolving and caching it on first use).
function ic.entry(plan, name)
  local e = plan.entries[name]
  if not e then
    e = make_entry(plan, name)
    plan.entries[name] = e
  end
  return e
end

--- Base generator of an IC name ("multiscale_grf_low" → "multiscale_grf", "random" →
--- "gaussian_random_field"), or nil when generation cannot run it.  The config checks names with
--- this, so what a config accepts is exactly what generation runs.
ic.base_of = base_of

--- Every name generation accepts without a suffix: the C generators and the known variants
--- (sorted), e.g. for "did you mean" suggestions.
function ic.known_names()
  local gens = registry()
  local out = {}
  for _, g in ipairs(gens) do out[#out + 1] = g.name end
  for name in pairs(VARIANTS) do out[#out + 1] = name end
  table.sort(out)
  return out
end

--- Parameter names of generator `base` (registry order), or nil for an unknown generator.
function ic.param_names(base)
  local _, known = registry()
  local g = known[base]
  if not g then return nil end
  local out = {}
  for i, p in ipairs(g.params) do out[i] = p.name end
  return out
end

--- Checks the parameter map of generator `base` like generation will: true, or nil and the
--- message ("localized: parameter 'num_blobs' must lie in [1, 1024], got 0").
function ic.check_params(base, params)
  local t = {}
  merge_into(t, params)
  local ok, err = pcall(core.ic_check, base, t)
  if ok then return true end
  return nil, (tostring(err):gsub("^ic: ", ""))
end

--- Validates simulation.input_generation and returns a plan: the choice table (sorted names and
--- their weights) and the resolved entry of every name the config can produce.
function ic.resolve(cfg)
  if is_null(cfg) then cfg = {} end
  if type(cfg) ~= "table" then error("simulation.input_generation must be a map", 0) end
  local plan = { config = cfg, entries = {}, names = {}, weights = {} }
  -- Every map-valued key is an IC override block; scalar keys must be known.
  for k, v in pairs(cfg) do
    if type(k) ~= "string" then error("simulation.input_generation: keys must be strings", 0) end
    if not TOP_KEYS[k] then
      if type(v) ~= "table" then
        if base_of(k) then
          error(("simulation.input_generation.%s must be a map of parameters, got %s"):format(k, type(v)), 0)
        end
        error(("simulation.input_generation: unknown key '%s'"):format(k), 0)
      end
      if not base_of(k) then unknown_name(k, "simulation.input_generation") end
    end
  end
  local method = is_null(cfg.method) and "random" or cfg.method
  if type(method) ~= "string" then error("simulation.input_generation.method must be a string", 0) end
  plan.method = method
  local weights = {}
  if method == "sampled" then
    local w = cfg.ic_type_weights
    if is_null(w) or next(w) == nil then w = { gaussian_random_field = 1 } end
    if type(w) ~= "table" then error("simulation.input_generation.ic_type_weights must be a map", 0) end
    for name, x in pairs(w) do
      if type(x) ~= "number" or x < 0 or x ~= x or x == math.huge then
        error(("simulation.input_generation.ic_type_weights.%s must be a number >= 0, got %s")
              :format(tostring(name), tostring(x)), 0)
      end
      weights[name] = x
    end
  elseif method == "mixed" then
    -- The reference gave the first half of each batch GRFs and the rest structured ICs (batch-
    -- dependent); here each operator draws one of the two with equal weight.
    weights = { gaussian_random_field = 1, structured = 1 }
  else
    weights = { [method] = 1 }
  end
  for name in pairs(weights) do plan.names[#plan.names + 1] = name end
  table.sort(plan.names)
  local total = 0
  for i, name in ipairs(plan.names) do
    plan.weights[i] = weights[name]
    total = total + weights[name]
    ic.entry(plan, name)
  end
  if not (total > 0) then error("simulation.input_generation.ic_type_weights: all weights are zero", 0) end
  -- Override blocks of names that are not drawn are still validated (typos fail early).
  for k, v in pairs(cfg) do
    if not TOP_KEYS[k] and type(v) == "table" then ic.entry(plan, k) end
  end
  return plan
end

--- The IC name of operator op_index: a weighted draw from the IC-type stream.
function ic.choose(plan, seed, op_index)
  if #plan.names == 1 then return plan.names[1] end
  return plan.names[core.ic_choose(plan.weights, seed, op_index)]
end

local function check_grid(G, where)
  if type(G) ~= "number" or G ~= math.floor(G) or G < 8 then
    error(("%s: grid size must be an integer >= 8, got %s"):format(where, tostring(G)), 3)
  end
end

--- One IC, float32 [3,G,G].  `out` (optional) receives it in place.
function ic.generate(plan, name, seed, op_index, G, out)
  check_grid(G, "ic.generate")
  local e = ic.entry(plan, name)
  out = out or core.zeros({ 3, G, G })
  return core.ic_generate(out, e.base, e.params, seed, op_index)
end

--- ICs of many operators, float32 [B,3,G,G]: row i is ic.generate(plan, names[i], seed,
--- op_indices[i], G), computed in parallel in C.
function ic.generate_batch(plan, names, seed, op_indices, G, out)
  check_grid(G, "ic.generate_batch")
  if #names ~= #op_indices then
    error(("ic.generate_batch: %d names but %d operator indices"):format(#names, #op_indices), 2)
  end
  local specs = {}
  for _, name in ipairs(names) do
    if not specs[name] then
      local e = ic.entry(plan, name)
      specs[name] = { generator = e.base, params = e.params }
    end
  end
  out = out or core.zeros({ #names, 3, G, G })
  return core.ic_generate_batch(out, specs, names, seed, op_indices)
end

--- Chooses and generates the ICs of operators op_indices: returns the [B,3,G,G] tensor and the
--- list of drawn names (what /metadata/ic_types records).
function ic.sample_batch(plan, seed, op_indices, G, out)
  local names = {}
  for i, op in ipairs(op_indices) do names[i] = ic.choose(plan, seed, op) end
  return ic.generate_batch(plan, names, seed, op_indices, G, out), names
end

--- Every generator and variant with its parameters: { {name, base, doc, standardized,
--- params = { {name, kind, default, nullable, min, max | options, doc}, ... }}, ... }.
--- Variants list the generator's parameters with their intended defaults.
function ic.names()
  local gens = registry()
  local out = {}
  for _, g in ipairs(gens) do
    out[#out + 1] = { name = g.name, base = g.name, doc = g.doc, standardized = g.standardized,
                      params = g.params }
  end
  local vnames = {}
  for name in pairs(VARIANTS) do vnames[#vnames + 1] = name end
  table.sort(vnames)
  local _, known = registry()
  for _, name in ipairs(vnames) do
    local v, g = VARIANTS[name], known[VARIANTS[name].base]
    local params = {}
    for i, p in ipairs(g.params) do
      local q = {}
      for k, x in pairs(p) do q[k] = x end
      if v.params[p.name] ~= nil then q.default = v.params[p.name] end
      params[i] = q
    end
    out[#out + 1] = { name = name, base = g.name, doc = g.doc, standardized = g.standardized, params = params }
  end
  return out
end

return ic
