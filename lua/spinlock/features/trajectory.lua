-- Per-trajectory SUMMARY features: temporal, causality, invariant_drift, nonlinear (C kernel
-- engine/core/feat_traj.c) and operator_sensitivity (sensitivity.lua, needs the operator).
--
--   trajectory.catalog(cfg)            -> { {name=, category=, formula=, meaning=}, ... } in column order
--   trajectory.compute(traj, cfg, ctx) -> Tensor [M, D] float32, info
--       traj [M,T,C,G,G]; ctx = {operator=, op_index=, seed=, ic=} (all optional)
--       info = {sensitivity = "ok" | "off" | "no operator" | "forward failed: ..."}
--   trajectory.width(cfg), trajectory.config_keys, trajectory.check_config(cfg)
--
-- cfg is the `features.summary.trajectory` section plus `categories` (the assembly module fills
-- it from `features.summary.categories`); nil means the defaults.  Widths depend on cfg only.
-- Column order: temporal, causality, invariant_drift, nonlinear, operator_sensitivity.
local sl = require "spinlock"
local sens = require "spinlock.features.sensitivity"

local M = {}

M.CATEGORIES = { "temporal", "causality", "invariant_drift", "nonlinear", "operator_sensitivity" }
M.DEFAULT_CATEGORIES = { temporal = true, causality = true, invariant_drift = true, nonlinear = false,
                         operator_sensitivity = true }

-- options passed straight to the kernel (see docs/features-trajectory.md for meanings/defaults)
local KERNEL_KEYS = { "series", "autocorr_max_lag", "rolling_fractions", "include_pacf", "pacf_max_lag",
                      "max_lag_correlation", "max_lag_prediction", "gaussian_sigma", "num_scales",
                      "entropy_num_bins" }
local NONLINEAR_KEYS = { stride = "nonlinear_stride", rqa_dim = "rqa_dim", rqa_threshold = "rqa_threshold",
                         corrdim_dim = "corrdim_dim", perm_dim = "perm_dim",
                         include_permutation_entropy = "include_permutation_entropy" }

M.config_keys = { "categories", "nonlinear", "sensitivity" }
for _, k in ipairs(KERNEL_KEYS) do M.config_keys[#M.config_keys + 1] = k end

local function unwrap(cfg)
  if cfg == nil then return {} end
  if type(cfg) ~= "table" then error("trajectory: cfg must be a table or nil, got " .. type(cfg), 3) end
  return cfg
end

-- Translates cfg into (flat kernel table, categories table, sensitivity options); raises on
-- unknown keys with the valid ones listed.
local function split(cfg, level)
  level = (level or 1) + 1
  cfg = unwrap(cfg)
  local known = {}
  for _, k in ipairs(M.config_keys) do known[k] = true end
  local kern, cats = {}, {}
  for k, v in pairs(M.DEFAULT_CATEGORIES) do cats[k] = v end
  for k, v in pairs(cfg) do
    if not known[k] then
      error(("trajectory: unknown option '%s' (valid: %s)"):format(tostring(k), table.concat(M.config_keys, ", ")), level)
    end
  end
  if cfg.categories ~= nil then
    if type(cfg.categories) ~= "table" then error("trajectory: categories must be a table", level) end
    for k, v in pairs(cfg.categories) do
      if M.DEFAULT_CATEGORIES[k] == nil then
        -- the assembly module may pass the whole SUMMARY category map; per-frame ones are not ours
        if type(k) ~= "string" then error("trajectory: category names must be strings", level) end
      else
        if type(v) ~= "boolean" then error(("trajectory: categories.%s must be a boolean"):format(k), level) end
        cats[k] = v
      end
    end
  end
  for _, k in ipairs(KERNEL_KEYS) do if cfg[k] ~= nil then kern[k] = cfg[k] end end
  if cfg.nonlinear ~= nil then
    if type(cfg.nonlinear) ~= "table" then error("trajectory: nonlinear must be a table of options", level) end
    for k, v in pairs(cfg.nonlinear) do
      local kk = NONLINEAR_KEYS[k]
      if not kk then
        local valid = {}
        for n in pairs(NONLINEAR_KEYS) do valid[#valid + 1] = n end
        table.sort(valid)
        error(("trajectory: unknown nonlinear option '%s' (valid: %s)"):format(tostring(k), table.concat(valid, ", ")), level)
      end
      kern[kk] = v
    end
  end
  for _, c in ipairs({ "temporal", "causality", "invariant_drift", "nonlinear" }) do kern[c] = cats[c] end
  local msg = sens.check_config(cfg.sensitivity)
  if msg then error("trajectory: " .. msg, level) end
  return kern, cats, cfg.sensitivity
end

--- Returns nil when cfg is valid, else the error message (used by the config validator).
function M.check_config(cfg)
  local ok, err = pcall(function()
    local kern = split(cfg, 2)
    sl.feat_traj_catalog(kern)   -- range checks of the kernel
  end)
  if ok then return nil end
  return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

function M.catalog(cfg)
  local kern, cats, so = split(cfg, 2)
  local out = sl.feat_traj_catalog(kern)
  if cats.operator_sensitivity then
    for _, e in ipairs(sens.catalog(so)) do out[#out + 1] = e end
  end
  return out
end

function M.width(cfg) return #M.catalog(cfg) end

function M.compute(traj, cfg, ctx)
  local kern, cats, so = split(cfg, 2)
  ctx = ctx or {}
  if not sl.is_tensor(traj) or traj:dim() ~= 5 then
    error("trajectory.compute: traj must be a tensor [M,T,C,G,G]" ..
          (sl.is_tensor(traj) and (", got %d dims"):format(traj:dim()) or ", got " .. type(traj)), 2)
  end
  local core = sl.feat_traj(traj, kern)
  local info = { sensitivity = "off" }
  if not cats.operator_sensitivity then return core, info end
  local ns = #sens.catalog(so)
  local Mr, Dk = core:size(1), core:size(2)
  local out = sl.empty({ Mr, Dk + ns }, "float32")
  if Dk > 0 then out:narrow(2, 1, Dk):copy(core) end
  if ns > 0 then
    local x = ctx.ic or traj:select(1, 1):select(1, 1)
    local vals, status = sens.compute(x, ctx.operator, so, ctx)
    info.sensitivity = status
    out:narrow(2, Dk + 1, ns):copy(sl.tensor(vals, "float32"))
  else
    info.sensitivity = "ok"
  end
  return out, info
end

return M
