-- spinlock.operator — stochastic CNN operators (spec/generation.md §3) and their rollouts (§5).
--
--   local operator = require "spinlock.operator"
--   local op = operator.build(mapped_params, { seed = 42, op_index = 7 })
--   op:info()                       -- layers, channels, parameter count, MACs per step
--   local y = op:forward(x, step)   -- x [R,3,G,G] → F(x) with the noise of `step`
--   local traj, status = op:rollout(ic, M, T, { realizations_per_batch = 2 })
--        traj [M,T,3,G,G] float32; status = { diverged = {bool…}, diverged_step = {step or -1…},
--                                              num_diverged = n, steps = T-1 }
--   local y_ref = op:reference_forward(x, step)   -- the same computation from sl ops (for specs)
--
-- The forward pass and the rollout loop run in C (engine/core/operator.c); this module adds the
-- documented Lua surface to the Operator userdata and a slow, independent reference forward
-- built from public sl ops (conv2d with the direct algorithm, instance_norm, gelu, …, the
-- Generator streams) that the spec compares the fused C path against.  docs/operators.md.
local sl = require "spinlock"
local core = require "spinlock.core"

local M = {}
local methods = core._operator_methods

local PURPOSE_NOISE, PURPOSE_DROPOUT = 5, 6   -- engine/core/sl_purpose.h

local function opt_index(v, what, def)
  if v == nil then return def end
  if type(v) ~= "number" or v < 0 or v ~= math.floor(v) or v >= 2 ^ 53 then
    error(("operator.build: %s must be an integer in [0, 2^53), got %s"):format(what, tostring(v)), 3)
  end
  return v
end

-- The keys operator.build reads and what an absent key means (engine/core/operator.c defaults;
-- docs/operators.md).  Every key is optional.
M.KEYS = {
  num_layers = "default 3", base_channels = "default 32", kernel_size = "default 3",
  grid_size = "default 64", activation = "default gelu", normalization = "default instance",
  dropout_rate = "default 0 (no dropout)",
  noise_type = "absent: no stochastic block; needs noise_scale",
  noise_scale = "absent: no stochastic block; needs noise_type",
  noise_schedule = "default constant", schedule_period = "default 100 steps",
  spatial_correlation = "default 0 (white noise)", update_policy = "default residual",
  dt = "default 0.01; 0 also means absent (reference convention)",
  alpha = "default 0.5; 0 also means absent (reference convention)",
}

local function check_keys(params, opts)
  for k in pairs(params) do
    if M.KEYS[k] == nil and not opts.ignore_unknown then
      local names = {}
      for n in pairs(M.KEYS) do names[#names + 1] = n end
      table.sort(names)
      local near = type(k) == "string" and require("spinlock.cli").nearest(k, names)
      error(("operator.build: unknown parameter '%s'%s (valid: %s)"):format(tostring(k),
        near and (" (did you mean '" .. near .. "'?)") or "", table.concat(names, ", ")), 3)
    end
  end
  local nt = params.noise_type
  if nt ~= nil and nt ~= "none" and params.noise_scale == nil and not opts.ignore_unknown then
    error(("operator.build: noise_type '%s' needs noise_scale (the stochastic block exists only when both " ..
      "are given); add noise_scale, or drop noise_type / set it to 'none'"):format(tostring(nt)), 3)
  end
end

--- Builds an operator from a mapped parameter table (spinlock.params rows).  Keys: M.KEYS, all
-- optional (absent → the default listed there); an unknown key is an error naming the nearest
-- valid one, and so is noise_type without noise_scale.
-- opts: seed (default 0), op_index (default 0), conv_algo ("auto" default; "im2col", "fft",
-- "fftrow", "direct", "winograd" (3×3 convs only) force one algorithm for every k×k conv),
-- horizon (annealing step count used by op:forward until a rollout sets its own), device
-- (accepted; only "cpu" runs for now), ignore_unknown (true for rows of a validated config: its
-- extra sampled dimensions have no effect, and config loading already warned about them and
-- about noise_type without noise_scale).
function M.build(params, opts)
  opts = opts or {}
  if type(params) ~= "table" then
    error("operator.build: mapped parameter table expected, got " .. type(params), 2)
  end
  check_keys(params, opts)
  local seed = opt_index(opts.seed, "seed", 0)
  local index = opt_index(opts.op_index, "op_index", 0)
  local op = core.operator_new(params, seed, index, opts.conv_algo)
  if opts.horizon then op:horizon(opts.horizon) end
  return op
end

--- Architecture summary: { num_layers, base_channels, kernel_size, grid_size, channels = {…},
-- channels_last, layers = { {role, block, sub, cin, cout, k, algo}, … }, parameters,
-- macs_per_step, flops_per_step } (per realization-step at the operator's grid).
function methods:info()
  local cfg, convs = self:config(), self:convs()
  local layers, channels = {}, {}
  for i, c in ipairs(convs) do
    layers[i] = { role = c.role, block = c.block, sub = c.sub, cin = c.cin, cout = c.cout, k = c.k,
                  groups = c.groups, algo = c.algo }
    if c.role == "block" and c.sub == 0 then channels[#channels + 1] = c.cout end
  end
  local macs = self:macs()
  return { num_layers = cfg.num_layers, base_channels = cfg.base_channels, kernel_size = cfg.kernel_size,
           grid_size = cfg.grid_size, channels = channels, channels_last = self:channels_last(),
           residual = cfg.num_layers > 3, layers = layers, parameters = self:param_count(),
           macs_per_step = macs, flops_per_step = 2 * macs, config = cfg }
end

--- The weight and bias tensors in build order (shared with the operator: in-place changes are
-- seen by later forward passes).
function methods:parameters()
  local out = {}
  for _, c in ipairs(self:convs()) do
    out[#out + 1] = c.weight
    if c.bias then out[#out + 1] = c.bias end
  end
  return out
end

local function grid_of(self) return self:config().grid_size end

local function check_batch(self, x, where)
  if not sl.is_tensor(x) then error(where .. ": tensor expected, got " .. type(x), 3) end
  if x:dim() == 3 then return x:view(1, x:size(1), x:size(2), x:size(3)) end
  return x
end

--- F(x) for x [R,3,G,G] (or [3,G,G]); row i is realization opts.realization + i - 1 (default 0)
-- at step `step` (default 1); opts.horizon = the annealing schedule's step count (default:
-- op:horizon(), which the last rollout set).
function methods:forward(x, step, opts)
  opts = opts or {}
  local x4 = check_batch(self, x, "forward")
  local out = sl.empty(x4:shape())
  self:forward_into(out, x4, opts.realization or 0, step or 1, opts.horizon or 0)
  if x:dim() == 3 then return out:view(x:shape()) end
  return out
end

--- Rolls out M realizations for T frames from ic ([3,G,G] shared, or [M,3,G,G]).
-- opts: realizations_per_batch (default: all, capped so activations stay under ~512 MiB),
-- horizon (annealing; default T-1), diverge_threshold (1e6), first_realization (0),
-- out (a contiguous float32 [M,T,3,G,G] tensor to fill), seed / op_index (checked against the
-- operator's: its noise streams are keyed by the values given at build).
function methods:rollout(ic, Mr, T, opts)
  opts = opts or {}
  if type(Mr) ~= "number" or Mr < 1 or Mr ~= math.floor(Mr) then
    error("rollout: M (realizations) must be a positive integer, got " .. tostring(Mr), 2)
  end
  if type(T) ~= "number" or T < 1 or T ~= math.floor(T) then
    error("rollout: T (frames, including the initial condition) must be a positive integer, got " .. tostring(T), 2)
  end
  if opts.seed ~= nil and opts.seed ~= self:seed() then
    error(("rollout: seed %s differs from the operator's (%s); build the operator with the dataset seed")
          :format(tostring(opts.seed), tostring(self:seed())), 2)
  end
  if opts.op_index ~= nil and opts.op_index ~= self:index() then
    error(("rollout: op_index %s differs from the operator's (%s)"):format(tostring(opts.op_index), tostring(self:index())), 2)
  end
  local G = grid_of(self)
  local rpb = opts.realizations_per_batch
  if rpb == nil then
    local per = 3 * math.max(self:channels_last(), self:config().base_channels * 4) * G * G * 4
    rpb = math.max(1, math.min(Mr, math.floor(512 * 2 ^ 20 / per)))
  end
  local traj = opts.out or sl.empty({ Mr, T, 3, G, G })
  local ds = self:rollout_into(traj, ic, { realizations_per_batch = rpb, horizon = opts.horizon,
                                           diverge_threshold = opts.diverge_threshold,
                                           first_realization = opts.first_realization })
  local diverged, n = {}, 0
  for m = 1, Mr do
    diverged[m] = ds[m] >= 0
    if diverged[m] then n = n + 1 end
  end
  return traj, { diverged = diverged, diverged_step = ds, num_diverged = n, steps = T - 1 }
end

-- ---------------------------------------------------------------------------------------------
-- Reference forward from sl ops (slow; small grids, specs only).  Recomputes every stream
-- position from the documented rules rather than sharing code with the C path.

local act_fn = { relu = sl.relu, gelu = sl.gelu, silu = sl.silu, tanh = sl.tanh }

local function biased_std(t)
  local n = t:numel()
  return sl.std(t) * math.sqrt((n - 1) / n)
end

local function noise_field(self, cfg, C, G, m, step)
  local g = sl.Generator { seed = self:seed(), purpose = PURPOSE_NOISE, a = self:index(), b = m, c = step }
  local e
  if cfg.noise_type == "laplace" then e = g:laplace({ C, G, G }, 0, 1) else e = g:normal({ C, G, G }, 0, 1) end
  local rho = cfg.spatial_correlation
  if rho > 0 then
    local F = math.floor(G / 2) + 1
    local filt = sl.zeros(G, F, 1)
    local L = rho * G
    for y = 0, G - 1 do
      local ky = (y <= (G - 1) / 2 and y or y - G) / G
      for x = 0, F - 1 do
        local kx = x / G
        filt:set(math.exp(-(kx * kx + ky * ky) * L * L / 2), y + 1, x + 1, 1)
      end
    end
    e = sl.irfft2(sl.rfft2(e) * filt, { G, G })
    e = e / (biased_std(e) + 1e-8)
  end
  return e
end

--- Same contract as op:forward, computed with sl ops; tolerance vs the C path: see the spec.
function methods:reference_forward(x, step, opts)
  opts = opts or {}
  step = step or 1
  local cfg, convs = self:config(), self:convs()
  local x4 = check_batch(self, x, "reference_forward"):contiguous()
  local R, G = x4:size(1), x4:size(3)
  local first = opts.realization or 0
  local p = cfg.dropout_rate
  local act = act_fn[cfg.activation]
  local drop_offset, offs = 0, {}
  for j, c in ipairs(convs) do
    if c.role == "block" then offs[j] = drop_offset; drop_offset = drop_offset + math.ceil(c.cout / 4) * 4 end
  end
  local function conv_block(j, h)
    local c = convs[j]
    local y = sl.conv2d(h, c.weight, c.bias, { algo = "direct" })
    local nm = cfg.normalization
    if nm == "instance" then y = sl.instance_norm(y, nil, nil, 1e-5)
    elseif nm == "group" or nm == "layer" then y = sl.group_norm(y, c.groups, nil, nil, 1e-5)
    elseif nm == "batch" then y = y * (1 / math.sqrt(1 + 1e-5)) end
    if act then y = act(y) end
    if p > 0 then
      for r = 1, R do
        local g = sl.Generator { seed = self:seed(), purpose = PURPOSE_DROPOUT, a = self:index(), b = first + r - 1, c = step }
        g:seek(offs[j])
        local u = g:uniform({ 1, c.cout })
        y:narrow(1, r, 1):copy(sl.dropout2d(y:narrow(1, r, 1), p, u))
      end
    end
    return y
  end
  local j = 1
  local h = conv_block(j, x4)
  j = j + 1
  for _ = 1, cfg.num_layers do
    local hin = h
    h = conv_block(j, hin); j = j + 1
    if cfg.num_layers > 3 then
      h = conv_block(j, h); j = j + 1
      if convs[j] and convs[j].role == "skip" then
        h = h + sl.conv2d(hin, convs[j].weight, nil); j = j + 1
      else
        h = h + hin
      end
    end
  end
  local s = self:noise_scale_at(step, opts.horizon or self:horizon())
  if cfg.noise_type ~= "none" and s ~= 0 then
    local C = h:size(2)
    h = h:contiguous()
    for r = 1, R do
      local hr = h:select(1, r)
      local m = first + r - 1
      if cfg.noise_type == "dropout" then
        local g = sl.Generator { seed = self:seed(), purpose = PURPOSE_NOISE, a = self:index(), b = m, c = step }
        hr:copy(sl.dropout2d(hr:view(1, C, G, G), math.min(s, 1), g:uniform({ 1, C })):view(C, G, G))
      else
        local e = noise_field(self, cfg, C, G, m, step)
        if cfg.noise_type == "multiplicative" then hr:copy(hr * (e * s + 1)) else hr:copy(hr + e * s) end
      end
    end
  end
  local oc = convs[j]
  local out = sl.conv2d(h, oc.weight, oc.bias)
  if x:dim() == 3 then return out:view(x:shape()) end
  return out
end

return M
