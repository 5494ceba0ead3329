-- summary: Generate an operator dataset (sample, roll out, extract features, write HDF5)
--
-- docs/generation.md describes the pipeline, docs/dataset-format.md the file it writes.
local cli = require "spinlock.cli"

-- Config overrides that change the dataset's content (stored in its config); --output, --device
-- and --threads only say where and how to compute it.
local function overrides_of(opts)
  local o = {}
  if opts.num_operators then o.num_operators = opts.num_operators end
  if opts.seed then o.seed = opts.seed end
  return o
end

return {
  description =
    "Samples operator parameters (scrambled Sobol), builds each operator, rolls it out from its\n" ..
    "initial condition, extracts the enabled feature families inline and writes one row per\n" ..
    "operator to an HDF5 file (flushed every few operators).  Ctrl-C stops at a safe point;\n" ..
    "--resume continues an incomplete file.  Same config and seed give the same file whatever\n" ..
    "--threads, shard split or resume point.",
  options = {
    { "config", type = "path", required = true, must_exist = true, help = "experiment config (YAML or Lua)" },
    { "output", type = "path", help = "HDF5 file to write (default: dataset.output_path of the config); with --shard i/n, always <output>.shard-i-of-n.h5" },
    { "num-operators", type = "int", help = "number of operators (overrides sampling.total_samples)" },
    { "total-samples", type = "int", help = "same as --num-operators (the reference's name)" },
    { "seed", type = "int", help = "dataset seed (overrides sampling.sobol.seed)" },
    { "device", type = "string", help = "cpu or auto (default: simulation.device); rollouts run on the CPU in this build, so cuda/cuda:<n> is an error and auto means cpu" },
    { "threads", type = "int", help = "CPU threads (default: all cores); results do not depend on it" },
    { "resume", type = "flag", help = "continue an incomplete output file (config and seed must match)" },
    { "force", type = "flag", help = "overwrite an existing output file" },
    { "shard", type = "string", metavar = "i/n", help = "generate only the i-th of n contiguous index ranges (1 <= i <= n)" },
    { "features", type = "path", multi = true, must_exist = true, metavar = "FILE.lua",
      help = "Lua file of custom feature formulas (features.register{...}); repeatable; give it again with --resume" },
    { "dry-run", type = "flag", help = "check the config and print the plan; write nothing" },
    { "verbose", type = "flag", short = "v", help = "print the config summary, sampling metrics and diverging operators" },
  },
  run = function(opts)
    local config = require "spinlock.config"
    local generate = require "spinlock.generate"
    if opts.num_operators and opts.total_samples and opts.num_operators ~= opts.total_samples then
      cli.user_error("--num-operators %d and --total-samples %d disagree (they are the same option)",
                     opts.num_operators, opts.total_samples)
    end
    opts.num_operators = opts.num_operators or opts.total_samples
    if opts.resume and opts.force then
      cli.user_error("--resume and --force contradict each other (continue the file, or overwrite it?)")
    end
    local cfg, err = config.try_load(opts.config, overrides_of(opts))
    if not cfg then cli.user_error("%s", err) end
    local gopts = { output = opts.output, shard = opts.shard, device = opts.device, threads = opts.threads,
                    resume = opts.resume, force = opts.force, verbose = opts.verbose,
                    custom_features = opts.features }
    if opts.verbose or opts.dry_run then
      -- every check the run makes before it creates the file (options, output, features, ICs,
      -- operator build), so "configuration valid" means the run will start
      local plan = generate.prepare(cfg, gopts).plan
      print(("config      %s (%s)"):format(opts.config, cfg.metadata.name))
      for k, v in pairs(overrides_of(opts)) do print(("override    %s = %s"):format(k, tostring(v))) end
      print(("operators   %d%s"):format(plan.N, plan.shard and
        (" (shard %d/%d of %d: indices %d..%d)"):format(plan.shard[1], plan.shard[2], plan.N_total,
                                                      plan.first, plan.first + plan.N - 1) or ""))
      print(("parameters  %d dims: %s"):format(plan.P, (function()
        local n = {}
        for i, p in ipairs(cfg.parameters) do n[i] = p.name end
        return table.concat(n, ", ")
      end)()))
      print(("rollouts    M=%d realizations x T=%d frames on %dx%d, %d channels"):format(plan.M, plan.T, plan.G, plan.G, 3))
      print(("ICs         %s"):format(cfg.simulation.input_generation.method))
      print(("features    %s"):format(#plan.families > 0 and table.concat(plan.families, ", ") or "none"))
      print(("seed        %d"):format(plan.seed))
      print(("device      %s"):format(plan.device))
      if plan.device_note then print(("note        %s"):format(plan.device_note:gsub("^note: ", ""))) end
      print(("output      %s%s"):format(plan.output, cfg.dataset.storage.store_trajectories and
        (" (trajectories stored as %s)"):format(cfg.dataset.storage.trajectory_dtype) or ""))
      print(("size        about %s before compression (ICs%s)"):format(generate.format_bytes(plan.estimated_bytes),
        cfg.dataset.storage.store_trajectories and " + trajectories" or ""))
      if opts.resume and not io.open(plan.output, "rb") then
        print(("note        %s does not exist yet: --resume starts a new dataset"):format(plan.output))
      end
    end
    if opts.dry_run then
      print("configuration valid (dry run: nothing written)")
      return
    end

    local res = generate.run(cfg, gopts)
    if res.status == "already_complete" then return end
    local cmd = { "spinlock generate --config", opts.config, "--output", res.output, "--resume" }
    if opts.num_operators then cmd[#cmd + 1] = "--num-operators " .. opts.num_operators end
    if opts.seed then cmd[#cmd + 1] = "--seed " .. opts.seed end
    if opts.shard then cmd[#cmd + 1] = "--shard " .. opts.shard end
    for _, line in ipairs(generate.summary_lines(res, table.concat(cmd, " "))) do print(line) end
    if res.status == "interrupted" then cli.exit(res.signal == "SIGTERM" and 143 or 130) end
  end,
}
