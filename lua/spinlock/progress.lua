-- spinlock.progress — a progress line with rate and ETA for long loops (generate, train).
--
--   local progress = require "spinlock.progress"
--   local bar = progress.new{ total = n_ops, label = "generate", unit = "op" }
--   for i = 1, n_ops do ...; bar:update() end      -- or bar:update(k) / bar:set(done)
--   bar:finish()                                    -- final line, then a newline
--
-- On a terminal the line is redrawn in place (at most every `interval` seconds, default 0.1);
-- when the stream is a file or a pipe (CI logs) it prints a plain line at every 10% step
-- and at least every `log_every` seconds (default 60), so logs stay short.  The rate is
-- averaged since the bar started (items counted from `initial`, for resumed runs), shown as
-- "2.5 op/s", and below one per second also as time per item: "0.25 op/s (4 s/op)".  Options: total (nil = unknown: no bar, no ETA),
-- label, unit ("it"), stream (io.stderr), width (bar cells, 24), interval, log_every,
-- initial (0), tty (auto), enabled (false when SPINLOCK_PROGRESS=0), clock (a function
-- returning seconds; default sl.wall_time).  bar:text() returns the current line.

local M = {}

local Bar = {}
Bar.__index = Bar

local function default_clock()
  local ok, core = pcall(require, "spinlock.core")
  if ok and type(core) == "table" and core.wall_time then return core.wall_time end
  return os.time
end

local function default_tty(stream)
  local ok, core = pcall(require, "spinlock.core")
  if ok and type(core) == "table" and core.isatty then
    local ok2, yes = pcall(core.isatty, stream)
    return ok2 and yes
  end
  return false
end

--- Formats seconds as "45s", "12:05" or "3:02:41".
function M.format_duration(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s < 60 then return s .. "s" end
  local h, m, sec = math.floor(s / 3600), math.floor(s / 60) % 60, s % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, sec) end
  return string.format("%d:%02d", m, sec)
end

function M.new(opts)
  opts = opts or {}
  assert(opts.total == nil or (type(opts.total) == "number" and opts.total >= 0),
         "progress.new: total must be a non-negative number or nil")
  local stream = opts.stream or io.stderr
  local self = setmetatable({
    total = opts.total, label = opts.label, unit = opts.unit or "it", stream = stream,
    width = opts.width or 24, interval = opts.interval or 0.1, log_every = opts.log_every or 60,
    initial = opts.initial or 0, clock = opts.clock or default_clock(),
  }, Bar)
  if opts.enabled ~= nil then self.enabled = opts.enabled
  else self.enabled = os.getenv("SPINLOCK_PROGRESS") ~= "0" end
  if opts.tty ~= nil then self.tty = opts.tty else self.tty = default_tty(stream) end
  self.done = self.initial
  self.start = self.clock()
  self.last_draw = -math.huge
  self.last_step = -1      -- last 10% step logged (non-tty)
  self.drawn_len = 0
  self.finished = false
  return self
end

--- Items per second since the start (nil before anything was done).
function Bar:rate()
  local elapsed = self.clock() - self.start
  local n = self.done - self.initial
  if n <= 0 or elapsed <= 0 then return nil end
  return n / elapsed
end

function Bar:text()
  local parts = {}
  if self.label then parts[#parts + 1] = self.label end
  local total = self.total
  if total and total > 0 then
    local frac = math.min(1, self.done / total)
    local filled = math.floor(frac * self.width + 0.5)
    parts[#parts + 1] = "[" .. string.rep("#", filled) .. string.rep(".", self.width - filled) .. "]"
    parts[#parts + 1] = string.format("%d/%d %3d%%", self.done, total, math.floor(frac * 100))
  else
    parts[#parts + 1] = string.format("%d %s", self.done, self.unit)
  end
  local r = self:rate()
  local elapsed = self.clock() - self.start
  if r then
    -- always the rate (units per second); below one per second also the time per unit
    if r >= 1 then parts[#parts + 1] = string.format("%.3g %s/s", r, self.unit)
    else parts[#parts + 1] = string.format("%.3g %s/s (%.3g s/%s)", r, self.unit, 1 / r, self.unit) end
  end
  if self.finished or (total and self.done >= total) then
    parts[#parts + 1] = "in " .. M.format_duration(elapsed)
  elseif total and r then
    parts[#parts + 1] = "ETA " .. M.format_duration((total - self.done) / r)
  end
  return table.concat(parts, "  ")
end

function Bar:_draw(force)
  if not self.enabled then return end
  local now = self.clock()
  if self.tty then
    if not force and now - self.last_draw < self.interval then return end
    local line = self:text()
    -- pad with spaces so a shorter line fully covers the previous one
    local pad = math.max(0, self.drawn_len - #line)
    self.stream:write("\r", line, string.rep(" ", pad))
    self.drawn_len = #line
  else
    local step = (self.total and self.total > 0) and math.floor(10 * self.done / self.total) or -1
    if not force and step <= self.last_step and now - self.last_draw < self.log_every then return end
    -- finish() right after the line for the same count (set(total) at 100%) adds nothing
    if force and self.logged_done == self.done and self.logged_label == self.label then return end
    self.last_step = math.max(step, self.last_step)
    self.logged_done, self.logged_label = self.done, self.label
    self.stream:write(self:text(), "\n")
  end
  self.stream:flush()
  self.last_draw = now
end

--- Advances by n items (default 1).
function Bar:update(n)
  self.done = self.done + (n or 1)
  self:_draw(false)
end

--- Sets the number of items done.
function Bar:set(done)
  self.done = done
  self:_draw(false)
end

--- Draws the final line (ending it with a newline on a terminal).  Idempotent.  In a log (not a
--- terminal) the final line is skipped when the last logged line already shows the same count
--- and label, so a loop that ends with set(total) does not print its 100% line twice.
function Bar:finish()
  if self.finished then return end
  self.finished = true
  self:_draw(true)
  if self.enabled and self.tty then self.stream:write("\n"); self.stream:flush() end
end

return M
