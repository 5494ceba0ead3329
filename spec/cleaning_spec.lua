-- Tokenizer input (lua/spinlock/cleaning.lua): each cleaning step against a naive Lua loop, the
-- whole Cleaner (fit = transform on the same rows, state round trip, new rows), family loading
-- and pooling from HDF5 files (one and several), and error messages.
local sl = require "spinlock"
local cleaning = require "spinlock.cleaning"
local steps = cleaning.steps

local NaN, Inf = 0 / 0, 1 / 0
local function isnan(v) return v ~= v end

local function close(a, b, tol)
  if isnan(a) or isnan(b) then return isnan(a) and isnan(b) end
  return math.abs(a - b) <= (tol or 1e-6) * (1 + math.abs(b))
end

local function col(t, j) local r = {} for i = 1, #t do r[i] = t[i][j] end return r end

local function naive_median(v)
  local s = {}
  for _, x in ipairs(v) do if not isnan(x) then s[#s + 1] = x end end
  table.sort(s)
  if #s == 0 then return NaN end
  local pos = 0.5 * (#s - 1)
  local lo = math.floor(pos)
  local hi = math.min(lo + 1, #s - 1)
  return s[lo + 1] + (s[hi + 1] - s[lo + 1]) * (pos - lo)
end

local function naive_std(v)
  local s, n = 0, 0
  for _, x in ipairs(v) do if not isnan(x) then s = s + x; n = n + 1 end end
  local m = s / n
  local q = 0
  for _, x in ipairs(v) do if not isnan(x) then q = q + (x - m) ^ 2 end end
  return math.sqrt(q / n)
end

local function naive_corr(a, b)
  local n, ma, mb = #a, 0, 0
  for i = 1, n do ma = ma + a[i]; mb = mb + b[i] end
  ma, mb = ma / n, mb / n
  local sab, saa, sbb = 0, 0, 0
  for i = 1, n do
    sab = sab + (a[i] - ma) * (b[i] - mb); saa = saa + (a[i] - ma) ^ 2; sbb = sbb + (b[i] - mb) ^ 2
  end
  if saa == 0 or sbb == 0 then return 0 end
  return sab / math.sqrt(saa * sbb)
end

-- A test matrix with NaNs, Infs, a constant column, a duplicate and outliers.
local function sample(strided)
  local g = sl.Generator(21)
  local X = g:normal({ 40, 8 })
  X:select(2, 3):copy(X:select(2, 1) * -3 + 1)        -- |r| = 1 with column 1
  X:select(2, 5):fill(2)                                -- constant
  X:set(NaN, 1, 2); X:set(NaN, 7, 2); X:set(Inf, 3, 4); X:set(-Inf, 9, 6)
  for i = 1, 30 do X:set(NaN, i, 7) end                 -- 75 % NaN
  X:set(50, 5, 8); X:set(-40, 6, 8)                     -- outliers
  if strided then X = X:t():contiguous():t() end
  return X
end

describe("cleaning steps (naive references)", function()
  for _, strided in ipairs { false, true } do
    local tag = strided and " (strided)" or ""
    it("inf_to_nan, nan_fraction, nanstd and nanmedian" .. tag, function()
      local X = steps.inf_to_nan(sample(strided))
      local t = X:totable()
      assert.is_true(isnan(t[3][4])); assert.is_true(isnan(t[9][6]))
      local frac, sd, med = steps.nan_fraction(X):totable(), steps.nanstd(X):totable(), steps.nanmedian(X):totable()
      for j = 1, 8 do
        local c = col(t, j)
        local n = 0
        for _, v in ipairs(c) do if isnan(v) then n = n + 1 end end
        assert.is_true(close(frac[j], n / 40), "frac " .. j)
        assert.is_true(close(sd[j], naive_std(c), 1e-5), "std " .. j)
        assert.is_true(close(med[j], naive_median(c)), "median " .. j)
      end
    end)
  end

  it("impute replaces NaNs by the given column values", function()
    local X = sl.tensor({ { 1, NaN }, { NaN, 4 } })
    assert.are.same({ { 1, 8 }, { 7, 4 } }, steps.impute(X, sl.tensor({ 7, 8 }, "float64")):totable())
  end)

  it("dedup keeps the earliest of each correlated set (greedy over the matrix)", function()
    local X = steps.impute(steps.inf_to_nan(sample()), steps.nanmedian(steps.inf_to_nan(sample())))
    local t = X:totable()
    local R = sl._cluster.corr(X)
    for i = 1, 8 do
      for j = 1, 8 do
        if i ~= j then assert.is_true(close(R:get(i, j), naive_corr(col(t, i), col(t, j)), 1e-5)) end
      end
    end
    local keep = steps.dedup(R, 0.99)
    -- naive greedy
    local removed, ref = {}, {}
    for i = 1, 8 do
      if not removed[i] then
        ref[#ref + 1] = i
        for j = i + 1, 8 do if math.abs(naive_corr(col(t, i), col(t, j))) > 0.99 then removed[j] = true end end
      end
    end
    assert.are.same(ref, keep)
    for _, j in ipairs(keep) do assert.are_not.equal(3, j) end
  end)

  it("MAD bounds and clipping (floor for MAD = 0)", function()
    local X = sl.tensor({ { 1, 5, 0 }, { 2, 5, 0 }, { 3, 5, 0 }, { 4, 5, 0 }, { 100, 6, 0 } })
    local lo, hi = steps.mad_bounds(X, 5)
    -- col 1: med 3, MAD median{2,1,0,1,97} = 1 → [-2, 8]
    -- col 2: med 5, MAD 0 → floor max(0.05, 1e-6) = 0.05 → [4.75, 5.25]
    -- col 3: med 0, MAD 0 → 1e-6 → [-5e-6, 5e-6]
    local want_lo, want_hi = { -2, 4.75, -5e-6 }, { 8, 5.25, 5e-6 }
    for j = 1, 3 do
      assert.is_true(close(lo[j], want_lo[j], 1e-9)); assert.is_true(close(hi[j], want_hi[j], 1e-9))
    end
    local c = steps.clip(X, lo, hi):totable()
    assert.are.equal(8, c[5][1]); assert.is_true(close(c[5][2], 5.25)); assert.are.equal(1, c[1][1])
  end)

  it("normalisation statistics: standard and robust", function()
    local X = sl.tensor({ { 1, 3 }, { 2, 3 }, { 3, 3 }, { 10, 3 } })
    local m, s = steps.norm_stats(X, "standard")
    assert.is_true(close(m[1], 4)); assert.is_true(close(s[1], math.sqrt((9 + 4 + 1 + 36) / 4)))
    assert.are.equal(1, s[2])                                        -- constant → 1
    local c, r = steps.norm_stats(X, "robust")
    -- col 1 sorted {1,2,3,10}: q25 = 1.75, median 2.5, q75 = 4.75
    assert.is_true(close(c[1], 2.5)); assert.is_true(close(r[1], 3)); assert.are.equal(1, r[2])
  end)
end)

describe("Cleaner", function()
  local names = {}
  for j = 1, 8 do names[j] = "summary_f" .. j end

  it("fits the documented pipeline and reports each step", function()
    local cl = cleaning.Cleaner {}
    local Y = cl:fit(sample(), names)
    -- dropped: 7 (75 % NaN), 5 (constant), 3 (duplicate of 1)
    assert.are.same({ 1, 2, 4, 6, 8 }, cl.columns)
    assert.are.same({ "summary_f1", "summary_f2", "summary_f4", "summary_f6", "summary_f8" }, cl.names)
    assert.are.equal(1, cl.report.dropped_nan)
    assert.are.equal(1, cl.report.dropped_variance)
    assert.are.equal(1, cl.report.dropped_duplicate)
    assert.is_true(cl.report.clipped >= 2)
    assert.are.same({ 40, 5 }, Y:shape())
    -- standardised: mean 0, population std 1 per column; no NaN left
    local m, s = Y:double():mean(1), Y:double():std(1, false)
    for j = 1, 5 do assert.is_true(math.abs(m[j]) < 1e-5); assert.is_true(math.abs(s[j] - 1) < 1e-4) end
    assert.are.equal(0, sl.isnan(Y):sum())
    -- the outliers of column 8 were clipped before standardising
    assert.is_true(Y:max() < 10)
  end)

  it("transform on the fitted rows equals fit's output; state round trip; new rows", function()
    for _, norm in ipairs { "standard", "robust", "none" } do
      local cl = cleaning.Cleaner { normalization = norm }
      local Y = cl:fit(sample(), names)
      assert.are.same(Y:totable(), cl:transform(sample()):totable())
      assert.are.same(Y:totable(), cl:transform(sample(true)):totable())   -- strided input
      local s = cl:state()
      -- the state is plain: numbers, strings, tables and tensors
      for k, v in pairs(s) do assert.is_true(type(v) ~= "function" and type(v) ~= "userdata" or sl.is_tensor(v), k) end
      local cl2 = cleaning.from_state(s)
      assert.are.same(Y:totable(), cl2:transform(sample()):totable())
      assert.are.same(cl.names, cl2.names)
      -- new rows with NaN/Inf are imputed and clipped with the fitted numbers
      local new = sl.tensor({ { NaN, Inf, 0, 0, 0, 0, 0, 1e9 } })
      local y = cl2:transform(new):totable()[1]
      local med2 = s.medians[2]
      assert.is_true(close(y[2], (med2 - s.centre[2]) / s.scale[2], 1e-5))   -- Inf → NaN → median
      assert.is_true(close(y[5], (s.hi[5] - s.centre[5]) / s.scale[5], 1e-5)) -- 1e9 clipped to hi
    end
  end)

  it("errors are clear", function()
    assert.has_error(function() cleaning.Cleaner { normalisation = "standard" } end,
      "cleaning.Cleaner: unknown option 'normalisation'")
    local cl = cleaning.Cleaner {}
    assert.has_error(function() cl:transform(sample()) end,
      "cleaning.transform: the cleaner is not fitted (call fit or from_state)")
    cl:fit(sample())
    assert.has_error(function() cl:transform(sl.zeros(3, 5)) end, "cleaning.transform: expected 8 columns (as fitted), got 5")
    assert.has_error(function() cleaning.Cleaner {}:fit(sl.full({ 4, 2 }, NaN)) end)
    assert.has_error(function() cleaning.from_state({}) end)
  end)
end)

describe("cleaning.load", function()
  local N, M, T = 4, 3, 5
  local function write(path, seed, with_names)
    local g = sl.Generator(seed)
    local data = {
      architecture = g:normal({ N, 2 }), initial = g:normal({ N, M, 3 }),
      summary = g:normal({ N, 4 }), temporal = g:normal({ N, M, T, 2 }),
    }
    sl.h5.with(path, "w", function(f)
      for fam, t in pairs(data) do
        f:create_dataset("features/" .. fam, { shape = t:shape() })
        f:write("features/" .. fam, t)
        if with_names then
          local nm = {}
          for j = 1, t:size(t:dim()) do nm[j] = fam:sub(1, 1) .. j end
          f:set_attr("features/" .. fam, "feature_names", nm)
        end
      end
    end)
    return data
  end

  it("pools and joins the four families with prefixed names", function()
    local p = os.tmpname()
    local d = write(p, 1, true)
    local X, names, layout = cleaning.load(p)
    os.remove(p)
    assert.are.same({ N, 2 + 3 + 4 + 6 }, X:shape())
    assert.are.same({ "architecture_a1", "architecture_a2", "initial_i1", "initial_i2", "initial_i3",
      "summary_s1", "summary_s2", "summary_s3", "summary_s4",
      "temporal_t1_mean", "temporal_t1_std", "temporal_t1_slope",
      "temporal_t2_mean", "temporal_t2_std", "temporal_t2_slope" }, names)
    assert.are.same({ name = "temporal", first = 10, count = 6 }, layout.families[4])
    local x = X:totable()
    local ini, tem = d.initial:totable(), d.temporal:totable()
    for n = 1, N do
      assert.is_true(close(x[n][1], d.architecture:get(n, 1)))
      assert.is_true(close(x[n][8], d.summary:get(n, 3)))
      for f = 1, 3 do
        local s = 0
        for m = 1, M do s = s + ini[n][m][f] end
        assert.is_true(close(x[n][2 + f], s / M, 1e-5))
      end
      for f = 1, 2 do
        local mean, std, slope = 0, 0, 0
        for m = 1, M do
          local sm = 0
          for t = 1, T do sm = sm + tem[n][m][t][f] end
          mean = mean + sm
          sm = sm / T
          local q = 0
          for t = 1, T do q = q + (tem[n][m][t][f] - sm) ^ 2 end
          std = std + math.sqrt(q / T)
          slope = slope + (tem[n][m][T][f] - tem[n][m][1][f]) / (T - 1)
        end
        local c = 9 + 3 * (f - 1)
        assert.is_true(close(x[n][c + 1], mean / (M * T), 1e-5))
        assert.is_true(close(x[n][c + 2], std / M, 1e-5))
        assert.is_true(close(x[n][c + 3], slope / M, 1e-5))
      end
    end
  end)

  it("stacks several files, picks families, and checks names", function()
    local p1, p2 = os.tmpname(), os.tmpname()
    local d1, d2 = write(p1, 1, false), write(p2, 2, false)
    local X, names, layout = cleaning.load({ p1, p2 }, { families = { "sdf", "architecture" } })
    assert.are.same({ 2 * N, 6 }, X:shape())
    assert.are.equal("summary_0", names[1]); assert.are.equal("architecture_1", names[6])
    assert.are.same(d2.summary:totable(), X:narrow(1, N + 1, N):narrow(2, 1, 4):totable())
    assert.are.equal(N + 1, layout.files[2].first_row)
    write(p2, 2, true)
    local ok, err = pcall(cleaning.load, { p1, p2 }, { families = { "summary" } })
    assert.is_false(ok); assert.truthy(tostring(err):find("column 1 is 'summary_s1'", 1, true))
    assert.truthy(tostring(err):find("feature schemas of " .. p1 .. " and " .. p2 .. " differ", 1, true))
    sl.h5.with(p2, "w", function(f) f:create_dataset("features/summary", { shape = { N, 2 } }) end)
    ok, err = pcall(cleaning.load, p2, { families = { "summary", "temporal" } })
    assert.is_false(ok); assert.truthy(err:find("has no features/temporal", 1, true))
    local X2 = cleaning.load(p2, { families = { "summary", "temporal" }, optional = true })
    assert.are.same({ N, 2 }, X2:shape())
    os.remove(p1); os.remove(p2)
  end)

  it("refuses to stack files whose feature schemas differ, naming the files and the difference", function()
    local p1, p2 = os.tmpname(), os.tmpname()
    write(p1, 1, true)
    -- p2: another width of features/summary, no temporal family
    sl.h5.with(p2, "w", function(f)
      local g = sl.Generator { seed = 3 }
      f:create_dataset("features/architecture", { shape = { N, 2 } })
      f:write("features/architecture", g:normal({ N, 2 }))
      f:set_attr("features/architecture", "feature_names", { "a1", "a2" })
      f:create_dataset("features/summary", { shape = { N, 5 } })
      f:write("features/summary", g:normal({ N, 5 }))
      f:set_attr("features/summary", "feature_names", { "s1", "s2", "s3", "s4", "s5" })
    end)
    local ok, err = pcall(cleaning.load, { p1, p2 }, { families = { "architecture", "summary", "temporal" }, optional = true })
    assert.is_false(ok)
    err = tostring(err)
    assert.truthy(err:find("feature schemas of " .. p1 .. " and " .. p2 .. " differ", 1, true), err)
    assert.truthy(err:find(p2 .. " has no features/temporal", 1, true), err)
    assert.truthy(err:find(p1 .. ": architecture 2, summary 4, temporal 6; " .. p2 .. ": architecture 2, summary 5", 1, true), err)
    ok, err = pcall(cleaning.load, { p1, p2 }, { families = { "architecture", "summary" } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("features/summary gives 4 columns in " .. p1 .. " but 5 in " .. p2, 1, true), tostring(err))
    -- same schema: rows are stacked
    local X = cleaning.load({ p1, p1 }, { families = { "architecture", "summary" } })
    assert.are.same({ 2 * N, 6 }, X:shape())
    os.remove(p1); os.remove(p2)
  end)
end)
