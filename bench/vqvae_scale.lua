-- Tokenizer training cost at scale (issue 5: "training 10 000 operators on 2 CPU cores should
-- take minutes, not hours").  Builds N operator rows from a real dataset's assembled features
-- (rows drawn with replacement, each copy jittered by 5 % of its column's spread so no two rows
-- are equal), trains `--epochs` epochs with the given config and prints the seconds per epoch,
-- rows per second and the projected time for the epoch counts the 1000-operator bench needs.
-- A benchmark, not a test; not part of `make bench` (it takes minutes).
--
-- Usage: build/spinlock run bench/vqvae_scale.lua --dataset F [--rows 10000] [--epochs 3 | --epochs full]
--                                                  [--config configs/vqvae/production.yaml]
--   --epochs full trains as the config says (its epochs and early stopping) and reports the whole
--   run's wall time; resampled rows are easier than 10 000 new operators, so read it as the cost
--   of that many rows, not as a quality figure.
local sl = require "spinlock"
local train = require "spinlock.vqvae.train"
local cleaning = require "spinlock.cleaning"
local util = require "spinlock.vqvae.util"
local paths = require "spinlock.paths"

local cli = require "spinlock.cli"
local args = cli.parse(arg or {}, { options = {
  { "dataset", type = "path", help = "dataset whose features are resampled (default datasets/bench_vqvae_1000.h5)" },
  { "config", type = "path", help = "tokenizer config (default configs/vqvae/production.yaml)" },
  { "rows", type = "int", default = 10000, help = "operator rows to train on" },
  { "epochs", type = "string", default = "3", help = "epochs to time, or 'full' for the config's whole run" },
} }, "spinlock run bench/vqvae_scale.lua")
local home = paths.home or "."
local dataset = args.dataset or (home .. "/datasets/bench_vqvae_1000.h5")
local config = args.config or (home .. "/configs/vqvae/production.yaml")
local rows = args.rows
local full = args.epochs == "full"
local epochs = full and nil or tonumber(args.epochs)
if not full and not epochs then cli.user_error("vqvae_scale: --epochs must be a number or 'full', got '%s'", args.epochs) end

local cfg = train.resolve_config(config)
local X0, names = cleaning.load({ dataset }, { families = cfg.feature_families, optional = true })
X0 = X0:float():contiguous()
local N0, D = X0:size(1), X0:size(2)
local g = sl.Generator { seed = 5, purpose = 7, a = 0x7363, b = 0 }
local pick = {}
local u = g:uniform({ rows }, 0, 1, "float64"):totable()
for i = 1, rows do pick[i] = math.min(N0, math.floor(u[i] * N0) + 1) end
local X = util.gather_rows(X0, pick)
-- jitter: 5 % of each column's spread (NaN-safe: NaN stays NaN, constant columns stay constant)
local finite = sl.where(sl.isfinite(X0), X0, sl.zeros(N0, D))
local mu = finite:mean(1)
local sd = sl.sqrt(sl.square(sl.sub(finite, mu:view(1, D))):mean(1))
X = sl.add(X, sl.mul(g:normal({ rows, D }, 0, 1), sl.mul(sd, 0.05):view(1, D)))

local out = os.tmpname()
os.remove(out)
local t0 = sl.wall_time()
local res = train.run { X = X, names = names, config = config, output = out,
                        overrides = full and {} or { epochs = epochs, early_stopping_patience = epochs + 1 } }
epochs = res.epochs_run
local total = sl.wall_time() - t0
os.execute("rm -rf '" .. out .. "'")
local per_epoch = {}
for _, h in ipairs(res.history or {}) do per_epoch[#per_epoch + 1] = h.seconds end
table.sort(per_epoch)
local med = per_epoch[math.floor((#per_epoch + 1) / 2)] or total / epochs
print(string.format("VQ-VAE training cost: %d rows × %d raw columns from %s, config %s", rows, D, dataset, config))
print(string.format("  %d epochs in %.1f s (setup, cleaning and category discovery included)%s", epochs, total,
  full and string.format("; best epoch %d, %s", res.best_epoch, res.stop_reason or "all epochs run") or ""))
print(string.format("  median epoch %.2f s  →  %.0f training rows/s", med, (rows - math.floor(rows * cfg.val_fraction)) / med))
-- How fast the validation R² (category codes, fine level) gets close to where the run ends.
local h = res.history or {}
if #h > 0 and h[#h].val_r2_cat then
  local L = #h[#h].val_r2_cat
  local final = h[#h].val_r2_cat[L]
  local marks, t = {}, 0
  local within
  for _, e in ipairs(h) do
    t = t + e.seconds
    local v = e.val_r2_cat[L]
    if not within and v >= final - 0.01 then within = { epoch = e.epoch, t = t } end
    if e.epoch == 10 or e.epoch == 25 or e.epoch == 50 or e.epoch == 100 or e.epoch == 200 then
      marks[#marks + 1] = string.format("%d: %.3f", e.epoch, v)
    end
  end
  print(string.format("  validation R² (category codes, fine) by epoch  %s  (last %.3f)", table.concat(marks, ", "), final))
  if within then
    print(string.format("  within 0.01 of the last value at epoch %d, after %.1f min of epochs", within.epoch, within.t / 60))
  end
end
if full then
  print(string.format("  whole run: %.1f min", total / 60))
else
  for _, e in ipairs { 50, 100, 200 } do
    print(string.format("  projected for %d epochs: %.0f min", e, (total - med * epochs + med * e) / 60))
  end
end
