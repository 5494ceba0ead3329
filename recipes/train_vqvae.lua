-- summary: Train the behavioural tokenizer (categorical hierarchical VQ-VAE) on dataset features
--
-- The recipe behind `spinlock train-vqvae` (recipes/train-vqvae.lua loads this file); the loop
-- itself is spinlock.vqvae.train (lua/spinlock/vqvae/train.lua), documented in docs/vqvae.md.
local cli = require "spinlock.cli"

return {
  description = "Loads and assembles the feature families of one or more datasets, cleans them,\n" ..
                "discovers feature categories, and trains the tokenizer. Writes best_model.*,\n" ..
                "final_model.*, last.* (for --resume), history.jsonl, categories.json (the\n" ..
                "feature→category map) and training_curves.png into --output. Ctrl-C stops;\n" ..
                "last.* holds the last completed epoch. --resume DIR/last continues with the\n" ..
                "recorded datasets, into DIR.",
  options = {
    { "dataset", type = "path", must_exist = true, help = "dataset file (HDF5) written by spinlock generate" },
    { "datasets", type = "path", multi = true, help = "several dataset files, trained on together" },
    { "config", type = "path", default = "configs/vqvae/production.yaml", help = "tokenizer config (YAML)" },
    { "output", type = "path", help = "folder for checkpoints and history (default: checkpoints/vqvae, or the --resume checkpoint's folder)" },
    { "epochs", type = "int", help = "override the config's epochs" },
    { "batch-size", type = "int", help = "override the config's batch_size" },
    { "learning-rate", type = "number", help = "override the config's learning_rate" },
    { "seed", type = "int", help = "override the config's random_seed" },
    { "resume", type = "path", help = "continue from a checkpoint written by an earlier run (its last.*); its datasets and folder are the defaults" },
    { "force", type = "flag", help = "with --resume: allow --output to name another folder that already holds checkpoints" },
    { "verbose", type = "flag", short = "v", help = "list every feature of every category" },
    { "quiet", type = "flag", short = "q", help = "print nothing but errors" },
  },
  run = function(opts)
    local function exists(p) return cli.path_kind(p) ~= nil end
    local paths = {}
    if opts.dataset then paths[#paths + 1] = opts.dataset end
    for _, p in ipairs(opts.datasets or {}) do
      if not exists(p) then cli.user_error("--datasets: %s does not exist", p) end
      paths[#paths + 1] = p
    end
    if #paths == 0 and not opts.resume then
      cli.user_error("give the features to train on: --dataset FILE or --datasets A.h5 B.h5 ...")
    end
    local output = opts.output and opts.output:gsub("(.)/+$", "%1") or nil
    if opts.resume then
      -- The resumed run's own folder is the default; another folder that already holds
      -- checkpoints would be overwritten, so that needs --force.
      local base = require("spinlock.vqvae").resolve(opts.resume)
      local dir = base:match("^(.*)/[^/]*$") or "."
      if not output then
        output = dir
      else
        local function real(p)
          local h = io.popen("cd '" .. p:gsub("'", "'\\''") .. "' 2>/dev/null && pwd -P")
          local r = h and h:read("*l")
          if h then h:close() end
          return r or p
        end
        if real(output) ~= real(dir) and not opts.force then
          for _, n in ipairs { "last.json", "best_model.json", "final_model.json" } do
            if exists(output .. "/" .. n) then
              cli.user_error("--output %s already holds checkpoints (%s) of another run than %s; "
                .. "resume into %s (leave out --output) or add --force to overwrite", output, n, opts.resume, dir)
            end
          end
        end
      end
    end
    output = output or "checkpoints/vqvae"
    local config = opts.config
    local home = require("spinlock.paths").home
    if not exists(config) and home and exists(home .. "/" .. config) then
      config = home .. "/" .. config                    -- the default config, from SPINLOCK_HOME
    end
    if not exists(config) then cli.user_error("--config: %s does not exist", config) end
    local overrides = {}
    if opts.epochs then overrides.epochs = opts.epochs end
    if opts.batch_size then overrides.batch_size = opts.batch_size end
    if opts.learning_rate then overrides.learning_rate = opts.learning_rate end
    if opts.seed then overrides.random_seed = opts.seed end
    local train = require "spinlock.vqvae.train"
    local res = train.run { datasets = #paths > 0 and paths or nil, config = config, overrides = overrides,
                            output = output, resume = opts.resume, quiet = opts.quiet, verbose = opts.verbose }
    if res.interrupted or opts.quiet then return end            -- the binary reports 130 after Ctrl-C
    local last = res.history[#res.history] or {}
    local function lv(t)
      if not t then return "-" end
      local s = {}
      for i, v in ipairs(t) do s[i] = string.format("%.3f", v) end
      return table.concat(s, " / ")
    end
    local why = { finished = "all epochs", max_epochs = "max_epochs reached",
                  early_stop = string.format("early stop: no val_rec improvement for %d epochs",
                                             res.config.early_stopping_patience) }
    print(string.format("trained %d of %d epochs in %.1f s (%s)", res.epochs_run, res.config.epochs, res.seconds,
      why[res.stop_reason] or res.stop_reason))
    print(string.format("best validation reconstruction MSE %.5g at epoch %d", res.best, res.best_epoch))
    print("validation R² by level (tokens):          " .. lv(last.val_r2_tok))
    print("validation R² by level (category codes):  " .. lv(last.val_r2_cat))
    print("token utilisation by level (last epoch):  " .. lv(last.utilisation))
    print("checkpoints: " .. output .. "/best_model.{safetensors,json}, final_model.*, last.*; category map: "
      .. output .. "/categories.json")
  end,
}
