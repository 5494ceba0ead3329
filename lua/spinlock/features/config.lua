-- The `features` section of an experiment config: validation and normalised form.
--
-- Design notes
-- * The family switches stay booleans in the normalised form (`f.initial == true`), so code that
--   only asks "is this family on?" keeps working; everything else lives under `f.options`.
-- * A family may be written as a boolean (`summary: false`) or as a mapping with `enabled` and
--   its options (`summary: {categories: {nonlinear: true}}`); the guide's names ic/nop/sdf/td are
--   aliases of initial/architecture/summary/temporal.
-- * Unknown keys are errors that name the full key path and the nearest valid key, like the
--   experiment config loader; all problems are collected and raised together.
-- * Options of the catalog modules (features.summary.frame, features.summary.trajectory,
--   features.initial.*, features.architecture.*) are checked against the module's `config_keys`
--   list when it has one; a module without one takes no options.
local M = {}

local fmt = string.format

M.FAMILIES = { "initial", "architecture", "summary", "temporal" }
M.ALIASES = { ic = "initial", nop = "architecture", sdf = "summary", td = "temporal" }

-- per-frame categories (frame.lua) and per-trajectory categories (trajectory.lua), column order
M.FRAME_CATEGORIES = { "spatial", "spectral", "cross_channel", "distributional", "structural",
                       "physics", "morphological", "multiscale" }
M.CORE_FRAME_CATEGORIES = { spatial = true, spectral = true, cross_channel = true }
M.TRAJ_CATEGORIES = { "temporal", "causality", "invariant_drift", "nonlinear", "operator_sensitivity" }
M.SUMMARY_CATEGORIES = {}
for _, c in ipairs(M.FRAME_CATEGORIES) do M.SUMMARY_CATEGORIES[#M.SUMMARY_CATEGORIES + 1] = c end
for _, c in ipairs(M.TRAJ_CATEGORIES) do M.SUMMARY_CATEGORIES[#M.SUMMARY_CATEGORIES + 1] = c end
M.DEFAULT_OFF = { nonlinear = true }
-- per-trajectory categories whose value is one per operator (broadcast over realizations): they
-- are stored once, with the first realization aggregation, since std/cv would be identically 0
M.PER_OPERATOR_CATEGORIES = { operator_sensitivity = true }

M.TEMPORAL_METHODS = { "mean", "std", "min", "max", "cv" }
M.REALIZATION_METHODS = { "mean", "std", "min", "max", "cv" }
-- derived curves of TEMPORAL, column order; `variance` is always column 1 (the guide's example 4)
M.DERIVED = { "variance", "energy", "total_variance", "mean", "change_rate" }

M.DEFAULTS = {
  temporal_aggregation = { "mean", "std" },       -- core per-frame categories
  extra_temporal_aggregation = { "mean" },        -- the other per-frame categories
  realization_aggregation = { "mean", "std", "cv" },
  temporal_categories = { "spatial", "spectral", "cross_channel" },
  derived = M.DERIVED,
}

---------------------------------------------------------------------------------------------------

-- nearest candidate (ignoring case), or nil when nothing is close
function M.suggest(key, candidates)
  return require("spinlock.cli").nearest(tostring(key), candidates, true)
end

local yaml_ok, yaml = pcall(require, "spinlock.yaml")
local NULL = yaml_ok and yaml.null or {}

-- keys of a map in file order when the YAML reader kept it, else sorted (Lua tables)
local function keys_of(t)
  if yaml_ok then
    local info = yaml.info(t)
    if info and info.keys then return yaml.keys(t) end
  end
  local ks = {}
  for k in pairs(t) do if k ~= "__order" then ks[#ks + 1] = k end end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

local function is_map(v)
  if type(v) ~= "table" or v == NULL then return false end
  if yaml_ok then
    local info = yaml.info(v)
    if info then return info.keys ~= nil end
  end
  return next(v) == nil or v[1] == nil
end

local function is_list(v)
  if type(v) ~= "table" or v == NULL then return false end
  if yaml_ok then
    local info = yaml.info(v)
    if info then return info.keys == nil end
  end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

local function describe(v)
  if v == NULL then return "null" end
  if type(v) == "table" then return is_list(v) and #v > 0 and "a list" or "a mapping" end
  if type(v) == "string" then return fmt("string %q", v) end
  return fmt("%s %s", type(v), tostring(v))
end

local function copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = copy(v) end
  return c
end

---------------------------------------------------------------------------------------------------

local Errs = {}
Errs.__index = Errs
local function new_errs(source, report) return setmetatable({ source = source, list = {}, report = report }, Errs) end
function Errs:add(path, msg)
  if self.report then self.report(path, msg); return end
  self.list[#self.list + 1] = fmt("'%s': %s", path, msg)
end
function Errs:unknown(path, key, valid, what)
  local hint = M.suggest(key, valid)
  self:add(path .. "." .. tostring(key), (what or "unknown key") .. (hint and fmt(" (did you mean '%s.%s'?)", path, hint)
    or fmt(" (valid: %s)", table.concat(valid, ", "))))
end
function Errs:raise()
  if #self.list == 0 then return end
  local n = #self.list
  local head = n == 1 and "invalid features configuration" or fmt("invalid features configuration (%d problems)", n)
  if self.source then head = self.source .. ": " .. head end
  -- a user error (cli prints it without a traceback); tostring() gives the text
  require("spinlock").user_error("%s", head .. ":\n  " .. table.concat(self.list, "\n  "))
end

local function check_bool(errs, path, v)
  if type(v) ~= "boolean" then errs:add(path, "expected true or false, found " .. describe(v)); return nil end
  return v
end

-- list of method names, each from `allowed`, no duplicates
local function check_methods(errs, path, v, allowed)
  if type(v) == "string" then v = { v } end
  if not is_list(v) or #v == 0 then
    errs:add(path, fmt("expected a non-empty list of %s, found %s", table.concat(allowed, "/"), describe(v)))
    return nil
  end
  local out, seen = {}, {}
  for i, m in ipairs(v) do
    local ok = false
    for _, a in ipairs(allowed) do if a == m then ok = true end end
    if not ok then
      local hint = type(m) == "string" and M.suggest(m, allowed)
      errs:add(fmt("%s[%d]", path, i), fmt("unknown method %s%s", type(m) == "string" and fmt("%q", m) or describe(m),
        hint and fmt(" (did you mean '%s'?)", hint) or fmt(" (valid: %s)", table.concat(allowed, ", "))))
    elseif seen[m] then
      errs:add(fmt("%s[%d]", path, i), fmt("method '%s' given twice", m))
    else
      seen[m] = true
      out[#out + 1] = m
    end
  end
  return out
end

-- category switches: a map name -> bool (given ones override the defaults) or a list of enabled names
local function check_categories(errs, path, v, valid, defaults)
  local out = {}
  for _, c in ipairs(valid) do out[c] = defaults[c] or false end
  local function known(c)
    for _, x in ipairs(valid) do if x == c then return true end end
    return false
  end
  if is_list(v) and #v > 0 then
    for _, c in ipairs(valid) do out[c] = false end
    for i, c in ipairs(v) do
      if not known(c) then
        local hint = type(c) == "string" and M.suggest(c, valid)
        errs:add(fmt("%s[%d]", path, i), fmt("unknown category %s%s", type(c) == "string" and fmt("%q", c) or describe(c),
          hint and fmt(" (did you mean '%s'?)", hint) or fmt(" (valid: %s)", table.concat(valid, ", "))))
      else
        out[c] = true
      end
    end
  elseif is_map(v) then
    for _, k in ipairs(keys_of(v)) do
      if not known(k) then errs:unknown(path, k, valid)
      else
        local b = check_bool(errs, path .. "." .. k, v[k])
        if b ~= nil then out[k] = b end
      end
    end
  else
    errs:add(path, "expected a mapping of category -> true/false or a list of categories, found " .. describe(v))
  end
  return out
end

-- options of a catalog module: checked against module.config_keys when the module has it
local function check_module_options(errs, path, v, module_name, modules)
  if not is_map(v) then errs:add(path, "expected a mapping of options, found " .. describe(v)); return {} end
  local mod = modules and modules[module_name]
  -- categories are set by features.summary.categories / features.temporal.categories only
  -- a module names its keys in `config_keys`, or by the keys of its `DEFAULTS` table
  local keys = mod and mod.config_keys
  if not keys and mod and type(mod.DEFAULTS) == "table" then
    keys = {}
    for k in pairs(mod.DEFAULTS) do keys[#keys + 1] = k end
    table.sort(keys)
  end
  local valid = {}
  for _, k in ipairs(keys or {}) do if k ~= "categories" then valid[#valid + 1] = k end end
  local out = {}
  for _, k in ipairs(keys_of(v)) do
    local ok = false
    for _, x in ipairs(valid) do if x == k then ok = true end end
    if ok then out[k] = copy(v[k])
    elseif k == "categories" then
      errs:add(path .. ".categories", "categories are chosen with features.summary.categories (or features.temporal.categories)")
    else errs:unknown(path, k, #valid > 0 and valid or { "(none)" }) end
  end
  -- values: the module's check_config(opts) -> msg, else its options(opts) raising on bad values
  if mod and next(out) then
    local msg
    if mod.check_config then msg = mod.check_config(out)
    elseif mod.options then
      local ok, e = pcall(mod.options, out)
      if not ok then msg = (tostring(e):gsub("^[^:\n]*:%d+: ", "")) end
    end
    if msg then errs:add(path, msg) end
  end
  return out
end

local SUMMARY_KEYS = { "enabled", "categories", "temporal_aggregation", "extra_temporal_aggregation",
                       "realization_aggregation", "frame", "trajectory" }
local TEMPORAL_KEYS = { "enabled", "categories", "derived" }
local TOP_KEYS = { "initial", "architecture", "summary", "temporal", "ic", "nop", "sdf", "td", "custom" }

local function default_options()
  local cats = {}
  for _, c in ipairs(M.SUMMARY_CATEGORIES) do cats[c] = not M.DEFAULT_OFF[c] end
  local tcats = {}
  for _, c in ipairs(M.FRAME_CATEGORIES) do tcats[c] = false end
  for _, c in ipairs(M.DEFAULTS.temporal_categories) do tcats[c] = true end
  return {
    initial = {},
    architecture = {},
    summary = {
      categories = cats,
      temporal_aggregation = copy(M.DEFAULTS.temporal_aggregation),
      extra_temporal_aggregation = copy(M.DEFAULTS.extra_temporal_aggregation),
      realization_aggregation = copy(M.DEFAULTS.realization_aggregation),
      frame = {}, trajectory = {},
    },
    temporal = { categories = tcats, derived = copy(M.DEFAULTS.derived) },
  }
end

--- features.config.normalize(section [, opts]) -> normalised table (see docs/features-design.md)
-- `section` is the raw `features` mapping (YAML document or Lua table), nil for defaults, or an
-- already normalised table (returned unchanged).  opts.source names the file in errors;
-- opts.modules = {frame=, trajectory=, initial=, architecture=} for option checks.
local function real_modules()
  local mods = {}
  for _, n in ipairs({ "frame", "trajectory", "initial", "architecture" }) do
    local ok, m = pcall(require, "spinlock.features." .. n)
    if ok then mods[n] = m end
  end
  return mods
end

function M.normalize(section, opts)
  opts = opts or {}
  if opts.modules == nil then opts = { source = opts.source, report = opts.report, modules = real_modules() } end
  if type(section) == "table" and section._normalized then return section end
  local errs = new_errs(opts.source, opts.report)
  local out = { _normalized = true, initial = true, architecture = true, summary = true, temporal = true,
                options = default_options(), custom = {} }
  if section == nil or section == NULL then return out end
  if not is_map(section) then
    errs:add("features", "expected a mapping, found " .. describe(section))
    errs:raise()
    return out
  end
  local from = {}
  for _, k in ipairs(keys_of(section)) do
    local v = section[k]
    local path = "features." .. tostring(k)
    local fam = M.ALIASES[k] or k
    if k == "custom" then
      if type(v) == "string" then v = { v } end
      if not is_list(v) then errs:add(path, "expected a list of Lua files, found " .. describe(v))
      else
        for i, p in ipairs(v) do
          if type(p) ~= "string" or p == "" then errs:add(fmt("%s[%d]", path, i), "expected a file path, found " .. describe(p))
          else out.custom[#out.custom + 1] = p end
        end
      end
    elseif out[fam] == nil or type(k) ~= "string" then
      errs:unknown("features", k, TOP_KEYS, "unknown feature family")
    else
      local enabled
      if type(v) == "boolean" then
        enabled = v
      elseif is_map(v) then
        enabled = true
        local o = out.options[fam]
        local valid = fam == "summary" and SUMMARY_KEYS or fam == "temporal" and TEMPORAL_KEYS or nil
        for _, kk in ipairs(keys_of(v)) do
          local vv, p = v[kk], path .. "." .. tostring(kk)
          if kk == "enabled" then
            local b = check_bool(errs, p, vv)
            if b ~= nil then enabled = b end
          elseif valid == nil then
            -- initial / architecture: the module's own options
            local mo = check_module_options(errs, path, { [kk] = vv }, fam, opts.modules)
            for a, b in pairs(mo) do o[a] = b end
          else
            local known = false
            for _, x in ipairs(valid) do if x == kk then known = true end end
            if not known then errs:unknown(path, kk, valid)
            elseif kk == "categories" then
              if fam == "summary" then
                local d = {}
                for _, c in ipairs(M.SUMMARY_CATEGORIES) do d[c] = not M.DEFAULT_OFF[c] end
                o.categories = check_categories(errs, p, vv, M.SUMMARY_CATEGORIES, d)
              else
                local d = {}
                for _, c in ipairs(M.DEFAULTS.temporal_categories) do d[c] = true end
                o.categories = check_categories(errs, p, vv, M.FRAME_CATEGORIES, d)
              end
            elseif kk == "temporal_aggregation" or kk == "extra_temporal_aggregation" then
              o[kk] = check_methods(errs, p, vv, M.TEMPORAL_METHODS) or o[kk]
            elseif kk == "realization_aggregation" then
              o[kk] = check_methods(errs, p, vv, M.REALIZATION_METHODS) or o[kk]
            elseif kk == "derived" then
              local d = check_methods(errs, p, vv, M.DERIVED)
              if d and d[1] ~= "variance" then
                errs:add(p, "must start with 'variance' (TEMPORAL column 1 is the field variance)")
              end
              o.derived = d or o.derived
            elseif kk == "frame" or kk == "trajectory" then
              o[kk] = check_module_options(errs, p, vv, kk, opts.modules)
            end
          end
        end
      else
        errs:add(path, "expected true, false or a mapping of options, found " .. describe(v))
      end
      if enabled ~= nil then
        if from[fam] and out[fam] ~= enabled then
          errs:add(path, fmt("contradicts features.%s (both name the %s family)", from[fam], fam))
        else
          out[fam] = enabled
          from[fam] = k
        end
      end
    end
  end
  errs:raise()
  return out
end

--- to_section(normalised) -> the explicit `features` mapping (every key, defaults filled) that
-- normalize() turns back into the same table; maps carry `__order` for config.to_json.
function M.to_section(fc)
  fc = M.normalize(fc)
  local o = fc.options
  local function cats(set, names)
    local t = { __order = names }
    for _, c in ipairs(names) do t[c] = set[c] and true or false end
    return t
  end
  local function opts(t)
    local r, ks = {}, {}
    for k, v in pairs(t or {}) do r[k] = copy(v); ks[#ks + 1] = k end
    table.sort(ks)
    r.__order = ks
    return r
  end
  local ini = opts(o.initial); ini.enabled = fc.initial; table.insert(ini.__order, 1, "enabled")
  local arch = opts(o.architecture); arch.enabled = fc.architecture; table.insert(arch.__order, 1, "enabled")
  return {
    __order = { "initial", "architecture", "summary", "temporal", "custom" },
    initial = ini, architecture = arch,
    summary = { __order = { "enabled", "categories", "temporal_aggregation", "extra_temporal_aggregation",
                            "realization_aggregation", "frame", "trajectory" },
                enabled = fc.summary, categories = cats(o.summary.categories, M.SUMMARY_CATEGORIES),
                temporal_aggregation = copy(o.summary.temporal_aggregation),
                extra_temporal_aggregation = copy(o.summary.extra_temporal_aggregation),
                realization_aggregation = copy(o.summary.realization_aggregation),
                frame = opts(o.summary.frame), trajectory = opts(o.summary.trajectory) },
    temporal = { __order = { "enabled", "categories", "derived" }, enabled = fc.temporal,
                 categories = cats(o.temporal.categories, M.FRAME_CATEGORIES), derived = copy(o.temporal.derived) },
    custom = #fc.custom > 0 and copy(fc.custom) or nil,
  }
end

--- features.config.from(cfg) -> normalised features table of an experiment config (or defaults)
function M.from(cfg, opts)
  if cfg == nil then return M.normalize(nil, opts) end
  local f = cfg.features
  if f == nil and (cfg.initial ~= nil or cfg.summary ~= nil or cfg._normalized) then f = cfg end
  return M.normalize(f, opts)
end

return M
