-- summary: Write docs/features.md (the feature catalog) from the feature registry
--
-- docs/features.md is generated so that it cannot drift from the code: spec/features_spec.lua
-- checks that the committed file equals this recipe's output.
local cli = require "spinlock.cli"

return {
  description = "Builds the feature registry for an experiment config (default: the reference\n" ..
                "baseline) with every family on, and writes every column's name, category,\n" ..
                "formula and meaning as Markdown.",
  options = {
    { "config", type = "path", must_exist = true, metavar = "FILE",
      help = "experiment config the catalog is generated for (default: configs/experiments/baseline_10k.yaml)" },
    { "output", type = "path", default = "docs/features.md", metavar = "FILE", help = "where to write" },
    { "check", type = "flag", help = "do not write: exit 1 when the file differs from the generated text" },
  },
  run = function(opts)
    local features = require "spinlock.features"
    local text = features.markdown(opts.config)
    if opts.check then
      local fh = io.open(opts.output, "r")
      local old = fh and fh:read("*a")
      if fh then fh:close() end
      if old ~= text then
        io.stderr:write(opts.output, " is out of date; run: spinlock features-doc\n")
        cli.exit(1)
      end
      print(opts.output .. " is up to date")
      return
    end
    local fh = assert(io.open(opts.output, "w"))
    fh:write(text)
    fh:close()
    print("wrote " .. opts.output)
  end,
}
