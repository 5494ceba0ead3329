-- Rollout throughput of baseline-like operators: steps/s (one step = all M realizations advanced
-- by one frame) and GFLOP/s (2 × conv multiply-adds per realization-step × M, whatever algorithm
-- each layer uses: FFT layers can show more than the machine's sgemm rate).
--
-- Operators span the baseline_10k space (gelu, instance norm, gaussian noise, residual policy):
-- small (n=2, b=16, k=3), mid (n=3, b=32, k=5), a residual one (n=4, b=32, k=3) and a wide one
-- (n=3, b=64, k=3), at 64² and 128², M = 3.  Steps per case adapt to its cost so the whole file stays well under a minute on
-- 2 cores; the first (untimed) rollout warms up the workspace and FFT weight spectra.
--
-- Usage: build/spinlock run bench/rollout_bench.lua [quick]
local sl = require "spinlock"
local operator = require "spinlock.operator"

local quick = arg and arg[1] == "quick"
local M = 3
local budget = quick and 0.5 or 2.5      -- seconds of timed rollout per case

local cases = {
  { name = "n2 b16 k3", p = { num_layers = 2, base_channels = 16, kernel_size = 3 } },
  { name = "n3 b32 k5", p = { num_layers = 3, base_channels = 32, kernel_size = 5 } },
  { name = "n4 b32 k3", p = { num_layers = 4, base_channels = 32, kernel_size = 3 } },
  { name = "n3 b64 k3", p = { num_layers = 3, base_channels = 64, kernel_size = 3 } },
}

print(("threads %d, BLAS %s"):format(sl.num_threads(), sl.blas_corename()))
print(("%-11s %5s %8s %10s %8s %9s  %s"):format("operator", "G", "params", "GFLOP/st", "steps/s", "GFLOP/s", "algos"))
for _, G in ipairs { 64, 128 } do
  for _, c in ipairs(cases) do
    local p = {}
    for k, v in pairs(c.p) do p[k] = v end
    p.grid_size, p.activation, p.normalization = G, "gelu", "instance"
    p.noise_type, p.noise_scale, p.update_policy, p.dt = "gaussian", 0.01, "residual", 0.05
    local op = operator.build(p, { seed = 1, op_index = 0 })
    local info = op:info()
    local ic = sl.Generator(7):normal({ 3, G, G })
    local flops = info.flops_per_step * M
    -- warm-up rollout, and a first estimate of the step time
    local t0 = sl.wall_time()
    op:rollout(ic, M, 3)
    local per = (sl.wall_time() - t0) / 2
    local T = math.max(3, math.min(200, math.floor(budget / per) + 1))
    t0 = sl.wall_time()
    local _, st = op:rollout(ic, M, T)
    local dt = sl.wall_time() - t0
    local algos = {}
    for _, l in ipairs(info.layers) do if l.k > 1 then algos[l.algo] = true end end
    local names = {}
    for a in pairs(algos) do names[#names + 1] = a end
    table.sort(names)
    print(("%-11s %5d %8d %10.2f %8.1f %9.1f  %s%s"):format(c.name, G, info.parameters, flops / 1e9, (T - 1) / dt,
          flops * (T - 1) / dt / 1e9, table.concat(names, ","), st.num_diverged > 0 and " (diverged)" or ""))
    op:free()
    collectgarbage()
  end
end
