-- ARCHITECTURE features (lua/spinlock/features/architecture.lua).
-- Golden columns from tools/ref/feat_initial_ref.py (an independent numpy decoder written from
-- the formula text: np.rint, np.searchsorted, …), stored in spec/fixtures/feat_initial_arch_golden.lua,
-- for the 12-parameter baseline space (both integer mappings), a 15-parameter space with
-- weighted choices, dt/alpha and 3 strata, and a space without noise.
local sl = require "spinlock"
local config = require "spinlock.config"
local params = require "spinlock.params"
local arch = require "spinlock.features.architecture"

local golden = dofile("spec/fixtures/feat_initial_arch_golden.lua")

local function config_of(case)
  return config.from_table({
    parameter_space = case.space,
    sampling = { total_samples = 8, integer_mapping = case.integer_mapping },
  }, case.name, nil, { warn = false })
end

local function close(g, w)
  if w ~= w then return g ~= g end
  -- columns are float32
  return math.abs(g - w) <= 1e-6 + 2e-7 * math.abs(w)
end

describe("features.architecture", function()
  for _, case in ipairs(golden) do
    it("matches the numpy decoder on " .. case.name, function()
      local cfg = config_of(case)
      local fcfg = { strata = case.strata }
      assert.are.same(case.names, arch.names(fcfg, cfg))
      assert.are.equal(#case.names, arch.width(fcfg, cfg))
      local bad = {}
      for r, u in ipairs(case.unit) do
        local got = arch.compute(u, nil, cfg, fcfg):totable()
        for k, name in ipairs(case.names) do
          if not close(got[k], case.expected[r][k]) then
            bad[#bad + 1] = ("row %d %s: got %s, want %s"):format(r, name, tostring(got[k]), tostring(case.expected[r][k]))
          end
        end
      end
      assert(#bad == 0, table.concat(bad, "\n"))
      -- the batch form gives the same rows, from a tensor of unit rows
      local ut = sl.tensor(case.unit, "float64")
      local b = arch.compute_batch(ut, cfg, fcfg):totable()
      for r = 1, #case.unit do assert.are.same(arch.compute(case.unit[r], nil, cfg, fcfg):totable(), b[r]) end
    end)
  end

  it("has 31 columns for the baseline space, the noise scale first", function()
    local cfg = config.load("configs/experiments/baseline_10k.yaml", nil, { warn = false })
    local names = arch.names(nil, cfg)
    assert.are.equal(31, #names)
    assert.are.equal("stoch_noise_scale_log", names[1])
    assert.are.same({ "arch_num_layers", "arch_base_channels", "arch_kernel_size", "arch_activation_gelu",
      "arch_dropout_rate", "arch_total_params_log10", "stoch_schedule_constant", "stoch_spatial_corr",
      "stoch_noise_gaussian", "stoch_score", "op_norm_instance", "op_grid_size", "op_grid_128",
      "evol_policy_residual", "evol_policy_convex" }, { unpack(names, 2, 16) })
    assert.are.equal("strat_dim0_stratum", names[17])
    assert.are.same({ "strat_hash", "strat_boundary_dist", "strat_extremeness" }, { unpack(names, 29, 31) })
  end)

  it("column 0 is log10 of the noise scale the operator is built with", function()
    local cfg = config.load("configs/experiments/baseline_10k.yaml", nil, { warn = false })
    local s = params.sample(cfg, 0, 4)
    for r = 1, 4 do
      local u = {}
      for j = 1, s.P do u[j] = s.unit[(r - 1) * s.P + j - 1] end
      local t = arch.compute(u, s.rows[r], cfg)
      local want = math.log10(s.rows[r].noise_scale + 1e-10)
      assert.is_true(math.abs(t:get(1) - want) < 1e-5)
      -- the mapped row and the decoding from the unit row agree
      assert.are.same(t:totable(), arch.compute(u, nil, cfg):totable())
    end
  end)

  it("uses the mapped values when given (they win over the unit row)", function()
    local case = golden[1]
    local cfg = config_of(case)
    local u = case.unit[1]
    local mapped = params.map_row(config.parameters(cfg), u, "equal_mass")
    mapped.num_layers = 5
    local t = arch.compute(u, mapped, cfg):totable()
    assert.are.equal(5, t[2])
    mapped.activation = "tanh"
    assert.has_error(function() arch.compute(u, mapped, cfg) end,
      "features.architecture: mapped activation = tanh is not one of its choices")
  end)

  it("strata are configurable and widths depend on the config only", function()
    local cfg = config_of(golden[1])
    local u = golden[1].unit[1]
    local t4 = arch.compute(u, nil, cfg):totable()
    local t8 = arch.compute(u, nil, cfg, { strata = 8 }):totable()
    assert.are.equal(#t4, #t8)
    for d = 1, 12 do
      assert.are.equal(math.min(math.floor(8 * u[d]), 7), t8[16 + d])
      assert.are.equal(math.min(math.floor(4 * u[d]), 3), t4[16 + d])
    end
    assert.are.equal(#t4 - 15, arch.width({ include_stratification = false }, cfg))
    local rich = config_of(golden[3])
    assert.are.equal(arch.width(nil, rich) - 2, arch.width({ include_dt_log = false, include_alpha = false }, rich))
  end)

  it("rejects bad input with clear messages", function()
    local cfg = config_of(golden[1])
    assert.has_error(function() arch.compute({ 0.5, 0.5 }, nil, cfg) end,
      "features.architecture: unit row has 2 values but the space has 12 parameters")
    assert.has_error(function() arch.width({ strata = 1 }, cfg) end,
      "features.architecture.strata: expected a whole number in [2, 64], got 1")
    assert.has_error(function() arch.width({ stratta = 4 }, cfg) end,
      "features.architecture: unknown key 'stratta' (known: strata, include_dt_log, include_alpha, include_stratification)")
  end)
end)
