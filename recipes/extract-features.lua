-- summary: Recompute feature families of a dataset from its stored trajectories
--
-- Thin recipe over spinlock.features.dataset.extract_file (the logic and its specs live there).

return {
  description = "Reads outputs/trajectories [N,M,T,C,G,G] of a dataset written with\n" ..
                "dataset.storage.store_trajectories: true, computes the requested feature families\n" ..
                "with the file's own configuration (plus custom Lua formulas from --features), and\n" ..
                "replaces features/<family>, its feature_names and features/<family>_quality once every\n" ..
                "row succeeded (a failing formula leaves the file unchanged). Operator sensitivity is\n" ..
                "recomputed from operators rebuilt from the file's config and seed.",
  options = {
    { "dataset", type = "path", required = true, must_exist = true, metavar = "FILE", help = "HDF5 dataset to update in place" },
    { "families", type = "string", metavar = "LIST",
      help = "comma-separated families: summary, temporal, initial, architecture (or sdf, td, ic, nop); " ..
             "default: summary and temporal, as far as the file's config enables them" },
    { "features", type = "path", multi = true, must_exist = true, metavar = "FILE.lua",
      help = "Lua file(s) of custom formulas (features.register{...}); their columns are appended" },
  },
  run = function(opts)
    local ds = require "spinlock.features.dataset"
    local res = ds.extract_file(opts.dataset, {
      families = opts.families, features = opts.features,
      warn = function(msg) io.stderr:write("warning: ", msg, "\n") end,
    })
    for _, fam in ipairs(res.families) do
      local s = {}
      for i, d in ipairs(res.shapes[fam]) do s[i] = tostring(d) end
      print(string.format("features/%-12s [%s]", fam, table.concat(s, ", ")))
    end
    if res.sensitivity == "recomputed" then print("operator sensitivity recomputed from the rebuilt operators") end
    print(string.format("%d operators updated in %s", res.rows, opts.dataset))
  end,
}
