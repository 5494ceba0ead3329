-- Per-trajectory feature kernel throughput (frames/s) per category and all together, on
-- [M=3, T, C=3, G, G] trajectories at 64² and 128², plus the sensitivity arithmetic (probes +
-- reduction, identity stand-in operator).  Run: build/spinlock run bench/features_traj_bench.lua [T]
-- (< 10 s).
local sl = require "spinlock"
local traj = require "spinlock.features.trajectory"

local T = tonumber(arg and arg[1]) or 50
local M, C = 3, 3

local wall = sl.wall_time   -- monotonic wall clock (engine/lua/l_sys.c)

local function only(c)   -- kernel config with one category (c = nil: none)
  local k = { temporal = false, causality = false, invariant_drift = false, nonlinear = false }
  if c then k[c] = true end
  return k
end

for _, G in ipairs({ 64, 128 }) do
  local g = sl.Generator { seed = 1 }
  local x = g:normal({ M, T, C, G, G }, 0, 1)
  for _, c in ipairs({ "temporal", "causality", "invariant_drift", "nonlinear", "all" }) do
    local cfg = nil
    if c ~= "all" then cfg = only(c) end
    sl.feat_traj(x:narrow(2, 1, 2), cfg)
    local t0 = wall()
    local y = sl.feat_traj(x, cfg)
    local dt = wall() - t0
    print(("feat_traj %-16s D=%3d  %9.1f frames/s  %7.3f ms/frame (%d threads, %dx%d, M=%d T=%d C=%d)")
          :format(c, y:size(2), M * T / dt, 1e3 * dt / (M * T), sl.num_threads(), G, G, M, T, C))
  end
  local op = { forward = function(self, v) return v end }
  local t0 = wall()
  local n = 20
  for _ = 1, n do traj.compute(x:narrow(2, 1, 2), { categories = { temporal = false, causality = false, invariant_drift = false } }, { operator = op, seed = 1 }) end
  local dt = wall() - t0
  print(("sensitivity (identity operator, 8 probes)  %7.3f ms/operator (%dx%d)"):format(1e3 * dt / n, G, G))
end
