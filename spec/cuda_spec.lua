-- CUDA backend parity specs (busted tag `cuda`, excluded from `make test`):
--   build/spinlock run /usr/bin/busted --tags=cuda spec/cuda_spec.lua
-- Every op runs on CUDA and on the CPU with the same inputs (contiguous, strided, broadcast) and
-- the results are compared with a per-op tolerance (TOL below: max |cuda - cpu| divided by
-- max(1, max |cpu|)).  RNG words and uniform/bernoulli draws must match bit for bit.
--
-- Without a CUDA device every test that needs one is marked pending with the reason from
-- sl.backend_info(); the error-path tests still run.  `make test-fakecuda` runs this file against
-- a host-memory stand-in backend (engine/cuda/dev/fake_backend.c) that checks the plumbing
-- (transfers, dispatch, argument handling, RNG offsets) with the CPU kernels' own numbers.
local sl = require "spinlock"

local info = sl.backend_info()
local HAVE = info.cuda_available
local FAKE = os.getenv("SPINLOCK_FAKE_CUDA") == "1"

-- Relative tolerances per op on a real GPU (the fake backend: within 1e-6, see check_close).  Why not 0:
-- CUDA's float libm differs from glibc's by an ulp or two, cuBLAS/cuFFT sum in another order.
local TOL = {
  add = 0, sub = 0, mul = 0, div = 0, minimum = 0, maximum = 0,
  pow = 2e-6, atan2 = 2e-6, fmod = 1e-6,
  compare = 0,
  unary = 4e-6, unary_exact = 0,
  reduce = 2e-6,
  matmul = 2e-5, matmul_tf32 = 1e-2,
  conv2d = 2e-5, conv2d_tf32 = 1e-2,
  instance_norm = 2e-5,
  fft = 2e-5,
  normal = 2e-6, laplace = 2e-6,
}

local function needs_cuda()
  if HAVE then return true end
  pending("no CUDA device: " .. tostring(info.reason))
  return false
end

-- Largest |a - b| relative to max(1, max |b|); a on CUDA, b on the CPU.
local function relerr(a, b)
  local la, lb = a:cpu():double():contiguous():tolist(), b:double():contiguous():tolist()
  assert.are.equal(#lb, #la, "element counts")
  local m, scale = 0, 1
  for i = 1, #lb do
    local x, y = la[i], lb[i]
    if y ~= y then
      if x == x then return math.huge, i end
    elseif x ~= y then
      local d = math.abs(x - y)
      if d > m then m = d end
    end
    if y == y and math.abs(y) ~= math.huge and math.abs(y) > scale then scale = math.abs(y) end
  end
  return m / scale
end

local function check_close(a, b, tol, what)
  assert.are.same(b:shape(), a:shape(), (what or "") .. ": shape")
  assert.are.equal(b:dtype(), a:dtype(), (what or "") .. ": dtype")
  local e = relerr(a, b)
  -- The fake backend runs the CPU kernels, but on other layouts and summation splits (vector
  -- vs scalar libm paths, row vs whole-tensor sums): within 1e-6, not always bit for bit.
  local limit = FAKE and math.max(tol, 1e-6) or tol
  if e > limit then error(string.format("%s: relative error %.3g exceeds %.3g", what or "result", e, limit), 2) end
end

local function check_identical(a, b, what)
  local la, lb = a:cpu():contiguous():tolist(), b:contiguous():tolist()
  assert.are.equal(#lb, #la, what)
  for i = 1, #lb do
    if la[i] ~= lb[i] and not (la[i] ~= la[i] and lb[i] ~= lb[i]) then
      error(string.format("%s: element %d differs: %.17g (cuda) vs %.17g (cpu)", what or "tensors", i, la[i], lb[i]), 2)
    end
  end
end

local function randn(shape, seed, lo, hi)
  local g = sl.Generator(seed or 1)
  if lo then return g:uniform(shape, lo, hi) end
  return g:normal(shape, 0, 1)
end

local base_bytes
before_each(function() collectgarbage(); collectgarbage(); base_bytes = sl.memory_info().cuda_bytes end)
after_each(function()
  collectgarbage(); collectgarbage()
  if HAVE then assert.are.equal(base_bytes, sl.memory_info().cuda_bytes, "CUDA bytes leaked by the test") end
end)

describe("cuda backend #cuda", function()
  describe("availability", function()
    it("reports why CUDA is unavailable, and refuses CUDA requests with that reason", function()
      if HAVE then
        assert.is_true(info.devices >= 1)
        assert.is_string(info.device_names[1])
        return
      end
      assert.is_true(#info.reason > 0)
      local ok, err = pcall(sl.set_default_device, "cuda")
      assert.is_false(ok)
      assert.matches("CUDA is not available", err, 1, true)
      assert.matches(info.reason, err, 1, true)
      ok, err = pcall(function() return sl.zeros(2):cuda() end)
      assert.is_false(ok)
      assert.matches("cuda: CUDA is not available", err, 1, true)
      assert.are.equal("cpu", sl.get_default_device())
    end)

    it("rejects unknown device names", function()
      local ok, err = pcall(sl.set_default_device, "tpu")
      assert.is_false(ok)
      assert.matches('expected "cpu" or "cuda", got tpu', err, 1, true)
    end)

    it("keeps t:to(dtype) working", function()
      assert.are.equal("float64", sl.tensor({1, 2}):to("float64"):dtype())
      assert.are.equal("cpu", sl.tensor({1, 2}):device())
    end)
  end)

  describe("transfers", function()
    it("round-trips every dtype exactly, and counts device bytes", function()
      if not needs_cuda() then return end
      for _, dt in ipairs({ "float32", "float64", "int32", "int64", "uint8" }) do
        local t = sl.tensor({ { 1, 2, 3 }, { 4, 5, 250 } }, dt)
        local c = t:cuda()
        assert.are.equal("cuda", c:device())
        assert.is_true(c:is_cuda())
        assert.are.equal(dt, c:dtype())
        check_identical(c, t, dt)
        assert.are.same(t:totable(), c:to("cpu"):totable())
      end
      local c = sl.zeros(1000):cuda()
      assert.is_true(sl.memory_info().cuda_bytes >= base_bytes + 4000)
      c:free()
    end)

    it("moves strided views and writes into views without touching neighbours", function()
      if not needs_cuda() then return end
      local t = randn({ 4, 5, 6 }, 3)
      local c = t:cuda()
      check_identical(c:transpose(1, 3), t:transpose(1, 3), "transpose")
      check_identical(c:narrow(2, 2, 3):contiguous(), t:narrow(2, 2, 3):contiguous(), "narrow")
      check_identical(t:transpose(1, 2):cuda(), t:transpose(1, 2), "strided upload")
      local d = c:clone()
      d:narrow(3, 2, 2):copy(sl.ones(4, 5, 2))
      local ref = t:clone()
      ref:narrow(3, 2, 2):copy(sl.ones(4, 5, 2))
      check_identical(d, ref, "copy into a view")
      d:narrow(1, 1, 1):fill(7)
      ref:narrow(1, 1, 1):fill(7)
      check_identical(d, ref, "fill of a view")
      d:fill(0)
      assert.are.equal(0, d:cpu():abs():sum())
      check_identical(c:double(), t:double(), "dtype conversion on the device")
      d[2][3][4] = 5
      assert.are.equal(5, d:get(2, 3, 4))
    end)

    it("makes constructors and generator draws follow the default device", function()
      if not needs_cuda() then return end
      sl.set_default_device("cuda")
      local ok, err = pcall(function()
        assert.are.equal("cuda", sl.zeros(2, 3):device())
        assert.are.equal("cuda", sl.tensor({ 1, 2 }):device())
        assert.are.equal("cuda", sl.Generator(1):normal({ 3 }):device())
      end)
      sl.set_default_device("cpu")
      assert(ok, err)
      assert.are.equal("cpu", sl.zeros(2):device())
    end)

    it("refuses mixed devices with a message naming the op", function()
      if not needs_cuda() then return end
      local ok, err = pcall(function() return sl.ones(3):cuda() + sl.ones(3) end)
      assert.is_false(ok)
      assert.matches("add: argument 2 is on cpu but another argument is on cuda", err, 1, true)
      ok, err = pcall(function() return sl.ones(3):double():cuda():exp() end)
      assert.is_false(ok)
      assert.matches("exp: only float32", err, 1, true)
    end)
  end)

  describe("elementwise", function()
    local bin = { "add", "sub", "mul", "div", "pow", "minimum", "maximum", "atan2", "fmod",
                  "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or" }
    it("binary ops match the CPU (contiguous, broadcast, strided, scalars)", function()
      if not needs_cuda() then return end
      local a = randn({ 4, 3, 5 }, 11, 0.5, 2)
      local b = randn({ 3, 1 }, 12, 0.5, 2)
      local at = randn({ 5, 3, 4 }, 13, 0.5, 2):transpose(1, 3)
      for _, op in ipairs(bin) do
        local tol = TOL[op] or TOL.compare
        check_close(sl[op](a:cuda(), b:cuda()), sl[op](a, b), tol, op .. " broadcast")
        check_close(sl[op](at:cuda(), a:cuda()), sl[op](at, a), tol, op .. " strided")
        check_close(sl[op](a:cuda(), 1.5), sl[op](a, 1.5), tol, op .. " tensor-scalar")
        check_close(sl[op](1.5, a:cuda()), sl[op](1.5, a), tol, op .. " scalar-tensor")
      end
      check_close(a:cuda() * b:cuda() + 1, a * b + 1, 0, "operators")
    end)

    local un = { "abs", "neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "sin", "cos",
                 "tan", "tanh", "sigmoid", "erf", "relu", "gelu", "silu", "softplus", "sign", "floor",
                 "ceil", "round", "trunc", "reciprocal", "isnan", "isinf", "isfinite", "logical_not" }
    local exact = { abs = true, neg = true, square = true, relu = true, sign = true, floor = true, ceil = true,
                    round = true, trunc = true, isnan = true, isinf = true, isfinite = true, logical_not = true,
                    sqrt = true, reciprocal = true }
    it("unary ops match the CPU", function()
      if not needs_cuda() then return end
      local x = randn({ 6, 7 }, 21, -3, 3)
      local pos = randn({ 6, 7 }, 22, 0.1, 4)
      for _, op in ipairs(un) do
        local input = (op == "log" or op == "sqrt" or op == "rsqrt" or op == "log1p") and pos or x
        local tol = exact[op] and TOL.unary_exact or TOL.unary
        check_close(sl[op](input:cuda()), sl[op](input), tol, op)
        check_close(input:cuda():t()[op](input:cuda():t()), input:t()[op](input:t()), tol, op .. " strided")
      end
    end)
  end)

  describe("reductions", function()
    it("sum/mean/var/std/min/max match the CPU over all, one and several dims", function()
      if not needs_cuda() then return end
      local t = randn({ 3, 4, 5, 6 }, 31)
      local s = t:transpose(2, 4)
      for _, op in ipairs({ "sum", "mean", "var", "std", "amin", "amax" }) do
        local c, cs = t:cuda(), s:cuda()
        local whole = c[op](c)
        assert.is_number(whole)
        local ref = t[op](t)
        local lim = (FAKE and math.max(TOL.reduce, 1e-6) or TOL.reduce) * math.max(1, math.abs(ref))
        assert.is_true(math.abs(whole - ref) <= lim, op .. " all")
        check_close(c[op](c, 2), t[op](t, 2), TOL.reduce, op .. " dim 2")
        check_close(c[op](c, -1), t[op](t, -1), TOL.reduce, op .. " dim -1")
        check_close(c[op](c, { 1, 3 }), t[op](t, { 1, 3 }), TOL.reduce, op .. " dims {1,3}")
        check_close(cs[op](cs, 3), s[op](s, 3), TOL.reduce, op .. " strided")
      end
      local c = t:cuda()
      check_close(c:sum(2, true), t:sum(2, true), TOL.reduce, "keepdim")
      check_close(c:var(2, false), t:var(2, false), TOL.reduce, "biased var")
      check_close(c:max({ 2 }), t:max({ 2 }), 0, "max over a dims table")
      local ok, err = pcall(function() return c:max(2) end)
      assert.is_false(ok)
      assert.matches("not implemented on cuda", err, 1, true)
    end)
  end)

  describe("matmul", function()
    it("2-D, batched and broadcast products match the CPU, with TF32 off and on", function()
      if not needs_cuda() then return end
      local a, b = randn({ 33, 17 }, 41), randn({ 17, 29 }, 42)
      local ba, bb = randn({ 3, 8, 16 }, 43), randn({ 3, 16, 5 }, 44)
      check_close(a:cuda():matmul(b:cuda()), a:matmul(b), TOL.matmul, "2-D")
      check_close(sl.matmul(ba:cuda(), bb:cuda()), sl.matmul(ba, bb), TOL.matmul, "batched")
      check_close(sl.matmul(ba:cuda(), bb[1]:cuda()), sl.matmul(ba, bb[1]), TOL.matmul, "batch x matrix")
      check_close(b:t():cuda():matmul(a:t():cuda()), b:t():matmul(a:t()), TOL.matmul, "transposed inputs")
      sl.cuda_tf32(true)
      local ok, err = pcall(check_close, a:cuda():matmul(b:cuda()), a:matmul(b), TOL.matmul_tf32, "TF32")
      sl.cuda_tf32(false)
      assert(ok, err)
    end)
  end)

  describe("conv2d", function()
    it("matches the CPU for k = 1, 3, 5, zero and circular padding, with and without bias", function()
      if not needs_cuda() then return end
      local x = randn({ 2, 3, 9, 11 }, 51)
      for _, k in ipairs({ 1, 3, 5 }) do
        local w, bias = randn({ 4, 3, k, k }, 52 + k), randn({ 4 }, 60 + k)
        for _, pad in ipairs({ "zeros", "circular" }) do
          local got = sl.conv2d(x:cuda(), w:cuda(), bias:cuda(), { padding = pad })
          check_close(got, sl.conv2d(x, w, bias, { padding = pad }), TOL.conv2d, ("k=%d %s"):format(k, pad))
          got = sl.conv2d(x:cuda(), w:cuda(), nil, { padding = pad })
          check_close(got, sl.conv2d(x, w, nil, { padding = pad }), TOL.conv2d, ("k=%d %s no bias"):format(k, pad))
        end
      end
    end)
  end)

  describe("instance_norm", function()
    it("matches the CPU with every fused activation", function()
      if not needs_cuda() then return end
      local x = randn({ 2, 3, 8, 8 }, 71, -2, 5)
      local w, b = randn({ 3 }, 72), randn({ 3 }, 73)
      for _, act in ipairs({ "none", "relu", "gelu", "silu", "tanh" }) do
        check_close(sl.instance_norm(x:cuda(), w:cuda(), b:cuda(), 1e-5, act), sl.instance_norm(x, w, b, 1e-5, act),
                    TOL.instance_norm, act)
      end
      check_close(sl.instance_norm(x:cuda()), sl.instance_norm(x), TOL.instance_norm, "no affine")
    end)
  end)

  describe("fft", function()
    it("rfft2 / irfft2 match the CPU for each norm", function()
      if not needs_cuda() then return end
      local x = randn({ 2, 3, 12, 10 }, 81)
      for _, norm in ipairs({ "backward", "ortho", "forward" }) do
        local X = sl.rfft2(x:cuda(), norm)
        check_close(X, sl.rfft2(x, norm), TOL.fft, "rfft2 " .. norm)
        check_close(sl.irfft2(X, { 12, 10 }, norm), sl.irfft2(sl.rfft2(x, norm), { 12, 10 }, norm), TOL.fft, "irfft2 " .. norm)
      end
      check_close(sl.irfft2(sl.rfft2(x:cuda())), x, TOL.fft, "round trip")
    end)
  end)

  describe("rng", function()
    -- Generator identity from its printed form (stream id) and seed: the CPU reference words come
    -- from the raw bijection sl.philox, independently of both fills.
    local function stream_words(seed, g)
      local id = tostring(g):match("stream=0x(%x+)")
      local hi = tonumber(id:sub(1, 8), 16)
      local lo = tonumber(id:sub(9, 16), 16)
      return function(p)   -- word at stream position p
        local b = math.floor(p / 4)
        local w = { sl.philox({ b % 4294967296, math.floor(b / 4294967296), lo, hi }, { seed, 0 }) }
        return w[p % 4 + 1]
      end
    end

    it("raw u32 words equal the Philox reference bit for bit (any offset)", function()
      if not needs_cuda() then return end
      local g = sl.Generator { seed = 1234, purpose = 7, a = 3, b = 9 }
      local word = stream_words(1234, g)
      for _, off in ipairs({ 0, 3, 5, 1024 + 2 }) do
        g:seek(off)
        local got = sl.cuda_rng_u32(g, 37):cpu():tolist()
        for i = 1, 37 do
          local w = got[i] < 0 and got[i] + 4294967296 or got[i]
          if w ~= word(off + i - 1) then error(("offset %d word %d: %d vs %d"):format(off, i, w, word(off + i - 1))) end
        end
      end
    end)

    it("uniform, bernoulli and f64 uniform fills equal the CPU bit for bit; generators advance alike", function()
      if not needs_cuda() then return end
      for _, case in ipairs({
        { "uniform_", "float32", 0, 1 }, { "uniform_", "float32", -1, 1 }, { "uniform_", "float64", 0, 1 },
        { "bernoulli_", "float32", 0.3 }, { "bernoulli_", "float64", 0.7 },
      }) do
        local fill, dt, p1, p2 = case[1], case[2], case[3], case[4]
        for _, off in ipairs({ 0, 1, 6 }) do
          local g1 = sl.Generator { seed = 99, purpose = 2, a = off }
          local g2 = g1:clone()
          g1:seek(off); g2:seek(off)
          local c = g1[fill](g1, sl.zeros({ 5, 7 }, dt):cuda(), p1, p2)
          local r = g2[fill](g2, sl.zeros({ 5, 7 }, dt), p1, p2)
          check_identical(c, r, ("%s %s offset %d"):format(fill, dt, off))
          assert.are.equal(g2:offset(), g1:offset())
        end
      end
      -- strided target: row-major element order as on the CPU
      local g1, g2 = sl.Generator(5), sl.Generator(5)
      local c = sl.zeros(4, 6):cuda()
      g1:uniform_(c:t())
      local r = sl.zeros(4, 6)
      g2:uniform_(r:t())
      check_identical(c, r, "strided uniform")
    end)

    it("normal and laplace fills agree with the CPU to a few ulp", function()
      if not needs_cuda() then return end
      for _, kind in ipairs({ "normal", "laplace" }) do
        for _, dt in ipairs({ "float32", "float64" }) do
          local g1, g2 = sl.Generator(77), sl.Generator(77)
          g1:seek(2); g2:seek(2)
          local c = g1[kind](g1, { 9, 13 }, 0.5, 2, dt)   -- CPU tensor (default device cpu)
          local cc = g2[kind .. "_"](g2, sl.zeros({ 9, 13 }, dt):cuda(), 0.5, 2)
          check_close(cc, c, TOL[kind], kind .. " " .. dt)
          assert.are.equal(g1:offset(), g2:offset())
        end
      end
    end)
  end)

  describe("generate pipeline", function()
    it("a tiny generate on cuda matches cpu", function()
      pending("the operator module (engine/core/sl_operator.h) has no CUDA path yet: forward and rollouts need CPU tensors; "
              .. "see docs/cuda.md, 'Operator rollouts'")
    end)
  end)
end)
