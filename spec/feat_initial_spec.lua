-- INITIAL features (engine/core/feat_initial.c, lua/spinlock/features/initial.lua).
-- Manual features: golden values from tools/ref/feat_initial_ref.py, an independent numpy
-- implementation of the catalog formulas (full-plane FFT, BFS components, LZ76 by its phrase
-- definition), stored in spec/fixtures/feat_initial_golden.lua; plus hand-computed values on
-- plane waves.  CNN: determinism, batch independence, thread-count independence, grid sizes,
-- invariance to affine rescaling of the input; its strided convolution against a naive Lua loop
-- and against sl.conv2d; its resampling against the formula.
local sl = require "spinlock"
local initial = require "spinlock.features.initial"

local golden = dofile("spec/fixtures/feat_initial_golden.lua")

local function isnan(x) return x ~= x end

local DEFAULT_TOL = { atol = 1e-5, rtol = 1e-4 }
-- the kernel's FFT is float32 where the reference's is float64
local TOL = {
  ic_spectral_centroid = { atol = 1e-4, rtol = 1e-4 },
  ic_spectral_power_law_exp = { atol = 2e-3, rtol = 1e-3 },
  ic_spectral_dominant_freq = { atol = 1e-6, rtol = 0 },
}

local function tensor_of(case)
  return sl.tensor(case.input, "float32"):view(1, unpack(case.shape))
end

local function check_row(got, want, names, skip, label)
  local bad = {}
  local skipped = {}
  for _, s in ipairs(skip or {}) do skipped[s] = true end
  for k, name in ipairs(names) do
    if not skipped[name] then
      local g, w = got[k], want[k]
      local tol = TOL[name] or DEFAULT_TOL
      local ok
      if isnan(w) then ok = isnan(g)
      else ok = not isnan(g) and math.abs(g - w) <= tol.atol + tol.rtol * math.abs(w) end
      if not ok then bad[#bad + 1] = ("%s %s: got %s, want %s"):format(label, name, tostring(g), tostring(w)) end
    end
  end
  return bad
end

describe("features.initial catalog", function()
  it("has the 14 manual names of the fixture then ic_cnn_00..27", function()
    local cat = initial.catalog()
    assert.are.equal(42, #cat)
    for k, name in ipairs(golden.names) do assert.are.equal(name, cat[k].name) end
    for i = 0, 27 do
      assert.are.equal(("ic_cnn_%02d"):format(i), cat[15 + i].name)
      assert.are.equal("cnn_learned", cat[15 + i].category)
    end
    for _, d in ipairs(cat) do
      assert.is_true(#d.formula > 0 and #d.meaning > 0 and #d.category > 0, d.name)
    end
  end)

  it("contains the guide's ic_spatial_gradient_mean", function()
    local found = false
    for _, n in ipairs(initial.names()) do if n == "ic_spatial_gradient_mean" then found = true end end
    assert.is_true(found)
  end)

  it("has config-only widths", function()
    assert.are.equal(42, initial.width())
    assert.are.equal(42, initial.width(true))
    assert.are.equal(14, initial.width({ cnn = false }))
    assert.are.equal(28, initial.width({ manual = false }))
    assert.are.equal(14, #initial.catalog({ initial = { cnn = false } }))
    assert.are.equal("ic_cnn_00", initial.catalog({ manual = false })[1].name)
  end)

  it("rejects bad config", function()
    assert.has_error(function() initial.width({ cnn_size = 64 }) end,
      "features.initial: unknown key 'cnn_size' (known: manual, cnn, cnn_input_size)")
    assert.has_error(function() initial.width({ cnn = "yes" }) end,
      "features.initial.cnn: expected a boolean, got string")
    assert.has_error(function() initial.width({ cnn_input_size = 8 }) end,
      "features.initial.cnn_input_size: expected a whole number in [16, 512], got 8")
    assert.has_error(function() initial.width({ manual = false, cnn = false }) end)
  end)
end)

describe("features.initial manual features (golden)", function()
  for _, case in ipairs(golden.cases) do
    it("match the numpy reference on " .. case.name, function()
      local x = tensor_of(case)
      local got = sl.feat_initial_manual(x):totable()[1]
      local bad = check_row(got, case.expected, golden.names, case.skip, case.name)
      assert(#bad == 0, table.concat(bad, "\n"))
    end)
  end

  it("give the same values on strided and float64 inputs", function()
    local case = golden.cases[5]   -- white noise, 3 channels
    assert.are.equal("white_noise", case.name)
    local x = tensor_of(case)
    local ref = sl.feat_initial_manual(x):totable()[1]
    -- a transposed copy transposed back: same values, non-contiguous strides
    local xt = x:transpose(3, 4):contiguous():transpose(3, 4)
    assert.is_false(xt:is_contiguous())
    local a = sl.feat_initial_manual(xt):totable()[1]
    local b = sl.feat_initial_manual(x:double()):totable()[1]
    for k = 1, 14 do
      assert.are.equal(ref[k], a[k], golden.names[k])
      assert.are.equal(ref[k], b[k], golden.names[k])
    end
  end)

  it("match hand-computed values on a plane wave", function()
    -- u = sin(2π·3x/W + 0.4): dominant and centroid wavenumber 3; Moran's I = (1 + cos(2π·3/W))/2;
    -- lag-1 correlation along x = cos(2π·3/W); 3 stripes above the mean, 5, 6 and 5 columns wide
    -- (sign pattern 11111000001111110000011111000000), so the largest holds 6/16 of the mask.
    local H, W = 16, 32
    local x = sl.zeros(1, 1, H, W)
    for i = 1, H do for j = 1, W do x:set(math.sin(2 * math.pi * 3 * (j - 1) / W + 0.4), 1, 1, i, j) end end
    local f = sl.feat_initial_manual(x):totable()[1]
    local c = math.cos(2 * math.pi * 3 / W)
    local idx = {}
    for k, n in ipairs(golden.names) do idx[n] = k end
    assert.are.equal(3, f[idx.ic_spectral_dominant_freq])
    assert.is_true(math.abs(f[idx.ic_spectral_centroid] - 3) < 1e-4)
    assert.is_true(math.abs(f[idx.ic_spatial_autocorr] - (1 + c) / 2) < 1e-5)
    assert.is_true(math.abs(f[idx.ic_info_predictability] - c) < 1e-5)
    assert.is_true(math.abs(f[idx.ic_spatial_cluster_count] - math.log(4)) < 1e-6)
    assert.is_true(math.abs(f[idx.ic_spatial_largest_cluster_frac] - 6 / 16) < 1e-6)
    assert.is_true(math.abs(f[idx.ic_morph_density] - 0.5) < 1e-6)
  end)

  it("are NaN where not computable and 0 where the answer is 'none'", function()
    local f = sl.feat_initial_manual(sl.full({ 1, 2, 8, 8 }, 3)):totable()[1]
    local idx = {}
    for k, n in ipairs(golden.names) do idx[n] = k end
    assert.are.equal(0, f[idx.ic_spatial_cluster_count])
    assert.is_true(isnan(f[idx.ic_spatial_largest_cluster_frac]))
    assert.is_true(isnan(f[idx.ic_spatial_autocorr]))
    assert.is_true(isnan(f[idx.ic_spectral_dominant_freq]))
    assert.are.equal(0, f[idx.ic_info_entropy])
    assert.are.equal(0, f[idx.ic_spatial_gradient_mean])
    assert.are.equal(0, f[idx.ic_morph_density])
    -- a non-finite channel is skipped by the channel mean
    local x = sl.zeros(1, 2, 8, 8)
    for i = 1, 8 do for j = 1, 8 do x:set((i * 7 + j * 3) % 5, 1, 1, i, j) end end
    local clean = sl.feat_initial_manual(x:narrow(2, 1, 1)):totable()[1]
    x:set(0 / 0, 1, 2, 3, 3)
    local g = sl.feat_initial_manual(x):totable()[1]
    for k = 1, 14 do
      if isnan(clean[k]) then assert.is_true(isnan(g[k])) else assert.are.equal(clean[k], g[k], golden.names[k]) end
    end
  end)

  it("average per-channel values over the channels", function()
    local case = golden.cases[5]
    local x = tensor_of(case)
    local all = sl.feat_initial_manual(x):totable()[1]
    local sum = {}
    for c = 1, 3 do
      local r = sl.feat_initial_manual(x:narrow(2, c, 1)):totable()[1]
      for k = 1, 14 do sum[k] = (sum[k] or 0) + r[k] / 3 end
    end
    for k = 1, 14 do assert.is_true(math.abs(all[k] - sum[k]) <= 1e-6 * (1 + math.abs(sum[k])), golden.names[k]) end
  end)

  it("reject bad shapes with clear messages", function()
    assert.has_error(function() sl.feat_initial_manual(sl.zeros(3, 8, 8)) end,
      "feat_initial_manual: feat_initial: ic must be [B,C,H,W], got 3 dims")
    assert.has_error(function() sl.feat_initial_manual(sl.zeros(1, 1, 4, 16)) end,
      "feat_initial_manual: feat_initial: grid must be at least 8x8, got 4x16")
  end)
end)

describe("features.initial CNN embedding", function()
  local function field(B, C, G, seed)
    local x = sl.zeros(B, C, G, G)
    local s = seed
    for b = 1, B do for c = 1, C do for i = 1, G do for j = 1, G do
      s = (s * 1103515245 + 12345) % 2147483648
      x:set(math.sin(i * 0.3 * c + b) + math.cos(j * 0.2 * b) + (s / 2147483648 - 0.5) * 0.5, b, c, i, j)
    end end end end
    return x
  end

  it("is deterministic and independent of the batch and the thread count", function()
    local x = field(3, 3, 32, 1)
    local a = sl.feat_initial_cnn(x)
    local b = sl.feat_initial_cnn(x)
    assert.are.same(a:totable(), b:totable())
    for i = 1, 3 do
      local single = sl.feat_initial_cnn(x:narrow(1, i, 1)):totable()[1]
      assert.are.same(a:totable()[i], single)
    end
    local nt = sl.num_threads()
    sl.set_num_threads(1)
    local c = sl.feat_initial_cnn(x)
    sl.set_num_threads(nt)
    assert.are.same(a:totable(), c:totable())
  end)

  it("works for G = 32, 64, 128 and non-square grids, giving finite distinct rows", function()
    for _, G in ipairs { 32, 64, 128 } do
      local e = sl.feat_initial_cnn(field(2, 3, G, G))
      assert.are.same({ 2, 28 }, e:shape())
      local t = e:totable()
      local differ = false
      for k = 1, 28 do
        assert.is_true(t[1][k] == t[1][k] and math.abs(t[1][k]) < 1e6)
        if t[1][k] ~= t[2][k] then differ = true end
      end
      assert.is_true(differ, "G=" .. G)
    end
    local e = sl.feat_initial_cnn(sl.zeros(1, 3, 24, 40):add(1), 32)
    assert.are.same({ 1, 28 }, e:shape())
  end)

  it("is invariant to a positive affine rescaling of each channel (standardised input)", function()
    local x = field(1, 3, 64, 5)
    local a = sl.feat_initial_cnn(x):totable()[1]
    local b = sl.feat_initial_cnn(x:mul(3):add(-2)):totable()[1]
    for k = 1, 28 do assert.is_true(math.abs(a[k] - b[k]) <= 1e-4 * (1 + math.abs(a[k])), "component " .. k) end
  end)

  it("keeps its weights fixed: a stored embedding does not change", function()
    -- Regression values: the weights come from a fixed Philox seed and purpose; a change here
    -- means embeddings are no longer comparable with earlier datasets.  The tolerance allows
    -- for FMA contraction and summation differences between builds, not for other weights.
    local x = sl.zeros(1, 3, 32, 32)
    for c = 1, 3 do for i = 1, 32 do for j = 1, 32 do
      x:set(math.sin(0.4 * i * c) + math.cos(0.3 * j + c) + 0.1 * ((i * j * c) % 7), 1, c, i, j)
    end end end
    local e = sl.feat_initial_cnn(x, 32):totable()[1]
    local want = { [1] = 1.237012, [2] = 1.762874, [14] = -0.2705912, [28] = 1.104444 }
    for k, w in pairs(want) do
      assert.is_true(math.abs(e[k] - w) <= 1e-4 * (1 + math.abs(w)), ("ic_cnn_%02d: got %.7g, want %.7g"):format(k - 1, e[k], w))
    end
  end)

  it("rejects bad arguments", function()
    assert.has_error(function() sl.feat_initial_cnn(sl.zeros(1, 3, 32, 32), 8) end,
      "feat_initial_cnn: input size must be in [16, 512], got 8")
    assert.has_error(function() sl.feat_initial_cnn(sl.zeros(1, 17, 32, 32)) end,
      "feat_initial_cnn: ic must have 1..16 channels, got 17")
  end)

  it("convolution: strided output matches a naive loop and stride 1 matches sl.conv2d", function()
    local x = field(2, 3, 9, 2)
    local w = sl.zeros(4, 3, 3, 3)
    for o = 1, 4 do for c = 1, 3 do for i = 1, 3 do for j = 1, 3 do
      w:set(((o * 7 + c * 5 + i * 3 + j) % 11) / 11 - 0.5, o, c, i, j)
    end end end end
    for _, sp in ipairs { { 2, 1 }, { 2, 0 }, { 3, 2 } } do
      local s, p = sp[1], sp[2]
      local y = sl.feat_initial_conv2d(x, w, s, p)
      local Ho = math.floor((9 + 2 * p - 3) / s) + 1
      assert.are.same({ 2, 4, Ho, Ho }, y:shape())
      for b = 1, 2 do for o = 1, 4 do for oy = 1, Ho do for ox = 1, Ho do
        local acc = 0
        for c = 1, 3 do for ky = 1, 3 do for kx = 1, 3 do
          local iy, ix = (oy - 1) * s + ky - p, (ox - 1) * s + kx - p
          if iy >= 1 and iy <= 9 and ix >= 1 and ix <= 9 then acc = acc + w:get(o, c, ky, kx) * x:get(b, c, iy, ix) end
        end end end
        assert.is_true(math.abs(y:get(b, o, oy, ox) - acc) < 1e-5)
      end end end end
    end
    local y1 = sl.feat_initial_conv2d(x, w, 1, 1)
    local ref = sl.conv2d(x, w, nil, { padding = "zeros", algo = "direct" })
    local a, r = y1:totable(), ref:totable()
    for b = 1, 2 do for o = 1, 4 do for i = 1, 9 do for j = 1, 9 do
      assert.is_true(math.abs(a[b][o][i][j] - r[b][o][i][j]) < 1e-5)
    end end end end
    assert.has_error(function() sl.feat_initial_conv2d(x, sl.zeros(4, 2, 3, 3), 2, 1) end)
  end)

  it("resampling: identity, block mean and bilinear with half-pixel centres", function()
    local x = field(1, 1, 8, 3)
    assert.are.same(x:totable(), sl.feat_initial_resize(x, 8):totable())
    local d = sl.feat_initial_resize(x, 4)
    for i = 1, 4 do for j = 1, 4 do
      local m = (x:get(1, 1, 2 * i - 1, 2 * j - 1) + x:get(1, 1, 2 * i, 2 * j - 1)
               + x:get(1, 1, 2 * i - 1, 2 * j) + x:get(1, 1, 2 * i, 2 * j)) / 4
      assert.is_true(math.abs(d:get(1, 1, i, j) - m) < 1e-6)
    end end
    local u = sl.feat_initial_resize(x, 12)
    local function src(o, n, S)
      local v = (o - 0.5) * n / S - 0.5
      if v < 0 then v = 0 end
      local i0 = math.floor(v)
      local i1 = math.min(i0 + 1, n - 1)
      return i0 + 1, i1 + 1, v - i0
    end
    for i = 1, 12 do for j = 1, 12 do
      local y0, y1, ly = src(i, 8, 12)
      local x0, x1, lx = src(j, 8, 12)
      local v = (1 - ly) * ((1 - lx) * x:get(1, 1, y0, x0) + lx * x:get(1, 1, y0, x1))
              + ly * ((1 - lx) * x:get(1, 1, y1, x0) + lx * x:get(1, 1, y1, x1))
      assert.is_true(math.abs(u:get(1, 1, i, j) - v) < 1e-5)
    end end
  end)
end)

describe("features.initial.compute", function()
  local case = golden.cases[5]
  local ic = sl.tensor(case.input, "float32"):view(unpack(case.shape))   -- [3,32,32]

  it("repeats the row of a shared IC for the M realizations", function()
    local y = initial.compute(ic, nil, 4)
    assert.are.same({ 4, 42 }, y:shape())
    local t = y:totable()
    for m = 2, 4 do assert.are.same(t[1], t[m]) end
    local row = initial.compute_batch(ic:view(1, 3, 32, 32)):totable()[1]
    assert.are.same(row, t[1])
    for k = 1, 14 do
      local w = case.expected[k]
      if w == w then assert.is_true(math.abs(t[1][k] - w) <= 2e-3 * (1 + math.abs(w)), golden.names[k]) end
    end
  end)

  it("computes per-realization ICs row by row", function()
    local two = sl.zeros(2, 3, 32, 32)
    two:select(1, 1):copy(ic)
    two:select(1, 2):copy(ic:mul(-1):add(0.5))
    local y = initial.compute(two, { cnn_input_size = 32 }, 2):totable()
    local a = initial.compute(ic, { cnn_input_size = 32 }, 1):totable()[1]
    assert.are.same(a, y[1])
    assert.are_not.same(y[1], y[2])
    assert.has_error(function() initial.compute(two, nil, 3) end,
      "features.initial.compute: ic has 2 realizations but M = 3")
  end)

  it("honours the part switches and a single-channel [H,W] IC", function()
    assert.are.same({ 2, 14 }, initial.compute(ic, { cnn = false }, 2):shape())
    assert.are.same({ 2, 28 }, initial.compute(ic, { manual = false }, 2):shape())
    assert.are.same({ 1, 42 }, initial.compute(ic:select(1, 1)):shape())
  end)

  it("does not leak", function()
    collectgarbage(); collectgarbage()
    local before = sl.memory_info().cpu_bytes
    do
      local y = initial.compute(ic, nil, 3)
      y = nil
      local ok = pcall(sl.feat_initial_manual, sl.zeros(1, 1, 4, 4))
      assert.is_false(ok)
    end
    collectgarbage(); collectgarbage()
    assert.are.equal(before, sl.memory_info().cpu_bytes)
  end)
end)
