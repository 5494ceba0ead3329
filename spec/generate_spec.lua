-- Generation pipeline (spinlock.generate) on a tiny config (G=16, M=2, T=4, N=6): file layout,
-- h5py compatibility (the guide's snippet), determinism across threads / batch sizes / shards /
-- resume, interruption (SIGINT at a safe point, kill -9 between flushes), overwrite and resume
-- refusals, divergence flags, and the option checks.  The operator and feature modules are the
-- real ones when this build has them, else the fakes in spec/support (see gen_helpers.lua).
local sl = require "spinlock"
local h5 = require "spinlock.h5"
local ffi = require "ffi"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local H = require "gen_helpers"
H.A = assert
local generate = require "spinlock.generate"

pcall(ffi.cdef, "int raise(int sig); int getpid(void); int kill(int pid, int sig);")

describe("generate", function()
  local dir, cfg_path, cfg
  local straight   -- snapshot of a straight run (shared by the determinism specs)

  setup(function()
    dir = H.tmpdir()
    cfg_path = H.write_config(dir)
    cfg = H.load(cfg_path)
    local res = H.generate(cfg, { output = dir .. "/straight.h5" })
    assert.are.equal("complete", res.status)
    straight = H.snapshot(dir .. "/straight.h5")
  end)
  teardown(function() H.cleanup() end)

  describe("file layout", function()
    it("has every dataset with the documented shape and dtype", function()
      h5.with(dir .. "/straight.h5", "r", function(f)
        local P = #cfg.parameters
        local function info(p) assert.is_true(f:exists(p), p .. " missing"); return f:info(p) end
        assert.are.same({ 6, P }, info("parameters/params").shape)
        assert.are.equal("float32", info("parameters/params").dtype)
        assert.are.same({ 6, P }, info("parameters/mapped").shape)
        assert.are.equal("float64", info("parameters/mapped").dtype)
        assert.are.same({ 6, 3, 16, 16 }, info("inputs/fields").shape)
        assert.are.same({ 6, 2, 4, 3, 16, 16 }, info("outputs/trajectories").shape)
        assert.are.same({ 1, 1, 4, 3, 16, 16 }, info("outputs/trajectories").chunks)
        assert.are.equal("gzip", info("inputs/fields").compression)
        assert.is_true(info("inputs/fields").shuffle)
        for _, p in ipairs({ "metadata/ic_types", "metadata/evolution_policies", "metadata/noise_regimes" }) do
          assert.are.equal("string", info(p).dtype)
          assert.are.same({ 6 }, info(p).shape)
        end
        assert.are.same({ 6 }, info("metadata/status").shape)
        assert.are.same({ 6, 2 }, info("metadata/diverged_step").shape)
        assert.are.same({ 6 }, info("metadata/grid_sizes").shape)
        -- feature families: [N, per-operator shape] with names matching the last axis
        local fams = f:attr("metadata", "feature_families")
        assert.are.same({ "initial", "architecture", "summary", "temporal" }, fams)
        for _, fam in ipairs(fams) do
          local e = info("features/" .. fam)
          local names = f:attr("features/" .. fam, "feature_names")
          assert.are.equal(6, e.shape[1])
          assert.are.equal(#names, e.shape[#e.shape])
          assert.are.equal("float32", e.dtype)
        end
        assert.are.same({ 6, 2 }, { unpack(info("features/initial").shape, 1, 2) })
        assert.are.same({ 6, 2, 4 }, { unpack(info("features/temporal").shape, 1, 3) })
      end)
    end)

    it("records the run in metadata attributes", function()
      h5.with(dir .. "/straight.h5", "r", function(f)
        local a = f:attrs("metadata")
        assert.are.equal(1, a.complete)
        assert.are.equal(6, a.rows_done)
        assert.are.equal(6, a.num_operators)
        assert.are.equal(2, a.num_realizations)
        assert.are.equal(4, a.num_timesteps)
        assert.are.equal(16, a.grid_size)
        assert.are.equal(7, a.seed)
        assert.are.equal(sl.version, a.spinlock_version)
        assert.are.equal(require("spinlock.config").to_json(cfg), a.config)
        assert.truthy(a.config_yaml:find("spec_tiny", 1, true))
        assert.truthy(a.creation_date:match("^%d%d%d%d%-%d%d%-%d%dT"))
        local m = require("spinlock.yaml").load(a.sampling_metrics)
        assert.are.equal(6, m.n_samples)
        assert.are.equal(#cfg.parameters, m.dimensionality)
        assert.is_number(m.discrepancy)
        assert.are.same({ "gelu", "tanh" }, f:attr("parameters/mapped", "choices_activation"))
        local names = f:attr("parameters/params", "names")
        assert.are.equal("num_layers", names[1])
      end)
    end)

    it("stores the Sobol rows, their mapped values, the ICs and frame 0 = IC", function()
      local smp = require("spinlock.params").sample(cfg, 0, 6)
      local P = smp.P
      h5.with(dir .. "/straight.h5", "r", function(f)
        local unit = f:read("parameters/params"):totable()
        local mapped = f:read("parameters/mapped"):totable()
        for r = 1, 6 do
          for j = 1, P do
            assert.are.equal(tonumber(ffi.new("float", smp.unit[(r - 1) * P + j - 1])), unit[r][j])
            assert.are.equal(smp.values[(r - 1) * P + j - 1], mapped[r][j])
          end
        end
        local ic = require "spinlock.ic"
        local fields = f:read("inputs/fields")
        local types = f:read_strings("metadata/ic_types")
        local ig = cfg.simulation.input_generation
        local raw = { method = ig.method, ic_type_weights = ig.ic_type_weights, length_scale = ig.length_scale,
                      variance = ig.variance }
        local plan = ic.resolve(raw)
        for r = 1, 6 do
          assert.are.equal(ic.choose(plan, 7, r - 1), types[r])
          local want = ic.generate(plan, types[r], 7, r - 1, 16)
          assert.are.same(want:totable(), fields:select(1, r):totable())
        end
        local traj = f:read("outputs/trajectories")
        for r = 1, 6 do for m = 1, 2 do
          assert.are.same(fields:select(1, r):totable(), traj:select(1, r):select(1, m):select(1, 1):totable())
        end end
        assert.are.same({ 0, 1, 2, 3, 4, 5 }, f:read("metadata/operator_index"):totable())
        assert.are.same({ 1, 1, 1, 1, 1, 1 }, f:read("metadata/status"):totable())
      end)
    end)

    it("reads in h5py: the guide's section-3 snippet and the layout checks (CI compatibility check)", function()
      local ok = H.have_h5py()
      if not ok then pending("no /usr/bin/python3 with h5py") return end
      local out, code = H.run("/usr/bin/python3 '" .. H.here .. "dataset_check.py' '" .. dir .. "/straight.h5'")
      assert.are.equal(0, code, out)
      assert.truthy(out:find("dataset_check: OK", 1, true), out)
    end)
  end)

  describe("determinism", function()
    it("gives the same file with 1 or 2 threads and any batch size", function()
      local before = sl.num_threads()
      H.generate(cfg, { output = dir .. "/t1.h5", threads = 1, batch_size = 1 })
      H.generate(cfg, { output = dir .. "/t2.h5", threads = 2, batch_size = 5 })
      sl.set_num_threads(before)
      H.assert_same(straight, H.snapshot(dir .. "/t1.h5"))
      H.assert_same(straight, H.snapshot(dir .. "/t2.h5"))
    end)

    it("splits into shards whose rows equal the matching rows of a single run", function()
      -- one --output for both shards: each writes its own <output>.shard-i-of-n.h5
      local r1 = H.generate(cfg, { shard = "1/2", output = dir .. "/s.h5" })
      local r2 = H.generate(cfg, { shard = "2/2", output = dir .. "/s.h5" })
      assert.are.equal(dir .. "/s.shard-1-of-2.h5", r1.output)
      assert.are.equal(dir .. "/s.shard-2-of-2.h5", r2.output)
      assert.is_nil(io.open(dir .. "/s.h5"))
      os.rename(r1.output, dir .. "/s1.h5")
      os.rename(r2.output, dir .. "/s2.h5")
      assert.are.equal(3, r1.N)
      assert.are.equal(3, r2.N)
      local skip = { num_operators = true, first_operator = true, shard = true, rows_done = true, num_diverged = true }
      H.assert_same(H.snapshot(dir .. "/straight.h5", 1, 3), H.snapshot(dir .. "/s1.h5"), skip)
      H.assert_same(H.snapshot(dir .. "/straight.h5", 4, 6), H.snapshot(dir .. "/s2.h5"), skip)
      h5.with(dir .. "/s2.h5", "r", function(f)
        assert.are.equal(3, f:attr("metadata", "first_operator"))
        assert.are.equal(6, f:attr("metadata", "total_operators"))
        assert.are.equal("2/2", f:attr("metadata", "shard"))
        assert.are.same({ 3, 4, 5 }, f:read("metadata/operator_index"):totable())
      end)
      -- merge-shards gives back the single run (apart from the provenance attributes)
      local dataset = require "spinlock.dataset"
      local m = dataset.merge({ dir .. "/s2.h5", dir .. "/s1.h5" }, dir .. "/merged.h5")
      assert.are.equal(6, m.N)
      H.assert_same(straight, H.snapshot(dir .. "/merged.h5"), { merged_from = true })
      local msg = H.err_of(dataset.merge, { dir .. "/s1.h5" }, dir .. "/m2.h5")
      assert.truthy(msg:find("operators 3..5 are missing", 1, true), msg)
      msg = H.err_of(dataset.merge, { dir .. "/s1.h5", dir .. "/s1.h5" }, dir .. "/m2.h5")
      assert.truthy(msg:find("overlaps the previous shard", 1, true), msg)
      msg = H.err_of(dataset.merge, { dir .. "/s1.h5", dir .. "/s2.h5" }, dir .. "/merged.h5")
      assert.truthy(msg:find("already exists; use --force", 1, true), msg)
    end)

    it("resumes an interrupted run (SIGINT after 3 operators) into the same file as a straight run", function()
      local out = dir .. "/resumed.h5"
      local res = H.generate(cfg, { output = out, flush_every = 100, on_operator = function(done)
        if done == 3 then ffi.C.raise(2) end   -- SIGINT: the run stops at the next safe point
      end })
      assert.are.equal("interrupted", res.status)
      assert.are.equal("SIGINT", res.signal)
      assert.are.equal(3, res.rows_done)
      h5.with(out, "r", function(f)
        assert.are.equal(0, f:attr("metadata", "complete"))
        assert.are.equal(3, f:attr("metadata", "rows_done"))
        assert.are.same({ 1, 1, 1, 0, 0, 0 }, f:read("metadata/status"):totable())
      end)
      local lines = generate.summary_lines(res, "spinlock generate --config x --resume")
      assert.truthy(lines[1]:find("interrupted (SIGINT) after 3/6", 1, true), lines[1])
      assert.truthy(lines[2]:find("--resume", 1, true))
      assert.is_false(sl.interrupted())     -- the flag is cleared for the next run
      local res2 = H.generate(cfg, { output = out, resume = true })
      assert.are.equal("complete", res2.status)
      assert.are.equal(3, res2.started_at)
      H.assert_same(straight, H.snapshot(out))
      local res3 = H.generate(cfg, { output = out, resume = true })
      assert.are.equal("already_complete", res3.status)
    end)

    it("loses only the rows since the last flush when killed with SIGKILL, and resumes from there", function()
      local out = dir .. "/killed.h5"
      local script = dir .. "/kill.lua"
      local fh = assert(io.open(script, "w"))
      fh:write(([[
package.path = %q .. "?.lua;" .. package.path
local ffi = require "ffi"
ffi.cdef "int getpid(void); int kill(int pid, int sig);"
local H = require "gen_helpers"
H.A = assert
H.generate(H.load(%q), { output = %q, flush_every = 2, on_operator = function(done)
  if done == 5 then ffi.C.kill(ffi.C.getpid(), 9) end
end })
]]):format(H.here, cfg_path, out))
      fh:close()
      local _, code = H.run("'" .. H.binary() .. "' run '" .. script .. "'")
      assert.are_not.equal(0, code)
      local info = require("spinlock.dataset").progress_of(out)
      assert.are.equal(4, info.rows_done)          -- flushed after 2 and 4; row 5 was in flight
      assert.is_false(info.complete)
      local res = H.generate(cfg, { output = out, resume = true })
      assert.are.equal(4, res.started_at)
      H.assert_same(straight, H.snapshot(out))
    end)
  end)

  describe("refusals", function()
    it("never overwrites an existing file without force", function()
      local msg = H.err_of(H.generate, cfg, { output = dir .. "/straight.h5" })
      assert.truthy(msg:find("already exists", 1, true), msg)
      assert.truthy(msg:find("6/6 operators done, complete); use --force to overwrite it or choose another --output", 1, true), msg)
      assert.falsy(msg:find("--resume", 1, true), msg)   -- nothing to continue in a complete file
      local fh = assert(io.open(dir .. "/text.h5", "w")); fh:write("not hdf5"); fh:close()
      msg = H.err_of(H.generate, cfg, { output = dir .. "/text.h5" })
      assert.truthy(msg:find("text.h5 already exists; use --force to overwrite it or choose another --output", 1, true), msg)
      local res = H.generate(cfg, { output = dir .. "/text.h5", force = true })
      assert.are.equal("complete", res.status)
    end)

    it("refuses to resume with another seed or config, naming the difference", function()
      local out = dir .. "/mismatch.h5"
      H.generate(cfg, { output = out, on_operator = function(done) if done == 2 then ffi.C.raise(2) end end })
      local other_seed = H.load(cfg_path, { seed = 8 })
      local msg = H.err_of(H.generate, other_seed, { output = out, resume = true })
      assert.truthy(msg:find("seed 7, this run uses seed 8", 1, true), msg)
      local other = H.load(cfg_path, { num_timesteps = 5 })
      msg = H.err_of(H.generate, other, { output = out, resume = true })
      assert.truthy(msg:find("config differs", 1, true), msg)
      assert.truthy(msg:find("num_timesteps", 1, true), msg)
      os.execute("cp '" .. out .. "' '" .. dir .. "/mismatch.shard-1-of-2.h5'")
      msg = H.err_of(H.generate, cfg, { output = out, resume = true, shard = "1/2" })
      assert.truthy(msg:find("mismatch.shard-1-of-2.h5: it holds operators 0..5, this run asks for 0..2", 1, true), msg)
      local fh = assert(io.open(dir .. "/junk.h5", "w")); fh:write("junk"); fh:close()
      msg = H.err_of(H.generate, cfg, { output = dir .. "/junk.h5", resume = true })
      assert.truthy(msg:find("not a Spinlock dataset", 1, true), msg)
    end)

    it("resolves devices to the CPU: auto notes a visible GPU, cuda is an error (fake backend info)", function()
      local gpu = { cuda_available = true }
      local none = { cuda_available = false, reason = "no driver" }
      assert.are.same({ "cpu" }, { generate.resolve_device("cpu", gpu) })
      assert.are.same({ "cpu" }, { generate.resolve_device("auto", none) })
      local dev, note = generate.resolve_device("auto", gpu)
      assert.are.equal("cpu", dev)
      assert.truthy(note and note:find("^note: a GPU is visible, but rollouts run on the CPU in this build"), note)
      for _, want in ipairs({ "cuda", "cuda:0", "cuda:3" }) do
        for _, info in ipairs({ gpu, none }) do
          local ok, e = pcall(generate.resolve_device, want, info)
          assert.is_false(ok)
          assert.is_true(require("spinlock.cli").is_user_error(e), tostring(e))
          assert.truthy(e.msg:find("device '" .. want .. "' requested, but rollouts run on the CPU in this build", 1, true), e.msg)
          assert.are.equal(info == none, e.msg:find("no driver", 1, true) ~= nil, e.msg)
        end
      end
    end)

    it("rejects several grid sizes, bad shards and an unavailable CUDA device", function()
      local multi = H.write_config(dir, { name = "multi.yaml" })
      local text = io.open(multi):read("*a"):gsub("choices: %[16%]", "choices: [16, 32]")
      local fh = io.open(multi, "w"); fh:write(text); fh:close()
      local msg = H.err_of(generate.plan, H.load(multi))
      assert.truthy(msg:find("grid_size has 2 choices (16, 32)", 1, true), msg)
      assert.truthy(msg:find("one grid size", 1, true), msg)
      msg = H.err_of(generate.plan, cfg, { shard = "3/2" })
      assert.truthy(msg:find("--shard must be i/n with 1 <= i <= n", 1, true), msg)
      msg = H.err_of(generate.plan, cfg, { shard = "x" })
      assert.truthy(msg:find("got 'x'", 1, true), msg)
      -- rollouts run on the CPU in this build: cuda is an error whatever the machine has
      msg = H.err_of(generate.plan, cfg, { device = "cuda" })
      assert.truthy(msg:find("rollouts run on the CPU in this build", 1, true), msg)
      assert.truthy(msg:find("docs/cuda.md", 1, true), msg)
      assert.truthy(msg:find("--device cpu", 1, true), msg)
      assert.are.equal("cpu", generate.plan(cfg, { device = "auto" }).device)
      msg = H.err_of(generate.plan, cfg, { device = "tpu" })
      assert.truthy(msg:find("unknown device 'tpu'", 1, true), msg)
    end)
  end)

  describe("checks before the output exists", function()
    it("derives every shard's file from --output, keeping a name that already names the shard", function()
      assert.are.equal("d.shard-2-of-2.h5", generate.plan(cfg, { output = "d.h5", shard = "2/2" }).output)
      assert.are.equal("d.shard-2-of-2.h5", generate.plan(cfg, { output = "d.shard-2-of-2.h5", shard = "2/2" }).output)
      assert.are.equal("d.h5", generate.plan(cfg, { output = "d.h5" }).output)
      local msg = H.err_of(generate.plan, cfg, { output = "d.shard-1-of-2.h5", shard = "2/2" })
      assert.truthy(msg:find("--output d.shard-1-of-2.h5 names shard 1/2 but --shard is 2/2", 1, true), msg)
    end)

    it("validates every option, --threads included, without running", function()
      for _, t in ipairs({ 0, -3, 1.5 }) do
        local msg = H.err_of(generate.plan, cfg, { threads = t })
        assert.truthy(msg:find("--threads must be a whole number >= 1, got " .. tostring(t), 1, true), msg)
      end
      local msg = H.err_of(generate.prepare, cfg, { output = dir .. "/straight.h5" })
      assert.truthy(msg:find("already exists", 1, true), msg)
    end)

    it("leaves no file behind when the run fails before its first row", function()
      local _, fx = H.modules(cfg)
      -- the operator settings fail: refused before the file is created
      local bad_build = { build = function() error("operator.build: num_layers must be >= 1", 0) end }
      local out = dir .. "/fails_early.h5"
      local msg = H.err_of(H.generate, cfg, { output = out, operator = bad_build, features = fx })
      assert.truthy(msg:find("operator 0 cannot be built: operator.build: num_layers must be >= 1", 1, true), msg)
      assert.is_nil(io.open(out))
      -- the first rollout fails after the file was created: the empty file is removed again
      local real = H.modules(cfg)
      local bad_rollout = { build = function(row, o)
        local op = real.build(row, o)
        return setmetatable({}, { __index = function(_, k)
          if k == "rollout" then return function() error("rollout: out of memory", 0) end end
          local v = op[k]
          if type(v) == "function" then return function(_, ...) return v(op, ...) end end
          return v
        end })
      end }
      msg = H.err_of(H.generate, cfg, { output = out, operator = bad_rollout, features = fx })
      assert.truthy(msg:find("rollout: out of memory", 1, true), msg)
      assert.is_nil(io.open(out))
      -- so the corrected rerun needs no --force
      assert.are.equal("complete", H.generate(cfg, { output = out }).status)
    end)

    it("says so when --resume finds no file and starts a new one", function()
      local lines = {}
      local res = H.generate(cfg, { output = dir .. "/fresh.h5", resume = true,
                                    log = function(l) lines[#lines + 1] = l end })
      assert.are.equal("complete", res.status)
      assert.truthy(table.concat(lines, "\n"):find(dir .. "/fresh.h5 does not exist yet: starting a new dataset", 1, true))
    end)
  end)

  describe("divergence", function()
    it("flags a diverging operator in metadata and carries on", function()
      local fake_op = require "fake_operator"
      local _, fx = H.modules(cfg)
      fake_op.diverge = { [2] = { realization = 2, step = 2 } }
      local ok, res = pcall(H.generate, cfg, { output = dir .. "/div.h5", operator = fake_op, features = fx })
      fake_op.diverge = {}
      assert.is_true(ok, tostring(res))
      assert.are.equal("complete", res.status)
      assert.are.equal(1, res.diverged_total)
      h5.with(dir .. "/div.h5", "r", function(f)
        assert.are.same({ 1, 1, 2, 1, 1, 1 }, f:read("metadata/status"):totable())
        local ds = f:read("metadata/diverged_step"):totable()
        assert.are.same({ -1, 2 }, ds[3])
        assert.are.same({ -1, -1 }, ds[1])
        assert.are.equal(1, f:attr("metadata", "num_diverged"))
        local tr = f:read("outputs/trajectories", { 3, 2, 3 }, { 1, 1, 1 })
        local v = tr:totable()[1][1][1][1][1][1]
        assert.is_true(v ~= v)  -- NaN kept as produced
      end)
      local lines = generate.summary_lines(res)
      assert.truthy(lines[1]:find("6 operators, 1 diverged", 1, true), lines[1])
    end)
  end)

  describe("the generate command", function()
    -- The recipe runs in a child `spinlock run` with the pipeline modules of gen_helpers (fakes
    -- stand in for the operator/feature modules while this build lacks them).
    local function cli_run(args)
      local script = dir .. "/cli_generate.lua"
      local fh = assert(io.open(script, "w"))
      fh:write(([[
package.path = %q .. "?.lua;" .. package.path
local H = require "gen_helpers"
local cfg_path
for i, a in ipairs(arg) do if a == "--config" then cfg_path = arg[i + 1] end end
local op, fx = H.modules(cfg_path and H.load(cfg_path))
package.loaded["spinlock.operator"], package.loaded["spinlock.features"] = op, fx
local cli = require "spinlock.cli"
local recipe = dofile(require("spinlock.paths").recipes .. "/generate.lua")
recipe.run(cli.parse(arg, recipe, "spinlock generate"))
]]):format(H.here))
      fh:close()
      return H.run("SPINLOCK_PROGRESS=0 '" .. H.binary() .. "' run '" .. script .. "' " .. args)
    end

    it("generates, prints the summary, and refuses to overwrite", function()
      local out, code = cli_run("--config '" .. cfg_path .. "' --output '" .. dir .. "/cli.h5' --num-operators 4")
      assert.are.equal(0, code, out)
      assert.truthy(out:find("wrote " .. dir .. "/cli.h5: 4 operators, 0 diverged", 1, true), out)
      assert.truthy(out:find("time [%d.]+s: sampling [%d.]+s %(%d+%%%), ic"), out)
      assert.truthy(out:find("file size", 1, true), out)
      H.assert_same(H.snapshot(dir .. "/straight.h5", 1, 4), H.snapshot(dir .. "/cli.h5"),
                    { config = true, num_operators = true, total_operators = true, rows_done = true,
                      sampling_metrics = true, config_yaml = true, num_diverged = true })
      out, code = cli_run("--config '" .. cfg_path .. "' --output '" .. dir .. "/cli.h5'")
      assert.are.equal(1, code, out)
      assert.truthy(out:find("error: " .. dir .. "/cli.h5 already exists", 1, true), out)
      assert.falsy(out:find("traceback", 1, true), out)
      out, code = cli_run("--config '" .. cfg_path .. "' --resume --force")
      assert.are.equal(1, code, out)
      assert.truthy(out:find("--resume and --force contradict", 1, true), out)
    end)

    it("stores custom Lua feature formulas given with --features", function()
      local ff = dir .. "/my_features.lua"
      local fh = assert(io.open(ff, "w"))
      fh:write([[
local features = require "spinlock.features"
features.register{ name = "spec_last_abs_mean", family = "summary", formula = "mean |u| of the last frame",
  fn = function(traj) return traj:select(2, traj:size(2)):abs():mean() end }
]])
      fh:close()
      local out, code = cli_run("--config '" .. cfg_path .. "' --output '" .. dir .. "/custom.h5' --num-operators 2 --features '" .. ff .. "'")
      assert.are.equal(0, code, out)
      local f = h5.open(dir .. "/custom.h5")
      local names = f:attr("features/summary", "feature_names")
      assert.are.equal("spec_last_abs_mean", names[#names])
      local col = f:read("features/summary"):select(2, #names)
      local traj = f:read("outputs/trajectories")
      f:close()
      for i = 1, 2 do
        local expect = traj:select(1, i):select(2, traj:size(3)):abs():mean()
        assert.is_true(math.abs(col[i] - expect) <= 1e-5 * (1 + expect), ("row %d: %g vs %g"):format(i, col[i], expect))
      end
    end)

    it("checks the config without writing anything on --dry-run", function()
      local out, code = cli_run("--config '" .. cfg_path .. "' --output '" .. dir .. "/dry.h5' --dry-run --shard 2/3")
      assert.are.equal(0, code, out)
      assert.truthy(out:find("operators   2 (shard 2/3 of 6: indices 2..3)", 1, true), out)
      assert.truthy(out:find("configuration valid (dry run: nothing written)", 1, true), out)
      assert.truthy(out:find("output      " .. dir .. "/dry.shard-2-of-3.h5", 1, true), out)
      assert.is_nil(io.open(dir .. "/dry.h5"))
      assert.is_nil(io.open(dir .. "/dry.shard-2-of-3.h5"))
      -- options are checked too: a dry run fails where the run would
      for _, bad in ipairs({ "--threads -3", "--threads 0", "--output '" .. dir .. "/straight.h5'" }) do
        out, code = cli_run("--config '" .. cfg_path .. "' --dry-run " .. bad)
        assert.are.equal(1, code, bad .. ": " .. out)
        assert.falsy(out:find("configuration valid", 1, true), out)
      end
      out, code = cli_run("--config '" .. cfg_path .. "' --output '" .. dir .. "/nofile.h5' --dry-run --resume")
      assert.are.equal(0, code, out)
      assert.truthy(out:find("nofile.h5 does not exist yet: --resume starts a new dataset", 1, true), out)
    end)
  end)

  describe("helpers", function()
    it("splits index ranges into contiguous shards covering every operator once", function()
      local covered = {}
      for i = 1, 3 do
        local first, count = generate.shard_range(10, { i, 3 })
        for k = first, first + count - 1 do covered[#covered + 1] = k end
      end
      assert.are.same({ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, covered)
      assert.are.equal("d/x.shard-2-of-3.h5", generate.shard_output("d/x.h5", { 2, 3 }))
      assert.are.equal("d/x.shard-1-of-2.h5", generate.shard_output("d/x", { 1, 2 }))
    end)

    it("summarises a run with the time split, throughput and size", function()
      local lines = generate.summary_lines({ status = "complete", rows_done = 6, N = 6, output = "o.h5", diverged = 0,
        diverged_total = 0, started_at = 0, bytes = 2500000,
        timings = { sampling = 1, ic = 1, build = 0, rollout = 6, features = 1, io = 1, total = 10 } })
      local text = table.concat(lines, "\n")
      assert.truthy(text:find("wrote o.h5: 6 operators, 0 diverged", 1, true), text)
      assert.truthy(text:find("rollout 6.00s (60%)", 1, true), text)
      assert.truthy(text:find("throughput 0.6 operators/s", 1, true), text)
      assert.truthy(text:find("file size 2.5 MB", 1, true), text)
    end)
  end)
end)
