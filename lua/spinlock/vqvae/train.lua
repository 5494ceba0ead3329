-- spinlock.vqvae.train — the tokenizer's training loop (spec/vqvae.md §4, with the §9 fixes).
--
--   local train = require "spinlock.vqvae.train"
--   local res = train.run{ datasets = {"a.h5"}, config = "configs/vqvae/fast_training.yaml",
--                          output = "checkpoints/vqvae" }
--   -- or on a matrix: train.run{ X = X, names = names, categories = {{name=, columns=}}, config = {...} }
--
-- Steps: load and assemble features (spinlock.cleaning.load) → seeded train/validation split →
-- cleaning + normalisation fitted on the training rows only (§9.7) → category discovery on the
-- training rows (spinlock.categories) or a mapping file by feature name (§9.14) → model → epochs
-- of shuffled mini-batches with Adam.  After each epoch: dead-code resets (before validating,
-- §9.30), validation, history line, checkpoints.
--   * Best checkpoint: lowest validation reconstruction MSE at the finest level, averaged over the
--     token path and the category path — a deterministic number (no random subsets, §9.28).
--   * Early stopping: patience and min_delta in epochs (§9.29).
--   * Files in the output folder: best_model.{safetensors,json}, final_model.{…} (last epoch),
--     last.{…} (for --resume, with optimiser and RNG state), history.jsonl (one JSON object per
--     epoch), training_curves.png (when the PNG module is present), config.json (resolved config).
--   * Ctrl-C / SIGTERM: the current batch finishes, last.* is written, and the run returns with
--     interrupted = true (the binary then exits 130).
--   * Everything is seeded from random_seed: weights, dropout, shuffling, quantizer inits/resets.
local sl = require "spinlock"
local optim = require "spinlock.optim"
local vqvae = require "spinlock.vqvae"
local metrics = require "spinlock.vqvae.metrics"
local plot = require "spinlock.vqvae.plot"
local util = require "spinlock.vqvae.util"
local st = require "spinlock.safetensors"

local M = {}

-- Training and data keys with their defaults; model keys are spinlock.vqvae.DEFAULTS.
M.DEFAULTS = {
  -- data
  feature_families = { "architecture", "initial", "summary", "temporal" },
  allow_missing_families = false,      -- true: a configured family a file lacks is a warning, not an error
  clean_features = true,
  nan_max_fraction = 0.5,
  variance_threshold = 1e-8,
  deduplicate_threshold = 0.99,
  mad_threshold = 5.0,
  normalization = "standard",
  category_assignment = "auto",        -- "auto" | "file"
  category_mapping_file = false,       -- JSON {category: [feature names]} (by name, §9.14)
  linkage = "average",                 -- §9.10: a proper linkage for 1 − |r|
  min_categories = 2,
  max_clusters = 25,
  min_features_per_category = 3,
  max_features_per_category = 0,       -- > 0: split larger categories into chunks of at most this
  -- training
  epochs = 200,
  batch_size = 256,
  learning_rate = 1e-3,
  grad_clip = 0,                       -- 0 = off
  val_fraction = 0.1,
  val_every_n_epochs = 1,
  early_stopping_patience = 40,        -- epochs without improvement
  early_stopping_min_delta = 1e-4,
  dead_code_reset_interval = 1,        -- epochs; 0 disables
  random_seed = 42,
}

local function user_error(...) return sl.user_error(...) end

local function is_null(v) return type(v) == "table" and tostring(v) == "null" and next(v) == nil end

-- Flattens a config document: top-level keys, or sections data:/model:/training:/vqvae:.
local SECTIONS = { data = true, model = true, training = true, vqvae = true, features = true }
local function kind_of(v)
  if type(v) == "table" then return v[1] ~= nil and "a list" or "a mapping" end
  if type(v) == "string" then return "text '" .. (#v > 40 and v:sub(1, 37) .. "..." or v) .. "'" end
  return "a " .. type(v) .. " (" .. tostring(v) .. ")"
end

local function flatten(doc, out, source)
  for k, v in pairs(doc) do
    if SECTIONS[k] and is_null(v) then -- an empty section: nothing to add
    elseif SECTIONS[k] then
      if type(v) ~= "table" or v[1] ~= nil then
        user_error("%s: section '%s' expected a mapping of settings, found %s", source, k, kind_of(v))
      end
      flatten(v, out, source)
    else out[k] = (is_null(v) and false) or v end
  end
  return out
end

-- resolve_config(cfg_or_path, overrides) → flat table with every key (defaults filled in).
function M.resolve_config(cfg, overrides)
  local raw = {}
  local source = "config"
  if type(cfg) == "string" then
    source = cfg
    local yaml = require "spinlock.yaml"
    local ok, doc = pcall(yaml.load_file, cfg)
    if not ok then user_error("train-vqvae: cannot read config %s: %s", cfg, tostring(doc)) end
    if doc == nil or is_null(doc) then
      io.stderr:write(string.format("warning: %s has no settings; using defaults\n", cfg))
      doc = {}
    elseif type(doc) ~= "table" or doc[1] ~= nil then
      user_error("%s: expected a YAML mapping of settings (key: value) at the top level, found %s",
        cfg, kind_of(doc))
    end
    flatten(doc, raw, cfg)
  elseif type(cfg) == "table" then
    flatten(cfg, raw, source)
  end
  local out = {}
  for k, v in pairs(M.DEFAULTS) do out[k] = v end
  for k, v in pairs(vqvae.DEFAULTS) do out[k] = v end
  if overrides and next(overrides) then
    -- Check the command-line values on their own first so a bad --epochs blames the command
    -- line, not the config file (the defaults around them are valid).
    local probe = {}
    for k, v in pairs(out) do probe[k] = v end
    for k, v in pairs(overrides) do probe[k] = v end
    M.validate_config(probe, "command line")
  end
  for k, v in pairs(overrides or {}) do raw[k] = v end
  local IGNORED = { input_path = true, output_dir = true, device = true, verbose = true, task = true,
                    use_torch_compile = true, use_ema = true, name = true, description = true }
  for k, v in pairs(raw) do
    if out[k] == nil and not IGNORED[k] then
      local keys = {}
      for kk in pairs(out) do keys[#keys + 1] = kk end
      local near = require("spinlock.cli").nearest(k, keys)
      user_error("%s: unknown key '%s'%s", source, k, near and (" (did you mean '" .. near .. "'?)") or "")
    end
    if v ~= nil then out[k] = v end
  end
  if out.seed == vqvae.DEFAULTS.seed then out.seed = out.random_seed end
  M.validate_config(out, source)
  if #out.token_codebook_sizes ~= #out.category_codebook_sizes then user_error(source .. ": " ..
    "token_codebook_sizes and category_codebook_sizes must have the same number of levels (%d vs %d)",
    #out.token_codebook_sizes, #out.category_codebook_sizes) end
  return out
end

-- Every key's type and range: {kind, lo, hi, lo_open}.  kinds: int, number, bool, string,
-- enum (values), intlist (list of ints >= lo), stringlist, path (string or false).
local RULES = {
  feature_families = { "stringlist" }, allow_missing_families = { "bool" }, clean_features = { "bool" },
  nan_max_fraction = { "number", 0, 1 }, variance_threshold = { "number", 0 },
  deduplicate_threshold = { "number", 0, 1 }, mad_threshold = { "number", 0, nil, true, optional = true },
  normalization = { "enum", values = { "standard", "robust", "none" } },
  category_assignment = { "enum", values = { "auto", "file" } }, category_mapping_file = { "path" },
  linkage = { "enum", values = { "single", "complete", "average", "ward" } },
  min_categories = { "int", 1 }, max_clusters = { "int", 1 }, min_features_per_category = { "int", 1 },
  max_features_per_category = { "int", 0 },
  epochs = { "int", 1 }, batch_size = { "int", 2 }, learning_rate = { "number", 0, nil, true },
  grad_clip = { "number", 0 }, val_fraction = { "number", 0, 1, false, hi_open = true },
  val_every_n_epochs = { "int", 1 }, early_stopping_patience = { "int", 1 },
  early_stopping_min_delta = { "number", 0 }, dead_code_reset_interval = { "int", 0 }, random_seed = { "int", 0 },
  group_hidden_dim = { "int", 1 }, group_embedding_dim = { "int", 1 }, latent_dim = { "int", 1 },
  category_codebook_sizes = { "intlist", 1 }, token_codebook_sizes = { "intlist", 1 },
  decoder_hidden_dim = { "int", 1 }, category_decoder = { "enum", values = { "linear", "none" } },
  latent_norm = { "enum", values = { "layernorm", "none" } }, dropout = { "number", 0, 1, false, hi_open = true },
  commitment_cost = { "number", 0 }, ema_decay = { "number", 0, 1 }, dead_code_after = { "int", 0 },
  informativeness_weight = { "number", 0 }, orthogonality_weight = { "number", 0 }, topo_weight = { "number", 0 },
  topo_samples = { "int", 3 }, seed = { "int", 0 },
}
M.RULES = RULES

local function show(v)
  if type(v) == "table" then
    local ok, j = pcall(st.json_encode, v)
    return ok and j or "a table"
  end
  if type(v) == "string" then return "'" .. v .. "'" end
  return tostring(v)
end

-- validate_config(cfg, source): a user error naming the first bad key, what it must be and what
-- it is, so a typo in the YAML never reaches the model code.
function M.validate_config(out, source)
  local function fail(k, what) user_error("%s: %s must be %s, got %s", source, k, what, show(out[k])) end
  local keys = {}
  for k in pairs(RULES) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local r, v = RULES[k], out[k]
    local kind = r[1]
    local function range_text(integer)
      local lo, hi = r[2], r[3]
      local noun = integer and "an integer" or "a number"
      if lo and hi then
        return string.format("%s in %s%s, %s%s", noun, r[4] and "(" or "[", show(lo), show(hi), r.hi_open and ")" or "]")
      elseif lo then
        return string.format("%s %s %s", noun, r[4] and ">" or ">=", show(lo))
      end
      return noun
    end
    local function in_range(x)
      if r[2] and (x < r[2] or (r[4] and x == r[2])) then return false end
      if r[3] and (x > r[3] or (r.hi_open and x == r[3])) then return false end
      return true
    end
    if kind == "int" or kind == "number" then
      if not (r.optional and (v == false or v == nil)) then
        local ok = type(v) == "number" and v == v and (kind == "number" or v % 1 == 0) and in_range(v)
        if not ok then fail(k, range_text(kind == "int") .. (r.optional and " (or null to turn it off)" or "")) end
      end
    elseif kind == "bool" then
      if type(v) ~= "boolean" then fail(k, "true or false") end
    elseif kind == "enum" then
      local ok = false
      for _, x in ipairs(r.values) do if v == x then ok = true end end
      if not ok then fail(k, "one of " .. table.concat(r.values, ", ")) end
    elseif kind == "path" then
      if not (v == false or v == nil or type(v) == "string") then fail(k, "a file name (or null)") end
    elseif kind == "stringlist" then
      local ok = type(v) == "table" and #v >= 1
      if ok then for _, x in ipairs(v) do if type(x) ~= "string" then ok = false end end end
      if not ok then fail(k, "a non-empty list of names") end
    elseif kind == "intlist" then
      local ok = type(v) == "table" and #v >= 1
      if ok then for _, x in ipairs(v) do if type(x) ~= "number" or x % 1 ~= 0 or x < r[2] then ok = false end end end
      if not ok then fail(k, "a non-empty list of integers >= " .. r[2] .. " (coarse level first)") end
    end
  end
  if out.min_categories > out.max_clusters then
    user_error("%s: min_categories (%d) must not exceed max_clusters (%d)", source, out.min_categories, out.max_clusters)
  end
  if out.category_assignment == "file" and not out.category_mapping_file then
    user_error("%s: category_assignment: file needs category_mapping_file", source)
  end
  local valid_fams = { architecture = true, initial = true, summary = true, temporal = true, sdf = true }
  for _, f in ipairs(out.feature_families) do
    if not valid_fams[f] then
      user_error("%s: feature_families: unknown family '%s' (known: architecture, initial, summary, temporal)", source, f)
    end
  end
end

-- ------------------------------------------------------------------ data

local function read_mapping_file(path, names)
  local f = io.open(path, "r")
  if not f then user_error("train-vqvae: category_mapping_file %s not found", path) end
  local text = f:read("*a"); f:close()
  local ok, doc = pcall(st.json_decode, text)
  if not ok or type(doc) ~= "table" then user_error("train-vqvae: %s is not a JSON object", path) end
  local pos = {}
  for i, n in ipairs(names) do pos[n] = i end
  -- Two forms: the ordered file train-vqvae writes ({"categories": [{"name", "features"}]},
  -- category order kept) or a plain {category: [feature names]} map (categories sorted by name).
  local lists, keys = {}, {}
  if type(doc.categories) == "table" and doc.categories[1] then
    for i, c in ipairs(doc.categories) do
      if type(c) ~= "table" or type(c.name) ~= "string" or type(c.features) ~= "table" then
        user_error("train-vqvae: %s: categories[%d] must be {\"name\": ..., \"features\": [names]}", path, i)
      end
      keys[i] = c.name
      lists[c.name] = c.features
    end
  else
    for k, v in pairs(doc) do
      if type(v) ~= "table" then user_error("train-vqvae: %s: category '%s' must list feature names", path, tostring(k)) end
      keys[#keys + 1] = k
      lists[k] = v
    end
    table.sort(keys)
  end
  local cats = {}
  for _, k in ipairs(keys) do
    local cols = {}
    for _, n in ipairs(lists[k]) do
      if type(n) == "number" then
        user_error("train-vqvae: %s: category '%s' lists column numbers; list feature names instead (spec §9.14)", path, k)
      end
      if pos[n] then cols[#cols + 1] = pos[n] end     -- names removed by cleaning are skipped
    end
    table.sort(cols)
    if #cols > 0 then cats[#cats + 1] = { name = k, columns = cols } end
  end
  if #cats == 0 then user_error("train-vqvae: %s: no listed feature survived cleaning", path) end
  return cats
end

-- Prepares the matrices.  Returns {Xtr, Xva (model column order), transform, categories, N, …}.
local function prepare_data(cfg, opts, log)
  local X, names, layout = opts.X, opts.names, nil
  if not X then
    local cleaning = require "spinlock.cleaning"
    local paths = opts.datasets
    if type(paths) == "string" then paths = { paths } end
    if not paths or #paths == 0 then user_error("train-vqvae: give --dataset FILE or --datasets A.h5 B.h5 …") end
    X, names, layout = cleaning.load(paths, { families = cfg.feature_families, optional = true })
    -- Configured families a file lacks: an error unless the config allows it (then a warning).
    local present, missing = {}, {}
    for _, f in ipairs(layout.families) do present[f.name] = true end
    for _, f in ipairs(cfg.feature_families) do
      local canon = f == "sdf" and "summary" or f
      if not present[canon] then missing[#missing + 1] = canon end
    end
    if #missing > 0 then
      local have = {}
      for _, f in ipairs(layout.families) do have[#have + 1] = f.name end
      local files = table.concat(paths, ", ")
      if not cfg.allow_missing_families then
        user_error("%s lacks the configured feature famil%s %s (present: %s); list only the present "
          .. "families in feature_families, or set data.allow_missing_families: true to train without them",
          files, #missing > 1 and "ies" or "y", table.concat(missing, ", "), table.concat(have, ", "))
      end
      log(string.format("warning: %s lacks feature famil%s %s; training on %s only (allow_missing_families)",
        files, #missing > 1 and "ies" or "y", table.concat(missing, ", "), table.concat(have, ", ")))
    end
  end
  X = X:float():contiguous()
  local N, D = X:size(1), X:size(2)
  if not names then
    names = {}
    for j = 1, D do names[j] = "feature_" .. (j - 1) end
  end
  if N < 4 then user_error("train-vqvae: need at least 4 operators to train, got %d", N) end
  -- Seeded split (spec §4.3): a permutation, the first part trains.
  local perm = util.permutation(N, sl.Generator { seed = cfg.random_seed, purpose = 7, a = 0x7370, b = 0 })
  local n_val = math.floor(N * cfg.val_fraction)
  -- R² needs at least two validation rows to have a variance to explain.
  if cfg.val_fraction > 0 and n_val < 2 and N >= 8 then n_val = 2 end
  if cfg.val_fraction > 0 and n_val == 0 then n_val = 1 end
  local n_tr = N - n_val
  local tr_rows, va_rows = {}, {}
  for i = 1, n_tr do tr_rows[i] = perm[i] end
  for i = 1, n_val do va_rows[i] = perm[n_tr + i] end
  table.sort(tr_rows); table.sort(va_rows)
  local Xtr_raw = util.gather_rows(X, tr_rows)
  local Xva_raw = n_val > 0 and util.gather_rows(X, va_rows) or nil
  -- families = those actually assembled, so tokenize/evaluate read the same columns from a file
  local fams = cfg.feature_families
  if layout then
    fams = {}
    for i, f in ipairs(layout.families) do fams[i] = f.name end
  end
  local transform = { names_in = names, families = fams, layout = layout and layout.families or nil }
  if opts.datasets then
    transform.datasets = type(opts.datasets) == "string" and { opts.datasets } or opts.datasets
    transform.validation_rows = va_rows          -- evaluate-vqvae scores these by default
  end
  local Xtr, Xva, cnames
  if opts.transform then
    -- resume: the checkpoint's fitted transform
    transform = opts.transform
    local tmp = vqvae.build({ latent_dim = 1, category_codebook_sizes = { 1 }, token_codebook_sizes = { 1 } },
      { { name = "x", size = #transform.column_order } }, transform)
    Xtr = tmp:prepare(Xtr_raw)
    Xva = Xva_raw and tmp:prepare(Xva_raw) or nil
    return { Xtr = Xtr, Xva = Xva, transform = transform, categories = opts.resume_categories,
             tr_rows = tr_rows, va_rows = va_rows, N = N }
  end
  if cfg.clean_features then
    local cl = require("spinlock.cleaning").Cleaner { nan_max_fraction = cfg.nan_max_fraction, variance_threshold = cfg.variance_threshold,
      dedup_threshold = cfg.deduplicate_threshold, mad_k = cfg.mad_threshold or false,
      normalization = cfg.normalization }
    local ok, fitted = pcall(cl.fit, cl, Xtr_raw, names)
    if not ok then
      if type(fitted) == "table" then error(fitted, 0) end
      local what = opts.datasets and table.concat(type(opts.datasets) == "string" and { opts.datasets } or opts.datasets, ", ")
                   or "the given matrix"
      user_error("cleaning the features of %s failed: %s", what, tostring(fitted):gsub("^[^:]*:%d+: ", ""))
    end
    Xtr = fitted:float()
    Xva = Xva_raw and cl:transform(Xva_raw):float() or nil
    cnames = cl.names
    transform.cleaning = cl:state()
    transform.names = cnames
    log(string.format("cleaning: %d raw columns → %d (report: %s)", D, #cnames, st.json_encode(cl.report or {})))
  else
    -- No cleaner: standardise with training statistics (population std, < 1e-8 → 1).
    local mu = Xtr_raw:mean(1)
    local sd = sl.sqrt(sl.square(sl.sub(Xtr_raw, mu:view(1, D))):mean(1))
    sd = sl.where(sl.lt(sd, 1e-8), sl.ones(D), sd)
    transform.centre, transform.scale = mu:totable(), sd:totable()
    Xtr = sl.div(sl.sub(Xtr_raw, mu:view(1, D)), sd:view(1, D))
    Xva = Xva_raw and sl.div(sl.sub(Xva_raw, mu:view(1, D)), sd:view(1, D)) or nil
    cnames = names
    transform.names = names
  end
  -- Categories (columns into the cleaned matrix).  Categories given by the caller index the raw
  -- columns: map them through the cleaner's kept columns (dropped columns leave their category;
  -- a category left empty is dropped, with a log line).
  local cats = opts.categories
  if cats and transform.cleaning then
    local raw_to_clean = {}
    for i, j in ipairs(transform.cleaning.columns) do raw_to_clean[j + 1] = i end   -- state is 0-based
    local remapped, dropped = {}, 0
    for _, c in ipairs(cats) do
      local cols = {}
      for _, j in ipairs(c.columns) do
        if type(j) ~= "number" or j < 1 or j > D or j % 1 ~= 0 then
          user_error("train-vqvae: category '%s' lists column %s, outside the %d input columns", tostring(c.name), tostring(j), D)
        end
        if raw_to_clean[j] then cols[#cols + 1] = raw_to_clean[j] else dropped = dropped + 1 end
      end
      if #cols > 0 then remapped[#remapped + 1] = { name = c.name, columns = cols }
      else log(string.format("categories: '%s' lost all its columns to cleaning and is dropped", tostring(c.name))) end
    end
    if #remapped == 0 then user_error("train-vqvae: cleaning removed every column of the given categories") end
    if dropped > 0 then log(string.format("categories: %d given columns removed by cleaning", dropped)) end
    cats = remapped
  end
  if not cats and cfg.category_mapping_file and cfg.category_mapping_file ~= "" then
    cats = read_mapping_file(cfg.category_mapping_file, cnames)
  end
  if not cats then
    if #cnames >= 4 then
      local categories = require "spinlock.categories"
      local k_max = math.min(cfg.max_clusters, #cnames - 1)
      local res = categories.discover(Xtr, cnames, { linkage = cfg.linkage, k_min = math.min(cfg.min_categories, k_max),
        k_max = k_max, min_features = cfg.min_features_per_category, seed = cfg.random_seed })
      cats = res.categories
      log(string.format("categories: %d discovered (silhouette %.3f)", #cats, res.silhouette or 0))
    else
      cats = { { name = "all", columns = {} } }
      for j = 1, #cnames do cats[1].columns[j] = j end
    end
  end
  -- Optional split of big categories (column order kept): many small categories make the
  -- per-category quantizers work in low dimension, where a codebook of K codes removes far more
  -- of the error than it can in one wide latent.
  local M = cfg.max_features_per_category or 0
  if M > 0 then
    local split = {}
    for _, c in ipairs(cats) do
      local n = #c.columns
      if n <= M then split[#split + 1] = c
      else
        local parts = math.ceil(n / M)
        local size = math.ceil(n / parts)
        for p = 1, parts do
          local cols = {}
          for j = (p - 1) * size + 1, math.min(n, p * size) do cols[#cols + 1] = c.columns[j] end
          split[#split + 1] = { name = c.name .. "_" .. p, columns = cols }
        end
      end
    end
    cats = split
  end
  local order, model_cats = {}, {}
  for i, c in ipairs(cats) do
    model_cats[i] = { name = c.name, size = #c.columns, columns = c.columns }
    for _, j in ipairs(c.columns) do order[#order + 1] = j end
  end
  transform.column_order = order
  transform.category_columns = {}
  for i, c in ipairs(cats) do transform.category_columns[i] = c.columns end
  local Xtr_m = util.select_columns(Xtr:float(), order)
  local Xva_m = Xva and util.select_columns(Xva:float(), order) or nil
  return { Xtr = Xtr_m, Xva = Xva_m, transform = transform, categories = model_cats,
           tr_rows = tr_rows, va_rows = va_rows, N = N }
end

-- ------------------------------------------------------------------ evaluation during training

-- Validation metrics on prepared rows (evaluation mode): per level R² and MSE for both paths,
-- utilisation per token level, topographic r; the selection metric `val_rec`.
function M.validate(model, x)
  local parts = model:run_inference(x, { batch_size = 4096 })
  local was = model.training
  model:evaluate()
  local L = model.levels
  local res = { r2_tok = {}, r2_cat = {}, mse_tok = {}, mse_cat = {} }
  for _, path in ipairs { "tok", "cat" } do
    for l = 1, L do
      local xh = sl.empty(x:shape())
      local off = 1
      for _, b in ipairs(parts) do
        local out = model:decode((path == "cat" and b.cat_prefix or b.tok_prefix)[l])
        xh:narrow(1, off, out:size(1)):copy(out)
        off = off + out:size(1)
      end
      local r2, mse = metrics.r2(x, xh)
      res["r2_" .. path][l], res["mse_" .. path][l] = r2, mse
    end
  end
  model:train(was)
  res.val_rec = 0.5 * (res.mse_tok[L] + res.mse_cat[L])
  return res, parts
end

-- ------------------------------------------------------------------ the category map

-- Lines describing the feature→category map: name, size and the first few member names (all of
-- them with verbose).
function M.category_map_lines(model, verbose)
  local names = model:feature_names() or {}
  local lines = { string.format("feature categories (%d):", #model.categories) }
  local w = 0
  for _, c in ipairs(model.categories) do w = math.max(w, #c.name) end
  for _, c in ipairs(model.categories) do
    local members = {}
    local show_n = verbose and c.size or math.min(c.size, 4)
    for j = 1, show_n do members[j] = names[c.offset + j - 1] or ("column " .. (c.offset + j - 1)) end
    local more = c.size > show_n and string.format(", … (+%d)", c.size - show_n) or ""
    lines[#lines + 1] = string.format("  %-" .. w .. "s %4d  %s%s", c.name, c.size, table.concat(members, ", "), more)
  end
  return lines
end

-- The map as a standalone JSON file, usable as data.category_mapping_file in a later run
-- (category order kept; read back by read_mapping_file).
function M.write_category_map(model, path)
  local names = model:feature_names() or {}
  local cats = {}
  for i, c in ipairs(model.categories) do
    local f = {}
    for j = 1, c.size do f[j] = names[c.offset + j - 1] end
    cats[i] = { name = c.name, size = c.size, features = setmetatable(f, { __json_array = true }) }
  end
  local doc = { format = "spinlock-category-map", version = 1,
                note = "feature names per category, in model column order; usable as data.category_mapping_file",
                categories = setmetatable(cats, { __json_array = true }) }
  local fh = io.open(path, "w")
  if not fh then return false end
  fh:write(st.json_encode(doc), "\n")
  fh:close()
  return true
end

-- ------------------------------------------------------------------ the loop

local function mkdir_p(dir)
  if dir and dir ~= "" then require("spinlock.cli").ensure_dir(dir, "--output") end
end

local function fmt_levels(t, f)
  local s = {}
  for i, v in ipairs(t) do s[i] = string.format(f or "%.3f", v) end
  return table.concat(s, "/")
end

-- run(opts) → result table.  opts: config (path or table), overrides (table), datasets | X (+ names,
-- categories), output (folder; nil = no files), resume (checkpoint path: last.*), quiet,
-- max_epochs (stop after this many epochs in this call; for specs), progress (false = no bar).
function M.run(opts)
  opts = opts or {}
  local log = opts.log or (opts.quiet and function() end or function(s) io.stderr:write(s, "\n") end)
  local cfg = M.resolve_config(opts.config, opts.overrides)
  local out = opts.output
  if out then mkdir_p(out) end
  local resume_doc, resume_model
  if opts.resume then
    resume_model = vqvae.load(opts.resume)
    resume_doc = resume_model.checkpoint_extra or {}
    if not resume_doc.train_state then
      user_error("train-vqvae: %s holds no training state; resume from last.* (written every epoch)", opts.resume)
    end
    cfg = M.resolve_config(resume_model.checkpoint.training_config or opts.config, opts.overrides)
    -- The architecture is the checkpoint's: a key its training_config predates must not take
    -- today's default (a checkpoint without category_decoder has no block decoder).
    for _, k in ipairs { "category_decoder", "latent_norm", "latent_dim", "group_hidden_dim",
                         "group_embedding_dim", "decoder_hidden_dim", "category_codebook_sizes",
                         "token_codebook_sizes" } do
      if resume_model.cfg[k] ~= nil then cfg[k] = resume_model.cfg[k] end
    end
  end
  -- A resumed run reads the files its checkpoint recorded unless others are given.
  local datasets = opts.datasets
  if resume_model and not opts.X and (not datasets or #datasets == 0) then
    datasets = resume_model.transform and resume_model.transform.datasets
    if not datasets or #datasets == 0 then
      user_error("train-vqvae: %s records no datasets; give --dataset FILE", opts.resume)
    end
    for _, p in ipairs(datasets) do
      local f = io.open(p, "rb")
      if not f then
        user_error("train-vqvae: %s was trained on %s, which is not found from here; give --dataset FILE", opts.resume, p)
      end
      f:close()
    end
  end
  local data = prepare_data(cfg, {
    X = opts.X, names = opts.names, categories = opts.categories, datasets = datasets,
    transform = resume_model and resume_model.transform or nil,
    resume_categories = resume_model and resume_model.categories or nil,
  }, log)
  local Xtr, Xva = data.Xtr, data.Xva
  local n_tr = Xtr:size(1)
  local model
  if resume_model then
    model = resume_model
    model:train(true)
  else
    model = vqvae.build(cfg, data.categories, data.transform)
  end
  model.cfg_full = cfg
  local params, grads = model:flat_parameters()
  local opt = optim.Adam(params, grads, { lr = cfg.learning_rate })
  local shuffle = sl.Generator { seed = cfg.random_seed, purpose = 7, a = 0x7368, b = 0 }
  local history, start_epoch = {}, 1
  local best, best_epoch, since_best = math.huge, 0, 0
  if resume_doc then
    local ts = resume_doc.train_state
    opt:load_state_dict(resume_doc.optim)
    shuffle:seek(ts.shuffle_offset)
    start_epoch = ts.epoch + 1
    best, best_epoch, since_best = ts.best, ts.best_epoch, ts.since_best
    if best == false then best = math.huge end
    history = resume_doc.history or {}
    log(string.format("resuming at epoch %d (best %.5g at epoch %d)", start_epoch, best, best_epoch))
  end
  if resume_model then model:set_rng_state(resume_model.checkpoint.rng) end
  local C = #model.categories
  if not resume_model then
    local lines = M.category_map_lines(model, opts.verbose)
    for _, l in ipairs(lines) do log(l) end
  end
  if out then M.write_category_map(model, out .. "/categories.json") end
  log(string.format("train-vqvae: %d operators (%d train, %d validation), %d features in %d categories, "
    .. "%d levels (tokens %s, category codes %s), %d parameters, quantizer %s",
    data.N, n_tr, Xva and Xva:size(1) or 0, model.input_dim, C, model.levels,
    table.concat(cfg.token_codebook_sizes, "/"), table.concat(cfg.category_codebook_sizes, "/"),
    model:num_parameters(), require("spinlock.vqvae.quantizer").backend))
  if out then
    local f = io.open(out .. "/config.json", "w")
    if f then f:write(st.json_encode(cfg), "\n"); f:close() end
  end
  local hist_file
  if out then
    -- rewritten from the checkpoint's history on resume: right even when resuming into a new
    -- folder or after an interrupted epoch
    hist_file = io.open(out .. "/history.jsonl", "w")
    if hist_file then
      for _, rec in ipairs(history) do hist_file:write(st.json_encode(rec), "\n") end
      hist_file:flush()
    end
  end
  local bs = math.min(cfg.batch_size, n_tr)
  local n_batches = math.ceil(n_tr / bs)
  local last_epoch = cfg.epochs
  if opts.max_epochs then last_epoch = math.min(last_epoch, start_epoch + opts.max_epochs - 1) end
  local progress = require "spinlock.progress"
  local bar = progress.new { total = cfg.epochs, initial = start_epoch - 1, label = "train-vqvae", unit = "epoch",
                             enabled = opts.progress ~= false and not opts.quiet }
  bar.done = start_epoch - 1
  local installed = false
  if sl.signals_install and opts.signals ~= false then sl.signals_install(); installed = true end
  local interrupted, stopped_early = false, false
  local function ckpt_extra(epoch)
    return { optim = opt:state_dict(), history = history,
             train_state = { epoch = epoch, best = best == math.huge and false or best, best_epoch = best_epoch,
                             since_best = since_best, shuffle_offset = shuffle:offset() } }
  end
  local function save(name, epoch, extra)
    if not out then return end
    model.checkpoint_config = cfg
    model:save(out .. "/" .. name, extra)
  end
  local epoch = start_epoch - 1
  local t_start = sl.wall_time()
  for e = start_epoch, last_epoch do
    local t0 = sl.wall_time()
    local perm = util.permutation(n_tr, shuffle)
    local sums, nb = {}, 0
    local counts = {}
    for l = 1, model.levels do counts[l] = {} end
    model:train(true)
    for b = 1, n_batches do
      local first = (b - 1) * bs + 1
      local cnt = math.min(bs, n_tr - first + 1)
      if cnt >= 2 then
        local xb = util.gather_rows(Xtr, perm, first, cnt)
        model:zero_grad()
        local _, comp = model:forward_backward(xb)
        if cfg.grad_clip and cfg.grad_clip > 0 then optim.clip_grad_norm(grads, cfg.grad_clip) end
        opt:step()
        for k, v in pairs(comp) do sums[k] = (sums[k] or 0) + v end
        nb = nb + 1
        for l, q in ipairs(model.tok_q) do
          local ids = q.last_idx:totable()
          for _, k in ipairs(ids) do counts[l][k] = true end
        end
      end
      if installed and sl.interrupted() then interrupted = true; break end
    end
    if interrupted then
      -- last.* on disk is the end of the previous epoch; overwriting it with this half epoch
      -- would make --resume replay batches, so the partial epoch is dropped instead.
      if epoch >= 1 then
        log(string.format("\ninterrupted during epoch %d: %s/last.* holds epoch %d (resume with --resume %s/last)",
          e, tostring(out), epoch, tostring(out)))
      else
        log(string.format("\ninterrupted during epoch 1: nothing saved"))
      end
      break
    end
    epoch = e
    local resets = 0
    if cfg.dead_code_reset_interval > 0 and e % cfg.dead_code_reset_interval == 0 then
      resets = model:reset_dead_codes()
    end
    local rec = { epoch = e, seconds = sl.wall_time() - t0, lr = opt.lr, resets = resets }
    for k, v in pairs(sums) do rec["train_" .. k] = v / math.max(nb, 1) end
    rec.utilisation, rec.perplexity = {}, {}
    local st_now = model:codebook_stats()
    for l = 1, model.levels do
      local used = 0
      for _ in pairs(counts[l]) do used = used + 1 end
      rec.utilisation[l] = used / cfg.token_codebook_sizes[l]
      rec.perplexity[l] = st_now.tok[l].perplexity
    end
    local do_val = Xva and (e % cfg.val_every_n_epochs == 0 or e == cfg.epochs)
    if do_val then
      local v = M.validate(model, Xva)
      rec.val_rec, rec.val_r2_tok, rec.val_r2_cat = v.val_rec, v.r2_tok, v.r2_cat
      rec.val_mse_tok, rec.val_mse_cat = v.mse_tok, v.mse_cat
    elseif not Xva then
      rec.val_rec = rec.train_rec and rec.train_rec / 2 or nil
    end
    local improved = false
    if rec.val_rec then
      if rec.val_rec < best - cfg.early_stopping_min_delta then
        best, best_epoch, since_best, improved = rec.val_rec, e, 0, true
      else
        since_best = since_best + 1
      end
    end
    rec.best = improved
    history[#history + 1] = rec
    if hist_file then hist_file:write(st.json_encode(rec), "\n"); hist_file:flush() end
    if improved then save("best_model", e, { epoch = e, metric = "val_rec", value = rec.val_rec }) end
    save("last", e, ckpt_extra(e))
    bar.label = string.format("train-vqvae  loss %.4f  val %s  R2 %s  util %s", rec.train_total or 0,
      rec.val_rec and string.format("%.4f", rec.val_rec) or "-",
      rec.val_r2_tok and fmt_levels(rec.val_r2_tok, "%.2f") or "-", fmt_levels(rec.utilisation, "%.2f"))
    bar:set(e)
    if opts.on_epoch then opts.on_epoch(rec, model) end
    if (installed and sl.interrupted()) or (opts.stop_after_epoch and e >= opts.stop_after_epoch) then
      -- opts.stop_after_epoch: the same path as Ctrl-C, at a chosen epoch (for specs and tools)
      interrupted = true
      log(string.format("\ninterrupted after epoch %d: saved %s/last.*", e, tostring(out)))
      break
    end
    -- Patience running out on the last configured epoch is not an early stop: every epoch ran.
    if since_best >= cfg.early_stopping_patience and e < cfg.epochs then
      stopped_early = true
      break
    end
  end
  bar:finish()
  local best_txt = best_epoch > 0 and string.format("best val_rec %.5g at epoch %d", best, best_epoch) or "no validation"
  local stop_reason
  if interrupted then
    stop_reason = "interrupted"
  elseif stopped_early then
    stop_reason = "early_stop"
    log(string.format("early stop at epoch %d of %d: no improvement of val_rec by %g for %d epochs (%s)",
      epoch, cfg.epochs, cfg.early_stopping_min_delta, since_best, best_txt))
  elseif epoch >= cfg.epochs then
    stop_reason = "finished"
    log(string.format("finished all %d epochs (%s)", cfg.epochs, best_txt))
  else
    stop_reason = "max_epochs"
    log(string.format("stopped after epoch %d of %d (max_epochs of this call; resume from last.*) (%s)",
      epoch, cfg.epochs, best_txt))
  end
  if installed and sl.signals_uninstall then sl.signals_uninstall() end
  if hist_file then hist_file:close() end
  local curves
  if out and not interrupted then
    save("final_model", epoch, { epoch = epoch })
    if best_epoch == 0 then save("best_model", epoch, { epoch = epoch, metric = "final", value = 0 }) end
    if plot.available() and #history > 0 then
      local tr_l, va_l = {}, {}
      for i, r in ipairs(history) do tr_l[i] = r.train_total or 0 / 0; va_l[i] = r.val_rec or 0 / 0 end
      plot.lines(out .. "/training_curves.png",
        { { values = tr_l, colour = 1, label = "train loss" }, { values = va_l, colour = 2, label = "val_rec" } },
        { log = true, title = "TRAINING CURVES", xlabel = "epoch", ylabel = "loss" })
      curves = out .. "/training_curves.png"
    else
      log("note: no PNG module in this build (sl.png_write); training curves are in history.jsonl only")
    end
  end
  local res = { model = model, history = history, best = best, best_epoch = best_epoch, epochs_run = epoch,
                interrupted = interrupted, stopped_early = stopped_early, stop_reason = stop_reason, output = out, curves = curves,
                seconds = sl.wall_time() - t_start, config = cfg, data = data }
  return res
end

return M
