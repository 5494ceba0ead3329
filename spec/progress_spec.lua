-- Specs for spinlock.progress: a fake clock and a fake stream make the output exact.
local progress = require "spinlock.progress"

local function fake_stream()
  local s = { chunks = {} }
  function s:write(...)
    for _, x in ipairs { ... } do self.chunks[#self.chunks + 1] = x end
  end
  function s:flush() end
  function s:text() return table.concat(self.chunks) end
  return s
end

local function fake_clock()
  local c = { t = 100 }
  c.fn = function() return c.t end
  return c
end

describe("spinlock.progress", function()
  it("formats durations", function()
    assert.are.equal("0s", progress.format_duration(0.2))
    assert.are.equal("59s", progress.format_duration(59))
    assert.are.equal("1:05", progress.format_duration(65))
    assert.are.equal("2:03:04", progress.format_duration(2 * 3600 + 3 * 60 + 4))
    assert.are.equal("?", progress.format_duration(math.huge))
  end)

  it("shows count, percent, rate and ETA", function()
    local clock, out = fake_clock(), fake_stream()
    local bar = progress.new { total = 100, label = "gen", unit = "op", width = 10, stream = out,
                               clock = clock.fn, tty = true }
    clock.t = 110
    bar:set(25)
    assert.are.equal("gen  [###.......]  25/100  25%  2.5 op/s  ETA 30s", bar:text())
  end)

  it("shows the rate and, below one item per second, also seconds per item", function()
    local clock = fake_clock()
    local bar = progress.new { total = 10, unit = "op", width = 4, stream = fake_stream(),
                               clock = clock.fn, tty = true }
    clock.t = 108
    bar:update(2)
    assert.are.equal("[#...]  2/10  20%  0.25 op/s (4 s/op)  ETA 32s", bar:text())
  end)

  it("counts the rate from `initial` for resumed runs", function()
    local clock = fake_clock()
    local bar = progress.new { total = 100, initial = 90, stream = fake_stream(), clock = clock.fn,
                               tty = true }
    clock.t = 105
    bar:set(95)
    assert.are.equal(1, bar:rate())
    assert.truthy(bar:text():find("ETA 5s", 1, true))
  end)

  it("redraws in place on a terminal, throttled, and ends with a newline", function()
    local clock, out = fake_clock(), fake_stream()
    local bar = progress.new { total = 4, stream = out, clock = clock.fn, tty = true, interval = 1 }
    for _ = 1, 4 do clock.t = clock.t + 0.25; bar:update() end
    bar:finish()
    local text = out:text()
    local _, redraws = text:gsub("\r", "")
    assert.are.equal(2, redraws)   -- the first update, then finish (the others were too soon)
    assert.are.equal("\n", text:sub(-1))
    assert.truthy(text:find("4/4 100%", 1, true))
    assert.truthy(text:find("in 1s", 1, true))
  end)

  it("prints one line per 10% step when not on a terminal", function()
    local clock, out = fake_clock(), fake_stream()
    local bar = progress.new { total = 100, stream = out, clock = clock.fn, tty = false }
    for _ = 1, 100 do clock.t = clock.t + 0.01; bar:update() end
    bar:finish()
    local _, lines = out:text():gsub("\n", "")
    assert.are.equal(11, lines)    -- 0%, 10%, ..., 100%; finish() does not repeat the 100% line
    assert.falsy(out:text():find("\r", 1, true))
  end)

  it("prints the final line once when not on a terminal (set(total) then finish)", function()
    local clock, out = fake_clock(), fake_stream()
    local bar = progress.new { total = 3, label = "train", stream = out, clock = clock.fn, tty = false }
    for e = 1, 3 do clock.t = clock.t + 1; bar:set(e) end
    clock.t = clock.t + 1
    bar:finish()
    bar:finish()
    local _, finals = out:text():gsub("3/3 100%%", "")
    assert.are.equal(1, finals, out:text())
    assert.are.equal("\n", out:text():sub(-1))
    -- finish() after an unlogged change still prints it: a count below the last 10% step ...
    clock, out = fake_clock(), fake_stream()
    bar = progress.new { total = 100, stream = out, clock = clock.fn, tty = false }
    bar:set(50); bar:set(51)
    bar:finish()
    assert.truthy(out:text():find("51/100", 1, true), out:text())
    -- ... or a new label at the same count
    clock, out = fake_clock(), fake_stream()
    bar = progress.new { total = 2, label = "a", stream = out, clock = clock.fn, tty = false }
    bar:set(2); bar.label = "b"
    bar:finish()
    assert.truthy(out:text():find("\nb  ", 1, true), out:text())
  end)

  it("handles an unknown total", function()
    local clock = fake_clock()
    local bar = progress.new { unit = "batch", stream = fake_stream(), clock = clock.fn, tty = true }
    clock.t = 102
    bar:update(10)
    assert.are.equal("10 batch  5 batch/s", bar:text())
  end)

  it("can be disabled", function()
    local out = fake_stream()
    local bar = progress.new { total = 3, stream = out, enabled = false, tty = true }
    bar:update(); bar:finish()
    assert.are.equal("", out:text())
  end)

  it("uses the engine's wall clock by default", function()
    local bar = progress.new { total = 1, stream = fake_stream() }
    assert.are.equal("number", type(bar.start))
    assert.is_true(bar.start > 0)
  end)
end)
