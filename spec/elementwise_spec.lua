-- Elementwise math: every op against a naive Lua reference on contiguous and strided inputs,
-- broadcasting, type promotion, in-place variants, special values and errors.
local sl = require "spinlock"

local nan, inf = 0 / 0, math.huge

------------------------------------------------------------------------------------------------
-- Reference helpers
------------------------------------------------------------------------------------------------

-- erf by its Maclaurin series (double precision is plenty for |x| <= 3).
local function erf(x)
  local sum, term, n = x, x, 0
  repeat
    n = n + 1
    term = -term * x * x / n
    local add = term / (2 * n + 1)
    sum = sum + add
  until math.abs(add) < 1e-17 * math.abs(sum) or n > 200
  return 2 / math.sqrt(math.pi) * sum
end

local function rint(x)   -- round half to even
  local f = math.floor(x)
  local d = x - f
  if d > 0.5 then return f + 1 elseif d < 0.5 then return f end
  return f % 2 == 0 and f or f + 1
end

local function close(got, want, rtol, atol)
  if want ~= want then return got ~= got end
  if want == inf or want == -inf then return got == want end
  return math.abs(got - want) <= atol + rtol * math.abs(want)
end

local TOL = { float32 = { 3e-6, 1e-6 }, float64 = { 1e-12, 1e-14 } }

-- Compares a tensor with a flat list of expected values (row-major) and a shape.
local function check(t, want, shape, dtype, tol)
  if shape then assert.are.same(shape, t:shape()) end
  if dtype then assert.are.equal(dtype, t:dtype()) end
  local got = t:tolist()
  assert.are.equal(#want, #got)
  local rtol, atol = 0, 0
  if tol then rtol, atol = tol[1], tol[2] end
  for i = 1, #want do
    if not close(got[i], want[i], rtol, atol) then
      error(string.format("element %d: got %.17g, want %.17g", i, got[i], want[i]), 2)
    end
  end
end

local function map(list, f)
  local r = {}
  for i, v in ipairs(list) do r[i] = f(v) end
  return r
end

-- Naive numpy broadcasting of two flat row-major lists.
local function bcast(a, ashape, b, bshape, f)
  local nd = math.max(#ashape, #bshape)
  local shape = {}
  local function dimof(s, d) local k = d - (nd - #s); return k >= 1 and s[k] or 1 end
  for d = 1, nd do
    local x, y = dimof(ashape, d), dimof(bshape, d)
    assert(x == y or x == 1 or y == 1)
    shape[d] = math.max(x, y)
  end
  local n = 1
  for d = 1, nd do n = n * shape[d] end
  local out = {}
  for lin = 0, n - 1 do
    local rem, ia, ib, sa, sb = lin, 0, 0, 1, 1
    for d = nd, 1, -1 do
      local i = rem % shape[d]
      rem = (rem - i) / shape[d]
      local da, db = dimof(ashape, d), dimof(bshape, d)
      if da > 1 then ia = ia + i * sa end
      if db > 1 then ib = ib + i * sb end
      sa, sb = sa * da, sb * db
    end
    out[lin + 1] = f(a[ia + 1], b[ib + 1])
  end
  return out, shape
end

-- Deterministic test values in [lo, hi].
local function values(n, lo, hi, seed)
  local r = {}
  for i = 1, n do
    local u = (math.sin(i * 12.9898 + (seed or 0) * 78.233) * 43758.5453) % 1
    r[i] = lo + (hi - lo) * u
  end
  return r
end

-- The same [4,5] data as a contiguous tensor, a transposed view and a narrowed view.
-- grid: round the values to multiples of 0.5 so comparisons meet equal values and zeros.
local function variants(lo, hi, dtype, seed, grid)
  local v = values(20, lo, hi, seed)
  if grid then v = map(v, function(x) return math.floor(x * 2 + 0.5) / 2 end) end
  local base = sl.tensor(v, dtype or "float32"):view(4, 5)
  return {
    contiguous = base,
    transposed = base:transpose(1, 2),
    narrowed = base:narrow(2, 2, 3),
  }
end

------------------------------------------------------------------------------------------------
-- Unary
------------------------------------------------------------------------------------------------

local sigmoid = function(x) return 1 / (1 + math.exp(-x)) end
local UNARY = {
  abs = { math.abs }, neg = { function(x) return -x end },
  exp = { math.exp }, log = { math.log, 0.01, 5 },
  log1p = { function(x) return math.log(1 + x) end, 0, 3 },
  expm1 = { function(x) return math.exp(x) - 1 end, 0.1, 3 },
  sqrt = { math.sqrt, 0, 9 }, rsqrt = { function(x) return 1 / math.sqrt(x) end, 0.1, 9 },
  square = { function(x) return x * x end },
  sin = { math.sin }, cos = { math.cos }, tan = { math.tan, -1.2, 1.2 }, tanh = { math.tanh },
  sigmoid = { sigmoid }, erf = { erf },
  relu = { function(x) return x > 0 and x or 0 end },
  gelu = { function(x) return 0.5 * x * (1 + erf(x / math.sqrt(2))) end },
  silu = { function(x) return x * sigmoid(x) end },
  softplus = { function(x) return math.log(1 + math.exp(x)) end },
  sign = { function(x) return x > 0 and 1 or (x < 0 and -1 or 0) end },
  floor = { math.floor }, ceil = { math.ceil }, round = { rint },
  trunc = { function(x) return x >= 0 and math.floor(x) or math.ceil(x) end },
  reciprocal = { function(x) return 1 / x end, 0.5, 4 },
  isnan = { function(x) return x ~= x and 1 or 0 end, nil, nil, "uint8" },
  isinf = { function(x) return (x == inf or x == -inf) and 1 or 0 end, nil, nil, "uint8" },
  isfinite = { function(x) return (x == x and x ~= inf and x ~= -inf) and 1 or 0 end, nil, nil, "uint8" },
  logical_not = { function(x) return x == 0 and 1 or 0 end, nil, nil, "uint8" },
}

describe("unary ops", function()
  for name, spec in pairs(UNARY) do
    local f, lo, hi, rdt = spec[1], spec[2] or -3, spec[3] or 3, spec[4]
    it(name .. " matches a Lua loop on contiguous and strided float32/float64", function()
      for _, dt in ipairs({ "float32", "float64" }) do
        for kind, x in pairs(variants(lo, hi, dt, 1)) do
          local want = map(x:tolist(), f)
          local ok, err = pcall(check, x[name](x), want, x:shape(), rdt or dt, TOL[dt])
          if not ok then error(name .. " " .. dt .. " " .. kind .. ": " .. err) end
          check(sl[name](x), want, x:shape(), rdt or dt, TOL[dt])
        end
      end
    end)
  end

  it("round is half to even", function()
    check(sl.tensor({ -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, 2.6 }):round(), { -2, -2, -0, 0, 2, 2, 2, 3 })
  end)

  it("gelu is the exact erf form (values from Phi by hand)", function()
    -- gelu(x) = x * Phi(x); Phi(1) = 0.8413447460685429, Phi(2) = 0.9772498680518208
    local g = sl.tensor({ 1, -1, 2, 0 }, "float64"):gelu():tolist()
    assert.is_true(close(g[1], 0.8413447460685429, 1e-14, 0))
    assert.is_true(close(g[2], -(1 - 0.8413447460685429), 1e-13, 0))
    assert.is_true(close(g[3], 2 * 0.9772498680518208, 1e-14, 0))
    assert.are.equal(0, g[4])
    local g32 = sl.tensor({ 1, -1, 2 }):gelu():tolist()
    assert.is_true(close(g32[1], 0.8413447460685429, 1e-6, 0))
    assert.is_true(close(g32[3], 1.9544997361036416, 1e-6, 0))
  end)

  it("handles special values: sign(0) = 0, NaN propagation, predicates", function()
    local x = sl.tensor({ nan, inf, -inf, 0, -1, 2 })
    check(x:isnan(), { 1, 0, 0, 0, 0, 0 }, nil, "uint8")
    check(x:isinf(), { 0, 1, 1, 0, 0, 0 }, nil, "uint8")
    check(x:isfinite(), { 0, 0, 0, 1, 1, 1 }, nil, "uint8")
    check(x:sign(), { nan, 1, -1, 0, -1, 1 })
    check(x:relu(), { nan, inf, 0, 0, 0, 2 })
    check(x:abs(), { nan, inf, inf, 0, 1, 2 })
    check(x:sigmoid(), { nan, 1, 0, 0.5, sigmoid(-1), sigmoid(2) }, nil, nil, TOL.float32)
    check(x:softplus(), { nan, inf, 0, math.log(2), math.log(1 + math.exp(-1)), math.log(1 + math.exp(2)) },
          nil, nil, TOL.float32)
    check(sl.tensor({ 100, -100 }):softplus(), { 100, 0 }, nil, nil, TOL.float32)   -- no overflow
    check(sl.tensor({ 0, -0.0 }, "float64"):sign(), { 0, 0 })
  end)

  it("integer inputs: float-valued ops give float32, the rest keep the dtype", function()
    local i = sl.tensor({ -3, 0, 4 }, "int32")
    check(i:exp(), { math.exp(-3), 1, math.exp(4) }, nil, "float32", TOL.float32)
    check(i:sqrt(), { nan, 0, 2 }, nil, "float32")
    check(i:abs(), { 3, 0, 4 }, nil, "int32")
    check(i:neg(), { 3, 0, -4 }, nil, "int32")
    check(i:sign(), { -1, 0, 1 }, nil, "int32")
    check(i:relu(), { 0, 0, 4 }, nil, "int32")
    check(i:square(), { 9, 0, 16 }, nil, "int32")
    check(i:floor(), { -3, 0, 4 }, nil, "int32")
    check(i:isnan(), { 0, 0, 0 }, nil, "uint8")
    check(i:isfinite(), { 1, 1, 1 }, nil, "uint8")
    check(sl.tensor({ 0, 1, 255 }, "uint8"):neg(), { 0, 255, 1 }, nil, "uint8")   -- wraps
    check(sl.tensor({ -2147483648 }, "int32"):abs(), { -2147483648 }, nil, "int32") -- wraps, no trap
    check(sl.tensor({ 5, -7 }, "int64"):abs(), { 5, 7 }, nil, "int64")
  end)

  it("work on numbers, returning numbers", function()
    assert.are.equal(1, sl.exp(0))
    assert.is_true(close(sl.gelu(1), 0.8413447460685429, 1e-15, 0))
    assert.are.equal(2, sl.round(2.5))
    assert.are.equal(1, sl.isnan(nan))
  end)

  it("write into a provided output", function()
    local x = sl.tensor({ 1, 4, 9 })
    local out = sl.zeros(3)
    assert.are.equal(out, sl.sqrt(x, out))
    check(out, { 1, 2, 3 })
    local o64 = sl.zeros({ 3 }, "float64")
    sl.sqrt(x, o64)
    check(o64, { 1, 2, 3 }, nil, "float64")
    local ob = sl.zeros({ 3 }, "float32")
    sl.isnan(sl.tensor({ nan, 1, 2 }), ob)   -- 0/1 result converted into float32
    check(ob, { 1, 0, 0 })
    assert.has_error(function() sl.exp(x, sl.zeros({ 3 }, "int32")) end,
      "exp: a float32 result cannot be written into a int32 output")
    local ok, err = pcall(sl.exp, x, sl.zeros(4))
    assert.is_false(ok)
    assert.matches("exp: result shape [3] does not match the output's shape [4]", err, 1, true)
  end)
end)

------------------------------------------------------------------------------------------------
-- Binary
------------------------------------------------------------------------------------------------

local b01 = function(c) return c and 1 or 0 end
local BINARY = {
  add = { function(x, y) return x + y end },
  sub = { function(x, y) return x - y end },
  mul = { function(x, y) return x * y end },
  div = { function(x, y) return x / y end },
  pow = { function(x, y) return x ^ y end, 0.1, 3 },
  minimum = { function(x, y) return math.min(x, y) end },
  maximum = { function(x, y) return math.max(x, y) end },
  atan2 = { math.atan2 },
  fmod = { math.fmod },
  eq = { function(x, y) return b01(x == y) end, nil, nil, "uint8" },
  ne = { function(x, y) return b01(x ~= y) end, nil, nil, "uint8" },
  lt = { function(x, y) return b01(x < y) end, nil, nil, "uint8" },
  le = { function(x, y) return b01(x <= y) end, nil, nil, "uint8" },
  gt = { function(x, y) return b01(x > y) end, nil, nil, "uint8" },
  ge = { function(x, y) return b01(x >= y) end, nil, nil, "uint8" },
  logical_and = { function(x, y) return b01(x ~= 0 and y ~= 0) end, nil, nil, "uint8" },
  logical_or = { function(x, y) return b01(x ~= 0 or y ~= 0) end, nil, nil, "uint8" },
}

-- Rounds a (small, contiguous) tensor's values to multiples of 0.5 (see variants).
local function gridded(t) return (t * 2):round() / 2 end

describe("binary ops", function()
  for name, spec in pairs(BINARY) do
    local f, lo, hi, rdt = spec[1], spec[2] or -3, spec[3] or 3, spec[4]
    local method = name == "sub" and "subtract" or name
    it(name .. " matches a Lua loop: contiguous, strided, broadcast, scalars", function()
      for _, dt in ipairs({ "float32", "float64" }) do
        local tol = rdt and nil or TOL[dt]
        local A, B = variants(lo, hi, dt, 2, rdt), variants(lo, hi, dt, 3, rdt)
        for kind, a in pairs(A) do
          local b = B[kind]
          assert.are.equal(kind == "contiguous", a:is_contiguous())
          local av, bv = a:tolist(), b:tolist()
          local want = bcast(av, a:shape(), bv, b:shape(), f)
          check(a[method](a, b), want, a:shape(), rdt or dt, tol)
          check(sl[name](a, b), want, a:shape(), rdt or dt, tol)
          -- tensor with a number on either side
          local s = rdt and 0.5 or 1.25
          check(sl[name](a, s), map(av, function(x) return f(x, s) end), a:shape(), rdt or dt, tol)
          check(sl[name](s, a), map(av, function(x) return f(s, x) end), a:shape(), rdt or dt, tol)
        end
        -- [3,1] with [1,4]; [2,3,4] with [4]; strided [4] (a narrowed column)
        local c = sl.tensor(values(3, lo, hi, 4), dt):view(3, 1)
        local r = sl.tensor(values(4, lo, hi, 5), dt):view(1, 4)
        if rdt then c, r = gridded(c), gridded(r) end
        local want, shape = bcast(c:tolist(), { 3, 1 }, r:tolist(), { 1, 4 }, f)
        check(sl[name](c, r), want, shape, rdt or dt, tol)
        local big = sl.tensor(values(24, lo, hi, 6), dt):view(2, 3, 4)
        local row = sl.tensor(values(8, lo, hi, 7), dt):view(4, 2)
        if rdt then big, row = gridded(big), gridded(row) end
        row = row:select(2, 1)   -- stride 2
        want, shape = bcast(big:tolist(), { 2, 3, 4 }, row:tolist(), { 4 }, f)
        check(sl[name](big, row), want, shape, rdt or dt, tol)
        want, shape = bcast(row:tolist(), { 4 }, big:tolist(), { 2, 3, 4 }, f)
        check(sl[name](row, big), want, shape, rdt or dt, tol)
      end
    end)
  end

  it("integer dtypes match a Lua loop on contiguous and transposed inputs", function()
    local INT = { add = true, sub = true, mul = true, minimum = true, maximum = true, eq = true,
                  ne = true, lt = true, le = true, gt = true, ge = true, logical_and = true,
                  logical_or = true }
    for _, dt in ipairs({ "int32", "int64", "uint8" }) do
      local lo = dt == "uint8" and 0 or -9
      local av = map(values(12, lo, 9, 14), math.floor)
      local bv = map(values(12, lo, 9, 15), math.floor)
      local a = sl.tensor(av, dt):view(3, 4)
      local b = sl.tensor(bv, dt):view(4, 3):transpose(1, 2)   -- strided [3,4]
      local bt = b:tolist()
      for name in pairs(INT) do
        local f, rdt = BINARY[name][1], BINARY[name][4]
        local want = {}
        for i = 1, 12 do want[i] = f(av[i], bt[i]) end
        local res = dt == "uint8" and (name == "add" or name == "sub" or name == "mul") and "int32" or dt
        local ok, err = pcall(check, sl[name](a, b), want, { 3, 4 }, rdt or res)
        if not ok then error(name .. " " .. dt .. ": " .. err) end
      end
    end
  end)

  it("large and strided operands (tiled, threaded) match the reference", function()
    local n = 3 * 40000
    local a = sl.tensor(values(n, -2, 2, 8)):view(3, 40000):transpose(1, 2)   -- [40000,3], strided
    local b = sl.tensor(values(3, -2, 2, 9))
    local want = bcast(a:tolist(), { 40000, 3 }, b:tolist(), { 3 }, function(x, y) return x * y end)
    check(a * b, want, { 40000, 3 }, "float32", TOL.float32)
    local x = sl.tensor(values(n, -2, 2, 10))
    check(x:tanh(), map(x:tolist(), math.tanh), { n }, "float32", TOL.float32)
    -- 64x64 blocks with ragged edges: transposed [130,70] plus contiguous [130,70]
    local p = sl.tensor(values(9100, -2, 2, 16)):view(70, 130):transpose(1, 2)
    local q = sl.tensor(values(9100, -2, 2, 17)):view(130, 70)
    local pv, qv = p:tolist(), q:tolist()
    local sum = {}
    for i = 1, 9100 do sum[i] = pv[i] - qv[i] end
    check(p - q, sum, { 130, 70 }, "float32", TOL.float32)
    local y = sl.zeros(70, 130)
    y:transpose(1, 2):copy(q)
    y:transpose(1, 2):sub_(p)       -- in place through a transposed view
    check(y:transpose(1, 2), map(sum, function(v) return -v end), { 130, 70 }, "float32", TOL.float32)
  end)

  it("results do not depend on the thread count", function()
    local x = sl.tensor(values(200001, -3, 3, 11)):view(3, 66667)
    local y = sl.tensor(values(66667, -3, 3, 12))
    local saved = sl.num_threads()
    sl.set_num_threads(1)
    local r1 = { (x * y):tolist(), x:gelu():tolist(), x:transpose(1, 2):exp():tolist() }
    sl.set_num_threads(2)
    local r2 = { (x * y):tolist(), x:gelu():tolist(), x:transpose(1, 2):exp():tolist() }
    sl.set_num_threads(saved)
    for k = 1, 3 do
      for i = 1, #r1[k] do if r1[k][i] ~= r2[k][i] then error("differs at " .. k .. "/" .. i) end end
    end
  end)

  it("metamethods take numbers on either side", function()
    local t = sl.tensor({ 1, 2, 4 })
    check(t + 1, { 2, 3, 5 })
    check(1 + t, { 2, 3, 5 })
    check(2 - t, { 1, 0, -2 })
    check(t - 2, { -1, 0, 2 })
    check(t * t, { 1, 4, 16 })
    check(8 / t, { 8, 4, 2 })
    check(t / 2, { 0.5, 1, 2 })
    check(t ^ 2, { 1, 4, 16 })
    check(2 ^ t, { 2, 4, 16 })
    check(-t, { -1, -2, -4 })
    check(-sl.tensor({ 1, 2 }, "int32"), { -1, -2 }, nil, "int32")
  end)

  it("two numbers give a number", function()
    assert.are.equal(5, sl.add(2, 3))
    assert.are.equal(-1, sl.sub(2, 3))
    assert.are.equal(1, sl.gt(3, 2))
    assert.are.equal(8, sl.pow(2, 3))
  end)

  it("add and sub take alpha (a + alpha*b)", function()
    local a, b = sl.tensor({ 1, 2, 3 }), sl.tensor({ 10, 20, 30 })
    check(sl.add(a, b, 0.5), { 6, 12, 18 })
    check(a:add(b, -2), { -19, -38, -57 })
    check(sl.sub(a, b, 0.1), { 0, 0, 0 }, nil, nil, TOL.float32)
    check(a:subtract(b), { -9, -18, -27 })
    check(sl.add(1, b, 2), { 21, 41, 61 })
    check(sl.add(a, 4, 0.5), { 3, 4, 5 })
    local out = sl.zeros(3)
    assert.are.equal(out, sl.add(a, b, 2, out))
    check(out, { 21, 42, 63 })
    assert.are.equal(out, sl.mul(a, b, out))
    check(out, { 10, 40, 90 })
    assert.has_error(function() sl.add(sl.tensor({ 1 }, "int32"), sl.tensor({ 1 }, "int32"), 0.5) end,
      "add: alpha must be an integer for int32 tensors (got 0.5)")
  end)
end)

------------------------------------------------------------------------------------------------
-- Type promotion
------------------------------------------------------------------------------------------------

describe("type promotion", function()
  local function T(v, dt) return sl.tensor(v, dt) end
  it("between tensors", function()
    assert.are.equal("float64", (T({ 1 }, "float32") + T({ 1 }, "float64")):dtype())
    assert.are.equal("float32", (T({ 1 }, "int64") + T({ 1 }, "float32")):dtype())
    assert.are.equal("int64", (T({ 1 }, "int32") + T({ 1 }, "int64")):dtype())
    assert.are.equal("int32", (T({ 1 }, "uint8") + T({ 1 }, "int32")):dtype())
    check(T({ 200 }, "uint8") + T({ 100 }, "uint8"), { 300 }, nil, "int32")
    check(sl.minimum(T({ 200 }, "uint8"), T({ 100 }, "uint8")), { 100 }, nil, "uint8")
    check(sl.maximum(T({ 1, 7 }, "int32"), T({ 5, 2 }, "int32")), { 5, 7 }, nil, "int32")
    check(T({ 7, -7 }, "int32") / T({ 2, 2 }, "int32"), { 3.5, -3.5 }, nil, "float32")
    check(sl.atan2(T({ 1 }, "int32"), T({ 1 }, "int32")), { math.atan2(1, 1) }, nil, "float32", TOL.float32)
    check(T({ 3 }, "int32"):gt(T({ 2.5 }, "float64")), { 1 }, nil, "uint8")
  end)

  it("with scalars (weak: a number never widens a tensor)", function()
    assert.are.equal("float32", (T({ 1 }, "float32") * 0.1):dtype())
    assert.are.equal("float64", (T({ 1 }, "float64") * 0.1):dtype())
    check(T({ 1, 2 }, "int32") + 2, { 3, 4 }, nil, "int32")
    check(T({ 1, 2 }, "int32") + 2.5, { 3.5, 4.5 }, nil, "float32")
    check(T({ 1, 2 }, "int64") * 3, { 3, 6 }, nil, "int64")
    check(T({ 250 }, "uint8") + 10, { 260 }, nil, "int32")
    check(T({ 0, 5 }, "uint8"):gt(-1), { 1, 1 }, nil, "uint8")
    check(T({ 0, 5 }, "uint8"):lt(300), { 1, 1 }, nil, "uint8")
    check(T({ 0, 1 }, "int32"):lt(0.5), { 1, 0 }, nil, "uint8")
    check(T({ 0.1 }, "float32"):eq(0.1), { 1 }, nil, "uint8")   -- 0.1 is rounded to float32 first
  end)

  it("integer arithmetic wraps and never traps", function()
    check(T({ 2147483647 }, "int32") + 1, { -2147483648 }, nil, "int32")
    check(T({ 2, 3, -2, 2 }, "int32") ^ T({ 10, 3, 3, -1 }, "int32"), { 1024, 27, -8, 0 }, nil, "int32")
    check(sl.fmod(T({ 7, -7, 5, -2147483648 }, "int32"), T({ 3, 3, 0, -1 }, "int32")), { 1, -1, 0, 0 },
          nil, "int32")
    check(sl.fmod(T({ 7 }, "uint8"), T({ 0 }, "uint8")), { 0 }, nil, "int32")
  end)
end)

------------------------------------------------------------------------------------------------
-- In place
------------------------------------------------------------------------------------------------

describe("in-place ops", function()
  it("add_ sub_ mul_ div_ write into self and return it", function()
    local x = sl.tensor({ 1, 2, 3 })
    assert.are.equal(x, x:add_(sl.tensor({ 10, 20, 30 })))
    check(x, { 11, 22, 33 })
    assert.are.equal(x, x:sub_(1))
    check(x, { 10, 21, 32 })
    x:mul_(0.5)
    check(x, { 5, 10.5, 16 })
    x:div_(sl.tensor({ 5, 2, 4 }))
    check(x, { 1, 5.25, 4 })
    x:add_(sl.tensor({ 2, 2, 2 }), 0.5)   -- axpy
    check(x, { 2, 6.25, 5 })
    x:sub_(sl.tensor({ 1, 1, 1 }), 2)
    check(x, { 0, 4.25, 3 })
    x:add_(2, 3)                           -- number with alpha: x + 6
    check(x, { 6, 10.25, 9 })
  end)

  it("broadcast the right operand, and touch only the view they are called on", function()
    local x = sl.zeros(3, 4)
    x:add_(sl.tensor({ 1, 2, 3, 4 }))
    check(x, { 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4 })
    x:narrow(1, 2, 1):mul_(10)
    check(x, { 1, 2, 3, 4, 10, 20, 30, 40, 1, 2, 3, 4 })
    x:transpose(1, 2):select(1, 1):add_(100)   -- column 1 through a strided view
    check(x, { 101, 2, 3, 4, 110, 20, 30, 40, 101, 2, 3, 4 })
    local col = sl.tensor({ 1, 2, 3 }):view(3, 1)
    x:sub_(col)
    check(x, { 100, 1, 2, 3, 108, 18, 28, 38, 98, -1, 0, 1 })
  end)

  it("read overlapping inputs as they were before the write", function()
    local x = sl.arange(8)
    x:narrow(1, 2, 7):add_(x:narrow(1, 1, 7))   -- x[i] += x[i-1], all from old values
    check(x, { 0, 1, 3, 5, 7, 9, 11, 13 })
    local y = sl.arange(4):view(2, 2)
    y:add_(y:transpose(1, 2))
    check(y, { 0, 3, 3, 6 })
  end)

  it("compute in the output's dtype and refuse float results in integer tensors", function()
    local x = sl.tensor({ 1, 2 }, "float32")
    x:add_(sl.tensor({ 0.25, 0.5 }, "float64"))
    check(x, { 1.25, 2.5 }, nil, "float32")
    local i = sl.tensor({ 1, 2 }, "int32")
    i:add_(sl.tensor({ 3, 4 }, "int64"))
    check(i, { 4, 6 }, nil, "int32")
    local u = sl.tensor({ 250, 3 }, "uint8")
    u:add_(10)
    check(u, { 4, 13 }, nil, "uint8")   -- wraps in uint8
    u:sub_(5)
    check(u, { 255, 8 }, nil, "uint8")
    u:add_(-1)
    check(u, { 254, 7 }, nil, "uint8")
    u:sub_(sl.tensor({ 1, 1 }, "uint8"), 2)
    check(u, { 252, 5 }, nil, "uint8")
    assert.has_error(function() i:add_(0.5) end, "add: a float32 result cannot be written into a int32 output")
    assert.has_error(function() i:div_(2) end, "div: a float32 result cannot be written into a int32 output")
    check(i, { 4, 6 }, nil, "int32")
  end)

  it("clamp_ and fill_", function()
    local x = sl.tensor({ -2, 0.5, 3 })
    assert.are.equal(x, x:clamp_(0, 1))
    check(x, { 0, 0.5, 1 })
    x:fill_(7)
    check(x, { 7, 7, 7 })
  end)

  it("reject a result shape that differs from self, and broadcast (stride 0) outputs", function()
    local ok, err = pcall(function() sl.zeros(1, 4):add_(sl.zeros(3, 4)) end)
    assert.is_false(ok)
    assert.matches("result shape [3,4] does not match the output's shape [1,4]", err, 1, true)
    ok, err = pcall(function() sl.zeros(1, 3):expand(2, 3):add_(1) end)
    assert.is_false(ok)
    assert.matches("broadcast along dim 1", err, 1, true)
  end)
end)

------------------------------------------------------------------------------------------------
-- clamp, where, nan_to_num
------------------------------------------------------------------------------------------------

describe("clamp", function()
  it("matches a Lua loop with both, one or the other bound, on strided input", function()
    for _, dt in ipairs({ "float32", "float64" }) do
      for _, x in pairs(variants(-3, 3, dt, 13)) do
        local v = x:tolist()
        check(x:clamp(-1, 2), map(v, function(a) return math.min(math.max(a, -1), 2) end), x:shape(), dt)
        check(sl.clamp(x, nil, 0.5), map(v, function(a) return math.min(a, 0.5) end), x:shape(), dt, TOL[dt])
        check(sl.clamp(x, 0.5), map(v, function(a) return math.max(a, 0.5) end), x:shape(), dt, TOL[dt])
      end
    end
  end)

  it("keeps NaN, gives hi when lo > hi, keeps integer dtypes exactly", function()
    check(sl.tensor({ nan, -5, 5 }):clamp(0, 1), { nan, 0, 1 })
    check(sl.tensor({ -5, 0.5, 5 }):clamp(2, 1), { 1, 1, 1 })
    check(sl.tensor({ -3, 0, 1, 3 }, "int32"):clamp(-0.5, 2.5), { 0, 0, 1, 2 }, nil, "int32")
    check(sl.tensor({ 0, 200 }, "uint8"):clamp(-10, 300), { 0, 200 }, nil, "uint8")
    assert.are.equal(1, sl.clamp(5, 0, 1))
    assert.has_error(function() sl.tensor({ 1 }):clamp() end,
      "clamp: give at least one of lo and hi (the other may be nil)")
  end)
end)

describe("where", function()
  it("selects with broadcasting over all three operands", function()
    local c = sl.tensor({ 1, 0, 1 }, "uint8"):view(3, 1)
    local a = sl.tensor({ 10, 20, 30, 40 }):view(1, 4)
    local b = sl.tensor({ -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12 }):view(3, 4)
    local want = { 10, 20, 30, 40, -5, -6, -7, -8, 10, 20, 30, 40 }
    check(sl.where(c, a, b), want, { 3, 4 }, "float32")
    check(a:where(c, b), want, { 3, 4 }, "float32")
    -- strided condition and operands
    local m = sl.tensor({ 1, 0, 0, 1, 1, 0 }, "uint8"):view(2, 3):transpose(1, 2)   -- [3,2]
    local x = sl.arange(6):view(2, 3):transpose(1, 2)
    check(sl.where(m, x, -x), { 0, 3, -1, 4, -2, -5 }, { 3, 2 })   -- m = [[1,1],[0,1],[0,0]]
  end)

  it("reads a non-uint8 condition by truthiness (nonzero and NaN are true)", function()
    local c = sl.tensor({ 0, 0.5, -2, nan })
    check(sl.where(c, 1, 0), { 0, 1, 1, 1 }, nil, "float32")
    check(sl.where(sl.tensor({ 0, 3 }, "int64"), sl.tensor({ 1, 2 }, "int32"), 9), { 9, 2 }, nil, "int32")
  end)

  it("promotes like a binary op", function()
    local c = sl.tensor({ 1, 0 }, "uint8")
    assert.are.equal("float64", sl.where(c, sl.tensor({ 1, 2 }, "float64"), sl.tensor({ 1, 2 })):dtype())
    assert.are.equal("float32", sl.where(c, sl.tensor({ 1, 2 }, "int32"), 0.5):dtype())
    assert.are.equal("int64", sl.where(c, sl.tensor({ 1, 2 }, "int64"), 0):dtype())
    local out = sl.zeros(2)
    assert.are.equal(out, sl.where(c, 3, 4, out))
    check(out, { 3, 4 })
  end)

  it("names both shapes when they do not broadcast", function()
    local ok, err = pcall(sl.where, sl.zeros({ 2, 3 }, "uint8"), sl.zeros(4), 0)
    assert.is_false(ok)
    assert.matches("[2,3]", err, 1, true)
    assert.matches("[4]", err, 1, true)
  end)
end)

describe("nan_to_num", function()
  it("uses 0 and the dtype's finite extremes by default", function()
    local x = sl.tensor({ nan, inf, -inf, 1.5 })
    check(x:nan_to_num(), { 0, 3.4028234663852886e38, -3.4028234663852886e38, 1.5 }, nil, "float32")
    local y = sl.tensor({ nan, inf, -inf, 1.5 }, "float64")
    check(sl.nan_to_num(y), { 0, 1.7976931348623157e308, -1.7976931348623157e308, 1.5 }, nil, "float64")
  end)

  it("takes overrides, works on strided input, leaves integers alone", function()
    local x = sl.tensor({ nan, 1, inf, 2, -inf, 3 }):view(3, 2):transpose(1, 2)   -- [[nan,inf,-inf],[1,2,3]]
    check(sl.nan_to_num(x, -1, 100, -100), { -1, 100, -100, 1, 2, 3 }, { 2, 3 })
    check(sl.nan_to_num(x, 5), { 5, 3.4028234663852886e38, -3.4028234663852886e38, 1, 2, 3 })
    check(sl.tensor({ 1, 2 }, "int32"):nan_to_num(), { 1, 2 }, nil, "int32")
    assert.are.equal(0, sl.nan_to_num(nan))
  end)
end)

------------------------------------------------------------------------------------------------
-- Errors and lifetime
------------------------------------------------------------------------------------------------

describe("errors", function()
  it("non-broadcastable shapes name both shapes", function()
    local ok, err = pcall(function() return sl.zeros(2, 3) + sl.zeros(4) end)
    assert.is_false(ok)
    assert.matches("add: shapes [2,3] and [4] cannot be broadcast", err, 1, true)
    ok, err = pcall(sl.gt, sl.zeros(3, 2), sl.zeros(2, 3))
    assert.is_false(ok)
    assert.matches("gt: shapes [3,2] and [2,3]", err, 1, true)
  end)

  it("bad argument types are reported, not crashed on", function()
    assert.has_error(function() sl.add("x", sl.zeros(2)) end)
    local ok, err = pcall(sl.mul, sl.zeros(2), {})
    assert.is_false(ok)
    assert.matches("Tensor or number expected, got table", err, 1, true)
    ok, err = pcall(sl.where, 1, 2, 3)
    assert.is_false(ok)
    assert.matches("Tensor expected", err, 1, true)
    local t = sl.zeros(2)
    t:free()
    assert.has_error(function() return t + 1 end)
  end)

  it("leave no tensors behind, on success or failure", function()
    collectgarbage("collect")
    local before = sl.memory_info().tensors
    do
      local a, b = sl.zeros(3, 4), sl.ones({ 4 }, "float64")
      local _ = (a + b):exp():gt(0)
      pcall(function() return a + sl.zeros(5) end)
      pcall(function() sl.tensor({ 1 }, "int32"):add_(sl.tensor({ 0.5 }, "float64")) end)
      _ = sl.where(a, a, b)
    end
    collectgarbage("collect")
    collectgarbage("collect")
    assert.are.equal(before, sl.memory_info().tensors)
  end)

  it("empty tensors give empty results", function()
    assert.are.same({ 0, 3 }, (sl.zeros(0, 3) + sl.zeros(3)):shape())
    assert.are.same({ 0 }, sl.zeros(0):exp():shape())
  end)
end)
