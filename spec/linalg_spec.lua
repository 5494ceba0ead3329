-- matmul / bmm against a naive Lua triple loop: 1-D/2-D/batched shapes, broadcasting, strided
-- and transposed operands (passed to BLAS without copies) and operands BLAS cannot read as they
-- are (copied), dtype promotion, error messages.
local sl = require "spinlock"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local rnd = SH.lcg(12345)   -- small deterministic LCG in [-1, 1)

local function prod(s) local p = 1 for _, v in ipairs(s) do p = p * v end return p end

local function rand(shape, dtype)
  local n, v = prod(shape), {}
  for i = 1, n do v[i] = rnd() end
  if #shape == 0 then return sl.tensor(v[1], dtype) end
  return sl.tensor(v, dtype or "float32"):view(shape)
end

-- Naive reference on [batch..., m, k] @ [batch..., k, n] with explicit (already broadcast)
-- batch shapes: a, b are flat row-major value lists.
local function ref_mm(av, bv, nbatch, m, k, n, abatch_stride, bbatch_stride)
  local out = {}
  for bi = 0, nbatch - 1 do
    for i = 0, m - 1 do
      for j = 0, n - 1 do
        local s = 0
        for l = 0, k - 1 do
          s = s + av[abatch_stride(bi) + i * k + l + 1] * bv[bbatch_stride(bi) + l * n + j + 1]
        end
        out[#out + 1] = s
      end
    end
  end
  return out
end

local function assert_close(expected, got, tol, what)
  assert.are.equal(#expected, #got, (what or "") .. ": element count")
  local worst, at = 0, 0
  for i = 1, #expected do
    local d = math.abs(expected[i] - got[i]) / (1 + math.abs(expected[i]))
    if d > worst then worst, at = d, i end
  end
  assert(worst <= tol, string.format("%s: max rel diff %.3g at %d (expected %g, got %g)",
    what or "values", worst, at, expected[at] or 0, got[at] or 0))
end

local function check_2d(a, b, tol, what)
  local m, k, n = a:size(1), a:size(2), b:size(2)
  local ref = ref_mm(a:contiguous():tolist(), b:contiguous():tolist(), 1, m, k, n,
    function() return 0 end, function() return 0 end)
  local c = sl.matmul(a, b)
  assert.are.same({m, n}, c:shape())
  assert_close(ref, c:tolist(), tol, what)
  return c
end

describe("matmul", function()
  it("2-D @ 2-D matches the naive loop (float32 and float64)", function()
    check_2d(rand({5, 7}), rand({7, 3}), 1e-5, "f32")
    local c = check_2d(rand({4, 6}, "float64"), rand({6, 9}, "float64"), 1e-12, "f64")
    assert.are.equal("float64", c:dtype())
    check_2d(rand({1, 1}), rand({1, 1}), 1e-6, "1x1")
  end)

  it("takes transposed and strided operands", function()
    local a = rand({7, 5}):transpose(1, 2)            -- [5,7], column-major
    local b = rand({3, 7}):t()                        -- [7,3]
    assert.is_false(a:is_contiguous())
    check_2d(a, b, 1e-5, "transposed")
    local big = rand({9, 12})
    check_2d(big:narrow(1, 2, 5):narrow(2, 3, 7), rand({7, 4}), 1e-5, "narrowed rows (ld > cols)")
    -- no unit stride in either matrix dim: must be copied, same result
    local s = rand({10, 14}):slice(1, 1, 10, 2):slice(2, 1, 14, 2)   -- [5,7], strides (28,2)
    check_2d(s, rand({7, 2}), 1e-5, "doubly strided")
    -- a method call is the same function
    local x, y = rand({3, 4}), rand({4, 2})
    assert.are.same(sl.matmul(x, y):tolist(), x:matmul(y):tolist())
  end)

  it("handles 1-D operands like torch", function()
    local v, w = rand({6}), rand({6})
    local d = sl.matmul(v, w)
    assert.are.equal(0, d:dim())
    local s = 0
    local vl, wl = v:tolist(), w:tolist()
    for i = 1, 6 do s = s + vl[i] * wl[i] end
    assert(math.abs(d:item() - s) < 1e-5)
    local m = rand({4, 6})
    local mv = sl.matmul(m, v)
    assert.are.same({4}, mv:shape())
    assert_close(check_2d(m, v:view(6, 1), 1e-5):tolist(), mv:tolist(), 1e-6, "mat @ vec")
    local vm = sl.matmul(v, m:t())
    assert.are.same({4}, vm:shape())
    assert_close(mv:tolist(), vm:tolist(), 1e-5, "vec @ mat")
    -- a strided vector and an expanded (stride 0) vector
    local sv = rand({12}):slice(1, 1, 12, 2)
    assert_close(sl.matmul(m, sv:contiguous()):tolist(), sl.matmul(m, sv):tolist(), 1e-6, "strided vec")
    local ev = sl.tensor({2}):expand(6)
    assert_close(sl.matmul(m, sl.full({6}, 2)):tolist(), sl.matmul(m, ev):tolist(), 1e-6, "expanded vec")
    -- vec @ batch
    local bt = rand({3, 6, 2})
    assert.are.same({3, 2}, sl.matmul(v, bt):shape())
  end)

  it("batches with broadcasting of the batch dims", function()
    local a, b = rand({2, 1, 3, 4}), rand({5, 4, 2})
    local c = sl.matmul(a, b)
    assert.are.same({2, 5, 3, 2}, c:shape())
    local ref = ref_mm(a:tolist(), b:tolist(), 10, 3, 4, 2,
      function(bi) return math.floor(bi / 5) * 12 end, function(bi) return (bi % 5) * 8 end)
    assert_close(ref, c:tolist(), 1e-5, "broadcast batch")
    -- transposed batch members and an expanded (stride 0) batch
    local at = rand({2, 5, 4, 3}):transpose(3, 4)       -- [2,5,3,4]
    local bx = rand({4, 2}):expand(2, 5, 4, 2)
    assert_close(sl.matmul(at:contiguous(), bx:contiguous()):tolist(), sl.matmul(at, bx):tolist(), 1e-6, "views")
  end)

  it("folds a row-major batch into one GEMM when the right operand is shared", function()
    local a, w = rand({3, 4, 5}), rand({5, 6})
    local c = sl.matmul(a, w)
    assert.are.same({3, 4, 6}, c:shape())
    local flat = check_2d(a:view(12, 5), w, 1e-5, "folded")
    assert_close(flat:tolist(), c:tolist(), 1e-6, "fold vs 2-D")
    -- not foldable: a narrowed batch member layout
    local an = rand({3, 6, 5}):narrow(2, 2, 4)
    assert_close(sl.matmul(an:contiguous(), w):tolist(), sl.matmul(an, w):tolist(), 1e-6, "narrowed batch")
  end)

  it("runs many tiny matrices in parallel with the same result", function()
    local a, b = rand({64, 3, 2}), rand({64, 2, 4})
    local ref = ref_mm(a:tolist(), b:tolist(), 64, 3, 2, 4,
      function(bi) return bi * 6 end, function(bi) return bi * 8 end)
    assert_close(ref, sl.bmm(a, b):tolist(), 1e-5, "tiny batch")
    assert.is_true(sl.blas_threads() >= 1)
  end)

  it("gives the same bits whatever the thread count", function()
    local a, b = rand({300, 200}), rand({200, 260})
    local ba, bb = rand({16, 20, 30}), rand({16, 30, 10})
    local n0 = sl.num_threads()
    sl.set_num_threads(1)
    local r1, q1 = sl.matmul(a, b):tolist(), sl.bmm(ba, bb):tolist()
    sl.set_num_threads(2)
    local r2, q2 = sl.matmul(a, b):tolist(), sl.bmm(ba, bb):tolist()
    sl.set_num_threads(n0)
    assert.are.same(r1, r2)
    assert.are.same(q1, q2)
  end)

  it("promotes dtypes and handles empty sizes", function()
    local a32, b64 = rand({2, 3}), rand({3, 2}, "float64")
    assert.are.equal("float64", sl.matmul(a32, b64):dtype())
    local ai = sl.tensor({{1, 2}, {3, 4}}, "int64")
    local c = sl.matmul(ai, ai)
    assert.are.equal("float32", c:dtype())
    assert.are.same({7, 10, 15, 22}, c:tolist())
    assert.are.same({0, 0, 0, 0}, sl.matmul(sl.zeros(2, 0), sl.zeros(0, 2)):tolist())
    assert.are.same({0, 2}, sl.matmul(sl.zeros(0, 3), sl.zeros(3, 2)):shape())
  end)

  it("reports shape errors naming both shapes", function()
    local ok, err = pcall(sl.matmul, sl.zeros(2, 3), sl.zeros(4, 5))
    assert.is_false(ok)
    assert.truthy(err:find("[2,3]", 1, true) and err:find("[4,5]", 1, true), err)
    ok, err = pcall(sl.matmul, sl.zeros(2, 2, 3), sl.zeros(3, 3, 1))
    assert.truthy(err:find("cannot be broadcast", 1, true) and err:find("[2,2,3]", 1, true), err)
    ok, err = pcall(sl.matmul, sl.tensor(1), sl.zeros(3))
    assert.truthy(err:find("at least 1 dimension", 1, true), err)
  end)
end)

describe("bmm", function()
  it("multiplies batches and broadcasts a batch of one", function()
    local a, b = rand({3, 2, 4}), rand({3, 4, 5})
    local ref = ref_mm(a:tolist(), b:tolist(), 3, 2, 4, 5,
      function(bi) return bi * 8 end, function(bi) return bi * 20 end)
    assert_close(ref, sl.bmm(a, b):tolist(), 1e-5, "bmm")
    assert_close(ref, a:bmm(b):tolist(), 1e-5, "method")
    assert.are.same({3, 2, 5}, sl.bmm(a:narrow(1, 1, 1), b):shape())
  end)

  it("rejects non-3-D operands and batch mismatches", function()
    local ok, err = pcall(sl.bmm, sl.zeros(2, 3), sl.zeros(3, 2))
    assert.truthy(err:find("3-D", 1, true) and err:find("[2,3]", 1, true), err)
    ok, err = pcall(sl.bmm, sl.zeros(2, 2, 3), sl.zeros(4, 3, 2))
    assert.truthy(err:find("batch sizes differ", 1, true) and err:find("[4,3,2]", 1, true), err)
  end)
end)
