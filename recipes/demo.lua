-- summary: Quick tour of the engine: tensors, views and the active backend
--
-- The main job until the generate → features → train → tokens pipeline lands (`make demo`).
local sl = require "spinlock"
local cli = require "spinlock.cli"

local function section(title) print(("\n== %s"):format(title)) end

return {
  description = "Builds a few tensors, takes views of them and prints the results, then reports\n" ..
                "which backend (CPU/CUDA) this process uses and why.",
  options = {
    { "size", type = "int", default = 4, help = "side of the square demo matrix" },
    { "dtype", type = "choice", choices = { "float32", "float64" }, default = "float32",
      help = "element type" },
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

    section("backend")
    local info = sl.backend_info()
    print("cuda_available", info.cuda_available, "devices", info.devices)
    if not info.cuda_available then print("reason", info.reason) end
    print("blas kernels", info.blas_core)
  end,
}
