-- spinlock.config: strict loading, shorthand, overrides, defaults, canonical JSON.
local config = require "spinlock.config"
local yaml = require "spinlock.yaml"

local FIX = "spec/fixtures/"
local quiet = { warn = false }

local function load_err(...)
  local ok, err = pcall(config.load, ...)
  assert.is_false(ok, "expected the config to be rejected")
  assert.equal("string", type(err))
  return err
end

local function str_err(text, overrides)
  local ok, err = pcall(config.load_string, text, "inline.yaml", overrides, quiet)
  assert.is_false(ok, "expected the config to be rejected")
  assert.equal("string", type(err))
  return err
end

local MINIMAL = [[
metadata: {name: mini}
sampling: {total_samples: 100}
parameter_space:
  architecture:
    num_layers: {type: integer, bounds: [2, 4]}
]]
-- MINIMAL with text appended to parameter_space (`more`) and further top-level sections (`tail`)
local function with(more, tail) return MINIMAL .. (more or "") .. (tail or "") end

describe("yaml reader", function()
  it("keeps key order, lines and int/float kinds", function()
    local doc = yaml.load("b: 1\na: [2, 2.0, '3', ~]\nc:\n  z: 1\n  y: 2\n", "t.yaml")
    assert.same({ "b", "a", "c" }, yaml.keys(doc))
    assert.same({ "z", "y" }, yaml.keys(doc.c))
    assert.equal(2, yaml.info(doc).line.a)
    local k = yaml.info(doc.a).kind
    assert.same({ "int", "float", "string", "null" }, { k[1], k[2], k[3], k[4] })
    assert.equal(yaml.null, doc.a[4])
  end)

  it("reports syntax errors with file, line and column", function()
    local ok, err = pcall(yaml.load, "a: [1, 2\nb: 3\n", "bad.yaml")
    assert.is_false(ok)
    assert.matches("^bad%.yaml:2:%d+: YAML syntax error", err)
  end)

  it("rejects duplicate keys", function()
    local ok, err = pcall(yaml.load, "a: 1\na: 2\n", "dup.yaml")
    assert.is_false(ok)
    assert.matches("dup%.yaml:2:1: duplicate key 'a' %(first at line 1%)", err)
  end)

  it("supports anchors and merge keys", function()
    local doc = yaml.load("base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n", "m.yaml")
    assert.same({ x = 1, y = 2 }, doc.d)
  end)
end)

describe("config.load", function()
  it("loads the shipped configs", function()
    for _, f in ipairs({ "configs/tiny.yaml", "configs/experiments/test_100.yaml",
                         "configs/experiments/baseline_10k.yaml", "configs/experiments/benchmark_10k.yaml" }) do
      local cfg = config.load(f, nil, quiet)
      assert.truthy(cfg.metadata.name ~= "")
      assert.matches("^datasets/", cfg.dataset.output_path)
    end
  end)

  it("keeps YAML key order for the parameter columns (baseline_10k, spec §1.3)", function()
    local cfg = config.load("configs/experiments/baseline_10k.yaml", nil, quiet)
    local names = {}
    for i, p in ipairs(config.parameters(cfg)) do names[i] = p.name; assert.equal(i, p.index) end
    assert.same({ "num_layers", "base_channels", "kernel_size", "activation", "dropout_rate", "noise_type",
                  "noise_scale", "noise_schedule", "spatial_correlation", "normalization", "grid_size",
                  "update_policy" }, names)
    local up = config.parameter(cfg, "update_policy")
    assert.same({ 0.75, 0.25 }, up.weights)
    assert.equal("evolution", up.category)
    assert.is_true(config.parameter(cfg, "noise_scale").log_scale)
  end)

  it("honours per-variant IC parameters in the resolved mix", function()
    local cfg = config.load("configs/experiments/baseline_10k.yaml", nil, quiet)
    local mix = cfg.simulation.input_generation.mix
    assert.equal(10, #mix)
    assert.equal("gaussian_random_field_v3", mix[4].name)
    assert.equal("gaussian_random_field", mix[4].generator)
    assert.same({ length_scale = 0.05, variance = 2.0 }, mix[4].params)
    assert.equal("multiscale_grf", mix[6].generator)
    assert.same({ 0.30, 0.35, 0.40 }, mix[6].params.scales)
    assert.same({ "stripe" }, mix[9].params.structure_types)
    local total = 0
    for _, e in ipairs(mix) do total = total + e.weight end
    assert.near(1, total, 1e-12)
  end)

  it("fills the defaults of spec §1 tables", function()
    local cfg = config.load_string(MINIMAL, "mini.yaml", nil, quiet)
    assert.equal(true, cfg.sampling.sobol.scramble)
    assert.equal(42, cfg.sampling.sobol.seed)
    assert.equal("equal_mass", cfg.sampling.integer_mapping)
    assert.equal(0.01, cfg.sampling.validation.max_discrepancy)
    assert.equal(0.05, cfg.sampling.validation.max_pairwise_correlation)
    assert.equal(1000, cfg.sampling.batch_size)
    assert.equal(10, cfg.simulation.num_realizations)
    assert.equal(1, cfg.simulation.num_timesteps)
    assert.equal("float32", cfg.simulation.precision)
    assert.equal("random", cfg.simulation.input_generation.method)
    assert.equal(0.1, cfg.simulation.input_generation.length_scale)
    assert.equal("gzip", cfg.dataset.storage.compression)
    assert.equal(4, cfg.dataset.storage.compression_level)
    assert.equal(false, cfg.dataset.storage.store_trajectories)
    assert.equal("float32", cfg.dataset.storage.trajectory_dtype)
    assert.equal("datasets/mini.h5", cfg.dataset.output_path)
    local f = cfg.features
    assert.same({ true, true, true, true }, { f.initial, f.architecture, f.summary, f.temporal })
  end)

  it("names the file, the line, the key path and the nearest key for an unknown key", function()
    local err = load_err(FIX .. "config_errors/typo.yaml", nil, quiet)
    assert.matches("spec/fixtures/config_errors/typo%.yaml:11: 'simulation%.input_generation%.lenght_scale': unknown key", err)
    assert.matches("did you mean 'simulation%.input_generation%.length_scale'%?", err)
  end)

  it("suggests keys at every level", function()
    local e1 = str_err(MINIMAL .. "samplng: {}\n")
    assert.matches("'samplng': unknown top%-level key %(did you mean 'sampling'%?%)", e1)
    local e2 = str_err((MINIMAL:gsub("total_samples: 100", "total_samples: 100, batchsize: 4")))
    assert.matches("'sampling%.batchsize': unknown key %(did you mean 'sampling%.batch_size'%?%)", e2)
    local e3 = str_err((MINIMAL:gsub("bounds: %[2, 4%]", "bounds: [2, 4], bound: 1")))
    assert.matches("'parameter_space%.architecture%.num_layers%.bound': unknown key for an integer parameter %(did you mean 'parameter_space%.architecture%.num_layers%.bounds'%?%)", e3)
    local e4 = str_err((MINIMAL:gsub("architecture:", "architecure:", 1)))
    assert.matches("'parameter_space%.architecure': unknown parameter category %(did you mean 'parameter_space%.architecture'%?%)", e4)
  end)

  it("reports every type, bound and weight problem at once", function()
    local err = load_err(FIX .. "config_errors/many.yaml", nil, quiet)
    assert.matches("invalid configuration %(%d+ problems%)", err)
    assert.matches(":5: 'parameter_space%.architecture%.num_layers%.bounds': needs lo < hi, found %[5, 2%]", err)
    assert.matches("'parameter_space%.architecture%.base_channels%.bounds': integer bounds must be whole numbers", err)
    assert.matches("'parameter_space%.architecture%.kernel_size%.choices%[2%]': kernel_size must be odd", err)
    assert.matches("'parameter_space%.stochastic%.noise_scale%.bounds': log_scale needs lo > 0", err)
    assert.matches("'parameter_space%.evolution%.update_policy%.weights': weights must sum to 1 %(within 1e%-6%), found sum 0%.9", err)
    assert.matches("'sampling%.total_samples': must be >= 1, found %-5", err)
    assert.matches("'sampling%.sobol%.scramble': expected true or false, found string \"yes please\"", err)
    assert.matches("'simulation%.num_realizations': must be <= 100, found 1000", err)
    assert.matches("'dataset%.storage%.compression_level': must be <= 9, found 12", err)
  end)

  it("checks choice weights: length, sign, sum", function()
    local base = with("  evolution:\n    update_policy: {type: choice, choices: [residual, convex], weights: %s}\n")
    assert.matches("has 1 weight%(s%) but there are 2 choice%(s%)", str_err(base:format("[1.0]")))
    assert.matches("weights must be non%-negative, found %-0%.5", str_err(base:format("[1.5, -0.5]")))
    assert.matches("sum to 1", str_err(base:format("[0.5, 0.5000011]")))
    local cfg = config.load_string(base:format("[0.5, 0.5000009]"), "w.yaml", nil, quiet)
    assert.equal(2, #config.parameter(cfg, "update_policy").weights)
  end)

  it("rejects unknown values of known parameters and unknown IC types with suggestions", function()
    local e = str_err(with("  operator:\n    normalization: {type: choice, choices: [instanse]}\n"))
    assert.matches("not a valid normalization.*did you mean 'instance'", e)
    local e2 = str_err(MINIMAL .. "simulation:\n  input_generation:\n    method: sampled\n    ic_type_weights: {localised: 1.0}\n")
    assert.matches("'simulation%.input_generation%.ic_type_weights%.localised': unknown IC type %(did you mean 'localized'%?%)", e2)
    local e3 = str_err(MINIMAL .. "simulation:\n  input_generation:\n    localized: {num_blob: 3}\n")
    assert.matches("'simulation%.input_generation%.localized%.num_blob': unknown key %(did you mean 'simulation%.input_generation%.localized%.num_blobs'%?%)", e3)
  end)

  it("accepts exactly the IC names the IC module runs (names come from spinlock.ic)", function()
    local ic = require "spinlock.ic"
    local IG = MINIMAL .. "simulation:\n  input_generation:\n"
    -- every generator and variant is a valid method, and a valid weight that generation resolves
    for _, name in ipairs(ic.known_names()) do
      local cfg = config.load_string(IG .. "    method: " .. name .. "\n", "m.yaml", nil, quiet)
      assert.equal(name, cfg.simulation.input_generation.mix[1].name)
      cfg = config.load_string(IG .. "    method: sampled\n    ic_type_weights: {" .. name .. ": 1, " .. name .. "_v7: 1}\n",
                               "w.yaml", nil, quiet)
      assert.equal(2, #cfg.simulation.input_generation.mix)
      ic.resolve(config.ic_section(cfg.simulation.input_generation))
    end
    -- the ones the old hand-written list missed
    for _, name in ipairs({ "band_limited", "sinusoids" }) do
      local cfg = config.load_string(IG .. "    method: sampled\n    ic_type_weights: {" .. name .. ": 1}\n",
                                     "b.yaml", nil, quiet)
      assert.equal(name, cfg.simulation.input_generation.mix[1].generator)
    end
    -- parameter keys follow the registry (structured has a variance) and its value checks
    local cfg = config.load_string(IG .. "    method: structured\n    structured: {variance: 2}\n", "s.yaml", nil, quiet)
    assert.equal(2, cfg.simulation.input_generation.mix[1].params.variance)
    local e = str_err(IG .. "    method: sinusoids\n    sinusoids: {num_waves: 0}\n")
    assert.matches("inline%.yaml:9: 'simulation%.input_generation%.sinusoids%.num_waves': parameter 'num_waves' must lie in", e)
    e = str_err(IG .. "    band_limited: {k_mn: 2}\n")
    assert.matches("'simulation%.input_generation%.band_limited%.k_mn': unknown key %(did you mean 'simulation%.input_generation%.band_limited%.k_min'%?%)", e)
  end)

  it("treats mixed and sampled as methods, never as IC types, like generation does", function()
    local IG = MINIMAL .. "simulation:\n  input_generation:\n"
    local e = str_err(IG .. "    method: sampled\n    ic_type_weights: {random: .5, mixed: .5}\n")
    assert.matches("'simulation%.input_generation%.ic_type_weights%.mixed': 'mixed' is a method, not an IC type", e)
    assert.matches("gaussian_random_field: 0%.5, structured: 0%.5", e)
    e = str_err(IG .. "    method: sampled\n    ic_type_weights: {sampled: 1}\n")
    assert.matches("'sampled' is a method, not an IC type", e)
    e = str_err(IG .. "    mixed: {length_scale: 0.2}\n")
    assert.matches("'simulation%.input_generation%.mixed': 'mixed' is a method, not an IC generator", e)
    local cfg = config.load_string(IG .. "    method: mixed\n", "m.yaml", nil, quiet)
    local mix = cfg.simulation.input_generation.mix
    assert.same({ "gaussian_random_field", "structured" }, { mix[1].name, mix[2].name })
    assert.same({ 0.5, 0.5 }, { mix[1].weight, mix[2].weight })
    e = str_err(IG .. "    method: mixd\n")
    assert.matches("unknown IC method \"mixd\" %(did you mean 'mixed'%?%)", e)
  end)

  it("rejects a near miss of a generator parameter name and warns about far-off extra ones", function()
    local function load(ps)
      local warnings = {}
      local ok, res = pcall(config.load_string, MINIMAL .. ps, "p.yaml", nil,
                            { warn = function(w) warnings[#warnings + 1] = w end })
      return ok, ok and table.concat(warnings, "\n") or tostring(res)
    end
    local ok, msg = load("  stochastic:\n    noise_scal: [0.01, 0.1]\n")
    assert.is_false(ok)
    assert.matches("p%.yaml:7: 'parameter_space%.stochastic%.noise_scal': not a parameter the generator understands %(did you mean 'noise_scale'%?%)", msg)
    ok, msg = load("  evolution:\n    alpah: [0.1, 0.5]\n")
    assert.is_false(ok)
    assert.matches("did you mean 'alpha'", msg)
    ok, msg = load("    num_layer: [2, 4]\n")   -- num_layers is declared: a neighbour, not a typo
    assert.is_true(ok, msg)
    assert.matches("'parameter_space%.architecture%.num_layer': not a parameter the generator understands; it is sampled", msg)
    assert.falsy(msg:find("did you mean", 1, true), msg)
    ok, msg = load("  stochastic:\n    my_extra_dim: [0.01, 0.1]\n    ab: [0.1, 0.2]\n")   -- far from every known name
    assert.is_true(ok, msg)
    assert.matches("my_extra_dim': not a parameter the generator understands; it is sampled and stored but has no effect", msg)
    assert.falsy(msg:find("did you mean", 1, true), msg)
    -- noise_type without noise_scale: the reference has no noise then; say so
    ok, msg = load("  stochastic:\n    noise_type: {type: choice, choices: [gaussian]}\n")
    assert.is_true(ok, msg)
    assert.truthy(msg:find("noise_type is sampled but noise_scale is not", 1, true), msg)
    ok, msg = load("  stochastic:\n    noise_type: {type: choice, choices: [gaussian]}\n    noise_scale: [0.01, 0.1]\n")
    assert.is_true(ok, msg)
    assert.falsy(msg:find("noise_scale is not", 1, true), msg)
  end)

  it("points a missing key at its parent's line and explains empty or non-mapping documents", function()
    local e = str_err((MINIMAL:gsub("bounds: %[2, 4%]", "description: x")))
    assert.matches("inline%.yaml:5: 'parameter_space%.architecture%.num_layers%.bounds': is required for an integer parameter", e)
    local e2 = str_err("")
    assert.matches("'sampling%.total_samples': is required", e2)
    assert.matches("'parameter_space': defines no parameters", e2)
    assert.equal("inline.yaml: the top level of a config must be a mapping, found a list", str_err("- a\n- b\n"))
  end)

  it("raises plain messages without a traceback or Lua position", function()
    local err = load_err(FIX .. "config_errors/typo.yaml", nil, quiet)
    assert.is_nil(err:find("stack traceback", 1, true))
    assert.is_nil(err:find("config.lua", 1, true))
    local ok, msg = config.try_load(FIX .. "config_errors/typo.yaml", nil, quiet)
    assert.is_nil(ok)
    assert.matches("unknown key", msg)
    local _, missing = config.try_load(FIX .. "config_errors/does_not_exist.yaml")
    assert.matches("does_not_exist%.yaml: cannot open", missing)
  end)

  it("warns about keys that have no effect, and says so", function()
    local warnings = {}
    local cfg = config.load_string((MINIMAL:gsub("sampling: {total_samples: 100}",
      "sampling:\n  total_samples: 100\n  stratification: {method: adaptive}\n  sobol: {scramble_method: lms_shift}")) ..
      "simulation:\n  parallelism: {strategy: data_parallel}\n", "w.yaml", nil,
      { warn = function(m) warnings[#warnings + 1] = m end })
    local all = table.concat(warnings, "\n")
    assert.matches("'sampling%.stratification': stratification is not implemented.*no effect", all)
    assert.matches("'sampling%.sobol%.scramble_method': lms_shift is not implemented; seeded Owen scrambling is used", all)
    assert.matches("'simulation%.parallelism':.*no effect", all)
    assert.equal("owen", cfg.sampling.sobol.scramble_method)
    assert.same(warnings, cfg.warnings)
  end)
end)

describe("shorthand (user's guide Custom Configurations)", function()
  local warnings
  local cfg
  setup(function()
    warnings = {}
    cfg = config.load(FIX .. "config_shorthand/guide.yaml", nil, { warn = function(m) warnings[#warnings + 1] = m end })
  end)

  it("maps dataset.* onto the real keys", function()
    assert.equal("custom_dataset", cfg.metadata.name)
    assert.equal(5000, cfg.sampling.total_samples)
    assert.equal(3, cfg.simulation.num_realizations)
    assert.equal(500, cfg.simulation.num_timesteps)
    assert.equal("datasets/custom_dataset.h5", cfg.dataset.output_path)
    local g = config.parameter(cfg, "grid_size")
    assert.same({ type = "choice", choices = { 128 }, category = "operator" },
                { type = g.type, choices = g.choices, category = g.category })
  end)

  it("turns [lo, hi] ints into integer, floats into continuous, strings into choice", function()
    local nl = config.parameter(cfg, "num_layers")
    assert.same({ "integer", 2, 8 }, { nl.type, nl.lo, nl.hi })
    local ns = config.parameter(cfg, "noise_scale")
    assert.same({ "continuous", 0.001, 0.1, false }, { ns.type, ns.lo, ns.hi, ns.log_scale })
    local act = config.parameter(cfg, "activation")
    assert.same({ "choice", { "gelu", "relu" } }, { act.type, act.choices })
  end)

  it("takes a kernel_size range as its odd sizes, with a warning", function()
    local ks = config.parameter(cfg, "kernel_size")
    assert.same({ 3, 5, 7, 9 }, ks.choices)
    assert.matches("kernel_size': integer range %[3, 9%] taken as a choice of the odd sizes 3, 5, 7, 9",
                   table.concat(warnings, "\n"))
  end)

  it("reads the ic/nop/sdf/td feature switches", function()
    local f = cfg.features
    assert.same({ true, true, true, false }, { f.initial, f.architecture, f.summary, f.temporal })
    local c2 = config.load_string(MINIMAL .. "features: {initial: false, summary: true}\n", "f.yaml", nil, quiet)
    local f2 = c2.features
    assert.same({ false, true, true, true }, { f2.initial, f2.architecture, f2.summary, f2.temporal })
    assert.matches("contradicts features%.sdf", str_err(MINIMAL .. "features: {sdf: true, summary: false}\n"))
    assert.matches("'features%.tempral': unknown feature family %(did you mean 'features%.temporal'%?%)",
                   str_err(MINIMAL .. "features: {tempral: true}\n"))
  end)

  it("orders the columns architecture, stochastic, operator", function()
    local names = {}
    for i, p in ipairs(config.parameters(cfg)) do names[i] = p.name end
    assert.same({ "num_layers", "kernel_size", "activation", "noise_scale", "grid_size" }, names)
  end)

  it("rejects a shorthand key together with its real key", function()
    local e = str_err("dataset: {num_operators: 10}\n" .. MINIMAL)
    assert.matches("'dataset%.num_operators': conflicts with sampling%.total_samples", e)
  end)
end)

describe("Lua configs", function()
  it("load with the same validation, list categories keep their order", function()
    local cfg = config.load(FIX .. "config_lua/small.lua", nil, quiet)
    assert.equal("lua_small", cfg.metadata.name)
    assert.equal(32, cfg.sampling.total_samples)
    local names = {}
    for i, p in ipairs(config.parameters(cfg)) do names[i] = p.name end
    assert.same({ "num_layers", "base_channels", "activation", "grid_size" }, names)
    assert.equal("lua", cfg.source.format)
  end)

  it("report syntax and runtime errors with the file name", function()
    local _, e = config.try_load(FIX .. "config_lua/syntax_error.lua")
    assert.matches("^spec/fixtures/config_lua/syntax_error%.lua:4: '}' expected", e)
  end)

  it("report errors like YAML ones", function()
    local ok, err = pcall(config.from_table, { metadata = { name = "x" }, sampling = { total_samples = 10, sobol = { seeed = 1 } },
      parameter_space = { architecture = { num_layers = { type = "integer", bounds = { 2, 3 } } } } }, "t.lua", nil, quiet)
    assert.is_false(ok)
    assert.matches("t%.lua: 'sampling%.sobol%.seeed': unknown key %(did you mean 'sampling%.sobol%.seed'%?%)", err)
  end)
end)

describe("overrides", function()
  it("apply dotted paths and named options, then validate", function()
    local cfg = config.load("configs/tiny.yaml", { ["sampling.total_samples"] = 200, seed = 9, output = "datasets/o.h5",
                                                   num_timesteps = "12", store_trajectories = "false" }, quiet)
    assert.equal(200, cfg.sampling.total_samples)
    assert.equal(9, cfg.sampling.sobol.seed)
    assert.equal("datasets/o.h5", cfg.dataset.output_path)
    assert.equal(12, cfg.simulation.num_timesteps)
    assert.equal(false, cfg.dataset.storage.store_trajectories)
  end)

  it("are validated like file contents", function()
    local err = load_err("configs/tiny.yaml", { num_operators = 0 }, quiet)
    assert.matches("configs/tiny%.yaml: override 'num_operators' %(sampling%.total_samples%): must be >= 1, found 0", err)
    local err2 = load_err("configs/tiny.yaml", { ["sampling.total_smaples"] = 5 }, quiet)
    assert.matches("override 'sampling%.total_smaples': unknown key %(did you mean 'sampling%.total_samples'%?%)", err2)
    local err3 = load_err("configs/tiny.yaml", { sed = 5 }, quiet)
    assert.matches("override 'sed': unknown option %(did you mean 'seed'%?%)", err3)
    local err5 = load_err("configs/tiny.yaml", { ["sampling.total_samples.x"] = 1 }, quiet)
    assert.matches("override 'sampling%.total_samples%.x': cannot set 'sampling%.total_samples%.x' inside number 16", err5)
    local err4 = load_err("configs/tiny.yaml", { seed = "abc" }, quiet)
    assert.matches("override 'seed' %(sampling%.sobol%.seed%): expected an integer, found string \"abc\"", err4)
  end)
end)

describe("config.to_json", function()
  it("is deterministic and reloads to the same config", function()
    for _, f in ipairs({ "configs/experiments/baseline_10k.yaml", FIX .. "config_shorthand/guide.yaml" }) do
      local cfg = config.load(f, nil, quiet)
      local j = config.to_json(cfg)
      assert.equal(j, config.to_json(config.load(f, nil, quiet)))
      local again = config.load_string(j, "json", nil, quiet)
      assert.equal(j, config.to_json(again))
      assert.matches('^{"version":"1%.0","metadata":{"name":', j)
    end
  end)
end)

describe("edit distance", function()
  it("counts insertions, deletions and substitutions", function()
    assert.equal(2, config._edit_distance("lenght_scale", "length_scale"))
    assert.equal(1, config._edit_distance("seed", "seeds"))
    assert.equal(0, config._edit_distance("", ""))
    assert.equal(3, config._edit_distance("abc", ""))
  end)
end)
