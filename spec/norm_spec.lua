-- instance / group / layer norm and dropout against naive Lua references (biased variance like
-- torch), fused activations, in-place output, strided inputs and argument errors.
local sl = require "spinlock"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local rnd = SH.lcg(777)

local function rand(shape, scale, shift)
  local n, v = 1, {}
  for _, s in ipairs(shape) do n = n * s end
  for i = 1, n do v[i] = rnd() * (scale or 1) + (shift or 0) end
  return sl.tensor(v):view(shape)
end

local assert_close = SH.assert_close   -- flat lists, max abs diff <= tol

-- erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for float32 checks.
local function erf(x)
  local s = x < 0 and -1 or 1
  x = math.abs(x)
  local t = 1 / (1 + 0.3275911 * x)
  local y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * math.exp(-x * x)
  return s * y
end
local ACT = {
  none = function(v) return v end,
  relu = function(v) return v > 0 and v or 0 end,
  gelu = function(v) return 0.5 * v * (1 + erf(v / math.sqrt(2))) end,
  silu = function(v) return v / (1 + math.exp(-v)) end,
  tanh = function(v) return math.tanh(v) end,
}

-- Reference group norm on x [B,C,S...] flattened: groups of C/G channels.
local function ref_group(x, G, w, b, eps, act)
  local B, C = x:size(1), x:size(2)
  local S = x:numel() / (B * C)
  local xv, wv, bv = x:contiguous():tolist(), w and w:tolist(), b and b:tolist()
  local out, cpg = {}, C / G
  for bi = 0, B - 1 do
    for g = 0, G - 1 do
      local base, n = (bi * C + g * cpg) * S, cpg * S
      local m = 0
      for i = 1, n do m = m + xv[base + i] end
      m = m / n
      local v = 0
      for i = 1, n do v = v + (xv[base + i] - m) ^ 2 end
      v = v / n
      for i = 1, n do
        local ch = g * cpg + math.floor((i - 1) / S) + 1
        local y = (xv[base + i] - m) / math.sqrt(v + eps)
        if wv then y = y * wv[ch] end
        if bv then y = y + bv[ch] end
        out[base + i] = ACT[act or "none"](y)
      end
    end
  end
  return out
end

describe("instance_norm", function()
  it("normalises each sample and channel over H x W (biased variance)", function()
    local x = rand({2, 3, 4, 5}, 3, 1)
    assert_close(ref_group(x, 3, nil, nil, 1e-5), sl.instance_norm(x):tolist(), 2e-5, "plain")
    local w, b = rand({3}), rand({3})
    assert_close(ref_group(x, 3, w, b, 1e-3), sl.instance_norm(x, w, b, 1e-3):tolist(), 2e-5, "affine")
    -- a hand-computed case: [1,2,3,4] → mean 2.5, var 1.25
    local y = sl.instance_norm(sl.tensor({{{1, 2, 3, 4}}}), nil, nil, 0):tolist()
    assert_close({-1.5 / math.sqrt(1.25), -0.5 / math.sqrt(1.25), 0.5 / math.sqrt(1.25), 1.5 / math.sqrt(1.25)},
      y, 1e-6, "hand")
  end)

  it("fuses every activation", function()
    local x, w, b = rand({2, 2, 3, 3}, 2), rand({2}), rand({2})
    for _, act in ipairs({"none", "relu", "gelu", "silu", "tanh"}) do
      assert_close(ref_group(x, 2, w, b, 1e-5, act), sl.instance_norm(x, w, b, 1e-5, act):tolist(), 3e-6, act)
    end
  end)

  it("computes the activations accurately (hand values from math.erf / exp / tanh)", function()
    -- each channel holds {1,-1}: normalised (eps = 0) it stays {1,-1}, so weight v gives act(±v)
    local vs = {3, 1, 0.5, 1e-3, 2.5, 5, 0.01, 20}
    local C = #vs
    local rows = {}
    for c = 1, C do rows[c] = {1, -1} end
    local x = sl.tensor({rows})
    local w = sl.tensor(vs)
    local gelu = { [3] = {2.99595030590511, -0.00404969409489031}, [1] = {0.8413447460685429, -0.15865525393145707},
      [0.5] = {0.34573123063700656, -0.15426876936299344}, [1e-3] = {0.000500398942213911, -0.000499601057786089},
      [2.5] = {2.4844758366855597, -0.0155241633144403}, [5] = {4.999998566742141, -1.433257859e-06},
      [0.01] = {0.005039893563146316, -0.004960106436853684}, [20] = {20, 0} }
    local function expect(act)
      local out = {}
      for _, v in ipairs(vs) do
        for _, s in ipairs({1, -1}) do
          local z = s * v
          local e
          if act == "gelu" then e = gelu[v][s == 1 and 1 or 2]
          elseif act == "silu" then e = z / (1 + math.exp(-z))
          elseif act == "tanh" then e = math.tanh(z)
          else e = math.max(z, 0) end
          out[#out + 1] = e
        end
      end
      return out
    end
    for _, act in ipairs({"relu", "gelu", "silu", "tanh"}) do
      local got = sl.instance_norm(x, w, nil, 0, act):tolist()
      local exp_ = expect(act)
      for i = 1, #exp_ do
        local tol = 3e-7 * math.max(1, math.abs(exp_[i]))
        assert(math.abs(got[i] - exp_[i]) <= tol,
          string.format("%s(%g): expected %.9g, got %.9g", act, vs[math.ceil(i / 2)] * (i % 2 == 1 and 1 or -1), exp_[i], got[i]))
      end
    end
  end)

  it("takes strided inputs and writes in place", function()
    local base = rand({2, 4, 6, 5})
    local x = base:permute(1, 2, 4, 3):narrow(2, 2, 3)     -- [2,3,5,6], non-contiguous
    assert.is_false(x:is_contiguous())
    local expect = ref_group(x, 3, nil, nil, 1e-5, "relu")
    assert_close(expect, sl.instance_norm(x, nil, nil, 1e-5, "relu"):tolist(), 2e-5, "strided")
    local y = x:contiguous()
    local r = sl.instance_norm(y, nil, nil, 1e-5, "relu", y)
    assert.is_true(rawequal(r, y))
    assert_close(expect, y:tolist(), 2e-5, "in place")
  end)

  it("gives the same bits whatever the thread count", function()
    local x = rand({2, 4, 64, 64}, 2, 0.3)
    local n0 = sl.num_threads()
    sl.set_num_threads(1)
    local y1 = sl.instance_norm(x, nil, nil, 1e-5, "gelu"):tolist()
    sl.set_num_threads(2)
    local y2 = sl.instance_norm(x, nil, nil, 1e-5, "gelu"):tolist()
    sl.set_num_threads(n0)
    assert.are.same(y1, y2)
  end)

  it("reports bad arguments", function()
    local ok, err = pcall(sl.instance_norm, sl.zeros(2, 3))
    assert.truthy(err:find("at least 3-D", 1, true) and err:find("[2,3]", 1, true), err)
    ok, err = pcall(sl.instance_norm, sl.zeros(2, 3, 4), sl.zeros(4))
    assert.truthy(err:find("weight must have shape [3]", 1, true) and err:find("[2,3,4]", 1, true), err)
    ok, err = pcall(sl.instance_norm, sl.zeros(2, 3, 4), nil, nil, 1e-5, "swish")
    assert.truthy(err:find("unknown activation 'swish'", 1, true), err)
    ok, err = pcall(sl.instance_norm, sl.zeros(2, 3, 4):double())
    assert.truthy(err:find("float32", 1, true), err)
    assert.is_false(ok)
  end)
end)

describe("group_norm", function()
  it("normalises groups of channels", function()
    local x, w, b = rand({2, 6, 3, 2}, 2, -1), rand({6}), rand({6})
    for _, G in ipairs({1, 2, 3, 6}) do
      assert_close(ref_group(x, G, w, b, 1e-5), sl.group_norm(x, G, w, b):tolist(), 2e-5, "G=" .. G)
    end
    assert_close(ref_group(x, 2, nil, nil, 1e-5, "gelu"), sl.group_norm(x, 2, nil, nil, 1e-5, "gelu"):tolist(),
      3e-6, "fused gelu")
  end)

  it("rejects channel counts not divisible by the groups", function()
    local ok, err = pcall(sl.group_norm, sl.zeros(2, 6, 4, 4), 4)
    assert.is_false(ok)
    assert.truthy(err:find("6 channels", 1, true) and err:find("4 groups", 1, true) and err:find("divisible", 1, true), err)
    ok, err = pcall(sl.group_norm, sl.zeros(2, 6, 4, 4), 0)
    assert.is_false(ok)
  end)
end)

describe("layer_norm", function()
  it("normalises over the last dims with elementwise affine", function()
    local x = rand({3, 4, 5}, 2, 0.5)
    -- reference: over the last 2 dims = groups of one "channel" spanning 4x5 with per-element affine
    local w, b = rand({4, 5}), rand({4, 5})
    local xv, wv, bv = x:tolist(), w:tolist(), b:tolist()
    local expect = {}
    for s = 0, 2 do
      local m, v = 0, 0
      for i = 1, 20 do m = m + xv[s * 20 + i] end
      m = m / 20
      for i = 1, 20 do v = v + (xv[s * 20 + i] - m) ^ 2 end
      v = v / 20
      for i = 1, 20 do expect[s * 20 + i] = (xv[s * 20 + i] - m) / math.sqrt(v + 1e-5) * wv[i] + bv[i] end
    end
    assert_close(expect, sl.layer_norm(x, 2, w, b):tolist(), 2e-5, "nd=2")
    -- nd = 1 without affine equals group norm with one group on [12,5] seen as [12,1,5]
    assert_close(ref_group(x:reshape(12, 1, 5), 1, nil, nil, 1e-5), sl.layer_norm(x, 1):tolist(), 2e-5, "nd=1")
    -- strided input
    local xt = x:transpose(1, 3)
    assert_close(sl.layer_norm(xt:contiguous(), 1):tolist(), sl.layer_norm(xt, 1):tolist(), 1e-6, "strided")
  end)

  it("checks normalized_ndim and parameter shapes", function()
    local ok, err = pcall(sl.layer_norm, sl.zeros(3, 4), 3)
    assert.truthy(err:find("normalized_ndim", 1, true) and err:find("[3,4]", 1, true), err)
    ok, err = pcall(sl.layer_norm, sl.zeros(3, 4, 5), 2, sl.zeros(5, 4))
    assert.truthy(err:find("weight must have shape [4,5]", 1, true) and err:find("[5,4]", 1, true), err)
    assert.is_false(ok)
  end)
end)

describe("dropout", function()
  it("keeps elements where u < 1 - p and scales them by 1/(1-p)", function()
    local x = sl.tensor({{1, 2, 3}, {4, 5, 6}})
    local u = sl.tensor({{0.1, 0.9, 0.5}, {0.74, 0.76, 0.0}})
    assert_close({4 / 3, 0, 4, 16 / 3, 0, 8}, sl.dropout(x, 0.25, u):tolist(), 1e-6, "p=0.25")
    assert.are.same(x:tolist(), sl.dropout(x, 0, u):tolist())
    assert.are.same({0, 0, 0, 0, 0, 0}, sl.dropout(x, 1, u):tolist())
    -- strided uniform
    local ut = sl.tensor({{0.1, 0.74}, {0.9, 0.76}, {0.5, 0.0}}):t()
    assert_close({4 / 3, 0, 4, 16 / 3, 0, 8}, sl.dropout(x, 0.25, ut):tolist(), 1e-6, "strided u")
  end)

  it("drops whole channels with dropout2d", function()
    local x = sl.ones(2, 2, 2, 2)
    local u = sl.tensor({{0.2, 0.8}, {0.6, 0.1}})
    local y = sl.dropout2d(x, 0.5, u):tolist()
    local expect = {2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2}
    assert.are.same(expect, y)
    assert.are.same(expect, sl.dropout2d(x, 0.5, u:view(2, 2, 1, 1)):tolist())
  end)

  it("rejects bad p and uniform shapes", function()
    local x = sl.ones(2, 3, 4, 4)
    local ok, err = pcall(sl.dropout, x, 1.5, sl.zeros(2, 3, 4, 4))
    assert.truthy(err:find("p must be in [0,1]", 1, true), err)
    ok, err = pcall(sl.dropout, x, 0.5, sl.zeros(2, 3))
    assert.truthy(err:find("[2,3,4,4]", 1, true) and err:find("[2,3]", 1, true), err)
    ok, err = pcall(sl.dropout2d, x, 0.5, sl.zeros(3, 2))
    assert.truthy(err:find("[2,3]", 1, true) and err:find("[3,2]", 1, true), err)
    ok, err = pcall(sl.dropout2d, x, 0.5, sl.zeros(2, 3):double())
    assert.truthy(err:find("float32", 1, true), err)
    assert.is_false(ok)
  end)
end)
