-- Smoke script for `make valgrind`: touches the engine's main paths once so memcheck can see
-- invalid accesses and leaks — tensor creation, views, copies, errors raised from C, the CLI
-- parser, the progress bar, backend probing, HDF5 (datasets, appends, attributes, strings),
-- conv2d with each algorithm, matmul, FFT, RNG, reductions and sorting, an operator rollout
-- and the feature kernels.  Sizes are tiny so that valgrind stays well under two minutes.
-- Not a test of results (the specs do that); the few asserts only check that calls returned.
local sl = require "spinlock"
local cli = require "spinlock.cli"
local progress = require "spinlock.progress"

-- tensors, views, errors
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
assert(a[{ 2, 3 }] == 6 and not pcall(function() return a[{ 1, 2, 3 }] end))
local f32 = require("ffi").cast("float*", a:contiguous():ptr())
assert(sl.from_ptr(f32 + 1, { 2 }):totable()[1] == 2)
local freed = sl.zeros(2)
freed:free()
assert(tostring(freed) == "Tensor(freed)")

-- CLI parser and progress bar
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

-- RNG
local g = sl.Generator { seed = 5, purpose = 1 }
local x = g:normal({ 2, 3, 12, 12 })
local u = g:uniform({ 7 })
assert(u:numel() == 7)

-- reductions, sort
assert(x:sum() == x:sum())
x:mean(2); x:var(2, { unbiased = false }); x:std({ 3, 4 }, true, true); x:amax(1); x:norm()
local sv, si = u:sort(1, true)
local tv, ti = x:view(2, -1):topk(3, 2)
assert(sv:numel() == 7 and si:numel() == 7 and tv:numel() == 6 and ti:numel() == 6)
u:argsort()

-- matmul (contiguous and transposed) and FFT
local m = g:normal({ 5, 4 })
assert(sl.matmul(m, m:t()):size(1) == 5 and sl.matmul(m:t(), m):size(1) == 4)
local X = sl.rfft2(x)
local y = sl.irfft2(X, { 12, 12 })
assert(y:dim() == 4)
sl.fft2(sl.rfft2(x:select(1, 1)))

-- conv2d, every algorithm, zero and circular padding, with a reused workspace
local w = g:normal({ 4, 3, 3, 3 })
local bias = g:normal({ 4 })
local ws = sl.conv2d_workspace()
for _, algo in ipairs { "direct", "im2col", "fft", "fftrow", "auto" } do
  for _, padding in ipairs { "zeros", "circular" } do
    local out, used = sl.conv2d(x, w, bias, { padding = padding, algo = algo, workspace = ws })
    assert(out:size(2) == 4 and used)
  end
end
assert(not pcall(sl.conv2d, x, sl.zeros(4, 2, 3, 3)), "channel mismatch must raise")

-- HDF5: datasets, hyperslabs, appends, strings, attributes, listing, in a temp file
local base = os.tmpname()
local path = base .. ".h5"
local h = sl.h5.open(path, "w")
h:create_dataset("d/x", { shape = x:shape() })
h:write("d/x", x)
h:create_dataset("grow", { shape = { 0, 3 }, unlimited = true, chunks = { 1, 3 },
                           compression = "gzip", level = 4, shuffle = true })
h:append("grow", sl.full({ 3 }, 1))
h:append("grow", sl.full({ 2, 3 }, 2))
h:create_dataset("half", { shape = { 2, 2 }, dtype = "float16" })
h:write("half", sl.tensor({ { 0.5, 1 }, { 2, 3 } }))
h:write_strings("meta/names", { "a", "temp_°C" })
h:read_strings("meta/names")
h:set_attr("/", "seed", 42)
h:set_attr("d/x", "names", { "p", "q" })
h:set_attr("d", "matrix", sl.tensor({ { 1, 2 }, { 3, 4 } }, "int32"))
h:close()
h = sl.h5.open(path, "r")
assert(h:read("d/x"):numel() == x:numel())
assert(h:read("grow", 2, 2):size(1) == 2)
h:read("half")
assert(h:attr("/", "seed") == 42 and #h:attr("d/x", "names") == 2)
h:attrs("d")
h:attr_tensor("d", "matrix")
h:list()
h:info("grow")
assert(not pcall(h.read, h, "nope"), "missing dataset must raise")
h:close()
ws:free()
os.remove(path)
os.remove(base)

-- operator rollout (fused C forward) on a tiny operator
local operator = require "spinlock.operator"
local op = operator.build({ num_layers = 2, base_channels = 4, kernel_size = 3, grid_size = 8,
                            activation = "gelu", normalization = "instance" }, { seed = 3, op_index = 1 })
local x0 = g:normal({ 2, 3, 8, 8 })
op:forward(x0, 2)
local traj = op:rollout(x0:select(1, 1), 2, 4)
print("rollout", table.concat(traj:shape(), "x"), #tostring(traj))

-- feature kernels on a [M, T, C, H, W] trajectory
local tr = g:normal({ 2, 4, 3, 8, 8 })
local ff = sl.feat_frame(tr)
local ft = sl.feat_traj(tr)
assert(ff:dim() >= 2 and ft:size(1) == 2)

a, t, b, c, x, X, y, h, op, traj, ff, ft = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
collectgarbage()
collectgarbage()
print("smoke: ok")
