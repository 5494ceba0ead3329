-- Operator sensitivity (SUMMARY category operator_sensitivity): how one rollout step
-- S(x) = policy(x, F(x)) responds to seeded perturbations and rescalings of its input.  Per
-- operator; the columns are broadcast to every realization by trajectory.lua.
--
-- The probed map is the full update the rollout applies (docs/operators.md): residual
-- x + dt·F(x), convex α·x + (1−α)·F(x), autoregressive F(x).  Probing F alone would measure
-- nothing: with instance (or group/layer) normalization the network is scale-invariant, so its
-- gain curve is flat for every operator (gain ≈ 1, saturation ≈ 1 − 1/α_max, ...).
--
-- Protocol (docs/features-trajectory.md):
--   x        = the initial condition [C,G,G] (ctx.ic, else frame 1 of realization 1)
--   probes   = x;  x + eps_k·s·z_k for each epsilon (s = RMS(x), z_k ~ N(0,1) from Philox stream
--              (seed, purpose SL_FEAT_TRAJ_RNG_PURPOSE = 8, a = op_index, b = k-1));  alpha_j·x
--   outputs  = S(probe) = policy(probe, op:forward(probe, step)) for each probe (op:step(probe, step)
--              when the operator has that method), one probe per call ([1,C,G,G]) at the same
--              step, so a stochastic operator whose noise is keyed by (operator, realization,
--              step) draws the same noise for every probe and the differences are the operator's
--   lipschitz_eps_E = ‖S(x+δ) − S(x)‖ / ‖δ‖; gain_scale_A = ‖S(A x)‖ / ‖S(x)‖;
--   linearity_r2, saturation_degree, compression_ratio from the gain curve.
-- All arithmetic is in C (sl.feat_traj_sens_probes / sl.feat_traj_sens_reduce); Lua only calls
-- the operator.
local sl = require "spinlock"

local M = {}

M.defaults = {
  lipschitz_epsilon_scales = { 1e-4, 1e-3, 1e-2 },
  gain_scale_factors = { 0.5, 0.75, 1.25, 1.5 },
  include_lipschitz = true,
  include_gain_curve = true,
  include_linearity_metrics = true,
  step = 0,
}
M.config_keys = { "lipschitz_epsilon_scales", "gain_scale_factors", "include_lipschitz",
                  "include_gain_curve", "include_linearity_metrics", "step" }

local function is_list_of_pos(v)
  if type(v) ~= "table" or #v == 0 or #v > 32 then return false end
  for k, x in pairs(v) do
    if type(k) ~= "number" or type(x) ~= "number" or not (x > 0) or x ~= x or x == math.huge then return false end
  end
  return true
end

--- Returns nil when the sensitivity options are valid, else a message naming the key.
function M.check_config(c)
  if c == nil then return nil end
  if type(c) ~= "table" then return "sensitivity: expected a table of options, found " .. type(c) end
  local known = {}
  for _, k in ipairs(M.config_keys) do known[k] = true end
  for k, v in pairs(c) do
    if not known[k] then return ("sensitivity: unknown option '%s' (valid: %s)"):format(tostring(k), table.concat(M.config_keys, ", ")) end
    if k:match("^include_") and type(v) ~= "boolean" then return ("sensitivity.%s must be a boolean, found %s"):format(k, type(v)) end
    if (k == "lipschitz_epsilon_scales" or k == "gain_scale_factors") and not is_list_of_pos(v) then
      return ("sensitivity.%s must be a list of 1..32 positive finite numbers"):format(k)
    end
    if k == "step" and (type(v) ~= "number" or v < 0 or v ~= math.floor(v)) then
      return "sensitivity.step must be a non-negative integer"
    end
  end
  local g = c.gain_scale_factors or M.defaults.gain_scale_factors
  if c.include_linearity_metrics ~= false and #g < 2 then
    return "sensitivity: linearity metrics need at least 2 gain_scale_factors"
  end
  return nil
end

local function resolve(c)
  c = c or {}
  local msg = M.check_config(c)
  if msg then error(msg, 3) end
  local r = {}
  for k, v in pairs(M.defaults) do r[k] = v end
  for k, v in pairs(c) do r[k] = v end
  return r
end

local function eps_name(e) return ("lipschitz_eps_%.0e"):format(e) end
local function gain_name(a) return ("gain_scale_%.2f"):format(a) end

--- Ordered list of {name, category, formula, meaning} for the enabled groups.
function M.catalog(c)
  c = resolve(c)
  local out = {}
  local cat = "operator_sensitivity"
  if c.include_lipschitz then
    for _, e in ipairs(c.lipschitz_epsilon_scales) do
      out[#out + 1] = { name = eps_name(e), category = cat,
        formula = ("‖S(x+δ) − S(x)‖ / ‖δ‖, S = one rollout step policy(x, F(x)) (residual x + dt·F, convex α·x + (1−α)·F, autoregressive F), δ = %g·RMS(x)·z, z ~ N(0,1) seeded (Philox purpose 8, op_index, k)"):format(e),
        meaning = "local Lipschitz estimate of one rollout step at this relative perturbation size" }
    end
  end
  if c.include_gain_curve then
    for _, a in ipairs(c.gain_scale_factors) do
      out[#out + 1] = { name = gain_name(a), category = cat,
        formula = ("‖S(%g·x)‖ / ‖S(x)‖, S = one rollout step (NaN when S(x) = 0)"):format(a),
        meaning = "gain of one rollout step when the state is rescaled (= the scale for a homogeneous linear step)" }
    end
  end
  if c.include_linearity_metrics then
    out[#out + 1] = { name = "linearity_r2", category = cat,
      formula = "R² = 1 − SSres/(SStot + 1e-10) of the least-squares line g = a·α + b over the gain scales",
      meaning = "how straight the gain curve is" }
    out[#out + 1] = { name = "saturation_degree", category = cat,
      formula = "1 − g(α_max)/α_max",
      meaning = "0 for a homogeneous linear operator, > 0 saturating, < 0 expanding" }
    out[#out + 1] = { name = "compression_ratio", category = cat,
      formula = "(g(α_min)/α_min) / (g(α_max)/α_max + 1e-10)",
      meaning = "small-signal over large-signal gain: 1 linear, > 1 compressive, < 1 expansive" }
  end
  return out
end

local function try_get(op, key)
  local ok, v = pcall(function() return op[key] end)
  if ok then return v end
  return nil
end

--- update_map(op) -> function(x [1,C,G,G], step) -> S(x), policy name
-- S is the step the rollout applies: op:step(x, step) when the operator has it; else the policy
-- of op:config() around op:forward (residual x + dt·F(x), convex α·x + (1−α)·F(x),
-- autoregressive F(x)); an object without config() (a stand-in) is taken as F = S.
function M.update_map(op)
  local step = try_get(op, "step")
  if type(step) == "function" then return function(x, t) return step(op, x, t) end, "step" end
  local cfg
  local getcfg = try_get(op, "config")
  if type(getcfg) == "function" then
    local ok, c = pcall(getcfg, op)
    if ok and type(c) == "table" then cfg = c end
  end
  local policy = cfg and cfg.update_policy or "autoregressive"
  local function F(x, t)
    local y = op:forward(x, t)
    if not sl.is_tensor(y) then error("forward returned " .. type(y) .. ", not a tensor") end
    return y
  end
  if policy == "residual" then
    local dt = tonumber(cfg.dt) or 0.01
    return function(x, t) return x + F(x, t) * dt end, policy
  elseif policy == "convex" then
    local a = tonumber(cfg.alpha) or 0.5
    return function(x, t) return x * a + F(x, t) * (1 - a) end, policy
  elseif policy == "autoregressive" then
    return F, policy
  end
  error(("unknown update_policy '%s' in the operator's config"):format(tostring(policy)))
end

local function nan_row(n)
  local t = {}
  for i = 1, n do t[i] = 0 / 0 end
  return t
end

--- compute(x, op, cfg, ctx) -> list of values in catalog order, status string
-- x: [C,G,G] or [1,C,G,G]; op: object with op:forward(x [R,C,G,G], step) -> [R,C',G',G'] (or nil);
-- ctx = {seed=, op_index=}.  Status is "ok", "no operator" or "forward failed: <message>"; the
-- values are NaN unless "ok".
function M.compute(x, op, c, ctx)
  c = resolve(c)
  ctx = ctx or {}
  local n = #M.catalog(c)
  if n == 0 then return {}, "ok" end
  if op == nil then return nan_row(n), "no operator" end
  local eps = c.include_lipschitz and c.lipschitz_epsilon_scales or {}
  local scales = (c.include_gain_curve or c.include_linearity_metrics) and c.gain_scale_factors or {}
  local probes = sl.feat_traj_sens_probes(x, ctx.seed or 0, ctx.op_index or 0, eps, scales)
  local P = probes:size(1)
  local outs
  local ok, err = pcall(function()
    local S = M.update_map(op)
    for r = 1, P do
      local y = S(probes:narrow(1, r, 1), c.step)
      if not sl.is_tensor(y) then error("forward returned " .. type(y) .. ", not a tensor") end
      if outs == nil then
        local shape = y:shape()
        if shape[1] ~= 1 then error(("forward of one probe returned %d rows"):format(shape[1])) end
        shape[1] = P
        outs = sl.empty(shape, "float32")
      end
      outs:narrow(1, r, 1):copy(y)
    end
  end)
  if not ok then return nan_row(n), "forward failed: " .. tostring(err) end
  local f = sl.feat_traj_sens_reduce(probes, outs, eps, scales)
  local ne, na = #eps, #scales
  local vals = {}
  if c.include_lipschitz then for k = 1, ne do vals[#vals + 1] = f[k] end end
  if c.include_gain_curve then for j = 1, na do vals[#vals + 1] = f[ne + j] end end
  if c.include_linearity_metrics then for j = 1, 3 do vals[#vals + 1] = f[ne + na + j] end end
  return vals, "ok"
end

return M
