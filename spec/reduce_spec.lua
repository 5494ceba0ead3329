-- Reductions (engine/core/reduce.c via engine/lua/l_reduce.c): every op against a naive Lua loop
-- on contiguous and strided inputs over several dim sets, plus hand-computed values, NaN rules,
-- integer dtypes, the blocked (multi-task) path, thread-count independence and error messages.
local sl = require "spinlock"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local NaN = 0 / 0
local function isnan(x) return x ~= x end

-- Deterministic test data with repeated values (ties) and both signs.
local function data(shape, dtype, f)
  return SH.filled(shape, dtype, f or function(i) return (((i * 37) % 23) - 11) / 4 end)
end

local indices = SH.indices   -- row-major multi-indices of a shape (1-based)

-- Naive reduction: groups t's elements by their kept-dim index (values in row-major order of the
-- reduced dims) and applies fn(list) -> number.  dims: nil (all), a number or a table (1-based,
-- negative from the end).  Returns the expected shape and flat row-major results.
local function naive(t, dims, keepdim, fn)
  local shape, nd = t:shape(), t:dim()
  local red = {}
  if dims == nil then for d = 1, nd do red[d] = true end
  else
    for _, d in ipairs(type(dims) == "table" and dims or { dims }) do red[d < 0 and nd + d + 1 or d] = true end
  end
  local oshape = {}
  for d = 1, nd do
    if not red[d] then oshape[#oshape + 1] = shape[d] elseif keepdim then oshape[#oshape + 1] = 1 end
  end
  local groups, order = {}, {}
  for _, idx in ipairs(indices(shape)) do
    local key = {}
    for d = 1, nd do if not red[d] then key[#key + 1] = idx[d] end end
    key = table.concat(key, ",")
    if not groups[key] then groups[key] = {}; order[#order + 1] = key end
    table.insert(groups[key], t:get(unpack(idx)))
  end
  local res = {}
  for i, key in ipairs(order) do res[i] = fn(groups[key]) end
  return oshape, res
end

local ref = {}
function ref.sum(x) local s = 0; for _, v in ipairs(x) do s = s + v end; return s end
function ref.mean(x) return ref.sum(x) / #x end
function ref.var(x, unbiased)
  local m, s = ref.mean(x), 0
  for _, v in ipairs(x) do s = s + (v - m) ^ 2 end
  return s / (#x - (unbiased and 1 or 0))
end
function ref.prod(x) local s = 1; for _, v in ipairs(x) do s = s * v end; return s end
function ref.max(x) local m = x[1]; for _, v in ipairs(x) do if v > m then m = v end end; return m end
function ref.min(x) local m = x[1]; for _, v in ipairs(x) do if v < m then m = v end end; return m end
function ref.argmax(x) local m, at = x[1], 1; for i, v in ipairs(x) do if v > m then m, at = v, i end end; return at end
function ref.argmin(x) local m, at = x[1], 1; for i, v in ipairs(x) do if v < m then m, at = v, i end end; return at end
function ref.norm(x, p)
  if p == math.huge then local m = 0; for _, v in ipairs(x) do m = math.max(m, math.abs(v)) end; return m end
  local s = 0; for _, v in ipairs(x) do s = s + math.abs(v) ^ p end; return s ^ (1 / p)
end
function ref.logsumexp(x) local s = 0; for _, v in ipairs(x) do s = s + math.exp(v) end; return math.log(s) end

local function close(a, b, tol)
  if isnan(a) or isnan(b) then return isnan(a) and isnan(b) end
  return math.abs(a - b) <= tol * math.max(1, math.abs(b))
end

-- Checks a result (tensor or number) against the naive reference.
local function check(got, t, dims, keepdim, fn, tol, what)
  local oshape, want = naive(t, dims, keepdim, fn)
  if type(got) == "number" then
    assert(dims == nil and not keepdim, what .. ": got a number for a partial reduction")
    got = sl.tensor({ got }, "float64"):view({})
  end
  assert.are.same(oshape, got:shape(), what .. ": shape")
  local g = got:tolist()
  for i = 1, #want do
    if not close(g[i], want[i], tol) then
      error(string.format("%s: element %d is %.9g, expected %.9g", what, i, g[i], want[i]), 2)
    end
  end
end

-- The inputs each op runs on: contiguous, transposed, narrowed and permuted views.
local function inputs(dtype)
  local base = data({ 3, 4, 5 }, dtype)
  return {
    contiguous = base,
    transposed = base:transpose(1, 3),               -- [5,4,3], no unit stride last
    narrowed = base:narrow(2, 2, 2),                 -- [3,2,5], gaps between rows
    permuted = data({ 4, 3, 6 }, dtype):permute(2, 3, 1):narrow(2, 2, 4),   -- [3,4,4]
  }
end

local dimsets = { false, 1, -1, 2, { 1, 3 }, { -1, -2 }, { 3, 1 }, { 1, 2, 3 } }
local function dimname(d) return d == false and "all" or type(d) == "table" and "{" .. table.concat(d, ",") .. "}" or tostring(d) end

describe("reductions against a naive loop", function()
  local cases = {
    { "sum", function(t, d, k) return t:sum(d, k) end, ref.sum },
    { "mean", function(t, d, k) return t:mean(d, k) end, ref.mean },
    { "var unbiased", function(t, d, k) return t:var(d, true, k) end, function(x) return ref.var(x, true) end },
    { "var biased", function(t, d, k) return t:var(d, false, k) end, function(x) return ref.var(x, false) end },
    { "std", function(t, d, k) return t:std(d, nil, k) end, function(x) return math.sqrt(ref.var(x, true)) end },
    { "prod", function(t, d, k) return t:prod(d, k) end, ref.prod },
    { "amax", function(t, d, k) return t:amax(d, k) end, ref.max },
    { "amin", function(t, d, k) return t:amin(d, k) end, ref.min },
    { "norm 1", function(t, d, k) return t:norm(1, d, k) end, function(x) return ref.norm(x, 1) end },
    { "norm 2", function(t, d, k) return t:norm(2, d, k) end, function(x) return ref.norm(x, 2) end },
    { "norm 3", function(t, d, k) return t:norm(3, d, k) end, function(x) return ref.norm(x, 3) end },
    { "norm inf", function(t, d, k) return t:norm("inf", d, k) end, function(x) return ref.norm(x, math.huge) end },
    { "logsumexp", function(t, d, k) return t:logsumexp(d, k) end, ref.logsumexp },
    { "nansum", function(t, d, k) return t:nansum(d, k) end, ref.sum },
    { "nanmean", function(t, d, k) return t:nanmean(d, k) end, ref.mean },
  }
  for _, dtype in ipairs({ "float32", "float64" }) do
    local tol = dtype == "float32" and 2e-6 or 1e-12
    for _, c in ipairs(cases) do
      it(c[1] .. " (" .. dtype .. ", every layout, dim set and keepdim)", function()
        for lname, t in pairs(inputs(dtype)) do
          for _, d in ipairs(dimsets) do
            for _, keep in ipairs({ false, true }) do
              local dims = d or nil
              local got = c[2](t, dims, keep)
              if got ~= nil and type(got) ~= "number" then assert.are.equal(dtype, got:dtype()) end
              check(got, t, dims, keep, c[3], tol, string.format("%s %s dims=%s keepdim=%s", c[1], lname, dimname(d), tostring(keep)))
            end
          end
        end
      end)
    end
  end

  it("max/min with a dim return values and 1-based first-occurrence indices", function()
    for lname, t in pairs(inputs("float32")) do
      for _, d in ipairs({ 1, 2, 3, -1 }) do
        for _, keep in ipairs({ false, true }) do
          local what = string.format("%s dim=%d keepdim=%s", lname, d, tostring(keep))
          local v, i = t:max(d, keep)
          check(v, t, d, keep, ref.max, 0, "max values " .. what)
          check(i, t, d, keep, ref.argmax, 0, "max indices " .. what)
          assert.are.equal("int64", i:dtype())
          v, i = t:min(d, keep)
          check(v, t, d, keep, ref.min, 0, "min values " .. what)
          check(i, t, d, keep, ref.argmin, 0, "min indices " .. what)
          check(t:argmax(d, keep), t, d, keep, ref.argmax, 0, "argmax " .. what)
          check(t:argmin(d, keep), t, d, keep, ref.argmin, 0, "argmin " .. what)
        end
      end
      -- whole tensor: a number, and a flat row-major 1-based index
      check(t:max(), t, nil, false, ref.max, 0, "max all " .. lname)
      check(t:min(), t, nil, false, ref.min, 0, "min all " .. lname)
      check(t:argmax(), t, nil, false, ref.argmax, 0, "argmax all " .. lname)
      check(t:argmin(), t, nil, false, ref.argmin, 0, "argmin all " .. lname)
    end
  end)

  it("module functions mirror the methods", function()
    local t = data({ 3, 4 })
    assert.are.equal(t:sum(), sl.sum(t))
    assert.are.same(t:mean(2):tolist(), sl.mean(t, 2):tolist())
    local v, i = sl.max(t, 1)
    assert.are.same(t:amax(1):tolist(), v:tolist())
    assert.are.same(t:argmax(1):tolist(), i:tolist())
  end)
end)

describe("reduction values by hand", function()
  it("var/std biased vs unbiased", function()
    local t = sl.tensor({ 1, 2, 3, 4 })
    assert.is_true(close(t:var(), 5 / 3, 1e-7))
    assert.is_true(close(t:var(nil, true), 5 / 3, 1e-7))
    assert.are.equal(1.25, t:var(false))           -- torch's t.var(unbiased=False) shorthand
    assert.are.equal(1.25, t:var(1, false):item())
    assert.is_true(close(t:std(), math.sqrt(5 / 3), 1e-7))
    assert.is_true(close(t:std(false), math.sqrt(1.25), 1e-7))
    assert.is_true(isnan(sl.tensor({ 7 }):var()))  -- n - 1 = 0
    assert.are.equal(0, sl.tensor({ 7 }):var(false))
  end)

  it("var/std take an options table {unbiased=, keepdim=}", function()
    local t = sl.tensor({ { 1, 2, 3, 4 }, { 2, 2, 2, 2 } })
    assert.are.same({ 1.25, 0 }, t:var(2, { unbiased = false }):totable())
    assert.is_true(close(t:var(2, {}):totable()[1], 5 / 3, 1e-7))  -- {} as flags: the defaults
    assert.are.same({ { 1.25 }, { 0 } }, t:var(2, { unbiased = false, keepdim = true }):totable())
    assert.is_true(close(t:std(2, { keepdim = true }):totable()[1][1], math.sqrt(5 / 3), 1e-7))
    assert.are.equal(t:var(false), t:var({ unbiased = false }))
    assert.are.equal(t:std(nil, false), sl.std(t, { unbiased = false }))
    assert.has_error(function() t:var(2, { unbias = false }) end,
      "var: unknown option 'unbias' (the options are unbiased and keepdim)")
    assert.has_error(function() t:var(2, { unbiased = false }, true) end,
      "var: give the flags either as an options table or as arguments, not both")
    assert.has_error(function() t:std(2, "no") end,
      "std: unbiased must be a boolean or an options table {unbiased=, keepdim=}, got string")
  end)

  it("var stays accurate with a large mean (two-pass in double)", function()
    local t = sl.tensor({ 1e4 + 1, 1e4 + 2, 1e4 + 3, 1e4 + 4 })
    assert.are.equal(1.25, t:var(false))
  end)

  it("full reductions return Lua numbers; keepdim without dims keeps every dim as 1", function()
    local t = sl.tensor({ { 1, 2 }, { 3, 4 } })
    assert.are.equal(10, t:sum())
    assert.are.equal(2.5, t:mean())
    assert.are.equal(24, t:prod())
    assert.are.equal(4, t:max())
    assert.are.equal(1, t:min())
    assert.are.equal(4, t:argmax())
    assert.are.equal(1, t:argmin())
    assert.are.same({ { 10 } }, t:sum(nil, true):totable())
    assert.are.same({ 1, 1 }, t:argmax(nil, true):shape())
    assert.is_true(close(t:norm(), math.sqrt(30), 1e-12))
    assert.is_true(close(t:logsumexp(), math.log(math.exp(1) + math.exp(2) + math.exp(3) + math.exp(4)), 1e-12))
    assert.are.same({ 3, 7 }, t:sum(2):tolist())
    assert.are.same({ { 3 }, { 7 } }, t:sum(-1, true):totable())
    assert.are.same({}, t:sum({ 1, 2 }):shape())   -- a 0-d tensor when dims are given
  end)

  it("logsumexp does not overflow and handles infinities", function()
    local t = sl.tensor({ 1000, 1000 }, "float64")
    assert.is_true(close(t:logsumexp(), 1000 + math.log(2), 1e-12))
    assert.are.equal(-math.huge, sl.tensor({ -math.huge, -math.huge }):logsumexp())
    assert.are.equal(math.huge, sl.tensor({ 1, math.huge }):logsumexp())
  end)

  it("norm with p = 0 counts non-zeros; 'fro' is 2", function()
    local t = sl.tensor({ 0, 3, 0, -4 })
    assert.are.equal(2, t:norm(0))
    assert.are.equal(5, t:norm("fro"))
    assert.are.equal(4, t:norm(math.huge))
  end)

  it("argmax/argmin and max/min return the first occurrence of ties", function()
    local t = sl.tensor({ { 1, 3, 3 }, { 2, 2, 0 } })
    assert.are.same({ 2, 1 }, t:argmax(2):tolist())
    assert.are.same({ 1, 3 }, t:argmin(2):tolist())
    assert.are.equal(2, t:argmax())
    local v, i = t:max(1)
    assert.are.same({ 2, 3, 3 }, v:tolist())
    assert.are.same({ 2, 1, 1 }, i:tolist())
  end)

  it("empty reductions: sum 0, prod 1, mean NaN; max refuses", function()
    local e = sl.zeros(2, 0)
    assert.are.same({ 0, 0 }, e:sum(2):tolist())
    assert.are.same({ 1, 1 }, e:prod(2):tolist())
    assert.is_true(isnan(e:mean(2):tolist()[1]))
    assert.are.same({}, e:sum(1):tolist())
    local ok, err = pcall(function() return e:max(2) end)
    assert.is_false(ok)
    assert.matches("max: cannot reduce an empty slice", err, 1, true)
  end)
end)

describe("reductions and NaN", function()
  local t = sl.tensor({ { 1, NaN, 3 }, { 4, 5, NaN } })
  it("sum, mean, var, prod, norm, logsumexp propagate NaN", function()
    for _, op in ipairs({ "sum", "mean", "var", "std", "prod", "norm", "logsumexp" }) do
      assert.is_true(isnan(t[op](t)), op)
    end
    local s = t:sum(1):tolist()
    assert.are.equal(5, s[1])
    assert.is_true(isnan(s[2]) and isnan(s[3]))
  end)
  it("max/min/argmax treat NaN as the extreme, first NaN wins", function()
    assert.is_true(isnan(t:max()))
    assert.is_true(isnan(t:min()))
    assert.are.equal(2, t:argmax())
    assert.are.equal(2, t:argmin())
    local v, i = t:max(2)
    assert.is_true(isnan(v:tolist()[1]) and isnan(v:tolist()[2]))
    assert.are.same({ 2, 3 }, i:tolist())
    assert.are.same({ 2, 3 }, t:argmin(2):tolist())
    assert.are.equal(4, t:narrow(2, 1, 1):max())
  end)
  it("nansum/nanmean skip NaN; an all-NaN slice has nanmean NaN", function()
    assert.are.equal(13, t:nansum())
    assert.are.equal(13 / 4, t:nanmean())
    assert.are.same({ 2, 4.5 }, t:nanmean(2):tolist())
    assert.is_true(isnan(sl.tensor({ NaN, NaN }):nanmean()))
    assert.are.equal(0, sl.tensor({ NaN }):nansum())
  end)
end)

describe("column layout (reducing leading dims of a wide tensor in place)", function()
  -- [7, 40]: reducing dim 1 runs the column kernels; the transposed copy reduced over its last
  -- dim runs the row kernels.  Both must agree, ties and NaN included.
  local t = data({ 7, 40 }, "float32", function(i) return ((i * 13) % 9) - 4 end)
  t:set(NaN, 3, 5); t:set(NaN, 6, 5); t:set(NaN, 2, 40)
  local tt = t:t():contiguous()
  local function agree(a, b, tol, what)
    a, b = a:tolist(), b:tolist()
    for i = 1, #b do assert(close(a[i], b[i], tol), string.format("%s: column %d: %s vs %s", what, i, a[i], b[i])) end
  end
  it("sums, moments, norms and logsumexp", function()
    for _, op in ipairs({ "sum", "mean", "var", "std", "prod", "nansum", "nanmean", "logsumexp", "amax", "amin" }) do
      agree(t[op](t, 1), tt[op](tt, 2), 1e-6, op)
    end
    for _, p in ipairs({ 0, 1, 2, 3, "inf" }) do agree(t:norm(p, 1), tt:norm(p, 2), 1e-6, "norm " .. p) end
  end)
  it("max/min values and first-occurrence indices, NaN first", function()
    for _, op in ipairs({ "max", "min" }) do
      local v1, i1 = t[op](t, 1)
      local v2, i2 = tt[op](tt, 2)
      agree(v1, v2, 0, op)
      assert.are.same(i2:tolist(), i1:tolist())
    end
    assert.are.equal(3, t:argmax(1):tolist()[5])
    assert.are.same(tt:argmin(2):tolist(), t:argmin(1):tolist())
  end)
  it("3-d: reducing the middle dims keeps outer and inner order", function()
    local u = data({ 2, 3, 4, 20 }, "float64")
    check(u:sum({ 2, 3 }), u, { 2, 3 }, false, ref.sum, 1e-12, "sum {2,3}")
    check(u:var({ 2, 3 }, true, true), u, { 2, 3 }, true, function(x) return ref.var(x, true) end, 1e-12, "var {2,3}")
    check(u:argmax(2), u, 2, false, ref.argmax, 0, "argmax 2")
  end)
end)

describe("reductions on integer tensors", function()
  it("sum/prod give exact int64, min/max keep the dtype, mean/var give float32", function()
    local t = sl.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }, "int32")
    assert.are.equal("int64", t:sum(1):dtype())
    assert.are.same({ 5, 7, 9 }, t:sum(1):tolist())
    assert.are.equal("int64", t:prod(2):dtype())
    assert.are.same({ 6, 120 }, t:prod(2):tolist())
    assert.are.equal("int32", t:amax(1):dtype())
    assert.are.same({ 3, 6 }, t:amax(2):tolist())
    assert.are.equal("float32", t:mean(2):dtype())
    assert.are.same({ 2, 5 }, t:mean(2):tolist())
    assert.are.equal(3.5, t:mean())
    assert.are.equal(3.5, t:var())
    local v, i = sl.tensor({ 7, 9, 9, 1 }, "uint8"):max(1)
    assert.are.equal("uint8", v:dtype())
    assert.are.equal(9, v:item())
    assert.are.equal(2, i:item())
  end)
  it("int64 sums are exact beyond float precision", function()
    local big = 2 ^ 40
    local t = sl.tensor({ big, 1, 1, 1 }, "int64")
    assert.are.equal(big + 3, t:sum())
    assert.are.equal(big + 3, t:sum(1):item())
  end)
end)

describe("reductions over many blocks", function()
  -- 40000 elements span three 16384-element blocks, so partials are combined across blocks.
  local n = 40000
  it("argmax/argmin find the first occurrence across block boundaries", function()
    local t = sl.zeros(n)
    t[20000] = 5; t[35000] = 5; t[30000] = -2; t[39000] = -2
    assert.are.equal(20000, t:argmax())
    assert.are.equal(30000, t:argmin())
    t[39999] = NaN; t[25000] = NaN
    assert.are.equal(25000, t:argmax())
    assert.is_true(isnan(t:max()))
  end)
  it("sum, mean and var match exact values", function()
    local t = sl.arange(n, "float32")            -- 0..n-1, exact in float32
    assert.are.equal(n * (n - 1) / 2, t:sum())
    assert.are.equal((n - 1) / 2, t:mean())
    assert.is_true(close(t:var(false), (n * n - 1) / 12, 1e-12))
    local m = sl.arange(n, "float64"):view(2, n / 2)
    assert.are.same({ (n / 2) * (n / 2 - 1) / 2, (n / 2) * (n / 2 - 1) / 2 + (n / 2) ^ 2 }, m:sum(2):tolist())
  end)
  it("results do not depend on the thread count", function()
    local t = data({ 300, 700 }, "float32", function(i) return math.sin(i) * 1e3 end)
    local before = sl.num_threads()
    local res = {}
    for _, nt in ipairs({ 1, 2, 3 }) do
      sl.set_num_threads(nt)
      res[nt] = { t:sum(), t:var(), t:logsumexp(), t:sum(1):tolist(), t:std(2):tolist(), t:norm(3) }
    end
    sl.set_num_threads(before)
    assert.are.same(res[1], res[2])
    assert.are.same(res[1], res[3])
  end)
end)

describe("reduction errors", function()
  local t = sl.zeros(2, 3, 4)
  it("name the op, the dim and the tensor's ndim", function()
    for _, bad in ipairs({ 4, -4, 0 }) do
      local ok, err = pcall(function() return t:sum(bad) end)
      assert.is_false(ok)
      assert.matches("sum: dim " .. bad .. " out of range for a 3-d tensor", err, 1, true)
    end
    local ok, err = pcall(function() return t:mean({ 1, 5 }) end)
    assert.matches("mean: dim 5 out of range for a 3-d tensor", err, 1, true)
    ok, err = pcall(function() return t:max(7) end)
    assert.matches("max: dim 7 out of range for a 3-d tensor", err, 1, true)
    ok, err = pcall(function() return t:argmin(-9) end)
    assert.matches("argmin: dim -9 out of range for a 3-d tensor", err, 1, true)
  end)
  it("reject repeated dims, bad dim types and bad p", function()
    local ok, err = pcall(function() return t:sum({ 1, -3 }) end)
    assert.matches("sum: dim -3 given twice", err, 1, true)
    ok, err = pcall(function() return t:var({ 1.5 }) end)
    assert.matches("var: dim must be an integer", err, 1, true)
    ok, err = pcall(function() return t:sum("x") end)
    assert.matches("sum: dims must be a number or a table", err, 1, true)
    ok, err = pcall(function() return t:norm(-1) end)
    assert.matches("norm: p must be >= 0", err, 1, true)
    ok, err = pcall(function() return t:norm("nuc") end)
    assert.matches('norm: p must be a number, "inf" or "fro"', err, 1, true)
    assert.has_error(function() sl.sum(42) end)
  end)
end)
