-- spinlock.params (unit value -> parameter value) and spinlock.sampling_metrics.
local ffi = require "ffi"
local params = require "spinlock.params"
local config = require "spinlock.config"
local sm = require "spinlock.sampling_metrics"

local quiet = { warn = false }

local function P(t) return t end

-- how often map_value gives each value on n evenly spaced midpoints u = (i + 0.5) / n
local function midpoint_counts(p, n, mapping)
  local count = {}
  for i = 0, n - 1 do
    local v = params.map_value(p, (i + 0.5) / n, mapping)
    count[v] = (count[v] or 0) + 1
  end
  return count
end

describe("params.map_value", function()
  it("maps weighted choices with the reference's right-side search (spec §2.2 test cases)", function()
    local p = P { type = "choice", choices = { "a", "b", "c" }, weights = { 0.3, 0.5, 0.2 } }
    local cases = { { 0, "a" }, { 0.29, "a" }, { 0.3, "b" }, { 0.5, "b" }, { 0.8, "c" }, { 0.9999, "c" }, { 1.0, "c" } }
    for _, c in ipairs(cases) do
      local v = params.map_value(p, c[1])
      assert.equal(c[2], v, "u = " .. c[1])
    end
    local _, idx = params.map_value(p, 0.3)
    assert.equal(2, idx)
  end)

  it("gives weighted choices their shares on evenly spaced u (within 1%)", function()
    local p = P { type = "choice", choices = { "a", "b", "c" }, weights = { 0.3, 0.5, 0.2 } }
    local count = { a = 0, b = 0, c = 0 }
    local n = 10000
    for i = 0, n - 1 do
      local v = params.map_value(p, i / n)
      count[v] = count[v] + 1
    end
    assert.near(0.3, count.a / n, 0.01)
    assert.near(0.5, count.b / n, 0.01)
    assert.near(0.2, count.c / n, 0.01)
    local up = P { type = "choice", choices = { "residual", "convex" }, weights = { 0.75, 0.25 } }
    assert.equal("residual", params.map_value(up, 0.7499))
    assert.equal("convex", params.map_value(up, 0.75))
  end)

  it("maps unweighted choices to min(floor(u*K), K-1)", function()
    local p = P { type = "choice", choices = { 3, 5, 7 } }
    assert.equal(3, params.map_value(p, 0))
    assert.equal(3, params.map_value(p, 0.3333))
    assert.equal(5, params.map_value(p, 1 / 3 + 1e-12))
    assert.equal(7, params.map_value(p, 0.9999999))
    assert.equal(7, params.map_value(p, 1.0))
    local single = P { type = "choice", choices = { "gelu" } }
    assert.equal("gelu", params.map_value(single, 0.42))
  end)

  it("maps integers with equal mass by default", function()
    local p = P { type = "integer", lo = 2, hi = 5 }
    assert.same({ [2] = 1000, [3] = 1000, [4] = 1000, [5] = 1000 }, midpoint_counts(p, 4000))
    assert.equal(2, params.map_value(p, 0))
    assert.equal(5, params.map_value(p, 0.9999999))
    assert.equal(5, params.map_value(p, 1.0)) -- clamped
  end)

  it("maps integers like the reference behind integer_mapping = reference_round", function()
    local p = P { type = "integer", lo = 2, hi = 5 }
    -- endpoints get half the mass: 1/6, 1/3, 1/3, 1/6
    assert.same({ [2] = 1000, [3] = 2000, [4] = 2000, [5] = 1000 }, midpoint_counts(p, 6000, "reference_round"))
    -- round half to even: 2 + 0.5 = 2.5 -> 2, 3.5 -> 4
    assert.equal(2, params.map_value(p, 0.5 / 3, "reference_round"))
    assert.equal(4, params.map_value(p, 1.5 / 3, "reference_round"))
  end)

  it("rounds half to even", function()
    assert.same({ 0, 2, 2, 4, -2, 3 }, { params.round_half_even(0.5), params.round_half_even(1.5),
      params.round_half_even(2.5), params.round_half_even(3.5), params.round_half_even(-2.5),
      params.round_half_even(2.6) })
  end)

  it("maps continuous values linearly or on a log scale", function()
    local lin = P { type = "continuous", lo = 0, hi = 0.3 }
    assert.near(0.15, params.map_value(lin, 0.5), 1e-15)
    local lg = P { type = "continuous", lo = 1e-5, hi = 1, log_scale = true }
    for _, u in ipairs({ 0, 0.2, 0.5, 0.9 }) do
      assert.near(10 ^ (-5 + 5 * u), params.map_value(lg, u), 1e-12 * 10 ^ (-5 + 5 * u))
    end
  end)

  it("maps booleans to u > 0.5", function()
    local b = P { type = "boolean" }
    assert.is_false(params.map_value(b, 0.5))
    assert.is_true(params.map_value(b, 0.5000001))
    assert.is_false(params.map_value(b, 0))
  end)
end)

describe("params.sample", function()
  local cfg
  setup(function() cfg = config.load("configs/experiments/baseline_10k.yaml", nil, quiet) end)

  it("returns unit values, typed rows and the numeric values matrix", function()
    local s = params.sample(cfg, 0, 64)
    assert.equal(12, s.P)
    assert.equal("num_layers", s.names[1])
    for r = 1, 64 do
      local row = s.rows[r]
      assert.is_true(row.num_layers >= 2 and row.num_layers <= 5 and row.num_layers % 1 == 0)
      assert.is_true(row.kernel_size == 3 or row.kernel_size == 5 or row.kernel_size == 7)
      assert.equal("gelu", row.activation)
      assert.is_true(row.noise_scale >= 1e-5 and row.noise_scale <= 1)
      assert.is_true(row.update_policy == "residual" or row.update_policy == "convex")
      local base = (r - 1) * 12
      assert.equal(row.num_layers, s.values[base + 0])
      -- choices are stored as 0-based indices
      assert.equal(s.index[r].kernel_size - 1, s.values[base + 2])
      assert.equal(({ residual = 0, convex = 1 })[row.update_policy], s.values[base + 11])
      for j = 0, 11 do assert.is_true(s.unit[base + j] >= 0 and s.unit[base + j] < 1) end
    end
  end)

  it("gives an operator the same parameters in any index range", function()
    local all = params.sample(cfg, 0, 300)
    local part = params.sample(cfg, 250, 10)
    for r = 1, 10 do assert.same(all.rows[250 + r], part.rows[r]) end
  end)

  it("follows the config's seed and integer mapping", function()
    local a = params.sample(cfg, 0, 16)
    local b = params.sample(cfg, 0, 16, { seed = 43 })
    local same = 0
    for i = 0, 16 * 12 - 1 do if a.unit[i] == b.unit[i] then same = same + 1 end end
    assert.is_true(same < 10)

    -- integer mapping: the config's sampling.integer_mapping (or opts.integer_mapping) decides
    -- how u becomes an integer; references written out independently of params.lua
    local function equal_mass(lo, hi, u) return math.max(lo, math.min(hi, math.floor(lo + u * (hi - lo + 1)))) end
    local function ref_round(lo, hi, u)
      local x = lo + u * (hi - lo)
      local f = math.floor(x)
      local v = (x - f > 0.5 or (x - f == 0.5 and f % 2 == 1)) and f + 1 or f
      return math.max(lo, math.min(hi, v))
    end
    local rcfg = setmetatable({ sampling = setmetatable({ integer_mapping = "reference_round" },
                                                        { __index = cfg.sampling }) }, { __index = cfg })
    assert.equal("equal_mass", cfg.sampling.integer_mapping)
    local n = 64
    local dflt, viacfg = params.sample(cfg, 0, n), params.sample(rcfg, 0, n)
    local viaopt = params.sample(cfg, 0, n, { integer_mapping = "reference_round" })
    local ints, differ = 0, 0
    for j, p in ipairs(cfg.parameters) do
      if p.type == "integer" then
        ints = ints + 1
        for r = 1, n do
          local u = dflt.unit[(r - 1) * dflt.P + j - 1]
          assert.equal(equal_mass(p.lo, p.hi, u), dflt.rows[r][p.name], p.name .. " u=" .. u)
          assert.equal(ref_round(p.lo, p.hi, u), viacfg.rows[r][p.name], p.name .. " u=" .. u)
          assert.equal(viacfg.rows[r][p.name], viaopt.rows[r][p.name])
          if dflt.rows[r][p.name] ~= viacfg.rows[r][p.name] then differ = differ + 1 end
        end
      end
    end
    assert.is_true(ints >= 1, "the baseline config should have integer parameters")
    assert.is_true(differ > 0, "the two mappings should disagree somewhere on 64 Sobol rows")
  end)
end)

-- naive O(N^2 P) transcription of the spec §2.4 formula, full double sum
local function naive_cd2(pts)
  local N, Pd = #pts, #pts[1]
  local t1 = (13 / 12) ^ Pd
  local t2 = 0
  for i = 1, N do
    local prod = 1
    for d = 1, Pd do
      local z = math.abs(pts[i][d] - 0.5)
      prod = prod * (1 + 0.5 * z - 0.5 * z * z)
    end
    t2 = t2 + prod
  end
  local t3 = 0
  for i = 1, N do
    for j = 1, N do
      local prod = 1
      for d = 1, Pd do
        local xi, xj = pts[i][d], pts[j][d]
        prod = prod * (1 + 0.5 * math.abs(xi - 0.5) + 0.5 * math.abs(xj - 0.5) - 0.5 * math.abs(xi - xj))
      end
      t3 = t3 + prod
    end
  end
  return t1 - 2 / N * t2 + t3 / (N * N)
end

local function to_array(pts)
  local N, Pd = #pts, #pts[1]
  local a = ffi.new("double[?]", N * Pd)
  for i = 1, N do for d = 1, Pd do a[(i - 1) * Pd + d - 1] = pts[i][d] end end
  return a
end

describe("sampling_metrics", function()
  it("computes the squared centered L2 discrepancy of hand-worked point sets", function()
    -- one point at the centre: 13/12 - 2 + 1 = 1/12
    assert.near(1 / 12, sm.centered_l2_discrepancy(to_array({ { 0.5 } }), 1, 1), 1e-15)
    -- {0.25, 0.75}: 13/12 - 2*1.09375 + (2*1.25 + 2*1)/4 = 1/48
    assert.near(1 / 48, sm.centered_l2_discrepancy(to_array({ { 0.25 }, { 0.75 } }), 2, 1), 1e-15)
  end)

  it("matches the naive formula on a random set", function()
    math.randomseed(12345)
    local pts = {}
    for i = 1, 37 do pts[i] = { math.random(), math.random(), math.random() } end
    local got, used = sm.centered_l2_discrepancy(to_array(pts), 37, 3)
    assert.equal(37, used)
    assert.near(naive_cd2(pts), got, 1e-13)
  end)

  it("uses the documented deterministic subsample above MAX_EXACT_N rows", function()
    local saved = sm.MAX_EXACT_N
    sm.MAX_EXACT_N = 8
    math.randomseed(7)
    local pts = {}
    for i = 1, 21 do pts[i] = { math.random(), math.random() } end
    local ok, got, used = pcall(sm.centered_l2_discrepancy, to_array(pts), 21, 2)
    sm.MAX_EXACT_N = saved
    assert.is_true(ok, got)
    assert.equal(8, used)
    local sub = {}
    for k = 0, 7 do sub[k + 1] = pts[math.floor(k * 21 / 8) + 1] end
    assert.near(naive_cd2(sub), got, 1e-13)
  end)

  it("computes max/min/mean |r| over off-diagonal pairs", function()
    -- col2 = 2*col1 (r = 1), col3 is orthogonal to both (r = 0)
    local pts = { { 1, 2, 1 }, { 2, 4, -1 }, { 3, 6, -1 }, { 4, 8, 1 } }
    local mx, mn, mean = sm.correlations(to_array(pts), 4, 3)
    assert.near(1, mx, 1e-15)
    assert.near(0, mn, 1e-15)
    assert.near(1 / 3, mean, 1e-15)
    -- a constant column counts as uncorrelated
    local mx2, mn2 = sm.correlations(to_array({ { 1, 5 }, { 2, 5 }, { 3, 5 } }), 3, 2)
    assert.same({ 0, 0 }, { mx2, mn2 })
  end)

  it("returns the metadata dict of spec §2.4 with pass flags", function()
    local sobol = require "spinlock.sobol"
    local N, Pd = 256, 5
    local pts = sobol.array(Pd, 0, N, { seed = 3 })
    local m = sm.compute(pts, N, Pd, { check_discrepancy = true, max_discrepancy = 0.01,
                                       check_correlation = true, max_pairwise_correlation = 0.05 },
                         { scramble = true, seed = 3 })
    for _, k in ipairs({ "discrepancy", "max_correlation", "discrepancy_pass", "correlation_pass", "min_correlation",
                         "mean_correlation", "sampler_type", "dimensionality", "n_samples", "scramble_enabled" }) do
      assert.is_not_nil(m[k], k)
    end
    assert.equal(Pd, m.dimensionality)
    assert.equal(N, m.n_samples)
    assert.is_true(m.discrepancy_pass)
    assert.equal("sobol_owen", m.sampler_type)
    local strict = sm.compute(pts, N, Pd, { max_discrepancy = 0, max_pairwise_correlation = 0 })
    assert.is_false(strict.discrepancy_pass)
    assert.is_false(strict.correlation_pass)
    local off = sm.compute(pts, N, Pd, { check_discrepancy = false, max_discrepancy = 0,
                                         check_correlation = false, max_pairwise_correlation = 0 })
    assert.is_true(off.discrepancy_pass and off.correlation_pass)
  end)
end)
