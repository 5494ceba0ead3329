-- summary: Quick tour of the engine: tensors, views, random numbers, math, FFT, backend
--
-- (The main job is `spinlock demo`; this recipe shows the engine itself.)
local sl = require "spinlock"
local cli = require "spinlock.cli"

local function section(title) print(("\n== %s"):format(title)) end

return {
  description = "Builds tensors and views, draws seeded random numbers, reduces and sorts them,\n" ..
                "makes a sine with elementwise math and finds its frequency with an FFT, then\n" ..
                "reports which backend (CPU/CUDA) this process uses and why.",
  options = {
    { "size", type = "int", default = 4, help = "side of the square demo matrix" },
    { "dtype", type = "choice", choices = { "float32", "float64" }, default = "float32",
      help = "element type" },
    { "seed", type = "int", default = 42, help = "seed of the random section" },
  },
  run = function(opts)
    if opts.size < 1 or opts.size > 1000 then
      cli.user_error("--size must be between 1 and 1000, got %d", opts.size)
    end
    local n = opts.size

    section("tensors")
    local rows = {}
    for i = 1, n do
      rows[i] = {}
      for j = 1, n do rows[i][j] = (i - 1) * n + j end
    end
    local a = sl.tensor(rows, opts.dtype)
    print("a = " .. tostring(a))
    print("shape", cli.repr(a:shape()), "numel", a:numel(), "dtype", a:dtype())

    section("views share storage")
    local t = a:transpose(1, 2)
    print("a:transpose(1, 2) = " .. tostring(t))
    local row = a:select(1, 1)
    row:fill(0)
    print("after a:select(1, 1):fill(0), a[1] = " .. cli.repr(a:totable()[1]))
    print("contiguous transpose", t:contiguous():totable()[1][2] == a:totable()[2][1])

    section("random numbers (Philox: same seed, same numbers, any thread count)")
    local g = sl.Generator { seed = opts.seed }
    local x = g:normal({ 3, n })
    print("x = g:normal({3, " .. n .. "}) = " .. tostring(x))
    print("x:sum() = " .. string.format("%.4f", x:sum()) .. ", x:std() = " .. string.format("%.4f", x:std()))
    print("row means " .. tostring(x:mean(2)))
    local sorted, order = x:sort(2)
    print("row 1 sorted " .. tostring(sorted:select(1, 1)) .. ", order " .. tostring(order:select(1, 1)))

    section("elementwise math and FFT: the dominant frequency of a sampled sine")
    local samples, cycles = 64, 5
    local wave = sl.sin(sl.arange(0, samples) * (2 * math.pi * cycles / samples))
    print("wave[1..4] = " .. tostring(wave:narrow(1, 1, 4)))
    local spectrum = sl.rfft(wave)                        -- [33, 2]: (re, im) per bin
    local re, im = spectrum:select(2, 1), spectrum:select(2, 2)
    local power = re * re + im * im
    local peak = power:argmax()
    print(("%d cycles in %d samples -> strongest rfft bin %d (frequency %d), power %.1f"):format(
      cycles, samples, peak, peak - 1, power:max()))

    section("backend")
    local info = sl.backend_info()
    print("cuda_available", info.cuda_available, "devices", info.devices)
    if not info.cuda_available then print("reason", info.reason) end
    print("blas kernels", info.blas_core)
  end,
}
