-- spinlock.features.architecture — the ARCHITECTURE family: the sampled parameters of an
-- operator, decoded and featurised (spec/features.md §3, with the §9 items 32–35 fixed).
--
--   local arch = require "spinlock.features.architecture"
--   arch.catalog(cfg, specs)                  → ordered list of {name=, category=, formula=, meaning=}
--   arch.width(cfg, specs)                    → A (31 for the 12-parameter baseline space)
--   arch.compute(unit, mapped, specs, cfg)    → [A] float32 for one operator
--   arch.compute_batch(unit, specs, cfg, mapped_rows) → [N, A] float32
--
-- specs: the parameter list of spinlock.config (config.parameters(c)), or the whole config (then
-- its sampling.integer_mapping is used to decode).  unit: the operator's unit-cube row (a Lua
-- list u[1..P], a [P] tensor, or for compute_batch an [N, P] tensor / list of lists).  mapped:
-- { name = value } as spinlock.params gives it (params.sample(...).rows[r]); when nil the unit
-- values are decoded here with spinlock.params and the config's integer mapping, so the values
-- are always the ones the operator was built from.
--
-- Column 0 is `stoch_noise_scale_log` (log10 of the noise σ the operator uses) whatever the space
-- holds: the user's guide reads the noise scale from column 0.  The other columns follow the
-- reference's emission order.
--
-- cfg (optional): the `features.architecture` section (or a table holding it under
-- `.architecture`; `true` = defaults).  Keys:
--   strata                  (4)     strata per dimension of the strat_* columns (2..64)
--   include_dt_log          (true)  evol_dt_log when `dt` is in the space
--   include_alpha           (true)  evol_alpha when `alpha` is in the space
--   include_stratification  (true)  the strat_* block
local params = require "spinlock.params"

local floor, log10, sqrt, min, max = math.floor, math.log10, math.sqrt, math.min, math.max

local M = {}

M.DEFAULTS = { strata = 4, include_dt_log = true, include_alpha = true, include_stratification = true }
local KNOWN = { strata = "number", include_dt_log = "boolean", include_alpha = "boolean",
                include_stratification = "boolean" }

function M.options(cfg)
  if cfg == nil or cfg == true then cfg = {} end
  if type(cfg) ~= "table" then
    error("features.architecture: expected a table (or nil/true), got " .. type(cfg), 2)
  end
  if type(cfg.architecture) == "table" then cfg = cfg.architecture end
  for k, v in pairs(cfg) do
    local want = KNOWN[k]
    if not want then
      error(("features.architecture: unknown key '%s' (known: strata, include_dt_log, include_alpha, include_stratification)")
            :format(tostring(k)), 2)
    end
    if type(v) ~= want then
      error(("features.architecture.%s: expected a %s, got %s"):format(k, want, type(v)), 2)
    end
  end
  local o = {}
  for k, d in pairs(M.DEFAULTS) do if cfg[k] == nil then o[k] = d else o[k] = cfg[k] end end
  if o.strata ~= floor(o.strata) or o.strata < 2 or o.strata > 64 then
    error(("features.architecture.strata: expected a whole number in [2, 64], got %s"):format(tostring(o.strata)), 2)
  end
  return o
end

-- specs → parameter list, integer mapping
local function plist_of(specs)
  if type(specs) ~= "table" then
    error("features.architecture: expected the parameter list (config.parameters(cfg)) or the config, got "
          .. type(specs), 3)
  end
  if specs.parameters and specs.sampling then
    return specs.parameters, specs.sampling.integer_mapping or "equal_mass"
  end
  return specs, "equal_mass"
end

local function by_name(plist)
  local t = {}
  for j, p in ipairs(plist) do t[p.name] = p; p._col = p._col or j end
  return t
end

local CHOICE = "<choice>"   -- placeholder choice of M.patterns (kept verbatim in names)

local function tag(v)
  if v == CHOICE then return v end
  local s = tostring(v):lower():gsub("[^%w]", "_")
  return s
end

-- The column plan: list of { name, category, formula, meaning, f = function(ctx) → number }.
-- ctx = { u = unit list (1-based), v = mapped values by name, idx = choice index by name }.
local function plan(o, plist)
  local P = #plist
  local has = by_name(plist)
  local cols, seen = {}, {}
  local function add(name, category, formula, meaning, f)
    if seen[name] then
      error(("features.architecture: two columns named '%s' (choices that differ only in punctuation or case?)")
            :format(name), 4)
    end
    seen[name] = true
    cols[#cols + 1] = { name = name, category = category, formula = formula, meaning = meaning, f = f }
  end
  local function onehot(prefix, pname, category, meaning)
    local p = has[pname]
    if not (p and p.type == "choice") then return end
    for i, c in ipairs(p.choices) do
      add(prefix .. tag(c), category, ("1 if %s = %s else 0"):format(pname, tostring(c)), meaning,
          function(ctx) return ctx.idx[pname] == i and 1 or 0 end)
    end
  end
  local function num(v) return tonumber(v) or (v == true and 1) or (v == false and 0) or 0 / 0 end
  -- one column holding the decoded value of parameter pname, when the space has it
  local function decoded(name, pname, category, meaning, formula)
    if not has[pname] then return end
    add(name, category, formula or ("decoded " .. pname), meaning, function(ctx) return num(ctx.v[pname]) end)
  end

  -- column 0: the noise scale the operator uses (0 when it has no stochastic block)
  local noisy = has.noise_scale and has.noise_type
  add("stoch_noise_scale_log", "stochastic",
      noisy and "log10(noise_scale + 1e-10)"
            or "log10(0 + 1e-10) = −10: the space has no noise_scale/noise_type, so the operator adds no noise",
      "high stochasticity", function(ctx) return log10((noisy and num(ctx.v.noise_scale) or 0) + 1e-10) end)

  -- architecture
  decoded("arch_num_layers", "num_layers", "architecture", "deeper operator")
  decoded("arch_base_channels", "base_channels", "architecture", "wider operator")
  decoded("arch_kernel_size", "kernel_size", "architecture", "larger receptive field per layer",
          "decoded kernel_size (the value the operator uses)")
  onehot("arch_activation_", "activation", "architecture", "operator uses this activation")
  decoded("arch_dropout_rate", "dropout_rate", "architecture", "more dropout")
  if has.num_layers and has.base_channels then
    local k = has.kernel_size and "·k²" or ""
    add("arch_total_params_log10", "architecture",
        ("log10(L·B²%s + 1e-8), L = num_layers, B = base_channels%s (order of magnitude of the hidden conv weights)")
          :format(k, has.kernel_size and ", k = kernel_size" or ""),
        "larger operator", function(ctx)
          local L, B = num(ctx.v.num_layers), num(ctx.v.base_channels)
          local kk = has.kernel_size and num(ctx.v.kernel_size) or 1
          return log10(L * B * B * kk * kk + 1e-8)
        end)
  end

  -- stochastic (the noise scale itself is column 0)
  onehot("stoch_schedule_", "noise_schedule", "stochastic", "operator uses this noise schedule")
  decoded("stoch_spatial_corr", "spatial_correlation", "stochastic", "spatially smoother noise")
  onehot("stoch_noise_", "noise_type", "stochastic", "operator uses this noise type")
  if has.noise_scale then
    local p = has.noise_scale
    local logs = p.type == "continuous" and p.log_scale and p.lo > 0
    add("stoch_score", "stochastic",
        logs and "clip((log10 σ − log10 lo)/(log10 hi − log10 lo), 0, 1) with the noise_scale bounds"
             or "clip((σ − lo)/(hi − lo), 0, 1) with the noise_scale bounds",
        "noise scale near the top of its range", function(ctx)
          local s = num(ctx.v.noise_scale)
          local r
          if logs then r = (log10(s) - log10(p.lo)) / (log10(p.hi) - log10(p.lo))
          else r = (s - p.lo) / (p.hi - p.lo) end
          if r ~= r then return r end
          return min(max(r, 0), 1)
        end)
  end

  -- operator
  onehot("op_norm_", "normalization", "operator", "operator uses this normalization")
  decoded("op_grid_size", "grid_size", "operator", "finer grid")
  onehot("op_grid_", "grid_size", "operator", "operator runs on this grid")

  -- evolution
  onehot("evol_policy_", "update_policy", "evolution", "operator uses this update policy")
  if has.dt and o.include_dt_log then
    add("evol_dt_log", "evolution", "log10(dt + 1e-10)", "larger time step",
        function(ctx) return log10(num(ctx.v.dt) + 1e-10) end)
  end
  if o.include_alpha then decoded("evol_alpha", "alpha", "evolution", "stronger convex mixing") end

  -- stratification of the unit-cube point
  if o.include_stratification then
    local S = o.strata
    local function stratum(u) if not (u > 0) then return 0 end return min(floor(S * u), S - 1) end
    for d = 0, P - 1 do
      add(("strat_dim%d_stratum"):format(d), "stratification",
          ("min(⌊%d·u_%d⌋, %d) (u_%d = unit value of %s)"):format(S, d, S - 1, d, plist[d + 1].name),
          "point in the upper strata of this dimension",
          function(ctx) return stratum(ctx.u[d + 1]) end)
    end
    add("strat_hash", "stratification",
        ("Σ_d stratum_d · %d^(d−P), P = %d: the stratum id as a base-%d fraction in [0, 1) (float32 keeps the "
         .. "high dimensions' digits exactly; the reference's integer id lost exactness beyond 2^24)"):format(S, P, S),
        "identifies the Sobol stratum (no order meaning)", function(ctx)
          local h = 0
          for d = 0, P - 1 do h = (h + stratum(ctx.u[d + 1])) / S end
          return h
        end)
    add("strat_boundary_dist", "stratification", "min_d min(u_d, 1 − u_d)",
        "point far from every face of the unit cube", function(ctx)
          local m = 1 / 0
          for d = 1, P do local u = ctx.u[d]; m = min(m, u, 1 - u) end
          return P > 0 and m or 0 / 0
        end)
    add("strat_extremeness", "stratification", "‖u − ½·1‖₂", "point near a corner of the unit cube",
        function(ctx)
          local s = 0
          for d = 1, P do local e = ctx.u[d] - 0.5; s = s + e * e end
          return sqrt(s)
        end)
  end
  return cols
end

function M.catalog(cfg, specs)
  local plist = plist_of(specs)
  local out = {}
  for i, c in ipairs(plan(M.options(cfg), plist)) do
    out[i] = { name = c.name, category = c.category, formula = c.formula, meaning = c.meaning }
  end
  return out
end

-- Every parameter the plan reads; choice parameters get one column per choice.
local PATTERN_SPACE = {
  { name = "num_layers", type = "integer" }, { name = "base_channels", type = "integer" },
  { name = "kernel_size", type = "choice" }, { name = "activation", type = "choice" },
  { name = "dropout_rate", type = "continuous" }, { name = "noise_type", type = "choice" },
  { name = "noise_scale", type = "continuous" }, { name = "noise_schedule", type = "choice" },
  { name = "spatial_correlation", type = "continuous" }, { name = "normalization", type = "choice" },
  { name = "grid_size", type = "choice" }, { name = "update_policy", type = "choice" },
  { name = "dt", type = "continuous" }, { name = "alpha", type = "continuous" },
}

--- patterns() -> every column the family can have, for docs/features.md: list of
-- { name =, category =, formula =, meaning =, rule = "when it exists" }.  One-hot groups are
-- written `<prefix><choice>` (one column per choice, in the config's order, the choice lowercased
-- with every non-alphanumeric character replaced by _), the stratification block
-- `strat_dim<d>_stratum` (d = 0..P−1).
function M.patterns()
  local function space(skip)
    local out = {}
    for _, p in ipairs(PATTERN_SPACE) do
      if p.name ~= skip then
        local q = { name = p.name, type = p.type }
        if p.type == "choice" then q.choices = { CHOICE } end
        if p.name == "noise_scale" then q.lo, q.hi, q.log_scale = 1e-3, 1, true end
        if p.type == "integer" then q.lo, q.hi = 1, 4 end
        out[#out + 1] = q
      end
    end
    return out
  end
  local full = plan(M.options(), space())
  -- which parameters / options each column needs: the columns that vanish without them
  local need = {}
  for _, p in ipairs(PATTERN_SPACE) do
    local present = {}
    for _, c in ipairs(plan(M.options(), space(p.name))) do present[c.name] = true end
    for _, c in ipairs(full) do
      if not present[c.name] and not c.name:match("^strat_") then
        need[c.name] = need[c.name] or {}
        table.insert(need[c.name], "`" .. p.name .. "`")
      end
    end
  end
  local opt_need = {}
  for _, k in ipairs({ "include_dt_log", "include_alpha", "include_stratification" }) do
    local present = {}
    for _, c in ipairs(plan(M.options({ [k] = false }), space())) do present[c.name] = true end
    for _, c in ipairs(full) do if not present[c.name] then opt_need[c.name] = k end end
  end
  local out, strat_done = {}, false
  for _, c in ipairs(full) do
    local name, formula = c.name, c.formula
    local rule
    if name:match("^strat_dim%d+_stratum$") then
      if not strat_done then
        strat_done = true
        out[#out + 1] = { name = "strat_dim<d>_stratum", category = c.category,
          formula = "min(⌊S·u_d⌋, S − 1), u_d = unit value of parameter d, S = `strata` (default 4)",
          meaning = c.meaning, rule = "one per parameter, d = 0..P−1, in parameter order (`include_stratification`)" }
      end
    else
      if name:find(CHOICE, 1, true) then
        local pname = formula:match("^1 if (%S+) =")
        formula = ("1 if %s = <choice> else 0"):format(pname)
        rule = ("one column per choice of `%s` (a choice parameter), in the config's order; <choice> is the " ..
                "choice lowercased, other characters → _"):format(pname)
      elseif name == "stoch_noise_scale_log" then
        rule = "always (column 1)"
      else
        if name:match("^strat_") then
          rule = "when `include_stratification` (default true)"
          if name == "strat_hash" then
            formula = "Σ_d stratum_d · S^(d−P): the stratum id as a base-S fraction in [0, 1) (S = `strata`, P parameters)"
          end
        else
          local n = need[name] or {}
          rule = ("when %s %s in the space"):format(table.concat(n, " and "), #n > 1 and "are" or "is")
          if opt_need[name] then rule = rule .. " and `" .. opt_need[name] .. "` (default true)" end
        end
      end
      out[#out + 1] = { name = name, category = c.category, formula = formula, meaning = c.meaning, rule = rule }
    end
  end
  return out
end

function M.width(cfg, specs)
  return #plan(M.options(cfg), (plist_of(specs)))
end

function M.names(cfg, specs)
  local t = {}
  for i, c in ipairs(M.catalog(cfg, specs)) do t[i] = c.name end
  return t
end

-- unit row → Lua list of numbers
local function unit_list(unit, P, r)
  if type(unit) == "table" then
    local row = r and unit[r] or unit
    if type(row) ~= "table" then error("features.architecture: unit row " .. tostring(r) .. " is not a list", 3) end
    if #row ~= P then
      error(("features.architecture: unit row has %d values but the space has %d parameters"):format(#row, P), 3)
    end
    return row
  end
  if type(unit) == "userdata" then
    local t = r and unit:select(1, r) or unit
    if t:dim() ~= 1 or t:size(1) ~= P then
      error(("features.architecture: unit row has shape [%s] but the space has %d parameters")
            :format(table.concat(t:shape(), ","), P), 3)
    end
    local l = t:double():totable()
    return l
  end
  error("features.architecture: unit must be a list or a tensor, got " .. type(unit), 3)
end

local function row_values(cols, plist, mapping, u, mapped)
  local v, idx = {}, {}
  for j, p in ipairs(plist) do
    local val, i = params.map_value(p, u[j], mapping)
    if mapped and mapped[p.name] ~= nil then
      val = mapped[p.name]
      if p.type == "choice" then
        i = nil
        for k, c in ipairs(p.choices) do if c == val then i = k end end
        if not i then
          error(("features.architecture: mapped %s = %s is not one of its choices"):format(p.name, tostring(val)), 4)
        end
      end
    end
    v[p.name], idx[p.name] = val, i
  end
  local ctx = { u = u, v = v, idx = idx }
  local out = {}
  for k, c in ipairs(cols) do out[k] = c.f(ctx) end
  return out
end

local function engine()
  local ok, sl = pcall(require, "spinlock")
  if not ok or type(sl) ~= "table" or not sl.tensor then
    error("features.architecture: tensors need the spinlock engine (run under build/spinlock)", 3)
  end
  return sl
end

--- One operator → [A] float32.
function M.compute(unit, mapped, specs, cfg)
  local plist, mapping = plist_of(specs)
  local cols = plan(M.options(cfg), plist)
  local u = unit_list(unit, #plist)
  local row = row_values(cols, plist, mapping, u, mapped)
  return engine().tensor(row, "float32")
end

--- N operators → [N, A] float32.  unit: [N, P] tensor or list of rows; mapped_rows optional list.
function M.compute_batch(unit, specs, cfg, mapped_rows)
  local plist, mapping = plist_of(specs)
  local cols = plan(M.options(cfg), plist)
  local N = type(unit) == "table" and #unit or unit:size(1)
  local sl = engine()
  local out = sl.zeros({ N, #cols }, "float32")
  for r = 1, N do
    local row = row_values(cols, plist, mapping, unit_list(unit, #plist, r), mapped_rows and mapped_rows[r])
    out:select(1, r):copy(sl.tensor(row, "float32"))
  end
  return out
end

return M
