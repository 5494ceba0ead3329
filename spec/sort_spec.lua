-- Sort module (engine/core/sort.c via engine/lua/l_sort.c): sort, argsort, topk, quantile,
-- median, cumsum, cumprod, histc and bincount against naive Lua references on contiguous and
-- strided inputs, plus stability, NaN placement, the median/quantile conventions, histogram
-- edges and error messages.
local sl = require "spinlock"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local NaN = 0 / 0
local function isnan(x) return x ~= x end

local function data(shape, dtype, f)
  return SH.filled(shape, dtype, f or function(i) return (((i * 37) % 11) - 5) / 2 end)   -- many ties
end

local function inputs(dtype)
  local base = data({ 3, 4, 5 }, dtype)
  return {
    contiguous = base,
    transposed = base:transpose(1, 3),
    narrowed = base:narrow(3, 2, 3),
    permuted = data({ 4, 3, 6 }, dtype):permute(2, 3, 1):narrow(2, 2, 4),
  }
end

-- The lines of t along dim d (1-based): list of { idx = multi-index with idx[d] = 1, v = values }.
local function lines(t, d)
  local shape, nd = t:shape(), t:dim()
  d = d < 0 and nd + d + 1 or d
  local out, idx = {}, {}
  for k = 1, nd do idx[k] = 1 end
  local function rec(k)
    if k > nd then
      local v, at = {}, { unpack(idx) }
      for j = 1, shape[d] do at[d] = j; v[j] = t:get(unpack(at)) end
      out[#out + 1] = { idx = { unpack(idx) }, v = v }
      return
    end
    if k == d then idx[k] = 1; return rec(k + 1) end
    for j = 1, shape[k] do idx[k] = j; rec(k + 1) end
  end
  rec(1)
  return out, d
end

-- Reads line `ln` (from lines()) of tensor r along dim d, k entries.
local function read_line(r, ln, d, k)
  local at, v = { unpack(ln.idx) }, {}
  for j = 1, k do at[d] = j; v[j] = r:get(unpack(at)) end
  return v
end

-- Stable insertion sort of positions by value; NaN is larger than everything.
local function ref_order(v, descending)
  local function before(a, b)   -- strictly before
    if descending then return (a > b) or (isnan(a) and not isnan(b)) end
    return (a < b) or (isnan(b) and not isnan(a))
  end
  local p = {}
  for i = 1, #v do
    local j = i
    while j > 1 and before(v[i], v[p[j - 1]]) do p[j] = p[j - 1]; j = j - 1 end
    p[j] = i
  end
  return p
end

local function same_values(a, b, what)
  assert.are.equal(#b, #a, what .. ": length")
  for i = 1, #b do
    if not (a[i] == b[i] or (isnan(a[i]) and isnan(b[i]))) then
      error(string.format("%s: entry %d is %s, expected %s", what, i, tostring(a[i]), tostring(b[i])), 2)
    end
  end
end

local function close(a, b, tol)
  if isnan(a) or isnan(b) then return isnan(a) and isnan(b) end
  return math.abs(a - b) <= tol * math.max(1, math.abs(b))
end

describe("sort, argsort, topk against a naive stable sort", function()
  for _, dtype in ipairs({ "float32", "float64", "int32", "int64", "uint8" }) do
    it("sort both ways, every layout and dim (" .. dtype .. ")", function()
      for lname, t in pairs(inputs(dtype)) do
        for _, dim in ipairs({ 1, 2, 3, -1 }) do
          for _, desc in ipairs({ false, true }) do
            local v, i = t:sort(dim, desc)
            assert.are.equal(dtype, v:dtype())
            assert.are.equal("int64", i:dtype())
            assert.are.same(t:shape(), v:shape())
            local a = t:argsort(dim, desc)
            local ls, d = lines(t, dim)
            for n, ln in ipairs(ls) do
              local p = ref_order(ln.v, desc)
              local want = {}
              for j = 1, #p do want[j] = ln.v[p[j]] end
              local what = string.format("%s dim=%d desc=%s line %d", lname, dim, tostring(desc), n)
              same_values(read_line(v, ln, d, #p), want, "values " .. what)
              assert.are.same(p, read_line(i, ln, d, #p), "indices " .. what)
              assert.are.same(p, read_line(a, ln, d, #p), "argsort " .. what)
            end
          end
        end
      end
    end)
  end

  it("topk: k largest / smallest, sorted, for every k", function()
    for lname, t in pairs(inputs("float32")) do
      for _, dim in ipairs({ 1, -1 }) do
        local ls, d = lines(t, dim)
        for k = 0, t:size(d) do
          for _, largest in ipairs({ true, false }) do
            local v, i = t:topk(k, dim, largest)
            local shape = t:shape(); shape[d] = k
            assert.are.same(shape, v:shape())
            for n, ln in ipairs(ls) do
              local p = ref_order(ln.v, largest)
              local wi, wv = {}, {}
              for j = 1, k do wi[j] = p[j]; wv[j] = ln.v[p[j]] end
              local what = string.format("%s dim=%d k=%d largest=%s line %d", lname, dim, k, tostring(largest), n)
              same_values(read_line(v, ln, d, k), wv, "topk values " .. what)
              assert.are.same(wi, read_line(i, ln, d, k), "topk indices " .. what)
            end
          end
        end
      end
    end
  end)

  it("is stable for ties in both directions", function()
    local t = sl.tensor({ 2, 1, 2, 1 })
    local v, i = t:sort()
    assert.are.same({ 1, 1, 2, 2 }, v:tolist())
    assert.are.same({ 2, 4, 1, 3 }, i:tolist())
    v, i = t:sort(1, true)
    assert.are.same({ 2, 2, 1, 1 }, v:tolist())
    assert.are.same({ 1, 3, 2, 4 }, i:tolist())
    assert.are.same({ 1, 3, 2, 4 }, t:argsort(true):tolist())
    -- -0.0 and 0.0 are equal: their order is kept
    local _, zi = sl.tensor({ 0.0, -0.0, 0.0 }):sort()
    assert.are.same({ 1, 2, 3 }, zi:tolist())
    -- long runs exercise the merge path (lines longer than the insertion-sort cutoff)
    local long = data({ 1000 }, "float32", function(k) return k % 3 end)
    local _, li = long:sort()
    local li_t = li:tolist()
    for j = 2, #li_t do
      local a, b = long[li_t[j - 1]], long[li_t[j]]
      assert.is_true(a < b or (a == b and li_t[j - 1] < li_t[j]))
    end
  end)

  it("puts NaN last ascending and first descending (NaN is largest)", function()
    local t = sl.tensor({ 3, NaN, 1, NaN, 2 })
    local v, i = t:sort()
    local vl = v:tolist()
    assert.are.same({ 1, 2, 3 }, { vl[1], vl[2], vl[3] })
    assert.is_true(isnan(vl[4]) and isnan(vl[5]))
    assert.are.same({ 3, 5, 1, 2, 4 }, i:tolist())
    v, i = t:sort(1, true)
    vl = v:tolist()
    assert.is_true(isnan(vl[1]) and isnan(vl[2]))
    assert.are.same({ 2, 4, 1, 5, 3 }, i:tolist())
    local _, ti = t:topk(2)
    assert.are.same({ 2, 4 }, ti:tolist())
    local tv = t:topk(2, 1, false)
    assert.are.same({ 1, 2 }, tv:tolist())
  end)

  it("sorts int64 values beyond 2^53 exactly and handles infinities", function()
    local big = 2 ^ 60
    local t = sl.tensor({ big, -big, 5, 0 }, "int64")
    local _, i = t:sort()
    assert.are.same({ 2, 4, 3, 1 }, i:tolist())
    local f = sl.tensor({ math.huge, -math.huge, 0, NaN, -1 })
    local _, fi = f:sort()
    assert.are.same({ 2, 5, 3, 1, 4 }, fi:tolist())
  end)

  it("module functions mirror the methods", function()
    local t = data({ 4, 5 })
    local v1, i1 = t:sort(2)
    local v2, i2 = sl.sort(t, 2)
    assert.are.same(v1:tolist(), v2:tolist())
    assert.are.same(i1:tolist(), i2:tolist())
    assert.are.same(t:cumsum(1):tolist(), sl.cumsum(t, 1):tolist())
  end)
end)

-- torch's quantile: linear interpolation at rank q (n - 1) of the sorted values.
local function ref_quantile(v, q)
  local s = {}
  for j, p in ipairs(ref_order(v)) do s[j] = v[p] end
  for _, x in ipairs(s) do if isnan(x) then return NaN end end
  local pos = q * (#s - 1)
  local lo = math.floor(pos)
  local hi = math.min(lo + 1, #s - 1)
  return s[lo + 1] + (pos - lo) * (s[hi + 1] - s[lo + 1])
end

describe("quantile and median", function()
  it("hand-computed conventions", function()
    local t = sl.tensor({ 1, 2, 3, 4 })
    assert.are.equal(1.75, t:quantile(0.25))
    assert.are.equal(2.5, t:quantile(0.5))
    assert.are.equal(1, t:quantile(0))
    assert.are.equal(4, t:quantile(1))
    assert.are.equal(2, t:median())                 -- lower median
    assert.are.equal(2, sl.tensor({ 3, 1, 2 }):median())
    local v, i = sl.tensor({ { 4, 1, 3, 2 }, { 9, 9, 7, 8 } }):median(2)
    assert.are.same({ 2, 8 }, v:tolist())
    assert.are.same({ 4, 4 }, i:tolist())
    assert.are.same({ 1.75, 2.5, 3.25 }, t:quantile({ 0.25, 0.5, 0.75 }):tolist())
    assert.are.same({ 1.75, 3.25 }, t:quantile(sl.tensor({ 0.25, 0.75 }, "float64")):tolist())
  end)

  it("quantile along dims against the reference, with shapes and keepdim", function()
    local qs = { 0, 0.1, 0.25, 0.5, 0.9, 1 }
    for lname, t in pairs(inputs("float64")) do
      for _, dim in ipairs({ 1, 2, -1 }) do
        local ls, d = lines(t, dim)
        local r = t:quantile(qs, dim)
        local rk = t:quantile(0.3, dim, true)
        local shape = t:shape(); table.remove(shape, d); table.insert(shape, 1, #qs)
        assert.are.same(shape, r:shape())
        local kshape = t:shape(); kshape[d] = 1
        assert.are.same(kshape, rk:shape())
        local rl, rkl = r:view(r:numel()):tolist(), rk:view(rk:numel()):tolist()
        for n, ln in ipairs(ls) do
          for j, q in ipairs(qs) do
            local got, want = rl[(j - 1) * #ls + n], ref_quantile(ln.v, q)
            assert(close(got, want, 1e-12), string.format("%s dim=%d q=%g line %d: %g vs %g", lname, dim, q, n, got, want))
          end
          assert(close(rkl[n], ref_quantile(ln.v, 0.3), 1e-12), lname .. " keepdim")
        end
      end
      -- over the whole tensor
      local all = {}
      for k, x in ipairs(t:contiguous():view(t:numel()):tolist()) do all[k] = x end
      assert.is_true(close(t:quantile(0.37), ref_quantile(all, 0.37), 1e-12))
      assert.are.same({ 2 }, t:quantile({ 0.2, 0.8 }):shape())
      assert.are.same({ 1, 1, 1 }, t:quantile(0.5, nil, true):shape())
    end
  end)

  it("median along dims: lower median and its index, on every layout", function()
    for lname, t in pairs(inputs("float32")) do
      for _, dim in ipairs({ 1, 2, 3 }) do
        local ls, d = lines(t, dim)
        local v, i = t:median(dim)
        local vk = t:median(dim, true)
        local shape = t:shape(); table.remove(shape, d)
        assert.are.same(shape, v:shape())
        local vl, il = v:view(v:numel()):tolist(), i:view(i:numel()):tolist()
        for n, ln in ipairs(ls) do
          local p = ref_order(ln.v)
          local m = p[math.floor((#p - 1) / 2) + 1]
          assert.are.equal(ln.v[m], vl[n], lname .. " median value")
          assert.are.equal(m, il[n], lname .. " median index")
        end
        assert.are.equal(1, vk:size(d))
      end
      local all = t:contiguous():view(t:numel()):tolist()
      table.sort(all)
      assert.are.equal(all[math.floor((#all - 1) / 2) + 1], t:median())
    end
  end)

  it("NaN in a slice makes its median and quantiles NaN", function()
    local t = sl.tensor({ { 1, NaN, 3, NaN }, { 4, 5, 6, 7 } })
    local v, i = t:median(2)
    assert.is_true(isnan(v:tolist()[1]))
    assert.are.equal(5, v:tolist()[2])
    assert.are.same({ 2, 2 }, i:tolist())
    local q = t:quantile(0.5, 2):tolist()
    assert.is_true(isnan(q[1]))
    assert.are.equal(5.5, q[2])
    assert.is_true(isnan(t:median()))
  end)

  it("integer inputs give float32 quantiles", function()
    local q = sl.tensor({ 1, 2, 3, 4 }, "int32"):quantile({ 0.25 })
    assert.are.equal("float32", q:dtype())
    assert.are.same({ 1.75 }, q:tolist())
    assert.are.equal(2, sl.tensor({ 4, 1, 3, 2 }, "int64"):median())
  end)
end)

describe("cumsum and cumprod", function()
  it("match a naive running sum/product on every layout and dim", function()
    for _, dtype in ipairs({ "float32", "float64", "int32" }) do
      for lname, t in pairs(inputs(dtype)) do
        for _, dim in ipairs({ 1, 2, 3, -1 }) do
          local cs, cp = t:cumsum(dim), t:cumprod(dim)
          local odt = dtype == "int32" and "int64" or dtype
          assert.are.equal(odt, cs:dtype())
          assert.are.same(t:shape(), cs:shape())
          local ls, d = lines(t, dim)
          for n, ln in ipairs(ls) do
            local s, p, ws, wp = 0, 1, {}, {}
            for j, x in ipairs(ln.v) do s = s + x; p = p * x; ws[j] = s; wp[j] = p end
            local gs, gp = read_line(cs, ln, d, #ws), read_line(cp, ln, d, #wp)
            for j = 1, #ws do
              assert(close(gs[j], ws[j], 1e-6), string.format("cumsum %s %s dim=%d line %d", dtype, lname, dim, n))
              assert(close(gp[j], wp[j], 1e-6), string.format("cumprod %s %s dim=%d line %d", dtype, lname, dim, n))
            end
          end
        end
      end
    end
  end)

  it("accumulate float32 in double and take a 1-d tensor without dim", function()
    local t = sl.full({ 5 }, 0.1)
    local want, s = {}, 0
    for j = 1, 5 do s = s + t[1]; want[j] = s end
    local got = t:cumsum():tolist()
    for j = 1, 5 do assert.are.equal(sl.tensor({ want[j] })[1], got[j]) end
    assert.are.same({ 1, 2, 6, 24 }, sl.tensor({ 1, 2, 3, 4 }):cumprod():tolist())
  end)
end)

describe("histc and bincount", function()
  local function ref_histc(v, bins, lo, hi)
    local c = {}
    for b = 1, bins do c[b] = 0 end
    for _, x in ipairs(v) do
      if x >= lo and x <= hi then
        local b = math.floor((x - lo) / (hi - lo) * bins) + 1
        if b > bins then b = bins end
        c[b] = c[b] + 1
      end
    end
    return c
  end

  it("counts like a naive loop on contiguous and strided inputs", function()
    for lname, t in pairs(inputs("float32")) do
      local all = {}
      local flat = t:contiguous():view(t:numel())
      for k = 1, t:numel() do all[k] = flat[k] end
      for _, cfg in ipairs({ { 7, -2, 2 }, { 1, -3, 3 }, { 10, 0, 1.25 } }) do
        local h = sl.histc(t, cfg[1], cfg[2], cfg[3])
        assert.are.same({ cfg[1] }, h:shape())
        assert.are.same(ref_histc(all, cfg[1], cfg[2], cfg[3]), h:tolist(), lname)
      end
      assert.are.same(t:histc(5, -1, 1):tolist(), sl.histc(t, 5, -1, 1):tolist())
    end
  end)

  it("puts max in the last bin, ignores values outside and NaN", function()
    local t = sl.tensor({ 0, 0.5, 1, 1.5, 2, 2.5, -0.1, NaN })
    assert.are.same({ 1, 1, 1, 2 }, sl.histc(t, 4, 0, 2):tolist())   -- 2 == max joins 1.5
    assert.are.same({ 2, 1, 2 }, sl.histc(sl.tensor({ 1, 2, 3, 4, 5 }), 3, 1, 5):tolist())
    assert.are.equal("float64", sl.histc(sl.tensor({ 1 }, "float64"), 2, 0, 1):dtype())
    assert.are.equal("float32", sl.histc(sl.tensor({ 1 }, "int32"), 2, 0, 1):dtype())
  end)

  it("min == max uses the data range (widened when constant)", function()
    local t = sl.tensor({ 1, 2, 3, 4, NaN })
    assert.are.same({ 2, 2 }, sl.histc(t, 2):tolist())
    assert.are.same(100, sl.histc(t):size(1))
    assert.are.same({ 0, 3, 0 }, sl.histc(sl.tensor({ 5, 5, 5 }), 3):tolist())   -- [4, 6]
  end)

  it("bincount counts values and sums weights", function()
    local x = sl.tensor({ 0, 1, 1, 3, 1 }, "int64")
    local c = sl.bincount(x)
    assert.are.equal("int64", c:dtype())
    assert.are.same({ 1, 3, 0, 1 }, c:tolist())
    assert.are.same({ 1, 3, 0, 1, 0, 0 }, x:bincount(nil, 6):tolist())
    local w = sl.bincount(x, sl.tensor({ 0.5, 1, 2, 4, 8 }))
    assert.are.equal("float32", w:dtype())
    assert.are.same({ 0.5, 11, 0, 4 }, w:tolist())
    assert.are.same({ 0, 0 }, sl.bincount(sl.zeros({ 0 }, "int32"), nil, 2):tolist())
  end)
end)

describe("sort module errors", function()
  local t = sl.zeros(2, 3)
  local function err_of(f) local ok, e = pcall(f); assert.is_false(ok); return e end
  it("name the dim and the tensor's ndim", function()
    assert.matches("dimension 3 out of range for a 2-d tensor", err_of(function() return t:sort(3) end), 1, true)
    assert.matches("dimension -3 out of range for a 2-d tensor", err_of(function() return t:cumsum(-3) end), 1, true)
    assert.matches("dimension 5 out of range for a 2-d tensor", err_of(function() return t:median(5) end), 1, true)
    assert.matches("dimension 0 out of range for a 2-d tensor", err_of(function() return t:quantile(0.5, 0) end), 1, true)
    assert.matches("cumsum: dim is required for a 2-d tensor", err_of(function() return t:cumsum() end), 1, true)
  end)
  it("check k, q, bins and bincount inputs", function()
    assert.matches("topk: k = 4 is outside [0, 3]", err_of(function() return t:topk(4) end), 1, true)
    assert.matches("topk: k = -1 is outside", err_of(function() return t:topk(-1) end), 1, true)
    assert.matches("quantile: q must be in [0, 1], got 1.5", err_of(function() return t:quantile(1.5) end), 1, true)
    assert.matches("quantile: q is empty", err_of(function() return t:quantile({}) end), 1, true)
    assert.matches("quantile: cannot take quantiles of an empty slice", err_of(function() return sl.zeros(0):quantile(0.5) end), 1, true)
    assert.matches("median: cannot take the median of an empty slice", err_of(function() return sl.zeros(0):median() end), 1, true)
    assert.matches("histc: bins must be >= 1, got 0", err_of(function() return sl.histc(t, 0) end), 1, true)
    assert.matches("histc: expected finite min <= max, got min = 2, max = 1", err_of(function() return sl.histc(t, 3, 2, 1) end), 1, true)
    assert.matches("bincount: expected a 1-d integer tensor, got a 2-d float32 tensor", err_of(function() return sl.bincount(t) end), 1, true)
    assert.matches("bincount: values must be non-negative, found -2",
      err_of(function() return sl.bincount(sl.tensor({ 1, -2 }, "int32")) end), 1, true)
  end)
end)
