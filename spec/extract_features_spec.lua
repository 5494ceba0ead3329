-- spinlock extract-features / spinlock.features.dataset: recompute families of a file in place.
-- Uses the FAKE catalogs of spec/support so the file logic is checked without the real kernels.
local sl = require "spinlock"
local ds = require "spinlock.features.dataset"
local custom = require "spinlock.features.custom"
local make_fakes = dofile("spec/support/fake_feature_catalogs.lua")
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local N, M_, T, C, G = 3, 2, 4, 3, 8
teardown(SH.remove_tmpdirs)

local function msg(e) return type(e) == "table" and tostring(e.msg or e) or tostring(e) end

-- a small dataset file as the generator writes it (trajectories stored, old features present)
local function make_file(with_traj)
  local p = SH.tmpfile(".h5")
  local f = sl.h5.open(p, "w")
  if with_traj ~= false then
    f:create_dataset("outputs/trajectories", { shape = { N, M_, T, C, G, G }, dtype = "float16", chunks = { 1, M_, T, C, G, G } })
    f:write("outputs/trajectories", sl.Generator(21):normal({ N, M_, T, C, G, G }))
  end
  f:create_dataset("features/summary", { shape = { N, 5 } })
  f:set_attr("features/summary", "feature_names", { "a", "b", "c", "d", "e" })
  f:create_group("metadata")
  f:close()
  return p
end

describe("extract-features", function()
  it("replaces summary and temporal in place with names and quality masks", function()
    local p = make_file()
    local fakes = make_fakes()
    local res = ds.extract_file(p, { modules = fakes, progress = false })
    assert.same({ "summary", "temporal" }, res.families)
    assert.same({ N, 491 }, res.shapes.summary)
    local f = sl.h5.open(p, "r")
    local info = f:info("features/summary")
    assert.same({ N, 491 }, info.shape)
    assert.equal("float32", info.dtype)
    local names = f:attr("features/summary", "feature_names")
    assert.equal(491, #names)
    assert.equal("fake_spatial_01_tmean", names[1])
    assert.same({ N, M_, T, 68 }, f:info("features/temporal").shape)
    assert.equal("variance", f:attr("features/temporal", "feature_names")[1])
    assert.equal("uint8", f:info("features/summary_quality").dtype)
    assert.same({ N, 491 }, f:info("features/summary_quality").shape)
    -- row 2 equals a direct extraction of the stored (float16) trajectory
    local traj = f:read("outputs/trajectories", { 2 }, { 1 }):select(1, 1)
    local want = require("spinlock.features").new({ features = { ic = false, nop = false } },
      { M = M_, T = T, G = G, modules = make_fakes() }):extract { traj = traj }
    local got = f:read("features/summary", { 2 }, { 1 }):select(1, 1):totable()
    local w = want.summary:totable()
    for i = 1, #w do
      assert.is_true((w[i] ~= w[i] and got[i] ~= got[i]) or math.abs(w[i] - got[i]) <= 1e-5 * (1 + math.abs(w[i])), names[i])
    end
    local q = f:read("features/summary_quality"):totable()
    assert.equal(1, q[1][262])   -- sensitivity: no operator in post-hoc extraction
    assert.equal(0, q[1][1])
    f:close()
  end)

  it("extracts only the families asked for, with custom formulas appended", function()
    local p = make_file()
    local lua = SH.write_file(SH.tmpfile(".lua"),
      'register{ name = "peak_abs", fn = function(traj) return traj:abs():amax() end }\n')
    ds.extract_file(p, { modules = make_fakes(), progress = false, families = "sdf", features = { lua } })
    local f = sl.h5.open(p, "r")
    assert.is_false(f:exists("features/temporal"))
    local names = f:attr("features/summary", "feature_names")
    assert.equal("peak_abs", names[492])
    local traj = f:read("outputs/trajectories", { 3 }, { 1 })
    assert.near(traj:abs():amax(), f:read("features/summary", { 3, 492 }, { 1, 1 }):item(), 1e-6)
    f:close()
    custom.clear()
  end)

  it("uses the file's own config: its family switches and parameters", function()
    local config = require "spinlock.config"
    local cfg = config.load_string([[
metadata: {name: t}
sampling: {total_samples: 3}
parameter_space:
  stochastic:
    noise_scale: {type: continuous, bounds: [0.001, 1.0], log_scale: true}
features: {td: false}
]], "t.yaml", nil, { warn = false })
    local p = make_file()
    local f = sl.h5.open(p, "r+")
    f:set_attr("metadata", "config", config.to_json(cfg))
    f:create_dataset("parameters/params", { shape = { N, 1 } })
    f:write("parameters/params", sl.tensor({ { 0.1 }, { 0.2 }, { 0.3 } }))
    f:close()
    local res = ds.extract_file(p, { modules = make_fakes(), progress = false })
    assert.same({ "summary" }, res.families)
    res = ds.extract_file(p, { modules = make_fakes(), progress = false, families = "nop" })
    assert.same({ N, 2 }, res.shapes.architecture)      -- fake: noise column + one per parameter
    f = sl.h5.open(p, "r")
    assert.is_false(f:exists("features/temporal"))
    assert.same({ "stoch_noise_scale_log", "fake_arch_noise_scale" }, f:attr("features/architecture", "feature_names"))
    assert.near(0.2, f:read("features/architecture", { 2, 1 }, { 1, 1 }):item(), 1e-7)
    f:close()
  end)

  it("refuses a file without trajectories, saying how to get them", function()
    local p = make_file(false)
    local ok, e = pcall(ds.extract_file, p, { modules = make_fakes(), progress = false })
    assert.is_false(ok)
    assert.matches("has no stored trajectories", msg(e))
    assert.matches("store_trajectories: true", msg(e))
    -- the same through the command line: a user error, exit code 1, no traceback
    local text, rc = SH.shell(string.format("./build/spinlock extract-features --dataset %s", p))
    assert.is_true(rc ~= 0 and rc ~= true)
    assert.matches("spinlock extract%-features: error: .*store_trajectories: true", text)
    assert.is_nil(text:find("traceback"))
  end)

  local real = pcall(require, "spinlock.features.frame") and pcall(require, "spinlock.features.trajectory")
  ;(real and it or pending)("runs end to end through the command line with the real catalogs", function()
    local p = make_file()
    local text, rc = SH.shell(string.format("SPINLOCK_PROGRESS=0 ./build/spinlock extract-features --dataset %s", p))
    assert.is_true(rc == 0 or rc == true, text)
    assert.matches("features/summary +%[3, %d+%]", text)
    assert.matches("3 operators updated", text)
    local f = sl.h5.open(p, "r")
    local S = f:info("features/summary").shape[2]
    assert.is_true(S >= 420 and S <= 520, "S = " .. S)
    assert.equal(S, #f:attr("features/summary", "feature_names"))
    assert.equal("variance", f:attr("features/temporal", "feature_names")[1])
    f:close()
  end)

  it("names unknown families with a suggestion, and missing files", function()
    local ok, e = pcall(ds.parse_families, "summary,temporl")
    assert.is_false(ok)
    assert.matches("unknown family 'temporl' %(did you mean 'temporal'%?%)", msg(e))
    assert.same({ "summary", "temporal" }, ds.parse_families("sdf, td,summary"))
    ok, e = pcall(ds.extract_file, "/nonexistent/x.h5", {})
    assert.matches("not found", msg(e))
  end)

  it("reports a failing custom formula with its name and the operator, and leaves the file closed", function()
    local p = make_file()
    local lua = SH.write_file(SH.tmpfile(".lua"),
      'register{ name = "fails_on_2", fn = function(traj) if traj:mean() ~= traj:mean() or true then error("bad value") end end }\n')
    local ok, e = pcall(ds.extract_file, p, { modules = make_fakes(), progress = false, features = { lua } })
    assert.is_false(ok)
    -- without metadata/operator_index the operator number is first_operator + row − 1
    assert.matches("custom feature 'fails_on_2' .* failed on operator 0: .*bad value", msg(e))
    local f = sl.h5.open(p, "r+")   -- not locked: the extractor closed it
    -- the file is as it was: the old summary, no temporal family, no side file
    assert.same({ "a", "b", "c", "d", "e" }, f:attr("features/summary", "feature_names"))
    assert.is_false(f:exists("features/temporal"))
    f:close()
    assert.is_nil(io.open(p .. ".extract-tmp.h5"))
  end)
end)

-- The real pipeline: a generated file (stored trajectories, a custom formula), re-extracted.
local have_real = pcall(require, "spinlock.operator") and pcall(require, "spinlock.features.frame")
  and pcall(require, "spinlock.features.trajectory")
;(have_real and describe or pending)("extract-features on a generated dataset", function()
  local H = require "gen_helpers"
  H.A = assert
  local generate = require "spinlock.generate"
  local dataset = require "spinlock.dataset"
  local dir, cfg, orig, my
  local MY = 'register{ name = "peak_abs", fn = function(traj) return traj:abs():amax() end }\n'
  local BAD = 'local n = 0\nregister{ name = "boom", fn = function(traj) n = n + 1; if n == 3 then error("kaboom") end; return traj:mean() end }\n'

  local write = SH.write_file
  local function copy(name)
    local p = dir .. "/" .. name
    assert(os.execute(("cp '%s' '%s'"):format(orig, p)) == 0)
    return p
  end
  local function summary_cols(path, pattern)
    return sl.h5.with(path, "r", function(f)
      local names = f:attr("features/summary", "feature_names")
      local S, Q = f:read("features/summary"), f:read("features/summary_quality")
      local out = {}
      for j, n in ipairs(names) do
        if n:match(pattern) then out[n] = { S:select(2, j):totable(), Q:select(2, j):totable() } end
      end
      return out
    end)
  end

  setup(function()
    dir = H.tmpdir()
    cfg = H.load(H.write_config(dir, { N = 4, extra = "    \n" }))
    my = write(dir .. "/my.lua", MY)
    orig = dir .. "/orig.h5"
    assert.are.equal("complete", H.generate(cfg, { output = orig, custom_features = { my } }).status)
  end)

  it("leaves the file untouched when a formula fails, naming it and the operator as generate does", function()
    local bad = write(dir .. "/bad.lua", BAD)
    local p = copy("bad.h5")
    local before = H.snapshot(p)
    local e = H.err_of(ds.extract_file, p, { progress = false, features = { bad } })
    -- row 3 is operator index 2 (metadata/operator_index); generate names the same number
    assert.matches("custom feature 'boom' %(summary, from .*bad%.lua%) failed on operator 2: .*kaboom", e)
    H.assert_same(before, H.snapshot(p))
    assert.is_nil(io.open(p .. ".extract-tmp.h5"))
    local e2 = H.err_of(H.generate, cfg, { output = dir .. "/bad_gen.h5", custom_features = { write(dir .. "/bad2.lua", BAD) } })
    assert.matches("custom feature 'boom' .* failed on operator 2: .*kaboom", e2)
  end)

  it("recomputes operator sensitivity from operators rebuilt from the file", function()
    local p = copy("sens.h5")
    local res = ds.extract_file(p, { progress = false, features = { my } })
    assert.are.equal("recomputed", res.sensitivity)
    local want, got = summary_cols(orig, "^lipschitz"), summary_cols(p, "^lipschitz")
    local g2 = summary_cols(p, "^gain_scale")
    assert.is_true(next(want) ~= nil)
    for n, v in pairs(want) do
      assert.are.same(v, got[n], n)                         -- bit-identical to generation's values
      for i = 1, 4 do assert.are.equal(0, got[n][2][i], n) end
    end
    for _, v in pairs(g2) do for i = 1, 4 do assert.is_true(v[1][i] == v[1][i]) end end
    -- when the operators cannot be rebuilt the stored columns are kept, with a warning
    local q = copy("keep.h5")
    sl.h5.with(q, "r+", function(f) f:delete("metadata/operator_index") end)
    local warned = {}
    res = ds.extract_file(q, { progress = false, features = { my }, warn = function(m) warned[#warned + 1] = m end })
    assert.are.equal("kept", res.sensitivity)
    assert.matches("cannot be recomputed .*operator_index.*kept", table.concat(warned, "\n"))
    assert.are.same(want, summary_cols(q, "^lipschitz"))
  end)

  it("adds new families to /metadata feature_families, so inspect lists them", function()
    local p = copy("fam.h5")
    sl.h5.with(p, "r+", function(f)
      f:delete("features/temporal"); f:delete("features/temporal_quality")
      f:set_attr("metadata", "feature_families", { "initial", "architecture", "summary" })
    end)
    ds.extract_file(p, { progress = false, families = "td" })
    local fams = sl.h5.with(p, "r", function(f) return f:attr("metadata", "feature_families") end)
    assert.are.same({ "initial", "architecture", "summary", "temporal" }, fams)
    local text = table.concat(dataset.describe(p), "\n")
    assert.matches("\n  temporal +%[4, 2, 4, 68%] +68 names: variance", text)
  end)

  it("records the custom formula files, warns when re-extracting drops their columns", function()
    local rec = sl.h5.with(orig, "r", function(f)
      return { f:attr("metadata", "custom_feature_files"), f:attr("metadata", "custom_feature_hashes") }
    end)
    assert.are.same({ my }, rec[1])
    assert.are.same({ custom.hash_text(MY) }, rec[2])
    assert.matches("^fnv1a64:%x+$", rec[2][1])
    local p = copy("drop.h5")
    local warned = {}
    ds.extract_file(p, { progress = false, families = "sdf", warn = function(m) warned[#warned + 1] = m end })
    local w = table.concat(warned, "\n")
    assert.matches("re%-extracting features/summary drops 1 column%(s%) the file has: peak_abs", w)
    assert.truthy(w:find(my, 1, true), w)
    assert.are.same({}, sl.h5.with(p, "r", function(f) return f:attr("metadata", "custom_feature_files") end))
  end)

  it("resuming without the --features file names the missing custom columns and the file", function()
    local p = copy("resume.h5")
    sl.h5.with(p, "r+", function(f)
      f:set_attr("metadata", "complete", 0); f:set_attr("metadata", "rows_done", 2)
    end)
    local e = H.err_of(H.generate, cfg, { output = p, resume = true })
    assert.matches("its summary features differ", e)
    assert.matches("the file has columns this run does not compute: peak_abs", e)
    assert.truthy(e:find(my, 1, true), e)
    assert.matches("pass them again with %-%-features", e)
    assert.are.equal("complete", H.generate(cfg, { output = p, resume = true, custom_features = { my } }).status)
  end)
end)
