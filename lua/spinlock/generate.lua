-- spinlock.generate — the dataset generation pipeline (docs/generation.md):
--   Sobol points → parameter mapping → IC choice + generation → operator build → rollout →
--   inline features → one HDF5 row per operator (spinlock.dataset).
--
--   local generate = require "spinlock.generate"
--   local plan = generate.plan(cfg, { output = "x.h5", shard = {1, 4} })   -- checks, no work
--   local res  = generate.run(cfg, { output = "x.h5", resume = true, threads = 2 })
--
-- Determinism: everything about operator i (its parameters, IC, weights, noise) is keyed by
-- (seed, i) alone, and rows are written in operator-index order, so the same (config, seed)
-- gives the same rows whatever the thread count, batch size, shard split or resume point.
local sl = require "spinlock"
local config = require "spinlock.config"
local params = require "spinlock.params"
local dataset = require "spinlock.dataset"

local M = {}

local user_error = dataset.user_error

local function now() return sl.wall_time() end   -- monotonic wall clock (os.clock is CPU time)

-- Feature families in the order the guide lists them.
M.FAMILIES = { "initial", "architecture", "summary", "temporal" }

---------------------------------------------------------------------------------------------
-- planning (pure checks; no file is touched)

--- The grid size of a config: one value for the whole file.  Several grid sizes are refused
--- (rows would need padding or separate files; see docs/generation.md).
function M.grid_size(cfg)
  local p = config.parameter(cfg, "grid_size")
  if not p then return config.UNSAMPLED_DEFAULTS.grid_size end
  if p.type == "choice" then
    if #p.choices == 1 then return p.choices[1] end
    local list = {}
    for i, c in ipairs(p.choices) do list[i] = tostring(c) end
    user_error("parameter_space.%s.grid_size has %d choices (%s): a dataset file holds one grid size. " ..
               "Write one config (or one file) per grid size, e.g. grid_size: {type: choice, choices: [%s]}",
               p.category, #p.choices, table.concat(list, ", "), list[1])
  end
  user_error("parameter_space.%s.grid_size is a %s range: a dataset file holds one grid size; " ..
             "make it a single-value choice, e.g. grid_size: {type: choice, choices: [%d]}", p.category, p.type, p.lo or 64)
end

--- Parses "i/n" (1 <= i <= n) into {i, n}.
function M.parse_shard(s)
  if s == nil then return nil end
  if type(s) == "table" then return s end
  local i, n = tostring(s):match("^%s*(%d+)%s*/%s*(%d+)%s*$")
  i, n = tonumber(i), tonumber(n)
  if not i or n < 1 or i < 1 or i > n then
    user_error("--shard must be i/n with 1 <= i <= n (e.g. 2/4), got '%s'", tostring(s))
  end
  return { i, n }
end

--- Contiguous 0-based index range [first, first+count) of shard {i, n} of N operators.
function M.shard_range(N, shard)
  if not shard then return 0, N end
  local i, n = shard[1], shard[2]
  local first = math.floor((i - 1) * N / n)
  local last = math.floor(i * N / n)
  return first, last - first
end

--- The output file of shard {i, n}: "<base>.shard-<i>-of-<n>.h5" from the given (or config) path,
--- so the shards of one command line never write the same file.  A path that already carries a
--- shard suffix is kept when it names this shard and refused when it names another.
function M.shard_output(path, shard)
  if not shard then return path end
  local si, sn = path:match("%.shard%-(%d+)%-of%-(%d+)%.[hH]5$")
  if si then
    if tonumber(si) ~= shard[1] or tonumber(sn) ~= shard[2] then
      user_error("--output %s names shard %s/%s but --shard is %d/%d", path, si, sn, shard[1], shard[2])
    end
    return path
  end
  local base, ext = path:match("^(.*)(%.[hH]5)$")
  if not base then base, ext = path, ".h5" end
  return string.format("%s.shard-%d-of-%d%s", base, shard[1], shard[2], ext)
end

--- The device generation runs on: "cpu", and a note (string or nil) to show the user.
-- The operator has no CUDA path yet (docs/cuda.md, "Operator rollouts (plan)"), so rollouts run
-- on the CPU whatever the machine has: an explicit cuda request is an error rather than a run
-- that silently uses the CPU, and auto picks the CPU, with a note when a GPU is visible.
-- info: sl.backend_info() (a parameter so specs can pretend a GPU is there).
function M.resolve_device(want, info)
  want = want or "auto"
  if info == nil then info = sl.backend_info and sl.backend_info() or nil end
  local has_cuda = info and info.cuda_available
  if want == "cpu" then return "cpu" end
  if want == "auto" then
    if has_cuda then
      return "cpu", "note: a GPU is visible, but rollouts run on the CPU in this build " ..
                    "(the operator has no CUDA path yet; docs/cuda.md has the plan)"
    end
    return "cpu"
  end
  if want == "cuda" or want:match("^cuda:%d+$") then
    local why = has_cuda and "" or
      string.format("; besides, no CUDA device is available (%s)", tostring(info and info.reason or "this build has no CUDA backend"))
    user_error("device '%s' requested, but rollouts run on the CPU in this build (the operator has no CUDA " ..
               "path yet; docs/cuda.md has the plan)%s; use --device cpu or auto (generation never falls back silently)",
               want, why)
  end
  user_error("unknown device '%s' (expected auto, cpu, cuda or cuda:<n>)", tostring(want))
end

local function load_module(name, given)
  if given then return given end
  local ok, mod = pcall(require, name)
  if ok then return mod end
  if tostring(mod):find("module '" .. name .. "' not found", 1, true) then return nil end
  error(mod, 0)
end

-- Releases an operator's weights now when it has a free method (a stand-in may have none).
local function free_op(op)
  local has_free, free = pcall(function() return op.free end)
  if has_free and type(free) == "function" then free(op) end
end

local function check_count(v, what)
  if v ~= nil and (type(v) ~= "number" or v < 1 or v ~= math.floor(v)) then
    user_error("%s must be a whole number >= 1, got %s", what, tostring(v))
  end
end

--- Checks a config and options and describes the run.  opts: output, shard ("i/n" or {i,n}),
--- device, threads, batch_size, flush_every.
function M.plan(cfg, opts)
  opts = opts or {}
  check_count(opts.threads, "--threads")
  check_count(opts.batch_size, "batch_size")
  check_count(opts.flush_every, "flush_every")
  local p = {}
  p.N_total = cfg.sampling.total_samples
  p.shard = M.parse_shard(opts.shard)
  p.first, p.N = M.shard_range(p.N_total, p.shard)
  if p.N < 1 then user_error("shard %d/%d of %d operators is empty", p.shard[1], p.shard[2], p.N_total) end
  p.G = M.grid_size(cfg)
  p.M = cfg.simulation.num_realizations
  p.T = cfg.simulation.num_timesteps
  p.P = #cfg.parameters
  p.seed = cfg.sampling.sobol.seed
  p.output = M.shard_output(opts.output or cfg.dataset.output_path, p.shard)
  p.device, p.device_note = M.resolve_device(opts.device or cfg.simulation.device)
  p.batch_size = math.max(1, math.min(opts.batch_size or cfg.sampling.batch_size or 64, 64))
  p.flush_every = math.max(1, opts.flush_every or 8)
  p.flush_seconds = opts.flush_seconds or 60
  p.storage = cfg.dataset.storage
  p.families = {}
  for _, fam in ipairs(M.FAMILIES) do
    if cfg.features and cfg.features[fam] then p.families[#p.families + 1] = fam end
  end
  -- uncompressed size estimate of the big arrays
  local C, G = dataset.CHANNELS, p.G
  local bytes = p.N * C * G * G * 4
  if p.storage.store_trajectories then
    bytes = bytes + p.N * p.M * p.T * C * G * G * (p.storage.trajectory_dtype == "float16" and 2 or 4)
  end
  p.estimated_bytes = bytes
  return p
end

--- Human-readable byte count.
M.format_bytes = dataset.format_bytes

---------------------------------------------------------------------------------------------
-- running

local function json(v) return config._json_value(v) end

local file_size = dataset.file_size

-- Builds the layout handed to spinlock.dataset.
local function layout_of(cfg, p, schema, attrs)
  local fams = {}
  for fam, s in pairs(schema) do fams[fam] = { shape = s.shape, names = s.names } end
  return { N = p.N, first = p.first, total = p.N_total, M = p.M, T = p.T, G = p.G,
           parameters = cfg.parameters, families = fams, storage = p.storage, attrs = attrs }
end

-- Diverged-step list from a rollout status: one number per realization, -1 = did not diverge.
local function diverged_steps(status, Mr)
  local steps, any = {}, false
  local dv = status and status.diverged or {}
  local ds = status and status.diverged_step or {}
  for m = 1, Mr do
    local d = dv[m]
    if d and d ~= 0 then
      any = true
      local s = ds[m]
      steps[m] = (type(s) == "number" and s >= 0) and s or 0
    else
      steps[m] = -1
    end
  end
  return steps, any
end

local function null_bar()
  return { update = function() end, finish = function() end, set = function() end }
end

local function make_bar(p, initial, opts)
  if opts.progress == false then return null_bar() end
  return require("spinlock.progress").new { total = p.N, initial = initial, label = "generate", unit = "op" }
end

--- Everything a run checks before it touches the output file: the plan and options, the
--- operator and feature modules, the feature schema (custom formulas loaded), the IC plan, and a
--- trial build of the shard's first operator.  `spinlock generate --dry-run` runs exactly this, so
--- a config it calls valid does not fail at the start of the real run.  Returns
--- { plan, operator, features, fx, schema, ic_plan }.
function M.prepare(cfg, opts)
  opts = opts or {}
  local p = M.plan(cfg, opts)
  local operator = load_module("spinlock.operator", opts.operator)
  local features = load_module("spinlock.features", opts.features)
  if not operator then
    user_error("this build has no operator module (spinlock.operator): generation cannot run yet")
  end
  if #p.families > 0 and not features then
    user_error("this build has no feature module (spinlock.features); disable the families in the " ..
               "config's features section (initial/architecture/summary/temporal: false) to generate without features")
  end

  -- feature extractor and its schema (enabled families only)
  local fx, schema = nil, {}
  if #p.families > 0 then
    fx = features.new(cfg, { M = p.M, T = p.T, C = dataset.CHANNELS, G = p.G, parameters = cfg.parameters,
                             custom = opts.custom_features })
    local s = fx:schema()
    for _, fam in ipairs(p.families) do
      if s[fam] then schema[fam] = s[fam] end
    end
  end

  local ic = require "spinlock.ic"
  local ok_plan, ic_plan = pcall(ic.resolve, config.ic_section(cfg.simulation.input_generation))
  if not ok_plan then user_error("%s", tostring(ic_plan)) end

  -- the operator settings: build (not run) the first operator of this shard
  local smp = params.sample(cfg, p.first, 1)
  local ok_op, op = pcall(operator.build, smp.rows[1], { seed = p.seed, op_index = p.first, device = p.device, ignore_unknown = true })
  if not ok_op then user_error("operator %d cannot be built: %s", p.first, tostring(op)) end
  if not opts.force and not opts.resume then dataset.refuse_existing(p.output) end
  free_op(op)

  return { plan = p, operator = operator, features = features, fx = fx, schema = schema, ic_plan = ic_plan }
end

--- Generates (or resumes) the dataset.  opts:
---   output, force, resume, shard, device, threads, batch_size, flush_every, flush_seconds,
---   progress (false: no bar), log (function(line); default prints to stdout),
---   on_operator (function(rows_done, row_info) called after each row is written),
---   operator, features (module tables replacing require "spinlock.operator" / "spinlock.features"),
---   custom_features (list of Lua files of custom formulas, passed to features.new as `custom`).
--- Returns { status = "complete" | "interrupted" | "already_complete", rows_done, N, output,
---           diverged, timings = {sampling, ic, build, rollout, features, io, total}, bytes, signal }.
function M.run(cfg, opts)
  opts = opts or {}
  local log = opts.log or function(s) io.stdout:write(s, "\n"); io.stdout:flush() end
  local pre = M.prepare(cfg, opts)
  local p, operator, features, fx, schema, ic_plan = pre.plan, pre.operator, pre.features, pre.fx, pre.schema, pre.ic_plan
  local ic = require "spinlock.ic"
  if opts.threads then sl.set_num_threads(opts.threads) end
  if p.device_note and not opts.quiet then io.stderr:write(p.device_note, "\n") end

  local t_start = now()
  local timings = { sampling = 0, ic = 0, build = 0, rollout = 0, features = 0, io = 0 }

  local attrs = {
    custom_feature_files = {}, custom_feature_hashes = {},
    config = config.to_json(cfg),
    config_yaml = (cfg.source and cfg.source.text) or "",
    config_source = (cfg.source and cfg.source.path) or "",
    seed = p.seed,
    spinlock_version = sl.version or "unknown",
    shard = p.shard and (p.shard[1] .. "/" .. p.shard[2]) or "",
  }

  -- the custom formula files this run uses, with a hash of their text (extract-features and
  -- --resume name them when their columns would be lost)
  if fx and fx.custom_files and features.custom then
    local rec = features.custom.records(fx.custom_files)
    attrs.custom_feature_files, attrs.custom_feature_hashes = rec.files, rec.hashes
  end

  -- open the output: create, resume, or refuse
  local w, created
  local exists = io.open(p.output, "rb")
  if exists then exists:close() end
  local t0 = now()
  if opts.resume and exists and not opts.force then
    w = dataset.resume(p.output, layout_of(cfg, p, schema, attrs))
    if w.complete then
      w:close()
      log(("%s is already complete (%d operators); nothing to do"):format(p.output, p.N))
      return { status = "already_complete", rows_done = p.N, N = p.N, output = p.output, diverged = 0,
               timings = timings, bytes = file_size(p.output) }
    end
    log(("resuming %s at operator %d/%d"):format(p.output, w.rows_done, p.N))
  else
    if opts.resume and not exists then log(("%s does not exist yet: starting a new dataset"):format(p.output)) end
    local t_s = now()
    local all = params.sample(cfg, 0, p.N_total)
    local metrics = require("spinlock.sampling_metrics").compute(all.unit, p.N_total, p.P,
      cfg.sampling.validation, { scramble = cfg.sampling.sobol.scramble, seed = p.seed })
    timings.sampling = timings.sampling + (now() - t_s)
    attrs.sampling_metrics = json(metrics)
    attrs.creation_date = os.date("!%Y-%m-%dT%H:%M:%SZ")
    w = dataset.create(p.output, layout_of(cfg, p, schema, attrs), { force = opts.force })
    created = true
    if opts.verbose then
      log(("sampling: %d points x %d dims, discrepancy %.3g (%s), max |corr| %.3g (%s)"):format(
        p.N_total, p.P, metrics.discrepancy, metrics.discrepancy_pass and "pass" or "FAIL",
        metrics.max_correlation, metrics.correlation_pass and "pass" or "FAIL"))
    end
  end
  timings.io = timings.io + (now() - t0)

  local default_policy = config.UNSAMPLED_DEFAULTS.update_policy
  local start = w.rows_done
  local done = start
  local diverged = 0
  local last_flush, last_flush_t = done, now()
  local bar = make_bar(p, start, opts)
  local signal
  sl.signals_install()
  sl.clear_interrupt()

  local ok, err = pcall(function()
    local r = start
    while r < p.N and not signal do
      local nb = math.min(p.batch_size, p.N - r)
      local first_index = p.first + r
      local t_s = now()
      local smp = params.sample(cfg, first_index, nb)
      timings.sampling = timings.sampling + (now() - t_s)
      local indices = {}
      for k = 1, nb do indices[k] = first_index + k - 1 end
      local t_i = now()
      local ics, ic_names = ic.sample_batch(ic_plan, p.seed, indices, p.G)
      timings.ic = timings.ic + (now() - t_i)
      for k = 1, nb do
        signal = sl.interrupted()
        if signal then break end
        local op_index = indices[k]
        local mapped = smp.rows[k]
        local unit, values = {}, {}
        for j = 1, p.P do
          unit[j] = smp.unit[(k - 1) * p.P + j - 1]
          values[j] = smp.values[(k - 1) * p.P + j - 1]
        end
        local ic_k = ics:select(1, k)
        local t_b = now()
        local op = operator.build(mapped, { seed = p.seed, op_index = op_index, device = p.device, ignore_unknown = true })
        local t_r = now()
        timings.build = timings.build + (t_r - t_b)
        local traj, status = op:rollout(ic_k, p.M, p.T, { seed = p.seed, op_index = op_index, device = p.device })
        local t_f = now()
        timings.rollout = timings.rollout + (t_f - t_r)
        local feats
        if fx then
          local unit_t, values_t = sl.tensor(unit, "float64"), sl.tensor(values, "float64")
          if p.P == 0 then unit_t, values_t = sl.zeros({ 0 }, "float64"), sl.zeros({ 0 }, "float64") end
          feats = fx:extract { traj = traj, ic = ic_k, unit = unit_t, mapped = values_t, mapped_row = mapped,
                               operator = op, op_index = op_index, seed = p.seed }
        end
        local t_w = now()
        timings.features = timings.features + (t_w - t_f)
        local steps, any = diverged_steps(status, p.M)
        if any then diverged = diverged + 1 end
        w:write_row(r + k, {
          unit = unit, mapped = values, op_index = op_index, ic = ic_k, traj = traj,
          features = feats, quality = feats and feats.quality,
          ic_type = ic_names[k], policy = mapped.update_policy or default_policy,
          noise_regime = dataset.noise_regime(mapped.noise_scale), grid_size = p.G,
          status = any and dataset.STATUS.diverged or dataset.STATUS.ok, diverged_step = steps,
        })
        done = r + k
        -- Tensor memory lives outside the Lua heap, so the GC would let rollouts pile up:
        -- release the big ones now (nothing keeps a reference past the write).
        traj:free()
        free_op(op)
        if done - last_flush >= p.flush_every or now() - last_flush_t >= p.flush_seconds then
          w:flush(done)
          last_flush, last_flush_t = done, now()
          collectgarbage()
        end
        timings.io = timings.io + (now() - t_w)
        if opts.verbose and any then
          log(("operator %d diverged (realization steps: %s)"):format(op_index, table.concat(steps, ",")))
        end
        bar:update()
        if opts.on_operator then opts.on_operator(done, { op_index = op_index, diverged = any }) end
      end
      r = r + nb
      if not signal then signal = sl.interrupted() end
    end
  end)
  sl.signals_uninstall()
  sl.clear_interrupt()

  local t_w = now()
  if not ok then
    -- keep what was flushed; the error itself is reported by the caller.  A file this run
    -- created and never wrote a row to is removed, so the corrected rerun needs no --force.
    if created and done == 0 then
      pcall(function() w:close() end)
      os.remove(p.output)
    else
      pcall(function() w:flush(done) end)
      pcall(function() w:close() end)
    end
    error(err, 0)
  end
  local result = { started_at = start, rows_done = done, N = p.N, output = p.output, diverged = diverged, timings = timings,
                   first = p.first, shard = p.shard }
  if signal then
    w:flush(done)
    w:close()
    bar:finish()
    result.status, result.signal = "interrupted", signal
  else
    -- diverged count over the whole file (a resumed run only saw its own part)
    local st = w.f:read("metadata/status")
    local nd = 0
    for i = 1, p.N do if st[i] == dataset.STATUS.diverged then nd = nd + 1 end end
    result.diverged_total = nd
    timings.total = now() - t_start
    w:finish({ num_diverged = nd, generation_seconds = timings.total })
    w:close()
    bar:finish()
    result.status = "complete"
  end
  timings.io = timings.io + (now() - t_w)
  timings.total = now() - t_start
  result.bytes = file_size(p.output)
  return result
end

--- Re-runs operator row `row` (1-based) of an open dataset file from the file's own config and
--- seed: returns its trajectory [R,T,C,G,G] for realizations 1..R (the same numbers generation
--- produced: realization m's noise depends only on (seed, operator index, m, step)).
--- opts.operator replaces require "spinlock.operator".
function M.resimulate(f, attrs, row, R, opts)
  opts = opts or {}
  local operator = load_module("spinlock.operator", opts.operator)
  if not operator then
    user_error("the file stores no trajectories and this build has no operator module to re-simulate them")
  end
  local cfg = dataset.stored_config(attrs)
  local op_index = f:read("metadata/operator_index", row, 1)[1]
  local smp = params.sample(cfg, op_index, 1)
  local ic = f:read("inputs/fields", row, 1):select(1, 1)
  local op = operator.build(smp.rows[1], { seed = attrs.seed, op_index = op_index, device = "cpu", ignore_unknown = true })
  local Mr = math.min(R, attrs.num_realizations)
  return (op:rollout(ic, Mr, attrs.num_timesteps, { seed = attrs.seed, op_index = op_index, device = "cpu" }))
end

--- Rebuilds the operator of row `row` (1-based) of an open dataset file from the file's stored
--- config, seed and operator index (the Sobol point of that index, mapped as generation did):
--- returns op, op_index (metadata/operator_index, the global 0-based index), cfg.  Its horizon is
--- the rollout's step count, as after generation's rollout.  opts.operator replaces require
--- "spinlock.operator"; opts.cfg a config already decoded from attrs.
function M.rebuild_operator(f, attrs, row, opts)
  opts = opts or {}
  local operator = load_module("spinlock.operator", opts.operator)
  if not operator then user_error("this build has no operator module (spinlock.operator) to rebuild the operators") end
  local cfg = opts.cfg or dataset.stored_config(attrs)
  local op_index = f:read("metadata/operator_index", row, 1)[1]
  local smp = params.sample(cfg, op_index, 1)
  local T = attrs.num_timesteps or cfg.simulation.num_timesteps
  local op = operator.build(smp.rows[1], { seed = attrs.seed, op_index = op_index, device = "cpu", ignore_unknown = true,
                                           horizon = math.max(T - 1, 1) })
  return op, op_index, cfg
end

--- The closing summary lines of a run (what `spinlock generate` prints).
--- resume_cmd: the command line that continues an interrupted run (shown when interrupted).
function M.summary_lines(res, resume_cmd)
  local t = res.timings
  local lines = {}
  local new = res.rows_done - (res.started_at or 0)
  if res.status == "interrupted" then
    lines[#lines + 1] = ("interrupted (%s) after %d/%d operators; %s is incomplete and can be continued:"):format(
      tostring(res.signal), res.rows_done, res.N, res.output)
    lines[#lines + 1] = "  " .. (resume_cmd or ("spinlock generate --config <config> --output " .. res.output .. " --resume"))
  else
    lines[#lines + 1] = ("wrote %s: %d operators, %d diverged"):format(res.output, res.N, res.diverged_total or res.diverged)
  end
  local total = t.total or 0
  local parts = {}
  for _, k in ipairs({ "sampling", "ic", "build", "rollout", "features", "io" }) do
    local v = t[k] or 0
    parts[#parts + 1] = ("%s %.2fs (%d%%)"):format(k, v, total > 0 and math.floor(100 * v / total + 0.5) or 0)
  end
  lines[#lines + 1] = ("time %.2fs: %s"):format(total, table.concat(parts, ", "))
  if new > 0 and total > 0 then
    lines[#lines + 1] = ("throughput %.3g operators/s"):format(new / total)
  end
  lines[#lines + 1] = ("file size %s"):format(M.format_bytes(res.bytes or 0))
  return lines
end

return M
