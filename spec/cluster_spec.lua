-- Category discovery (engine/core/cluster.c, lua/spinlock/categories.lua) against the SciPy
-- fixture spec/fixtures/cluster_ref.h5 (tools/ref/cluster_ref.py): correlation distance,
-- Ward/average linkage matrices, maxclust partitions and silhouettes; plus the column helpers
-- (nanquantile, select_columns) against naive Lua loops, and error messages.
local sl = require "spinlock"
local C = sl._cluster
local categories = require "spinlock.categories"

local FIX = "spec/fixtures/cluster_ref.h5"

local function load_fixture()
  return sl.h5.with(FIX, "r", function(f)
    local t = { X = f:read("X"), dist = f:read("dist"), kmax = f:attr("/", "kmax") }
    for _, m in ipairs { "ward", "average" } do
      t["Z_" .. m] = f:read("Z_" .. m)
      t["labels_" .. m] = f:read("labels_" .. m)
      t["sil_" .. m] = f:read("sil_" .. m)
    end
    return t
  end)
end

local function maxdiff(a, b)
  local m = 0
  local fa, fb = a:contiguous():view(a:numel()), b:contiguous():view(b:numel())
  for i = 1, a:numel() do m = math.max(m, math.abs(fa[i] - fb[i])) end
  return m
end

-- Relabels a label vector by order of first occurrence (1, 2, ...).
local function canonical(labels)
  local map, n, out = {}, 0, {}
  for i, v in ipairs(labels) do
    if not map[v] then n = n + 1; map[v] = n end
    out[i] = map[v]
  end
  return out
end

describe("cluster (SciPy fixture)", function()
  local fx = load_fixture()

  it("correlation distance matches numpy 1 - |corrcoef|", function()
    local d = C.corr_distance(fx.X)
    assert.is_true(maxdiff(d, fx.dist) < 1e-12, "maxdiff " .. maxdiff(d, fx.dist))
    -- float32 and strided input give the same matrix up to float precision
    local Xt = fx.X:t():contiguous():t()
    assert.is_true(maxdiff(C.corr_distance(Xt), fx.dist) < 1e-12)
    assert.is_true(maxdiff(C.corr_distance(fx.X:float()), fx.dist) < 1e-5)
  end)

  for _, m in ipairs { "ward", "average" } do
    it(m .. " linkage matches scipy.cluster.hierarchy.linkage", function()
      local Z, ref = C.linkage(fx.dist, m), fx["Z_" .. m]
      assert.are.same(ref:shape(), Z:shape())
      for i = 1, Z:size(1) do
        assert.are.equal(ref:get(i, 1), Z:get(i, 1), "row " .. i)
        assert.are.equal(ref:get(i, 2), Z:get(i, 2), "row " .. i)
        assert.are.equal(ref:get(i, 4), Z:get(i, 4), "row " .. i)
        assert.is_true(math.abs(ref:get(i, 3) - Z:get(i, 3)) < 1e-12, "height row " .. i)
      end
    end)

    it(m .. " maxclust cuts give SciPy's partitions and silhouettes", function()
      local Z = C.linkage(fx.dist, m)
      local labs, sils = fx["labels_" .. m], fx["sil_" .. m]
      for r = 1, labs:size(1) do
        local k = r + 1
        local mine = C.cut(Z, k):totable()
        assert.are.same(canonical(labs[r]:totable()), mine, "k = " .. k)
        local s = C.silhouette(fx.dist, C.cut(Z, k))
        assert.is_true(math.abs(s - sils[r]) < 1e-12, ("k=%d: %g vs %g"):format(k, s, sils[r]))
        -- scipy's own numbering gives the same silhouette (labels need not be canonical)
        assert.is_true(math.abs(C.silhouette(fx.dist, labs[r]) - sils[r]) < 1e-12)
      end
    end)
  end

  it("discover picks the k with the best silhouette and names categories", function()
    local names = {}
    for j = 1, fx.X:size(2) do names[j] = (j <= 7 and "summary_spectral_" or "temporal_energy_") .. j end
    local res = categories.discover(fx.X, names, { linkage = "average", k_min = 2, k_max = fx.kmax, min_features = 1 })
    -- min_features = 1 keeps every cluster, so each cut is scored by SciPy's partition's own
    -- silhouette (singletons 0); the best wins, ties to the smaller k
    local best, bk = -math.huge, nil
    local sils = fx.sil_average
    for r = 1, sils:size(1) do
      local k = r + 1
      if sils[r] > best then best, bk = sils[r], k end
      assert.is_true(math.abs(res.scores[k] - sils[r]) < 1e-12, "score at k = " .. k)
    end
    assert.are.equal(bk, res.k)
    assert.are.equal(bk, res.cut_k)
    assert.are.equal(bk, #res.categories)
    local all = {}
    for c, cat in ipairs(res.categories) do
      for i, j in ipairs(cat.columns) do
        all[#all + 1] = j
        assert.are.equal(c, res.labels[j])
        assert.are.equal(c, res.map[names[j]])
        assert.are.equal(names[j], cat.names[i])
      end
    end
    table.sort(all)
    assert.are.equal(fx.X:size(2), #all)
    for j = 1, #all do assert.are.equal(j, all[j]) end
    -- the first category holds column 1 (canonical order by smallest member)
    assert.are.equal(1, res.categories[1].columns[1])
    -- deterministic
    local again = categories.discover(fx.X, names, { linkage = "average", k_min = 2, k_max = fx.kmax, min_features = 1 })
    assert.are.same(res.labels:totable(), again.labels:totable())
  end)

  it("an outlier column does not hide the true groups (k is judged on the merged partition)", function()
    -- four groups of correlated columns (sizes 6, 5, 4, 4) and one independent column: every cut
    -- that separates the groups leaves the outlier as a singleton (the reference scored all of
    -- them -1 and fell back to k_min); after it joins its nearest group the four groups win
    local g = sl.Generator { seed = 77 }
    local N, sizes = 400, { 6, 5, 4, 4 }
    local cols, group_of = {}, {}
    local outlier_at = 9                         -- in the middle, so the order is not trivial
    local X = sl.zeros(N, 20)
    local j = 0
    for gi, sz in ipairs(sizes) do
      local base = g:normal({ N })
      for _ = 1, sz do
        j = j + 1
        if j == outlier_at then j = j + 1 end
        X:select(2, j):copy(base + g:normal({ N }) * 0.6)
        group_of[j] = gi
      end
    end
    X:select(2, outlier_at):copy(g:normal({ N }))
    for _, link in ipairs { "average", "ward" } do
      local res = categories.discover(X, nil, { linkage = link, k_min = 2, k_max = 10, min_features = 3 })
      assert.are.equal(4, res.k, link)
      assert.are.equal(5, res.cut_k, link)        -- the four groups plus the outlier's singleton
      assert.is_true(res.silhouette > 0.3, link .. " silhouette " .. res.silhouette)
      for _, cat in ipairs(res.categories) do
        local gset = {}
        for _, c in ipairs(cat.columns) do if c ~= outlier_at then gset[group_of[c]] = true end end
        local n = 0
        for _ in pairs(gset) do n = n + 1 end
        assert.are.equal(1, n, link .. ": a category mixes true groups")
      end
      assert.is_true(res.labels[outlier_at] >= 1)
    end
  end)

  it("small clusters join the nearest kept category", function()
    local res = categories.discover(fx.X, nil, { linkage = "ward", k_min = 5, k_max = 5, min_features = 3 })
    for _, cat in ipairs(res.categories) do assert.is_true(#cat.columns >= 3) end
    assert.are.equal(fx.X:size(2), res.labels:numel())
    assert.is_true(res.labels:min() >= 1)
  end)
end)

describe("cluster helpers", function()
  it("names categories from the dominant prefix", function()
    assert.are.equal("summary_spectral", categories.name_for { "summary_spectral_a", "summary_spectral_b", "temporal_x_c" })
    assert.are.equal("summary", categories.name_for { "summary_a_1", "summary_b_1", "summary_c_1", "temporal_x" })
    assert.are.equal("mixed", categories.name_for { "a_b", "c_d", "e_f" })
  end)

  it("linkage heights are non-decreasing and sizes add up (random data)", function()
    local g = sl.Generator(5)
    local X = g:normal({ 50, 30 }, 0, 1, "float64")
    for _, m in ipairs { "ward", "average", "complete", "single" } do
      local Z = C.linkage(C.corr_distance(X), m)
      assert.are.equal(30, Z:get(29, 4))
      for i = 2, 29 do assert.is_true(Z:get(i, 3) >= Z:get(i - 1, 3) - 1e-12, m) end
    end
  end)

  it("single linkage equals a naive minimum-spanning merge on a tiny example", function()
    -- points on a line at 0, 1, 3, 7: single-linkage heights 1, 2, 4
    local x = { 0, 1, 3, 7 }
    local d = sl.zeros({ 4, 4 }, "float64")
    for i = 1, 4 do for j = 1, 4 do d:set(math.abs(x[i] - x[j]), i, j) end end
    local Z = C.linkage(d, "single")
    assert.are.same({ { 0, 1, 1, 2 }, { 2, 4, 2, 3 }, { 3, 5, 4, 4 } }, Z:totable())
    assert.are.same({ 1, 1, 1, 2 }, C.cut(Z, 2):totable())
    assert.are.same({ 1, 2, 3, 4 }, C.cut(Z, 9):totable())
  end)

  it("nanquantile matches a naive per-column loop (numpy linear rule)", function()
    local NaN = 0 / 0
    local X = sl.tensor({ { 1, NaN, 5 }, { 3, 2, NaN }, { 2, 8, NaN }, { NaN, 4, NaN } }, "float32")
    local q = C.nanquantile(X, { 0.5, 0.25 })
    -- col 1: {1,2,3} → median 2, q25 1.5; col 2: {2,4,8} → 4, 3; col 3: {5} → 5, 5
    assert.are.same({ { 2, 4, 5 }, { 1.5, 3, 5 } }, q:totable())
    local all = C.nanquantile(sl.tensor({ { NaN }, { NaN } }), 0.5)
    assert.is_true(all[1] ~= all[1])
    -- many values with ties, several q, against a sorted copy
    local g = sl.Generator(8)
    local R = g:uniform({ 501, 3 }, 0, 20):floor()
    for i = 1, 501, 9 do R:set(NaN, i, 2) end
    local qs = { 0, 0.1, 0.25, 0.5, 0.77, 1 }
    local got = C.nanquantile(R, qs)
    for j = 1, 3 do
      local v = {}
      for i = 1, 501 do local x = R:get(i, j); if x == x then v[#v + 1] = x end end
      table.sort(v)
      for k, qq in ipairs(qs) do
        local pos = qq * (#v - 1)
        local lo = math.floor(pos)
        local hi = math.min(lo + 1, #v - 1)
        local want = v[lo + 1] + (v[hi + 1] - v[lo + 1]) * (pos - lo)
        assert.is_true(math.abs(got:get(k, j) - want) < 1e-12, ("q=%g col %d"):format(qq, j))
      end
    end
    -- strided input
    local Xt = X:t():contiguous():t()
    assert.are.same(q:totable(), C.nanquantile(Xt, { 0.5, 0.25 }):totable())
  end)

  it("select_columns gathers columns (table or tensor indices, strided input)", function()
    local X = sl.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    assert.are.same({ { 3, 1 }, { 6, 4 } }, C.select_columns(X, { 3, 1 }):totable())
    assert.are.same({ { 2, 2 }, { 5, 5 } }, C.select_columns(X, sl.tensor({ 2, 2 }, "int64")):totable())
    assert.are.same({ { 4, 5, 6 } }, C.select_columns(X:t(), { 2 }):t():totable())
    assert.has_error(function() C.select_columns(X, { 4 }) end,
      "select_columns: column 4 is outside the matrix's 3 columns")
  end)

  it("rejects bad input with clear messages", function()
    assert.has_error(function() C.linkage(sl.zeros(3, 2), "ward") end)
    local ok, err = pcall(C.linkage, sl.zeros(3, 3), "median")
    assert.is_false(ok); assert.truthy(err:find("linkage method must be", 1, true))
    local d = sl.tensor({ { 0, 1 }, { 2, 0 } }, "float64")
    ok, err = pcall(C.linkage, d)
    assert.is_false(ok); assert.truthy(err:find("not symmetric", 1, true))
    ok, err = pcall(C.silhouette, sl.zeros(3, 3), sl.tensor({ 1, 1, 1 }, "int64"))
    assert.is_false(ok); assert.truthy(err:find("needs between 2", 1, true))
    ok, err = pcall(C.cut, sl.zeros(3, 3), 2)
    assert.is_false(ok); assert.truthy(err:find("linkage matrix", 1, true))
    ok, err = pcall(categories.discover, sl.zeros(4, 4), nil, { bogus = 1 })
    assert.is_false(ok); assert.truthy(err:find("unknown option 'bogus'", 1, true))
  end)
end)
