-- Operators (engine/core/operator.c, lua/spinlock/operator.lua): architecture and parameter counts
-- against spec/generation.md §3.2 and hand formulas, weight init against the Philox stream, the
-- fused C forward against the reference forward built from sl ops, determinism (seed/index,
-- batch split, thread count), noise kinds / schedules / spatial correlation, update policies
-- against hand computation, divergence flags, and argument errors.
--
-- Tolerance of the fused C forward vs the sl-ops reference (float32 both; the reference uses the
-- direct convolution and separate norm/activation/noise ops): |Δ| <= 1e-5 · (1 + max|y|).
local sl = require "spinlock"
local operator = require "spinlock.operator"

local function params(t)
  local p = { num_layers = 2, base_channels = 4, kernel_size = 3, grid_size = 8, activation = "gelu",
              normalization = "instance" }
  for k, v in pairs(t or {}) do p[k] = v end
  return p
end

local function maxabs(t) return t:abs():max() end
local function maxdiff(a, b) return (a - b):abs():max() end
local function same_bits(a, b, what)
  -- NaN-aware exact equality (ne is true for NaN vs NaN, so compare the NaN masks separately)
  local na, nb = sl.isnan(a), sl.isnan(b)
  assert(sl.eq(na, nb):to("float32"):min() == 1, what .. ": NaN positions differ")
  local d = sl.where(na, 0, a - b):abs():max()
  assert(d == 0, ("%s: results differ (max abs diff %g)"):format(what, d))
end

local function randn(shape, seed) return sl.Generator(seed or 11):normal(shape) end

describe("operator architecture", function()
  -- spec/generation.md §3.2: blocks after the input ConvBlock(3→b), and C_last
  local expected = {
    [2] = { blocks = { { 4, 4 }, { 4, 8 } }, clast = 8 },
    [3] = { blocks = { { 4, 4 }, { 4, 8 }, { 8, 16 } }, clast = 16 },
    [4] = { blocks = { { 4, 4 }, { 4, 8 }, { 8, 16 }, { 16, 16 } }, clast = 16 },
    [5] = { blocks = { { 4, 4 }, { 4, 8 }, { 8, 16 }, { 16, 16 }, { 16, 16 } }, clast = 16 },
  }

  it("follows the layer table of spec §3.2 for n = 2..5", function()
    for n = 2, 5 do
      local op = operator.build(params { num_layers = n, base_channels = 4 })
      local info = op:info()
      local e = expected[n]
      assert.are.equal(e.clast, info.channels_last)
      assert.are.equal(n > 3, info.residual)
      local layers = info.layers
      assert.are.same({ "block", -1, 3, 4, 3 }, { layers[1].role, layers[1].block, layers[1].cin, layers[1].cout, layers[1].k })
      local j = 2
      for i, io in ipairs(e.blocks) do
        local cin, cout = io[1], io[2]
        local l = layers[j]
        assert.are.same({ "block", i - 1, 0, cin, cout, 3 }, { l.role, l.block, l.sub, l.cin, l.cout, l.k })
        j = j + 1
        if n > 3 then
          l = layers[j]
          assert.are.same({ "block", i - 1, 1, cout, cout }, { l.role, l.block, l.sub, l.cin, l.cout })
          j = j + 1
          if cin ~= cout then
            l = layers[j]
            assert.are.same({ "skip", i - 1, cin, cout, 1 }, { l.role, l.block, l.cin, l.cout, l.k })
            j = j + 1
          end
        end
      end
      local l = layers[j]
      assert.are.same({ "output", n, e.clast, 3, 1 }, { l.role, l.block, l.cin, l.cout, l.k })
      assert.are.equal(j, #layers)
    end
  end)

  it("counts parameters and MACs like the hand formulas", function()
    for _, norm in ipairs { "instance", "none" } do
      for n = 2, 5 do
        for _, k in ipairs { 3, 5 } do
          local b, G = 3, 8
          local op = operator.build(params { num_layers = n, base_channels = b, kernel_size = k, normalization = norm })
          -- parameters: conv weights, conv biases (norm none only), 2C affine per normalised conv,
          -- skip projections (no bias), output 1×1 with bias
          local P, macs = 0, 0
          local function conv(cin, cout, kk, bias, normed)
            P = P + cin * cout * kk * kk + (bias and cout or 0) + (normed and 2 * cout or 0)
            macs = macs + cin * cout * kk * kk
          end
          local nb = norm == "none"
          conv(3, b, k, nb, not nb)
          local cur = b
          for i = 0, n - 1 do
            local o = b * 2 ^ math.min(i, 2)
            conv(cur, o, k, nb, not nb)
            if n > 3 then
              conv(o, o, k, nb, not nb)
              if cur ~= o then conv(cur, o, 1, false, false) end
            end
            cur = o
          end
          conv(cur, 3, 1, true, false)
          local info = op:info()
          assert.are.equal(P, info.parameters)
          assert.are.equal(macs * G * G, info.macs_per_step)
        end
      end
    end
    -- reference-performance.md: MACs per pixel, L=2: k²(3B+3B²)+6B; L=4: k²(3B+64B²)+10B²+12B
    local B, k = 4, 3
    local op2 = operator.build(params { num_layers = 2, base_channels = B, kernel_size = k })
    assert.are.equal((k * k * (3 * B + 3 * B * B) + 6 * B) * 64, op2:info().macs_per_step)
    local op4 = operator.build(params { num_layers = 4, base_channels = B, kernel_size = k })
    assert.are.equal((k * k * (3 * B + 64 * B * B) + 10 * B * B + 12 * B) * 64, op4:info().macs_per_step)
  end)

  it("uses the largest divisor <= 32 as the group count (C = 34 → 17), 1 for layer norm", function()
    local op = operator.build(params { num_layers = 2, base_channels = 34, normalization = "group" })
    local convs = op:convs()
    assert.are.equal(17, convs[1].groups)      -- 34 channels
    assert.are.equal(17, convs[3].groups)      -- 68 channels: divisors <= 32 are 1, 2, 4, 17
    local op16 = operator.build(params { base_channels = 16, normalization = "group" })
    assert.are.equal(16, op16:convs()[1].groups)
    assert.are.equal(32, op16:convs()[3].groups)
    local opl = operator.build(params { normalization = "layer" })
    assert.are.equal(1, opl:convs()[2].groups)
  end)

  it("puts biases only where spec §3.3 says", function()
    local with = operator.build(params { normalization = "none", num_layers = 4 })
    local without = operator.build(params { normalization = "batch", num_layers = 4 })
    for _, c in ipairs(with:convs()) do assert.are.equal(c.role ~= "skip", c.bias ~= nil) end
    for _, c in ipairs(without:convs()) do assert.are.equal(c.role == "output", c.bias ~= nil) end
  end)
end)

describe("operator weights", function()
  it("are U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from the (WEIGHTS, op index, conv) stream", function()
    local op = operator.build(params { num_layers = 4, normalization = "none" }, { seed = 77, op_index = 5 })
    for j, c in ipairs(op:convs()) do
      local fan_in = c.cin * c.k * c.k
      local bound = 1 / math.sqrt(fan_in)
      local g = sl.Generator { seed = 77, purpose = 2, a = 5, b = j - 1 }
      local w = g:uniform({ c.cout, c.cin, c.k, c.k }, -bound, bound)
      same_bits(w, c.weight, "weight of conv " .. j)
      assert(maxabs(c.weight) <= bound)
      if c.bias then
        g:seek(math.ceil(c.cout * c.cin * c.k * c.k / 4) * 4)
        same_bits(g:uniform({ c.cout }, -bound, bound), c.bias, "bias of conv " .. j)
      end
    end
  end)

  it("are identical for the same (seed, index) and differ otherwise", function()
    local p = params { num_layers = 3 }
    local a = operator.build(p, { seed = 1, op_index = 2 }):parameters()
    local b = operator.build(p, { seed = 1, op_index = 2 }):parameters()
    local c = operator.build(p, { seed = 1, op_index = 3 }):parameters()
    local d = operator.build(p, { seed = 2, op_index = 2 }):parameters()
    for i = 1, #a do
      same_bits(a[i], b[i], "parameter " .. i)
      assert(maxdiff(a[i], c[i]) > 0, "other operator index, same weights")
      assert(maxdiff(a[i], d[i]) > 0, "other seed, same weights")
    end
  end)
end)

describe("operator forward", function()
  local cases = {
    params { noise_type = "gaussian", noise_scale = 0.1 },
    params { num_layers = 4, base_channels = 3, normalization = "group", activation = "silu",
             noise_type = "laplace", noise_scale = 0.3, spatial_correlation = 0.1 },
    params { num_layers = 5, base_channels = 2, kernel_size = 5, normalization = "layer", activation = "tanh",
             noise_type = "multiplicative", noise_scale = 0.5, dropout_rate = 0.3 },
    params { num_layers = 3, base_channels = 5, normalization = "batch", activation = "relu",
             noise_type = "dropout", noise_scale = 0.4, grid_size = 9 },
    params { kernel_size = 7, normalization = "none", activation = "none", noise_type = "gaussian",
             noise_scale = 1, spatial_correlation = 0.2, noise_schedule = "periodic", schedule_period = 7 },
    params { num_layers = 4, base_channels = 3, activation = "swish", dropout_rate = 0.5,
             noise_type = "gaussian", noise_scale = 0.2, noise_schedule = "annealing" },
  }

  it("matches the reference forward built from sl ops, for every conv algorithm", function()
    for i, p in ipairs(cases) do
      for _, algo in ipairs { "auto", "im2col", "fft", "fftrow", "direct", "winograd" } do
        local op = operator.build(p, { seed = 3, op_index = i, conv_algo = algo })
        local G = p.grid_size
        local x = randn({ 3, 3, G, G }, i)
        local y = op:forward(x, 4, { realization = 2, horizon = 10 })
        local yr = op:reference_forward(x, 4, { realization = 2, horizon = 10 })
        assert.are.same({ 3, 3, G, G }, y:shape())
        local tol = 1e-5 * (1 + maxabs(yr))
        assert(maxdiff(y, yr) <= tol, ("case %d, %s: max abs diff %g > %g"):format(i, algo, maxdiff(y, yr), tol))
      end
    end
  end)

  it("gives each row its own realization's noise, whatever the batch", function()
    local op = operator.build(cases[2], { seed = 9, op_index = 1 })
    local x = randn({ 3, 3, 8, 8 })
    local all = op:forward(x, 5, { realization = 10 })
    for r = 1, 3 do
      local one = op:forward(x:narrow(1, r, 1), 5, { realization = 10 + r - 1 })
      same_bits(all:narrow(1, r, 1), one, "row " .. r)
    end
    -- a [3,G,G] input is one realization
    same_bits(op:forward(x:select(1, 2), 5, { realization = 11 }), all:select(1, 2), "3-d input")
  end)

  it("accepts strided inputs", function()
    local op = operator.build(cases[1])
    local x = randn({ 2, 3, 8, 8 })
    local xt = x:transpose(3, 4):contiguous():transpose(3, 4)   -- same values, transposed strides
    same_bits(op:forward(x, 2), op:forward(xt, 2), "strided input")
  end)

  it("does not depend on the thread count", function()
    -- large enough that the OpenMP paths of the conv, norm, noise and policy loops engage
    local saved = sl.num_threads()
    local op = operator.build(params { grid_size = 48, base_channels = 8, num_layers = 3, dropout_rate = 0.1,
                                       noise_type = "gaussian", noise_scale = 0.1, spatial_correlation = 0.1 },
                              { seed = 4 })
    local x = randn({ 2, 3, 48, 48 })
    sl.set_num_threads(1)
    local a = op:forward(x, 3)
    local ta = op:rollout(x:select(1, 1), 2, 4)
    sl.set_num_threads(2)
    local b = op:forward(x, 3)
    local tb = op:rollout(x:select(1, 1), 2, 4)
    sl.set_num_threads(saved)
    same_bits(a, b, "forward, 1 vs 2 threads")
    same_bits(ta, tb, "rollout, 1 vs 2 threads")
  end)

  it("runs 3x3 layers with winograd identically for any batch size and thread count", function()
    -- G = 52: 13x13 = 169 tiles per image, so two 128-tile chunks with a partial one
    local saved = sl.num_threads()
    local op = operator.build(params { grid_size = 52, base_channels = 6, num_layers = 3, noise_type = "gaussian",
                                       noise_scale = 0.1 }, { seed = 5, conv_algo = "winograd" })
    local used = {}
    for _, l in ipairs(op:info().layers) do used[l.algo] = true end
    assert.is_true(used.winograd)
    local ic = randn({ 3, 52, 52 }, 6)
    sl.set_num_threads(1)
    local a = op:rollout(ic, 3, 3, { realizations_per_batch = 1 })
    sl.set_num_threads(2)
    local b = op:rollout(ic, 3, 3, { realizations_per_batch = 3 })
    local c = op:rollout(ic, 3, 3, { realizations_per_batch = 2 })
    sl.set_num_threads(saved)
    same_bits(a, b, "batch 1 / 1 thread vs batch 3 / 2 threads")
    same_bits(a, c, "batch 1 vs 2")
    -- a forced winograd on a 5x5 operator falls back to im2col
    local o5 = operator.build(params { kernel_size = 5 }, { conv_algo = "winograd" })
    for _, l in ipairs(o5:info().layers) do assert.are_not.equal("winograd", l.algo) end
  end)
end)

describe("operator noise", function()
  local x = randn({ 3, 3, 8, 8 }, 5)

  it("is absent with noise_scale 0 (or no noise_type): deterministic, equal across realizations", function()
    for _, p in ipairs { params { noise_type = "gaussian", noise_scale = 0 }, params {} } do
      local op = operator.build(p, { seed = 1 })
      local traj, st = op:rollout(x:select(1, 1), 3, 4)
      same_bits(traj:select(1, 1), traj:select(1, 2), "realization 1 vs 2")
      same_bits(traj:select(1, 1), traj:select(1, 3), "realization 1 vs 3")
      same_bits(op:forward(x, 1), op:forward(x, 2), "step 1 vs 2")
      assert.are.equal(0, st.num_diverged)
    end
    -- noise_type without noise_scale: an error for a direct call; a validated config's rows
    -- (ignore_unknown, config loading warned) follow the reference: no stochastic block (spec §3.2)
    local ok, err = pcall(operator.build, params { noise_type = "gaussian" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("^operator.build: noise_type 'gaussian' needs noise_scale"), err)
    assert.are.equal("none", operator.build(params { noise_type = "gaussian" }, { ignore_unknown = true }):config().noise_type)
  end)

  it("differs between realizations and steps otherwise", function()
    local op = operator.build(params { noise_type = "gaussian", noise_scale = 0.1 })
    local traj = op:rollout(x:select(1, 1), 2, 3)
    assert(maxdiff(traj:select(1, 1):select(1, 3), traj:select(1, 2):select(1, 3)) > 0)
    assert(maxdiff(op:forward(x, 1), op:forward(x, 2)) > 0)
  end)

  -- The output layer is a 1×1 conv (linear), so F_noisy - F_clean = Wout·(noise term).
  local function noise_part(p, s, step)
    local q = {}
    for k, v in pairs(p) do q[k] = v end
    q.noise_scale = 0
    local clean = operator.build(params(q), { seed = 2 })
    q.noise_scale = s
    local noisy = operator.build(params(q), { seed = 2 })
    return noisy:forward(x, step or 1, { horizon = 10 }) - clean:forward(x, step or 1, { horizon = 10 })
  end

  it("additive and multiplicative noise scale linearly with noise_scale", function()
    for _, kind in ipairs { "gaussian", "laplace", "multiplicative" } do
      local d1 = noise_part({ noise_type = kind }, 0.1)
      local d2 = noise_part({ noise_type = kind }, 0.2)
      assert(maxabs(d1) > 1e-3, kind .. ": no effect")
      assert(maxdiff(d2, d1 * 2) <= 1e-5 * maxabs(d2), kind .. ": not linear in the scale")
    end
    -- the kinds draw different fields
    assert(maxdiff(noise_part({ noise_type = "gaussian" }, 0.1), noise_part({ noise_type = "laplace" }, 0.1)) > 1e-3)
  end)

  it("dropout noise with scale >= 1 drops every channel (output = output bias)", function()
    local op = operator.build(params { noise_type = "dropout", noise_scale = 1 }, { seed = 3 })
    local y = op:forward(x, 1)
    local bias = op:convs()[#op:convs()].bias
    for c = 1, 3 do
      local plane = y:select(2, c)
      assert.are.equal(bias[c], plane:max())
      assert.are.equal(bias[c], plane:min())
    end
  end)

  it("follows the schedules: constant, annealing s(1-min(t/T,1)), periodic s(1+sin(2pi t/P)/2)", function()
    local s = 0.3
    local c = operator.build(params { noise_type = "gaussian", noise_scale = s })
    local a = operator.build(params { noise_type = "gaussian", noise_scale = s, noise_schedule = "annealing" })
    local p = operator.build(params { noise_type = "gaussian", noise_scale = s, noise_schedule = "periodic", schedule_period = 8 })
    for _, t in ipairs { 0, 1, 2, 5, 10, 15 } do
      assert.are.equal(s, c:noise_scale_at(t, 10))
      assert.is_true(math.abs(a:noise_scale_at(t, 10) - s * (1 - math.min(t / 10, 1))) < 1e-15)
      assert.is_true(math.abs(p:noise_scale_at(t, 10) - s * (1 + 0.5 * math.sin(2 * math.pi * t / 8))) < 1e-15)
    end
    -- annealing reaches zero noise at the horizon: the noisy operator equals the clean one there
    local clean = operator.build(params {})
    same_bits(a:forward(x, 10, { horizon = 10 }), clean:forward(x, 10), "annealed to zero")
    assert(maxdiff(a:forward(x, 5, { horizon = 10 }), clean:forward(x, 5)) > 0)
    -- periodic: at t = 2 (a quarter period) the scale is 1.5 s; same stream as the constant schedule
    local d_per = noise_part({ noise_type = "gaussian", noise_schedule = "periodic", schedule_period = 8 }, 0.2, 2)
    local d_con = noise_part({ noise_type = "gaussian" }, 0.2, 2)
    assert(maxdiff(d_per, d_con * 1.5) <= 1e-5 * maxabs(d_per))
  end)

  it("is smoother with a larger spatial_correlation", function()
    -- roughness = mean squared neighbour difference / variance of the noise part
    local function roughness(rho)
      local xs = randn({ 3, 3, 32, 32 }, 5)
      local clean = operator.build(params { grid_size = 32 }, { seed = 2 })
      local noisy = operator.build(params { grid_size = 32, noise_type = "gaussian", noise_scale = 0.1,
                                            spatial_correlation = rho }, { seed = 2 })
      local d = noisy:forward(xs, 1) - clean:forward(xs, 1)
      local dx = d:narrow(4, 2, 31) - d:narrow(4, 1, 31)
      return (dx * dx):mean() / sl.var(d)
    end
    -- the window exp(-|k|²(ρG)²/2), k in cycles/pixel, is a Gaussian blur of σ = ρG/(2π) pixels:
    -- 0.5 px for ρ = 0.1 and 1.5 px for ρ = 0.3 at G = 32 (white noise: ratio ≈ 2)
    local r0, r1, r2 = roughness(0), roughness(0.1), roughness(0.3)
    assert(r0 > 1.5, "white noise should be rough, got " .. r0)
    assert(r1 < 0.75 * r0, ("rho 0.1: %g vs white %g"):format(r1, r0))
    assert(r2 < 0.25 * r1, ("rho 0.3: %g vs rho 0.1 %g"):format(r2, r1))
  end)
end)

describe("operator rollout", function()
  it("has frame 0 = the IC and shape [M,T,3,G,G]", function()
    local op = operator.build(params { noise_type = "gaussian", noise_scale = 0.05 })
    local ic = randn({ 3, 8, 8 })
    local traj, st = op:rollout(ic, 2, 5)
    assert.are.same({ 2, 5, 3, 8, 8 }, traj:shape())
    same_bits(traj:select(1, 1):select(1, 1), ic, "frame 0")
    same_bits(traj:select(1, 2):select(1, 1), ic, "frame 0 of realization 2")
    assert.are.same({ false, false }, st.diverged)
    assert.are.same({ -1, -1 }, st.diverged_step)
    assert.are.equal(4, st.steps)
    -- per-realization ICs
    local ics = randn({ 2, 3, 8, 8 }, 3)
    local t2 = op:rollout(ics, 2, 2)
    same_bits(t2:select(2, 1), ics, "per-realization ICs")
  end)

  it("is identical for realizations_per_batch 1 and M", function()
    local p = params { num_layers = 4, base_channels = 3, dropout_rate = 0.2, noise_type = "laplace",
                       noise_scale = 0.2, spatial_correlation = 0.1, update_policy = "convex", alpha = 0.3 }
    local ic = randn({ 3, 8, 8 }, 4)
    for _, algo in ipairs { "im2col", "fft", "fftrow", "direct" } do
      local q = {}
      for k, v in pairs(p) do q[k] = v end
      q.kernel_size = 5
      local o = operator.build(q, { seed = 8, conv_algo = algo })
      same_bits(o:rollout(ic, 3, 3, { realizations_per_batch = 1 }), o:rollout(ic, 3, 3, { realizations_per_batch = 3 }),
                algo .. ": batch 1 vs 3")
    end
    -- a grid where GEMM tiles and OpenMP chunks are several per image
    local big = operator.build(params { grid_size = 40, base_channels = 6, num_layers = 4, noise_type = "gaussian",
                                        noise_scale = 0.1 }, { seed = 8, conv_algo = "im2col" })
    local ic40 = randn({ 3, 40, 40 }, 4)
    same_bits(big:rollout(ic40, 3, 2, { realizations_per_batch = 1 }), big:rollout(ic40, 3, 2), "G=40: batch 1 vs 3")
    local op = operator.build(p, { seed = 8, op_index = 4 })
    local a = op:rollout(ic, 3, 6, { realizations_per_batch = 1 })
    local b = op:rollout(ic, 3, 6, { realizations_per_batch = 3 })
    local c = op:rollout(ic, 3, 6, { realizations_per_batch = 2 })
    same_bits(a, b, "batch 1 vs 3")
    same_bits(a, c, "batch 1 vs 2")
    -- a fresh operator (cold workspace) gives the same bits
    same_bits(a, operator.build(p, { seed = 8, op_index = 4 }):rollout(ic, 3, 6), "fresh operator")
    -- realization m of a rollout equals realization m rolled out alone (first_realization)
    local alone = op:rollout(ic, 1, 6, { first_realization = 2 })
    same_bits(alone:select(1, 1), a:select(1, 3), "realization 2 alone")
  end)

  it("applies the update policies as in spec §5.2", function()
    local ic = randn({ 3, 8, 8 }, 6)
    for _, pol in ipairs { { "autoregressive" }, { "residual", 0.05 }, { "convex", 0.3 } } do
      local p = params { noise_type = "gaussian", noise_scale = 0.1, update_policy = pol[1] }
      if pol[1] == "residual" then p.dt = pol[2] end
      if pol[1] == "convex" then p.alpha = pol[2] end
      local op = operator.build(p, { seed = 5 })
      local traj = op:rollout(ic, 2, 4)
      for m = 1, 2 do
        local X = ic:view(1, 3, 8, 8)
        for t = 1, 3 do
          local O = op:forward(X, t, { realization = m - 1 })
          if pol[1] == "autoregressive" then X = O
          elseif pol[1] == "residual" then X = X + O * pol[2]
          else X = X * pol[2] + O * (1 - pol[2]) end
          local got = traj:select(1, m):select(1, t + 1)
          local d = maxdiff(got, X:select(1, 1))
          assert(d <= 1e-6 * (1 + maxabs(X)), ("%s, realization %d, step %d: diff %g"):format(pol[1], m, t, d))
        end
      end
    end
    -- defaults: residual with dt 0.01, convex alpha 0.5; dt/alpha 0 mean "absent" (reference)
    local cfg = operator.build(params {}):config()
    assert.are.same({ "residual", 0.01, 0.5 }, { cfg.update_policy, cfg.dt, cfg.alpha })
    assert.are.equal(0.01, operator.build(params { dt = 0 }):config().dt)
  end)

  it("flags divergence per realization, fills later frames with NaN and continues the others", function()
    -- An operator whose output is the constant 20 (all weights and biases zero but the output
    -- bias), residual with dt 0.5: X_t = X_0 + 10 t exactly in float32.
    local op = operator.build(params { normalization = "none", update_policy = "residual", dt = 0.5 })
    for _, w in ipairs(op:parameters()) do w:fill(0) end
    op:convs()[#op:convs()].bias:fill(20)
    local ics = sl.zeros({ 3, 3, 8, 8 })
    ics:select(1, 2):fill(900)
    ics:select(1, 3):fill(-950)
    local traj, st = op:rollout(ics, 3, 20, { diverge_threshold = 1000, realizations_per_batch = 2 })
    assert.are.same({ false, true, false }, st.diverged)
    assert.are.same({ -1, 11, -1 }, st.diverged_step)   -- 900 + 10·11 = 1010 > 1000
    assert.are.equal(1, st.num_diverged)
    for t = 0, 19 do
      assert.are.equal(10 * t, traj[1][t + 1][1][1][1])
      assert.are.equal(-950 + 10 * t, traj[3][t + 1][2][3][4])
      local v = traj[2][t + 1][3][8][8]
      if t <= 11 then assert.are.equal(900 + 10 * t, v) else assert.is_true(v ~= v, "frame " .. t .. " not NaN") end
    end
    -- the default threshold is 1e6
    local _, st2 = op:rollout(ics, 3, 20)
    assert.are.equal(0, st2.num_diverged)
  end)

  it("flags NaN/Inf and blown-up operators", function()
    local op = operator.build(params { normalization = "none", activation = "none", update_policy = "autoregressive" })
    for _, w in ipairs(op:parameters()) do w:mul_(1e3) end
    local traj, st = op:rollout(randn({ 3, 8, 8 }), 2, 12)
    assert.are.same({ true, true }, st.diverged)
    assert(st.diverged_step[1] >= 1 and st.diverged_step[1] <= 11)
    local t = st.diverged_step[1]
    if t < 11 then assert.is_true(sl.isnan(traj:select(1, 1):select(1, t + 2)):to("float32"):min() == 1) end
    -- a NaN weight poisons step 1 (no norm, no activation: relu would zero NaNs, and the exp of
    -- gelu/silu/tanh is not meant for NaN inputs: UBSan flags its integer conversion)
    local op2 = operator.build(params { normalization = "none", activation = "none", noise_type = "gaussian",
                                        noise_scale = 0.1 })
    op2:convs()[1].weight[1][1][1][1] = 0 / 0
    local _, st3 = op2:rollout(randn({ 3, 8, 8 }), 2, 3)
    assert.are.same({ 1, 1 }, st3.diverged_step)
  end)
end)

describe("operator errors", function()
  local function fails(p, pattern)
    local ok, err = pcall(operator.build, params(p))
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find(pattern, 1, true), tostring(err))
  end

  it("rejects bad parameters with the name, the expected range and the value", function()
    fails({ kernel_size = 4 }, "kernel_size must be an odd integer")
    fails({ activation = "softmax" }, "unknown activation 'softmax'")
    fails({ normalization = "weird" }, "unknown normalization 'weird'")
    fails({ noise_type = "poisson", noise_scale = 1 }, "unknown noise_type 'poisson'")
    fails({ dropout_rate = 1 }, "dropout_rate must be in [0, 1), got 1")
    fails({ noise_type = "gaussian", noise_scale = -1 }, "noise_scale must be a finite number >= 0")
    fails({ num_layers = 2.5 }, "num_layers' must be an integer")
    fails({ base_channels = "many" }, "base_channels' must be a number")
    fails({ alpha = 1.5 }, "alpha must be in [0, 1]")
    fails({ update_policy = "euler" }, "unknown update_policy 'euler'")
    local ok, err = pcall(operator.build, params {}, { seed = -1 })
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("seed must be an integer", 1, true))
    -- messages start with the op name, not an internal file:line
    ok, err = pcall(operator.build, params { num_layers = 2.5 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("^operator: parameter 'num_layers' must be an integer"), err)
  end)

  it("rejects unknown keys naming the nearest valid one; a validated config's rows may carry extras", function()
    local ok, err = pcall(operator.build, params { kernel_sise = 5 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("^operator.build: unknown parameter 'kernel_sise' %(did you mean 'kernel_size'%?%)"), err)
    assert.truthy(tostring(err):find("valid: activation, alpha,", 1, true), err)
    ok, err = pcall(operator.build, params { zzz_extra = 1 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("unknown parameter 'zzz_extra' (valid:", 1, true), err)
    -- every documented key is accepted, and every one is optional
    for k in pairs(operator.KEYS) do assert.is_string(operator.KEYS[k]) end
    local all = params { dropout_rate = 0, noise_type = "gaussian", noise_scale = 0, noise_schedule = "constant",
                         schedule_period = 10, spatial_correlation = 0, update_policy = "residual", dt = 0, alpha = 0 }
    for k in pairs(all) do assert.is_not_nil(operator.KEYS[k], k) end
    local c = operator.build(all):config()
    assert.are.equal(0.01, c.dt)                  -- dt = 0 and alpha = 0 mean absent (reference convention)
    assert.are.equal(0.5, c.alpha)
    assert.are.equal(3, operator.build({}):config().num_layers)
    -- rows of a config (extra sampled dimensions, already warned about) pass with ignore_unknown
    assert.are.equal(5, operator.build(params { kernel_size = 5, zzz_extra = 1 }, { ignore_unknown = true }):config().kernel_size)
  end)

  it("rejects fields of the wrong shape and annealing without a horizon", function()
    local op = operator.build(params {})
    local ok, err = pcall(op.forward, op, sl.zeros(1, 3, 9, 9), 1)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("[3,8,8]", 1, true), tostring(err))
    ok, err = pcall(op.rollout, op, sl.zeros(2, 8, 8), 2, 3)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("initial condition must have shape", 1, true), tostring(err))
    ok, err = pcall(op.rollout, op, sl.zeros(3, 3, 8, 8), 2, 3)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("3 initial conditions for 2 realizations", 1, true), tostring(err))
    ok, err = pcall(op.rollout, op, sl.zeros(3, 8, 8), 2, 3, { seed = 5 })
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("seed 5 differs", 1, true), tostring(err))
    local an = operator.build(params { noise_type = "gaussian", noise_scale = 1, noise_schedule = "annealing" })
    ok, err = pcall(an.forward, an, sl.zeros(1, 3, 8, 8), 1)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("needs horizon", 1, true), tostring(err))
    -- a rollout sets the default horizon (T - 1) for later forward calls
    local x = randn({ 1, 3, 8, 8 })
    an:rollout(x:select(1, 1), 1, 6)
    assert.are.equal(5, an:horizon())
    same_bits(an:forward(x, 2), an:forward(x, 2, { horizon = 5 }), "default horizon")
    op:free()
    ok, err = pcall(op.forward, op, sl.zeros(1, 3, 8, 8), 1)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("freed", 1, true), tostring(err))
  end)
end)
