-- bench/cuda_bench.lua [CONFIG] [N_OPS] [T_STEPS] — CUDA throughput, for bench/cuda_check.sh.
--
-- Prints plain text:
--   1. cuBLAS SGEMM rates (FP32 and TF32) on square matrices: the ceiling to read conv rates against;
--   2. conv2d (im2col + cuBLAS) TFLOP/s per shape, FP32 and TF32, shapes from the baseline space
--      (3 realizations or a batch of 8 operators x 3, 16..64 channels, k = 3/5/7, 128x128);
--   3. operators/s on the first N_OPS (100) operators of CONFIG (configs/experiments/baseline_10k.yaml),
--      T_STEPS (10) steps each, projected to the config's operator count and timesteps.
--      The operator module (sl_operator.h) has no CUDA path yet (docs/cuda.md), so (3) runs a
--      *proxy* rollout: each sampled operator's architecture as sl_operator.h describes it
--      (blocks, channels, residual skips, 1x1 head), built from the CUDA ops, with random weights,
--      plain additive Gaussian noise and the residual policy — the same kernels and sizes, not
--      bit-identical operators (no spatially correlated noise, no dropout).
-- Timing: wall clock around sl.cuda_synchronize(); each measurement after one warm-up call.
local sl = require "spinlock"

local cfg_path = arg[1] or "configs/experiments/baseline_10k.yaml"
local n_ops = tonumber(arg[2] or "100")
local t_steps = tonumber(arg[3] or "10")
-- CUDA_BENCH_QUICK=1: tiny sizes, to check this script against the fake backend (make fakecuda).
local QUICK = os.getenv("CUDA_BENCH_QUICK") == "1"
local G = QUICK and 16 or 128
if QUICK then n_ops, t_steps = 2, 2 end

local info = sl.backend_info()
if not info.cuda_available then
  print("cuda_bench: skipped, CUDA unavailable: " .. tostring(info.reason))
  return
end
print(("device: %s (plugin %s)"):format(info.device_names[1], info.plugin))

local function timed(f, reps)
  f()
  sl.cuda_synchronize()
  local t0 = sl.wall_time()
  for _ = 1, reps do f() end
  sl.cuda_synchronize()
  return (sl.wall_time() - t0) / reps
end

local g = sl.Generator(2026)
local function randn(shape, scale)
  local t = g:normal(shape, 0, scale or 1):cuda()
  return t
end

-- 1. SGEMM
print("\n== cuBLAS SGEMM (row-major C = A B, n x n)")
print(("%-8s %12s %12s"):format("n", "FP32 TF/s", "TF32 TF/s"))
for _, n in ipairs(QUICK and { 64 } or { 2048, 4096, 8192 }) do
  local a, b = randn({ n, n }), randn({ n, n })
  local rates = {}
  for i, tf32 in ipairs({ false, true }) do
    sl.cuda_tf32(tf32)
    local dt = timed(function() local c = a:matmul(b); c:free() end, n >= 8192 and 3 or 10)
    rates[i] = 2 * n ^ 3 / dt / 1e12
  end
  sl.cuda_tf32(false)
  print(("%-8d %12.2f %12.2f"):format(n, rates[1], rates[2]))
  a:free(); b:free()
  collectgarbage()
end

-- 2. conv2d
print(("\n== conv2d, im2col + cuBLAS (same padding, stride 1), %dx%d"):format(G, G))
print(("%-28s %10s %12s %12s"):format("shape B,Cin->Cout,k", "GFLOP", "FP32 TF/s", "TF32 TF/s"))
local shapes = {
  { 3, 3, 16, 3 }, { 3, 16, 16, 3 }, { 3, 32, 32, 5 }, { 3, 64, 64, 3 }, { 3, 64, 64, 7 },
  { 3, 64, 3, 7 }, { 24, 32, 32, 5 }, { 24, 64, 64, 7 },
}
for _, s in ipairs(shapes) do
  local B, C, O, k = s[1], s[2], s[3], s[4]
  local x, w, bias = randn({ B, C, G, G }), randn({ O, C, k, k }, 0.1), randn({ O })
  local flops = 2 * B * O * C * k * k * G * G
  local rates = {}
  for i, tf32 in ipairs({ false, true }) do
    sl.cuda_tf32(tf32)
    local dt = timed(function() local y = sl.conv2d(x, w, bias); y:free() end, 10)
    rates[i] = flops / dt / 1e12
  end
  sl.cuda_tf32(false)
  print(("%-28s %10.2f %12.2f %12.2f"):format(("%d,%d->%d,k%d"):format(B, C, O, k), flops / 1e9, rates[1], rates[2]))
  x:free(); w:free(); bias:free()
  collectgarbage()
end

-- 3. operator proxy rollouts
local cfg = require("spinlock.config").load(cfg_path)
local total_ops = (cfg.sampling and cfg.sampling.total_samples) or 10000
local T = (cfg.simulation and cfg.simulation.num_timesteps) or 500
local M = (cfg.simulation and cfg.simulation.num_realizations) or 3
local rows = require("spinlock.params").sample(cfg, 0, n_ops).rows
print(("\n== proxy operator rollouts: %d operators of %s, %d steps each, M=%d, TF32 on"):format(n_ops, cfg_path, t_steps, M))
sl.cuda_tf32(true)
local t0 = sl.wall_time()
local flops_total = 0
for r = 1, n_ops do
  local p = rows[r]
  local n, b, k = p.num_layers or 3, p.base_channels or 32, p.kernel_size or 3
  local grid = QUICK and G or (p.grid_size or 128)
  -- The architecture of engine/core/sl_operator.h: input ConvBlock(3 -> b); hidden block i has
  -- b*2^min(i,2) channels, a ConvBlock for n <= 3, else a residual block of two ConvBlocks plus
  -- a skip (1x1 conv without bias when the channels change); output 1x1 conv to 3 with bias.
  -- ConvBlock = k x k conv (no bias under instance norm) -> instance norm -> GELU (fused).
  local function conv(cin, cout, kk, bias)
    flops_total = flops_total + 2 * M * cout * cin * kk * kk * grid * grid * t_steps
    return { w = randn({ cout, cin, kk, kk }, 1 / math.sqrt(cin * kk * kk)), b = bias and randn({ cout }, 0.01) or nil }
  end
  local function block(c, h) return sl.instance_norm(sl.conv2d(h, c.w, c.b), nil, nil, 1e-5, "gelu") end
  local input = conv(3, b, k, false)
  local hidden, cur = {}, b
  for i = 0, n - 1 do
    local co = b * 2 ^ math.min(i, 2)
    if n <= 3 then hidden[#hidden + 1] = { c1 = conv(cur, co, k, false) }
    else hidden[#hidden + 1] = { c1 = conv(cur, co, k, false), c2 = conv(co, co, k, false),
                                 skip = cur ~= co and conv(cur, co, 1, false) or nil } end
    cur = co
  end
  local head = conv(cur, 3, 1, true)
  local x = randn({ M, 3, grid, grid })
  local noise = sl.zeros({ M, cur, grid, grid }):cuda()
  local ng = sl.Generator { seed = 1, purpose = 1, a = r }
  for _ = 1, t_steps do
    local h = block(input, x)
    for _, hb in ipairs(hidden) do
      if hb.c2 then
        local s = hb.skip and sl.conv2d(h, hb.skip.w) or h
        h = block(hb.c2, block(hb.c1, h)) + s
      else
        h = block(hb.c1, h)
      end
    end
    ng:normal_(noise, 0, p.noise_scale or 0.01)   -- additive Gaussian noise on the last channels
    local y = sl.conv2d(h + noise, head.w, head.b)
    x = x + y * 0.01                              -- residual policy, dt = 0.01
  end
  sl.cuda_synchronize()
  collectgarbage()
end
sl.cuda_tf32(false)
local dt = sl.wall_time() - t0
local per_op = dt / n_ops
local projected = per_op * (T / t_steps) * total_ops
print(("wall %.2f s for %d operators x %d steps: %.2f operators/s at %d steps, %.3f s per operator-step"):format(
  dt, n_ops, t_steps, n_ops / dt, t_steps, dt / (n_ops * t_steps)))
print(("conv FLOP rate inside the rollouts: %.2f TF/s"):format(flops_total / dt / 1e12))
print(("projected: %d operators x %d steps = %.1f GPU-hours on this device (%.3f operators/s at T=%d)"):format(
  total_ops, T, projected / 3600, total_ops / projected, T))
local mem = sl.cuda_memory()
print(("cuda memory: %.1f MiB allocated, %.1f MiB cached"):format(mem.allocated / 2^20, mem.cached / 2^20))
