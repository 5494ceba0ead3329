-- spinlock.nn (lua/spinlock/nn, engine/core/nn.c via engine/lua/l_nn.c): finite-difference
-- gradient checks in float64 for every layer and for compositions (contiguous and strided
-- inputs), forward values against naive Lua loops and hand-computed numbers, float32 against
-- float64, flat parameter views, gradient accumulation, deterministic init and dropout, losses,
-- and error messages.
local sl = require "spinlock"
local nn = require "spinlock.nn"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local indices = SH.indices   -- row-major multi-indices of a shape (1-based)

local function dot(a, b)
  local s = 0
  for _, ix in ipairs(indices(a:shape())) do s = s + a:get(unpack(ix)) * b:get(unpack(ix)) end
  return s
end

local function randn(shape, seed, dtype)
  return sl.Generator(seed or 1):normal(shape, 0, 1, dtype or "float64")
end

-- Largest |a − b| (NaN if any side is NaN), through the elementwise ops and a reduction.
local function max_abs_diff(a, b)
  if a:numel() == 0 then return 0 end
  return (a:double() - b:double()):abs():max()
end

local error_of = SH.error_of   -- fn → its error message (asserts it raised one)

-- Finite-difference check of backward(x, r) for L(x, θ) = Σ forward(x)·r, in float64, over every
-- input element (x may be a strided view) and every entry of the flat parameter buffer.
-- opts.reset() runs before each forward (re-seeks a dropout generator).  Returns the worst
-- (|numeric − analytic| / max(1, |analytic|)).
local function gradcheck(m, x, opts)
  opts = opts or {}
  local reset = opts.reset or function() end
  local h = opts.h or 1e-6
  local p, gp = m:flat_parameters()
  reset()
  local y = m:forward(x)
  local r = randn(y:shape(), 99)
  m:zero_grad()
  local gx = m:backward(x, r)
  local function f() reset(); return dot(m:forward(x), r) end
  local worst = 0
  local function cmp(num, ana)
    local e = math.abs(num - ana) / math.max(1, math.abs(ana))
    if e > worst or e ~= e then worst = e end
  end
  for _, ix in ipairs(indices(x:shape())) do
    local v = x:get(unpack(ix))
    x:set(v + h, unpack(ix)); local fp = f()
    x:set(v - h, unpack(ix)); local fm = f()
    x:set(v, unpack(ix))
    cmp((fp - fm) / (2 * h), gx:get(unpack(ix)))
  end
  for i = 1, p:numel() do
    local v = p[i]
    p[i] = v + h; local fp = f()
    p[i] = v - h; local fm = f()
    p[i] = v
    cmp((fp - fm) / (2 * h), gp[i])
  end
  return worst
end

-- Values away from 0 (ReLU's kink): |x| in [0.1, 2.1).
local function away_from_zero(shape, seed)
  local t = sl.Generator(seed):uniform(shape, 0.1, 2.1, "float64")
  local s = sl.Generator(seed + 1):uniform(shape, 0, 1, "float64")
  for _, ix in ipairs(indices(shape)) do
    if s:get(unpack(ix)) < 0.5 then t:set(-t:get(unpack(ix)), unpack(ix)) end
  end
  return t
end

local TOL = 1e-6

describe("nn gradient checks (float64, finite differences)", function()
  before_each(function() nn.manual_seed(7) end)

  it("Linear with and without bias, 2-d and 3-d inputs", function()
    assert.is_true(gradcheck(nn.Linear(5, 3):double(), randn({ 4, 5 }, 1)) < TOL)
    assert.is_true(gradcheck(nn.Linear(5, 3, { bias = false }):double(), randn({ 4, 5 }, 2)) < TOL)
    assert.is_true(gradcheck(nn.Linear(4, 2, { dtype = "float64" }), randn({ 2, 3, 4 }, 3)) < TOL)
  end)

  it("BlockLinear: gradients; equals a dense Linear with the blocks on the diagonal", function()
    local groups = { { 3, 2 }, { 2, 4 }, { 1, 1 } }
    local m = nn.BlockLinear(groups):double()
    assert.is_true(gradcheck(m, randn({ 5, 6 }, 4)) < TOL)
    -- the same map as a dense [7, 6] weight with zeros off the blocks (naive reference)
    local dense = nn.Linear(6, 7):double()
    dense.weight:copy(sl.zeros({ 7, 6 }, "float64"))
    local r0, c0 = 0, 0
    for gi, gsz in ipairs(groups) do
      dense.weight:narrow(1, r0 + 1, gsz[2]):narrow(2, c0 + 1, gsz[1]):copy(m:block(gi))
      r0, c0 = r0 + gsz[2], c0 + gsz[1]
    end
    dense.bias:copy(m.bias)
    local x = randn({ 4, 6 }, 5)
    assert.is_true(max_abs_diff(m:forward(x), dense:forward(x)) < 1e-12)
    local go = randn({ 4, 7 }, 6)
    m:zero_grad(); dense:zero_grad()
    assert.is_true(max_abs_diff(m:backward(x, go), dense:backward(x, go)) < 1e-12)
    -- block 2's gradient is the dense gradient's block; off-block dense entries are not parameters
    assert.is_true(max_abs_diff(m.grad_weight:narrow(1, 7, 8):view(4, 2),
                                dense.grad_weight:narrow(1, 3, 4):narrow(2, 4, 2)) < 1e-12)
    -- output block g depends only on input block g
    local y0 = m:forward(x):clone()
    local x2 = x:clone()
    x2:narrow(2, 4, 2):copy(randn({ 4, 2 }, 7))
    local y1 = m:forward(x2)
    assert.are.equal(0, max_abs_diff(y1:narrow(2, 1, 2), y0:narrow(2, 1, 2)))
    assert.are.equal(0, max_abs_diff(y1:narrow(2, 7, 1), y0:narrow(2, 7, 1)))
    assert.is_true(max_abs_diff(y1:narrow(2, 3, 4), y0:narrow(2, 3, 4)) > 0)
    -- empty groups on either side: the bias alone, or nothing
    local z = nn.BlockLinear({ { 3, 0 }, { 0, 2 }, { 2, 3 }, { 0, 0 } }):double()
    assert.is_true(gradcheck(z, randn({ 3, 5 }, 8)) < TOL)
    assert.is_true(gradcheck(z, randn({ 5, 3 }, 9):t()) < TOL)
    assert.matches("groups", error_of(function() nn.BlockLinear({}) end))
    assert.matches("non%-negative integers", error_of(function()
      sl._nn.block_linear_forward(randn({ 2, 6 }, 1), m.weight, nil, { { 6.5, 1 } }) end))
    assert.matches("weight must have shape %[15%]", error_of(function()
      sl._nn.block_linear_forward(x, randn({ 2, 7 }, 1), nil, groups) end))
    assert.matches("input has 5 features but the groups add up to 6", error_of(function() m:forward(randn({ 2, 5 }, 1)) end))
  end)

  it("Linear on a strided (transposed) input", function()
    local base = randn({ 5, 4 }, 4)
    local x = base:t()                       -- [4, 5], not contiguous
    assert.is_false(x:is_contiguous())
    assert.is_true(gradcheck(nn.Linear(5, 3):double(), x) < TOL)
  end)

  for _, name in ipairs { "ReLU", "GELU", "SiLU", "Tanh" } do
    it(name .. " on contiguous and strided inputs", function()
      assert.is_true(gradcheck(nn[name](), away_from_zero({ 3, 4 }, 5)) < TOL)
      assert.is_true(gradcheck(nn[name](), away_from_zero({ 4, 3 }, 6):t()) < TOL)
    end)
  end

  it("LayerNorm with and without affine parameters", function()
    local ln = nn.LayerNorm(6):double()
    -- non-trivial affine parameters so that their gradients matter
    ln.weight:copy(randn({ 6 }, 8)); ln.bias:copy(randn({ 6 }, 9))
    assert.is_true(gradcheck(ln, randn({ 4, 6 }, 10)) < TOL)
    assert.is_true(gradcheck(nn.LayerNorm(5, { affine = false }):double(), randn({ 2, 3, 5 }, 11)) < TOL)
    assert.is_true(gradcheck(nn.LayerNorm(4):double(), randn({ 4, 3 }, 12):t()) < TOL)
  end)

  it("BatchNorm1d in training mode, [N, C] and [N, C, L]", function()
    local bn = nn.BatchNorm1d(3):double()
    bn.weight:copy(randn({ 3 }, 13)); bn.bias:copy(randn({ 3 }, 14))
    assert.is_true(gradcheck(bn, randn({ 5, 3 }, 15)) < TOL)
    assert.is_true(gradcheck(nn.BatchNorm1d(2):double(), randn({ 3, 2, 4 }, 16)) < TOL)
    assert.is_true(gradcheck(nn.BatchNorm1d(3, { affine = false }):double(), randn({ 3, 4 }, 17):t()) < TOL)
  end)

  it("BatchNorm1d in evaluation mode (running statistics are constants)", function()
    local bn = nn.BatchNorm1d(3):double()
    bn.running_mean:copy(randn({ 3 }, 18))
    bn.running_var:copy(sl.tensor({ 0.5, 2, 1.5 }, "float64"))
    bn.weight:copy(randn({ 3 }, 19))
    bn:evaluate()
    assert.is_true(gradcheck(bn, randn({ 4, 3 }, 20)) < TOL)
  end)

  it("Dropout with a fixed mask (generator re-seeked before each forward)", function()
    local d = nn.Dropout(0.4, { seed = 3 })
    local off = d.generator:offset()
    local w = gradcheck(d, randn({ 6, 5 }, 21), { reset = function() d.generator:seek(off) end })
    assert.is_true(w < TOL)
  end)

  it("Sequential, ResidualMLP and an MLP with BatchNorm and Dropout", function()
    local seq = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.LayerNorm(6), nn.Linear(6, 3), nn.Tanh()):double()
    assert.is_true(gradcheck(seq, randn({ 5, 4 }, 22)) < TOL)

    local res = nn.ResidualMLP(4, { hidden = 7, activation = "silu" }):double()
    assert.is_true(gradcheck(res, randn({ 3, 4 }, 23)) < TOL)
    assert.is_true(gradcheck(res, randn({ 4, 3 }, 24):t()) < TOL)

    local mlp = nn.MLP({ 3, 5, 4, 2 }, { activation = "gelu", batch_norm = true, dropout = 0.3 }):double()
    local gens = {}
    for _, m in ipairs(mlp:modules()) do if m.generator then gens[#gens + 1] = { m.generator, m.generator:offset() } end end
    local reset = function() for _, g in ipairs(gens) do g[1]:seek(g[2]) end end
    assert.is_true(gradcheck(mlp, randn({ 6, 3 }, 25), { reset = reset }) < TOL)
  end)
end)

describe("nn float32 kernels agree with the float64 ones", function()
  -- The gradient checks above run the float64 instantiation; this runs the same models in
  -- float32 (same init, same dropout mask) and compares output, grad_in and all parameter grads.
  local builders = {
    { "Linear", function() return nn.Linear(6, 5) end },
    { "activations", function() return nn.Sequential(nn.ReLU(), nn.GELU(), nn.SiLU(), nn.Tanh()) end },
    { "LayerNorm", function() return nn.LayerNorm(6) end },
    { "BatchNorm1d", function() return nn.BatchNorm1d(6) end },
    { "Dropout", function() return nn.Dropout(0.3, { seed = 2 }) end },
    { "ResidualMLP", function() return nn.ResidualMLP(6, { hidden = 9 }) end },
    { "BlockLinear", function() return nn.BlockLinear({ { 4, 3 }, { 2, 2 } }) end },
    { "MLP", function() return nn.MLP({ 6, 8, 4 }, { batch_norm = true, activation = "gelu" }) end },
  }
  for _, b in ipairs(builders) do
    it(b[1], function()
      nn.manual_seed(21)
      local m32 = b[2]()
      nn.manual_seed(21)
      local m64 = b[2]():double()
      local _, g32 = m32:flat_parameters()
      local _, g64 = m64:flat_parameters()
      local x64 = away_from_zero({ 7, 6 }, 31)
      local x32 = x64:float()
      local y32, y64 = m32:forward(x32), m64:forward(x64)
      local r64 = randn(y64:shape(), 32)
      local gi32, gi64 = m32:backward(x32, r64:float()), m64:backward(x64, r64)
      assert.are.equal("float32", y32:dtype())
      assert.is_true(max_abs_diff(y32, y64) < 1e-5)
      assert.is_true(max_abs_diff(gi32, gi64) < 1e-4)
      if g64:numel() > 0 then assert.is_true(max_abs_diff(g32, g64) < 1e-4) end
    end)
  end
end)

describe("nn forward values", function()
  before_each(function() nn.manual_seed(1) end)

  it("Linear equals a naive loop, float32 and float64", function()
    local lin = nn.Linear(3, 2)
    local x = randn({ 4, 3 }, 30, "float32")
    local y = lin:forward(x)
    for i = 1, 4 do
      for j = 1, 2 do
        local s = lin.bias[j]
        for k = 1, 3 do s = s + x:get(i, k) * lin.weight:get(j, k) end
        assert.is_true(math.abs(y:get(i, j) - s) < 1e-5)
      end
    end
    local y64 = lin:double():forward(x:double())
    assert.are.equal("float64", y64:dtype())
    assert.is_true(max_abs_diff(y, y64) < 1e-5)
  end)

  it("activations at hand-computed points", function()
    local x = sl.tensor({ -1, 0, 1, 2 }, "float64")
    local function vals(m) return m:forward(x):totable() end
    local relu, gelu, silu, tanh = vals(nn.ReLU()), vals(nn.GELU()), vals(nn.SiLU()), vals(nn.Tanh())
    assert.are.same({ 0, 0, 1, 2 }, relu)
    -- exact GELU: x·Φ(x); Φ(1) = 0.841344746068543, Φ(2) = 0.977249868051821
    assert.is_true(math.abs(gelu[3] - 0.841344746068543) < 1e-14)
    assert.is_true(math.abs(gelu[4] - 2 * 0.977249868051821) < 1e-14)
    assert.is_true(math.abs(gelu[1] + (1 - 0.841344746068543)) < 1e-14)
    assert.are.equal(0, gelu[2])
    assert.is_true(math.abs(silu[3] - 1 / (1 + math.exp(-1))) < 1e-15)
    assert.is_true(math.abs(tanh[4] - 0.964027580075817) < 1e-14)
    -- float32 agrees with float64
    local x32 = x:float()
    for _, name in ipairs { "ReLU", "GELU", "SiLU", "Tanh" } do
      assert.is_true(max_abs_diff(nn[name]():forward(x32), nn[name]():forward(x)) < 1e-6)
    end
  end)

  it("LayerNorm equals a naive loop", function()
    local ln = nn.LayerNorm(4)
    ln.weight:copy(sl.tensor({ 1, 2, 0.5, -1 })); ln.bias:copy(sl.tensor({ 0, 1, 0, 2 }))
    local x = sl.tensor({ { 1, 2, 3, 4 }, { -2, 0, 5, 1 } })
    local y = ln:forward(x)
    for i = 1, 2 do
      local m, v = 0, 0
      for j = 1, 4 do m = m + x:get(i, j) / 4 end
      for j = 1, 4 do v = v + (x:get(i, j) - m) ^ 2 / 4 end
      for j = 1, 4 do
        local e = (x:get(i, j) - m) / math.sqrt(v + 1e-5) * ln.weight[j] + ln.bias[j]
        assert.is_true(math.abs(y:get(i, j) - e) < 1e-5)
      end
    end
  end)

  it("BatchNorm1d: batch statistics, running-statistics update, evaluation", function()
    local bn = nn.BatchNorm1d(2, { momentum = 0.1 })
    local x = sl.tensor({ { 1, 10 }, { 2, 20 }, { 3, 60 } })
    local y = bn:forward(x)
    -- channel 1: mean 2, biased var 2/3, unbiased 1
    local rs = 1 / math.sqrt(2 / 3 + 1e-5)
    assert.is_true(math.abs(y:get(1, 1) - (-1 * rs)) < 1e-5)
    assert.is_true(math.abs(y:get(3, 1) - (1 * rs)) < 1e-5)
    assert.is_true(math.abs(bn.running_mean[1] - 0.2) < 1e-6)          -- 0.9·0 + 0.1·2
    assert.is_true(math.abs(bn.running_var[1] - (0.9 + 0.1 * 1)) < 1e-6) -- unbiased var 1
    -- channel 2: mean 30, unbiased var ((−20)² + (−10)² + 30²)/2 = 700
    assert.is_true(math.abs(bn.running_mean[2] - 3) < 1e-5)
    assert.is_true(math.abs(bn.running_var[2] - (0.9 + 70)) < 1e-3)
    assert.are.equal(1, bn.num_batches_tracked)
    bn:evaluate()
    local ye = bn:forward(sl.tensor({ { 0.2, 3 } }))
    assert.is_true(math.abs(ye:get(1, 1)) < 1e-6)
    assert.is_true(math.abs(ye:get(1, 2)) < 1e-6)
    assert.are.equal(1, bn.num_batches_tracked)
  end)

  it("losses equal naive loops; gradients match finite differences", function()
    local p = randn({ 3, 4 }, 40)
    local t = randn({ 3, 4 }, 41)
    local mse, hub, hub_sum = 0, 0, 0
    local delta = 0.7
    for _, ix in ipairs(indices({ 3, 4 })) do
      local d = p:get(unpack(ix)) - t:get(unpack(ix))
      mse = mse + d * d / 12
      local h = math.abs(d) < delta and 0.5 * d * d or delta * (math.abs(d) - 0.5 * delta)
      hub = hub + h / 12; hub_sum = hub_sum + h
    end
    local l1, g1 = nn.mse_loss(p, t)
    local l2, g2 = nn.huber_loss(p, t, { delta = delta })
    assert.is_true(math.abs(l1 - mse) < 1e-12)
    assert.is_true(math.abs(l2 - hub) < 1e-12)
    assert.is_true(math.abs(nn.HuberLoss { delta = delta, reduction = "sum" }:forward(p, t) - hub_sum) < 1e-12)
    local h = 1e-6
    for _, pair in ipairs { { g1, function() return (nn.mse_loss(p, t, { grad = false })) end },
                            { g2, function() return (nn.huber_loss(p, t, { delta = delta, grad = false })) end } } do
      for _, ix in ipairs(indices({ 3, 4 })) do
        local v = p:get(unpack(ix))
        p:set(v + h, unpack(ix)); local fp = pair[2]()
        p:set(v - h, unpack(ix)); local fm = pair[2]()
        p:set(v, unpack(ix))
        assert.is_true(math.abs((fp - fm) / (2 * h) - pair[1]:get(unpack(ix))) < 1e-7)
      end
    end
    -- module form and the gradient scale
    local g3 = nn.MSELoss():backward(p, t)
    assert.is_true(max_abs_diff(g3, g1) < 1e-15)
    local _, g4 = nn.mse_loss(p, t, { scale = 0.5 })
    assert.is_true(math.abs(g4:get(1, 1) * 2 - g1:get(1, 1)) < 1e-15)
    -- strided prediction
    local lt = nn.mse_loss(p:t():contiguous():t(), t, { grad = false })
    assert.is_true(math.abs(lt - mse) < 1e-12)
  end)
end)

describe("nn module mechanics", function()
  before_each(function() nn.manual_seed(3) end)

  it("flat_parameters: one buffer that every parameter and gradient is a view of", function()
    local m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4), nn.Linear(4, 2, { bias = false }))
    local before = {}
    for i, t in ipairs(m:parameters()) do before[i] = t:clone() end
    local p, g = m:flat_parameters()
    assert.are.equal(12 + 4 + 4 + 4 + 8, p:numel())
    assert.are.equal(p:numel(), m:num_parameters())
    assert.is_true(p:is_contiguous() and g:is_contiguous())
    for i, t in ipairs(m:parameters()) do
      assert.is_true(t:shares_storage(p))
      assert.are.equal(0, max_abs_diff(t, before[i]))
    end
    for _, t in ipairs(m:gradients()) do assert.is_true(t:shares_storage(g)) end
    assert.is_true(m:flat_gradients():shares_storage(g))
    -- writing the flat buffer changes the layers
    p:fill(0.5)
    assert.are.equal(0.5, m:get(1).weight:get(2, 3))
    -- a second call returns the same buffers
    local p2, g2 = m:flat_parameters()
    assert.is_true(p2:shares_storage(p) and g2:shares_storage(g))
    -- names in parameter order
    local names = {}
    for _, e in ipairs(m:named_parameters()) do names[#names + 1] = e.name end
    assert.are.same({ "1.weight", "1.bias", "3.weight", "3.bias", "4.weight" }, names)
  end)

  it("backward accumulates parameter gradients; zero_grad clears them", function()
    local m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    local _, g = m:flat_parameters()
    local x = randn({ 5, 3 }, 50, "float32")
    local r = randn({ 5, 2 }, 51, "float32")
    m:zero_grad()
    m:forward(x); m:backward(x, r)
    local once = g:clone()
    m:forward(x); m:backward(x, r)
    for i = 1, g:numel() do assert.is_true(math.abs(g[i] - 2 * once[i]) <= 1e-6 * math.max(1, math.abs(once[i]))) end
    m:zero_grad()
    assert.are.equal(0, sl._nn.sumsq(g))
  end)

  it("init is deterministic from the seed and within torch's bounds", function()
    nn.manual_seed(11)
    local a = nn.Sequential(nn.Linear(16, 8), nn.Linear(8, 4))
    nn.manual_seed(11)
    local b = nn.Sequential(nn.Linear(16, 8), nn.Linear(8, 4))
    local pa, pb = a:flat_parameters(), b:flat_parameters()
    assert.are.equal(0, max_abs_diff(pa, pb))
    local c = nn.Linear(16, 8, { seed = 5 })
    local d = nn.Linear(16, 8, { seed = 5 })
    assert.are.equal(0, max_abs_diff(c.weight, d.weight))
    assert.is_true(max_abs_diff(c.weight, a:get(1).weight) > 0)
    local bound = 1 / math.sqrt(16)
    for _, ix in ipairs(indices({ 8, 16 })) do assert.is_true(math.abs(c.weight:get(unpack(ix))) <= bound) end
    -- a double model has the same initial values as the float one
    nn.manual_seed(11)
    local e = nn.Linear(16, 8, { dtype = "float64" })
    assert.are.equal(0, max_abs_diff(e.weight, a:get(1).weight))
    -- LayerNorm / BatchNorm start at weight 1, bias 0
    local ln = nn.LayerNorm(3)
    assert.are.same({ 1, 1, 1 }, ln.weight:totable())
    assert.are.same({ 0, 0, 0 }, ln.bias:totable())
  end)

  it("Dropout: seeded masks, scaling, keep rate, evaluation is the identity", function()
    local x = sl.ones({ 200, 50 })
    local d1, d2 = nn.Dropout(0.25, { seed = 9 }), nn.Dropout(0.25, { seed = 9 })
    local y1, y2 = d1:forward(x), d2:forward(x)
    assert.are.equal(0, max_abs_diff(y1, y2))
    local kept, total = 0, 0
    local flat = y1:view(-1)
    for i = 1, flat:numel() do
      local v = flat[i]
      assert.is_true(v == 0 or math.abs(v - 1 / 0.75) < 1e-6)
      if v ~= 0 then kept = kept + 1 end
      total = total + 1
    end
    assert.is_true(math.abs(kept / total - 0.75) < 0.02)
    -- the next forward draws a different mask
    assert.is_true(max_abs_diff(d1:forward(x), y1) > 0)
    -- backward multiplies by the same mask
    local g = d1:backward(x, x)
    assert.are.equal(0, max_abs_diff(g, d1.output))
    d1:evaluate()
    assert.are.equal(x, d1:forward(x))
    assert.are.equal(x, d1:backward(x, x))
    assert.are.equal(0, max_abs_diff(nn.Dropout(0):forward(x), x))
    assert.are.equal(0, sl._nn.sumsq(nn.Dropout(1, { seed = 1 }):forward(x)))
    -- globally seeded dropouts: the k-th Dropout after manual_seed gets the same stream
    nn.manual_seed(4); local a = nn.Dropout(0.5):forward(x)
    nn.manual_seed(4); local b = nn.Dropout(0.5):forward(x)
    assert.are.equal(0, max_abs_diff(a, b))
  end)

  it("train/evaluate propagate to children", function()
    local m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    m:evaluate()
    for _, c in ipairs(m:modules()) do assert.is_false(c.training) end
    m:train()
    for _, c in ipairs(m:modules()) do assert.is_true(c.training) end
  end)

  it("type conversion, state_dict round trip", function()
    local m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m:forward(randn({ 4, 3 }, 60, "float32"))
    local st = m:state_dict()
    assert.is_not_nil(st["2.running_mean"])
    local m2 = nn.Sequential(nn.Linear(3, 2, { seed = 99 }), nn.BatchNorm1d(2))
    m2:load_state_dict(st)
    for k, v in pairs(m2:state_dict()) do assert.are.equal(0, max_abs_diff(v, st[k])) end
    m:double()
    assert.are.equal("float64", m:get(1).weight:dtype())
    assert.are.equal("float64", m:get(2).running_var:dtype())
    assert.are.equal("float64", (m:flat_parameters()):dtype())
    assert.is_true(error_of(function() m2:load_state_dict({}) end):find("missing entry '1.weight'", 1, true) ~= nil)
  end)

  it("a small MLP learns a linear map with plain gradient steps", function()
    local m = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 2))
    local p, g = m:flat_parameters()
    local x = randn({ 64, 4 }, 70, "float32")
    local W = sl.tensor({ { 1, -1, 0.5, 0 }, { 0, 2, 0, -1 } })
    local t = sl._nn.linear_forward(x, W, nil)
    local first, last
    for step = 1, 200 do
      m:zero_grad()
      local loss, gl = nn.mse_loss(m:forward(x), t)
      m:backward(x, gl)
      sl._nn.axpy_(p, -0.05, g)
      first = first or loss
      last = loss
    end
    assert.is_true(last < 0.1 * first)
  end)
end)

describe("nn thread-count independence", function()
  it("kernels on inputs above the parallel threshold give identical bits with 1 and 2 threads", function()
    local prev = sl.num_threads()
    local x = randn({ 1100, 300 }, 80, "float32")    -- 330k elements: the parallel paths
    local r = randn({ 1100, 300 }, 81, "float32")
    local function run()
      nn.manual_seed(5)
      local m = nn.Sequential(nn.LayerNorm(300), nn.GELU(), nn.Dropout(0.2),
                              nn.Linear(300, 300), nn.SiLU())
      local bn = nn.BatchNorm1d(300)
      local _, g = m:flat_parameters()
      local y = bn:forward(m:forward(x))
      local loss, gl = nn.huber_loss(y, r, { delta = 0.5 })
      m:backward(x, bn:backward(m.output, gl))
      return y, g:clone(), loss, bn.grad_weight:clone(), bn.running_var:clone(), sl._nn.sumsq(g)
    end
    sl.set_num_threads(1)
    local a = { run() }
    sl.set_num_threads(2)
    local b = { run() }
    sl.set_num_threads(prev)
    assert.are.equal(0, max_abs_diff(a[1], b[1]))
    assert.are.equal(0, max_abs_diff(a[2], b[2]))
    assert.are.equal(a[3], b[3])
    assert.are.equal(0, max_abs_diff(a[4], b[4]))
    assert.are.equal(0, max_abs_diff(a[5], b[5]))
    assert.are.equal(a[6], b[6])
  end)
end)

describe("nn errors", function()
  it("names the op and says what was expected", function()
    local lin = nn.Linear(3, 2)
    assert.is_truthy(error_of(function() lin:forward(sl.zeros(4, 5)) end)
      :find("linear: weight has 3 input features but the input has 5", 1, true))
    assert.is_truthy(error_of(function() lin:forward(sl.zeros({ 4, 3 }, "float64")) end)
      :find("linear: weight is float32 but the input is float64", 1, true))
    assert.is_truthy(error_of(function() lin:forward(sl.zeros({ 4, 3 }, "int32")) end)
      :find("input must be float32 or float64, got int32", 1, true))
    lin:forward(sl.zeros(4, 3))
    assert.is_truthy(error_of(function() lin:backward(sl.zeros(4, 3), sl.zeros(4, 3)) end)
      :find("grad_output has shape [4,3] but the output has shape [4,2]", 1, true))
    assert.is_truthy(error_of(function() nn.BatchNorm1d(2):forward(sl.zeros(1, 2)) end)
      :find("more than 1 value per channel", 1, true))
    assert.is_truthy(error_of(function() nn.BatchNorm1d(2):forward(sl.zeros(4, 3)) end)
      :find("batch_norm: weight must have shape [3]", 1, true))
    assert.is_truthy(error_of(function() nn.LayerNorm(4):forward(sl.zeros(2, 3)) end)
      :find("layer_norm: weight must have shape [3]", 1, true))
    assert.is_truthy(error_of(function() nn.Dropout(1.5) end):find("p must be a number in [0, 1]", 1, true))
    assert.is_truthy(error_of(function() nn.mse_loss(sl.zeros(2, 3), sl.zeros(3, 2)) end)
      :find("mse_loss: the prediction has shape [2,3] but the target has shape [3,2]", 1, true))
    assert.is_truthy(error_of(function() nn.huber_loss(sl.zeros(2), sl.zeros(2), { delta = 0 }) end)
      :find("delta must be > 0", 1, true))
    assert.is_truthy(error_of(function() nn.activation("softsign") end):find("unknown activation 'softsign'", 1, true))
    assert.is_truthy(error_of(function() nn.LayerNorm(3):backward(sl.zeros(2, 3), sl.zeros(2, 3)) end)
      :find("backward called before forward", 1, true))
    local mixed = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2, { dtype = "float64" }))
    assert.is_truthy(error_of(function() mixed:flat_parameters() end):find("parameter 2.weight is float64", 1, true))
  end)
end)
