-- spinlock.sobol: Joe-Kuo Sobol points, Gray-code order, seeded Owen scrambling.
local sobol = require "spinlock.sobol"
local sm = require "spinlock.sampling_metrics"

local UNSCRAMBLED = { scramble = false }

local function column(arr, P, n, d)
  local c = {}
  for r = 0, n - 1 do c[r + 1] = arr[r * P + d - 1] end
  return c
end

-- each interval [j/n, (j+1)/n) holds exactly one of the n values
local function stratified(values, n)
  local seen = {}
  for _, u in ipairs(values) do
    if not (u >= 0 and u < 1) then return false end
    local j = math.floor(u * n)
    if seen[j] then return false end
    seen[j] = true
  end
  return true
end

describe("sobol (unscrambled)", function()
  it("starts with the hand-known points of dimensions 1-3", function()
    local a = sobol.array(3, 0, 8, UNSCRAMBLED)
    assert.same({ 0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125 }, column(a, 3, 8, 1))
    assert.same({ 0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625 }, column(a, 3, 8, 2))
    assert.same({ 0, 0.5, 0.25, 0.75, 0.625, 0.125, 0.875, 0.375 }, column(a, 3, 8, 3))
  end)

  it("point 0 is all zeros (nothing is skipped)", function()
    assert.same({ 0, 0, 0, 0 }, sobol.point(0, 4, UNSCRAMBLED))
  end)

  it("matches the independent sequential generator in all 64 dimensions (fixture)", function()
    local f = assert(io.open("spec/fixtures/config_sobol/sobol_unscrambled.txt"))
    local rows = 0
    for line in f:lines() do
      local idx, rest = line:match("^(%d+): (.*)$")
      if idx then
        idx = tonumber(idx)
        local d = 0
        for hex in rest:gmatch("%x+") do
          d = d + 1
          local want = tonumber(hex, 16)
          if sobol.integer(idx, d) ~= want then
            error(string.format("point %d dim %d: got %08x, fixture %08x", idx, d, sobol.integer(idx, d), want))
          end
        end
        assert.equal(64, d)
        local pt = sobol.point(idx, 64, UNSCRAMBLED)
        assert.equal(tonumber(rest:match("^%x+"), 16) / 2 ^ 32, pt[1])
        rows = rows + 1
      end
    end
    f:close()
    assert.equal(40, rows)
  end)
end)

describe("sobol", function()
  for _, opts in ipairs({ UNSCRAMBLED, { seed = 42 }, { seed = 2 ^ 40 + 3 } }) do
    local label = opts.scramble == false and "unscrambled" or ("seed " .. tostring(opts.seed))
    it("puts every point in [0,1) and stratifies 1-D projections (" .. label .. ")", function()
      for _, n in ipairs({ 1, 2, 16, 256, 1024 }) do
        local a = sobol.array(64, 0, n, opts)
        for d = 1, 64 do
          assert.is_true(stratified(column(a, 64, n, d), n), string.format("n=%d dim=%d", n, d))
        end
      end
    end)

    it("gives the same points whatever range generates them (" .. label .. ")", function()
      local P = 7
      local full = sobol.array(P, 0, 3000, opts)
      for _, range in ipairs({ { 0, 1 }, { 1, 5 }, { 511, 3 }, { 1023, 130 }, { 2047, 953 } }) do
        local first, count = range[1], range[2]
        local part = sobol.array(P, first, count, opts)
        for r = 0, count - 1 do
          for d = 0, P - 1 do
            if part[r * P + d] ~= full[(first + r) * P + d] then
              error(string.format("range %d+%d differs at point %d dim %d", first, count, first + r, d + 1))
            end
          end
        end
        local pt = sobol.point(first, P, opts)
        assert.equal(full[first * P], pt[1])
      end
    end)
  end

  it("stratifies 2-D projections of dimensions 1 and 2 into a 2^k x 2^k grid's elementary intervals", function()
    -- (0,m,2)-net property of the first two dimensions: 256 points, one per 16x16 cell
    for _, opts in ipairs({ UNSCRAMBLED, { seed = 5 } }) do
      local a = sobol.array(2, 0, 256, opts)
      local seen = {}
      for r = 0, 255 do
        local cell = math.floor(a[r * 2] * 16) * 16 + math.floor(a[r * 2 + 1] * 16)
        assert.is_nil(seen[cell])
        seen[cell] = true
      end
    end
  end)

  it("is deterministic, and different seeds give different points", function()
    local a = sobol.array(5, 100, 50, { seed = 1 })
    local b = sobol.array(5, 100, 50, { seed = 1 })
    local c = sobol.array(5, 100, 50, { seed = 2 })
    local same_ab, diff_ac = true, 0
    for i = 0, 249 do
      if a[i] ~= b[i] then same_ab = false end
      if a[i] ~= c[i] then diff_ac = diff_ac + 1 end
    end
    assert.is_true(same_ab)
    assert.is_true(diff_ac > 240)
    -- scrambling moves point 0 away from the origin
    local p0 = sobol.point(0, 3, { seed = 1 })
    assert.is_true(p0[1] > 0 and p0[2] > 0 and p0[3] > 0)
  end)

  it("scrambled points keep a low discrepancy", function()
    local N, P = 1024, 4
    local scr = sobol.array(P, 0, N, { seed = 11 })
    local cd = sm.centered_l2_discrepancy(scr, N, P)
    -- 1024 i.i.d. uniform points in 4-D give CD2 ~ 8e-4 on average; these give ~9e-6
    assert.is_true(cd < 1e-4, "discrepancy " .. cd)
  end)

  it("computes 32-bit products exactly", function()
    assert.equal(1, sobol._mul32(0xffffffff, 0xffffffff))
    assert.equal(bit.tobit(0x12345678 * 3), sobol._mul32(0x12345678, 3))
    assert.equal(bit.tobit((0x9e3779b9 * 0x10001) % 2 ^ 32), sobol._mul32(0x9e3779b9, 0x10001))
  end)

  it("scrambles digits in nested fashion (a point's top bits depend only on its top bits)", function()
    -- two integers sharing their top k bits map to integers sharing their top k bits
    local key = sobol._dim_key(42, 3)
    local a, b = 0x5a000000, 0x5a7fffff
    local sa, sb = sobol._owen(a, key), sobol._owen(b, key)
    assert.equal(bit.rshift(sa, 24), bit.rshift(sb, 24))
  end)

  it("rejects bad arguments with clear messages", function()
    assert.has_error(function() sobol.array(0, 0, 4) end, "sobol.array: dimension must be an integer in 1..64, found 0")
    assert.has_error(function() sobol.array(65, 0, 4) end, "sobol.array: dimension must be an integer in 1..64, found 65")
    assert.has_error(function() sobol.array(2, -1, 4) end, "sobol.array: first index must be a non-negative integer, found -1")
    assert.has_error(function() sobol.array(2, 2 ^ 32 - 1, 2) end,
      "sobol.array: indices 4294967295..4294967296 exceed the 2^32 points of a 32-bit Sobol sequence")
    assert.has_error(function() sobol.array(2, 0, 2, { seed = -3 }) end, "sobol.array: seed must be an integer in [0, 2^53), found -3")
  end)

  it("reaches the last index of the sequence", function()
    local a = sobol.array(3, 2 ^ 32 - 2, 2, UNSCRAMBLED)
    for i = 0, 5 do assert.is_true(a[i] >= 0 and a[i] < 1) end
    assert.equal(sobol.integer(2 ^ 32 - 1, 2) / 2 ^ 32, a[4])
  end)
end)

describe("sobol tensors", function()
  it("returns [count, P] float64 tensors equal to the FFI arrays", function()
    local t = sobol.points(5, 17, 40, { seed = 9 })
    assert.same({ 40, 5 }, t:shape())
    assert.equal("float64", t:dtype())
    local a = sobol.array(5, 17, 40, { seed = 9 })
    for r = 1, 40 do
      for d = 1, 5 do assert.equal(a[(r - 1) * 5 + d - 1], t:get(r, d)) end
    end
    assert.same({ 0, 3 }, sobol.points(3, 0, 0):shape())
  end)

  it("feeds the metrics, contiguous or strided", function()
    local N, Pd = 128, 4
    local t = sobol.points(Pd, 0, N, { seed = 1 })
    local want = sm.centered_l2_discrepancy(sobol.array(Pd, 0, N, { seed = 1 }), N, Pd)
    assert.equal(want, sm.centered_l2_discrepancy(t, N, Pd))
    -- the same points as a transposed (non-contiguous) view
    local tt = t:transpose(1, 2):contiguous():transpose(1, 2)
    assert.is_false(tt:is_contiguous())
    assert.equal(want, sm.centered_l2_discrepancy(tt, N, Pd))
    assert.has_error(function() sm.centered_l2_discrepancy(t:float(), N, Pd) end,
      "sampling_metrics: points must be float64, found float32")
  end)
end)
