-- The tokenizer's training loop (spinlock.vqvae.train) and the tokenize / evaluate-vqvae
-- commands: a tiny seeded run on synthetic clustered data lowers the loss and gives R² rising
-- level by level; files and history; same seed → same tokens; resume continues where it
-- stopped; config errors; and, on a tiny dataset file, tokenize and evaluate end to end.
local sl = require "spinlock"
local train = require "spinlock.vqvae.train"
local vqvae = require "spinlock.vqvae"
local syn = require "spinlock.vqvae.synthetic"
local st = require "spinlock.safetensors"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"
local tmpdir = SH.tmpdir
teardown(SH.remove_tmpdirs)

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
    local cfg = SH.copy(CFG, { epochs = 3 })
    local r1 = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true }
    local r2 = train.run { X = X, names = names, categories = cats, config = cfg, quiet = true }
    assert.are.equal(r1.history[3].train_total, r2.history[3].train_total)
    local a = { r1.model:get_tokens(X) }
    local b = { r2.model:get_tokens(X) }
    for l = 1, 3 do assert.are.same(a[l]:totable(), b[l]:totable()) end
  end)

  it("resumes from last.* and continues the same run", function()
    local cfg = SH.copy(CFG, { epochs = 4 })
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

  it("interrupt + resume gives bit-identical checkpoints to an uninterrupted run (dead-code resets on both sides)", function()
    -- dropout on (its mask streams must resume), quick dead-code resets, patience ticking
    local cfg = SH.copy(CFG, { epochs = 8, dropout = 0.1, dead_code_after = 2, early_stopping_patience = 50 })
    local d1, d2 = tmpdir(), tmpdir()
    local full = train.run { X = X, names = names, categories = cats, config = cfg, output = d1, quiet = true }
    local part = train.run { X = X, names = names, categories = cats, config = cfg, output = d2, quiet = true,
                             stop_after_epoch = 4 }
    assert.is_true(part.interrupted)
    assert.are.equal(4, part.epochs_run)
    assert.is_false(exists(d2 .. "/final_model.json"))
    local rest = train.run { config = cfg, output = d2, quiet = true, X = X, names = names, categories = cats,
                             resume = d2 .. "/last" }
    assert.are.equal(8, rest.epochs_run)
    local before, after = 0, 0
    for _, r in ipairs(full.history) do
      if r.epoch <= 4 then before = before + r.resets else after = after + r.resets end
    end
    assert.is_true(before > 0 and after > 0, string.format("resets before %d, after %d", before, after))
    local function bytes(p) local f = assert(io.open(p, "rb")); local b = f:read("*a"); f:close(); return b end
    local function doc(p)
      local j = st.json_decode(bytes(p))
      j.created = nil                                 -- wall-clock fields
      for _, r in ipairs(j.extra and j.extra.history or {}) do r.seconds = nil end
      return j
    end
    for _, name in ipairs { "final_model", "best_model", "last" } do
      assert.is_true(bytes(d1 .. "/" .. name .. ".safetensors") == bytes(d2 .. "/" .. name .. ".safetensors"),
        name .. ".safetensors differs")
      assert.are.same(doc(d1 .. "/" .. name .. ".json"), doc(d2 .. "/" .. name .. ".json"))
    end
    for i = 1, 8 do
      assert.are.equal(full.history[i].train_total, rest.history[i].train_total)
      assert.are.equal(full.history[i].resets, rest.history[i].resets)
    end
    assert.are.equal(8, #lines_of(d2 .. "/history.jsonl"))
  end)

  it("says why it stopped: all epochs run vs early stop", function()
    -- a huge min_delta: only epoch 1 counts as an improvement
    local cfg = SH.copy(CFG, { epochs = 4, early_stopping_patience = 3, early_stopping_min_delta = 1e9 })
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
    local cfg = SH.copy(CFG, { epochs = 6 })
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
    local cfg = SH.copy(CFG, { epochs = 1, max_features_per_category = 4 })
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
    assert.matches("epochs must be an integer >= 1, got 0", tostring(err))
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
  local d = tmpdir()
  local ds = d .. "/tiny.h5"
  write_dataset(ds, 200)
  local cfg = SH.copy(CFG, { epochs = 8, clean_features = true, feature_families = { "architecture", "summary" },
                            min_categories = 2, max_clusters = 4 })
  local res = train.run { datasets = { ds }, config = cfg, output = d .. "/ckpt", quiet = true }
  local exe = require("spinlock.paths").exe
  local sh = SH.shell
  -- A small training config at path (feature families architecture and summary).
  local function small_cfg(path)
    local f = assert(io.open(path, "w"))
    f:write("model: {latent_dim: 4, category_codebook_sizes: [2, 4, 8], token_codebook_sizes: [4, 8, 16],\n",
            "        group_hidden_dim: 16, group_embedding_dim: 8, decoder_hidden_dim: 32}\n",
            "training: {epochs: 3, batch_size: 64}\n",
            "data: {feature_families: [architecture, summary], min_categories: 2, max_clusters: 4}\n")
    f:close()
    return path
  end
  -- Each case {command, message}: exit 1, the message in the output, no traceback.
  local function expect_user_errors(cases)
    for _, c in ipairs(cases) do
      local o, code = sh(c[1])
      assert.are.equal(1, code, c[1] .. "\n" .. o)
      assert.truthy(o:find(c[2], 1, true), c[2] .. " not in: " .. o)
      assert.is_nil(o:lower():find("traceback", 1, true), o)
      assert.is_nil(o:find("unexpected error", 1, true), o)
    end
  end

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
    local cfgfile = small_cfg(d .. "/cfg.yaml")
    local o, code = sh(string.format("%s train-vqvae --dataset %s --config %s --output %s/cli/ --quiet", exe, ds, cfgfile, d))
    assert.are.equal(0, code, o)
    assert.are.equal("", o)                         -- -q: nothing but errors
    o, code = sh(string.format("%s train-vqvae --dataset %s --config %s --output %s/cli2/", exe, ds, cfgfile, d))
    assert.are.equal(0, code, o)
    assert.matches("validation R² by level", o)
    assert.truthy(o:find("checkpoints: " .. d .. "/cli2/best_model", 1, true), o)   -- no double slash
    assert.matches("feature categories %(%d+%):", o)
    -- the guide's Workflow 1 form: best_model.pt is an alias, and without --dataset the
    -- checkpoint's recorded training data is scored (its validation rows)
    o, code = sh(string.format("%s evaluate-vqvae --checkpoint %s/cli/best_model.pt", exe, d))
    assert.are.equal(0, code, o)
    assert.truthy(o:find("data " .. ds .. "; rows: validation", 1, true), o)
    assert.matches("ic_type", o)
    assert.is_true(exists(d .. "/cli/evaluation/evaluation.json"))
    o, code = sh(string.format("%s tokenize --checkpoint %s/cli --dataset %s --output %s/t.h5", exe, d, ds, d))
    assert.are.equal(0, code, o)
    assert.matches("tokenized 200 operators", o)
    o, code = sh(string.format("%s train-vqvae --config %s", exe, cfgfile))
    assert.are.equal(1, code, o)
    assert.matches("give the features to train on", o)
  end)

  it("--resume defaults to the checkpoint's datasets and folder; another folder with checkpoints needs --force", function()
    local w = tmpdir()
    local cfgfile = small_cfg(w .. "/cfg.yaml")
    local o, code = sh(string.format("cd %s && %s train-vqvae --dataset %s --config %s --output run1 -q", w, exe, ds, cfgfile))
    assert.are.equal(0, code, o)
    o, code = sh(string.format("cd %s && %s train-vqvae --dataset %s --config %s --output run2 -q", w, exe, ds, cfgfile))
    assert.are.equal(0, code, o)
    -- no --dataset, no --output: the recorded file, into run1 (not checkpoints/vqvae)
    o, code = sh(string.format("cd %s && %s train-vqvae --resume run1/last --epochs 5", w, exe))
    assert.are.equal(0, code, o)
    assert.truthy(o:find("trained 5 of 5 epochs", 1, true), o)
    assert.are.equal(5, #lines_of(w .. "/run1/history.jsonl"))
    assert.is_false(exists(w .. "/checkpoints/vqvae/last.json"))
    -- another folder that already holds checkpoints: refused, then allowed with --force
    o, code = sh(string.format("cd %s && %s train-vqvae --resume run1/last --epochs 6 --output run2/", w, exe))
    assert.are.equal(1, code, o)
    assert.truthy(o:find("--output run2 already holds checkpoints", 1, true), o)
    assert.is_nil(o:find("traceback", 1, true), o)
    o, code = sh(string.format("cd %s && %s train-vqvae --resume run1/last --epochs 6 --output run2 --force -q", w, exe))
    assert.are.equal(0, code, o)
    assert.are.equal(6, #lines_of(w .. "/run2/history.jsonl"))   -- the whole history, not only the new epochs
    -- a fresh folder is fine without --force
    o, code = sh(string.format("cd %s && %s train-vqvae --resume run1/last --epochs 6 --output run3 -q", w, exe))
    assert.are.equal(0, code, o)
  end)

  it("bad inputs are user errors through the binary (exit 1, no traceback), naming the file or key", function()
    local w = tmpdir()
    local cfgfile = small_cfg(w .. "/cfg.yaml")
    local noth5 = w .. "/notes.h5"
    local f = assert(io.open(noth5, "w")); f:write("just text\n"); f:close()
    local nofeat = w .. "/nofeat.h5"
    local h5 = require "spinlock.h5"
    local hf = h5.open(nofeat, "w")
    hf:write_strings("metadata/ic_types", { "a", "b" })
    hf:close()
    local cases = {
      { string.format("%s train-vqvae --dataset %s --config %s --output %s/o1 -q", exe, noth5, cfgfile, w),
        noth5 .. " is not an HDF5 file" },
      { string.format("%s tokenize --checkpoint %s/ckpt --dataset %s --output %s/t.h5", exe, d, noth5, w),
        noth5 .. " is not an HDF5 file" },
      { string.format("%s train-vqvae --dataset %s --config %s --output %s/o2 -q", exe, nofeat, cfgfile, w),
        nofeat .. " has no features/ group" },
      { string.format("%s tokenize --checkpoint %s/ckpt --dataset %s --output %s/t.h5", exe, d, nofeat, w),
        nofeat .. " has no features/ group" },
    }
    local bad = {
      { "model: {latent_dim: -4}\n", "latent_dim must be an integer >= 1, got -4" },
      { "training: {batch_size: many}\n", "batch_size must be an integer >= 2, got 'many'" },
      { "model: {dropout: 1.5}\n", "dropout must be a number in [0, 1), got 1.5" },
      { "data: {normalization: zscore}\n", "normalization must be one of standard, robust, none, got 'zscore'" },
      { "model: {token_codebook_sizes: [4, 0, 8]}\n", "token_codebook_sizes must be a non-empty list of integers >= 1" },
      { "data: {feature_families: [summary, spectra]}\n", "feature_families: unknown family 'spectra'" },
    }
    for i, b in ipairs(bad) do
      local p = w .. "/bad" .. i .. ".yaml"
      local fh = assert(io.open(p, "w")); fh:write(b[1]); fh:close()
      cases[#cases + 1] = { string.format("%s train-vqvae --dataset %s --config %s --output %s/o3 -q", exe, ds, p, w),
                            p .. ": " .. b[2] }
    end
    expect_user_errors(cases)
  end)

  it("wrong kinds of paths and config shapes are user errors naming the file and what was expected", function()
    local w = tmpdir()
    local cfgfile = small_cfg(w .. "/cfg.yaml")
    local notes = w .. "/notes.txt"
    local f = assert(io.open(notes, "w")); f:write("just some notes\n"); f:close()
    local adir = w .. "/adir"
    os.execute("mkdir -p '" .. adir .. "'")
    local sec = w .. "/section.yaml"
    f = assert(io.open(sec, "w")); f:write("training: 5\n"); f:close()
    local cases = {
      { string.format("%s train-vqvae --dataset %s --config %s -q", exe, ds, notes),
        notes .. ": expected a YAML mapping of settings" },
      { string.format("%s train-vqvae --dataset %s --config %s -q", exe, ds, sec),
        sec .. ": section 'training' expected a mapping of settings, found a number" },
      { string.format("%s train-vqvae --dataset %s --config %s -q", exe, ds, adir),
        adir .. ": cannot read" },
      { string.format("%s train-vqvae --dataset %s --config %s --epochs 0 -q", exe, ds, cfgfile),
        "command line: epochs must be an integer >= 1, got 0" },
      { string.format("%s train-vqvae --dataset %s --config %s --output %s -q", exe, ds, cfgfile, notes),
        "--output: " .. notes .. " is a file, expected a folder" },
      { string.format("%s train-vqvae --dataset %s --config %s -q", exe, adir, cfgfile),
        adir .. " is a folder, expected a file" },
      { string.format("%s tokenize --checkpoint %s/ckpt --dataset %s --output %s", exe, d, ds, adir),
        "--output: " .. adir .. " is a folder, expected an HDF5 file name" },
      { string.format("%s tokenize --checkpoint %s/ckpt --dataset %s --output %s", exe, d, ds, notes),
        "--output: " .. notes .. " exists and is not an HDF5 file" },
      { string.format("%s evaluate-vqvae --checkpoint %s/ckpt --dataset %s", exe, d, notes),
        notes .. " is not an HDF5 file" },
      { string.format("%s evaluate-vqvae --checkpoint %s/ckpt --dataset %s", exe, d, adir),
        adir .. " is a folder, expected a file" },
      { string.format("%s evaluate-vqvae --checkpoint %s/ckpt --output %s", exe, d, notes),
        "--output: " .. notes .. " is a file, expected a folder" },
    }
    expect_user_errors(cases)
    -- --epochs 0 blames the command line, not the config file
    local o = sh(cases[4][1])
    assert.is_nil(o:find(cfgfile, 1, true), o)
    -- evaluate-vqvae checks --output before evaluating
    o = sh(cases[#cases][1])
    assert.is_nil(o:find("topographic", 1, true), o)
    -- the notes file is never overwritten by tokenize
    f = assert(io.open(notes)); assert.are.equal("just some notes\n", f:read("*a")); f:close()
  end)

  it("an empty config is a warning and the defaults are used", function()
    local w = tmpdir()
    local empty = w .. "/empty.yaml"
    local f = assert(io.open(empty, "w")); f:write("# nothing here\n"); f:close()
    local o = sh(string.format("%s -e %s", exe,
      "'local c = require(\"spinlock.vqvae.train\").resolve_config(\"" .. empty .. "\"); print(\"epochs=\" .. c.epochs)'"))
    assert.truthy(o:find("warning: " .. empty .. " has no settings; using defaults", 1, true), o)
    assert.truthy(o:find("epochs=" .. train.DEFAULTS.epochs, 1, true), o)
  end)

  it("configured families a file lacks are an error unless allow_missing_families (then a warning)", function()
    local w = tmpdir()
    local only = w .. "/summary_only.h5"
    local h5 = require "spinlock.h5"
    local hf = h5.open(only, "w")
    hf:create_dataset("features/summary", { shape = { 60, 6 } })
    hf:write("features/summary", sl.Generator(4):normal({ 60, 6 }, 0, 1))
    hf:close()
    local c2 = SH.copy(cfg, { epochs = 1 })
    c2.feature_families = nil                                      -- the default four families
    local ok, err = pcall(train.run, { datasets = { only }, config = c2, quiet = true })
    assert.is_false(ok)
    err = tostring(type(err) == "table" and err.msg or err)
    assert.truthy(err:find(only .. " lacks the configured feature families architecture, initial, temporal (present: summary)", 1, true), err)
    assert.truthy(err:find("allow_missing_families", 1, true), err)
    c2.allow_missing_families = true
    local lines = {}
    local r = train.run { datasets = { only }, config = c2, log = function(s) lines[#lines + 1] = s end, progress = false }
    assert.are.equal(1, r.epochs_run)
    assert.truthy(table.concat(lines, "\n"):find("warning: " .. only .. " lacks feature families architecture, initial, temporal", 1, true))
    -- the checkpoint records the families it really used, so tokenizing the same file works
    assert.are.same({ "summary" }, r.model.transform.families)
    local a = r.model:get_tokens(only)
    assert.are.equal(60, a:numel())
  end)

  it("prints the category map and writes categories.json, which fixes the categories of a later run", function()
    local lines = {}
    local c2 = SH.copy(cfg, { epochs = 1 })
    local w = tmpdir()
    local r = train.run { datasets = { ds }, config = c2, output = w .. "/a", log = function(s) lines[#lines + 1] = s end,
                          progress = false }
    local text = table.concat(lines, "\n")
    assert.truthy(text:find(string.format("feature categories (%d):", #r.model.categories), 1, true), text)
    for _, c in ipairs(r.model.categories) do
      assert.matches("\n  " .. c.name:gsub("%p", "%%%0") .. " +" .. c.size .. "  ", text)
    end
    local f = assert(io.open(w .. "/a/categories.json"))
    local doc = st.json_decode(f:read("*a")); f:close()
    assert.are.equal(#r.model.categories, #doc.categories)
    local names = r.model:feature_names()
    assert.are.equal(names[1], doc.categories[1].features[1])
    -- a later run with another seed (discovery would differ in general) keeps these categories
    c2.category_mapping_file, c2.random_seed = w .. "/a/categories.json", 99
    local r2 = train.run { datasets = { ds }, config = c2, quiet = true }
    assert.are.equal(#r.model.categories, #r2.model.categories)
    for i, c in ipairs(r.model.categories) do
      assert.are.equal(c.name, r2.model.categories[i].name)
      assert.are.equal(c.size, r2.model.categories[i].size)
    end
    assert.are.same(r.model:feature_names(), r2.model:feature_names())
  end)

  it("given categories index raw columns: cleaning's dropped columns are remapped, not a crash", function()
    local X0, names0, cats0 = syn.make { n = 120, categories = { 4, 4 }, seed = 3 }
    -- a duplicate of column 1 appended as column 9 (dedup drops it) and given to category 2
    local X = sl.zeros(120, 9)
    X:narrow(2, 1, 8):copy(X0)
    X:select(2, 9):copy(X0:select(2, 1))
    local names = {}
    for j = 1, 8 do names[j] = names0[j] end
    names[9] = "dup_of_1"
    local cats = { { name = "one", columns = { 1, 2, 3, 4 } }, { name = "two", columns = { 5, 6, 7, 8, 9 } } }
    local c2 = SH.copy(CFG, { epochs = 1, clean_features = true })
    local r = train.run { X = X, names = names, categories = cats, config = c2, quiet = true }
    assert.are.equal(2, #r.model.categories)
    assert.are.equal(4, r.model.categories[1].size)
    assert.are.equal(4, r.model.categories[2].size)
    local fn = r.model:feature_names()
    for _, n in ipairs(fn) do assert.are_not.equal("dup_of_1", n) end
    assert.are.equal(names[5], fn[5])
  end)

  it("evaluate scores purity on all rows by default, with occupancy and chance level", function()
    local o, code = sh(string.format("%s evaluate-vqvae --checkpoint %s/ckpt", exe, d))
    assert.are.equal(0, code, o)
    assert.truthy(o:find("rows: validation", 1, true), o)
    assert.truthy(o:find("token purity of the path coarse..level on all rows (200)", 1, true), o)
    assert.truthy(o:find("occupied token tuples", 1, true), o)
    assert.truthy(o:find("chance", 1, true), o)
    assert.truthy(o:find("feature categories", 1, true), o)
    o, code = sh(string.format("%s evaluate-vqvae --checkpoint %s/ckpt --purity-rows scored", exe, d))
    assert.are.equal(0, code, o)
    assert.truthy(o:find("on validation rows (", 1, true), o)
    -- chance level: with one row per token, any labelling is pure
    local metrics = require "spinlock.vqvae.metrics"
    local ch, occ = metrics.purity_chance({ 1, 2, 3, 4 }, { "a", "b", "a", "b" }, 5, 1)
    assert.are.equal(1, ch); assert.are.equal(4, occ)
    -- one token for everything: chance = majority share
    ch, occ = metrics.purity_chance({ 1, 1, 1, 1 }, { "a", "b", "a", "a" }, 5, 1)
    assert.are.equal(0.75, ch); assert.are.equal(1, occ)
  end)

  it("--datasets: matching schemas train on the concatenation, differing ones are a clear error", function()
    local ds2 = d .. "/second.h5"
    write_dataset(ds2, 100)
    local c2 = SH.copy(cfg, { epochs = 1 })
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
    local o, code = sh(string.format("%s train-vqvae --datasets %s %s --output %s/bad --quiet", exe, ds, bad, d))
    assert.are.equal(1, code, o)
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
    assert.matches("operator tokens%s+|%s+category codes", text)
    -- Family R² of the category codes at the fine level, against a naive loop over the rows.
    local util = require "spinlock.vqvae.util"
    local x = util.gather_rows(m:prepare(ds), m.transform.validation_rows)
    local parts = m:run_inference(x)
    local xh = m:decode(parts[1].cat_prefix[3]):totable()
    local xt = x:totable()
    local names = m:feature_names()
    for fam, f in pairs(r.families) do
      local sse, sst = 0, 0
      for j = 1, #names do
        if names[j]:match("^([%a]+)_") == fam then
          local mu = 0
          for i = 1, #xt do mu = mu + xt[i][j] end
          mu = mu / #xt
          for i = 1, #xt do
            sse = sse + (xt[i][j] - xh[i][j]) ^ 2
            sst = sst + (xt[i][j] - mu) ^ 2
          end
        end
      end
      assert.is_true(math.abs((1 - sse / sst) - f.r2_cat[3]) < 1e-4, fam)
    end
  end)
end)

describe("on a dataset made by spinlock generate (configs/tiny.yaml)", function()
  local paths = require "spinlock.paths"
  local exe = paths.exe
  local d = tmpdir()
  local ds = d .. "/tiny.h5"
  local run = SH.shell
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
