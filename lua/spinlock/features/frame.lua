-- spinlock.features.frame — the per-frame feature catalog and kernel (engine/core/feat_frame.c).
--
--   local frame = require "spinlock.features.frame"
--   frame.catalog(cfg)        → ordered list of {name=, category=, formula=, meaning=}
--   frame.compute(traj, cfg)  → [M,T,D] float32 tensor (NaN where a value is not computable)
--   frame.width(cfg)          → D (depends on cfg only, never on the data)
--   frame.categories()        → ordered list of {name=, count=} for all categories
--
-- cfg (optional) is the `features.frame` section of the experiment config, or a table holding
-- it under `.frame`.  Keys:
--   categories = list of category names ({"spatial", "spectral"}) or a map {physics = false, …}
--                (a map starts from all categories enabled).  Default: all eight.
-- traj is [M,T,C,H,W] (a [T,C,H,W] tensor is taken as M = 1); any float dtype and strides.
local core = require "spinlock.core"

local M = {}

local ALL = {}
for i, c in ipairs(core.feat_frame_categories()) do ALL[i] = c.name end
M.ALL_CATEGORIES = ALL

local KNOWN_KEYS = { categories = true }

local function is_list(t)
  return type(t) == "table" and (#t > 0 or next(t) == nil)
end

local function known_category(name)
  for _, c in ipairs(ALL) do if c == name then return true end end
  return false
end

local function check_category(name)
  if type(name) ~= "string" or not known_category(name) then
    error(("features.frame.categories: unknown category '%s' (expected one of %s)")
          :format(tostring(name), table.concat(ALL, ", ")), 3)
  end
end

-- Resolves cfg into the ordered list of enabled category names.
function M.enabled_categories(cfg)
  if cfg == nil then return ALL end
  if type(cfg) ~= "table" then
    error("features.frame: expected a table (or nil), got " .. type(cfg), 2)
  end
  if type(cfg.frame) == "table" then cfg = cfg.frame end
  for k in pairs(cfg) do
    if not KNOWN_KEYS[k] then
      error(("features.frame: unknown key '%s' (known: categories)"):format(tostring(k)), 2)
    end
  end
  local cats = cfg.categories
  if cats == nil then return ALL end
  if type(cats) ~= "table" then
    error("features.frame.categories: expected a list or a map of category names, got " .. type(cats), 2)
  end
  local on = {}
  if is_list(cats) then
    for _, name in ipairs(cats) do check_category(name); on[name] = true end
  else
    for _, name in ipairs(ALL) do on[name] = true end
    for name, v in pairs(cats) do
      check_category(name)
      if type(v) ~= "boolean" then
        error(("features.frame.categories.%s: expected true or false, got %s"):format(name, type(v)), 2)
      end
      on[name] = v
    end
  end
  local out = {}
  for _, name in ipairs(ALL) do if on[name] then out[#out + 1] = name end end
  return out
end

function M.catalog(cfg)
  return core.feat_frame_catalog(M.enabled_categories(cfg))
end

function M.width(cfg)
  return #M.catalog(cfg)
end

function M.categories()
  return core.feat_frame_categories()
end

function M.compute(traj, cfg)
  local cats = M.enabled_categories(cfg)
  if type(traj) ~= "userdata" then
    error("features.frame.compute: traj must be a tensor [M,T,C,H,W], got " .. type(traj), 2)
  end
  if traj:dim() == 4 then traj = traj:view(1, unpack(traj:shape())) end
  return core.feat_frame(traj, cats)
end

return M
