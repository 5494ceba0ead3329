-- summary: Tokenize the operators of a dataset with a trained VQ-VAE checkpoint
--
-- Writes one token per operator per level (coarse, medium, fine) and the per-category codes.
local sl = require "spinlock"

return {
  description = "Applies the checkpoint's cleaning, normalisation and category map to the dataset's\n" ..
                "features and writes tokens/coarse, tokens/medium, tokens/fine (int64 [N], ids from 0)\n" ..
                "and tokens/category_codes (int64 [N, C, L]) to --output, or into the dataset itself\n" ..
                "under tokens/ when --output is not given.",
  options = {
    { "checkpoint", type = "path", required = true, help = "checkpoint (base path, .safetensors, .json or folder)" },
    { "dataset", type = "path", required = true, must_exist = true, help = "dataset file (HDF5)" },
    { "output", type = "path", help = "HDF5 file for the tokens (default: write into --dataset under tokens/)" },
    { "force", type = "flag", help = "replace existing tokens" },
  },
  run = function(opts)
    local vqvae = require "spinlock.vqvae"
    local tokenize = require "spinlock.vqvae.tokenize"
    local model = vqvae.load(opts.checkpoint)
    local t0 = sl.wall_time()
    local info = tokenize.run(model, opts.dataset, opts.output, { force = opts.force })
    print(string.format("tokenized %d operators in %.2f s → %s:/tokens (levels %s; %d categories)",
      info.n, sl.wall_time() - t0, info.path, table.concat(info.level_names, ", "), info.categories))
  end,
}
