-- The tokenizer's training loop (spinlock.vqvae.train) and the tokenize / evaluate-vqvae
-- commands: a tiny seeded run on synthetic clustered data lowers the loss and gives R² rising
-- level by level; files and history; same seed → same tokens; resume continues where it
-- stopped; config errors; and, on a tiny dataset file, tokenize and evaluate end to end.
local sl = require "spinlock"
local train = require "spinlock.vqvae.train"
local vqvae = require "spinlock.vqvae"
local syn = require "spinlock.vqvae.synthetic"
local st = require "spinlock.safetensors"

local dirs = {}
local function tmpdir()
  local base = os.tmpname()
  os.remove(base)
  os.execute("mkdir -p " .. base)
  dirs[#dirs + 1] = base
  return base
end
teardown(function() for _, d in ipairs(dirs) do os.execute("rm -rf '" .. d .. "'") end end)

local CFG = { epochs = 25, batch_size = 64, latent_dim = 6, category_codebook_sizes = { 4, 8, 16 },
              token_codebook_sizes = { 8, 16, 32 }, group_hidden_dim = 32, group_embedding_dim = 16,
              decoder_hidden_dim = 64, dropout = 0, learning_rate = 3e-3, clean_features = false,
              topo_weight = 0.05, early_stopping_patience = 100, random_seed = 5 }

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end

local function lines_of(p)
  local out = {}
  for l in io.lines(p) do out[#out + 1] = l end
  return out
end

describe("train-vqvae loop", function()
  local X, names, cats = syn.make { n = 400, categories = { 6, 6, 6 }, seed = 11 }
  local out = tmpdir()
  local res = train.run { X = X, names = names, categories = cats, config = CFG, output = out, quiet = true }

  it("lowers the training loss and reaches a good fine-level R²", function()
    local h = res.history
    assert.are.equal(25, #h)
    assert.is_true(h[#h].train_total < 0.5 * h[1].train_total,
      string.format("loss %.4f → %.4f", h[1].train_total, h[#h].train_total))
    assert.is_true(h[#h].val_r2_tok[3] > 0.85, "fine R² " .. h[#h].val_r2_tok[3])
  end)

  it("gives R² rising level by level on both paths", function()
    local last = res.history[#res.history]
    for l = 2, 3 do
      assert.is_true(last.val_r2_tok[l] > last.val_r2_tok[l - 1], "token path level " .. l)
      assert.is_true(last.val_r2_cat[l] > last.val_r2_cat[l - 1], "category path level " .. l)
    end
  end)

  it("writes checkpoints, history lines and the resolved config", function()
    for _, f in ipairs { "best_model.safetensors", "best_model.json", "final_model.safetensors", "final_model.json",
                         "last.safetensors", "last.json", "history.jsonl", "config.json" } do
      assert.is_true(exists(out .. "/" .. f), f)
    end
    local hl = lines_of(out .. "/history.jsonl")
    assert.are.equal(25, #hl)
    local rec = st.json_decode(hl[3])
    assert.are.equal(3, rec.epoch)
    assert.is_number(rec.val_rec)
    assert.are.equal(3, #rec.utilisation)
    -- best_model holds the epoch with the lowest val_rec
    local best = vqvae.load(out .. "/best_model")
    local lowest, at = math.huge, 0
    for _, r in ipairs(res.history) do if r.val_rec < lowest - res.config.early_stopping_min_delta then lowest, at = r.val_rec, r.epoch end end
    assert.are.equal(at, best.checkpoint_extra.epoch)
    if sl.png_write then assert.is_true(exists(out .. "/training_curves.png")) end
  end)

  it("final checkpoint reproduces the in-memory model's tokens", function()
    local fin = vqvae.load(out .. "/final_model")
    local a = { res.model:get_tokens(X) }
    local b = { fin:get_tokens(X) }
    for l = 1, 3 do assert.are.same(a[l]:totable(), b[l]:totable()) end
  end)

  it("is deterministic: the same seed gives the same history and tokens", function()
    local cfg = {}
    for k, v in pairs(CFG) do cfg[k] = v end
    cfg.epochs = 3
    local r1 = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true }
    local r2 = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true }
    assert.are.equal(r1.history[3].train_total, r2.history[3].train_total)
    local a = { r1.model:get_tokens(X) }
    local b = { r2.model:get_tokens(X) }
    for l = 1, 3 do assert.are.same(a[l]:totable(), b[l]:totable()) end
  end)

  it("resumes from last.* and continues the same run", function()
    local cfg = {}
    for k, v in pairs(CFG) do cfg[k] = v end
    cfg.epochs = 4
    local full = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true }
    local d = tmpdir()
    local part = train.run { X = X, names = names, categories = cats, config = cfg, output = d, quiet = true, max_epochs = 2 }
    assert.are.equal(2, part.epochs_run)
    local rest = train.run { X = X, names = names, categories = cats, config = cfg, output = d, quiet = true,
                             resume = d .. "/last" }
    assert.are.equal(4, rest.epochs_run)
    assert.are.equal(4, #rest.history)
    assert.is_true(math.abs(full.history[4].train_total - rest.history[4].train_total) < 1e-6 * full.history[4].train_total,
      string.format("%.9g vs %.9g", full.history[4].train_total, rest.history[4].train_total))
    assert.are.equal(4, #lines_of(d .. "/history.jsonl"))
  end)

  it("says why it stopped: all epochs run vs early stop", function()
    -- a huge min_delta: only epoch 1 counts as an improvement
    local cfg = {}
    for k, v in pairs(CFG) do cfg[k] = v end
    cfg.epochs, cfg.early_stopping_patience, cfg.early_stopping_min_delta = 4, 3, 1e9
    local lines = {}
    local function logf(s) lines[#lines + 1] = s end
    -- patience runs out exactly at the last configured epoch: that is not an early stop
    local r = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true, log = logf, progress = false }
    assert.are.equal(4, r.epochs_run)
    assert.is_false(r.stopped_early)
    assert.are.equal("finished", r.stop_reason)
    local text = table.concat(lines, "\n")
    assert.matches("finished all 4 epochs %(best val_rec [%d.e+-]+ at epoch 1%)", text)
    assert.is_nil(text:find("early stop", 1, true), text)
    -- with more epochs configured it stops early, at epoch 1 + patience, and says so
    cfg.epochs, lines = 10, {}
    r = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true, log = logf, progress = false }
    assert.are.equal(4, r.epochs_run)
    assert.is_true(r.stopped_early)
    assert.are.equal("early_stop", r.stop_reason)
    text = table.concat(lines, "\n")
    assert.matches("early stop at epoch 4 of 10: no improvement of val_rec by 1e%+09 for 3 epochs", text)
    assert.is_nil(text:find("finished all", 1, true), text)
  end)

  it("Ctrl-C (SIGINT) stops after the current batch and writes last.* for --resume", function()
    if not sl.signals_install then pending("no signal support in this build"); return end
    local ffi = require "ffi"
    pcall(ffi.cdef, "int getpid(void); int kill(int pid, int sig);")
    local cfg = {}
    for k, v in pairs(CFG) do cfg[k] = v end
    cfg.epochs = 6
    local d = tmpdir()
    local r = train.run { X = X, names = names, categories = cats, config = cfg, output = d, quiet = true,
      on_epoch = function(rec) if rec.epoch == 2 then ffi.C.kill(ffi.C.getpid(), 2) end end }
    sl.clear_interrupt()
    assert.is_true(r.interrupted)
    assert.are.equal(2, r.epochs_run)
    assert.is_true(exists(d .. "/last.safetensors"))
    assert.is_false(exists(d .. "/final_model.json"))
    local rest = train.run { X = X, names = names, categories = cats, config = cfg, output = d, quiet = true,
                             resume = d .. "/last" }
    assert.are.equal(6, rest.epochs_run)
  end)

  it("max_features_per_category splits big categories in column order", function()
    local cfg = {}
    for k, v in pairs(CFG) do cfg[k] = v end
    cfg.epochs, cfg.max_features_per_category = 1, 4
    local r = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true }
    assert.are.equal(6, #r.model.categories)
    assert.are.equal("synth_c1_1", r.model.categories[1].name)
    assert.are.equal(3, r.model.categories[1].size)
    assert.are.same({ 1, 2, 3 }, r.model.transform.category_columns[1])
    assert.are.same({ 4, 5, 6 }, r.model.transform.category_columns[2])
  end)

  it("rejects unknown and invalid config keys with the fix in the message", function()
    local ok, err = pcall(train.resolve_config, { learning_rat = 1 })
    assert.is_false(ok)
    assert.matches("unknown key 'learning_rat' %(did you mean 'learning_rate'%?%)", tostring(err))
    ok, err = pcall(train.resolve_config, { epochs = 0 })
    assert.is_false(ok)
    assert.matches("epochs must be >= 1", tostring(err))
    local c = train.resolve_config("configs/vqvae/fast_training.yaml")
    assert.are.equal(3, #c.token_codebook_sizes)
    c = train.resolve_config("configs/vqvae/production.yaml")
    assert.are.equal(42, c.random_seed)
  end)
end)

-- A tiny dataset file in the generate format (features/<family> + feature_names, metadata labels).
local function write_dataset(path, n)
  local X, names = syn.make { n = n, categories = { 5, 5, 5 }, seed = 21 }
  local h5 = require "spinlock.h5"
  local f = h5.open(path, "w")
  f:create_dataset("features/architecture", { shape = { n, 5 } })
  f:write("features/architecture", X:narrow(2, 1, 5))
  local an, sn = {}, {}
  for j = 1, 5 do an[j] = "arch_" .. j end
  for j = 1, 10 do sn[j] = "stat_" .. j end
  f:set_attr("features/architecture", "feature_names", an)
  f:create_dataset("features/summary", { shape = { n, 10 } })
  f:write("features/summary", X:narrow(2, 6, 10))
  f:set_attr("features/summary", "feature_names", sn)
  local ic, pol = {}, {}
  for i = 1, n do ic[i] = (i % 2 == 0) and "gaussian" or "sine"; pol[i] = (i % 3 == 0) and "convex" or "residual" end
  f:write_strings("metadata/ic_types", ic)
  f:write_strings("metadata/evolution_policies", pol)
  f:close()
  return X
end

describe("tokenize and evaluate-vqvae on a dataset file", function()
  local have = pcall(require, "spinlock.cleaning")
  if not have then
    it("needs spinlock.cleaning", function() pending("spinlock.cleaning is not in this build yet") end)
    return
  end
  local d = tmpdir()
  local ds = d .. "/tiny.h5"
  write_dataset(ds, 200)
  local cfg = {}
  for k, v in pairs(CFG) do cfg[k] = v end
  cfg.epochs, cfg.clean_features, cfg.feature_families = 8, true, { "architecture", "summary" }
  cfg.min_categories, cfg.max_clusters = 2, 4
  local res = train.run { datasets = { ds }, config = cfg, output = d .. "/ckpt", quiet = true }

  it("trains from the file with cleaning and discovered categories", function()
    assert.are.equal(8, res.epochs_run)
    assert.is_true(#res.model.categories >= 1)
    assert.is_truthy(res.model.transform.cleaning)
  end)

  it("tokenize writes tokens/ that match get_tokens on the raw features", function()
    local tok = require "spinlock.vqvae.tokenize"
    local m = vqvae.load(d .. "/ckpt/best_model")
    local info = tok.run(m, ds, d .. "/tokens.h5")
    assert.are.equal(200, info.n)
    local h5 = require "spinlock.h5"
    local f = h5.open(d .. "/tokens.h5", "r")
    local fine = f:read("tokens/fine")
    local codes = f:read("tokens/category_codes")
    local lv = f:attr("tokens", "level_names")
    f:close()
    assert.are.same({ "coarse", "medium", "fine" }, lv)
    local a, b, c = m:get_tokens(ds)
    assert.are.same(c:totable(), fine:totable())
    assert.are.same({ 200, #m.categories, 3 }, codes:shape())
    -- into the dataset itself, refusing to overwrite without force
    tok.run(m, ds)
    local ok = pcall(tok.run, m, ds)
    assert.is_false(ok)
    tok.run(m, ds, nil, { force = true })
  end)

  it("the commands run end to end through the binary", function()
    local exe = require("spinlock.paths").exe
    local cfgfile = d .. "/cfg.yaml"
    local f = assert(io.open(cfgfile, "w"))
    f:write("model: {latent_dim: 4, category_codebook_sizes: [2, 4, 8], token_codebook_sizes: [4, 8, 16],\n",
            "        group_hidden_dim: 16, group_embedding_dim: 8, decoder_hidden_dim: 32}\n",
            "training: {epochs: 3, batch_size: 64}\n",
            "data: {feature_families: [architecture, summary], min_categories: 2, max_clusters: 4}\n")
    f:close()
    local function run(cmd)
      local p = io.popen(cmd .. " 2>&1; echo \"EXIT=$?\"")
      local o = p:read("*a"); p:close()
      return o, tonumber(o:match("EXIT=(%d+)%s*$"))
    end
    local o, code = run(string.format("%s train-vqvae --dataset %s --config %s --output %s/cli --quiet", exe, ds, cfgfile, d))
    assert.are.equal(0, code, o)
    assert.matches("validation R² by level", o)
    -- the guide's Workflow 1 form: best_model.pt is an alias, and without --dataset the
    -- checkpoint's recorded training data is scored (its validation rows)
    o, code = run(string.format("%s evaluate-vqvae --checkpoint %s/cli/best_model.pt", exe, d))
    assert.are.equal(0, code, o)
    assert.truthy(o:find("data " .. ds .. "; rows: validation", 1, true), o)
    assert.matches("ic_type", o)
    assert.is_true(exists(d .. "/cli/evaluation/evaluation.json"))
    o, code = run(string.format("%s tokenize --checkpoint %s/cli --dataset %s --output %s/t.h5", exe, d, ds, d))
    assert.are.equal(0, code, o)
    assert.matches("tokenized 200 operators", o)
    o, code = run(string.format("%s train-vqvae --config %s", exe, cfgfile))
    assert.are.equal(1, code, o)
    assert.matches("give the features to train on", o)
  end)

  it("--datasets: matching schemas train on the concatenation, differing ones are a clear error", function()
    local ds2 = d .. "/second.h5"
    write_dataset(ds2, 100)
    local c2 = {}
    for k, v in pairs(cfg) do c2[k] = v end
    c2.epochs = 1
    local r2 = train.run { datasets = { ds, ds2 }, config = c2, quiet = true }
    assert.are.equal(300, r2.data.N)
    assert.are.same({ ds, ds2 }, r2.model.transform.datasets)
    assert.are.equal(300, #r2.data.tr_rows + #r2.data.va_rows)
    -- a file whose summary family is wider
    local bad = d .. "/wide.h5"
    local h5 = require "spinlock.h5"
    local f = h5.open(bad, "w")
    f:create_dataset("features/architecture", { shape = { 50, 5 } })
    f:write("features/architecture", sl.ones(50, 5))
    f:create_dataset("features/summary", { shape = { 50, 12 } })
    f:write("features/summary", sl.ones(50, 12))
    f:close()
    local ok, err = pcall(train.run, { datasets = { ds, bad }, config = c2, quiet = true })
    assert.is_false(ok)
    err = tostring(err)
    assert.truthy(err:find("feature schemas of " .. ds .. " and " .. bad .. " differ", 1, true), err)
    assert.truthy(err:find("features/summary gives 10 columns in " .. ds .. " but 12 in " .. bad, 1, true), err)
    -- through the binary: a user error (exit 1, no traceback) naming both files
    local exe = require("spinlock.paths").exe
    local p = io.popen(string.format("%s train-vqvae --datasets %s %s --output %s/bad --quiet 2>&1; echo \"EXIT=$?\"",
      exe, ds, bad, d))
    local o = p:read("*a"); p:close()
    assert.matches("EXIT=1", o)
    assert.truthy(o:find("features/summary gives 10 columns in " .. ds .. " but 12 in " .. bad, 1, true), o)
    assert.is_nil(o:find("traceback", 1, true), o)
  end)

  it("evaluate reports R² per level, utilisation, purity and topography", function()
    local ev = require "spinlock.vqvae.evaluate"
    local m = vqvae.load(d .. "/ckpt/best_model")
    local labels = { ic_type = {}, policy = {} }
    for i = 1, 200 do labels.ic_type[i] = (i % 2 == 0) and "gaussian" or "sine" end
    for i = 1, 200 do labels.policy[i] = (i % 3 == 0) and "convex" or "residual" end
    local r = ev.run(m, ds, { labels = labels, rows = m.transform.validation_rows })
    assert.are.equal(#m.transform.validation_rows, r.n)
    assert.are.equal(3, #r.levels)
    for _, lv in ipairs(r.levels) do
      assert.is_number(lv.r2); assert.is_number(lv.utilisation); assert.is_number(lv.purity.ic_type)
    end
    assert.is_truthy(r.families.architecture)
    assert.is_number(r.topographic.pre)
    local text = ev.format(r)
    assert.matches("coarse", text)
    assert.matches("topographic", text)
  end)
end)

describe("on a dataset made by spinlock generate (configs/tiny.yaml)", function()
  local paths = require "spinlock.paths"
  local exe = paths.exe
  local d = tmpdir()
  local ds = d .. "/tiny.h5"
  local function run(cmd)
    local p = io.popen(cmd .. " 2>&1; echo \"EXIT=$?\"")
    local o = p:read("*a"); p:close()
    return o, tonumber(o:match("EXIT=(%d+)%s*$"))
  end
  local gen_out, gen_code = run(string.format("%s generate --config %s/configs/tiny.yaml --output %s", exe, paths.home, ds))

  it("trains, evaluates and tokenizes; h5py reads the tokens", function()
    if gen_code ~= 0 then pending("generate failed here: " .. gen_out); return end
    local cfgfile = d .. "/cfg.yaml"
    local f = assert(io.open(cfgfile, "w"))
    f:write("model: {latent_dim: 4, category_codebook_sizes: [2, 4, 8], token_codebook_sizes: [2, 4, 8],\n",
            "        group_hidden_dim: 16, group_embedding_dim: 8, decoder_hidden_dim: 32}\n",
            "training: {epochs: 3, batch_size: 8, val_fraction: 0.25}\n",
            "data: {min_categories: 2, max_clusters: 6}\n")
    f:close()
    local o, code = run(string.format("%s train-vqvae --dataset %s --config %s --output %s/ck --quiet", exe, ds, cfgfile, d))
    assert.are.equal(0, code, o)
    o, code = run(string.format("%s evaluate-vqvae --checkpoint %s/ck", exe, d))
    assert.are.equal(0, code, o)
    assert.matches("rows: validation %(4%)", o)
    assert.matches("architecture", o)
    o, code = run(string.format("%s tokenize --checkpoint %s/ck --dataset %s", exe, d, ds))
    assert.are.equal(0, code, o)
    local m = vqvae.load(d .. "/ck")
    local a, b, c = m:get_tokens(ds)
    local h5 = require "spinlock.h5"
    local fh = h5.open(ds, "r")
    local fine = fh:read("tokens/fine")
    fh:close()
    assert.are.same(c:totable(), fine:totable())
    local _, pycode = run("/usr/bin/python3 -c 'import h5py'")
    if pycode == 0 then
      local out, c2 = run("/usr/bin/python3 -c \"import h5py; f = h5py.File('" .. ds .. "', 'r'); t = f['tokens/fine']; " ..
        "print(t.dtype, t.shape, list(f['tokens'].attrs['level_names']))\"")
      assert.are.equal(0, c2, out)
      assert.matches("int64 %(16,%) %['coarse', 'medium', 'fine'%]", out)
    end
  end)
end)
