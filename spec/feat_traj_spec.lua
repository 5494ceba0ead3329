-- Per-trajectory features (engine/core/feat_traj.c, lua/spinlock/features/trajectory.lua and
-- sensitivity.lua): golden values from the numpy reference (tools/ref/feat_traj_ref.py), layout,
-- strided/thread invariance, the §9 defect fixes as properties, sensitivity with stand-in
-- operators, and errors.
local sl = require "spinlock"
local ffi = require "ffi"
local traj = require "spinlock.features.trajectory"
local sens = require "spinlock.features.sensitivity"

local FIX = "spec/fixtures/"

local function load_cases()
  local golden = dofile(FIX .. "feat_traj_golden.lua")
  local f = assert(io.open(FIX .. "feat_traj_cases.f32", "rb"))
  local blob = f:read("*a")
  f:close()
  for _, c in ipairs(golden) do
    local n = 1
    for _, s in ipairs(c.shape) do n = n * s end
    local t = sl.empty(c.shape, "float32")
    ffi.copy(ffi.cast("float*", t:ptr()), blob:sub(4 * c.offset + 1, 4 * (c.offset + n)), 4 * n)
    c.traj = t
  end
  return golden
end

local function isnan(v) return v ~= v end

local function row_by_name(out, cat, m)
  local r = {}
  for k, e in ipairs(cat) do r[e.name] = out:get(m, k) end
  return r
end

-- per-feature tolerances (relative, absolute); default 1e-4 / 1e-6
local TOL = {
  causality_time_asymmetry_index = { 1e-3, 1e-5 },
  causality_time_irreversibility = { 1e-3, 1e-5 },
  lyapunov_approx = { 1e-3, 1e-5 },
  correlation_dimension = { 1e-3, 1e-5 },
}
local function tol_for(name)
  for pat, t in pairs(TOL) do if name == pat then return t[1], t[2] end end
  if name:match("pred_error") then return 1e-3, 1e-5 end
  if name:match("pacf") then return 1e-3, 1e-5 end
  return 1e-4, 1e-6
end

describe("feat_traj catalog", function()
  it("has the default layout: 36 temporal, 14 causality, 60 drift, 10 sensitivity", function()
    local cat = traj.catalog()
    assert.are.equal(120, #cat)
    local count = {}
    for _, e in ipairs(cat) do count[e.category] = (count[e.category] or 0) + 1 end
    assert.are.same({ temporal = 36, causality = 14, invariant_drift = 60, operator_sensitivity = 10 }, count)
    assert.are.equal("energy_growth_rate", cat[1].name)
    assert.are.equal("rolling_w20_std_variability", cat[36].name)
    assert.are.equal("causality_lag_corr_asymmetry_mean_lag1", cat[37].name)
    assert.are.equal("L1_mean_drift_raw", cat[51].name)
    assert.are.equal("L1_mean_drift_highpass", cat[53].name)
    assert.are.equal("tv_monotonicity_highpass", cat[110].name)
    assert.are.equal("lipschitz_eps_1e-04", cat[111].name)
    assert.are.equal("gain_scale_0.50", cat[114].name)
    assert.are.equal("compression_ratio", cat[120].name)
    local seen = {}
    for _, e in ipairs(cat) do
      assert.is_nil(seen[e.name], e.name)
      seen[e.name] = true
      assert.is_true(#e.formula > 5 and #e.meaning > 3, e.name)
    end
  end)

  it("widths follow the configuration only", function()
    assert.are.equal(126, traj.width({ categories = { nonlinear = true } }))
    assert.are.equal(125, traj.width({ categories = { nonlinear = true }, nonlinear = { include_permutation_entropy = false } }))
    assert.are.equal(130, traj.width({ include_pacf = true }))
    assert.are.equal(100, traj.width({ num_scales = 2 }))
    assert.are.equal(122, traj.width({ max_lag_correlation = 4 }))
    assert.are.equal(110, traj.width({ categories = { operator_sensitivity = false } }))
    assert.are.equal(113, traj.width({ sensitivity = { include_lipschitz = false, include_gain_curve = false } }))
    assert.are.equal(0, traj.width({ categories = { temporal = false, causality = false, invariant_drift = false,
                                                    operator_sensitivity = false } }))
    -- rolling names round the percentage (the reference truncated 0.29 to w28)
    local cat = traj.catalog({ rolling_fractions = { 0.29 } })
    assert.are.equal("rolling_w29_mean", cat[19].name)
    -- the per-frame category switches of features.summary.categories are ignored here
    assert.are.equal(120, traj.width({ categories = { spatial = true, spectral = false } }))
  end)

  it("rejects unknown and ill-typed options with the key named", function()
    assert.matches("unknown option 'bogus'", traj.check_config({ bogus = 1 }))
    assert.matches("max_lag_correlation must be in 1..64", traj.check_config({ max_lag_correlation = 0 }))
    assert.matches("series", traj.check_config({ series = "median" }))
    assert.matches("unknown nonlinear option 'foo'", traj.check_config({ nonlinear = { foo = 1 } }))
    assert.matches("include_lipschitz must be a boolean", traj.check_config({ sensitivity = { include_lipschitz = 1 } }))
    assert.matches("gain_scale_factors", traj.check_config({ sensitivity = { gain_scale_factors = { 1, -2 } } }))
    assert.matches("rolling_fractions", traj.check_config({ rolling_fractions = { 0.5, 2 } }))
    assert.is_nil(traj.check_config({ series = "mean", categories = { nonlinear = true } }))
    assert.has_error(function() sl.feat_traj(sl.zeros(2, 3, 1, 4, 4), { temporal = 1 }) end,
                     "feat_traj: config key 'temporal' must be a boolean, got number")
  end)
end)

describe("feat_traj golden values (numpy reference)", function()
  local cases = load_cases()
  for _, c in ipairs(cases) do
    it("matches on case " .. c.name, function()
      local out = sl.feat_traj(c.traj, c.cfg)
      local cat = sl.feat_traj_catalog(c.cfg)
      assert.are.same({ c.shape[1], #cat }, out:shape())
      local bad = {}
      for m = 1, c.shape[1] do
        local got = row_by_name(out, cat, m)
        for name, e in pairs(c.expected[m]) do
          local g = got[name]
          assert(g ~= nil, "feature missing from the kernel: " .. name)
          local rt, at = tol_for(name)
          local ok
          if isnan(e) then ok = isnan(g) else ok = (not isnan(g)) and math.abs(g - e) <= at + rt * math.abs(e) end
          if not ok then bad[#bad + 1] = ("%s[m=%d]: got %.9g expected %.9g"):format(name, m, g, e) end
        end
      end
      table.sort(bad)
      assert(#bad == 0, ("%d mismatches in case %s:\n  %s"):format(#bad, c.name, table.concat(bad, "\n  ")))
    end)
  end

  it("gives identical results on a strided view and with 1 or 2 threads", function()
    local c = cases[1]
    local ref = sl.feat_traj(c.traj)
    -- same values, non-contiguous layout: W and H swapped in storage
    local strided = c.traj:transpose(4, 5):contiguous():transpose(4, 5)
    assert.is_false(strided:is_contiguous())
    local a = sl.feat_traj(strided)
    local nt = sl.num_threads()
    sl.set_num_threads(1)
    local b = sl.feat_traj(c.traj)
    sl.set_num_threads(2)
    local d = sl.feat_traj(c.traj)
    sl.set_num_threads(nt)
    local r = ref:totable()
    for _, x in ipairs({ a, b, d }) do
      local t = x:totable()
      for m = 1, #r do
        for k = 1, #r[m] do
          assert(r[m][k] == t[m][k] or (isnan(r[m][k]) and isnan(t[m][k])), "column " .. k)
        end
      end
    end
  end)
end)

describe("feat_traj degenerate inputs", function()
  it("T = 1 gives NaN everywhere and keeps the width", function()
    local out = sl.feat_traj(sl.ones(2, 1, 3, 4, 4))
    assert.are.same({ 2, 110 }, out:shape())
    for _, row in ipairs(out:totable()) do for _, v in ipairs(row) do assert.is_true(isnan(v)) end end
  end)

  it("C = 1 leaves only the cross-channel lag correlations NaN", function()
    local g = sl.Generator { seed = 5 }
    local out = sl.feat_traj(g:normal({ 1, 8, 1, 6, 6 }))
    local r = row_by_name(out, sl.feat_traj_catalog(), 1)
    for tau = 1, 3 do
      assert.is_true(isnan(r["causality_lag_corr_asymmetry_mean_lag" .. tau]))
      assert.is_true(isnan(r["causality_lag_corr_asymmetry_max_lag" .. tau]))
    end
    assert.is_false(isnan(r.causality_time_irreversibility))
    assert.is_false(isnan(r.causality_pred_error_ratio_lag1))
    assert.is_false(isnan(r.energy_growth_rate))
  end)

  it("releases all scratch and temporaries, also on errors", function()
    local g = sl.Generator { seed = 8 }
    local x = g:normal({ 2, 12, 3, 6, 6 })
    collectgarbage(); collectgarbage()
    local before = sl.memory_info().cpu_bytes
    local y = sl.feat_traj(x, { nonlinear = true, include_pacf = true })
    local cat = sl.feat_traj_catalog()
    pcall(sl.feat_traj, sl.zeros(2, 0, 3, 4, 4))
    local p = sl.feat_traj_sens_probes(x:select(1, 1):select(1, 1), 1, 2, { 1e-3 }, { 0.5, 2 })
    sl.feat_traj_sens_reduce(p, p, { 1e-3 }, { 0.5, 2 })
    y:free(); p:free()
    y, p, cat = nil, nil, nil
    collectgarbage(); collectgarbage()
    assert.are.equal(before, sl.memory_info().cpu_bytes)
  end)

  it("rejects bad trajectories with a clear message", function()
    assert.has_error(function() sl.feat_traj(sl.zeros(3, 4, 4)) end,
                     "feat_traj: trajectory must be [M,T,C,H,W], got 3 dims [3,4,4]")
    assert.has_error(function() sl.feat_traj(sl.zeros(2, 0, 3, 4, 4)) end,
                     "feat_traj: trajectory [M,T,C,H,W] must have no empty dim, got [2,0,3,4,4]")
    assert.has_error(function() traj.compute(sl.zeros(3, 4, 4)) end,
                     "trajectory.compute: traj must be a tensor [M,T,C,G,G], got 3 dims")
  end)
end)

-- Builds [1,T,C,G,G] from a Lua function f(t, c, y, x) (0-based indices).
local function build(T, C, G, f)
  local t = sl.empty({ 1, T, C, G, G }, "float32")
  local p = ffi.cast("float*", t:ptr())
  local i = 0
  for s = 0, T - 1 do for c = 0, C - 1 do for y = 0, G - 1 do for x = 0, G - 1 do
    p[i] = f(s, c, y, x); i = i + 1
  end end end end
  return t
end

describe("feat_traj fixes of the reference's defects (spec §9)", function()
  local cat = sl.feat_traj_catalog()

  it("lagged cross-channel correlation asymmetry is not identically zero and has a sign", function()
    -- channel 1 repeats channel 0 two steps later: channel 0 leads
    local g = sl.Generator { seed = 9 }
    local noise = g:normal({ 40, 8, 8 }):totable()
    local lead = build(30, 2, 8, function(t, c, y, x) return noise[t + 10 - 2 * c][y + 1][x + 1] end)
    local r = row_by_name(sl.feat_traj(lead), cat, 1)
    assert.is_true(r.causality_lag_corr_asymmetry_mean_lag2 > 0.8)
    assert.is_true(r.causality_lag_corr_asymmetry_max_lag2 > 0.8)
    -- swapping the channels flips the sign
    local lag = build(30, 2, 8, function(t, c, y, x) return noise[t + 10 - 2 * (1 - c)][y + 1][x + 1] end)
    local r2 = row_by_name(sl.feat_traj(lag), cat, 1)
    assert.is_true(math.abs(r.causality_lag_corr_asymmetry_mean_lag2 + r2.causality_lag_corr_asymmetry_mean_lag2) < 1e-5)
  end)

  it("forward and backward prediction errors differ for an irreversible map", function()
    local r0, amp = 0.2, {}
    for t = 1, 40 do amp[t] = r0; r0 = 3.9 * r0 * (1 - r0) end
    local x = build(40, 1, 4, function(t, c, y, xx) return amp[t + 1] * ((y * 4 + xx) % 3 - 1) end)
    local r = row_by_name(sl.feat_traj(x), cat, 1)
    assert.is_true(r.causality_pred_error_ratio_lag1 < 0.1)    -- forward quadratic map is exact
    assert.is_true(r.causality_pred_error_diff_lag1 < -0.3)
  end)

  it("time irreversibility separates a sawtooth from its time reverse and from a symmetric wave", function()
    local function amp_field(a) return function(t, c, y, x) return a(t) * ((y + x) % 2 == 0 and 1 or -1) end end
    local saw = function(t) return 1 + (t % 8) / 8 end           -- slow rise, sudden fall
    local rev = function(t) return 1 + (7 - t % 8) / 8 end       -- sudden rise, slow fall
    local sym = function(t) return 1 + 0.5 * math.sin(2 * math.pi * t / 8) end
    local a = row_by_name(sl.feat_traj(build(48, 1, 4, amp_field(saw))), cat, 1)
    local b = row_by_name(sl.feat_traj(build(48, 1, 4, amp_field(rev))), cat, 1)
    local s = row_by_name(sl.feat_traj(build(48, 1, 4, amp_field(sym))), cat, 1)
    assert.is_true(math.abs(a.causality_time_irreversibility) > 0.1)
    assert.is_true(math.abs(a.causality_time_irreversibility + b.causality_time_irreversibility) < 1e-4)
    assert.is_true(math.abs(s.causality_time_irreversibility) < 1e-4)
    assert.is_true(a.causality_time_asymmetry_index < -1)        -- falls are the big steps
    assert.is_true(b.causality_time_asymmetry_index > 1)
  end)

  it("periodic lowpass: a field translating around the torus has no drift at any scale", function()
    local G = 12
    local x = build(10, 1, G, function(t, c, y, xx)
      return math.exp(-(((xx - t) % G - 5) ^ 2 + (y - 6) ^ 2) / 4) + 0.2 * math.sin(2 * math.pi * y / G)
    end)
    local r = row_by_name(sl.feat_traj(x), cat, 1)
    for _, n in ipairs({ "L1", "L2", "Linf", "entropy", "tv" }) do
      for _, s in ipairs({ "raw", "lowpass", "highpass" }) do
        assert(math.abs(r[n .. "_mean_drift_" .. s]) < 1e-6, n .. "_mean_drift_" .. s)
        assert(math.abs(r[n .. "_final_initial_ratio_" .. s] - 1) < 1e-5, n .. "_final_initial_ratio_" .. s)
      end
    end
  end)

  it("the temporal series is the spatial std, so zero-mean fields are not flat", function()
    local x = build(20, 1, 8, function(t, c, y, xx) return (1 + 0.2 * t) * math.sin(2 * math.pi * xx / 8) end)
    local r = row_by_name(sl.feat_traj(x), cat, 1)
    assert.is_true(r.trend_strength > 0.99)
    assert.is_true(math.abs(r["time_to_2.0x"] - 6 / 20) < 1e-6)     -- 1 + 0.2 t > 2 first at t = 6
    local rm = row_by_name(sl.feat_traj(x, { series = "mean" }), cat, 1)
    assert.are.equal(0, rm.trend_strength)                          -- the mean series is flat
  end)
end)

describe("operator sensitivity", function()
  local G = 6
  local g = sl.Generator { seed = 77 }
  local x = g:normal({ 3, G, G })
  -- stand-in operators built from sl ops (the real ones come from spinlock.operator)
  local function op_of(fn) return { forward = function(self, v, step) return fn(v) end } end

  local function sens_values(op, cfg, ctx)
    local vals, status = sens.compute(x, op, cfg, ctx or { seed = 11, op_index = 4 })
    local named = {}
    for k, e in ipairs(sens.catalog(cfg)) do named[e.name] = vals[k] end
    return named, status
  end

  -- the values of a linear step with gain L: Lipschitz L at every eps, every gain its own scale
  local function assert_linear(v, L)
    for _, e in ipairs({ "1e-04", "1e-03", "1e-02" }) do assert.is_true(math.abs(v["lipschitz_eps_" .. e] - L) < 1e-3) end
    for _, a in ipairs({ 0.5, 0.75, 1.25, 1.5 }) do
      assert.is_true(math.abs(v[("gain_scale_%.2f"):format(a)] - a) < 1e-6)
    end
    assert.is_true(math.abs(v.linearity_r2 - 1) < 1e-6)
    assert.is_true(math.abs(v.saturation_degree) < 1e-6)
    assert.is_true(math.abs(v.compression_ratio - 1) < 1e-6)
  end

  it("is exact for a homogeneous linear operator", function()
    local v, st = sens_values(op_of(function(v) return v * 2 end))
    assert.are.equal("ok", st)
    assert_linear(v, 2)
  end)

  it("matches a direct computation for a saturating operator", function()
    local v = sens_values(op_of(function(v) return v:tanh() end))
    local eps, al = { 1e-4, 1e-3, 1e-2 }, { 0.5, 0.75, 1.25, 1.5 }
    local P = sl.feat_traj_sens_probes(x, 11, 4, eps, al)
    assert.are.same({ 8, 3, G, G }, P:shape())
    local rows = {}
    for r = 1, 8 do rows[r] = P:select(1, r):contiguous():view(-1):totable() end
    local function norm(t) local s = 0 for _, a in ipairs(t) do s = s + a * a end return math.sqrt(s) end
    local function th(t) local o = {} for i, a in ipairs(t) do o[i] = math.tanh(a) end return o end
    local function sub(a, b) local o = {} for i = 1, #a do o[i] = a[i] - b[i] end return o end
    local o0 = th(rows[1])
    for k = 1, 3 do
      local want = norm(sub(th(rows[1 + k]), o0)) / norm(sub(rows[1 + k], rows[1]))
      assert.is_true(math.abs(v[("lipschitz_eps_%.0e"):format(eps[k])] - want) < 2e-3 * want, "eps " .. k)
      -- the perturbation has the documented size: eps · RMS(x) · N(0,1)
      local d = sub(rows[1 + k], rows[1])
      local rms_x = norm(rows[1]) / math.sqrt(#d)
      local rel = norm(d) / math.sqrt(#d) / (eps[k] * rms_x)
      assert.is_true(rel > 0.8 and rel < 1.2, "perturbation size " .. rel)
    end
    local gains = {}
    for j = 1, 4 do
      gains[j] = norm(th(rows[4 + j])) / norm(o0)
      assert.is_true(math.abs(v[("gain_scale_%.2f"):format(al[j])] - gains[j]) < 1e-5)
    end
    assert.is_true(v.saturation_degree > 0.05)                 -- tanh saturates
    assert.is_true(math.abs(v.saturation_degree - (1 - gains[4] / 1.5)) < 1e-5)
    assert.is_true(math.abs(v.compression_ratio - (gains[1] / 0.5) / (gains[4] / 1.5)) < 1e-5)
    assert.is_true(v.compression_ratio > 1)
    -- least-squares line through the four gains
    local am, gm = 1.0, (gains[1] + gains[2] + gains[3] + gains[4]) / 4
    local sxx, sxy = 0, 0
    for j = 1, 4 do sxx = sxx + (al[j] - am) ^ 2; sxy = sxy + (al[j] - am) * (gains[j] - gm) end
    local a = sxy / sxx
    local ssr, sst = 0, 0
    for j = 1, 4 do ssr = ssr + (gains[j] - (a * al[j] + gm - a * am)) ^ 2; sst = sst + (gains[j] - gm) ^ 2 end
    assert.is_true(math.abs(v.linearity_r2 - (1 - ssr / (sst + 1e-10))) < 1e-5)
  end)

  it("probes the rollout's update step, so a linear step still gives the exact values", function()
    -- stand-in with a policy: F(x) = 2x under residual dt = 0.1 is the step S(x) = 1.2x
    local lin = { forward = function(self, v) return v * 2 end,
                  config = function() return { update_policy = "residual", dt = 0.1 } end }
    local v = sens_values(lin)
    assert_linear(v, 1.2)
    -- convex α = 0.25 around F(x) = −x: S(x) = −0.5x, a gain of 0.5
    local cvx = { forward = function(self, v) return -v end,
                  config = function() return { update_policy = "convex", alpha = 0.25 } end }
    assert.is_true(math.abs(sens_values(cvx)["lipschitz_eps_1e-02"] - 0.5) < 1e-3)
  end)

  it("varies across real operators with different policies, dt, alpha and noise", function()
    local operator = require "spinlock.operator"
    local Gs = 16
    local ic = sl.Generator { seed = 8 }:normal({ 3, Gs, Gs })
    local base = { num_layers = 2, base_channels = 4, kernel_size = 3, grid_size = Gs, normalization = "instance" }
    local variants = {
      { update_policy = "residual", dt = 0.01 },
      { update_policy = "residual", dt = 0.2 },
      { update_policy = "convex", alpha = 0.3 },
      { update_policy = "convex", alpha = 0.8, noise_type = "gaussian", noise_scale = 0.1 },
      { update_policy = "autoregressive" },
    }
    local cols = { "gain_scale_0.50", "gain_scale_0.75", "gain_scale_1.25", "gain_scale_1.50",
                   "saturation_degree", "compression_ratio" }
    local seen = {}
    for i, var in ipairs(variants) do
      local p = {}
      for k, val in pairs(base) do p[k] = val end
      for k, val in pairs(var) do p[k] = val end
      local op = operator.build(p, { seed = 3, op_index = i })
      -- the probed map is exactly the rollout's first step (same noise: realization 0, step 1)
      local S = sens.update_map(op)
      local traj = op:rollout(ic, 1, 2, { seed = 3, op_index = i })
      local d = (S(ic:view(1, 3, Gs, Gs), 1):view(3, Gs, Gs) - traj:select(1, 1):select(1, 2)):abs():amax()
      assert.is_true(d < 1e-5, "update map vs rollout step, variant " .. i .. ": " .. d)
      local vals, st = sens.compute(ic, op, nil, { seed = 3, op_index = i })
      assert.are.equal("ok", st)
      local named = {}
      for k, e in ipairs(sens.catalog()) do named[e.name] = vals[k] end
      for _, c in ipairs(cols) do
        seen[c] = seen[c] or {}
        seen[c][#seen[c] + 1] = named[c]
      end
      -- the network alone is scale-invariant (instance norm): F's gain is 1; the step's is not
      if var.update_policy == "residual" then assert.is_true(named["gain_scale_1.50"] > 1.3) end
    end
    for _, c in ipairs(cols) do
      local lo, hi = math.huge, -math.huge
      for _, val in ipairs(seen[c]) do lo = math.min(lo, val); hi = math.max(hi, val) end
      assert.is_true(hi - lo > 0.05, c .. " is (nearly) constant across operators: " .. lo .. " .. " .. hi)
    end
  end)

  it("seeds the perturbations by (seed, op_index)", function()
    local a = sl.feat_traj_sens_probes(x, 11, 4, { 1e-2 }, {}):totable()
    local b = sl.feat_traj_sens_probes(x, 11, 4, { 1e-2 }, {}):totable()
    local c = sl.feat_traj_sens_probes(x, 11, 5, { 1e-2 }, {}):totable()
    local d = sl.feat_traj_sens_probes(x, 12, 4, { 1e-2 }, {}):totable()
    assert.are.same(a, b)
    assert.are_not.same(a, c)
    assert.are_not.same(a, d)
    assert.are.same(a[1], c[1])   -- row 1 is x itself
  end)

  it("calls forward once per probe at one step, so step-keyed noise cancels", function()
    local calls = {}
    local op = { forward = function(self, v, step)
      calls[#calls + 1] = { v:size(1), step }
      -- noise keyed by (realization row, step) like the rollout's: identical for every call
      return v + sl.Generator { seed = 99, b = 0, c = step }:normal(v:shape())
    end }
    local v = sens_values(op, { step = 5 })
    assert.are.equal(8, #calls)
    for _, c in ipairs(calls) do assert.are.same({ 1, 5 }, c) end
    assert.is_true(math.abs(v["lipschitz_eps_1e-02"] - 1) < 1e-3)
  end)

  it("is NaN with a status when there is no operator or forward fails", function()
    local v, st = sens_values(nil)
    assert.are.equal("no operator", st)
    for _, x in pairs(v) do assert.is_true(isnan(x)) end
    local bad = { forward = function() error("boom") end }
    local v2, st2 = sens_values(bad)
    assert.matches("forward failed: .*boom", st2)
    for _, x in pairs(v2) do assert.is_true(isnan(x)) end
    local zero = op_of(function(v) return v * 0 end)
    local v3 = sens_values(zero)
    assert.is_true(isnan(v3["gain_scale_0.50"]))                 -- no output norm to compare with
  end)

  it("is broadcast to every realization by trajectory.compute", function()
    local g2 = sl.Generator { seed = 3 }
    local t = g2:normal({ 3, 5, 3, G, G })
    local out, info = traj.compute(t, nil, { operator = op_of(function(v) return v * 3 end), seed = 1, op_index = 0 })
    assert.are.equal("ok", info.sensitivity)
    assert.are.same({ 3, 120 }, out:shape())
    for m = 1, 3 do
      assert.is_true(math.abs(out:get(m, 111) - 3) < 1e-3)
      assert.is_true(math.abs(out:get(m, 114) - 0.5) < 1e-6)
      assert.are.equal(out:get(1, 118), out:get(m, 118))
    end
    local core = sl.feat_traj(t)
    assert.are.equal(core:get(2, 50), out:get(2, 50))
    local out2, info2 = traj.compute(t)
    assert.are.equal("no operator", info2.sensitivity)
    assert.is_true(isnan(out2:get(1, 115)))
    -- ctx.ic replaces frame 1 of realization 1 as the probe input
    local ic = t:select(1, 2):select(1, 3)
    local _, info3 = traj.compute(t, nil, { operator = op_of(function(v) return v:clone() end), ic = ic })
    assert.are.equal("ok", info3.sensitivity)
  end)

  it("checks its arguments", function()
    assert.has_error(function() sl.feat_traj_sens_probes(sl.zeros(2, 3), 1, 0, { 1e-3 }, { 0.5 }) end,
                     "sensitivity: input must be [C,H,W] or [1,C,H,W], got [2,3]")
    assert.has_error(function() sl.feat_traj_sens_probes(x, 1, 0, { -1 }, {}) end,
                     "sensitivity: epsilon 1 must be finite and > 0, got -1")
    assert.has_error(function() sl.feat_traj_sens_probes(x, -1, 0, {}, {}) end,
                     "sensitivity: seed must be an integer in 0..2^53, got -1")
    assert.has_error(function() sl.feat_traj_sens_reduce(sl.zeros(3, 2), sl.zeros(2, 2), { 1e-3 }, { 1 }) end)
  end)
end)
