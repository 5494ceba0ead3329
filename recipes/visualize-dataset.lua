-- summary: Render PNG grids of operator rollouts from a dataset (re-simulating if needed)
return {
  description =
    "Writes one PNG per operator (rows = realizations, columns = frames spread over the rollout)\n" ..
    "and overview.png (one row per operator) for the first --num-ops finished operators.  Colours\n" ..
    "use one range per operator (viridis; --colormap coolwarm for a symmetric diverging scale);\n" ..
    "NaN (diverged) pixels are magenta.  A file without stored trajectories is re-simulated\n" ..
    "deterministically from its own config and seed.",
  options = {
    { "dataset", type = "path", required = true, must_exist = true, help = "dataset file (HDF5)" },
    { "output", type = "path", default = "visualizations", help = "folder for the PNG files" },
    { "num-ops", type = "int", default = 16, help = "how many operators (the first finished ones)" },
    { "n-operators", type = "int", help = "same as --num-ops (the reference's name)" },
    { "realizations", type = "int", default = 2, help = "realizations per operator image (rows)" },
    { "frames", type = "int", default = 8, help = "frames per realization (columns), evenly spaced" },
    { "channel", type = "int", default = 1, help = "field channel to show (1..3)" },
    { "colormap", type = "choice", choices = { "viridis", "coolwarm", "diverging", "gray" }, default = "viridis",
      help = "colour map" },
  },
  run = function(opts)
    local viz = require "spinlock.dataset_visualize"
    local res = viz.run {
      dataset = opts.dataset, output = opts.output, num_ops = opts.n_operators or opts.num_ops,
      realizations = opts.realizations, frames = opts.frames, channel = opts.channel, colormap = opts.colormap,
    }
    for _, p in ipairs(res.files) do print(p) end
  end,
}
