-- spinlock.vqvae.plot — tiny raster charts (training curves, codebook usage, R² by level) written
-- through the PNG module (sl.png_write) when the build has it.  No text rendering: each chart's
-- series, colours and ranges are stated in the JSON/log written next to it.
local ffi = require "ffi"
local sl = require "spinlock"

local M = {}

M.COLOURS = { { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 },
              { 148, 103, 189 }, { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 } }

function M.available() return type(sl.png_write) == "function" end

local Canvas = {}
Canvas.__index = Canvas

local function canvas(W, H)
  local img = sl.full({ H, W, 3 }, 255, "uint8")
  return setmetatable({ img = img, W = W, H = H, p = ffi.cast("uint8_t *", img:ptr()) }, Canvas)
end

function Canvas:px(x, y, c)
  x, y = math.floor(x + 0.5), math.floor(y + 0.5)
  if x < 0 or y < 0 or x >= self.W or y >= self.H then return end
  local o = (y * self.W + x) * 3
  self.p[o], self.p[o + 1], self.p[o + 2] = c[1], c[2], c[3]
end

function Canvas:line(x0, y0, x1, y1, c, thick)
  local n = math.max(1, math.ceil(math.max(math.abs(x1 - x0), math.abs(y1 - y0))))
  thick = thick or 1
  for i = 0, n do
    local x, y = x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n
    for dx = 0, thick - 1 do for dy = 0, thick - 1 do self:px(x + dx, y + dy, c) end end
  end
end

function Canvas:rect(x0, y0, x1, y1, c)
  for y = math.floor(math.min(y0, y1)), math.floor(math.max(y0, y1)) do
    self:line(x0, y, x1, y, c)
  end
end

local MARGIN = 30

-- Line chart: series = {{values = {…}, colour = i}, …}; opts.log (log10 y), opts.ymin/ymax.
function M.lines(path, series, opts)
  if not M.available() then return false end
  opts = opts or {}
  local W, H = opts.width or 640, opts.height or 400
  local cv = canvas(W, H)
  local lo, hi, n = math.huge, -math.huge, 1
  local function tr(v) if opts.log then return math.log10(math.max(v, 1e-12)) end return v end
  for _, s in ipairs(series) do
    n = math.max(n, #s.values)
    for _, v in ipairs(s.values) do
      if v == v and v ~= math.huge and v ~= -math.huge then lo, hi = math.min(lo, tr(v)), math.max(hi, tr(v)) end
    end
  end
  if opts.ymin then lo = tr(opts.ymin) end
  if opts.ymax then hi = tr(opts.ymax) end
  if lo == math.huge then lo, hi = 0, 1 end
  if hi - lo < 1e-12 then hi = lo + 1 end
  local grey = { 200, 200, 200 }
  cv:line(MARGIN, H - MARGIN, W - 10, H - MARGIN, { 0, 0, 0 })
  cv:line(MARGIN, 10, MARGIN, H - MARGIN, { 0, 0, 0 })
  for g = 1, 4 do
    local y = H - MARGIN - (H - MARGIN - 10) * g / 4
    cv:line(MARGIN + 1, y, W - 10, y, grey)
  end
  local function X(i) return MARGIN + (W - MARGIN - 10) * (n > 1 and (i - 1) / (n - 1) or 0.5) end
  local function Y(v) return H - MARGIN - (H - MARGIN - 10) * (tr(v) - lo) / (hi - lo) end
  for si, s in ipairs(series) do
    local c = M.COLOURS[((s.colour or si) - 1) % #M.COLOURS + 1]
    local px, py
    for i, v in ipairs(s.values) do
      if v == v then
        local x, y = X(i), Y(v)
        if px then cv:line(px, py, x, y, c, 2) else cv:px(x, y, c) end
        px, py = x, y
      end
    end
  end
  sl.png_write(path, cv.img)
  return true, { ymin = opts.log and 10 ^ lo or lo, ymax = opts.log and 10 ^ hi or hi }
end

-- Bar chart: groups = {{values = {…}}, …} drawn side by side (one colour per group); y range
-- [0, opts.ymax or max].
function M.bars(path, groups, opts)
  if not M.available() then return false end
  opts = opts or {}
  local W, H = opts.width or 640, opts.height or 400
  local cv = canvas(W, H)
  local hi = opts.ymax or 0
  local total = 0
  for _, g in ipairs(groups) do
    total = total + #g.values
    if not opts.ymax then for _, v in ipairs(g.values) do hi = math.max(hi, v) end end
  end
  if hi <= 0 then hi = 1 end
  cv:line(MARGIN, H - MARGIN, W - 10, H - MARGIN, { 0, 0, 0 })
  cv:line(MARGIN, 10, MARGIN, H - MARGIN, { 0, 0, 0 })
  local slots = total + #groups
  local bw = (W - MARGIN - 10) / math.max(1, slots)
  local k = 0
  for gi, g in ipairs(groups) do
    local c = M.COLOURS[(gi - 1) % #M.COLOURS + 1]
    for _, v in ipairs(g.values) do
      local x0 = MARGIN + k * bw + 1
      local y = H - MARGIN - (H - MARGIN - 10) * math.max(0, math.min(v, hi)) / hi
      cv:rect(x0, y, x0 + math.max(1, bw - 2), H - MARGIN - 1, c)
      k = k + 1
    end
    k = k + 1
  end
  sl.png_write(path, cv.img)
  return true
end

return M
