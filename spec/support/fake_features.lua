-- FAKE spinlock.features for the generation specs' fast paths.  Same interface as the real module
--   fx = fake.new(cfg, {M=, T=, C=3, G=, parameters=}); fx:schema(); fx:extract{traj=, ic=, ...}
-- with four small families whose values are cheap functions of the inputs (means per frame),
-- enough to check shapes, names, row placement and determinism in the written file.
local ffi = require "ffi"
local sl = require "spinlock"

local fake = { is_fake = true }

local FX = {}
FX.__index = FX

local function names(prefix, n)
  local t = {}
  for i = 1, n do t[i] = string.format("%s_%02d", prefix, i) end
  return t
end

function fake.new(cfg, dims)
  assert(dims.M and dims.T and dims.G, "fake_features.new: M, T, G required")
  local fams = cfg.features or { initial = true, architecture = true, summary = true, temporal = true }
  local self = setmetatable({ M = dims.M, T = dims.T, G = dims.G, P = #(dims.parameters or {}), on = fams }, FX)
  return self
end

function FX:schema()
  local s = {}
  if self.on.initial then s.initial = { shape = { self.M, 4 }, names = { "ic_mean", "ic_spatial_gradient_mean", "ic_min", "ic_max" } } end
  if self.on.architecture then s.architecture = { shape = { self.P + 1 }, names = names("arch_param", self.P + 1) } end
  if self.on.summary then s.summary = { shape = { 3 }, names = { "summary_mean", "summary_entropy", "summary_spectral_peak" } } end
  if self.on.temporal then s.temporal = { shape = { self.M, self.T, 2 }, names = { "temporal_mean", "temporal_absmax" } } end
  return s
end

local function mean_abs(p, n)
  local s, a = 0, 0
  for i = 0, n - 1 do s = s + p[i]; a = math.max(a, math.abs(p[i])) end
  return s / n, a
end

function FX:extract(x)
  local M, T = self.M, self.T
  local traj = x.traj:contiguous()
  local tp = ffi.cast("float*", traj:ptr())
  local fs = traj:numel() / (M * T)
  local out, q = {}, {}
  if self.on.temporal then
    local t = sl.zeros({ M, T, 2 })
    for m = 1, M do for k = 1, T do
      local mu, a = mean_abs(tp + ((m - 1) * T + k - 1) * fs, fs)
      t:set(mu, m, k, 1); t:set(a, m, k, 2)
    end end
    out.temporal = t
  end
  if self.on.initial then
    local ic = x.ic:contiguous()
    local mu, a = mean_abs(ffi.cast("float*", ic:ptr()), ic:numel())
    local t = sl.zeros({ M, 4 })
    for m = 1, M do t:set(mu, m, 1); t:set(a, m, 2); t:set(-a, m, 3); t:set(a, m, 4) end
    out.initial = t
  end
  if self.on.architecture then
    local t = sl.zeros({ self.P + 1 })
    for j = 1, self.P do t[j] = x.unit[j] end
    t[self.P + 1] = x.op_index
    out.architecture = t
  end
  if self.on.summary then
    local mu = mean_abs(tp, traj:numel())
    local last = mean_abs(tp + (T - 1) * fs, fs)
    out.summary = sl.tensor({ mu, math.abs(mu), last })
  end
  for fam, t in pairs(out) do q[fam] = sl.zeros(t:shape(), "uint8") end
  out.quality = q
  return out
end

return fake
