-- summary: The main job on a small embedded default: generate → features → train the tokenizer → tokens
--
-- `make demo` runs this.  It strings the user's-guide workflow together on configs/tiny.yaml:
-- generate a dataset with all four feature families inline, train the categorical hierarchical
-- VQ-VAE on it (configs/vqvae/fast_training.yaml), then tokenize every operator and print its
-- coarse / medium / fine tokens next to what it is (IC type, update policy).
local sl = require "spinlock"
local cli = require "spinlock.cli"
local paths = require "spinlock.paths"

local function banner(s) print(("\n== %s"):format(s)); io.stdout:flush() end

return {
  description =
    "Runs the whole pipeline on a small embedded default and prints each operator's tokens:\n" ..
    "  1. spinlock generate    (configs/tiny.yaml; features computed inline)\n" ..
    "  2. spinlock train-vqvae (configs/vqvae/fast_training.yaml)\n" ..
    "  3. model:get_tokens     (coarse, medium, fine per operator)\n" ..
    "Outputs go to --output (a dataset file and a checkpoint folder); rerunning overwrites them.",
  options = {
    { "config", type = "path", help = "experiment config (default: configs/tiny.yaml)" },
    { "vqvae-config", type = "path", help = "tokenizer config (default: configs/vqvae/fast_training.yaml)" },
    { "num-operators", type = "int", default = 64, help = "operators to generate" },
    { "output", type = "path", default = "demo-output", help = "folder for the dataset and the checkpoint" },
    { "seed", type = "int", help = "dataset seed (default: the config's)" },
  },
  run = function(opts)
    if opts.num_operators < 8 then cli.user_error("--num-operators must be at least 8, got %d", opts.num_operators) end
    local config = require "spinlock.config"
    local generate = require "spinlock.generate"
    local train = require "spinlock.vqvae.train"
    local vqvae_config = opts.vqvae_config or (paths.configs .. "/vqvae/fast_training.yaml")
    -- both configs are checked before any work, so a bad --vqvae-config costs no generation
    if opts.vqvae_config and cli.path_kind(opts.vqvae_config) ~= "file" then
      cli.user_error("--vqvae-config: %s %s", opts.vqvae_config,
        cli.path_kind(opts.vqvae_config) == "dir" and "is a folder, expected a file" or "not found")
    end
    train.resolve_config(vqvae_config)
    local dir = opts.output:gsub("/+$", "")
    cli.ensure_dir(dir, "--output")
    local data = dir .. "/dataset.h5"
    local ckpt = dir .. "/tokenizer"
    local t0 = sl.wall_time()

    banner("1/3 generate: operators, rollouts and features")
    local overrides = { num_operators = opts.num_operators, seed = opts.seed }
    local cfg, err = config.try_load(opts.config or (paths.configs .. "/tiny.yaml"), overrides)
    if not cfg then cli.user_error("%s", err) end
    local res = generate.run(cfg, { output = data, force = true })
    for _, line in ipairs(generate.summary_lines(res, "spinlock demo")) do print(line) end
    if res.status ~= "complete" then return end          -- interrupted: the binary reports it

    banner("2/3 train-vqvae: cleaning, categories, 3-level tokenizer")
    local tr = train.run { datasets = { data }, output = ckpt, config = vqvae_config }
    if tr.interrupted then return end

    banner("3/3 tokens: model:get_tokens(features)")
    local vqvae = require "spinlock.vqvae"
    local model = vqvae.load(ckpt .. "/best_model")
    local coarse, medium, fine = model:get_tokens(data)
    local h5 = require "spinlock.h5"
    local f = h5.open(data)
    local ic_types = f:read_strings("metadata/ic_types")
    local policies = f:read_strings("metadata/evolution_policies")
    local index = f:read("metadata/operator_index")
    f:close()
    print(("%-9s %-24s %-10s %6s %6s %6s"):format("operator", "initial condition", "policy", "coarse", "medium", "fine"))
    local distinct = { {}, {}, {} }
    local N = coarse:size(1)
    for i = 1, N do
      local c, m, fi = coarse[i], medium[i], fine[i]
      distinct[1][c], distinct[2][m], distinct[3][fi] = true, true, true
      if i <= 16 or i > N - 4 then
        print(("%-9d %-24s %-10s %6d %6d %6d"):format(index[i], ic_types[i], policies[i], c, m, fi))
      elseif i == 17 then
        print(("%-9s (%d more)"):format("...", N - 20))
      end
    end
    local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
    print(("\n%d operators → %d coarse, %d medium, %d fine tokens in use; done in %.1f s"):format(
      N, count(distinct[1]), count(distinct[2]), count(distinct[3]), sl.wall_time() - t0))
    print(("dataset %s · checkpoint %s/best_model.{safetensors,json}"):format(data, ckpt))
    print("next: spinlock inspect " .. data .. " · spinlock evaluate-vqvae --checkpoint " .. ckpt ..
          "/best_model --dataset " .. data)
  end,
}
