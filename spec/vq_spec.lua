-- Vector quantizer (engine/core/vq.c via sl._vq, lua/spinlock/vq.lua): nearest-code search
-- against a naive loop (contiguous and strided, both metrics, ties), EMA update against a hand
-- computation, commitment loss and straight-through gradients (finite differences), k-means++
-- determinism, dead-code reset, utilisation/perplexity, the class and its errors.
local sl = require "spinlock"
local K_ = sl._vq
local vq = require "spinlock.vq"

local function naive_assign(z, cb, metric)
  local zt, ct = z:totable(), cb:totable()
  local out = {}
  for i, zi in ipairs(zt) do
    local best, bv = nil, nil
    for k, e in ipairs(ct) do
      local v
      if metric == "cosine" then
        local dot, nz, ne = 0, 0, 0
        for j = 1, #zi do dot = dot + zi[j] * e[j]; nz = nz + zi[j] ^ 2; ne = ne + e[j] ^ 2 end
        v = -dot / (math.sqrt(nz > 0 and nz or 1) * math.sqrt(ne > 0 and ne or 1))
      else
        v = 0
        for j = 1, #zi do v = v + (zi[j] - e[j]) ^ 2 end
      end
      if not bv or v < bv then best, bv = k, v end
    end
    out[i] = { best, bv }
  end
  return out
end

local function check_assign(z, cb, metric)
  local idx, score = K_.assign(z, cb, metric)
  local ref = naive_assign(z, cb, metric)
  for i = 1, #ref do
    if idx[i] ~= ref[i][1] then
      -- a float near-tie may legitimately differ: the two distances must then agree closely
      local alt = naive_assign(z:narrow(1, i, 1), cb:narrow(1, idx[i], 1), metric)[1][2]
      assert.is_true(math.abs(alt - ref[i][2]) < 1e-5, ("row %d: %d vs naive %d"):format(i, idx[i], ref[i][1]))
    end
    local want = metric == "cosine" and -ref[i][2] or ref[i][2]
    assert.is_true(math.abs(score[i] - want) < 1e-4 * (1 + math.abs(want)), "score row " .. i)
  end
end

describe("vq kernels", function()
  local g = sl.Generator(11)

  it("nearest code matches a naive loop (l2 and cosine, contiguous and strided)", function()
    local z = g:normal({ 37, 5 })
    local cb = g:normal({ 9, 5 })
    for _, m in ipairs { "l2", "cosine" } do
      check_assign(z, cb, m)
      check_assign(g:normal({ 5, 37 }):t(), cb, m)               -- strided z
      check_assign(z, g:normal({ 5, 9 }):t(), m)                  -- strided codebook
      check_assign(z:narrow(2, 2, 3), cb:narrow(2, 1, 3), m)      -- narrowed widths
    end
    -- large batch crosses the 2048-row GEMM blocks
    check_assign(g:normal({ 2100, 3 }), g:normal({ 7, 3 }), "l2")
  end)

  it("ties go to the lowest code index", function()
    local cb = sl.tensor({ { 1, 0 }, { 0, 1 }, { 1, 0 }, { -1, 0 } })
    local idx = K_.assign(sl.tensor({ { 1, 0 }, { 0.5, 0.5 }, { 0, 0 } }), cb)
    assert.are.same({ 1, 1, 1 }, idx:totable())
  end)

  it("lookup gathers code vectors", function()
    local cb = sl.tensor({ { 1, 2 }, { 3, 4 }, { 5, 6 } })
    assert.are.same({ { 5, 6 }, { 1, 2 }, { 5, 6 } }, K_.lookup(cb, sl.tensor({ 3, 1, 3 }, "int64")):totable())
    local ok, err = pcall(K_.lookup, cb, sl.tensor({ 4 }, "int64"))
    assert.is_false(ok); assert.truthy(err:find("index 3 of row 0 is outside [0, 3)", 1, true))
  end)

  it("EMA update matches a hand computation", function()
    -- K = 3 codes, d = 2; rows 1,2 → code 1, row 3 → code 3; code 2 unused
    local cb = sl.tensor({ { 0, 0 }, { 1, 1 }, { 2, 2 } })
    local N = sl.tensor({ 2, 1, 1 })
    local m = sl.tensor({ { 0, 0 }, { 1, 1 }, { 2, 2 } })
    local z = sl.tensor({ { 1, 3 }, { 3, 1 }, { 4, 0 } })
    local idx = sl.tensor({ 1, 1, 3 }, "int64")
    local gm, eps = 0.9, 1e-5
    K_.ema_update(cb, N, m, z, idx, gm, eps)
    local Nd = { gm * 2 + 0.1 * 2, gm * 1, gm * 1 + 0.1 }
    local n = Nd[1] + Nd[2] + Nd[3]
    for k = 1, 3 do Nd[k] = (Nd[k] + eps) / (n + 3 * eps) * n end
    local md = { { 0 + 0.1 * 4, 0 + 0.1 * 4 }, { 0.9, 0.9 }, { 1.8 + 0.4, 1.8 } }
    for k = 1, 3 do
      assert.is_true(math.abs(N[k] - Nd[k]) < 1e-6, "count " .. k)
      for j = 1, 2 do
        assert.is_true(math.abs(m:get(k, j) - md[k][j]) < 1e-6, "sum " .. k)
        assert.is_true(math.abs(cb:get(k, j) - md[k][j] / Nd[k]) < 1e-5, "code " .. k)
      end
    end
    local ok, err = pcall(K_.ema_update, cb, sl.ones(4), m, z, idx, gm, eps)
    assert.is_false(ok); assert.truthy(err:find("ema_count must have shape [3]", 1, true))
    ok, err = pcall(K_.ema_update, cb, N, m, z, idx, 1.5, eps)
    assert.is_false(ok); assert.truthy(err:find("decay must be in [0, 1]", 1, true))
  end)

  it("commitment loss, its gradient (finite differences) and the codebook gradient", function()
    local z = g:normal({ 6, 4 }, 0, 1, "float64"):float()
    local cb = g:normal({ 3, 4 })
    local idx = K_.assign(z, cb)
    local beta = 0.25
    local gcb = sl.zeros(3, 4)
    local mse, gz = K_.commitment(z, cb, idx, beta, gcb, 1)
    local e = K_.lookup(cb, idx)
    local ref = 0
    for i = 1, 6 do for j = 1, 4 do ref = ref + (z:get(i, j) - e:get(i, j)) ^ 2 end end
    ref = ref / 24
    assert.is_true(math.abs(mse - ref) < 1e-6)
    local h = 1e-2
    for i = 1, 6 do
      for j = 1, 4 do
        local zp, zm = z:clone(), z:clone()
        zp:set(z:get(i, j) + h, i, j); zm:set(z:get(i, j) - h, i, j)
        local fp = beta * K_.commitment(zp, cb, idx)
        local fm = beta * K_.commitment(zm, cb, idx)
        assert.is_true(math.abs((fp - fm) / (2 * h) - gz:get(i, j)) < 1e-4, "grad_z " .. i .. "," .. j)
      end
    end
    -- codebook gradient: d mse / d e_k = -2 Σ_{i→k} (z_i − e_k) / (B d)
    for k = 1, 3 do
      for j = 1, 4 do
        local s = 0
        for i = 1, 6 do if idx[i] == k then s = s + (z:get(i, j) - cb:get(k, j)) end end
        assert.is_true(math.abs(gcb:get(k, j) - (-2 * s / 24)) < 1e-6)
      end
    end
  end)

  it("usage: utilisation, perplexity and idle counters", function()
    local idle = sl.tensor({ 5, 5, 5, 5 }, "int64")
    local counts, u, p = K_.usage(sl.tensor({ 1, 1, 2, 3 }, "int64"), 4, idle)
    assert.are.same({ 2, 1, 1, 0 }, counts:totable())
    assert.are.equal(0.75, u)
    local h = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert.is_true(math.abs(p - math.exp(h)) < 1e-12)
    assert.are.same({ 0, 0, 0, 6 }, idle:totable())
    local _, u1, p1 = K_.usage(sl.tensor({ 2, 2 }, "int64"), 8)
    assert.are.equal(1 / 8, u1); assert.are.equal(1, p1)
  end)

  it("k-means++ is deterministic, seed-dependent and finds separated clusters", function()
    local centres = { { 10, 0 }, { -10, 0 }, { 0, 10 }, { 0, -10 } }
    local data = sl.Generator(3):normal({ 200, 2 }, 0, 0.1)
    for i = 1, 200 do
      local c = centres[(i - 1) % 4 + 1]
      data:set(data:get(i, 1) + c[1], i, 1); data:set(data:get(i, 2) + c[2], i, 2)
    end
    local function run(seed, iters)
      local cb = sl.zeros(4, 2)
      local gen = sl.Generator(seed)
      K_.kmeanspp(cb, data, iters, gen)
      return cb, gen:offset()
    end
    local a, off = run(1, 0)
    local b = run(1, 0)
    assert.are.same(a:totable(), b:totable())
    assert.are.equal(8, off)    -- 4 float64 draws = 8 words
    -- with iters = 0 every code is a data row
    local dt = data:totable()
    for k = 1, 4 do
      local found = false
      for i = 1, 200 do if dt[i][1] == a:get(k, 1) and dt[i][2] == a:get(k, 2) then found = true end end
      assert.is_true(found)
    end
    local c = run(2, 0)
    assert.are_not.same(a:totable(), c:totable())
    -- after Lloyd steps each true centre has a code within 0.1
    local l = run(1, 5)
    for _, ctr in ipairs(centres) do
      local best = math.huge
      for k = 1, 4 do best = math.min(best, math.abs(l:get(k, 1) - ctr[1]) + math.abs(l:get(k, 2) - ctr[2])) end
      assert.is_true(best < 0.1)
    end
    -- fewer rows than codes: duplicates, no failure
    local cb = sl.zeros(5, 2)
    K_.kmeanspp(cb, data:narrow(1, 1, 2), 0, sl.Generator(1))
  end)

  it("ring buffer keeps the most recent rows", function()
    local ring = sl.zeros(3, 1)
    local pos, fill = K_.ring_push(ring, 0, 0, sl.tensor({ { 1 }, { 2 } }))
    assert.are.same({ 2, 2 }, { pos, fill })
    pos, fill = K_.ring_push(ring, pos, fill, sl.tensor({ { 3 }, { 4 } }))
    assert.are.same({ 1, 3 }, { pos, fill })
    assert.are.same({ { 4 }, { 2 }, { 3 } }, ring:totable())
    pos, fill = K_.ring_push(ring, pos, fill, sl.tensor({ { 5 }, { 6 }, { 7 }, { 8 } }))
    assert.are.same({ { 6 }, { 7 }, { 8 } }, { ring[2]:totable(), ring[3]:totable(), ring[1]:totable() })
  end)

  it("dead-code reset: most idle first, capped, rows from the ring, EMA sums = row × count", function()
    local cb = sl.tensor({ { 0, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 } })
    local N = sl.tensor({ 4, 0.1, 2, 0.2, 6 })
    local m = cb:clone()
    local idle = sl.tensor({ 0, 7, 3, 9, 1 }, "int64")
    local ring = sl.tensor({ { 10, 10 }, { 20, 20 } })
    local gen = sl.Generator(9)
    local n = K_.reset_dead(cb, N, m, idle, ring, 2, 3, 2, gen)
    assert.are.equal(2, n)
    -- dead: codes 2 (idle 7), 3 (idle 3), 4 (idle 9); cap 2 → codes 4 and 2 (most idle first)
    assert.are.same({ 0, 0, 3, 0, 1 }, idle:totable())
    -- live (idle < 3) codes 1, 5 have counts 4, 6 → median 5
    assert.are.equal(5, N[2]); assert.are.equal(5, N[4])
    assert.are.equal(2, N[3])
    local u = sl.Generator(9):uniform(2, 0, 1, "float64")
    local rows = { math.floor(u[1] * 2) + 1, math.floor(u[2] * 2) + 1 }
    assert.are.same(ring[rows[1]]:totable(), cb[4]:totable())
    assert.are.same(ring[rows[2]]:totable(), cb[2]:totable())
    assert.are.equal(ring:get(rows[1], 1) * 5, m:get(4, 1))
    assert.are.same({ 2, 2 }, cb[3]:totable())
    assert.are.equal(4, gen:offset())
    -- empty ring: nothing happens
    assert.are.equal(0, K_.reset_dead(cb, N, m, sl.tensor({ 9, 9, 9, 9, 9 }, "int64"), ring, 0, 3, 2, gen))
  end)

  it("rejects bad shapes with clear messages", function()
    local ok, err = pcall(K_.assign, sl.zeros(3, 4), sl.zeros(5, 3))
    assert.is_false(ok); assert.truthy(err:find("z has width 4 but the codebook's codes have width 3", 1, true))
    ok, err = pcall(K_.assign, sl.zeros(3), sl.zeros(5, 3))
    assert.is_false(ok); assert.truthy(err:find("z must be 2-d", 1, true))
    ok, err = pcall(K_.assign, sl.zeros(3, 3), sl.zeros(5, 3), "manhattan")
    assert.is_false(ok); assert.truthy(err:find('metric must be "l2" or "cosine"', 1, true))
    ok, err = pcall(K_.commitment, sl.zeros(3, 3), sl.zeros(5, 3), sl.tensor({ 1, 2 }, "int64"))
    assert.is_false(ok); assert.truthy(err:find("indices must have shape [3]", 1, true))
  end)
end)

describe("VectorQuantizer", function()
  local function clustered(n, seed)
    local centres = { { 3, 0, 0 }, { -3, 0, 0 }, { 0, 3, 0 }, { 0, -3, 0 }, { 0, 0, 3 }, { 0, 0, -3 } }
    local x = sl.Generator(seed):normal({ n, 3 }, 0, 0.2)
    for i = 1, n do
      local c = centres[(i * 7) % 6 + 1]
      for j = 1, 3 do x:set(x:get(i, j) + c[j], i, j) end
    end
    return x
  end

  it("forward/backward: straight-through plus commitment gradient", function()
    local q = vq.VectorQuantizer { num_codes = 6, dim = 3, beta = 0.5, seed = 4 }
    local z = clustered(60, 1)
    local zq, idx, loss = q:forward(z)
    assert.are.same({ 60, 3 }, zq:shape())
    assert.are.equal(60, idx:numel())
    assert.is_true(loss > 0 and loss < 0.5 * 0.2)
    local grad = sl.ones(60, 3)
    local gz = q:backward(grad)
    local _, gcommit = K_.commitment(z, q.ema_sum:clone():fill(0), idx)   -- shape helper only
    assert.are.same({ 60, 3 }, gcommit:shape())
    -- gz − 1 = 2 β (z − e_old)/(B d); e_old rows are zq
    for i = 1, 60, 13 do
      for j = 1, 3 do
        local want = 1 + 2 * 0.5 * (z:get(i, j) - zq:get(i, j)) / 180
        assert.is_true(math.abs(gz:get(i, j) - want) < 1e-6)
      end
    end
    assert.are.same({}, q:parameters())
  end)

  it("trains to full utilisation on clustered data; stats and state round trip", function()
    local q = vq.VectorQuantizer { num_codes = 6, dim = 3, seed = 7, dead_after = 5 }
    for s = 1, 20 do q:forward(clustered(64, s)) end
    local st = q:stats()
    assert.are.equal(1, st.utilisation)
    assert.is_true(math.abs(st.perplexity - 6) < 0.5)
    assert.are.equal(0, st.dead)
    assert.are.equal(20, st.step)
    local q2 = vq.from_state(q:state())
    local z = clustered(30, 99)
    q:eval(); q2:eval()
    local _, i1 = q:forward(z)
    local _, i2 = q2:forward(z)
    assert.are.same(i1:totable(), i2:totable())
    -- eval mode leaves the codebook alone
    local before = q.codebook:clone()
    q:forward(z)
    assert.are.same(before:totable(), q.codebook:totable())
  end)

  it("resets codes idle for dead_after steps from recent encoder rows", function()
    local q = vq.VectorQuantizer { num_codes = 8, dim = 3, seed = 3, init = "none", dead_after = 2,
                                   max_reset_fraction = 0.5 }
    -- codes far away from the data except code 1
    q.codebook:fill(100); q.codebook[1]:fill(0); q.ema_sum:copy(q.codebook)
    for s = 1, 3 do q:forward(clustered(32, s)) end
    assert.are.equal(7, q:stats().dead)
    local n = q:reset_dead_codes()
    assert.are.equal(4, n)     -- capped at floor(8 · 0.5)
    assert.are.equal(3, q:stats().dead)
    local n2 = q:reset_dead_codes()
    assert.are.equal(3, n2)
    assert.is_true(q.codebook:abs():max() < 10)
  end)

  it("state() holds everything resets use: a restored quantizer resets the same codes from the same rows", function()
    local function make()
      local q = vq.VectorQuantizer { num_codes = 8, dim = 3, seed = 3, init = "none", dead_after = 2,
                                     max_reset_fraction = 0.5, ring_size = 50 }
      q.codebook:fill(100); q.codebook[1]:fill(0); q.ema_sum:copy(q.codebook)
      return q
    end
    local q = make()
    for s = 1, 3 do q:forward(clustered(32, s)) end     -- 96 rows through a ring of 50: it wrapped
    local q2 = vq.from_state(q:state())
    assert.are.equal(q.ring_pos, q2.ring_pos)
    assert.are.equal(q.ring_fill, q2.ring_fill)
    assert.are.equal(q:reset_dead_codes(), q2:reset_dead_codes())
    assert.are.same(q.codebook:totable(), q2.codebook:totable())
    -- and keep going identically: more pushes wrap the ring at the same place
    q:forward(clustered(40, 9)); q2:forward(clustered(40, 9))
    q:reset_dead_codes(); q2:reset_dead_codes()
    assert.are.same(q.codebook:totable(), q2.codebook:totable())
    -- states written before the ring was saved still load (empty ring)
    local old = q:state()
    old.ring, old.ring_pos, old.ring_fill = nil, nil, nil
    assert.are.equal(0, vq.from_state(old).ring_fill)
  end)

  it("without EMA the codebook is a parameter with a gradient", function()
    local q = vq.VectorQuantizer { num_codes = 4, dim = 3, ema = false, seed = 1 }
    local z = clustered(16, 2)
    local _, _, loss = q:forward(z)
    assert.is_true(math.abs(loss - 1.25 * q.last_loss.mse) < 1e-9)
    q:backward(sl.zeros(16, 3))
    local p, gp = q:parameters()
    assert.are.equal(q.codebook, p[1])
    assert.is_true(gp[1]:abs():sum() > 0)
    q:zero_grad()
    assert.are.equal(0, gp[1]:abs():sum())
  end)

  it("cosine metric and uniform init", function()
    local q = vq.VectorQuantizer { num_codes = 16, dim = 3, metric = "cosine", init = "uniform" }
    assert.is_true(q.codebook:abs():max() <= 1 / 16)
    local _, idx = q:forward(clustered(10, 1))
    assert.is_true(idx:min() >= 1 and idx:max() <= 16)
  end)

  it("validates options and inputs", function()
    assert.has_error(function() vq.VectorQuantizer { num_codes = 0, dim = 3 } end,
      "VectorQuantizer: num_codes must be a positive integer, got 0")
    assert.has_error(function() vq.VectorQuantizer { num_codes = 4, dim = 3, colour = 1 } end,
      "VectorQuantizer: unknown option 'colour'")
    local q = vq.VectorQuantizer { num_codes = 4, dim = 3 }
    assert.has_error(function() q:forward(sl.zeros(5, 2)) end,
      "VectorQuantizer:forward: expected z of shape [B, 3], got [5,2]")
    assert.has_error(function() q:backward(sl.zeros(5, 3)) end,
      "VectorQuantizer:backward: call forward in training mode first")
  end)
end)
