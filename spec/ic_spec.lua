-- Initial conditions: every generator's shape/finiteness/normalisation, determinism, batch ==
-- one-by-one, spectral scaling (length scales are fractions of the domain), weighted IC choice,
-- config resolution and errors.  References: naive Lua sums over the discrete spectrum and
-- hand-derived expectations; fields are read through the FFI.
local sl = require "spinlock"
local ic = require "spinlock.ic"
local ffi = require "ffi"

local function floats(t)
  t = t:contiguous()
  return ffi.cast("float*", t:ptr()), t   -- keep t alive while the pointer is used
end

-- Mean, variance and mean squared x-difference (periodic) of channel c (1-based) of a [3,G,G] IC.
local function channel_stats(x, c)
  local G = x:size(2)
  local p, keep = floats(x)
  local base, n = (c - 1) * G * G, G * G
  local s, s2, g = 0, 0, 0
  for y = 0, G - 1 do
    for i = 0, G - 1 do
      local v = p[base + y * G + i]
      s = s + v
      s2 = s2 + v * v
      local d = p[base + y * G + (i + 1) % G] - v
      g = g + d * d
    end
  end
  local _ = keep
  local m = s / n
  return m, s2 / n - m * m, g / n
end

local function grad_energy(x)
  local e = 0
  for c = 1, 3 do e = e + select(3, channel_stats(x, c)) end
  return e / 3
end

local function same_bits(a, b)
  if a:numel() ~= b:numel() then return false end
  local pa, ka = floats(a)
  local pb, kb = floats(b)
  local _ = { ka, kb }
  return ffi.C.memcmp(pa, pb, a:numel() * 4) == 0
end
pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")

local function all_finite(x)
  local p, keep = floats(x)
  local _ = keep
  for i = 0, x:numel() - 1 do
    local v = p[i]
    if v ~= v or v == math.huge or v == -math.huge then return false end
  end
  return true
end

local default_plan = ic.resolve({})

describe("ic registry", function()
  it("lists every generator of spec §4 with its parameters and defaults", function()
    local names = {}
    for _, g in ipairs(ic.names()) do names[g.name] = g end
    for _, n in ipairs({ "gaussian_random_field", "multiscale_grf", "band_limited", "sinusoids", "structured",
                         "localized", "composite", "heavy_tailed", "quantum_wave_packet", "turing_pattern",
                         "thermal_gradient", "morphogen_gradient", "reaction_front", "light_cone",
                         "critical_fluctuation", "phase_boundary", "bz_reaction", "shannon_entropy",
                         "interference_pattern", "cell_population", "chromatin_domain", "shock_front",
                         "gene_expression", "coherent_state", "relativistic_wave_packet", "mutual_information",
                         "regulatory_network", "dla_cluster", "error_correcting_code",
                         "gaussian_random_field_v0", "gaussian_random_field_v4", "multiscale_grf_low",
                         "multiscale_grf_mid", "multiscale_grf_high", "random" }) do
      assert.is_table(names[n], n)
    end
    local grf = names.gaussian_random_field
    assert.are.equal("length_scale", grf.params[1].name)
    assert.are.equal(0.1, grf.params[1].default)
    assert.are.equal("number", grf.params[1].kind)
    assert.is_true(grf.standardized)
    local v3 = names.gaussian_random_field_v3
    assert.are.equal("gaussian_random_field", v3.base)
    assert.are.equal(2.0, v3.params[2].default)
    assert.are.same({ 0.30, 0.35, 0.40 }, names.multiscale_grf_low.params[1].default)
    assert.are.same({ "circle", "stripe", "blob" }, names.structured.params[2].default)
    assert.are.same({ "spots", "stripes", "labyrinth", "mixed" }, names.turing_pattern.params[1].options)
    assert.is_nil(names.shock_front.params[1].default)      -- null: drawn per IC
    assert.is_true(names.shock_front.params[1].nullable)
    assert.is_false(names.dla_cluster.standardized)
  end)
end)

describe("every generator", function()
  local gens = {}
  for _, g in ipairs(sl.ic_generators()) do gens[#gens + 1] = g end

  for _, G in ipairs({ 32, 64 }) do
    it("gives finite [3," .. G .. "," .. G .. "] fields, standardised where documented", function()
      for i, g in ipairs(gens) do
        local x = ic.generate(default_plan, g.name, 7, i, G)
        assert.are.same({ 3, G, G }, x:shape())
        assert.are.equal("float32", x:dtype())
        assert.is_true(all_finite(x), g.name)
        local nonzero = 0
        for c = 1, 3 do
          local m, v = channel_stats(x, c)
          if g.standardized then
            if v > 0 then
              nonzero = nonzero + 1
              assert.is_true(math.abs(m) < 1e-4, g.name .. " mean " .. m)
              assert.is_true(math.abs(v - 1) < 1e-3, g.name .. " variance " .. v)
            else
              assert.are.equal("structured", g.name)   -- only structured may leave a channel empty
            end
          elseif v > 0 then
            nonzero = nonzero + 1
          end
        end
        assert.is_true(nonzero >= 1, g.name .. " is identically constant")
      end
    end)
  end

  it("honours the configured variance", function()
    local plan = ic.resolve({ method = "sampled",
      ic_type_weights = { gaussian_random_field_v0 = 1, gaussian_random_field_v4 = 1 },
      critical_fluctuation = { variance = 9 } })
    for name, want in pairs({ gaussian_random_field_v0 = 0.25, gaussian_random_field_v4 = 4,
                              critical_fluctuation = 9 }) do
      local x = ic.generate(plan, name, 1, 3, 32)
      for c = 1, 3 do
        local _, v = channel_stats(x, c)
        assert.is_true(math.abs(v / want - 1) < 1e-3, name .. " " .. v)
      end
    end
  end)
end)

describe("determinism", function()
  local names = { "gaussian_random_field", "multiscale_grf", "structured", "localized", "turing_pattern",
                  "cell_population", "dla_cluster", "gene_expression", "regulatory_network", "error_correcting_code" }

  it("same (seed, operator, name, params) → identical bits; other operator or seed → other field", function()
    for _, n in ipairs(names) do
      local a = ic.generate(default_plan, n, 123, 5, 32)
      local b = ic.generate(default_plan, n, 123, 5, 32)
      assert.is_true(same_bits(a, b), n)
      assert.is_false(same_bits(a, ic.generate(default_plan, n, 123, 6, 32)), n)
      assert.is_false(same_bits(a, ic.generate(default_plan, n, 124, 5, 32)), n)
    end
  end)

  it("batched generation equals one-by-one, in any order and batch split", function()
    local rows, ops = {}, {}
    for i, n in ipairs(names) do rows[i], ops[i] = n, 100 + 3 * i end
    rows[#rows + 1], ops[#ops + 1] = "multiscale_grf_high", 0
    local batch = ic.generate_batch(default_plan, rows, 99, ops, 32)
    assert.are.same({ #rows, 3, 32, 32 }, batch:shape())
    for i = 1, #rows do
      assert.is_true(same_bits(batch:select(1, i), ic.generate(default_plan, rows[i], 99, ops[i], 32)), rows[i])
    end
    -- reversed order, first half only
    local rr, ro = {}, {}
    for i = #rows, 1, -1 do rr[#rr + 1], ro[#ro + 1] = rows[i], ops[i] end
    local half = math.floor(#rows / 2)
    local part = ic.generate_batch(default_plan, { unpack(rr, 1, half) }, 99, { unpack(ro, 1, half) }, 32)
    for j = 1, half do assert.is_true(same_bits(part:select(1, j), batch:select(1, #rows - j + 1))) end
  end)

  it("does not depend on the thread count and frees all scratch memory", function()
    local rows, ops = {}, {}
    for i, g in ipairs(sl.ic_generators()) do rows[i], ops[i] = g.name, i end
    local out = sl.zeros(#rows, 3, 32, 32)
    local threads = sl.num_threads()
    collectgarbage()
    local before = sl.memory_info().cpu_bytes
    sl.set_num_threads(1)
    local one = ic.generate_batch(default_plan, rows, 8, ops, 32, out):clone()
    sl.set_num_threads(2)
    local two = ic.generate_batch(default_plan, rows, 8, ops, 32, out)
    sl.set_num_threads(threads)
    assert.is_true(same_bits(one, two))
    one = nil
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, sl.memory_info().cpu_bytes)
  end)

  it("writes into strided outputs", function()
    local base = sl.zeros(32, 32, 3)
    local view = base:permute(3, 1, 2)                 -- [3,32,32], not contiguous
    sl.ic_generate(view, "localized", {}, 5, 9)
    assert.is_true(same_bits(view:contiguous(), ic.generate(default_plan, "localized", 5, 9, 32)))
  end)
end)

describe("spectral scaling (length scales are fractions of the domain)", function()
  -- Expected mean squared x-difference of a unit-variance periodic field with power P(k):
  -- 2·(1 − Σ P cos(2π kx/G) / Σ P) over the integer modes, DC excluded (naive reference sum).
  local function expected_grad(G, P)
    local num, den = 0, 0
    for iy = 0, G - 1 do
      for ix = 0, G - 1 do
        if iy + ix > 0 then
          local ky = iy <= G / 2 and iy or iy - G
          local kx = ix <= G / 2 and ix or ix - G
          local p = P(math.sqrt(kx * kx + ky * ky))
          num = num + p * math.cos(2 * math.pi * kx / G)
          den = den + p
        end
      end
    end
    return 2 * (1 - num / den)
  end
  local function sample_grad(name, params, G, n)
    local e = 0
    for op = 1, n do
      local x = sl.zeros(3, G, G)
      sl.ic_generate(x, name, params, 11, op)
      e = e + grad_energy(x)
    end
    return e / n
  end

  it("GRF gradient energy matches the Gaussian spectrum exp(-(2πkL)²/2) and falls with L", function()
    local G, prev = 64, math.huge
    for _, L in ipairs({ 0.02, 0.05, 0.1, 0.2 }) do
      local want = expected_grad(G, function(k) return math.exp(-0.5 * (2 * math.pi * k * L) ^ 2) end)
      local got = sample_grad("gaussian_random_field", { length_scale = L }, G, 4)
      assert.is_true(math.abs(got / want - 1) < 0.25, ("L=%g: %g vs %g"):format(L, got, want))
      assert.is_true(got < prev)
      prev = got
    end
  end)

  it("the same L gives the same correlation in domain units at every grid size", function()
    local e32 = sample_grad("gaussian_random_field", { length_scale = 0.1 }, 32, 4)
    local e64 = sample_grad("gaussian_random_field", { length_scale = 0.1 }, 64, 4)
    -- ℓ = L·G px: the per-pixel gradient energy scales like 1/ℓ², i.e. 4x from 64 to 32
    assert.is_true(e32 / e64 > 2.5 and e32 / e64 < 6, e32 / e64)
  end)

  it("multiscale bands differ: high >> mid >> low in gradient energy", function()
    local plan = ic.resolve({ method = "sampled",
      ic_type_weights = { multiscale_grf_low = 1, multiscale_grf_mid = 1, multiscale_grf_high = 1 } })
    local e = {}
    for _, band in ipairs({ "low", "mid", "high" }) do
      local s = 0
      for op = 1, 3 do s = s + grad_energy(ic.generate(plan, "multiscale_grf_" .. band, 3, op, 64)) end
      e[band] = s / 3
    end
    assert.is_true(e.mid > 4 * e.low, e.mid / e.low)
    assert.is_true(e.high > 4 * e.mid, e.high / e.mid)
  end)

  it("band_limited and heavy_tailed follow their spectra", function()
    local G = 64
    for _, band in ipairs({ { 2, 4 }, { 8, 12 } }) do
      local want = expected_grad(G, function(k) return (k >= band[1] and k <= band[2]) and 1 or 0 end)
      local got = sample_grad("band_limited", { k_min = band[1], k_max = band[2] }, G, 3)
      assert.is_true(math.abs(got / want - 1) < 0.25, ("band %d-%d: %g vs %g"):format(band[1], band[2], got, want))
    end
    local a = 2
    local want = expected_grad(G, function(k) return k ^ -a end)
    local got = sample_grad("heavy_tailed", { alpha = a }, G, 6)
    assert.is_true(math.abs(got / want - 1) < 0.25, ("heavy_tailed: %g vs %g"):format(got, want))
  end)
end)

describe("domain generator fixes", function()
  it("mutual_information hierarchical works and correlates the first channels", function()
    local x = sl.zeros(3, 64, 64)
    sl.ic_generate(x, "mutual_information", { correlation_pattern = "hierarchical", local_noise_scale = 0.2 }, 1, 1)
    local p, keep = floats(x)
    local _ = keep
    local n, c01, c02 = 64 * 64, 0, 0
    for i = 0, n - 1 do
      c01 = c01 + p[i] * p[n + i]
      c02 = c02 + p[i] * p[2 * n + i]
    end
    assert.is_true(c01 / n > 0.5, c01 / n)           -- a² = 0.64 expected
    assert.is_true(math.abs(c02 / n) < 0.1, c02 / n)  -- third channel independent
  end)

  it("gene_expression stripes have wavelengths of several pixels (not aliased noise)", function()
    local x = sl.zeros(3, 64, 64)
    sl.ic_generate(x, "gene_expression", { expression_patterns = { "stripes" }, correlation_strength = 0 }, 2, 4)
    for c = 1, 3 do
      local _, v, g = channel_stats(x, c)
      assert.is_true(g < 0.5 * v, ("channel %d: gradient %g vs variance %g"):format(c, g, v))
    end
  end)

  it("dla_cluster grows a random cluster of the requested size for any stickiness", function()
    local counts = {}
    for _, stick in ipairs({ 1.0, 0.3 }) do
      local fields = {}
      for op = 1, 2 do
        local x = sl.zeros(3, 32, 32)
        sl.ic_generate(x, "dla_cluster", { cluster_size = 120, stickiness = stick, field_type_dla = "indicator" }, 4, op)
        local p, keep = floats(x)
        local _ = keep
        local k = 0
        for i = 0, 32 * 32 - 1 do k = k + p[i] end
        counts[#counts + 1] = k
        fields[op] = x
      end
      assert.is_false(same_bits(fields[1], fields[2]))      -- not a deterministic square
    end
    for _, k in ipairs(counts) do assert.are.equal(120, k) end
  end)

  it("honours the *_range keys of the reference configs", function()
    local function turing(lo, hi)
      local x = sl.zeros(3, 64, 64)
      sl.ic_generate(x, "turing_pattern", { wavelength_range = { lo, hi }, perturbation_amplitude = 0 }, 1, 1)
      return grad_energy(x)
    end
    assert.is_true(turing(4, 4) > 10 * turing(32, 32))
  end)

  -- gradient energy in x and y (periodic differences), channel 0
  local function grad_xy(x)
    local G = x:size(2)
    local p, keep = floats(x)
    local g = 0
    for y = 0, G - 1 do
      for i = 0, G - 1 do
        local v = p[y * G + i]
        local dx, dy = p[y * G + (i + 1) % G] - v, p[((y + 1) % G) * G + i] - v
        g = g + dx * dx + dy * dy
      end
    end
    local _ = keep
    return g / (G * G)
  end

  it("morphogen_gradient: decay_length_range sets λ (min-max scaled exp(-d/λ): short λ → low mean)", function()
    local function mean(range, seed)
      local x = sl.zeros(3, 32, 32)
      sl.ic_generate(x, "morphogen_gradient", { decay_length_range = range, num_sources = 2, noise_level = 0 }, seed, 1)
      return (channel_stats(x, 1))
    end
    for seed = 1, 3 do
      local short, long, mixed = mean({ 3, 3 }, seed), mean({ 60, 60 }, seed), mean({ 3, 60 }, seed)
      -- exp(-d/3) is ~0 beyond a few px of a source; exp(-d/60) stays high over a 32 px domain
      assert.is_true(short < 0.2, "λ = 3: mean " .. short)
      assert.is_true(long > 0.5, "λ = 60: mean " .. long)
      -- λ ~ U(3, 60) per source lands between the two ends
      assert.is_true(mixed > short and mixed < long, string.format("%g < %g < %g", short, mixed, long))
    end
  end)

  it("reaction_front: front_width_range sets the tanh width (narrow fronts → steeper gradients)", function()
    for seed = 1, 3 do
      local function energy(range)
        local x = sl.zeros(3, 32, 32)
        sl.ic_generate(x, "reaction_front", { front_width_range = range }, seed, 1)
        return grad_xy(x)
      end
      local narrow, wide = energy({ 0.5, 0.5 }), energy({ 20, 20 })
      assert.is_true(narrow > 3 * wide, string.format("seed %d: w=0.5 %g vs w=20 %g", seed, narrow, wide))
    end
  end)

  it("shock_front: shock_position places the jump (downstream fraction = 1 − position); null draws it in [0.2, 0.8]", function()
    local function downstream(opts, seed)
      local x = sl.zeros(3, 32, 32)
      sl.ic_generate(x, "shock_front", opts, seed or 1, 1)
      local p, keep = floats(x)
      local k = 0
      for i = 0, 32 * 32 - 1 do if p[i] > 1.5 then k = k + 1 end end   -- levels 1 → amplitude_ratio 2
      local _ = keep
      return k / (32 * 32)
    end
    for _, pos in ipairs({ 0.25, 0.5, 0.75 }) do
      local got = downstream({ shock_position = pos, shock_angle = 0, fluctuation_amplitude = 0 })
      assert.is_true(math.abs(got - (1 - pos)) <= 1 / 32 + 1e-9, pos .. ": " .. got)
    end
    local seen = {}
    for seed = 1, 8 do
      local f = downstream({ shock_position = false, shock_angle = 0, fluctuation_amplitude = 0 }, seed)
      assert.is_true(f >= 0.2 - 1 / 32 and f <= 0.8 + 1 / 32, "random position gave " .. f)
      seen[f] = true
    end
    assert.is_true(next(seen, next(seen)) ~= nil, "a null shock_position should vary with the seed")
  end)
end)

describe("IC choice", function()
  it("matches ic_type_weights over 2000 operators and does not depend on call order", function()
    local plan = ic.resolve({ method = "sampled",
      ic_type_weights = { structured = 0.5, localized = 0.3, gaussian_random_field_v2 = 0.2, dla_cluster = 0 } })
    local counts, first = {}, {}
    for op = 0, 1999 do
      local n = ic.choose(plan, 2024, op)
      counts[n] = (counts[n] or 0) + 1
      if op < 10 then first[op] = n end
    end
    for name, w in pairs({ structured = 0.5, localized = 0.3, gaussian_random_field_v2 = 0.2 }) do
      local sd = math.sqrt(2000 * w * (1 - w))
      assert.is_true(math.abs(counts[name] - 2000 * w) < 4 * sd, name .. " " .. counts[name])
    end
    assert.is_nil(counts.dla_cluster)
    for op = 9, 0, -1 do assert.are.equal(first[op], ic.choose(plan, 2024, op)) end
  end)

  it("sample_batch chooses and generates each operator's IC", function()
    local plan = ic.resolve({ method = "sampled", ic_type_weights = { localized = 1, multiscale_grf_high = 1 } })
    local ops = { 7, 3, 11, 0 }
    local xs, names = ic.sample_batch(plan, 5, ops, 32)
    for i, op in ipairs(ops) do
      assert.are.equal(ic.choose(plan, 5, op), names[i])
      assert.is_true(same_bits(xs:select(1, i), ic.generate(plan, names[i], 5, op, 32)))
    end
  end)

  it("maps methods: a single name, random, mixed, and empty weights", function()
    assert.are.equal("dla_cluster", ic.choose(ic.resolve({ method = "dla_cluster" }), 1, 0))
    assert.are.equal("random", ic.choose(ic.resolve({}), 1, 0))
    local mixed, seen = ic.resolve({ method = "mixed" }), {}
    for op = 0, 49 do seen[ic.choose(mixed, 1, op)] = true end
    assert.is_true(seen.gaussian_random_field and seen.structured)
    assert.are.equal("gaussian_random_field", ic.choose(ic.resolve({ method = "sampled" }), 1, 0))
  end)
end)

describe("configuration", function()
  it("reads YAML null (~) as unset, and names a null where the generator needs a value", function()
    local yaml = require "spinlock.yaml"
    local W = { gaussian_random_field = 1 }
    local plain = ic.resolve({ method = "sampled", ic_type_weights = W })
    local nulled = ic.resolve({ method = "sampled", ic_type_weights = W, length_scale = yaml.null, variance = yaml.null })
    assert.are.same(ic.entry(plain, "gaussian_random_field").params, ic.entry(nulled, "gaussian_random_field").params)
    local ok, err = pcall(ic.resolve, { method = "sampled", ic_type_weights = W,
                                        gaussian_random_field = { variance = yaml.null } })
    assert.is_false(ok)
    assert.matches("gaussian_random_field: parameter 'variance' cannot be null", tostring(err))
  end)

  it("applies defaults < global GRF keys < variant intent < generator map < exact-name map", function()
    local plan = ic.resolve({ method = "sampled", length_scale = 0.3, variance = 2,
      ic_type_weights = { gaussian_random_field = 1, gaussian_random_field_v1 = 1, multiscale_grf_low = 1 },
      multiscale_grf = { variance = 5 }, gaussian_random_field_v1 = { variance = 7 } })
    assert.are.same({ length_scale = 0.3, variance = 2 }, ic.entry(plan, "gaussian_random_field").params)
    assert.are.same({ length_scale = 0.05, variance = 7 }, ic.entry(plan, "gaussian_random_field_v1").params)
    assert.are.same({ scales = { 0.30, 0.35, 0.40 }, variance = 5 }, ic.entry(plan, "multiscale_grf_low").params)
    local _, v = channel_stats(ic.generate(plan, "multiscale_grf_low", 1, 1, 32), 2)
    assert.is_true(math.abs(v - 5) < 5e-3)
    -- the baseline config's structured block: 3 stripes
    local st = ic.resolve({ method = "structured", structured = { num_structures = 3, structure_types = { "stripe" } } })
    assert.are.same({ num_structures = 3, structure_types = { "stripe" } }, ic.entry(st, "structured").params)
  end)

  it("rejects unknown generators, unknown keys and bad values with clear messages", function()
    local function err_of(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return tostring(e)
    end
    assert.truthy(err_of(ic.resolve, { method = "sampled", ic_type_weights = { swirl = 1 } })
                  :find("unknown initial condition 'swirl'", 1, true))
    assert.truthy(err_of(ic.resolve, { method = "nope" }):find("unknown initial condition 'nope'", 1, true))
    local e = err_of(ic.resolve, { method = "sampled", ic_type_weights = { multiscale_grf_mid = 1 },
                                   multiscale_grf_mid = { scale = { 0.1 } } })
    assert.truthy(e:find("multiscale_grf_mid", 1, true) and e:find("unknown parameter 'scale'", 1, true), e)
    e = err_of(ic.resolve, { dla_cluster = { stickiness = 0 } })
    assert.truthy(e:find("dla_cluster: parameter 'stickiness' must lie in", 1, true), e)
    e = err_of(ic.resolve, { method = "turing_pattern", turing_pattern = { pattern_type = "dots" } })
    assert.truthy(e:find("no option 'dots'", 1, true), e)
    e = err_of(ic.resolve, { method = "random", length_scal = 0.2 })
    assert.truthy(e:find("unknown key 'length_scal'", 1, true), e)
    e = err_of(ic.resolve, { method = "random", localized = 3 })
    assert.truthy(e:find("input_generation.localized must be a map of parameters", 1, true), e)
    e = err_of(ic.resolve, { method = "random", swirl_v2 = { a = 1 } })
    assert.truthy(e:find("unknown initial condition 'swirl_v2'", 1, true), e)
    e = err_of(ic.resolve, { method = "sampled", ic_type_weights = { localized = -1 } })
    assert.truthy(e:find("must be a number >= 0", 1, true), e)
    -- methods are not IC types; user errors carry no "file.lua:123:" position
    e = err_of(ic.resolve, { method = "sampled", ic_type_weights = { random = 1, mixed = 1 } })
    assert.truthy(e:find("^simulation.input_generation: 'mixed' is a method"), e)
    e = err_of(ic.resolve, { method = "random", length_scal = 0.2 })
    assert.truthy(e:find("^simulation.input_generation: unknown key"), e)
    -- the helpers the config checks names and parameters with
    assert.are.equal("multiscale_grf", ic.base_of("multiscale_grf_low"))
    assert.are.equal("gaussian_random_field", ic.base_of("random"))
    assert.are.equal("band_limited", ic.base_of("band_limited_v3"))
    assert.is_nil(ic.base_of("mixed"))
    local names = table.concat(ic.known_names(), " ")
    assert.truthy(names:find("sinusoids", 1, true) and names:find("gaussian_random_field_v4", 1, true), names)
    assert.are.same({ "num_blobs", "min_width", "max_width", "variance" }, ic.param_names("localized"))
    assert.is_true(ic.check_params("localized", { num_blobs = 3 }))
    local ok, msg = ic.check_params("localized", { num_blobs = 0 })
    assert.is_nil(ok)
    assert.truthy(msg:find("^localized: parameter 'num_blobs' must lie in"), msg)
    e = err_of(sl.ic_generate, sl.zeros(3, 32, 32), "gaussian_random_field", { variance = false }, 1, 1)
    assert.truthy(e:find("'variance' cannot be null", 1, true), e)
    e = err_of(sl.ic_generate, sl.zeros(3, 32, 16), "localized", {}, 1, 1)
    assert.truthy(e:find("shape [3,G,G]", 1, true), e)
    e = err_of(sl.ic_generate, sl.zeros({ 3, 32, 32 }, "float64"), "localized", {}, 1, 1)
    assert.truthy(e:find("float32", 1, true), e)
    e = err_of(sl.ic_generate, sl.zeros(3, 32, 32), "localized", { min_width = 9, max_width = 3 }, 1, 1)
    assert.truthy(e:find("min_width (9) must not exceed max_width (3)", 1, true), e)
    e = err_of(sl.ic_generate, sl.zeros(3, 32, 32), "band_limited", { k_min = 40, k_max = 50 }, 1, 1)
    assert.truthy(e:find("band_limited: spectral field: the power spectrum has no energy", 1, true), e)
    e = err_of(sl.ic_generate, sl.zeros(3, 32, 32), "localized", {}, 1, -1)
    assert.truthy(e:find("operator index must be an integer", 1, true), e)
    e = err_of(sl.ic_generate_batch, sl.zeros(2, 3, 32, 32), { a = { generator = "localized" },
               b = { generator = "band_limited", params = { k_min = 40, k_max = 50 } } }, { "a", "b" }, 1, { 1, 2 })
    assert.truthy(e:find("row 2: band_limited: spectral field: the power spectrum has no energy", 1, true), e)
    e = err_of(sl.ic_generate_batch, sl.zeros(3, 3, 32, 32), { a = { generator = "localized" } }, { "a", "a" }, 1, { 1, 2 })
    assert.truthy(e:find("3 rows but 2 ICs", 1, true), e)
    e = err_of(ic.generate_batch, default_plan, { "localized", "bogus" }, 1, { 1, 2 }, 32)
    assert.truthy(e:find("unknown initial condition 'bogus'", 1, true), e)
  end)
end)
