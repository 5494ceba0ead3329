-- conv2d against a naive direct convolution written here in Lua: every algorithm forced
-- explicitly (and auto), zero and circular padding, with and without bias, contiguous and
-- strided inputs, 1x1 kernels, kernels larger than the grid, workspace reuse (including weights
-- changed in place between calls), writing into `out`, and argument errors.
local sl = require "spinlock"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local rnd = SH.lcg(4242)

local function rand(shape)
  local n, v = 1, {}
  for _, s in ipairs(shape) do n = n * s end
  for i = 1, n do v[i] = rnd() end
  return sl.tensor(v):view(shape)
end

-- out[b,co,y,x] = bias[co] + sum w[co,ci,ky,kx] * xpad[b,ci,y+ky-r,x+kx-r]   (0-based)
local function ref_conv(x, w, bias, circular)
  local B, C, H, W = x:size(1), x:size(2), x:size(3), x:size(4)
  local O, k = w:size(1), w:size(3)
  local r = (k - 1) / 2
  local xv, wv = x:contiguous():tolist(), w:contiguous():tolist()
  local bv = bias and bias:tolist()
  local out = {}
  for b = 0, B - 1 do
    for co = 0, O - 1 do
      for y = 0, H - 1 do
        for xx = 0, W - 1 do
          local s = bv and bv[co + 1] or 0
          for ci = 0, C - 1 do
            for ky = 0, k - 1 do
              local sy = y + ky - r
              if circular then sy = sy % H end
              if sy >= 0 and sy < H then
                for kx = 0, k - 1 do
                  local sx = xx + kx - r
                  if circular then sx = sx % W end
                  if sx >= 0 and sx < W then
                    s = s + wv[((co * C + ci) * k + ky) * k + kx + 1] * xv[((b * C + ci) * H + sy) * W + sx + 1]
                  end
                end
              end
            end
          end
          out[#out + 1] = s
        end
      end
    end
  end
  return out
end

local assert_close = SH.assert_close   -- flat lists, max abs diff <= tol

local ALGOS = { "direct", "im2col", "fft", "fftrow", "winograd", "auto" }

local function check_all(x, w, bias, padding, what)
  local ref = ref_conv(x, w, bias, padding == "circular")
  for _, algo in ipairs(ALGOS) do
    if algo == "winograd" and w:size(3) ~= 3 then goto continue end
    local y, used = sl.conv2d(x, w, bias, { padding = padding, algo = algo })
    assert.are.same({x:size(1), w:size(1), x:size(3), x:size(4)}, y:shape())
    if algo ~= "auto" then assert.are.equal(algo, used) end
    assert_close(ref, y:tolist(), 2e-5 * (1 + x:size(2) * w:size(3) ^ 2),
      string.format("%s, %s padding, algo %s", what, padding, algo))
    ::continue::
  end
end

describe("conv2d", function()
  it("matches the naive convolution for every algorithm, padding and bias", function()
    local shapes = {
      -- B, Cin, Cout, H, W, k
      {2, 3, 4, 6, 5, 3},
      {1, 2, 3, 7, 7, 5},
      {3, 1, 2, 5, 8, 7},
      {1, 4, 5, 4, 4, 1},
    }
    for _, s in ipairs(shapes) do
      local x, w = rand({s[1], s[2], s[4], s[5]}), rand({s[3], s[2], s[6], s[6]})
      local bias = rand({s[3]})
      for _, padding in ipairs({"zeros", "circular"}) do
        check_all(x, w, nil, padding, table.concat(s, "x") .. " no bias")
        check_all(x, w, bias, padding, table.concat(s, "x") .. " bias")
      end
    end
  end)

  it("takes strided (non-contiguous) inputs and weights", function()
    local xs = rand({2, 5, 3, 6}):permute(1, 3, 4, 2)          -- [2,3,6,5] with channels strided
    local ws = rand({4, 3, 5, 5}):narrow(3, 2, 3):narrow(4, 2, 3)  -- [4,3,3,3] window of a 5x5
    assert.is_false(xs:is_contiguous())
    assert.is_false(ws:is_contiguous())
    check_all(xs, ws, rand({4}):slice(1, 1, 4), "zeros", "strided")
    check_all(xs, ws, nil, "circular", "strided")
  end)

  it("wraps kernels larger than the grid with circular padding", function()
    local x, w = rand({1, 2, 3, 2}), rand({2, 2, 5, 5})
    check_all(x, w, nil, "circular", "k > grid")
    check_all(x, w, nil, "zeros", "k > grid")
  end)

  it("reuses a workspace and never returns stale FFT weight spectra", function()
    local ws = sl.conv2d_workspace()
    local x, w = rand({2, 3, 8, 8}), rand({4, 3, 3, 3})
    local ref = ref_conv(x, w, nil, false)
    for _ = 1, 2 do
      assert_close(ref, sl.conv2d(x, w, nil, {algo = "fft", workspace = ws}):tolist(), 1e-4, "ws reuse")
    end
    assert.is_true(ws:bytes() > 0)
    w:set(5, 1, 1, 2, 2)                 -- change the weights in place
    local ref2 = ref_conv(x, w, nil, false)
    assert_close(ref2, sl.conv2d(x, w, nil, {algo = "fft", workspace = ws}):tolist(), 1e-4, "after change")
    assert_close(ref2, sl.conv2d(x, w, nil, {algo = "im2col", workspace = ws}):tolist(), 1e-4, "im2col ws")
    ws:clear()
    assert.are.equal(0, ws:bytes())
    ws:free()
    assert.has_error(function() sl.conv2d(x, w, nil, {workspace = ws}) end)
  end)

  it("writes into a given output tensor", function()
    local x, w, b = rand({1, 2, 5, 5}), rand({3, 2, 3, 3}), rand({3})
    local out = sl.zeros(1, 3, 5, 5)
    local y = sl.conv2d(x, w, b, {out = out, algo = "im2col"})
    assert.is_true(rawequal(y, out))
    assert_close(ref_conv(x, w, b, false), out:tolist(), 1e-5, "out")
    local ok, err = pcall(sl.conv2d, x, w, b, {out = sl.zeros(1, 3, 5, 4)})
    assert.is_false(ok)
    assert.truthy(err:find("[1,3,5,5]", 1, true), err)
    local sq = rand({1, 2, 5, 5})
    ok, err = pcall(sl.conv2d, sq, rand({2, 2, 3, 3}), nil, {out = sq})
    assert.is_false(ok)
    assert.truthy(err:find("must not share memory", 1, true), err)
  end)

  it("reports bad arguments clearly", function()
    local x = sl.zeros(1, 3, 4, 4)
    local function err_of(...) local ok, e = pcall(sl.conv2d, ...) assert.is_false(ok) return e end
    local e = err_of(x, sl.zeros(2, 4, 3, 3))
    assert.truthy(e:find("4 input channels", 1, true) and e:find("[1,3,4,4]", 1, true), e)
    e = err_of(x, sl.zeros(2, 3, 2, 2))
    assert.truthy(e:find("odd k", 1, true), e)
    e = err_of(sl.zeros(3, 4, 4), sl.zeros(2, 3, 3, 3))
    assert.truthy(e:find("4-D", 1, true) and e:find("[3,4,4]", 1, true), e)
    e = err_of(x, sl.zeros(2, 3, 3, 3), sl.zeros(3))
    assert.truthy(e:find("bias must be [2]", 1, true), e)
    e = err_of(x:double(), sl.zeros(2, 3, 3, 3))
    assert.truthy(e:find("float32", 1, true) and e:find("float64", 1, true), e)
    e = err_of(x, sl.zeros(2, 3, 3, 3), nil, {padding = "reflect"})
    assert.truthy(e:find("unknown padding 'reflect'", 1, true), e)
    e = err_of(x, sl.zeros(2, 3, 3, 3), nil, {algo = "gemm3"})
    assert.truthy(e:find("unknown algo 'gemm3'", 1, true), e)
    e = err_of(x, sl.zeros(2, 3, 5, 5), nil, {algo = "winograd"})
    assert.truthy(e:find("3x3 kernels only, got k = 5", 1, true), e)
    for _, shape in ipairs({ {1, 3, 0, 8}, {1, 3, 8, 0} }) do
      e = err_of(sl.zeros(unpack(shape)), sl.zeros(4, 3, 3, 3))
      assert.are.equal("conv2d: input [" .. table.concat(shape, ",") .. "] has an empty spatial dimension " ..
                       "(H and W must be at least 1)", e)
    end
    -- an empty batch is fine: an empty result
    assert.are.same({0, 4, 5, 8}, sl.conv2d(sl.zeros(0, 3, 5, 8), sl.zeros(4, 3, 3, 3)):shape())
  end)

  it("gives the same bits whatever the thread count", function()
    local x, w, b = rand({3, 6, 20, 20}), rand({8, 6, 5, 5}), rand({8})
    local n0 = sl.num_threads()
    for _, algo in ipairs({"im2col", "fftrow", "fft", "direct", "winograd"}) do
      local w = algo == "winograd" and w:narrow(3, 2, 3):narrow(4, 2, 3) or w
      sl.set_num_threads(1)
      local y1 = sl.conv2d(x, w, b, {algo = algo}):tolist()
      sl.set_num_threads(2)
      local y2 = sl.conv2d(x, w, b, {algo = algo}):tolist()
      assert.are.same(y1, y2, algo)
    end
    local g = rand({3, 8, 20, 20})
    sl.set_num_threads(1)
    local a1, b1, c1 = sl.conv2d_backward(x, w, g)
    sl.set_num_threads(2)
    local a2, b2, c2 = sl.conv2d_backward(x, w, g)
    assert.are.same(a1:tolist(), a2:tolist())
    assert.are.same(b1:tolist(), b2:tolist())
    assert.are.same(c1:tolist(), c2:tolist())
    sl.set_num_threads(n0)
  end)

  it("backward satisfies the adjoint identities <conv(x,w),g> = <x,dx> = <w,dw>", function()
    local function dot(a, b)
      local s, av, bv = 0, a:tolist(), b:tolist()
      for i = 1, #av do s = s + av[i] * bv[i] end
      return s
    end
    for _, c in ipairs({{2, 3, 4, 6, 5, 3}, {1, 2, 3, 5, 5, 5}, {2, 1, 2, 3, 2, 5}, {1, 3, 2, 4, 4, 1}}) do
      local x, w = rand({c[1], c[2], c[4], c[5]}), rand({c[3], c[2], c[6], c[6]})
      local g = rand({c[1], c[3], c[4], c[5]})
      for _, padding in ipairs({"zeros", "circular"}) do
        local y = sl.conv2d(x, w, nil, {padding = padding, algo = "direct"})
        local dx, dw, db = sl.conv2d_backward(x, w, g:transpose(3, 4):contiguous():transpose(3, 4), {padding = padding})
        local ref = dot(y, g)
        local what = table.concat(c, "x") .. " " .. padding
        assert(math.abs(dot(x, dx) - ref) < 1e-4 * (1 + math.abs(ref)), what .. ": <x,dx>")
        assert(math.abs(dot(w, dw) - ref) < 1e-4 * (1 + math.abs(ref)), what .. ": <w,dw>")
        -- db = sum of g over batch and space
        local gv, expect = g:tolist(), {}
        local hw = c[4] * c[5]
        for i = 1, #gv do
          local co = math.floor((i - 1) / hw) % c[3] + 1
          expect[co] = (expect[co] or 0) + gv[i]
        end
        local dbl = db:tolist()
        for co = 1, c[3] do assert(math.abs(dbl[co] - expect[co]) < 1e-4, what .. ": db") end
      end
    end
  end)

  it("backward skips gradients on request and checks shapes", function()
    local x, w = rand({1, 2, 4, 4}), rand({3, 2, 3, 3})
    local dx, dw, db = sl.conv2d_backward(x, w, sl.ones(1, 3, 4, 4), {weight = false, bias = false})
    assert.are.same({1, 2, 4, 4}, dx:shape())
    assert.is_nil(dw)
    assert.is_nil(db)
    local ok, err = pcall(sl.conv2d_backward, x, w, sl.ones(1, 3, 4, 5))
    assert.is_false(ok)
    assert.truthy(err:find("[1,3,4,4]", 1, true) and err:find("[1,3,4,5]", 1, true), err)
  end)

  -- Winograd F(4x4,3x3): tiles crossing the border (sizes not multiples of 4), grids of several
  -- 128-tile chunks, both paddings, strided inputs; against the double-precision Lua reference.
  -- The transforms amplify rounding: the spec allows 1e-5·(1 + max|y|) (seen: ~1e-6 relative).
  it("winograd matches the naive convolution within 1e-5 relative", function()
    local cases = {
      -- B, Cin, Cout, H, W
      {2, 3, 4, 7, 9}, {1, 5, 3, 13, 10}, {3, 2, 2, 1, 5}, {1, 2, 3, 2, 2}, {2, 3, 2, 50, 47},
    }
    for _, c in ipairs(cases) do
      local x, w, b = rand({c[1], c[2], c[4], c[5]}), rand({c[3], c[2], 3, 3}), rand({c[3]})
      local xs = x:transpose(3, 4):contiguous():transpose(3, 4)   -- same values, strided
      assert.is_true(xs:is_contiguous() == (c[4] == 1 or c[5] == 1))
      for _, padding in ipairs({"zeros", "circular"}) do
        local ref = ref_conv(x, w, b, padding == "circular")
        local m = 0
        for _, v in ipairs(ref) do m = math.max(m, math.abs(v)) end
        for _, input in ipairs({x, xs}) do
          local y, used = sl.conv2d(input, w, b, {padding = padding, algo = "winograd"})
          assert.are.equal("winograd", used)
          assert_close(ref, y:tolist(), 1e-5 * (1 + m), table.concat(c, "x") .. " " .. padding)
        end
      end
    end
  end)

  it("winograd does not depend on the batch and never serves stale weights", function()
    local x, w = rand({3, 4, 23, 45}), rand({5, 4, 3, 3})
    local ws = sl.conv2d_workspace()
    local all = sl.conv2d(x, w, nil, {algo = "winograd", workspace = ws})
    for b = 1, 3 do
      local one = sl.conv2d(x:narrow(1, b, 1), w, nil, {algo = "winograd", workspace = ws})
      assert.are.same(all:narrow(1, b, 1):contiguous():tolist(), one:tolist(), "image " .. b)
    end
    w:set(3, 2, 1, 2, 2)
    assert_close(ref_conv(x, w, nil, false), sl.conv2d(x, w, nil, {algo = "winograd", workspace = ws}):tolist(),
      1e-4, "after changing the weights in place")
    ws:free()
  end)

  it("exposes the auto choice", function()
    assert.are.equal("winograd", sl.conv2d_choose(3, 64, 64, 64, 64, 3))
    assert.are.equal("im2col", sl.conv2d_choose(3, 64, 64, 64, 64, 1))
    local a = sl.conv2d_choose(3, 64, 128, 64, 64, 7, "zeros", true)
    assert.truthy(a == "fft" or a == "im2col")
  end)
end)
