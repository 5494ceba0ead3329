-- spinlock.vqvae.tokenize — writes a model's tokens for a dataset to HDF5 (`spinlock tokenize`).
--
-- Layout (group tokens/ of the output file, or of the dataset itself):
--   tokens/<level>          int64 [N]        one per level: coarse, medium, fine (L = 3), ids 0..K_l−1
--   tokens/category_codes   int64 [N, C, L]  per-category codes
--   attrs on tokens/: level_names, codebook_sizes, category_names, category_codebook_sizes,
--                     checkpoint, source_dataset, spinlock_version
local sl = require "spinlock"
local h5 = require "spinlock.h5"
local ev = require "spinlock.vqvae.evaluate"

local M = {}

function M.run(model, dataset, output, opts)
  opts = opts or {}
  if output then
    -- checked before the model runs, so a wrong --output costs nothing
    local cli = require "spinlock.cli"
    local kind = cli.path_kind(output)
    if kind == "dir" then
      sl.user_error("--output: %s is a folder, expected an HDF5 file name (e.g. %s/tokens.h5)", output,
        (output:gsub("/+$", "")))
    elseif kind == "file" and not h5.is_hdf5(output) then
      sl.user_error("--output: %s exists and is not an HDF5 file (give a new file name or an HDF5 file)", output)
    end
    if not kind then cli.ensure_parent_dir(output, "--output") end
  end
  local L = model.levels
  -- read and prepare the dataset once for both passes
  local x = model:prepare(dataset)
  local toks = { model:get_tokens(x, { prepared = true }) }
  local codes, cat_names = model:get_category_codes(x, { prepared = true })
  local path = output or dataset
  local f = h5.open(path, output and "a" or "r+")
  local names = {}
  local ok, err = pcall(function()
    if f:exists("tokens") then
      if not opts.force and output == nil then
        sl.user_error("%s already has tokens/ (use --force to replace them)", path)
      end
      f:delete("tokens")
    end
    f:create_group("tokens")
    local sizes, csizes = {}, {}
    for l = 1, L do
      names[l] = ev.level_name(l, L)
      sizes[l] = model.tok_q[l].num_codes
      csizes[l] = model.cat_q[1][l].num_codes
      f:create_dataset("tokens/" .. names[l], { shape = { toks[l]:numel() }, dtype = "int64" })
      f:write("tokens/" .. names[l], toks[l])
    end
    local s = codes:shape()
    f:create_dataset("tokens/category_codes", { shape = s, dtype = "int64" })
    f:write("tokens/category_codes", codes)
    f:set_attr("tokens", "level_names", names)
    f:set_attr("tokens", "codebook_sizes", sizes)
    f:set_attr("tokens", "category_names", cat_names)
    f:set_attr("tokens", "category_codebook_sizes", csizes)
    f:set_attr("tokens", "checkpoint", model.checkpoint_path or "")
    f:set_attr("tokens", "source_dataset", dataset)
    f:set_attr("tokens", "spinlock_version", sl.version)
  end)
  f:close()
  if not ok then error(err, 0) end
  return { n = toks[1]:numel(), path = path, level_names = names, categories = #cat_names, tokens = toks, codes = codes }
end

return M
