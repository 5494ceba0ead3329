-- spinlock.vqvae — the behavioural tokenizer: categorical hierarchical VQ-VAE, checkpoints, tokens.
--
--   local vqvae = require "spinlock.vqvae"
--   local model = vqvae.load("checkpoints/vqvae/best_model")      -- .safetensors + .json
--   local coarse, medium, fine = model:get_tokens(features)        -- int64 [N] each, 0-based
--   local codes, names = model:get_category_codes(features)        -- int64 [N, C, L], category names
--
-- `features` is the raw per-operator matrix as spinlock.cleaning.load assembles it from a dataset
-- (the checkpoint re-applies the fitted cleaning, normalisation and column order), a dataset path,
-- or already-prepared rows with {prepared = true}.  See docs/vqvae.md.
local sl = require "spinlock"
local st = require "spinlock.safetensors"
local model_mod = require "spinlock.vqvae.model"
local quantizer = require "spinlock.vqvae.quantizer"
local util = require "spinlock.vqvae.util"

local M = {}
M.Model = model_mod.Model
M.DEFAULTS = model_mod.DEFAULTS
M.FORMAT = "spinlock-vqvae"
-- 2: category_decoder / latent_norm (an older reader would drop the block decoder's weights
-- without a word, so it must refuse these files instead).
M.FORMAT_VERSION = 2
M.util = util

local Model = model_mod.Model

-- build(cfg, categories [, transform]): categories = {{name, size}} in model column order;
-- transform describes how raw features become model input (see prepare).
function M.build(cfg, categories, transform)
  local m = Model(cfg, categories)
  m.transform = transform or {}
  return m
end

-- ------------------------------------------------------------------ preparing inputs

-- prepare(features [, opts]) → float32 [N, input_dim] in model column order.
-- features: tensor with the raw columns the model was trained on (transform.names_in), or the
-- cleaned columns (transform.names), or prepared rows (opts.prepared); or a dataset path / list.
function Model:prepare(features, opts)
  opts = opts or {}
  local tr = self.transform or {}
  if type(features) == "string" or (type(features) == "table" and not sl.is_tensor(features)) then
    features = require("spinlock.cleaning").load(features, { families = tr.families })
  end
  if not sl.is_tensor(features) or features:dim() ~= 2 then
    sl.user_error("vqvae: features must be a 2-D tensor [N, D], got %s",
      sl.is_tensor(features) and ("[" .. table.concat(features:shape(), ",") .. "]") or type(features))
  end
  local x = features:float()
  local W = x:size(2)
  if opts.prepared then
    if W ~= self.input_dim then
      sl.user_error("vqvae: prepared features must have %d columns, got %d", self.input_dim, W)
    end
    return x:contiguous()
  end
  local n_in = tr.names_in and #tr.names_in or nil
  if tr.cleaning and n_in and W == n_in then
    if not self._cleaner then self._cleaner = require("spinlock.cleaning").from_state(tr.cleaning) end
    x = self._cleaner:transform(x):float()
    W = x:size(2)
  elseif tr.centre and W == #tr.centre then
    -- No cleaner: plain standardisation with the stored statistics.
    x = sl.div(sl.sub(x, sl.tensor(tr.centre):view(1, W)), sl.tensor(tr.scale):view(1, W))
  elseif n_in and W ~= n_in and (not tr.names or W ~= #tr.names) then
    sl.user_error("vqvae: features have %d columns; this model expects %d raw columns (%s …)",
      W, n_in, tostring(tr.names_in[1]))
  end
  if tr.column_order then
    if W ~= #tr.column_order then
      sl.user_error("vqvae: features have %d columns after cleaning, the model's column map has %d", W, #tr.column_order)
    end
    x = util.select_columns(x, tr.column_order)
  end
  if x:size(2) ~= self.input_dim then
    sl.user_error("vqvae: features have %d columns, the model expects %d", x:size(2), self.input_dim)
  end
  return x:contiguous()
end

-- Inference in evaluation mode on prepared rows, in blocks of opts.batch_size (4096).  With
-- fn, calls fn(block_result, first_row, rows) per block and keeps nothing (memory stays bounded
-- for big N); without, returns the list of block results.
function Model:run_inference(x, opts, fn)
  opts = opts or {}
  local was = self.training
  self:evaluate()
  local N = x:size(1)
  local bs = opts.batch_size or 4096
  local parts = {}
  for s = 1, N, bs do
    local n = math.min(bs, N - s + 1)
    local qo = self:infer(x:narrow(1, s, n))
    if fn then fn(qo, s, n) else parts[#parts + 1] = qo end
  end
  self:train(was)
  return parts
end

-- get_tokens(features [, opts]) → one int64 [N] tensor per level (coarse, medium, fine for L = 3).
function Model:get_tokens(features, opts)
  opts = opts or {}
  local x = self:prepare(features, opts)
  local out = {}
  for l = 1, self.levels do out[l] = sl.empty({ x:size(1) }, "int64") end
  self:run_inference(x, opts, function(qo, s, n)
    for l = 1, self.levels do out[l]:narrow(1, s, n):copy(sl.sub(qo.tok_idx[l], 1)) end
  end)
  return unpack(out)
end

-- get_category_codes(features [, opts]) → int64 [N, C, L] (0-based code of category c at level l)
-- and the category names in order.  codes:view(N, C·L) is the reference's token layout (§3.8).
function Model:get_category_codes(features, opts)
  opts = opts or {}
  local x = self:prepare(features, opts)
  local N, C, L = x:size(1), #self.categories, self.levels
  local codes = sl.empty({ N, C, L }, "int64")
  self:run_inference(x, opts, function(qo, s, n)
    for i = 1, C do
      for l = 1, L do
        codes:narrow(1, s, n):select(2, i):select(2, l):copy(sl.sub(qo.cat_idx[i][l], 1))
      end
    end
  end)
  local names = {}
  for i, c in ipairs(self.categories) do names[i] = c.name end
  return codes, names
end

-- reconstruct(features, {path = "tok"|"cat", level = l, prepared}) → x̂ in model column order.
function Model:reconstruct(features, opts)
  opts = opts or {}
  local x = self:prepare(features, opts)
  local parts = self:run_inference(x, opts)
  local was = self.training
  self:evaluate()
  local level = opts.level or self.levels
  local path = opts.path or "tok"
  local out = sl.empty({ x:size(1), self.input_dim })
  local off = 1
  for _, b in ipairs(parts) do
    local pre = (path == "cat" and b.cat_prefix or b.tok_prefix)[level]
    local xh = self:decode(pre)
    out:narrow(1, off, xh:size(1)):copy(xh)
    off = off + xh:size(1)
  end
  self:train(was)
  return out, x
end

-- Names of the model's input columns, in model column order.
function Model:feature_names()
  local tr = self.transform or {}
  if tr.names and tr.column_order then
    local out = {}
    for i, c in ipairs(tr.column_order) do out[i] = tr.names[c] end
    return out
  end
  return tr.model_names
end

-- ------------------------------------------------------------------ checkpoints

-- Splits a nested table into a JSON-able tree and a flat {key = tensor} map: every tensor becomes
-- {["__tensor__"] = key}.  Keys are the path joined with "/".
local function pack(v, key, tensors)
  if sl.is_tensor(v) then
    tensors[key] = v:contiguous()
    return { __tensor__ = key }
  end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    out[k] = pack(x, key .. "/" .. tostring(k), tensors)
  end
  if #v > 0 then setmetatable(out, { __json_array = true }) end
  return out
end

local function unpack_tree(v, tensors)
  if type(v) ~= "table" or v == st.null then return v end
  if v.__tensor__ then
    local t = tensors[v.__tensor__]
    if not t then error("vqvae checkpoint: missing tensor " .. v.__tensor__, 0) end
    return t
  end
  local out = {}
  for k, x in pairs(v) do out[k] = unpack_tree(x, tensors) end
  return out
end
M._pack, M._unpack = pack, unpack_tree

-- The base name of a checkpoint path.  ".pt" / ".pth" are aliases of the base name: the
-- reference (and the user's guide) name checkpoints best_model.pt, ours are best_model.{safetensors,json}.
local function strip_ext(path)
  for _, ext in ipairs { "%.safetensors$", "%.json$", "%.pt$", "%.pth$" } do
    local b, n = path:gsub(ext, "")
    if n > 0 then return b end
  end
  return path
end

-- save(base [, extra]) writes base.safetensors (every tensor) and base.json (everything else:
-- config, categories, transform, versions, extra such as epoch/metrics/optimizer).  Returns base.
function Model:save(base, extra)
  base = strip_ext(base)
  local tensors = {}
  local doc = {
    format = M.FORMAT, format_version = M.FORMAT_VERSION, spinlock_version = sl.version,
    quantizer_backend = quantizer.backend,
    created = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    config = self.cfg,
    training_config = self.cfg_full,
    categories = self.categories,
    levels = self.levels,
    input_dim = self.input_dim,
    transform = pack(self.transform or {}, "transform", tensors),
    weights = pack(self:state_dict(), "model", tensors),
    quantizers = pack(self:quantizer_states(), "quantizers", tensors),
    rng = self:rng_state(),
    extra = extra and pack(extra, "extra", tensors) or nil,
  }
  local json = st.json_encode(doc)
  st.save(base .. ".safetensors", tensors, { format = M.FORMAT, format_version = tostring(M.FORMAT_VERSION),
                                             spinlock_version = sl.version })
  local tmp = base .. ".json.tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(json, "\n")
  f:close()
  assert(os.rename(tmp, base .. ".json"))
  return base
end

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close(); return true end
  return false
end

-- Resolves a checkpoint argument: base path, .safetensors, .json, .pt/.pth (alias of the base
-- name), or a directory (best_model, else final_model).
function M.resolve(path)
  local base = strip_ext(path)
  if exists(base .. ".json") and exists(base .. ".safetensors") then return base end
  if path ~= base and path:match("%.pth?$") and exists(path) then
    sl.user_error("vqvae: %s is not a spinlock checkpoint (a PyTorch file?); spinlock reads %s.safetensors + %s.json",
      path, base, base)
  end
  for _, name in ipairs { "best_model", "final_model" } do
    local b = path:gsub("/+$", "") .. "/" .. name
    if exists(b .. ".json") then return b end
  end
  sl.user_error("vqvae: no checkpoint at '%s' (expected %s.safetensors and %s.json, or a folder with best_model.*)",
    path, base, base)
end

-- load(path) → model in evaluation mode, with model.checkpoint = the metadata document.
function M.load(path)
  local base = M.resolve(path)
  local f = assert(io.open(base .. ".json", "r"))
  local text = f:read("*a")
  f:close()
  local ok, doc = pcall(st.json_decode, text)
  if not ok then sl.user_error("vqvae: %s.json is not valid JSON (%s)", base, tostring(doc)) end
  if doc.format ~= M.FORMAT then
    sl.user_error("vqvae: %s.json is not a spinlock VQ-VAE checkpoint (format %s)", base, tostring(doc.format))
  end
  if (doc.format_version or 0) > M.FORMAT_VERSION then
    sl.user_error("vqvae: %s was written by a newer version (format %d > %d)", base, doc.format_version, M.FORMAT_VERSION)
  end
  local tensors = st.load(base .. ".safetensors")
  local cats = {}
  for i, c in ipairs(doc.categories) do cats[i] = { name = c.name, size = c.size } end
  local cfg = {}
  for k, v in pairs(doc.config or {}) do cfg[k] = v end
  -- Checkpoints written before the block decoder existed have no such key and no such weights.
  if cfg.category_decoder == nil then cfg.category_decoder = "none" end
  local m = Model(cfg, cats)
  m.transform = unpack_tree(doc.transform, tensors)
  m:load_state_dict(unpack_tree(doc.weights, tensors))
  m:load_quantizer_states(unpack_tree(doc.quantizers, tensors))
  m:set_rng_state(doc.rng)
  m.checkpoint = doc
  m.checkpoint_extra = doc.extra and unpack_tree(doc.extra, tensors) or nil
  m.checkpoint_path = base
  m:evaluate()
  return m
end

return M
