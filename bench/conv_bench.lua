-- conv2d throughput per algorithm next to the sgemm rate measured in the same run.
--
-- GFLOP/s are "direct-convolution FLOPs" = 2·B·Cout·Cin·k²·H·W per call, whatever the algorithm
-- really does (so FFT numbers above the sgemm rate mean fewer real FLOPs, not a faster machine).
-- fftrow = FFT along x + complex GEMMs along y (no weight cache).
-- wino = Winograd F(4x4,3x3) (k = 3 rows only; steady state, transformed weights cached).
-- fft is timed in the steady state of a rollout (weight spectra cached in a reused workspace);
-- the "fft 1st" column is the first call, which also transforms the weights.
-- auto = what the engine picks by default (algo "auto", steady state with a reused workspace),
-- the path the operators use; the summary line checks the target "conv >= 0.5x sgemm at 64+
-- input channels" on it.  A closing section times rfft2 + irfft2 pairs on [B,C,G,G].
-- Keep the whole run under ~1 minute on 2 cores: reps adapt to the problem size and the direct
-- loop is only timed on small problems.
--
-- Usage: build/spinlock run bench/conv_bench.lua [quick]
local sl = require "spinlock"
local ffi = require "ffi"

local now = sl.wall_time   -- monotonic wall clock (engine/lua/l_sys.c)

local quick = arg and arg[1] == "quick"

-- Best wall time of `reps` calls (after one untimed warm-up when `warm`).
local function best_time(fn, reps, warm)
  if warm then fn() end
  local best = math.huge
  for _ = 1, reps do
    local t0 = now()
    fn()
    local dt = now() - t0
    if dt < best then best = dt end
  end
  return best
end

local function randn(shape)
  local t = sl.empty(shape)
  local p = ffi.cast("float*", t:ptr())
  local s = 1
  for i = 0, t:numel() - 1 do
    s = (s * 1103515245 + 12345) % 2147483648
    p[i] = s / 2147483648 - 0.5
  end
  return t
end

-- sgemm reference rate.
local n = 1024
local A, Bm = randn({n, n}), randn({n, n})
local t_gemm = best_time(function() return sl.matmul(A, Bm) end, 5, true)
local gemm_rate = 2 * n ^ 3 / t_gemm / 1e9
print(string.format("conv2d benchmark — OpenBLAS core %s, %d BLAS threads, %d OpenMP threads",
  sl.blas_corename(), sl.blas_threads(), sl.num_threads and sl.num_threads() or -1))
print(string.format("sgemm (sl.matmul) %dx%dx%d: %.1f GFLOP/s (%.2f ms)\n", n, n, n, gemm_rate, t_gemm * 1e3))

local pairs_ = quick and {{3, 16}, {64, 128}} or {{3, 16}, {32, 32}, {64, 128}, {256, 256}}
local ks = quick and {3, 7} or {3, 5, 7}
local grids = quick and {64} or {64, 128}
local B = 3

local header = string.format("%-10s %2s %5s | %9s %5s | %9s %5s %-8s | %9s %5s | %9s %5s %9s | %9s %5s | %9s %5s",
  "Cin->Cout", "k", "grid", "im2col ms", "ratio", "auto ms", "ratio", "chose", "fftrow ms", "ratio", "fft ms", "ratio",
  "fft 1st", "wino ms", "ratio", "direct ms", "ratio")
print(header)
print(string.rep("-", #header))

local function cell(t, flops)
  if not t then return string.format("%9s %5s", "-", "-") end
  return string.format("%9.2f %5.2f", t * 1e3, flops / t / 1e9 / gemm_rate)
end

local t_start = now()
local worst   -- lowest auto ratio among the rows with 64+ input channels: {ratio, label}
for _, grid in ipairs(grids) do
  for _, cc in ipairs(pairs_) do
    local cin, cout = cc[1], cc[2]
    for _, k in ipairs(ks) do
      local x, w, b = randn({B, cin, grid, grid}), randn({cout, cin, k, k}), randn({cout})
      local out = sl.empty(B, cout, grid, grid)
      local flops = 2 * B * cout * cin * k * k * grid * grid
      local reps = flops < 2e9 and 5 or (flops < 2e10 and 2 or 1)
      local warm = flops < 5e10
      local ws = sl.conv2d_workspace()
      local function run(algo) return function() sl.conv2d(x, w, b, {algo = algo, workspace = ws, out = out}) end end

      local t_im = best_time(run("im2col"), reps, warm)
      local t_row = best_time(run("fftrow"), reps, warm)
      local t_fft, t_first
      local ok = pcall(function()
        local t0 = now(); run("fft")(); t_first = now() - t0
        t_fft = best_time(run("fft"), reps, false)
      end)
      if not ok then t_fft, t_first = nil, nil end
      local t_wino = k == 3 and best_time(run("winograd"), reps, warm) or nil
      local t_dir = flops <= 2.5e9 and best_time(run("direct"), flops < 2e8 and 3 or 1, flops < 2e8) or nil
      -- auto: the call that reports the choice also warms its workspace (fft weight spectra)
      local _, used = sl.conv2d(x, w, b, {algo = "auto", workspace = ws, out = out})
      local t_auto = best_time(run("auto"), reps, false)
      local label = string.format("%d->%d k=%d %d²", cin, cout, k, grid)
      local r_auto = flops / t_auto / 1e9 / gemm_rate
      if cin >= 64 and (not worst or r_auto < worst[1]) then worst = {r_auto, label} end
      print(string.format("%-10s %2d %4d² | %s | %s %-8s | %s | %s %9s | %s | %s",
        cin .. "->" .. cout, k, grid, cell(t_im, flops), cell(t_auto, flops), used, cell(t_row, flops),
        cell(t_fft, flops), t_first and string.format("%9.1f", t_first * 1e3) or "n/a", cell(t_wino, flops),
        cell(t_dir, flops)))
      ws:free()
      x:free(); w:free(); out:free()
    end
  end
end
print(string.format("\nratio = conv GFLOP/s (2·B·Cout·Cin·k²·H·W per call) / sgemm GFLOP/s; B = %d; zero padding; " ..
  "fft n/a = weight spectra above the 256 MiB workspace budget.  Total %.1f s.", B, now() - t_start))
if worst then
  print(string.format("target conv >= 0.5x sgemm at 64+ input channels (auto path): %s (lowest %.2fx, %s)",
    worst[1] >= 0.5 and "HOLDS" or "MISSED", worst[1], worst[2]))
end

-- FFT throughput: one rfft2 + irfft2 pair on [B, C, G, G] (the spectral path of the fft conv
-- and the features).  A "transform" is one G×G real 2-D FFT, so a pair is 2·B·C transforms.
-- GFLOP/s use the complex-FFT convention 5·N·log2(N) per transform (N = G²), as benchFFT
-- reports; a real-input transform does about half that arithmetic.
print(string.format("\nFFT throughput (rfft2 + irfft2 pairs, %d OpenMP threads)",
  sl.num_threads and sl.num_threads() or -1))
local fheader = string.format("%-16s | %9s | %12s | %8s", "[B,C,G,G]", "pair ms", "transforms/s", "GFLOP/s")
print(fheader)
print(string.rep("-", #fheader))
local FC = 64
for _, G in ipairs(grids) do
  local x = randn({B, FC, G, G})
  local pair = function() local X = sl.rfft2(x); local y = sl.irfft2(X, {G, G}); X:free(); y:free() end
  local t = best_time(pair, G <= 64 and 10 or 5, true)
  local ntr = 2 * B * FC
  local N = G * G
  print(string.format("%-16s | %9.2f | %12.0f | %8.1f", string.format("[%d,%d,%d,%d]", B, FC, G, G), t * 1e3,
    ntr / t, ntr * 5 * N * math.log(N) / math.log(2) / t / 1e9))
  x:free()
end
