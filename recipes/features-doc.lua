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
    -- the default config lives with the installation, not in the current folder
    local path = opts.config or features.doc_config_file()
    local _, err = require("spinlock.config").try_load(path, nil, { warn = false })
    if err then cli.user_error("--config: %s", err) end
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
    if cli.path_kind(opts.output) == "dir" then
      cli.user_error("--output: %s is a folder, expected a file name (e.g. %s/features.md)", opts.output,
        (opts.output:gsub("/+$", "")))
    end
    local fh, werr = io.open(opts.output, "w")
    if not fh then cli.user_error("--output: cannot write %s (%s)", opts.output, tostring(werr)) end
    local ok, e = fh:write(text)
    fh:close()
    if not ok then cli.user_error("--output: cannot write %s (%s)", opts.output, tostring(e)) end
    print("wrote " .. opts.output)
  end,
}
