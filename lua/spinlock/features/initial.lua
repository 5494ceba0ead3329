-- spinlock.features.initial — the INITIAL family: 14 hand-made features of an initial condition
-- and a 28-dimensional fixed-seed CNN embedding (engine/core/feat_initial.c).
--
--   local initial = require "spinlock.features.initial"
--   initial.catalog(cfg)          → ordered list of {name=, category=, formula=, meaning=}
--   initial.width(cfg)            → D (42 by default; 14 or 28 with one part off)
--   initial.compute(ic, cfg, M)   → [M, D] float32
--   initial.compute_batch(ics, cfg) → [B, D] float32, one row per IC of ics [B, C, H, W]
--
-- ic: [C, H, W] (one IC shared by the M realizations: the row is computed once and repeated
-- M times), [M, C, H, W] (one IC per realization), or [H, W] (one channel).  Any float dtype and
-- strides.  Channel policy: manual features are computed per channel and averaged over the
-- channels (finite values only); the CNN sees all channels at once.
--
-- cfg (optional): the `features.initial` section of the experiment config (or a table holding it
-- under `.initial`; `true` = defaults).  Keys:
--   manual          (true)  the 14 hand-made features
--   cnn             (true)  the 28 CNN components
--   cnn_input_size  (64)    side the IC is resampled to before the CNN (16..512)
local core = require "spinlock.core"

local M = {}

M.DEFAULTS = { manual = true, cnn = true, cnn_input_size = 64 }
M.NMANUAL, M.NCNN = 14, 28

local KNOWN = { manual = "boolean", cnn = "boolean", cnn_input_size = "number" }

--- Resolves cfg into {manual=, cnn=, cnn_input_size=}; raises on unknown keys or bad values.
function M.options(cfg)
  if cfg == nil or cfg == true then cfg = {} end
  if type(cfg) ~= "table" then
    error("features.initial: expected a table (or nil/true), got " .. type(cfg), 2)
  end
  if type(cfg.initial) == "table" then cfg = cfg.initial end
  local o = {}
  for k, v in pairs(cfg) do
    local want = KNOWN[k]
    if not want then
      error(("features.initial: unknown key '%s' (known: manual, cnn, cnn_input_size)"):format(tostring(k)), 2)
    end
    if type(v) ~= want then
      error(("features.initial.%s: expected a %s, got %s"):format(k, want, type(v)), 2)
    end
  end
  for k, d in pairs(M.DEFAULTS) do
    if cfg[k] == nil then o[k] = d else o[k] = cfg[k] end
  end
  local s = o.cnn_input_size
  if s ~= math.floor(s) or s < 16 or s > 512 then
    error(("features.initial.cnn_input_size: expected a whole number in [16, 512], got %s"):format(tostring(s)), 2)
  end
  if not o.manual and not o.cnn then
    error("features.initial: both parts are off (manual = false, cnn = false); turn the family off instead", 2)
  end
  return o
end

function M.catalog(cfg)
  local o = M.options(cfg)
  local all = core.feat_initial_catalog()
  local out = {}
  for i, d in ipairs(all) do
    if (i <= M.NMANUAL and o.manual) or (i > M.NMANUAL and o.cnn) then out[#out + 1] = d end
  end
  return out
end

function M.width(cfg)
  local o = M.options(cfg)
  return (o.manual and M.NMANUAL or 0) + (o.cnn and M.NCNN or 0)
end

function M.names(cfg)
  local t = {}
  for i, d in ipairs(M.catalog(cfg)) do t[i] = d.name end
  return t
end

local function check_tensor(x, what)
  if type(x) ~= "userdata" or type(x.dim) ~= "function" then
    error(("features.initial.%s: expected a tensor, got %s"):format(what, type(x)), 3)
  end
end

--- ics [B, C, H, W] → [B, D].
function M.compute_batch(ics, cfg)
  local o = M.options(cfg)
  check_tensor(ics, "compute_batch")
  if ics:dim() ~= 4 then
    error(("features.initial.compute_batch: ics must be [B,C,H,W], got %d dims"):format(ics:dim()), 2)
  end
  local parts = {}
  if o.manual then parts[#parts + 1] = core.feat_initial_manual(ics) end
  if o.cnn then parts[#parts + 1] = core.feat_initial_cnn(ics, o.cnn_input_size) end
  if #parts == 1 then return parts[1] end
  local B = ics:size(1)
  local out = core.zeros({ B, M.NMANUAL + M.NCNN }, "float32")
  out:narrow(2, 1, M.NMANUAL):copy(parts[1])
  out:narrow(2, M.NMANUAL + 1, M.NCNN):copy(parts[2])
  return out
end

--- ic [C,H,W] (shared), [M,C,H,W] (per realization) or [H,W] → [M, D].
function M.compute(ic, cfg, nreal)
  check_tensor(ic, "compute")
  local d = ic:dim()
  if d == 2 then ic = ic:view(1, 1, ic:size(1), ic:size(2)); d = 4; nreal = nreal or 1
    local row = M.compute_batch(ic, cfg)
    return row:expand(nreal, row:size(2)):contiguous()
  end
  if d == 3 then
    nreal = nreal or 1
    if type(nreal) ~= "number" or nreal < 1 or nreal ~= math.floor(nreal) then
      error("features.initial.compute: M must be a whole number >= 1, got " .. tostring(nreal), 2)
    end
    local row = M.compute_batch(ic:view(1, ic:size(1), ic:size(2), ic:size(3)), cfg)
    return row:expand(nreal, row:size(2)):contiguous()
  end
  if d == 4 then
    if nreal ~= nil and nreal ~= ic:size(1) then
      error(("features.initial.compute: ic has %d realizations but M = %s"):format(ic:size(1), tostring(nreal)), 2)
    end
    return M.compute_batch(ic, cfg)
  end
  error(("features.initial.compute: ic must be [C,H,W], [M,C,H,W] or [H,W], got %d dims"):format(d), 2)
end

return M
