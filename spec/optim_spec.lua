-- spinlock.optim: Adam / AdamW against hand-computed two-step updates, clipping by global norm,
-- the cosine (warmup) and reduce-on-plateau schedules, state save/load, argument errors.
-- The Adam reference numbers were worked out by hand with torch's update rule (and checked with
-- scalar Python at development time); they are literals here.
local sl = require "spinlock"
local nn = require "spinlock.nn"
local optim = require "spinlock.optim"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) * math.max(1, math.abs(b)) end

local error_of = SH.error_of   -- fn → its error message (asserts it raised one)

-- Two Adam steps on p0 = [1, -2] with gradients [0.5, -1] then [0.1, 0.3], lr 0.1, betas
-- (0.9, 0.999), eps 1e-8; returns the parameters after each step.
local function two_steps(ctor, opts, dtype)
  local p = sl.tensor({ 1, -2 }, dtype or "float64")
  local g = sl.zeros({ 2 }, dtype or "float64")
  opts.lr = 0.1
  local opt = ctor(p, g, opts)
  g:copy(sl.tensor({ 0.5, -1 }, "float64")); opt:step()
  local p1 = p:totable()
  g:copy(sl.tensor({ 0.1, 0.3 }, "float64")); opt:step()
  return p1, p:totable(), opt
end

describe("optim.Adam / AdamW", function()
  it("Adam: two steps equal the hand-computed update", function()
    -- step 1: m̂ = g, v̂ = g², so each parameter moves by lr·g/(|g| + eps) ≈ ±0.1
    -- step 2: m = [0.055, −0.06], v = [2.5975e-4, 1.089e-3], bias corrections 0.19 and 0.001999
    local p1, p2 = two_steps(optim.Adam, {})
    assert.is_true(close(p1[1], 0.900000002) and close(p1[2], -1.900000001))
    assert.is_true(close(p2[1], 0.8196959063846517) and close(p2[2], -1.8572151424292265))
  end)

  it("AdamW: decoupled weight decay p·(1 − lr·wd) before the Adam step", function()
    local p1, p2 = two_steps(optim.AdamW, { weight_decay = 0.1 })
    assert.is_true(close(p1[1], 0.890000002) and close(p1[2], -1.880000001))
    assert.is_true(close(p2[1], 0.8007959063646517) and close(p2[2], -1.8184151424192265))
  end)

  it("Adam with weight_decay: L2 term added to the gradient", function()
    local p1, p2 = two_steps(optim.Adam, { weight_decay = 0.1 })
    assert.is_true(close(p1[1], 0.9000000016666666) and close(p1[2], -1.9000000008333333))
    assert.is_true(close(p2[1], 0.8136483454297575) and close(p2[2], -1.8400703555381717))
  end)

  it("float32 buffers agree with float64 to float precision", function()
    local _, p2 = two_steps(optim.Adam, {}, "float32")
    assert.is_true(close(p2[1], 0.8196959063846517, 1e-6) and close(p2[2], -1.8572151424292265, 1e-6))
  end)

  it("works on a module's flat buffers and zero_grad clears the gradients", function()
    nn.manual_seed(2)
    local m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    local opt = optim.AdamW(m, { lr = 1e-2 })
    local p, g = m:flat_parameters()
    assert.is_true(opt.params:shares_storage(p) and opt.grads:shares_storage(g))
    local x = sl.Generator(5):normal({ 32, 3 })
    local t = sl._nn.linear_forward(x, sl.tensor({ { 0.5, -1, 2 } }), sl.tensor({ 0.3 }))
    local first, last
    for _ = 1, 150 do
      opt:zero_grad()
      local loss, gl = nn.mse_loss(m:forward(x), t)
      m:backward(x, gl)
      opt:step()
      first = first or loss; last = loss
    end
    assert.is_true(last < 0.05 * first)
    opt:zero_grad()
    assert.are.equal(0, sl._nn.sumsq(g))
  end)

  it("state_dict / load_state_dict: a restored optimiser continues identically", function()
    local function setup()
      local p = sl.tensor({ 1, -2, 3 }, "float64")
      local g = sl.zeros({ 3 }, "float64")
      return p, g, optim.AdamW(p, g, { lr = 0.05, weight_decay = 0.02 })
    end
    local pa, ga, a = setup()
    for k = 1, 3 do ga:copy(sl.tensor({ k, -k, 0.5 })); a:step() end
    local st = a:state_dict()
    for _, v in pairs(st) do assert.is_true(sl.is_tensor(v)) end
    local pb, gb, b = setup()
    pb:copy(pa)
    b:load_state_dict(st)
    assert.are.equal(3, b.step_count)
    ga:copy(sl.tensor({ 0.1, 0.2, 0.3 })); gb:copy(ga)
    a:step(); b:step()
    assert.are.same(pa:totable(), pb:totable())
    -- the saved tensors are copies, not the live state
    assert.is_false(st.exp_avg:shares_storage(a.exp_avg))
    local _, _, c = setup()
    local bad = { exp_avg = sl.zeros(4, "float64"), exp_avg_sq = sl.zeros(4, "float64"), hyper = st.hyper }
    assert.is_truthy(error_of(function() c:load_state_dict(bad) end):find("state has 4 moments but the optimiser has 3", 1, true))
  end)

  it("rejects bad arguments with a message", function()
    local p, g = sl.zeros(3), sl.zeros(3)
    assert.is_truthy(error_of(function() optim.Adam(p, g, { lr = -1 }) end):find("lr must be a number >= 0", 1, true))
    assert.is_truthy(error_of(function() optim.Adam(p, g, { betas = { 0.9, 1 } }) end):find("betas must be in [0, 1)", 1, true))
    assert.is_truthy(error_of(function() optim.Adam(p, sl.zeros(4)) end):find("differ in shape or dtype", 1, true))
    assert.is_truthy(error_of(function() optim.Adam(42) end):find("expected a module", 1, true))
    assert.is_truthy(error_of(function() optim.Adam(sl.zeros(2, 2):t(), sl.zeros(2, 2)) end):find("contiguous", 1, true))
  end)
end)

describe("optim.clip_grad_norm", function()
  it("scales to max_norm when above, leaves alone when below, returns the norm", function()
    local g = sl.tensor({ 3, 4 }, "float64")
    local n = optim.clip_grad_norm(g, 1)
    assert.are.equal(5, n)
    local c = 1 / (5 + 1e-6)
    assert.is_true(close(g[1], 3 * c) and close(g[2], 4 * c))
    local h = sl.tensor({ 0.3, 0.4 }, "float64")
    assert.is_true(close(optim.clip_grad_norm(h, 1), 0.5))
    assert.are.same({ 0.3, 0.4 }, h:totable())
  end)

  it("global norm over a list of tensors and over a module's gradients", function()
    local a, b = sl.tensor({ 1, 2 }, "float64"), sl.tensor({ { 2 }, { 4 } }, "float64")
    assert.is_true(close(optim.clip_grad_norm({ a, b }, 2.5), 5))
    local c = 2.5 / (5 + 1e-6)
    assert.is_true(close(a[2], 2 * c) and close(b:get(2, 1), 4 * c))
    local m = nn.Linear(2, 1, { seed = 1 })
    m.grad_weight:copy(sl.tensor({ { 6, 0 } })); m.grad_bias:copy(sl.tensor({ 8 }))
    assert.is_true(close(optim.clip_grad_norm(m, 1), 10, 1e-6))
    assert.is_true(close(m.grad_bias[1], 0.8, 1e-6))
  end)

  it("non-finite norms: left alone, or an error when asked", function()
    local g = sl.tensor({ 1, 0 / 0 }, "float64")
    local n = optim.clip_grad_norm(g, 1)
    assert.is_true(n ~= n)
    assert.are.equal(1, g[1])
    assert.is_truthy(error_of(function() optim.clip_grad_norm(g, 1, { error_if_nonfinite = true }) end)
      :find("total gradient norm is", 1, true))
  end)
end)

describe("optim schedules", function()
  local function fake_opt(lr) return { lr = lr } end

  it("CosineSchedule: linear warmup then cosine to min_lr", function()
    local opt = fake_opt(1.0)
    local s = optim.CosineSchedule(opt, { warmup_steps = 2, total_steps = 6, min_lr = 0.1 })
    local lrs = { opt.lr }
    for _ = 1, 8 do lrs[#lrs + 1] = s:step() end
    local expect = { 0.5, 1.0, 1.0, 0.1 + 0.45 * (1 + math.cos(math.pi / 4)), 0.55,
                     0.1 + 0.45 * (1 + math.cos(3 * math.pi / 4)), 0.1, 0.1, 0.1 }
    for i = 1, #expect do assert.is_true(close(lrs[i], expect[i]), "step " .. (i - 1)) end
    assert.are.equal(opt.lr, 0.1)
    -- resume
    local opt2 = fake_opt(1.0)
    local s2 = optim.CosineSchedule(opt2, { warmup_steps = 2, total_steps = 6, min_lr = 0.1 })
    local st = optim.CosineSchedule(fake_opt(1.0), { warmup_steps = 2, total_steps = 6, min_lr = 0.1 })
    st:step(); st:step(); st:step()
    s2:load_state_dict(st:state_dict())
    assert.is_true(close(opt2.lr, expect[4]))
    -- no warmup: starts at base_lr
    local o3 = fake_opt(2)
    optim.CosineSchedule(o3, { total_steps = 10 })
    assert.are.equal(2, o3.lr)
    assert.is_truthy(error_of(function() optim.CosineSchedule(fake_opt(1), {}) end):find("total_steps must be a number", 1, true))
  end)

  it("ReduceLROnPlateau: patience, factor, min_lr, cooldown (torch semantics)", function()
    local opt = fake_opt(1.0)
    local s = optim.ReduceLROnPlateau(opt, { factor = 0.5, patience = 2, threshold = 0, min_lr = 0.3 })
    local metrics = { 10, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8 }
    local lrs, reduced = {}, {}
    for i, v in ipairs(metrics) do reduced[i] = s:step(v); lrs[i] = opt.lr end
    -- bad epochs counted from the last improvement; the 3rd bad one (> patience 2) reduces
    assert.are.same({ 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3 }, lrs)
    assert.is_true(reduced[5] and reduced[10])
    assert.is_false(reduced[13])   -- at min_lr: nothing left to reduce

    local o2 = fake_opt(1.0)
    local s2 = optim.ReduceLROnPlateau(o2, { mode = "max", factor = 0.1, patience = 0, cooldown = 1, threshold = 0.1 })
    local l2 = {}
    -- max mode, relative threshold 10 %: 1.05 is not an improvement over 1.0
    for i, v in ipairs { 1.0, 1.05, 1.05, 1.05, 2.0, 1.0 } do s2:step(v); l2[i] = o2.lr end
    assert.is_true(close(l2[1], 1) and close(l2[2], 0.1) and close(l2[3], 0.1) and close(l2[4], 0.01)
                   and close(l2[5], 0.01) and close(l2[6], 0.001))
    -- state round trip
    local s3 = optim.ReduceLROnPlateau(fake_opt(1), { mode = "max" })
    s3:load_state_dict(s2:state_dict())
    assert.are.equal(s2.best, s3.best)
    assert.are.equal(s2.num_bad, s3.num_bad)
    assert.is_truthy(error_of(function() optim.ReduceLROnPlateau(fake_opt(1), { mode = "up" }) end):find("mode must be 'min' or 'max'", 1, true))
  end)
end)
