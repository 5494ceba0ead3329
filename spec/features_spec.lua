-- spinlock.features: family assembly (widths, names, aggregation math, quality masks, config).
-- The catalog modules are FAKES (spec/support/fake_feature_catalogs.lua) so the assembly is
-- checked independently of the real kernels; a last block runs the real modules when present.
local sl = require "spinlock"
local features = require "spinlock.features"
local fconfig = require "spinlock.features.config"
local make_fakes = dofile("spec/support/fake_feature_catalogs.lua")

local PARAMS = { { name = "noise_scale", category = "stochastic" }, { name = "num_layers", category = "architecture" } }

local function new(section, dims, fakes)
  dims = dims or {}
  local d = { M = dims.M or 3, T = dims.T or 6, G = dims.G or 8, C = dims.C, parameters = PARAMS,
              modules = fakes or make_fakes(), custom = dims.custom }
  return features.new(section and { features = section } or nil, d)
end

local function randn(shape, seed)
  return sl.Generator(seed or 1):normal(shape)
end

local function close(a, b, tol, what)
  local ok = (a ~= a and b ~= b) or math.abs(a - b) <= tol * (1 + math.abs(b))
  if not ok then error(string.format("%s: got %.9g, expected %.9g", what, a, b), 2) end
end

-- naive (finite-only) statistics of a Lua list
local function stats(xs)
  local n, s = 0, 0
  for _, x in ipairs(xs) do if x == x and math.abs(x) ~= math.huge then n = n + 1; s = s + x end end
  local mean = n > 0 and s / n or 0 / 0
  local v = 0
  for _, x in ipairs(xs) do if x == x and math.abs(x) ~= math.huge then v = v + (x - mean) ^ 2 end end
  local std = n >= 2 and math.sqrt(v / (n - 1)) or 0 / 0
  local mn, mx = math.huge, -math.huge
  for _, x in ipairs(xs) do if x == x and math.abs(x) ~= math.huge then mn = math.min(mn, x); mx = math.max(mx, x) end end
  if n == 0 then mn, mx = 0 / 0, 0 / 0 end
  return { mean = mean, std = std, cv = std / (math.abs(mean) + 1e-8), min = mn, max = mx, n = n }
end

describe("features: widths and names", function()
  it("assembles SUMMARY in method-major blocks with the documented default width", function()
    local fx = new()
    local s = fx:schema()
    -- 63 core per-frame x {tmean, tstd} + 25 extra per-frame x {tmean}
    -- + 110 per-trajectory x {mean, std, cv} + 10 per-operator (sensitivity) x {mean}
    assert.same({ 63 * 2 + 25 + 110 * 3 + 10 }, s.summary.shape)
    assert.is_true(s.summary.shape[1] >= 420 and s.summary.shape[1] <= 520)
    local n = s.summary.names
    assert.equal("fake_spatial_01_tmean", n[1])
    assert.equal("spectral_peak_power_ratio_tmean", n[25])
    assert.equal("fake_spatial_01_tstd", n[64])
    assert.equal("histogram_entropy_tmean", n[127])
    assert.equal("fake_temporal_01_mean", n[152])
    assert.equal("fake_temporal_01_std", n[272])
    assert.equal("fake_operator_sensitivity_01_mean", n[262])
    assert.equal("fake_temporal_01_cv", n[382])
    assert.equal("fake_invariant_drift_60_cv", n[491])
    local seen = {}
    for _, x in ipairs(n) do assert.is_nil(seen[x], "duplicate " .. x); seen[x] = true end
  end)

  it("TEMPORAL starts with the variance curve, then the derived curves, then core per-frame features", function()
    local s = new():schema()
    assert.same({ 3, 6, 5 + 63 }, s.temporal.shape)
    assert.same({ "variance", "energy", "total_variance", "mean", "change_rate", "fake_spatial_01" },
      { unpack(s.temporal.names, 1, 6) })
  end)

  it("INITIAL and ARCHITECTURE come from their catalogs", function()
    local s = new():schema()
    assert.same({ 3, 42 }, s.initial.shape)
    assert.same({ 3 }, s.architecture.shape)
    assert.equal("stoch_noise_scale_log", s.architecture.names[1])
  end)

  it("widths move with the category switches and aggregations, never with the data", function()
    local base = new():schema().summary.shape[1]
    local function S(sec) return new(sec):schema().summary.shape[1] end
    assert.equal(base + 15, S { summary = { categories = { nonlinear = true } } })
    assert.equal(base - 10, S { summary = { categories = { operator_sensitivity = false } } })
    assert.equal(base - 54, S { summary = { categories = { spectral = false } } })
    assert.equal(base - 5, S { summary = { categories = { physics = false } } })
    assert.equal(base - 63, S { summary = { temporal_aggregation = { "mean" } } })
    assert.equal(base + 25, S { summary = { extra_temporal_aggregation = { "mean", "std" } } })
    assert.equal(base - 110, S { summary = { realization_aggregation = { "mean", "std" } } })
    assert.equal(24 * 2 + 36 * 3, S { summary = { categories = { "spatial", "temporal" } } })
    -- same width for any M, T, G
    assert.equal(base, new(nil, { M = 1, T = 2, G = 4 }):schema().summary.shape[1])
    local t = new { temporal = { categories = { spatial = true, spectral = false, cross_channel = false }, derived = { "variance" } } }
    assert.same({ 3, 6, 1 + 24 }, t:schema().temporal.shape)
  end)

  it("families can be switched off, with the guide's aliases too", function()
    local fx = new { ic = false, nop = false, sdf = true, td = false }
    local s = fx:schema()
    assert.is_nil(s.initial); assert.is_nil(s.architecture); assert.is_nil(s.temporal)
    assert.is_table(s.summary)
    assert.same({ "summary" }, fx:families())
    local r = fx:extract { traj = randn({ 3, 6, 3, 8, 8 }) }
    assert.is_nil(r.temporal)
    assert.same({ 491 }, r.summary:shape())
  end)
end)

describe("features: SUMMARY aggregation", function()
  local M_, T, G = 3, 7, 8
  local fakes = make_fakes()
  local fx = new(nil, { M = M_, T = T, G = G }, fakes)
  local traj = randn({ M_, T, 3, G, G }, 5)
  local r = fx:extract { traj = traj, unit = sl.tensor({ 0.25, 0.5 }), ic = traj[1][1], op_index = 4 }
  local names = fx:schema().summary.names
  local pf = fakes.frame.compute(traj:contiguous(), fx.frame_opts):totable()
  local tr = fakes.trajectory.compute(traj, fx.traj_opts, {}):totable()
  local sum = r.summary:totable()
  local q = r.quality.summary:totable()

  it("per-frame features: time aggregate per realization, then realization mean (naive loops)", function()
    for col, k in pairs({ [1] = 1, [30] = 30, [63] = 63 }) do
      local tm, ts = 0, 0
      for m = 1, M_ do
        local xs = {}
        for t = 1, T do xs[t] = pf[m][t][k] end
        local st = stats(xs)
        tm = tm + st.mean / M_
        ts = ts + st.std / M_
      end
      close(sum[col], tm, 1e-5, names[col])
      close(sum[63 + col], ts, 1e-5, names[63 + col])
      assert.equal(0, q[col]); assert.equal(0, q[63 + col])
    end
    -- extra categories (catalog columns 64..88) get the time mean only
    local tm = 0
    for m = 1, M_ do
      local xs = {}
      for t = 1, T do xs[t] = pf[m][t][64] end
      tm = tm + stats(xs).mean / M_
    end
    close(sum[127], tm, 1e-5, names[127])
  end)

  it("per-trajectory features: mean, unbiased std and cv over realizations (naive loops)", function()
    for _, k in ipairs({ 1, 50, 110 }) do
      local xs = {}
      for m = 1, M_ do xs[m] = tr[m][k] end
      local st = stats(xs)
      close(sum[151 + k], st.mean, 1e-5, names[151 + k])
      close(sum[271 + k], st.std, 1e-5, names[271 + k])
      close(sum[381 + k], st.cv, 1e-4, names[381 + k])
    end
  end)

  it("flags not-computable values (no operator -> sensitivity NaN) with quality 1, never silently", function()
    for i = 1, #sum do
      local bad = sum[i] ~= sum[i]
      assert.equal(bad and 1 or 0, q[i], names[i])
    end
    assert.is_true(sum[262] ~= sum[262])  -- fake_operator_sensitivity_01_mean
    assert.equal("uint8", r.quality.summary:dtype())
    assert.same(r.summary:shape(), r.quality.summary:shape())
  end)

  it("gives the same numbers for a strided trajectory", function()
    local base = sl.Generator(5):normal({ M_, T, 3, G, G })
    local st = base:transpose(4, 5):contiguous():transpose(4, 5)   -- same values, strided
    assert.is_false(st:is_contiguous())
    local r2 = fx:extract { traj = st, unit = sl.tensor({ 0.25, 0.5 }), ic = traj[1][1] }
    local a, b = r.summary:totable(), r2.summary:totable()
    for i = 1, #a do close(b[i], a[i], 1e-6, names[i]) end
  end)
end)

describe("features: NaN and Inf", function()
  local M_, T, G = 3, 5, 8
  it("skips non-finite inputs, flags partial results with 2 and empty ones with 1", function()
    local fakes = make_fakes()
    fakes.frame.post = function(pf)
      pf:select(3, 1):select(2, 2):fill(0 / 0)          -- col 1: one frame NaN in every realization
      pf:select(3, 2):fill(0 / 0)                      -- col 2: all NaN
      pf:select(3, 3):select(1, 1):fill(math.huge)     -- col 3: realization 1 all Inf
    end
    local fx = new(nil, { M = M_, T = T, G = G }, fakes)
    local traj = randn({ M_, T, 3, G, G }, 9)
    local r = fx:extract { traj = traj, unit = sl.tensor({ 0.5, 0.5 }), ic = traj[1][1] }
    local fakes2 = make_fakes()
    local pf = fakes2.frame.compute(traj:contiguous(), fx.frame_opts):totable()
    local v, q = r.summary:totable(), r.quality.summary:totable()
    -- col 1: time mean of the finite frames
    local tm = 0
    for m = 1, M_ do
      local xs = {}
      for t = 1, T do xs[#xs + 1] = t == 2 and 0 / 0 or pf[m][t][1] end
      tm = tm + stats(xs).mean / M_
    end
    close(v[1], tm, 1e-5, "partial tmean")
    assert.equal(2, q[1])
    assert.is_true(v[2] ~= v[2]); assert.equal(1, q[2])
    -- col 3: realization 1 has no finite frame -> its tmean is NaN and is skipped in the realization mean
    local xs = {}
    for m = 2, M_ do
      local ys = {}
      for t = 1, T do ys[t] = pf[m][t][3] end
      xs[#xs + 1] = stats(ys).mean
    end
    close(v[3], stats(xs).mean, 1e-5, "realization-partial tmean")
    assert.equal(2, q[3])
    -- TEMPORAL carries the raw values: 1 where not finite
    local tq = r.quality.temporal
    assert.equal(M_ * T, tq:select(3, 6 + 1):float():sum())   -- frame col 2 is TEMPORAL col 5 + 2
    assert.equal(M_, tq:select(3, 6):float():sum())           -- frame col 1, frame 2 of each realization
  end)

  it("M = 1: std and cv over realizations are NaN with quality 1", function()
    local fx = new(nil, { M = 1, T = 4, G = 8 })
    local r = fx:extract { traj = randn({ 1, 4, 3, 8, 8 }), unit = sl.tensor({ 0.5, 0.5 }), ic = randn({ 3, 8, 8 }) }
    local v, q = r.summary:totable(), r.quality.summary:totable()
    assert.is_true(v[272] ~= v[272]); assert.equal(1, q[272])   -- fake_temporal_01_std
    assert.is_true(v[382] ~= v[382]); assert.equal(1, q[382])   -- fake_temporal_01_cv
    assert.is_true(v[152] == v[152]); assert.equal(0, q[152])   -- mean is fine
  end)

  it("aggregate() matches naive loops for every method on rows with NaN and Inf", function()
    local x = sl.tensor({ { 1, 2, 0 / 0, 4 }, { math.huge, 3, 3, 3 }, { 0 / 0, 0 / 0, 0 / 0, 0 / 0 }, { 5, 0 / 0, 0 / 0, 0 / 0 } }, "float32")
    local rows = x:totable()
    for _, m in ipairs({ "mean", "std", "cv", "min", "max" }) do
      local v, p = features.aggregate(x, 2, m)
      v, p = v:totable(), p:totable()
      for i, row in ipairs(rows) do
        local st = stats(row)
        close(v[i], st[m], 1e-6, m .. " row " .. i)
        assert.equal(st.n < 4 and 1 or 0, p[i])
      end
    end
  end)
end)

describe("features: TEMPORAL derived curves", function()
  it("match naive loops (variance, energy, total_variance, mean, change_rate)", function()
    local M_, T, C, G = 2, 3, 3, 4
    local traj = randn({ M_, T, C, G, G }, 11)
    local fx = new(nil, { M = M_, T = T, G = G })
    local r = fx:extract { traj = traj, unit = sl.tensor({ 0.5, 0.5 }), ic = randn({ 3, G, G }) }
    local out = r.temporal:totable()
    local u = traj:totable()
    for m = 1, M_ do
      for t = 1, T do
        local var, e2, all, d2 = 0, 0, {}, 0
        for c = 1, C do
          local vals = {}
          for y = 1, G do for x = 1, G do
            local v = u[m][t][c][y][x]
            vals[#vals + 1] = v; all[#all + 1] = v; e2 = e2 + v * v
            if t > 1 then d2 = d2 + (v - u[m][t - 1][c][y][x]) ^ 2 end
          end end
          var = var + stats(vals).std ^ 2 / C
        end
        local st = stats(all)
        close(out[m][t][1], var, 1e-5, "variance")
        close(out[m][t][2], math.sqrt(e2), 1e-5, "energy")
        close(out[m][t][3], st.std ^ 2, 1e-5, "total_variance")
        close(out[m][t][4], st.mean, 1e-4, "mean")
        close(out[m][t][5], math.sqrt(d2 / (C * G * G)), 1e-5, "change_rate")
      end
    end
    assert.equal(0, r.quality.temporal:float():sum())
  end)
end)

describe("features: TEMPORAL change_rate over many frames", function()
  it("matches a naive loop across the frame blocks (T = 70)", function()
    local T, G = 70, 4
    local traj = randn({ 1, T, 3, G, G }, 12)
    local fx = new({ temporal = { derived = { "variance", "change_rate" } } }, { M = 1, T = T, G = G })
    local out = fx:extract { traj = traj, unit = sl.tensor({ 0.5, 0.5 }), ic = randn({ 3, G, G }) }.temporal
    local u = traj:totable()[1]
    assert.equal(0, out:get(1, 1, 2))
    for _, t in ipairs({ 2, 32, 33, 34, 65, 66, 70 }) do
      local d2 = 0
      for c = 1, 3 do for y = 1, G do for x = 1, G do d2 = d2 + (u[t][c][y][x] - u[t - 1][c][y][x]) ^ 2 end end end
      close(out:get(1, t, 2), math.sqrt(d2 / (3 * G * G)), 1e-5, "change_rate t=" .. t)
    end
  end)
end)

describe("features: configuration", function()
  local function err_of(section)
    local ok, e = pcall(fconfig.normalize, section, { source = "x.yaml" })
    assert.is_false(ok)
    return tostring(e)
  end

  it("normalises defaults: families on, nonlinear off, mean/std over time, mean/std/cv over realizations", function()
    local f = fconfig.normalize(nil)
    assert.is_true(f.initial and f.architecture and f.summary and f.temporal)
    assert.is_false(f.options.summary.categories.nonlinear)
    assert.is_true(f.options.summary.categories.operator_sensitivity)
    assert.same({ "mean", "std" }, f.options.summary.temporal_aggregation)
    assert.same({ "mean", "std", "cv" }, f.options.summary.realization_aggregation)
    assert.same(f, fconfig.normalize(f))
  end)

  it("names unknown keys with the nearest valid one", function()
    assert.matches("'features.summary.categorys': unknown key %(did you mean 'features.summary.categories'%?%)",
      err_of { summary = { categorys = {} } })
    assert.matches("'features.summry': unknown feature family %(did you mean 'features.summary'%?%)", err_of { summry = true })
    assert.matches("'features.summary.categories.spectrall': unknown key %(did you mean 'features.summary.categories.spectral'%?%)",
      err_of { summary = { categories = { spectrall = false } } })
    assert.matches("unknown method \"median\"", err_of { summary = { temporal_aggregation = { "median" } } })
    assert.matches("did you mean 'mean'", err_of { summary = { realization_aggregation = { "maen" } } })
    assert.matches("must start with 'variance'", err_of { temporal = { derived = { "energy", "variance" } } })
    assert.matches("contradicts features.ic", err_of { ic = true, initial = false })
    assert.matches("expected true, false or a mapping", err_of { summary = 3 })
    assert.matches("'features.summary.frame.bins': unknown key", err_of { summary = { frame = { bins = 3 } } })
    assert.matches("x.yaml: invalid features configuration %(2 problems%)", err_of { summry = true, td = 1 })
  end)

  it("round-trips through to_section, also as canonical JSON text", function()
    local f = fconfig.normalize { sdf = { categories = { nonlinear = true, physics = false }, realization_aggregation = { "mean", "max" } },
                                  td = { derived = { "variance", "mean" } }, nop = false, custom = { "a.lua" } }
    local sec = fconfig.to_section(f)
    assert.same(f, fconfig.normalize(sec))
    local config = require "spinlock.config"
    local json = config._json_value(sec)
    local yaml = require "spinlock.yaml"
    assert.same(f, fconfig.normalize(yaml.load(json, "j.json")))
    assert.same(fconfig.normalize(nil), fconfig.normalize(yaml.load(config._json_value(fconfig.to_section(nil)), "d.json")))
  end)

  it("reports each problem through opts.report (for the experiment config loader)", function()
    local got = {}
    local f = fconfig.normalize({ summry = true, summary = { categories = { spatail = false } } },
      { report = function(p, m) got[#got + 1] = p .. " | " .. m end })
    table.sort(got)   -- a Lua table has no key order (YAML sections report in file order)
    assert.same({ "features.summary.categories.spatail | unknown key (did you mean 'features.summary.categories.spatial'?)",
                  "features.summry | unknown feature family (did you mean 'features.summary'?)" }, got)
    assert.is_true(f.summary)
  end)

  it("checks catalog-module options by their config_keys or DEFAULTS, and values with the module", function()
    local mod = { DEFAULTS = { strata = 4, include_alpha = true },
                  options = function(o) if o.strata and o.strata < 2 then error("strata: expected >= 2, got " .. o.strata, 2) end end }
    local tr = { config_keys = { "categories", "max_lag" }, check_config = function(o) return o.max_lag > 9 and "max_lag too large" or nil end }
    local mods = { architecture = mod, trajectory = tr }
    local f = fconfig.normalize({ nop = { strata = 6 }, sdf = { trajectory = { max_lag = 3 } } }, { modules = mods })
    assert.same({ strata = 6 }, f.options.architecture)
    assert.same({ max_lag = 3 }, f.options.summary.trajectory)
    local function e(sec) local ok, m = pcall(fconfig.normalize, sec, { modules = mods }); assert.is_false(ok); return tostring(m) end
    assert.matches("'features.nop.strat': unknown key %(did you mean 'features.nop.strata'%?%)", e { nop = { strat = 6 } })
    assert.matches("'features.nop': strata: expected >= 2, got 1", e { nop = { strata = 1 } })
    assert.matches("max_lag too large", e { sdf = { trajectory = { max_lag = 10 } } })
    assert.matches("categories are chosen with features.summary.categories", e { sdf = { trajectory = { categories = {} } } })
  end)

  it("accepts category lists, enabled flags and the guide's aliases", function()
    local f = fconfig.normalize { sdf = { enabled = true, categories = { "spatial", "temporal" } }, td = false, nop = { enabled = false } }
    assert.is_true(f.summary); assert.is_false(f.temporal); assert.is_false(f.architecture)
    assert.is_true(f.options.summary.categories.spatial)
    assert.is_false(f.options.summary.categories.spectral)
  end)

  it("reads the section of an experiment config loaded from YAML", function()
    local config = require "spinlock.config"
    local cfg = config.load_string([[
metadata: {name: t}
sampling: {total_samples: 4}
parameter_space:
  stochastic:
    noise_scale: {type: continuous, bounds: [0.001, 1.0], log_scale: true}
features: {ic: false, nop: true, sdf: true, td: false}
]], "t.yaml", nil, { warn = false })
    local fx = features.new(cfg, { M = 2, T = 3, G = 8, modules = make_fakes() })
    local s = fx:schema()
    assert.is_nil(s.initial); assert.is_nil(s.temporal)
    assert.same({ 2 }, s.architecture.shape)      -- fake: noise + one column per parameter
  end)

  it("says which module is missing when an enabled family needs it", function()
    local fakes = make_fakes()
    fakes.frame = false
    local ok, e = pcall(features.new, nil, { M = 1, T = 2, G = 8, modules = fakes })
    assert.is_false(ok)
    assert.matches("needs the catalog module spinlock.features.frame", tostring(e))
    -- but works when no family needs it
    local fx = features.new({ features = { sdf = { categories = { "temporal" } }, td = false } },
      { M = 1, T = 2, G = 8, modules = fakes })
    assert.same({ 36 * 3 }, fx:schema().summary.shape)
  end)

  it("refuses a SUMMARY with no columns", function()
    local cats = {}
    for _, c in ipairs(fconfig.SUMMARY_CATEGORIES) do cats[c] = false end
    local ok, e = pcall(new, { summary = { categories = cats } })
    assert.is_false(ok)
    assert.matches("SUMMARY would have no columns", tostring(e))
  end)

  it("checks the shapes given to extract", function()
    local fx = new()
    local ok, e = pcall(fx.extract, fx, { traj = sl.zeros(3, 6, 3, 8, 7) })
    assert.is_false(ok)
    assert.matches("traj must have shape %[3,6,3,8,8%], found %[3,6,3,8,7%]", tostring(e))
  end)
end)

describe("features: real catalog modules", function()
  -- the real modules where they exist, the fakes for the others
  local mods, real = make_fakes(), {}
  for _, m in ipairs({ "frame", "trajectory", "initial", "architecture" }) do
    local ok, mod = pcall(require, "spinlock.features." .. m)
    if ok then mods[m] = mod; real[#real + 1] = m end
  end
  local run = #real > 0 and it or pending
  run("default SUMMARY width lands in 420..520 (real: " .. table.concat(real, ", ") .. ")", function()
    local fx = features.new({ features = { ic = false, nop = false } }, { M = 2, T = 4, G = 16, modules = mods })
    local S = fx:schema().summary.shape[1]
    assert.is_true(S >= 420 and S <= 520, "S = " .. S)
    local names = fx:schema().summary.names
    local entropy, peak = false, false
    for _, n in ipairs(names) do
      entropy = entropy or n:find("entropy", 1, true) ~= nil
      peak = peak or (n:find("spectral", 1, true) and n:find("peak", 1, true)) ~= nil
    end
    assert.is_true(entropy and peak, "SUMMARY needs names with 'entropy' and with 'spectral'+'peak'")
    local traj = sl.Generator(3):normal({ 2, 4, 3, 16, 16 })
    local r = fx:extract { traj = traj, op_index = 1 }
    assert.same({ S }, r.summary:shape())
    assert.same({ 2, 4, fx:schema().temporal.shape[3] }, r.temporal:shape())
  end)
end)

describe("features: docs/features.md", function()
  it("lists every column of every family with its formula (generator, fake catalogs)", function()
    local text = features.markdown(nil, { modules = make_fakes() })
    local fx = features.new(nil, { M = 3, T = 500, G = 128, parameters = {}, modules = make_fakes() })
    for _, fam in ipairs({ "summary", "temporal" }) do
      for i, n in ipairs(fx:schema()[fam].names) do
        assert.truthy(text:find("| " .. i .. " | `" .. n .. "` |", 1, true), fam .. " " .. n)
      end
    end
    assert.truthy(text:find("sqrt(mean_{c,y,x} (u_t − u_{t−1})²)", 1, true))
    assert.truthy(text:find("| summary | [491] | 491 |", 1, true))
  end)

  local real = pcall(require, "spinlock.features.frame") and pcall(require, "spinlock.features.trajectory")
    and pcall(require, "spinlock.features.architecture")
  ;(real and it or pending)("covers every name another configuration can produce, as a name or a pattern", function()
    local text = features.markdown()
    -- a space with every parameter, several choices each, and every optional category on
    local config = require "spinlock.config"
    local cfg = config.load_string([[
sampling: {total_samples: 4}
parameter_space:
  architecture:
    num_layers: {type: integer, bounds: [2, 4]}
    base_channels: {type: integer, bounds: [4, 8]}
    kernel_size: {type: choice, choices: [3, 5]}
    activation: {type: choice, choices: [gelu, relu, tanh]}
    dropout_rate: {type: continuous, bounds: [0, 0.2]}
  stochastic:
    noise_type: {type: choice, choices: [gaussian, laplace]}
    noise_scale: {type: continuous, bounds: [0.001, 0.1], log_scale: true}
    noise_schedule: {type: choice, choices: [constant, periodic]}
    spatial_correlation: {type: continuous, bounds: [0, 0.2]}
  operator:
    normalization: {type: choice, choices: [instance, group]}
    grid_size: {type: choice, choices: [64]}
  evolution:
    update_policy: {type: choice, choices: [residual, convex, autoregressive]}
    dt: {type: continuous, bounds: [0.01, 0.1]}
    alpha: {type: continuous, bounds: [0.3, 0.9]}
features:
  summary: {categories: {nonlinear: true}, trajectory: {include_pacf: true}}
  temporal: {categories: [spatial, structural, morphological]}
]], "all.yaml", nil, { warn = false })
    local fx = features.new(cfg, { M = 2, T = 8, G = 64, parameters = config.parameters(cfg) })
    local pats = {}
    for p in text:gmatch("`([%w_%.%-]*<[%w]+>[%w_%.%-]*)`") do
      pats[#pats + 1] = "^" .. p:gsub("[%.%-]", "%%%0"):gsub("<%w+>", "[%%w_]+") .. "$"
    end
    assert.is_true(#pats >= 7, "patterns in features.md")
    local n = 0
    for fam, s in pairs(fx:schema()) do
      for _, name in ipairs(s.names) do
        local found = text:find("`" .. name .. "`", 1, true) ~= nil
        for _, p in ipairs(pats) do found = found or name:match(p) ~= nil end
        assert.is_true(found, fam .. ": " .. name .. " is not in docs/features.md")
        n = n + 1
      end
    end
    assert.is_true(n > 600, "names checked: " .. n)
    for _, want in ipairs({ "`op_grid_<choice>`", "`arch_activation_<choice>`", "`evol_policy_<choice>`", "`evol_dt_log`",
                            "`evol_alpha`", "`recurrence_rate_mean`", "`strat_dim<d>_stratum`",
                            "b = u > mean(u) + 0.5·pstd(u)" }) do
      assert.truthy(text:find(want, 1, true), want)
    end
    -- registry entries carry shape and cost, shown in the tables; _tstd says the std is unbiased
    local e = fx.registries.summary:get("spatial_variance_tstd")
    assert.equal("[1]", e.shape)
    assert.equal("low", e.cost)
    assert.matches("^unbiased std %(n − 1%) over time", e.formula)
    assert.equal("[M, T]", fx.registries.temporal:get("variance").shape)
    assert.equal("high", fx.registries.summary:get("lipschitz_eps_1e-02_mean").cost)
    assert.equal("free", fx.registries.architecture:get("evol_alpha").cost)
    assert.truthy(text:find("| `spatial_variance_tstd` | spatial | [1] | low | unbiased std (n − 1) over time", 1, true))
  end)

  it("the committed docs/features.md equals the generated text (spinlock features-doc)", function()
    local fh = assert(io.open("docs/features.md", "r"))
    local committed = fh:read("*a")
    fh:close()
    assert.equal(features.markdown(), committed, "docs/features.md is out of date: run `spinlock features-doc`")
  end)
end)
