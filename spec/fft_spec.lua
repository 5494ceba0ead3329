-- FFTs against a naive O(n^2) DFT written here in Lua (double precision), on odd and even
-- sizes, batched and strided inputs; round trips; normalisations; frequencies; errors;
-- thread-count invariance and plan reuse.
local sl = require "spinlock"

local TWO_PI = 2 * math.pi

-- Naive 1-D DFT of complex sequence (re[], im[]) (0-based tables); sign -1 forward, +1 inverse
-- (unscaled).
local function dft(re, im, n, sign)
  local ore, oim = {}, {}
  for k = 0, n - 1 do
    local sr, si = 0, 0
    for t = 0, n - 1 do
      local a = sign * TWO_PI * ((k * t) % n) / n
      local c, s = math.cos(a), math.sin(a)
      sr = sr + re[t] * c - im[t] * s
      si = si + re[t] * s + im[t] * c
    end
    ore[k], oim[k] = sr, si
  end
  return ore, oim
end

-- 2-D DFT of an H x W complex grid given as re[y][x], im[y][x] (0-based).
local function dft2(re, im, h, w, sign)
  local rr, ri = {}, {}
  for y = 0, h - 1 do rr[y], ri[y] = dft(re[y], im[y], w, sign) end
  local ore, oim = {}, {}
  for y = 0, h - 1 do ore[y], oim[y] = {}, {} end
  for x = 0, w - 1 do
    local cr, ci = {}, {}
    for y = 0, h - 1 do cr[y], ci[y] = rr[y][x], ri[y][x] end
    local fr, fi = dft(cr, ci, h, sign)
    for y = 0, h - 1 do ore[y][x], oim[y][x] = fr[y], fi[y] end
  end
  return ore, oim
end

local function zeros0(n) local t = {} for i = 0, n - 1 do t[i] = 0 end return t end

-- Real 2-D slice [h][w] of tensor x at the leading index `lead` (a table of 1-based indices).
local function grid(x, lead, h, w)
  local re, im = {}, {}
  for y = 0, h - 1 do
    re[y], im[y] = {}, zeros0(w)
    for xx = 0, w - 1 do
      local idx = {unpack(lead)}
      idx[#idx + 1], idx[#idx + 2] = y + 1, xx + 1
      re[y][xx] = x:get(unpack(idx))
    end
  end
  return re, im
end

local function close(a, b, tol, what)
  if math.abs(a - b) > tol then error(string.format("%s: got %.7g, expected %.7g", what, a, b), 2) end
end

local function randn(shape, seed)
  return sl.Generator{seed = seed or 1, purpose = 99}:normal(shape)
end

-- Checks X = rfft2 result [.., H, W/2+1, 2] at leading index `lead` against the naive DFT of x.
local function check_rfft2(x, X, lead, h, w, scale)
  local re, im = grid(x, lead, h, w)
  local fr, fi = dft2(re, im, h, w, -1)
  for y = 0, h - 1 do
    for k = 0, math.floor(w / 2) do
      local idx = {unpack(lead)}
      idx[#idx + 1], idx[#idx + 2] = y + 1, k + 1
      local n = #idx
      idx[n + 1] = 1; close(X:get(unpack(idx)), fr[y][k] * scale, 1e-4 * h * w, "re")
      idx[n + 1] = 2; close(X:get(unpack(idx)), fi[y][k] * scale, 1e-4 * h * w, "im")
    end
  end
end

describe("rfft2 / irfft2", function()
  it("matches a naive DFT on even and odd sizes", function()
    for _, hw in ipairs({{4, 6}, {5, 7}, {1, 1}, {3, 1}, {1, 8}, {6, 5}}) do
      local h, w = hw[1], hw[2]
      local x = randn({h, w}, h * 10 + w)
      local X = sl.rfft2(x)
      assert.are.same({h, math.floor(w / 2) + 1, 2}, X:shape())
      check_rfft2(x, X, {}, h, w, 1)
    end
  end)

  it("batches over leading dims", function()
    local x = randn({2, 3, 5, 4}, 7)
    local X = sl.rfft2(x)
    assert.are.same({2, 3, 5, 3, 2}, X:shape())
    for b = 1, 2 do for c = 1, 3 do check_rfft2(x, X, {b, c}, 5, 4, 1) end end
  end)

  it("accepts strided and offset views and float64 input", function()
    local base = randn({3, 7, 6}, 8)
    local t = base:transpose(2, 3)                 -- [3, 6, 7], not contiguous
    local X = sl.rfft2(t)
    for b = 1, 3 do check_rfft2(t, X, {b}, 6, 7, 1) end
    local n = base:narrow(2, 2, 5):narrow(3, 2, 5) -- offset view, odd row length
    local Xn = sl.rfft2(n)
    for b = 1, 3 do check_rfft2(n, Xn, {b}, 5, 5, 1) end
    local d = base:double()
    local Xd = d:rfft2()
    assert.are.equal("float32", Xd:dtype())
    for b = 1, 3 do check_rfft2(base, Xd, {b}, 7, 6, 1) end
  end)

  it("round-trips irfft2(rfft2(x), {h, w}) == x for even and odd widths", function()
    for _, hw in ipairs({{8, 8}, {5, 7}, {6, 9}, {1, 3}}) do
      local h, w = hw[1], hw[2]
      local x = randn({2, h, w}, h + w)
      local y = sl.irfft2(sl.rfft2(x), {h, w})
      assert.are.same({2, h, w}, y:shape())
      local a, b = x:tolist(), y:tolist()
      for i = 1, #a do close(b[i], a[i], 1e-5, "round trip") end
    end
    local x = randn({4, 6}, 3)
    local y = sl.rfft2(x):irfft2()                 -- default size: H, 2*(Wc-1)
    assert.are.same({4, 6}, y:shape())
    local a, b = x:tolist(), y:tolist()
    for i = 1, #a do close(b[i], a[i], 1e-5, "default size") end
  end)

  it("crops and zero-pads the spectrum to the requested size (numpy irfft2 with s)", function()
    local X = randn({3, 4, 2}, 11)                 -- 3 x 4 complex bins
    local y = sl.irfft2(X, {5, 4})                 -- uses a 5 x 3 spectrum: row pad, column crop
    -- naive: full 5 x 4 hermitian spectrum from the cropped/padded half
    local h, w, wc = 5, 4, 3
    local hr, hi = {}, {}
    for r = 0, h - 1 do
      hr[r], hi[r] = {}, {}
      for k = 0, wc - 1 do
        if r < 3 then hr[r][k], hi[r][k] = X:get(r + 1, k + 1, 1), X:get(r + 1, k + 1, 2)
        else hr[r][k], hi[r][k] = 0, 0 end
      end
    end
    -- c2r semantics: inverse over rows (complex), then a hermitian inverse along the last dim
    local cr, ci = {}, {}
    for k = 0, wc - 1 do
      local colr, coli = {}, {}
      for r = 0, h - 1 do colr[r], coli[r] = hr[r][k], hi[r][k] end
      cr[k], ci[k] = dft(colr, coli, h, 1)
    end
    for r = 0, h - 1 do
      local fr, fi = {}, {}
      for k = 0, w - 1 do
        if k < wc then fr[k], fi[k] = cr[k][r], ci[k][r] else fr[k], fi[k] = cr[w - k][r], -ci[w - k][r] end
      end
      fi[0] = 0; fi[w / 2] = 0                     -- self-conjugate bins: imaginary part ignored
      local out = dft(fr, fi, w, 1)
      for t = 0, w - 1 do close(y:get(r + 1, t + 1), out[t] / (h * w), 1e-5, "irfft2 crop/pad") end
    end
  end)

  it("honours norm = ortho and forward", function()
    local x = randn({4, 5}, 21)
    local X = sl.rfft2(x)
    local Xo, Xf = sl.rfft2(x, "ortho"), sl.rfft2(x, "forward")
    local a, bo, bf = X:tolist(), Xo:tolist(), Xf:tolist()
    for i = 1, #a do
      close(bo[i], a[i] / math.sqrt(20), 1e-5, "ortho")
      close(bf[i], a[i] / 20, 1e-6, "forward")
    end
    for _, norm in ipairs({"ortho", "forward", "backward"}) do
      local y = sl.irfft2(sl.rfft2(x, norm), {4, 5}, norm):tolist()
      local xl = x:tolist()
      for i = 1, #xl do close(y[i], xl[i], 1e-5, norm) end
    end
  end)
end)

describe("rfft / irfft along any dim", function()
  it("matches a naive DFT along the last and a middle dim", function()
    for _, n in ipairs({1, 2, 5, 8, 9}) do
      local x = randn({3, n}, n)
      local X = sl.rfft(x)
      assert.are.same({3, math.floor(n / 2) + 1, 2}, X:shape())
      for r = 1, 3 do
        local re, im = {}, zeros0(n)
        for t = 0, n - 1 do re[t] = x:get(r, t + 1) end
        local fr, fi = dft(re, im, n, -1)
        for k = 0, math.floor(n / 2) do
          close(X:get(r, k + 1, 1), fr[k], 1e-4 * n, "re")
          close(X:get(r, k + 1, 2), fi[k], 1e-4 * n, "im")
        end
      end
    end
    local x = randn({2, 7, 3}, 5)
    for _, dim in ipairs({2, -2}) do
      local X = sl.rfft(x, dim)
      assert.are.same({2, 4, 3, 2}, X:shape())
      for a = 1, 2 do for c = 1, 3 do
        local re, im = {}, zeros0(7)
        for t = 0, 6 do re[t] = x:get(a, t + 1, c) end
        local fr, fi = dft(re, im, 7, -1)
        for k = 0, 3 do
          close(X:get(a, k + 1, c, 1), fr[k], 1e-4 * 7, "re")
          close(X:get(a, k + 1, c, 2), fi[k], 1e-4 * 7, "im")
        end
      end end
    end
    local X0 = sl.rfft(x, 1)
    assert.are.same({2, 7, 3, 2}, X0:shape())
  end)

  it("round-trips along a middle dim, even and odd n", function()
    for _, n in ipairs({6, 7}) do
      local x = randn({2, n, 3}, 30 + n)
      local y = sl.irfft(sl.rfft(x, 2), n, 2)
      assert.are.same({2, n, 3}, y:shape())
      local a, b = x:tolist(), y:tolist()
      for i = 1, #a do close(b[i], a[i], 1e-5, "irfft(rfft)") end
    end
    local x = randn({5, 8}, 2)
    local y = x:rfft():irfft()                     -- default n = 2*(m-1) = 8
    local a, b = x:tolist(), y:tolist()
    for i = 1, #a do close(b[i], a[i], 1e-5, "default n") end
  end)

  it("zero-pads short spectra like numpy.irfft", function()
    local X = sl.tensor({{3, 0}, {1, 2}})          -- bins 0, 1; n = 6 needs 4 bins
    local y = sl.irfft(X, 6):tolist()
    for t = 0, 5 do
      local expect = (3 + 2 * (math.cos(TWO_PI * t / 6) - 2 * math.sin(TWO_PI * t / 6))) / 6
      close(y[t + 1], expect, 1e-6, "padded irfft")
    end
  end)
end)

describe("fft / ifft / fft2 / ifft2 (complex)", function()
  it("fft2 matches a naive complex DFT; ifft2 inverts it", function()
    local z = randn({2, 3, 5, 2}, 41)
    local Z = sl.fft2(z)
    assert.are.same({2, 3, 5, 2}, Z:shape())
    for b = 1, 2 do
      local re, im = {}, {}
      for y = 0, 2 do
        re[y], im[y] = {}, {}
        for x = 0, 4 do re[y][x], im[y][x] = z:get(b, y + 1, x + 1, 1), z:get(b, y + 1, x + 1, 2) end
      end
      local fr, fi = dft2(re, im, 3, 5, -1)
      local ir, ii = dft2(re, im, 3, 5, 1)
      local Zi = sl.ifft2(z)
      for y = 0, 2 do for x = 0, 4 do
        close(Z:get(b, y + 1, x + 1, 1), fr[y][x], 1e-4 * 15, "fft2 re")
        close(Z:get(b, y + 1, x + 1, 2), fi[y][x], 1e-4 * 15, "fft2 im")
        close(Zi:get(b, y + 1, x + 1, 1), ir[y][x] / 15, 1e-5, "ifft2 re")
        close(Zi:get(b, y + 1, x + 1, 2), ii[y][x] / 15, 1e-5, "ifft2 im")
      end end
    end
    local back = sl.ifft2(Z):tolist()
    local orig = z:tolist()
    for i = 1, #orig do close(back[i], orig[i], 1e-5, "ifft2(fft2)") end
  end)

  it("fft along a chosen complex dim, strided input", function()
    local z = randn({4, 3, 2}, 42):transpose(1, 2):contiguous():transpose(1, 2)  -- strided [4,3,2]
    local Z = sl.fft(z, 1)
    for c = 1, 3 do
      local re, im = {}, {}
      for t = 0, 3 do re[t], im[t] = z:get(t + 1, c, 1), z:get(t + 1, c, 2) end
      local fr, fi = dft(re, im, 4, -1)
      for k = 0, 3 do
        close(Z:get(k + 1, c, 1), fr[k], 1e-4 * 4, "fft re")
        close(Z:get(k + 1, c, 2), fi[k], 1e-4 * 4, "fft im")
      end
    end
    local back = sl.ifft(Z, -2):tolist()
    local orig = z:contiguous():tolist()
    for i = 1, #orig do close(back[i], orig[i], 1e-5, "ifft(fft)") end
  end)
end)

describe("fftfreq / rfftfreq", function()
  it("follow numpy's conventions", function()
    assert.are.same({0, 1, 2, 3, -4, -3, -2, -1}, sl.fftfreq(8, 1 / 8, "float64"):tolist())
    local f = sl.fftfreq(8):tolist()
    local expect = {0, 1, 2, 3, -4, -3, -2, -1}
    for i = 1, 8 do close(f[i], expect[i] / 8, 0, "fftfreq(8)") end
    assert.are.same({0, 2, 4, -4, -2}, sl.fftfreq(5, 0.1, "float64"):tolist())
    assert.are.same({0, 0.125, 0.25, 0.375, 0.5}, sl.rfftfreq(8):tolist())
    assert.are.same({0, 2, 4}, sl.rfftfreq(5, 0.1, "float64"):tolist())
    assert.are.same({0}, sl.fftfreq(1):tolist())
    assert.are.equal("float32", sl.fftfreq(4):dtype())
  end)
end)

describe("fft engine", function()
  it("gives identical results with 1 and 2 threads", function()
    local saved = sl.num_threads()
    local x = randn({8, 64, 64}, 50)
    local out = {}
    for _, nt in ipairs({1, 2}) do
      sl.set_num_threads(nt)
      out[nt] = {sl.rfft2(x):tolist(), sl.irfft2(sl.rfft2(x), {64, 64}):tolist()}
    end
    sl.set_num_threads(saved)
    for k = 1, 2 do
      local a, b = out[1][k], out[2][k]
      for i = 1, #a do if a[i] ~= b[i] then error("thread-count dependence at " .. i) end end
    end
  end)

  it("reuses cached plans", function()
    local x = randn({3, 12, 10}, 60)
    sl.rfft2(x)
    local n = sl.fft_plan_count()
    sl.rfft2(randn({3, 12, 10}, 61))
    assert.are.equal(n, sl.fft_plan_count())
  end)

  it("handles empty batches", function()
    assert.are.same({0, 4, 3, 2}, sl.rfft2(sl.zeros(0, 4, 4)):shape())
    assert.are.same({0, 4, 4}, sl.irfft2(sl.zeros(0, 4, 3, 2), {4, 4}):shape())
  end)
end)

describe("fft errors", function()
  it("names the op, what was expected and what was found", function()
    assert.has_error(function() sl.rfft2(sl.zeros(5)) end,
      "rfft2: input must have at least 2 dims [..., H, W], got shape [5]")
    assert.has_error(function() sl.irfft2(sl.zeros(3, 4)) end,
      "irfft2: expected a complex tensor (trailing dim of size 2 holding re, im) with at least 2 complex dims, got shape [3,4]")
    assert.has_error(function() sl.fft2(sl.zeros(4, 2)) end,
      "fft2: expected a complex tensor (trailing dim of size 2 holding re, im) with at least 2 complex dims, got shape [4,2]")
    assert.has_error(function() sl.irfft(sl.zeros(3)) end,
      "irfft: expected a complex tensor (trailing dim of size 2 holding re, im) with at least 1 complex dim, got shape [3]")
    assert.has_error(function() sl.rfft2(sl.zeros(3, 0)) end,
      "rfft2: cannot transform dim 1 of size 0 (input shape [3,0])")
    assert.has_error(function() sl.irfft(sl.zeros(1, 2)) end,
      "irfft: cannot infer the output size from 1 input bin(s); pass n")
    assert.has_error(function() sl.rfft2(sl.zeros(4, 4), "bogus") end,
      "rfft2: norm must be \"backward\", \"ortho\" or \"forward\", got \"bogus\"")
    assert.has_error(function() sl.fftfreq(0) end, "fftfreq: n must be >= 1, got 0")
    assert.has_error(function() sl.rfftfreq(4, 0) end,
      "rfftfreq: sample spacing d must be finite and non-zero, got 0")
    local ok, err = pcall(sl.rfft, sl.zeros(3, 4), 3)
    assert.is_false(ok)
    assert.truthy(err:find("rfft: dim 3 out of range for 2 dim(s)", 1, true))
    ok, err = pcall(sl.irfft2, sl.zeros(3, 4, 2), {0, 4})
    assert.is_false(ok)
    assert.truthy(err:find("output sizes {h, w} must be integers >= 1", 1, true))
  end)
end)
