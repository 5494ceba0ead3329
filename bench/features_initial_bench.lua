-- INITIAL feature throughput (ICs/s): the 14 manual features and the CNN embedding on 3-channel
-- ICs at G = 32, 64, 128.  Run: build/spinlock run bench/features_initial_bench.lua [n]  (< 10 s)
local sl = require "spinlock"

local n = tonumber(arg and arg[1]) or 16
local g = sl.Generator { seed = 1 }

local wall = sl.wall_time   -- monotonic wall clock (engine/lua/l_sys.c)

for _, G in ipairs { 32, 64, 128 } do
  local ic = g:normal({ n, 3, G, G }, 0, 1)
  sl.feat_initial_cnn(ic:narrow(1, 1, 1))      -- warm-up: weights, FFT plans
  sl.feat_initial_manual(ic:narrow(1, 1, 1))
  local t0 = wall()
  sl.feat_initial_manual(ic)
  local t1 = wall()
  sl.feat_initial_cnn(ic, 64)
  local t2 = wall()
  print(("feat_initial G=%3d  manual %8.1f ICs/s (%6.2f ms)   cnn(64) %7.1f ICs/s (%6.2f ms)   %d threads")
        :format(G, n / (t1 - t0), 1e3 * (t1 - t0) / n, n / (t2 - t1), 1e3 * (t2 - t1) / n, sl.num_threads()))
end
