-- Per-frame features (engine/core/feat_frame.c, lua/spinlock/features/frame.lua).
-- Golden values come from tools/ref/feat_frame_ref.py, an independent numpy implementation of
-- the catalog formulas (full-plane FFT, real-space autocorrelation, BFS components…), stored in
-- spec/fixtures/feat_frame_golden.lua; plus hand-computed values on plane waves and constant
-- fields, layout/dtype/thread invariance, category subsets and error cases.
local sl = require "spinlock"
local frame = require "spinlock.features.frame"

local golden = dofile("spec/fixtures/feat_frame_golden.lua")

local function isnan(x) return x ~= x end

-- Per-feature tolerances |got - want| <= atol + rtol*|want| (default below).  The kernel runs a
-- float32 FFT where the reference uses float64, hence looser bounds on spectral quantities.
local DEFAULT_TOL = { atol = 1e-5, rtol = 1e-4 }
local TOL = {
  spectral_flatness = { atol = 1e-4, rtol = 1e-3 },
  spectral_slope = { atol = 1e-4, rtol = 1e-3 },
  spectral_entropy = { atol = 1e-5, rtol = 1e-3 },
  cross_channel_log10_condition_number = { atol = 1e-4, rtol = 1e-3 },
}
for s = 0, 4 do
  for _, k in ipairs { "mean", "max", "std" } do
    TOL[("fft_power_scale_%d_%s"):format(s, k)] = { atol = 1e-5, rtol = 1e-3 }
  end
end

-- Deep equality of nested tables of numbers where NaN equals NaN.
local function same(a, b, path)
  path = path or ""
  if type(a) == "table" then
    if type(b) ~= "table" or #a ~= #b then return false, path .. ": length differs" end
    for i = 1, #a do
      local ok, where = same(a[i], b[i], path .. "[" .. i .. "]")
      if not ok then return false, where end
    end
    return true
  end
  if a == b or (isnan(a) and isnan(b)) then return true end
  return false, ("%s: %s vs %s"):format(path, tostring(a), tostring(b))
end
local function assert_same(a, b, msg)
  local ok, where = same(a, b)
  assert(ok, (msg and msg .. ": " or "") .. tostring(where))
end

local function tensor_of(case)
  return sl.tensor(case.input, "float32"):view(unpack(case.shape))
end

-- Compares y [M,T,D] with rows (m-major) of expected values; returns a list of mismatch lines.
local function compare(y, expected, names, label)
  local bad = {}
  local shape = y:shape()
  local row = 0
  for m = 1, shape[1] do
    for t = 1, shape[2] do
      row = row + 1
      local want = expected[row]
      for k = 1, #names do
        local got, exp = y:get(m, t, k), want[k]
        local tol = TOL[names[k]] or DEFAULT_TOL
        local ok
        if isnan(exp) then ok = isnan(got)
        else ok = not isnan(got) and math.abs(got - exp) <= tol.atol + tol.rtol * math.abs(exp) end
        if not ok then
          bad[#bad + 1] = ("%s m=%d t=%d %s: got %.9g want %.9g"):format(label, m, t, names[k], got, exp)
        end
      end
    end
  end
  return bad
end

local function plane(G, fn)
  local t = sl.zeros({ 1, 1, 1, G, G })
  for y = 1, G do for x = 1, G do t:set(fn(y - 1, x - 1), 1, 1, 1, y, x) end end
  return t
end

local function col(name)
  for i, e in ipairs(frame.catalog()) do if e.name == name then return i end end
  error("no feature " .. name)
end

describe("feat_frame catalog", function()
  it("has 87 uniquely named features in category order with formulas", function()
    local cat = frame.catalog()
    assert.are.equal(87, #cat)
    assert.are.same(golden.names, (function() local n = {} for i, e in ipairs(cat) do n[i] = e.name end return n end)())
    local seen, order, last = {}, {}, nil
    for _, e in ipairs(cat) do
      assert.is_nil(seen[e.name], "duplicate " .. e.name)
      seen[e.name] = true
      assert.is_true(#e.formula > 0 and #e.meaning > 0, e.name)
      if e.category ~= last then order[#order + 1] = e.category; last = e.category end
    end
    assert.are.same(frame.ALL_CATEGORIES, order)
    local counts = {}
    for _, c in ipairs(frame.categories()) do counts[c.name] = c.count end
    assert.are.same({ spatial = 24, spectral = 27, cross_channel = 12, distributional = 5, structural = 5,
                      physics = 5, morphological = 4, multiscale = 5 }, counts)
  end)

  it("names what the guide's examples look for and drops the degenerate reference features", function()
    local names = {}
    for _, e in ipairs(frame.catalog()) do names[e.name] = true end
    local peak, entropy = false, false
    for n in pairs(names) do
      if n:find("spectral") and n:find("peak") then peak = true end
      if n:find("entropy") then entropy = true end
    end
    assert.is_true(peak and entropy)
    for _, gone in ipairs { "gradient_x_mean", "gradient_y_mean", "laplacian_mean", "cross_channel_eigen_trace",
                            "dominant_freq_magnitude", "cross_channel_condition_number" } do
      assert.is_nil(names[gone], gone)
    end
  end)

  it("selects categories from a list or a map, widths from the config only", function()
    assert.are.equal(87, frame.width())
    assert.are.equal(63, frame.width { categories = { "spatial", "spectral", "cross_channel" } })
    assert.are.equal(82, frame.width { categories = { physics = false } })
    assert.are.equal(82, frame.width { frame = { categories = { physics = false } } })
    assert.are.equal(0, frame.width { categories = {} })
    local c = frame.catalog { categories = { "multiscale", "spatial" } }   -- catalog order kept
    assert.are.equal("spatial_mean", c[1].name)
    assert.are.equal("wavelet_residual_fraction", c[#c].name)
  end)

  it("rejects unknown categories and keys with clear messages", function()
    assert.has_error(function() frame.catalog { categories = { "spatail" } } end,
      "features.frame.categories: unknown category 'spatail' (expected one of spatial, spectral, cross_channel, distributional, structural, physics, morphological, multiscale)")
    local ok, err = pcall(frame.catalog, { categoris = {} })
    assert.is_false(ok)
    assert.truthy(err:find("unknown key 'categoris'", 1, true))
    ok, err = pcall(frame.catalog, { categories = { spatial = 1 } })
    assert.truthy(err:find("expected true or false", 1, true))
    ok, err = pcall(sl.feat_frame, sl.zeros(1, 1, 1, 4, 4), { "nope" })
    assert.truthy(err:find("unknown category 'nope'", 1, true))
  end)
end)

describe("feat_frame golden values (numpy reference)", function()
  for _, case in ipairs(golden.cases) do
    it("matches every feature on " .. case.label, function()
      local y = frame.compute(tensor_of(case))
      assert.are.same({ case.shape[1], case.shape[2], #golden.names }, y:shape())
      local bad = compare(y, case.expected, golden.names, case.label)
      assert(#bad == 0, #bad .. " mismatches:\n" .. table.concat(bad, "\n", 1, math.min(#bad, 20)))
    end)
  end

  it("gives the same values for strided, float64 and 4-D inputs", function()
    local case = golden.cases[1]
    local x = tensor_of(case)                              -- [2,3,3,16,16]
    local want = frame.compute(x)
    -- a non-contiguous view with the same logical values: store as [T,M,C,W,H] and permute back
    local store = sl.zeros(3, 2, 3, 16, 16)
    store:copy(x:permute(2, 1, 3, 5, 4))
    local strided = store:permute(2, 1, 3, 5, 4)
    assert.is_false(strided:is_contiguous())
    local got = frame.compute(strided)
    assert_same(want:totable(), got:totable())
    assert_same(want:totable(), frame.compute(x:double()):totable())
    local y4 = frame.compute(x:select(1, 2))                -- [T,C,H,W] → M = 1
    assert.are.same({ 1, 3, 87 }, y4:shape())
    assert_same(want:select(1, 2):totable(), y4:select(1, 1):totable())
  end)

  it("does not depend on the thread count", function()
    local x = tensor_of(golden.cases[1])
    local n0 = sl.num_threads()
    sl.set_num_threads(1)
    local a = frame.compute(x):totable()
    sl.set_num_threads(math.max(2, n0))
    local b = frame.compute(x):totable()
    sl.set_num_threads(n0)
    assert_same(a, b)
  end)

  it("returns the enabled columns of the full result for a category subset", function()
    local x = tensor_of(golden.cases[1])
    local full = frame.compute(x)
    local cfg = { categories = { "cross_channel", "physics" } }
    local sub = frame.compute(x, cfg)
    for j, e in ipairs(frame.catalog(cfg)) do
      local k = col(e.name)
      assert_same(full:select(3, k):totable(), sub:select(3, j):totable(), e.name)
    end
  end)
end)

describe("feat_frame hand-computed values", function()
  local G = 16
  it("sees a plane wave along x or y as one mode holding all the variance", function()
    local wx = frame.compute(plane(G, function(_, x) return math.sin(2 * math.pi * 2 * x / G) end))
    local wy = frame.compute(plane(G, function(y, _) return 2 + math.cos(2 * math.pi * 5 * y / G) end))
    local function v(t, n) return t:get(1, 1, col(n)) end
    assert.near(1, v(wx, "spectral_peak_power_ratio"), 1e-5)
    assert.near(1, v(wy, "spectral_peak_power_ratio"), 1e-5)   -- the mirror bin of column 0 counts too
    assert.near(2 / G, v(wx, "dominant_freq_x"), 1e-7)
    assert.near(0, v(wx, "dominant_freq_y"), 1e-7)
    assert.near(0, v(wy, "dominant_freq_x"), 1e-7)
    assert.near(5 / G, v(wy, "dominant_freq_y"), 1e-7)
    assert.near(1, v(wx, "spectral_anisotropy"), 1e-5)
    assert.near(-1, v(wy, "spectral_anisotropy"), 1e-5)
    assert.near(2 / G, v(wx, "spectral_rolloff"), 1e-6)
    assert.near(1, v(wx, "low_freq_ratio"), 1e-5)              -- 2/16 < 1/6 cycle/sample (⅓ of Nyquist)
    assert.near(1, v(wy, "mid_freq_ratio"), 1e-5)              -- 5/16 in [1/6, 1/3)
    assert.near(2 / G, v(wx, "structure_factor_peak_freq"), 1e-7)
    assert.near(0, v(wx, "spatial_mean"), 1e-6)
    assert.near(0.5 * G * G / (G * G - 1), v(wx, "spatial_variance"), 1e-5)
    assert.near(math.log(2) / math.log(G * G - 1), v(wx, "spectral_entropy"), 1e-4)   -- the mode and its mirror
    assert.near(1, v(wx, "gradient_anisotropy"), 1e-6)         -- no variation along y
    assert.near(4 / 4.5, v(wy, "mean_energy_fraction"), 1e-5)
  end)

  it("reports NaN, not 0, for what a constant frame cannot define", function()
    local c = frame.compute(plane(8, function() return 3 end))
    local function v(n) return c:get(1, 1, col(n)) end
    assert.are.equal(3, v("spatial_mean"))
    assert.are.equal(0, v("spatial_variance"))
    assert.are.equal(0, v("spatial_range"))
    assert.are.equal(0, v("num_connected_components"))
    assert.are.equal(1, v("histogram_peak_fraction"))
    assert.are.equal(1, v("mean_energy_fraction"))
    for _, n in ipairs { "spatial_skewness", "spatial_kurtosis", "gradient_anisotropy", "spectral_flatness",
                         "spectral_peak_power_ratio", "correlation_length", "component_size_mean",
                         "interior_fraction", "wavelet_energy_level_1", "cross_channel_corr_mean" } do
      assert.is_true(isnan(v(n)), n)
    end
  end)

  it("isolates a non-finite channel and needs two channels for cross_channel", function()
    local x = sl.zeros(1, 1, 2, 8, 8)
    x:select(3, 1):copy(sl.tensor({ 1, 2, 3, 4, 5, 6, 7, 8 }):view(1, 8):expand(8, 8))
    x:select(3, 2):copy(x:select(3, 1))
    local y = frame.compute(x)
    assert.near(1, y:get(1, 1, col("cross_channel_corr_mean")), 1e-6)
    assert.near(2, y:get(1, 1, col("cross_channel_eigen_top_1")), 1e-6)
    assert.near(0, y:get(1, 1, col("cross_channel_eigen_top_2")), 1e-6)
    assert.is_true(isnan(y:get(1, 1, col("cross_channel_eigen_top_3"))))
    assert.is_true(isnan(y:get(1, 1, col("cross_channel_corr_std"))))   -- one pair
    assert.near(1, y:get(1, 1, col("cross_channel_participation_ratio")), 1e-6)
    local one = frame.compute(x:narrow(3, 1, 1))
    for j, e in ipairs(frame.catalog()) do
      if e.category == "cross_channel" then assert.is_true(isnan(one:get(1, 1, j)), e.name) end
    end
    x:set(0 / 0, 1, 1, 2, 3, 3)
    local z = frame.compute(x)
    assert.is_true(isnan(z:get(1, 1, col("spatial_mean"))))   -- channel mean of a NaN channel
    assert.is_true(isnan(z:get(1, 1, col("cross_channel_mi_mean"))))
  end)

  it("counts connected components on the periodic grid", function()
    -- two 2x2 squares, one of them split across the wrap-around edge (still one component)
    local x = plane(8, function(y, xx)
      if (y == 1 or y == 2) and (xx == 1 or xx == 2) then return 1 end
      if (y == 5 or y == 6) and (xx == 7 or xx == 0) then return 1 end
      return 0
    end)
    local y = frame.compute(x)
    assert.are.equal(2, y:get(1, 1, col("num_connected_components")))
    assert.are.equal(4, y:get(1, 1, col("component_size_mean")))
    assert.near(0.5, y:get(1, 1, col("largest_component_fraction")), 1e-7)
    assert.near(8 / 64, y:get(1, 1, col("area_fraction")), 1e-7)
    assert.near(0, y:get(1, 1, col("interior_fraction")), 1e-7)
    assert.near(2 * 16 / 8, y:get(1, 1, col("dilation_ratio")), 1e-7)   -- each 2x2 grows to 4x4
    assert.near(4 * math.pi * 8 / (16 * 16), y:get(1, 1, col("isoperimetric_ratio")), 1e-6)
    assert.near(16 / 128, y:get(1, 1, col("interface_density")), 1e-7)
  end)
end)

describe("feat_frame quantiles", function()
  -- naive reference: sort, then linear interpolation at rank p·(n−1)
  local function q(sorted, p)
    local pos = p * (#sorted - 1)
    local lo = math.floor(pos)
    if lo >= #sorted - 1 then return sorted[#sorted] end
    return sorted[lo + 1] + (pos - lo) * (sorted[lo + 2] - sorted[lo + 1])
  end
  local function check(field, label)
    local vals = {}
    local H, W = field:size(4), field:size(5)
    for y = 1, H do for x = 1, W do vals[#vals + 1] = field:get(1, 1, 1, y, x) end end
    table.sort(vals)
    local med = q(vals, 0.5)
    local dev = {}
    for i, v in ipairs(vals) do dev[i] = math.abs(v - med) end
    table.sort(dev)
    local y = frame.compute(field, { categories = { "spatial" } })
    local want = { percentile_5 = q(vals, 0.05), percentile_25 = q(vals, 0.25), percentile_50 = med,
                   percentile_75 = q(vals, 0.75), percentile_95 = q(vals, 0.95),
                   spatial_iqr = q(vals, 0.75) - q(vals, 0.25), spatial_mad = q(dev, 0.5) }
    for name, w in pairs(want) do
      assert.near(w, y:get(1, 1, col(name)), 1e-6 * (1 + math.abs(w)), label .. " " .. name)
    end
  end
  it("match a sorted reference on tied, outlier-dominated and odd-sized fields", function()
    local g = sl.Generator { seed = 11 }
    local noise = g:normal({ 1, 1, 1, 33, 47 }, 0, 1)
    check(noise, "noise")
    local tied = sl.zeros(1, 1, 1, 33, 47)
    for y = 1, 33 do for x = 1, 47 do tied:set(math.floor(noise:get(1, 1, 1, y, x) * 2), 1, 1, 1, y, x) end end
    check(tied, "integer-valued")
    local outlier = noise:clone()
    outlier:set(1e6, 1, 1, 1, 5, 5)        -- every other value falls in the first bucket
    check(outlier, "outlier")
    local two = sl.zeros(1, 1, 1, 8, 8)
    two:narrow(5, 1, 3):fill(1)
    check(two, "two-valued")
  end)
end)

describe("feat_frame errors", function()
  it("names the expected shape, dtype and size", function()
    local function err(f) local ok, e = pcall(f); assert.is_false(ok); return e end
    assert.truthy(err(function() sl.feat_frame(sl.zeros(2, 3, 8, 8)) end)
      :find("feat_frame: traj must be [M,T,C,H,W] (5 dims), got shape [2,3,8,8]", 1, true))
    assert.truthy(err(function() sl.feat_frame(sl.zeros(1, 1, 1, 3, 8)) end)
      :find("needs C >= 1 and 4 <= H, W", 1, true))
    assert.truthy(err(function() sl.feat_frame(sl.zeros({ 1, 1, 1, 4, 4 }, "int32")) end)
      :find("traj must be a float tensor, got int32", 1, true))
    assert.truthy(err(function() frame.compute(42) end):find("traj must be a tensor", 1, true))
    assert.truthy(err(function() sl.feat_frame() end):find("Tensor expected", 1, true))
  end)

  it("frees its scratch (tracked allocator back to where it was)", function()
    collectgarbage(); collectgarbage()
    local before = sl.memory_info().cpu_bytes
    local x = tensor_of(golden.cases[1])
    local y = frame.compute(x)
    pcall(sl.feat_frame, sl.zeros(1, 1, 1, 3, 3))   -- error path
    x, y = nil, nil
    collectgarbage(); collectgarbage()
    assert.are.equal(before, sl.memory_info().cpu_bytes)
  end)

  it("handles empty batches", function()
    assert.are.same({ 0, 2, 87 }, frame.compute(sl.zeros(0, 2, 1, 4, 4)):shape())
  end)
end)

describe("feat_frame channel mean", function()
  -- one channel with an empty threshold mask (a constant field) must not blank the frame's
  -- structural/morphological values: they are the mean over the channels where they are defined
  it("averages over the channels whose value is defined, like INITIAL", function()
    local G = 12
    local g = sl.Generator { seed = 5 }
    local a, b = g:normal({ G, G }), g:normal({ G, G })
    local x = sl.zeros(1, 1, 3, G, G)
    x:select(3, 1):select(1, 1):select(1, 1):copy(a)
    x:select(3, 3):select(1, 1):select(1, 1):copy(b)          -- channel 2 stays 0: empty mask
    local y = frame.compute(x)
    local function one(u) return frame.compute(u:view(1, 1, 1, G, G)) end
    local ya, yb, y0 = one(a), one(b), one(x:select(3, 2):contiguous())
    for _, name in ipairs({ "component_size_mean", "largest_component_fraction", "interior_fraction",
                            "dilation_ratio", "spatial_skewness" }) do
      local j = col(name)
      assert.is_true(isnan(y0:get(1, 1, j)), name .. " is undefined on the empty/constant channel")
      local want = (ya:get(1, 1, j) + yb:get(1, 1, j)) / 2
      assert.is_true(math.abs(y:get(1, 1, j) - want) <= 1e-5 * (1 + math.abs(want)), name)
    end
    -- defined in every channel: the plain mean of the three
    local j = col("area_fraction")
    local want = (ya:get(1, 1, j) + yb:get(1, 1, j) + y0:get(1, 1, j)) / 3
    assert.is_true(math.abs(y:get(1, 1, j) - want) <= 1e-6)
    -- non-finite input in one channel still blanks every per-channel value of the frame
    x:set(0 / 0, 1, 1, 2, 3, 3)
    assert.is_true(isnan(frame.compute(x):get(1, 1, col("component_size_mean"))))
    assert.is_true(isnan(frame.compute(x):get(1, 1, col("area_fraction"))))
  end)
end)
