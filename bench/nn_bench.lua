-- nn throughput: forward + backward samples/s of an MLP 512 → 256 → 128 at batch 256 (float32),
-- alone, with LayerNorm + Dropout, and with an AdamW step over the flat buffers.  The GFLOP/s
-- column counts only the GEMMs (3 × 2·B·Σ in·out per forward+backward).  Runs in a few seconds.
--
-- Usage: build/spinlock run bench/nn_bench.lua [quick]
local sl = require "spinlock"
local nn = require "spinlock.nn"
local optim = require "spinlock.optim"

local now = sl.wall_time   -- monotonic wall clock (engine/lua/l_sys.c)

local quick = arg and arg[1] == "quick"
local B, reps = 256, quick and 10 or 50

nn.manual_seed(0)
local x = sl.Generator(1):normal({ B, 512 })
local target = sl.Generator(2):normal({ B, 128 })

local configs = {
  { "Linear-GELU-Linear", function() return nn.Sequential(nn.Linear(512, 256), nn.GELU(), nn.Linear(256, 128)) end },
  { "+LayerNorm+Dropout(0.1)", function()
      return nn.Sequential(nn.Linear(512, 256), nn.LayerNorm(256), nn.GELU(), nn.Dropout(0.1), nn.Linear(256, 128))
    end },
  { "+MSE+AdamW step", function() return nn.Sequential(nn.Linear(512, 256), nn.GELU(), nn.Linear(256, 128)) end, true },
}

local flops = 3 * 2 * B * (512 * 256 + 256 * 128)
print(("nn MLP 512->256->128, batch %d, float32, %d threads, BLAS %s"):format(B, sl.num_threads(),
      sl.blas_corename and sl.blas_corename() or "?"))
print(("%-26s %12s %10s %10s"):format("config", "samples/s", "ms/step", "GFLOP/s"))
for _, c in ipairs(configs) do
  local m = c[2]()
  local opt = c[3] and optim.AdamW(m, { lr = 1e-3 }) or nil
  m:flat_parameters()
  local function step()
    m:zero_grad()
    local y = m:forward(x)
    local _, g = nn.mse_loss(y, target)
    m:backward(x, g)
    if opt then opt:step() end
  end
  step()
  collectgarbage()
  local best = math.huge
  for _ = 1, reps do
    local t0 = now()
    step()
    best = math.min(best, now() - t0)
  end
  print(("%-26s %12.0f %10.3f %10.1f"):format(c[1], B / best, best * 1e3, flops / best * 1e-9))
end
