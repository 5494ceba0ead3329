-- summary: Describe a dataset file: progress, feature shapes and names, IC/policy histograms
local cli = require "spinlock.cli"

return {
  description =
    "Prints what an operator dataset holds: operators done (and whether the file is complete),\n" ..
    "each feature family's shape with its first and last names (all names with --verbose),\n" ..
    "histograms of IC types, evolution policies and noise regimes, the status counts\n" ..
    "(ok / diverged / pending), the sampling metrics, a config summary and the file size.",
  options = {
    { "dataset", type = "path", help = "the dataset file (same as the positional FILE)" },
    { "verbose", type = "flag", short = "v", help = "list every feature name and print the stored config" },
  },
  args = { { "file", help = "the dataset file (HDF5)" } },
  run = function(opts)
    local path = opts.file or opts.dataset
    if not path then cli.user_error("which file? usage: spinlock inspect FILE") end
    if opts.file and opts.dataset and opts.file ~= opts.dataset then
      cli.user_error("two files given (%s and --dataset %s): inspect one at a time", opts.file, opts.dataset)
    end
    local dataset = require "spinlock.dataset"
    for _, line in ipairs(dataset.describe(path, { verbose = opts.verbose })) do print(line) end
  end,
}
