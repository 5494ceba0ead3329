-- A VQ-VAE checkpoint read back by an independent numpy forward pass (issue #5: a checkpoint's
-- weights load in Python with numpy alone and give the same tokens).
-- spec/support/vqvae_numpy_tokens.py re-implements, with the standard library and numpy only,
-- the safetensors + JSON reading, the fitted input transform (cleaning: inf → NaN, kept columns,
-- median imputation, MAD clipping, centre/scale; column order), the per-category encoders and
-- heads in evaluation mode and the residual quantizers.  A small model is trained here on raw
-- columns that exercise every step of the transform, saved, and its tokens and category codes
-- for every row are compared with the script's.  Float rounding may flip an argmin on a near tie
-- (another compiler or BLAS): such a flip is accepted only where the two nearest codes are within
-- 1e-4 relative distance, later levels of that row are then excused (their residual differs), and
-- at least 95% of the rows must agree exactly.  Pending when /usr/bin/python3 has no numpy.
local sl = require "spinlock"
local ffi = require "ffi"
local train = require "spinlock.vqvae.train"
local vqvae = require "spinlock.vqvae"
local syn = require "spinlock.vqvae.synthetic"
local st = require "spinlock.safetensors"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local SCRIPT = here .. "support/vqvae_numpy_tokens.py"
local NaN = 0 / 0
local TIE = 1e-4

local tmpdir = SH.tmpdir
teardown(SH.remove_tmpdirs)

local function have_numpy()
  local _, code = SH.shell("/usr/bin/python3 -c 'import numpy'")
  return code == 0
end

-- Raw rows [n, 18]: 15 clustered columns (two rescaled so centre/scale matter) with ~2% NaN,
-- ~1% ±Inf and ~1% outliers (imputation and clipping), then a constant column (variance
-- filter), a mostly-NaN column (NaN-fraction filter) and an exact affine copy of column 1
-- (de-duplication).  With dirty = false only the clustered columns, clean.
local function raw_rows(n, seed, dirty)
  local X0, names0 = syn.make { n = n, categories = { 5, 4, 6 }, seed = seed }
  local D0 = X0:size(2)
  local D = dirty and D0 + 3 or D0
  local t = X0:totable()
  local u = sl.Generator { seed = seed, purpose = 7, a = 0x6e70, b = 1 }:uniform({ n, D0 + 3 }, 0, 1, "float64"):totable()
  for i = 1, n do
    local r = t[i]
    r[2] = r[2] * 1000 + 50
    r[7] = r[7] * 0.001 - 3
    if dirty then
      for j = 1, D0 do
        local v = u[i][j]
        if v < 0.02 then r[j] = NaN
        elseif v < 0.03 then r[j] = v < 0.025 and math.huge or -math.huge
        elseif v > 0.99 then r[j] = r[j] * 50 + 20 end
      end
      r[D0 + 1] = 4.25
      r[D0 + 2] = u[i][D0 + 2] < 0.7 and NaN or u[i][D0 + 3]
      r[D0 + 3] = 2 * r[1] + 1
    end
  end
  local names = {}
  for j = 1, D0 do names[j] = names0[j] end
  if dirty then names[D0 + 1], names[D0 + 2], names[D0 + 3] = "constant", "mostly_nan", "copy_of_1" end
  local X = sl.tensor(t, "float32")
  assert(X:size(2) == D)
  return X, names
end

local function stack_rows(a, b)
  local out = sl.zeros({ a:size(1) + b:size(1), a:size(2) }, "float32")
  out:narrow(1, 1, a:size(1)):copy(a)
  out:narrow(1, a:size(1) + 1, b:size(1)):copy(b)
  return out
end

-- Raw little-endian float32, row-major (x86 is little-endian; the script reads '<f4').
local function write_f32(X, path)
  assert(ffi.abi("le"), "this spec writes little-endian floats")
  local c = X:float():contiguous()
  local f = assert(io.open(path, "wb"))
  f:write(ffi.string(c:ptr(), c:numel() * 4))
  f:close()
end

local CFG = { epochs = 4, batch_size = 64, latent_dim = 4, category_codebook_sizes = { 4, 8, 16 },
              token_codebook_sizes = { 8, 16, 32 }, group_hidden_dim = 16, group_embedding_dim = 8,
              decoder_hidden_dim = 32, dropout = 0.1, learning_rate = 3e-3, early_stopping_patience = 100,
              random_seed = 5 }

local function config(over) return SH.copy(CFG, over) end

-- Runs the numpy script on a checkpoint and raw rows; returns one decoded record per row.
local function numpy_tokens(base, X, dir)
  local rows = dir .. "/rows.f32"
  write_f32(X, rows)
  local out, code = SH.shell(string.format("/usr/bin/python3 '%s' '%s' '%s' --cols %d",
    SCRIPT, base, rows, X:size(2)))
  assert.are.equal(0, code, out)
  local recs = {}
  for line in out:gmatch("[^\n]+") do recs[#recs + 1] = st.json_decode(line) end
  assert.are.equal(X:size(1), #recs, "one line per row expected, got:\n" .. out:sub(1, 2000))
  return recs
end

-- Compares one row's level codes (0-based, Lua list) with the script's; returns "same", "tie"
-- (the first difference is a near tie, later levels excused) or a description of the mismatch.
local function compare_levels(want, got, gaps, what)
  for l = 1, #want do
    if want[l] ~= got[l] then
      if gaps[l] < TIE then return "tie" end
      return string.format("%s level %d: spinlock %d, numpy %d (nearest codes %.3g apart, relative)",
        what, l, want[l], got[l], gaps[l])
    end
  end
  return "same"
end

-- Every row: tokens (coarse, medium, fine) and every category's codes must be identical, or
-- differ only after a near tie.  Returns the number of rows identical everywhere.
local function check_agreement(model, X, recs, label)
  local tok = { model:get_tokens(X) }
  local codes, cat_names = model:get_category_codes(X)
  local L, C = model.levels, #cat_names
  assert.are.equal(3, L)
  local tt, ct = {}, codes:totable()
  for l = 1, L do tt[l] = tok[l]:totable() end
  local exact, ties, bad = 0, 0, {}
  for r = 1, X:size(1) do
    local rec = recs[r]
    assert.are.equal(L, #rec.tokens)
    assert.are.equal(C, #rec.codes)
    local want = {}
    for l = 1, L do want[l] = tt[l][r] end
    local verdicts = { compare_levels(want, rec.tokens, rec.token_gaps, "tokens") }
    for c = 1, C do
      verdicts[#verdicts + 1] = compare_levels(ct[r][c], rec.codes[c], rec.code_gaps[c], "category " .. cat_names[c])
    end
    local row_exact, row_tie = true, false
    for _, v in ipairs(verdicts) do
      if v == "tie" then row_exact, row_tie = false, true
      elseif v ~= "same" then row_exact = false; bad[#bad + 1] = "row " .. r .. ": " .. v end
    end
    if row_exact then exact = exact + 1 elseif row_tie then ties = ties + 1 end
  end
  local N = X:size(1)
  print(string.format("\nvqvae numpy forward (%s): %d/%d rows identical, %d differ only after a near tie (< %g)",
    label, exact, N, ties, TIE))
  assert.are.equal(0, #bad, table.concat(bad, "\n", 1, math.min(#bad, 20)))
  assert.is_true(exact >= 0.95 * N, string.format("only %d of %d rows agree exactly", exact, N))
  return exact
end

describe("vqvae checkpoint read by numpy alone", function()
  it("gives the same tokens and category codes on raw rows through the fitted cleaning", function()
    if not have_numpy() then pending("no numpy for /usr/bin/python3"); return end
    local X, names = raw_rows(400, 3, true)
    -- Categories over raw columns, out of order, including the columns cleaning drops, so the
    -- checkpoint's column_order is a real permutation of the kept columns.
    local cats = { { name = "b", columns = { 9, 6, 8, 7, 17 } },
                   { name = "a", columns = { 3, 1, 5, 2, 4, 16, 18 } },
                   { name = "c", columns = { 15, 10, 14, 11, 13, 12 } } }
    local dir = tmpdir()
    train.run { X = X, names = names, categories = cats, config = config { clean_features = true },
                output = dir, quiet = true, progress = false, signals = false }
    local base = dir .. "/final_model"
    local model = vqvae.load(base)
    -- The checkpoint really exercises the transform: columns dropped, a permuted column order.
    local tr = model.transform
    assert.is_table(tr.cleaning)
    assert.are.equal(15, #tr.cleaning.columns, "cleaning should drop the constant, mostly-NaN and copied columns")
    local identity = true
    for i, j in ipairs(tr.column_order) do if i ~= j then identity = false end end
    assert.is_false(identity, "column_order should permute the cleaned columns")
    -- Training rows and unseen rows (NaN, ±Inf and outliers in both).
    local Y = raw_rows(300, 9, true)
    local all = stack_rows(X, Y)
    assert.is_true(sl.isnan(all):sum() > 0 and sl.isinf(all):sum() > 0)
    local recs = numpy_tokens(base, all, dir)
    check_agreement(model, all, recs, "cleaned raw rows")
  end)

  it("gives the same tokens without a cleaner, without the head LayerNorm and with the cosine metric", function()
    if not have_numpy() then pending("no numpy for /usr/bin/python3"); return end
    local X, names = raw_rows(300, 4, false)
    local dir = tmpdir()
    -- latent_norm = none (production.yaml's head): the script must notice the missing LayerNorm
    train.run { X = X, names = names, config = config { clean_features = false, latent_norm = "none" },
                output = dir, quiet = true, progress = false, signals = false }
    local base = dir .. "/final_model"
    -- The same checkpoint with every quantizer switched to the cosine metric.
    local f = assert(io.open(base .. ".json", "r"))
    local text = f:read("*a")
    f:close()
    local cos_text, n = text:gsub('"metric":"l2"', '"metric":"cosine"')
    assert.is_true(n > 0, "no quantizer metric found in the checkpoint JSON")
    local cos_base = dir .. "/cosine_model"
    f = assert(io.open(cos_base .. ".json", "w")); f:write(cos_text); f:close()
    os.execute(string.format("cp '%s.safetensors' '%s.safetensors'", base, cos_base))
    local Y = raw_rows(200, 8, false)
    local all = stack_rows(X, Y)
    for _, case in ipairs { { base, "standardised, l2" }, { cos_base, "standardised, cosine" } } do
      local model = vqvae.load(case[1])
      assert.are.equal("none", model.cfg.latent_norm)
      assert.is_nil(model.transform.cleaning)
      assert.is_table(model.transform.centre)
      check_agreement(model, all, numpy_tokens(case[1], all, dir), case[2])
    end
  end)
end)
