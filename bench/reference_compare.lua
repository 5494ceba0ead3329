-- Spinlock against the reference on the reference's own measured workload
-- (shared/notes/reference-performance.md: baseline parameter space, M = 3, T = 20, 64², all four
-- feature families; the reference's PyTorch CPU run took 8.1 s per operator: 4.3 s rollout,
-- 3.7 s SUMMARY features, with convolutions at 146–245 GFLOP/s through oneDNN).
--
-- The operators are Sobol draws, so their sizes differ from the reference's four; the fair
-- numbers are therefore per-FLOP for the rollout (GFLOP/s from each operator's exact
-- multiply-add count) and per operator for the features (their cost barely depends on the
-- operator).  Not part of `make bench` (it runs for a minute or two):
--   build/spinlock run bench/reference_compare.lua [N]      (default N = 8)
local config = require "spinlock.config"
local generate = require "spinlock.generate"
local operator = require "spinlock.operator"
local paths = require "spinlock.paths"

local N = tonumber(arg and arg[1]) or 8
local cfg = config.load(paths.home .. "/bench/configs/reference_compare.yaml", { num_operators = N }, { warn = false })
local out = os.tmpname()
os.remove(out)
out = out .. ".h5"

local res = generate.run(cfg, { output = out, force = true, progress = false, log = function() end })
os.remove(out)

-- exact FLOPs of the rollouts: rebuild each operator (cheap) and ask for its per-step count
local params = require "spinlock.params"
local flops = 0
local M, T = cfg.simulation.num_realizations, cfg.simulation.num_timesteps
local seed = cfg.sampling.sobol.seed
for i = 0, N - 1 do
  local op = operator.build(params.sample(cfg, i, 1).rows[1], { seed = seed, op_index = i, horizon = T - 1 })
  flops = flops + op:info().flops_per_step * M * (T - 1)
  op:free()
end

local t = res.timings
local per = function(x) return x / N end
local rollout_gflops = flops / t.rollout / 1e9
print(("reference workload, N = %d operators, M = %d, T = %d, 64x64, all four families"):format(N, M, T))
print(("%-28s %12s %12s %8s"):format("", "spinlock", "reference", "ratio"))
print(("%-28s %11.2fs %11.2fs %7.1fx"):format("total per operator", per(t.total), 8.1, 8.1 / per(t.total)))
print(("%-28s %11.2fs %11.2fs %7.1fx"):format("features per operator", per(t.features), 3.7, 3.7 / per(t.features)))
print(("%-28s %11.2fs %11.2fs %8s"):format("rollout per operator", per(t.rollout), 4.3, "(n/a)"))
print(("%-28s %10.1f %12s %8s"):format("rollout GFLOP/s (exact)", rollout_gflops, "146-245", ""))
print("(rollout seconds depend on which operators were drawn; compare the GFLOP/s row)")
