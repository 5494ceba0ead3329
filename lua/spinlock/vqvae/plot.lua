-- spinlock.vqvae.plot — tiny raster charts (training curves, codebook usage, R² by level) written
-- through the PNG module (sl.png_write) when the build has it.
--
-- Text comes from a built-in 5×7 bitmap font (digits, capital letters, a little punctuation;
-- lower case is drawn in capitals), drawn straight into the RGB buffer, so a chart carries its
-- title, axis labels, min/max tick values and a legend without any font library.
local ffi = require "ffi"
local sl = require "spinlock"

local M = {}

M.COLOURS = { { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 },
              { 148, 103, 189 }, { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 } }

function M.available() return type(sl.png_write) == "function" end

-- 5×7 glyphs: seven rows, five bits each (bit 4 = leftmost column).
local FONT = {
  ["0"] = { 14, 17, 19, 21, 25, 17, 14 }, ["1"] = { 4, 12, 4, 4, 4, 4, 14 },
  ["2"] = { 14, 17, 1, 2, 4, 8, 31 },     ["3"] = { 31, 2, 4, 2, 1, 17, 14 },
  ["4"] = { 2, 6, 10, 18, 31, 2, 2 },     ["5"] = { 31, 16, 30, 1, 1, 17, 14 },
  ["6"] = { 6, 8, 16, 30, 17, 17, 14 },   ["7"] = { 31, 1, 2, 4, 8, 8, 8 },
  ["8"] = { 14, 17, 17, 14, 17, 17, 14 }, ["9"] = { 14, 17, 17, 15, 1, 2, 12 },
  A = { 14, 17, 17, 17, 31, 17, 17 }, B = { 30, 17, 17, 30, 17, 17, 30 }, C = { 14, 17, 16, 16, 16, 17, 14 },
  D = { 28, 18, 17, 17, 17, 18, 28 }, E = { 31, 16, 16, 30, 16, 16, 31 }, F = { 31, 16, 16, 30, 16, 16, 16 },
  G = { 14, 17, 16, 23, 17, 17, 15 }, H = { 17, 17, 17, 31, 17, 17, 17 }, I = { 14, 4, 4, 4, 4, 4, 14 },
  J = { 7, 2, 2, 2, 2, 18, 12 },      K = { 17, 18, 20, 24, 20, 18, 17 }, L = { 16, 16, 16, 16, 16, 16, 31 },
  M = { 17, 27, 21, 21, 17, 17, 17 }, N = { 17, 17, 25, 21, 19, 17, 17 }, O = { 14, 17, 17, 17, 17, 17, 14 },
  P = { 30, 17, 17, 30, 16, 16, 16 }, Q = { 14, 17, 17, 17, 21, 18, 13 }, R = { 30, 17, 17, 30, 20, 18, 17 },
  S = { 15, 16, 16, 14, 1, 1, 30 },   T = { 31, 4, 4, 4, 4, 4, 4 },       U = { 17, 17, 17, 17, 17, 17, 14 },
  V = { 17, 17, 17, 17, 17, 10, 4 },  W = { 17, 17, 17, 21, 21, 21, 10 }, X = { 17, 17, 10, 4, 10, 17, 17 },
  Y = { 17, 17, 17, 10, 4, 4, 4 },    Z = { 31, 1, 2, 4, 8, 16, 31 },
  ["."] = { 0, 0, 0, 0, 0, 12, 12 },  [","] = { 0, 0, 0, 0, 12, 4, 8 },   ["-"] = { 0, 0, 0, 31, 0, 0, 0 },
  ["+"] = { 0, 4, 4, 31, 4, 4, 0 },   ["_"] = { 0, 0, 0, 0, 0, 0, 31 },   ["("] = { 2, 4, 8, 8, 8, 4, 2 },
  [")"] = { 8, 4, 2, 2, 2, 4, 8 },    ["/"] = { 0, 1, 2, 4, 8, 16, 0 },   [":"] = { 0, 12, 12, 0, 12, 12, 0 },
  ["="] = { 0, 0, 31, 0, 31, 0, 0 },  ["%"] = { 24, 25, 2, 4, 8, 19, 3 }, ["<"] = { 2, 4, 8, 16, 8, 4, 2 },
  [">"] = { 8, 4, 2, 1, 2, 4, 8 },    ["|"] = { 4, 4, 4, 4, 4, 4, 4 },    ["'"] = { 4, 4, 8, 0, 0, 0, 0 },
  ["\1"] = { 12, 2, 4, 8, 14, 0, 0 },  -- superscript 2 (² is mapped to it)
  [" "] = { 0, 0, 0, 0, 0, 0, 0 },
}
local UNKNOWN = { 31, 17, 17, 17, 17, 17, 31 }
M.FONT = FONT

local Canvas = {}
Canvas.__index = Canvas

local function canvas(W, H)
  local img = sl.full({ H, W, 3 }, 255, "uint8")
  return setmetatable({ img = img, W = W, H = H, p = ffi.cast("uint8_t *", img:ptr()) }, Canvas)
end
M.canvas = canvas

function Canvas:px(x, y, c)
  x, y = math.floor(x + 0.5), math.floor(y + 0.5)
  if x < 0 or y < 0 or x >= self.W or y >= self.H then return end
  local o = (y * self.W + x) * 3
  self.p[o], self.p[o + 1], self.p[o + 2] = c[1], c[2], c[3]
end

function Canvas:get(x, y)
  local o = (y * self.W + x) * 3
  return { self.p[o], self.p[o + 1], self.p[o + 2] }
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

local function glyphs(s)
  s = tostring(s):gsub("\194\178", "\1"):upper()   -- "²" → the superscript-2 glyph
  return s
end

-- Width in pixels of a string at scale k (6 px per character: 5 + 1 space).
function M.text_width(s, k) return #glyphs(s) * 6 * (k or 1) - (k or 1) end

-- Draws s with its top-left corner at (x, y); k = pixel scale.  Returns the width drawn.
function Canvas:text(x, y, s, c, k)
  k = k or 1
  c = c or { 0, 0, 0 }
  s = glyphs(s)
  x, y = math.floor(x), math.floor(y)
  for i = 1, #s do
    local g = FONT[s:sub(i, i)] or UNKNOWN
    local gx = x + (i - 1) * 6 * k
    for r = 1, 7 do
      local bits = g[r]
      for col = 0, 4 do
        if bit.band(bits, bit.lshift(1, 4 - col)) ~= 0 then
          for dy = 0, k - 1 do for dx = 0, k - 1 do self:px(gx + col * k + dx, y + (r - 1) * k + dy, c) end end
        end
      end
    end
  end
  return #s * 6 * k - k
end

-- Number formatting for ticks: short and exact enough.
local function fmt(v)
  if v ~= v then return "nan" end
  if v == 0 then return "0" end
  local a = math.abs(v)
  if a >= 1e4 or a < 1e-3 then return (string.format("%.2e", v):gsub("e%+?(%-?)0*(%d)", "e%1%2")) end
  local s = string.format("%.4g", v)
  return s
end
M.fmt = fmt

local BLACK, GREY = { 0, 0, 0 }, { 215, 215, 215 }

-- Frame, title, axis labels; returns the plot box {x0, y0, x1, y1} (y0 top).
local function frame(cv, opts)
  local W, H = cv.W, cv.H
  local box = { x0 = 64, y0 = 30, x1 = W - 14, y1 = H - 36 }
  if opts.title then cv:text((W - M.text_width(opts.title, 2)) / 2, 6, opts.title, BLACK, 2) end
  if opts.xlabel then cv:text((box.x0 + box.x1 - M.text_width(opts.xlabel)) / 2, H - 12, opts.xlabel, BLACK) end
  if opts.ylabel then cv:text(4, box.y0 - 11, opts.ylabel, BLACK) end
  return box
end

local function axes(cv, box)
  cv:line(box.x0, box.y1, box.x1, box.y1, BLACK)
  cv:line(box.x0, box.y0, box.x0, box.y1, BLACK)
end

local function ytick(cv, box, y, label)
  cv:line(box.x0 - 4, y, box.x0, y, BLACK)
  cv:text(box.x0 - 6 - M.text_width(label), y - 3, label, BLACK)
end

local function legend(cv, box, entries)
  if not entries or #entries == 0 then return end
  local w = 0
  for _, e in ipairs(entries) do w = math.max(w, M.text_width(e.label)) end
  local x = box.x1 - w - 24
  local y = box.y0 + 4
  cv:rect(x - 4, y - 3, box.x1 - 2, y + 11 * #entries, { 255, 255, 255 })
  for i, e in ipairs(entries) do
    local yy = y + (i - 1) * 11
    cv:rect(x, yy, x + 10, yy + 6, e.colour)
    cv:text(x + 14, yy, e.label, BLACK)
  end
end

-- Line chart: series = {{values = {…}, colour = i, label = "…"}, …}; opts.log (log10 y),
-- opts.ymin/ymax, opts.title, opts.xlabel, opts.ylabel, opts.x0 (x value of the first point; 1).
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
  local box = frame(cv, opts)
  for g = 1, 3 do
    local y = box.y1 - (box.y1 - box.y0) * g / 4
    cv:line(box.x0 + 1, y, box.x1, y, GREY)
  end
  axes(cv, box)
  local function X(i) return box.x0 + (box.x1 - box.x0) * (n > 1 and (i - 1) / (n - 1) or 0.5) end
  local function Y(v) return box.y1 - (box.y1 - box.y0) * (tr(v) - lo) / (hi - lo) end
  local function untr(t) return opts.log and 10 ^ t or t end
  ytick(cv, box, box.y1, fmt(untr(lo)))
  ytick(cv, box, box.y0, fmt(untr(hi)))
  if opts.log then cv:text(box.x0 + 4, box.y1 - 10, "LOG SCALE", { 110, 110, 110 }) end
  local x0v = opts.x0 or 1
  for _, i in ipairs(n > 1 and { 1, n } or { 1 }) do
    local x = X(i)
    cv:line(x, box.y1, x, box.y1 + 4, BLACK)
    local lab = tostring(x0v + i - 1)
    cv:text(math.min(x - M.text_width(lab) / 2, W - M.text_width(lab) - 2), box.y1 + 7, lab, BLACK)
  end
  local entries = {}
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
    if s.label then entries[#entries + 1] = { label = s.label, colour = c } end
  end
  legend(cv, box, entries)
  sl.png_write(path, cv.img)
  return true, { ymin = untr(lo), ymax = untr(hi), canvas = cv, box = box }
end

-- Bar chart: groups = {{values = {…}, label = "…"}, …} drawn side by side.  Colours: one per
-- group, or with opts.colour_by = "bar" one per position inside the group (then opts.legend =
-- names of the positions).  The y range covers 0, the values and opts.ymin/ymax; negative bars
-- hang below the zero line.  opts.title, opts.ylabel, opts.xlabel.
function M.bars(path, groups, opts)
  if not M.available() then return false end
  opts = opts or {}
  local W, H = opts.width or 640, opts.height or 400
  local cv = canvas(W, H)
  local lo, hi = math.min(0, opts.ymin or 0), math.max(0, opts.ymax or 0)
  local total = 0
  for _, g in ipairs(groups) do
    total = total + #g.values
    for _, v in ipairs(g.values) do
      if v == v then lo, hi = math.min(lo, v), math.max(hi, v) end
    end
  end
  if opts.ymax and opts.clip_top then hi = opts.ymax end
  if hi - lo <= 0 then hi = lo + 1 end
  local box = frame(cv, opts)
  local function Y(v) return box.y1 - (box.y1 - box.y0) * (math.max(lo, math.min(hi, v)) - lo) / (hi - lo) end
  local zero = Y(0)
  axes(cv, box)
  ytick(cv, box, box.y1, fmt(lo))
  ytick(cv, box, box.y0, fmt(hi))
  if lo < 0 and hi > 0 then ytick(cv, box, zero, "0") end
  local slots = total + #groups
  local bw = (box.x1 - box.x0) / math.max(1, slots)
  local k = 0
  for gi, g in ipairs(groups) do
    local gx0 = box.x0 + k * bw
    for bi, v in ipairs(g.values) do
      local c = M.COLOURS[((opts.colour_by == "bar" and bi or gi) - 1) % #M.COLOURS + 1]
      local x0 = box.x0 + k * bw + 1
      if v == v then cv:rect(x0, Y(v), x0 + math.max(1, bw - 2), zero, c) end
      k = k + 1
    end
    if g.label then
      local room = math.max(1, math.floor((#g.values * bw) / 6))
      local lab = g.label
      if #lab > room then lab = lab:sub(1, math.max(1, room - 1)) .. "." end
      cv:text(gx0 + 1, box.y1 + 5, lab, BLACK)
    end
    k = k + 1
  end
  cv:line(box.x0, zero, box.x1, zero, BLACK)
  if opts.legend then
    local entries = {}
    for i, lab in ipairs(opts.legend) do
      entries[i] = { label = lab, colour = M.COLOURS[(i - 1) % #M.COLOURS + 1] }
    end
    legend(cv, box, entries)
  end
  sl.png_write(path, cv.img)
  return true, { ymin = lo, ymax = hi, zero_y = zero, canvas = cv, box = box, Y = Y }
end

return M
