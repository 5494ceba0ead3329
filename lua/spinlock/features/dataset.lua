-- Feature (re)extraction on an existing dataset file: `spinlock extract-features`.
--
-- Reads the stored trajectories (outputs/trajectories [N,M,T,C,G,G]) row by row, computes the
-- requested families with the file's own configuration (metadata attribute `config`, else the
-- defaults) plus any custom formula files into a side file, and only when every row succeeded
-- replaces features/<family> and features/<family>_quality (feature_names rewritten, /metadata
-- feature_families and custom_feature_files/_hashes updated).  A failing formula leaves the
-- dataset untouched.  Rows are processed one operator at a time so memory stays at one trajectory.
local sl = require "spinlock"
local features = require "spinlock.features"
local fconfig = require "spinlock.features.config"
local custom = require "spinlock.features.custom"
local dataset = require "spinlock.dataset"

local M = {}
local fmt = string.format
local user_error = custom.user_error

M.DEFAULT_FAMILIES = { "summary", "temporal" }

-- "summary,temporal" or {"sdf", "td"} -> canonical family list (file order kept, no duplicates)
function M.parse_families(v)
  if v == nil then return M.DEFAULT_FAMILIES end
  local list = {}
  if type(v) == "string" then
    for w in v:gmatch("[^,%s]+") do list[#list + 1] = w end
  else
    for _, w in ipairs(v) do
      for x in tostring(w):gmatch("[^,%s]+") do list[#list + 1] = x end
    end
  end
  local valid = { "initial", "architecture", "summary", "temporal", "ic", "nop", "sdf", "td" }
  local out, seen = {}, {}
  for _, w in ipairs(list) do
    local fam = fconfig.ALIASES[w] or w
    local known = false
    for _, f in ipairs(fconfig.FAMILIES) do if f == fam then known = true end end
    if not known then
      local hint = fconfig.suggest(w, valid)
      user_error(fmt("--families: unknown family '%s'%s", w,
        hint and fmt(" (did you mean '%s'?)", hint) or " (valid: " .. table.concat(valid, ", ") .. ")"))
    end
    if not seen[fam] then seen[fam] = true; out[#out + 1] = fam end
  end
  if #out == 0 then user_error("--families: no family given (valid: summary, temporal, initial, architecture)") end
  return out
end

local function load_config(f, path, warn)
  if not f:exists("metadata") then return nil end
  local ok, text = pcall(f.attr, f, "metadata", "config")
  if not ok or type(text) ~= "string" then return nil end
  local config = require "spinlock.config"
  local cfg, err
  local ok2, res = pcall(config.load_string, text, path .. ":/metadata@config", nil, { warn = false })
  if ok2 then cfg = res else err = res end
  if not cfg and warn then warn(fmt("%s: the stored config could not be read (%s); using the default feature settings", path, tostring(err))) end
  return cfg
end

local function dims_str(shape)
  local s = {}
  for i, d in ipairs(shape) do s[i] = tostring(d) end
  return "[" .. table.concat(s, ",") .. "]"
end

local COPY_BLOCK_BYTES = 8 * 1024 * 1024

local function prod(t, from)
  local n = 1
  for i = from or 1, #t do n = n * t[i] end
  return n
end

local function as_list(v)
  if type(v) == "string" then return { v } end
  return type(v) == "table" and v or {}
end

-- copies dataset `p` of file `src` into `dst` (created with `opts`) in row blocks
local function copy_dataset(src, dst, p, opts)
  local shape = src:info(p).shape
  dst:create_dataset(p, opts)
  local row = math.max(1, prod(shape, 2)) * 4
  local block = math.max(1, math.floor(COPY_BLOCK_BYTES / row))
  for r = 1, shape[1], block do
    local n = math.min(block, shape[1] - r + 1)
    dst:write(p, src:read(p, r, n), r)
  end
end

-- the summary columns of the operator_sensitivity category: {new column, old column or nil}
local function sensitivity_columns(fx, old_names)
  local reg = fx.registries.summary
  if not reg then return {} end
  local old = {}
  for i, n in ipairs(old_names or {}) do old[n] = i end
  local cols = {}
  for i, e in ipairs(reg:entries()) do
    if e.category == "operator_sensitivity" then cols[#cols + 1] = { i, old[e.name] } end
  end
  return cols
end

--- extract_file(path, opts) -> { rows =, families = {...}, shapes = { fam = {...} }, sensitivity = "..." }
-- opts: families (list or "a,b"), features (list of custom formula files), modules (test
-- doubles), operator (operator module double), progress (default true), warn (function(msg)),
-- level (gzip, default from config or 4).
--
-- All rows are computed into a side file (<path>.extract-tmp.h5) first; only when every row
-- succeeded are the families swapped into the dataset (old datasets deleted, new ones copied in)
-- and /metadata updated.  A failing formula or an interrupt leaves the dataset as it was.
-- Operator sensitivity is recomputed from operators rebuilt from the file's stored config, seed
-- and operator index (generate.rebuild_operator); when that is impossible, existing sensitivity
-- columns are kept, else they are NaN with quality 1.  Operator numbers in messages are the
-- dataset's metadata/operator_index values, as in generate's.
function M.extract_file(path, opts)
  opts = opts or {}
  local h5 = sl.h5
  local warn = opts.warn or function() end
  if not h5.is_hdf5(path) then
    local fh = io.open(path, "rb")
    if fh then fh:close(); user_error(fmt("%s is not an HDF5 file", path)) end
    user_error(fmt("dataset file '%s' not found", path))
  end
  local families = opts.families ~= nil and M.parse_families(opts.families) or nil
  local f = h5.open(path, "r+")
  local side_path = path .. ".extract-tmp.h5"
  local side
  local ok, res = pcall(function()
    if not f:exists("outputs/trajectories") then
      user_error(fmt("%s has no stored trajectories (outputs/trajectories), so its features cannot be recomputed; " ..
        "regenerate it with dataset.storage.store_trajectories: true in the config", path))
    end
    local info = f:info("outputs/trajectories")
    local shp = info.shape
    if #shp ~= 6 or shp[5] ~= shp[6] then
      user_error(fmt("%s: outputs/trajectories has shape %s; expected [N,M,T,C,G,G]", path, dims_str(shp)))
    end
    local N, Mr, T, C, G = shp[1], shp[2], shp[3], shp[4], shp[5]
    local attrs = f:exists("metadata") and f:attrs("metadata") or {}
    local cfg = load_config(f, path, opts.warn)
    local fc = fconfig.from(cfg, { modules = opts.modules })
    if not families then
      -- default: the trajectory families the file's config enables (both when it enables neither)
      families = {}
      for _, fam in ipairs(M.DEFAULT_FAMILIES) do if fc[fam] then families[#families + 1] = fam end end
      if #families == 0 then families = M.DEFAULT_FAMILIES end
    end
    local sec = {}
    for k, v in pairs(fc) do sec[k] = v end
    for _, fam in ipairs(fconfig.FAMILIES) do sec[fam] = false end
    for _, fam in ipairs(families) do sec[fam] = true end
    local params = {}
    if cfg then params = require("spinlock.config").parameters(cfg) end
    local src = type(attrs.config_source) == "string" and attrs.config_source or ""
    local fx = features.new({ features = sec, sampling = cfg and cfg.sampling },
      { M = Mr, T = T, C = C, G = G, parameters = params, custom = opts.features, modules = opts.modules,
        custom_base = src:match("^(.*)/[^/]*$") })

    local need_ic, need_unit = fx.registries.initial ~= nil, fx.registries.architecture ~= nil
    if need_ic and not f:exists("inputs/fields") then
      user_error(fmt("%s has no inputs/fields, which the initial family needs", path))
    end
    if need_unit and not f:exists("parameters/params") then
      user_error(fmt("%s has no parameters/params, which the architecture family needs", path))
    end

    -- operator numbers: the dataset's own indices (metadata/operator_index), as generate uses
    local op_indices
    if f:exists("metadata/operator_index") then op_indices = f:read("metadata/operator_index") end
    local function op_index_of(i)
      if op_indices then return op_indices[i] end
      return (attrs.first_operator or 0) + i - 1
    end

    local schema = fx:schema()
    local fams = fx:families()

    -- what the file holds now: names (for the dropped-column warning and the sensitivity fallback)
    local old_names = {}
    for _, fam in ipairs(fams) do
      local p = "features/" .. fam
      if f:exists(p) then old_names[fam] = f:attr(p, "feature_names") or {} end
    end
    local recorded = as_list(attrs.custom_feature_files)
    for _, fam in ipairs(fams) do
      local new = {}
      for _, n in ipairs(schema[fam].names) do new[n] = true end
      local lost = {}
      for _, n in ipairs(old_names[fam] or {}) do if not new[n] then lost[#lost + 1] = n end end
      if #lost > 0 then
        local shown = #lost > 8 and (table.concat(lost, ", ", 1, 8) .. fmt(", … (%d in all)", #lost)) or table.concat(lost, ", ")
        warn(fmt("re-extracting features/%s drops %d column(s) the file has: %s%s", fam, #lost, shown,
          #recorded > 0 and fmt(" (the file was made with custom formulas from %s; pass them with --features to keep them)",
            table.concat(recorded, ", ")) or " (custom formulas? pass their file with --features to keep them)"))
      end
    end

    -- operator sensitivity: rebuild the operators, else keep the stored columns
    local sens_cols = sensitivity_columns(fx, old_names.summary)
    local rebuild, sens_status = nil, "off"
    if #sens_cols > 0 then
      local why
      if not cfg then why = "the file has no readable stored config"
      elseif not op_indices then why = "the file has no metadata/operator_index"
      elseif attrs.seed == nil then why = "the file records no seed" end
      if not why then
        local generate = require "spinlock.generate"
        rebuild = function(i)
          return generate.rebuild_operator(f, attrs, i, { cfg = cfg, operator = opts.operator })
        end
        local okb, e = pcall(rebuild, 1)
        if not okb then why = "rebuilding operator " .. tostring(op_index_of(1)) .. " failed: " .. tostring(type(e) == "table" and e.msg or e); rebuild = nil end
      end
      if rebuild then
        sens_status = "recomputed"
      else
        local kept = old_names.summary and #sens_cols > 0 and sens_cols[1][2] ~= nil
        sens_status = kept and "kept" or "nan"
        warn(fmt("%s: operator sensitivity cannot be recomputed (%s); %s", path, why,
          kept and "the stored sensitivity columns are kept" or "its columns are NaN (quality 1)"))
      end
    end
    local keep_old = sens_status == "kept"
    local old_sum, old_q
    if keep_old then
      old_sum = f:read("features/summary")
      if f:exists("features/summary_quality") then old_q = f:read("features/summary_quality") end
    end

    -- compute every row into the side file
    local level = opts.level or (cfg and cfg.dataset and cfg.dataset.storage.compression_level) or 4
    local dsopts = {}
    os.remove(side_path)
    side = h5.open(side_path, "w")
    for _, fam in ipairs(fams) do
      local s = schema[fam]
      local shape, chunks = { N }, { 1 }
      for _, d in ipairs(s.shape) do shape[#shape + 1] = d; chunks[#chunks + 1] = d end
      for _, suffix in ipairs({ "", "_quality" }) do
        local o = { shape = shape, chunks = chunks, dtype = suffix == "" and "float32" or "uint8",
                    compression = level > 0 and "gzip" or "none", level = level > 0 and level or nil,
                    shuffle = level > 0 }
        dsopts["features/" .. fam .. suffix] = o
        side:create_dataset("features/" .. fam .. suffix, o)
      end
    end

    local bar
    if opts.progress ~= false then
      bar = require("spinlock.progress").new { total = N, label = "extract-features", unit = "op" }
    end
    for i = 1, N do
      local a = { op_index = op_index_of(i), seed = attrs.seed }
      if fx.registries.summary or fx.registries.temporal then
        a.traj = f:read("outputs/trajectories", { i }, { 1 }):select(1, 1)
      end
      if need_ic or (rebuild and f:exists("inputs/fields")) then
        a.ic = f:read("inputs/fields", { i }, { 1 }):select(1, 1)   -- the float32 IC the generator probed
      end
      if need_unit then
        -- mapped values are decoded from the unit row by architecture.lua with the file's config
        a.unit = f:read("parameters/params", { i }, { 1 }):select(1, 1)
      end
      local op
      if rebuild then op = rebuild(i); a.operator = op end
      local r = fx:extract(a)
      if op then pcall(function() op:free() end) end
      if keep_old and r.summary then
        for _, c in ipairs(sens_cols) do
          if c[2] then
            local v = old_sum:get(i, c[2])
            r.summary[c[1]] = v
            r.quality.summary[c[1]] = old_q and old_q:get(i, c[2]) or ((v == v and v ~= math.huge and v ~= -math.huge) and 0 or 1)
          end
        end
      end
      for _, fam in ipairs(fams) do
        side:write("features/" .. fam, r[fam], i)
        side:write("features/" .. fam .. "_quality", r.quality[fam], i)
      end
      if bar then bar:update() end
      if sl.interrupted and sl.interrupted() then
        user_error(fmt("interrupted after %d of %d operators; %s is unchanged", i, N, path))
      end
    end
    if bar then bar:finish() end
    side:flush()

    -- every row succeeded: swap the families in and record them in /metadata
    for _, fam in ipairs(fams) do
      for _, suffix in ipairs({ "", "_quality" }) do
        local p = "features/" .. fam .. suffix
        if f:exists(p) then f:delete(p) end
        copy_dataset(side, f, p, dsopts[p])
      end
      f:set_attr("features/" .. fam, "feature_names", schema[fam].names)
      f:set_attr("features/" .. fam .. "_quality", "meaning", dataset.QUALITY_MEANING)
    end
    if f:exists("metadata") then
      local set = {}
      for _, fam in ipairs(as_list(attrs.feature_families)) do set[fam] = true end
      for _, fam in ipairs(fams) do set[fam] = true end
      f:set_attr("metadata", "feature_families", dataset.family_order(set))
      local rec = custom.records(fx.custom_files)
      f:set_attr("metadata", "custom_feature_files", rec.files)
      f:set_attr("metadata", "custom_feature_hashes", rec.hashes)
    end
    f:flush()
    local shapes = {}
    for _, fam in ipairs(fams) do
      local s = { N }
      for _, d in ipairs(schema[fam].shape) do s[#s + 1] = d end
      shapes[fam] = s
    end
    return { rows = N, families = fams, shapes = shapes, sensitivity = sens_status }
  end)
  if side then pcall(side.close, side); os.remove(side_path) end
  f:close()
  if not ok then error(res, 0) end
  return res
end

return M
