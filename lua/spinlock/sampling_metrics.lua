-- Quality metrics of a sampled unit-cube point set (spec/generation.md §2.4), stored in the
-- dataset metadata.
--
-- * discrepancy: the SQUARED centered L2 discrepancy (Hickernell 1998),
--     CD2 = (13/12)^P - (2/N) sum_i prod_d (1 + |z_id|/2 - z_id^2/2)
--           + (1/N^2) sum_i sum_j prod_d (1 + |z_id|/2 + |z_jd|/2 - |x_id - x_jd|/2),
--   z = x - 1/2.  The double sum is O(N^2 P); it runs over FFI double arrays in one JIT-compiled
--   loop (symmetric half plus the diagonal).  Above MAX_EXACT_N points it is computed on a
--   deterministic subsample of MAX_EXACT_N rows, rows floor(k * N / MAX_EXACT_N) for k = 0..,
--   and `discrepancy_n` records how many rows were used.
-- * correlations: |Pearson r| over all off-diagonal column pairs: max, min, mean.  A constant
--   column (zero variance) has r = 0 with every other column.
-- Pass flags use strict "<" against sampling.validation thresholds; a disabled check passes.

local ffi = require "ffi"

local M = {}

M.MAX_EXACT_N = 20000

local abs = math.abs

-- double* to row-major data, plus the tensor that owns it (callers keep that second result in a
-- local so a contiguous copy stays alive while the pointer is in use)
local function as_ptr(x)
  if type(x) == "cdata" then return ffi.cast("const double*", x) end
  if x ~= nil and x.ptr then
    if x.dtype and x:dtype() ~= "float64" then
      error("sampling_metrics: points must be float64, found " .. tostring(x:dtype()), 3)
    end
    if x.is_contiguous and not x:is_contiguous() then x = x:contiguous() end
    return ffi.cast("const double*", x:ptr()), x
  end
  error("sampling_metrics: expected an FFI double array or a float64 tensor", 3)
end

--- Squared centered L2 discrepancy of N points in P dimensions (row-major double array).
-- Returns cd2, rows_used.
function M.centered_l2_discrepancy(points, N, P)
  local x, keep = as_ptr(points)
  local n = N
  local rows = nil
  if N > M.MAX_EXACT_N then
    n = M.MAX_EXACT_N
    rows = ffi.new("double[?]", n * P)
    for k = 0, n - 1 do
      local r = math.floor(k * N / n)
      for d = 0, P - 1 do rows[k * P + d] = x[r * P + d] end
    end
    x = rows
  end
  local z = ffi.new("double[?]", math.max(n * P, 1))
  for i = 0, n * P - 1 do z[i] = abs(x[i] - 0.5) end

  local term1 = (13 / 12) ^ P
  local s2 = 0
  for i = 0, n - 1 do
    local prod = 1
    for d = 0, P - 1 do
      local zi = z[i * P + d]
      prod = prod * (1 + 0.5 * zi - 0.5 * zi * zi)
    end
    s2 = s2 + prod
  end
  local diag, off = 0, 0
  for i = 0, n - 1 do
    local bi = i * P
    local prod = 1
    for d = 0, P - 1 do prod = prod * (1 + z[bi + d]) end
    diag = diag + prod
    for j = i + 1, n - 1 do
      local bj = j * P
      local p = 1
      for d = 0, P - 1 do
        p = p * (1 + 0.5 * z[bi + d] + 0.5 * z[bj + d] - 0.5 * abs(x[bi + d] - x[bj + d]))
      end
      off = off + p
    end
  end
  return term1 - 2 / n * s2 + (diag + 2 * off) / (n * n), n
end

--- |Pearson r| statistics over off-diagonal column pairs: max, min, mean (0, 0, 0 when P < 2).
function M.correlations(points, N, P)
  local x, keep = as_ptr(points)
  if P < 2 or N < 2 then return 0, 0, 0 end
  local mean = ffi.new("double[?]", P)
  local c = ffi.new("double[?]", N * P)
  for d = 0, P - 1 do
    local s = 0
    for i = 0, N - 1 do s = s + x[i * P + d] end
    mean[d] = s / N
  end
  for i = 0, N * P - 1 do c[i] = x[i] - mean[i % P] end
  local ss = ffi.new("double[?]", P)
  for d = 0, P - 1 do
    local s = 0
    for i = 0, N - 1 do local v = c[i * P + d]; s = s + v * v end
    ss[d] = s
  end
  local mx, mn, sum, cnt = 0, math.huge, 0, 0
  for a = 0, P - 1 do
    for b = a + 1, P - 1 do
      local r = 0
      if ss[a] > 0 and ss[b] > 0 then
        local s = 0
        for i = 0, N - 1 do s = s + c[i * P + a] * c[i * P + b] end
        r = abs(s / math.sqrt(ss[a] * ss[b]))
      end
      if r > mx then mx = r end
      if r < mn then mn = r end
      sum = sum + r
      cnt = cnt + 1
    end
  end
  return mx, mn, sum / cnt
end

--- All metrics as the metadata dict.
-- validation: cfg.sampling.validation (check_discrepancy, max_discrepancy, check_correlation,
-- max_pairwise_correlation); info: { scramble = bool, seed = int } for the record.
function M.compute(points, N, P, validation, info)
  validation = validation or {}
  info = info or {}
  local cd2, used = M.centered_l2_discrepancy(points, N, P)
  local mx, mn, mean = M.correlations(points, N, P)
  local dmax = validation.check_discrepancy == false and math.huge or (validation.max_discrepancy or 0.01)
  local cmax = validation.check_correlation == false and math.huge or (validation.max_pairwise_correlation or 0.05)
  local scramble = info.scramble ~= false
  return {
    discrepancy = cd2,
    discrepancy_n = used,
    max_correlation = mx,
    min_correlation = mn,
    mean_correlation = mean,
    discrepancy_pass = cd2 < dmax,
    correlation_pass = mx < cmax,
    sampler_type = scramble and "sobol_owen" or "sobol",
    dimensionality = P,
    n_samples = N,
    scramble_enabled = scramble,
    scramble_seed = info.seed,
  }
end

return M
