-- summary: Evaluate a trained VQ-VAE tokenizer: R² by level, codebook use, purity, topography
local cli = require "spinlock.cli"

return {
  description = "Reconstruction R² (overall, per feature family, per category) at each level,\n" ..
                "utilisation and perplexity per level, token purity against the IC type and the\n" ..
                "evolution policy, and the topographic correlation. Prints a table and writes\n" ..
                "evaluation.json, codebook_usage.png and r2_by_level.png into --output.\n" ..
                "Without --dataset, the dataset(s) the checkpoint was trained on are used, and\n" ..
                "only their validation rows are scored (--rows all scores every row).",
  options = {
    { "checkpoint", type = "path", default = "checkpoints/vqvae/best_model",
      help = "checkpoint (base path, .safetensors, .json or folder)" },
    { "dataset", type = "path", must_exist = true, help = "dataset file (HDF5); default: the training data" },
    { "rows", type = "choice", choices = { "auto", "all", "validation" }, default = "auto",
      help = "which rows to score (auto: validation rows of the training data, else all)" },
    { "purity-rows", type = "choice", choices = { "all", "scored" }, default = "all",
      help = "rows for token purity: all rows of the data (default), or the rows R² is scored on" },
    { "verbose", type = "flag", short = "v", help = "list every feature of every category" },
    { "output", type = "path", help = "folder for evaluation.json and the PNGs (default: next to the checkpoint)" },
  },
  run = function(opts)
    -- a wrong --output is reported before the (slow) evaluation, not after it
    if opts.output then cli.ensure_dir(opts.output, "--output") end
    local vqvae = require "spinlock.vqvae"
    local ev = require "spinlock.vqvae.evaluate"
    local st = require "spinlock.safetensors"
    local model = vqvae.load(opts.checkpoint)
    local tr = model.transform or {}
    local datasets = opts.dataset and { opts.dataset } or tr.datasets
    if not datasets or #datasets == 0 then
      cli.user_error("the checkpoint does not record its training data; give --dataset FILE")
    end
    if not opts.dataset then
      -- the recorded paths are as given to train-vqvae (maybe relative to another folder)
      for _, p in ipairs(datasets) do
        local f = io.open(p, "rb")
        if not f then
          cli.user_error("the checkpoint was trained on %s, which is not found from here; give --dataset FILE", p)
        end
        f:close()
      end
    end
    local rows
    local trained_on = not opts.dataset
    if opts.dataset and tr.datasets and #tr.datasets == 1 and tr.datasets[1] == opts.dataset then trained_on = true end
    if (opts.rows == "validation" or (opts.rows == "auto" and trained_on)) then
      if not trained_on or not tr.validation_rows then
        cli.user_error("--rows validation needs the checkpoint's own training data and its recorded split")
      end
      rows = tr.validation_rows
    end
    -- labels for purity (concatenated over the files)
    local labels = { ic_type = {}, policy = {} }
    local h5 = require "spinlock.h5"
    for _, p in ipairs(datasets) do
      if cli.path_kind(p) == "dir" then cli.user_error("%s is a folder, expected a dataset file (HDF5)", p) end
      if not h5.is_hdf5(p) then
        cli.user_error("%s is not an HDF5 file (expected a dataset written by spinlock generate)", p)
      end
    end
    for _, p in ipairs(datasets) do
      h5.with(p, "r", function(f)
        for key, path in pairs { ic_type = "metadata/ic_types", policy = "metadata/evolution_policies" } do
          if labels[key] and f:exists(path) then
            for _, v in ipairs(f:read_strings(path)) do table.insert(labels[key], v) end
          else
            labels[key] = nil
          end
        end
      end)
    end
    local r = ev.run(model, #datasets == 1 and datasets[1] or datasets,
      { labels = labels, rows = rows, purity_rows = opts.purity_rows, rows_label = rows and "validation" or "all" })
    r.categories_text = require("spinlock.vqvae.train").category_map_lines(model, opts.verbose)
    print(string.format("checkpoint %s; data %s; rows: %s", model.checkpoint_path, table.concat(datasets, " "),
      rows and ("validation (" .. #rows .. ")") or "all"))
    print(ev.format(r))
    local out = opts.output or (model.checkpoint_path:match("^(.*)/[^/]*$") or ".") .. "/evaluation"
    cli.ensure_dir(out, "--output")
    local f = io.open(out .. "/evaluation.json", "w")
    if f then
      local copy = { n = r.n, rows = r.rows, purity_rows = r.purity_rows_label, purity_row_count = r.purity_rows,
                     levels = r.levels, families = r.families, topographic = r.topographic, categories = {} }
      local names = model:feature_names() or {}
      for i, c in ipairs(r.categories) do
        local members = {}
        for j = 1, c.size do members[j] = names[c.columns[j]] end
        copy.categories[i] = { name = c.name, size = c.size, r2 = c.r2, r2_cat = c.r2_cat, features = members }
      end
      f:write(st.json_encode(copy), "\n")
      f:close()
    end
    local pngs = ev.plots(r, out)
    print(string.format("\nwrote %s/evaluation.json%s", out,
      #pngs > 0 and (", " .. table.concat(pngs, ", ")) or " (no PNG module in this build: no plots)"))
  end,
}
