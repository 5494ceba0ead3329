-- Per-frame feature kernel throughput (frames/s) on 128² fields, C = 3, per category and all
-- together.  Run: build/spinlock run bench/features_frame_bench.lua [frames]   (< 10 s)
local sl = require "spinlock"
local frame = require "spinlock.features.frame"

local nframes = tonumber(arg and arg[1]) or 64
local G, C = 128, 3
local g = sl.Generator { seed = 1 }
local traj = g:normal({ 1, nframes, C, G, G }, 0, 1)

local wall = sl.wall_time   -- monotonic wall clock (engine/lua/l_sys.c)

local function run(label, cfg)
  frame.compute(traj:narrow(2, 1, 2), cfg)          -- warm-up: FFT plans, page faults
  local t0 = wall()
  local y = frame.compute(traj, cfg)
  local dt = wall() - t0
  print(("feat_frame %-16s D=%2d  %8.1f frames/s  %7.3f ms/frame (%d threads, %dx%d, C=%d)")
        :format(label, y:size(3), nframes / dt, 1e3 * dt / nframes, sl.num_threads(), G, G, C))
end

for _, c in ipairs(frame.categories()) do run(c.name, { categories = { c.name } }) end
run("all", nil)
