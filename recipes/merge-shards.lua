-- summary: Concatenate the shard files of one dataset (generate --shard i/n) into one file
return {
  description =
    "Checks that the shards come from the same config and seed, are complete and cover every\n" ..
    "operator index once, then copies them in index order into --output (same layout, chunking\n" ..
    "and compression; metadata counts and rows_done cover the whole dataset).",
  options = {
    { "output", type = "path", required = true, help = "merged dataset file" },
    { "force", type = "flag", help = "overwrite an existing output" },
  },
  args = { { "shards", multi = true, help = "shard files (any order)" } },
  run = function(opts)
    local dataset = require "spinlock.dataset"
    local res = dataset.merge(opts.shards or {}, opts.output, { force = opts.force })
    print(("merged %d shards into %s: %d operators"):format(res.shards, res.output, res.N))
  end,
}
