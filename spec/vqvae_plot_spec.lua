-- spinlock.vqvae.plot: the built-in 5×7 font draws the glyph bits it stores, charts carry text
-- (title, tick labels, legend) and negative bars hang below the zero line instead of being
-- clipped to it.
local plot = require "spinlock.vqvae.plot"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"
teardown(SH.remove_tmpdirs)

local function dark(c) return c[1] + c[2] + c[3] < 150 end
local function same(c, d) return c[1] == d[1] and c[2] == d[2] and c[3] == d[3] end

describe("vqvae.plot", function()
  it("draws text from the 5×7 font, pixel for pixel, at any scale", function()
    for _, k in ipairs { 1, 2 } do
      local cv = plot.canvas(40, 20)
      local w = cv:text(2, 3, "1E", { 0, 0, 0 }, k)
      assert.are.equal(plot.text_width("1E", k), w)
      for ci, ch in ipairs { "1", "E" } do
        local g = plot.FONT[ch]
        for r = 1, 7 do
          for col = 0, 4 do
            local on = bit.band(g[r], bit.lshift(1, 4 - col)) ~= 0
            local x, y = 2 + (ci - 1) * 6 * k + col * k, 3 + (r - 1) * k
            assert.are.equal(on, dark(cv:get(x, y)), string.format("%s row %d col %d scale %d", ch, r, col, k))
          end
        end
      end
    end
    -- lower case is drawn in capitals; "²" has its own glyph; unknown characters draw a box
    local a, b = plot.canvas(10, 10), plot.canvas(10, 10)
    a:text(0, 0, "e"); b:text(0, 0, "E")
    assert.are.same(a.img:totable(), b.img:totable())
    assert.is_truthy(plot.FONT["\1"])
    assert.are.equal(plot.text_width("R²"), plot.text_width("RR"))
  end)

  it("formats tick values compactly", function()
    assert.are.equal("0", plot.fmt(0))
    assert.are.equal("0.25", plot.fmt(0.25))
    assert.are.equal("-0.3298", plot.fmt(-0.32981))
    assert.are.equal("1.00e-5", plot.fmt(1e-5))
  end)

  it("bar charts put negative bars below the zero line, with ticks, title and legend", function()
    if not plot.available() then pending("no PNG module in this build"); return end
    local path = SH.tmpfile(".png")
    local ok, info = plot.bars(path, { { values = { 0.5, -0.4 }, label = "tokens" } },
      { ymax = 1, colour_by = "bar", legend = { "coarse", "fine" }, title = "R² BY LEVEL" })
    assert.is_true(ok)
    assert.are.equal(-0.4, info.ymin)
    assert.are.equal(1, info.ymax)
    local cv, box = info.canvas, info.box
    assert.is_true(info.zero_y > box.y0 and info.zero_y < box.y1)
    -- the second bar (colour 2) fills from the zero line down to Y(−0.4)
    local c2 = plot.COLOURS[2]
    local bw = (box.x1 - box.x0) / 3
    local xmid = math.floor(box.x0 + bw * 1.5)
    local ybar = math.floor((info.zero_y + info.Y(-0.4)) / 2)
    assert.is_true(same(cv:get(xmid, ybar), c2), "negative bar below zero")
    assert.is_false(same(cv:get(xmid, math.floor(info.zero_y) - 5), c2), "nothing above zero")
    -- the first bar (colour 1) rises above the zero line
    assert.is_true(same(cv:get(math.floor(box.x0 + bw * 0.5), math.floor(info.zero_y) - 5), plot.COLOURS[1]))
    -- text: the title row and the tick labels left of the axis have ink
    local function ink(x0, y0, x1, y1)
      for y = y0, y1 do for x = x0, x1 do if dark(cv:get(x, y)) then return true end end end
      return false
    end
    assert.is_true(ink(0, 4, cv.W - 1, 22), "title")
    assert.is_true(ink(0, math.floor(box.y1) - 4, box.x0 - 6, math.floor(box.y1) + 4), "min tick label")
    assert.is_true(ink(0, math.floor(box.y0) - 4, box.x0 - 6, math.floor(box.y0) + 4), "max tick label")
    assert.is_true(ink(box.x0, math.floor(box.y1) + 4, box.x1, math.floor(box.y1) + 12), "group label")
  end)

  it("line charts label the axes and draw a legend entry per named series", function()
    if not plot.available() then pending("no PNG module in this build"); return end
    local path = SH.tmpfile(".png")
    local ok, info = plot.lines(path, { { values = { 4, 2, 1 }, label = "train loss" }, { values = { 3, 2, 2 }, label = "val_rec" } },
      { log = true, title = "TRAINING CURVES", xlabel = "epoch" })
    assert.is_true(ok)
    assert.is_true(math.abs(info.ymin - 1) < 1e-9 and math.abs(info.ymax - 4) < 1e-9)
    local cv, box = info.canvas, info.box
    -- legend swatches in both series colours near the top right
    local found = { false, false }
    for y = box.y0, box.y0 + 30 do
      for x = box.x1 - 150, box.x1 do
        for i = 1, 2 do if same(cv:get(x, y), plot.COLOURS[i]) then found[i] = true end end
      end
    end
    assert.is_true(found[1] and found[2])
  end)
end)
