-- Feature (re)extraction on an existing dataset file: `spinlock extract-features`.
--
-- Reads the stored trajectories (outputs/trajectories [N,M,T,C,G,G]) row by row, computes the
-- requested families with the file's own configuration (metadata attribute `config`, else the
-- defaults) plus any custom formula files, and replaces features/<family> and
-- features/<family>_quality in place (delete + recreate, `feature_names` attribute rewritten).
-- Rows are processed one operator at a time so memory stays at one trajectory; the file is
-- flushed every few rows and closed even when a formula fails.
local sl = require "spinlock"
local features = require "spinlock.features"
local fconfig = require "spinlock.features.config"
local custom = require "spinlock.features.custom"

local M = {}
local fmt = string.format
local user_error = custom.user_error

M.DEFAULT_FAMILIES = { "summary", "temporal" }
local FLUSH_EVERY = 16

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

--- extract_file(path, opts) -> { rows =, families = {...}, shapes = { fam = {...} } }
-- opts: families (list or "a,b"), features (list of custom formula files), modules (test
-- doubles), progress (default true), warn (function(msg)), level (gzip, default from config or 4)
function M.extract_file(path, opts)
  opts = opts or {}
  local h5 = sl.h5
  if not h5.is_hdf5(path) then
    local fh = io.open(path, "rb")
    if fh then fh:close(); user_error(fmt("%s is not an HDF5 file", path)) end
    user_error(fmt("dataset file '%s' not found", path))
  end
  local families = opts.families ~= nil and M.parse_families(opts.families) or nil
  local f = h5.open(path, "r+")
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
    local fx = features.new({ features = sec, sampling = cfg and cfg.sampling },
      { M = Mr, T = T, C = C, G = G, parameters = params, custom = opts.features, modules = opts.modules })

    local need_ic, need_unit = fx.registries.initial ~= nil, fx.registries.architecture ~= nil
    if need_ic and not f:exists("inputs/fields") then
      user_error(fmt("%s has no inputs/fields, which the initial family needs", path))
    end
    if need_unit and not f:exists("parameters/params") then
      user_error(fmt("%s has no parameters/params, which the architecture family needs", path))
    end

    local level = opts.level or (cfg and cfg.dataset and cfg.dataset.storage.compression_level) or 4
    local schema = fx:schema()
    local fams = fx:families()
    for _, fam in ipairs(fams) do
      local s = schema[fam]
      local shape, chunks = { N }, { 1 }
      for _, d in ipairs(s.shape) do shape[#shape + 1] = d; chunks[#chunks + 1] = d end
      for _, suffix in ipairs({ "", "_quality" }) do
        local p = "features/" .. fam .. suffix
        if f:exists(p) then f:delete(p) end
        f:create_dataset(p, { shape = shape, chunks = chunks, dtype = suffix == "" and "float32" or "uint8",
                              compression = level > 0 and "gzip" or "none", level = level > 0 and level or nil,
                              shuffle = level > 0 })
      end
      f:set_attr("features/" .. fam, "feature_names", s.names)
      f:set_attr("features/" .. fam .. "_quality", "meaning", "0 = ok, 1 = not computable (NaN/Inf stored), 2 = computed from the finite inputs only (some were NaN/Inf)")
    end

    local bar
    if opts.progress ~= false then
      local pok, progress = pcall(require, "spinlock.progress")
      if pok then bar = progress.new { total = N, label = "extract-features", unit = "op" } end
    end
    for i = 1, N do
      local a = { op_index = i }
      if fx.registries.summary or fx.registries.temporal then
        a.traj = f:read("outputs/trajectories", { i }, { 1 }):select(1, 1)
      end
      if need_ic then
        local x = f:read("inputs/fields", { i }, { 1 })
        a.ic = x:select(1, 1)
      end
      if need_unit then
        -- mapped values are decoded from the unit row by architecture.lua with the file's config
        a.unit = f:read("parameters/params", { i }, { 1 }):select(1, 1)
      end
      local r = fx:extract(a)
      for _, fam in ipairs(fams) do
        f:write("features/" .. fam, r[fam], i)
        f:write("features/" .. fam .. "_quality", r.quality[fam], i)
      end
      if i % FLUSH_EVERY == 0 then f:flush() end
      if bar then bar:update() end
      if sl.interrupted and sl.interrupted() then
        user_error(fmt("interrupted after %d of %d operators; %s now holds partial features (rerun extract-features to complete them)", i, N, path))
      end
    end
    if bar then bar:finish() end
    local shapes = {}
    for _, fam in ipairs(fams) do
      local s = { N }
      for _, d in ipairs(schema[fam].shape) do s[#s + 1] = d end
      shapes[fam] = s
    end
    return { rows = N, families = fams, shapes = shapes }
  end)
  f:close()
  if not ok then error(res, 0) end
  return res
end

return M
