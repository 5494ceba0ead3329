-- Smoke script for `make valgrind`: touches the engine's main paths once (tensor creation,
-- views, copies, errors raised from C, the CLI parser, the progress bar, backend probing)
-- so memcheck can see invalid accesses and leaks.  Not a test of results: the specs do that.
local sl = require "spinlock"
local cli = require "spinlock.cli"
local progress = require "spinlock.progress"

local a = sl.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
local t = a:transpose(1, 2):contiguous()
local b = sl.zeros(3, 4):double()
b:narrow(2, 2, 2):fill(7)
assert(t:shape()[1] == 3 and b:numel() == 12)
local c = a:clone()
c:copy(a)
print(tostring(a), tostring(t), tostring(b))
assert(not pcall(sl.zeros, -1), "negative sizes must raise")
assert(not pcall(function() return a:select(5, 1) end), "bad dims must raise")

local spec = { options = { { "n", type = "int", default = 2 }, { "files", multi = true } },
               run = function() end }
local opts = cli.parse({ "--n", "3", "--files", "x", "y" }, spec, "smoke")
assert(opts.n == 3 and #opts.files == 2)
local ok, err = pcall(cli.parse, { "--m" }, spec, "smoke")
assert(not ok and cli.is_user_error(err))

local sink = { write = function() end, flush = function() end }
local bar = progress.new { total = 10, stream = sink, tty = true }
for _ = 1, 10 do bar:update() end
bar:finish()

local info = sl.backend_info()
assert(info.cuda_available == false or info.devices > 0)
a, t, b, c = nil, nil, nil, nil
collectgarbage()
collectgarbage()
print("smoke: ok")
