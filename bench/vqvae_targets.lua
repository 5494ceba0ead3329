-- Tokenizer targets (spec/vqvae.md §8, issue 5): on a 1000-operator dataset made by our own
-- `spinlock generate`, train the VQ-VAE and report, on the validation rows,
--   fine-level R² (target ≥ 0.90), utilisation per level (≥ 0.80), R² rising by level, for the
--   category codes (the reference's tokens: one code per category per level, [N, C·L]) and for
--   the operator tokens (one per level; no R² target: 3 tokens carry ~18 bits, and the bench
--   prints residual k-means with the same codebook sizes as the bound), and topographic
--   correlation (≥ 0.85).
-- A benchmark, not a test: it prints the numbers and PASS/MISS against each target and exits 0.
-- Not picked up by `make bench` (not *_bench.lua): it generates and trains for minutes.
--
-- Usage: build/spinlock run bench/vqvae_targets.lua [--dataset F] [--config C] [--epochs N]
--                                                    [--output DIR] [--synthetic]
--   --dataset   default datasets/bench_vqvae_1000.h5; generated here if missing, from a small
--               config (32×32 grid, M = 2, T = 16, the test_100 parameter space and IC mix)
--   --config    tokenizer config, default configs/vqvae/production.yaml
--   --synthetic skip generation and use spinlock.vqvae.synthetic (a quick check of the pipeline)
local sl = require "spinlock"
local train = require "spinlock.vqvae.train"
local ev = require "spinlock.vqvae.evaluate"
local vqvae = require "spinlock.vqvae"
local paths = require "spinlock.paths"

local cli = require "spinlock.cli"
local args = cli.parse(arg or {}, { options = {
  { "dataset", type = "path", help = "dataset (default datasets/bench_vqvae_1000.h5, generated if missing)" },
  { "config", type = "path", help = "tokenizer config (default configs/vqvae/production.yaml)" },
  { "epochs", type = "int", help = "override the config's epochs" },
  { "output", type = "path", help = "training output folder (default /tmp/spinlock_vqvae_targets)" },
  { "synthetic", type = "flag", help = "seeded clustered data instead of a dataset" },
} }, "spinlock run bench/vqvae_targets.lua")
local home = paths.home or "."
local dataset = args.dataset or (home .. "/datasets/bench_vqvae_1000.h5")
local config = args.config or (home .. "/configs/vqvae/production.yaml")
local output = args.output or "/tmp/spinlock_vqvae_targets"
local function sh(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local GEN_CONFIG = [[
version: "1.0"
metadata: {name: bench_vqvae_1000, description: "VQ-VAE target bench: 1000 small operators"}
parameter_space:
  architecture:
    num_layers: {type: integer, bounds: [2, 3]}
    base_channels: {type: integer, bounds: [4, 8]}
    kernel_size: {type: choice, choices: [3, 5]}
    activation: {type: choice, choices: [gelu, relu, tanh]}
    dropout_rate: {type: continuous, bounds: [0.0, 0.3]}
  stochastic:
    noise_type: {type: choice, choices: [gaussian]}
    noise_scale: {type: continuous, bounds: [0.00001, 1.0], log_scale: true}
    spatial_correlation: {type: continuous, bounds: [0.0, 0.3]}
  operator:
    normalization: {type: choice, choices: [instance]}
    grid_size: {type: choice, choices: [32]}
  evolution:
    update_policy: {type: choice, choices: [residual, convex], weights: [0.75, 0.25]}
sampling:
  sobol: {scramble: true, seed: 42}
  total_samples: 1000
  batch_size: 10
simulation:
  device: auto
  num_realizations: 2
  num_timesteps: 16
  input_generation:
    method: sampled
    ic_type_weights: {gaussian_random_field: 0.4, structured: 0.3, localized: 0.3}
dataset:
  output_path: datasets/bench_vqvae_1000.h5
  storage: {chunk_size: 10, store_trajectories: false}
features: {initial: true, architecture: true, summary: true, temporal: true}
]]

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end

local t0 = sl.wall_time()
local res
local labels
if args.synthetic then
  local syn = require "spinlock.vqvae.synthetic"
  local X, names, cats, leaf, coarse = syn.make { n = 1000, categories = { 12, 12, 12, 12 }, seed = 1 }
  labels = { coarse_cluster = {} }
  for i, c in ipairs(coarse) do labels.coarse_cluster[i] = "c" .. c end
  res = train.run { X = X, names = names, config = config, output = output,
                    overrides = { clean_features = false, epochs = tonumber(args.epochs) } }
  res.eval_input = X
else
  if not exists(dataset) then
    os.execute("mkdir -p " .. sh(dataset:match("^(.*)/[^/]*$") or "."))
    local cfg = os.tmpname() .. ".yaml"
    local f = assert(io.open(cfg, "w")); f:write(GEN_CONFIG); f:close()
    print("generating " .. dataset .. " (1000 operators) …")
    local tg = sl.wall_time()
    local ok = os.execute(sh(paths.exe) .. " generate --config " .. sh(cfg) .. " --output " .. sh(dataset))
    os.remove(cfg)
    if ok ~= 0 and ok ~= true then error("vqvae_targets: generate failed") end
    print(string.format("generated in %.1f s", sl.wall_time() - tg))
  end
  labels = { ic_type = {}, policy = {} }
  local h5 = require "spinlock.h5"
  h5.with(dataset, "r", function(f)
    if f:exists("metadata/ic_types") then labels.ic_type = f:read_strings("metadata/ic_types") else labels.ic_type = nil end
    if f:exists("metadata/evolution_policies") then labels.policy = f:read_strings("metadata/evolution_policies") else labels.policy = nil end
  end)
  local ov = {}
  if args.epochs then ov.epochs = tonumber(args.epochs) end
  res = train.run { datasets = { dataset }, config = config, output = output, overrides = ov }
  res.eval_input = dataset
end
local train_s = sl.wall_time() - t0

local model = vqvae.load(output .. "/best_model")
local rows = res.data.va_rows
-- the validation rows (synthetic rows are already the model's columns: no cleaning)
local r = ev.run(model, res.eval_input, { labels = labels, rows = rows })
print("")
print(ev.format(r))
print("")
local L = #r.levels
local function mark(ok) return ok and "PASS" or "MISS" end
local function list(key, fmt)
  local t = {}
  for l = 1, L do t[l] = string.format(fmt or "%.4f", r.levels[l][key]) end
  return table.concat(t, " / ")
end
local function rising(key)
  for l = 2, L do if r.levels[l][key] <= r.levels[l - 1][key] then return false end end
  return true
end
local function min_of(key)
  local m = math.huge
  for l = 1, L do m = math.min(m, r.levels[l][key]) end
  return m
end
local C = #model.categories
local bits = 0
for l = 1, L do bits = bits + math.log(model.tok_q[l].num_codes) / math.log(2) end
print(string.format("VQ-VAE targets on %s validation rows (%d operators in the data; %d epochs, best at %d; %.0f s)",
  args.synthetic and "synthetic" or dataset, res.data.N, res.epochs_run, res.best_epoch, train_s))
print(string.format("category codes (%d categories × %d levels per operator: the reference's tokens [N, C·L])", C, L))
print(string.format("  fine-level R²                 %.4f   target ≥ 0.90  %s", r.levels[L].r2_cat, mark(r.levels[L].r2_cat >= 0.90)))
print(string.format("  utilisation per level         %s   target ≥ 0.80  %s", list("cat_utilisation", "%.3f"), mark(min_of("cat_utilisation") >= 0.80)))
print(string.format("  R² by level                   %s   rising         %s", list("r2_cat"), mark(rising("r2_cat"))))
-- The same bits without any network: residual k-means (k-means++ and 25 Lloyd steps per level) on
-- the prepared training rows with the token codebook sizes, scored on the validation rows.  The
-- operator tokens cannot be expected to do much better than this.
local function residual_kmeans()
  local vq = require "spinlock.vq"
  local metrics = require "spinlock.vqvae.metrics"
  local util = require "spinlock.vqvae.util"
  local Xtr, Xva = res.data.Xtr, res.data.Xva
  if not Xva then return nil end
  local rt, rv, out = Xtr, Xva, {}
  for l = 1, L do
    local q = vq.VectorQuantizer { num_codes = model.tok_q[l].num_codes, dim = Xtr:size(2), seed = 17 + l }
    q:init_from_data(rt, 25)
    rt = sl.sub(rt, util.gather_rows(q.codebook, (q:quantize(rt))))
    rv = sl.sub(rv, util.gather_rows(q.codebook, (q:quantize(rv))))
    out[l] = string.format("%.4f", (metrics.r2(Xva, sl.sub(Xva, rv))))
  end
  return table.concat(out, " / ")
end
local base = residual_kmeans()
print(string.format("operator tokens (one per level: coarse, medium, fine = %.0f bits per operator)", bits))
print(string.format("  fine-level R²                 %.4f   (no target: %.0f bits bound it, docs/vqvae.md \"Measured\")", r.levels[L].r2, bits))
if base then
  print(string.format("  same bits, residual k-means   %s   (by level, no network)", base))
end
print(string.format("  utilisation per level         %s   target ≥ 0.80  %s", list("utilisation", "%.3f"), mark(min_of("utilisation") >= 0.80)))
print(string.format("  R² by level                   %s   rising         %s", list("r2"), mark(rising("r2"))))
print(string.format("topographic r (pre-quant.)      %.4f   target ≥ 0.85  %s   (quantized, fine tokens: %.4f)",
  r.topographic.pre, mark(r.topographic.pre >= 0.85), r.topographic.post))
