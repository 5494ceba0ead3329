-- Custom feature formulas in Lua: features.register, files (--features / features.custom),
-- appended columns, quality of their values, and user errors naming formula and operator.
local sl = require "spinlock"
local features = require "spinlock.features"
local custom = require "spinlock.features.custom"
local make_fakes = dofile("spec/support/fake_feature_catalogs.lua")
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local M_, T, G = 2, 4, 8

local function new(extra, section)
  section = section or {}
  section.nop = false
  return features.new({ features = section },
    { M = M_, T = T, G = G, parameters = {}, modules = make_fakes(), custom = extra })
end

local function traj_of(seed) return sl.Generator(seed or 3):normal({ M_, T, 3, G, G }) end

local function extract(fx, traj, op)
  return fx:extract { traj = traj, unit = sl.zeros(0), ic = traj[1][1], op_index = op or 7 }
end

local function msg(e) return type(e) == "table" and tostring(e.msg or e) or tostring(e) end

local function write_tmp(text) return SH.write_file(SH.tmpfile(".lua"), text) end

teardown(function()
  SH.remove_tmpdirs()
  custom.clear()
end)

describe("custom features", function()
  before_each(function() custom.clear() end)

  it("appends a summary formula as the last column, under its name", function()
    local fx = new { { name = "max_abs", family = "summary", fn = function(traj) return traj:abs():amax() end } }
    local s = fx:schema()
    assert.equal(492, s.summary.shape[1])
    assert.equal("max_abs", s.summary.names[492])
    local traj = traj_of()
    local r = extract(fx, traj)
    assert.near(traj:abs():amax(), r.summary[492], 1e-6)
    assert.equal(0, r.quality.summary[492])
  end)

  it("takes several values with names, and temporal per-frame curves [M,T]", function()
    local fx = new {
      { name = "moments", names = { "m_mean", "m_absmean" }, fn = function(traj)
          return sl.tensor({ traj:mean(), traj:abs():mean() }) end },
      { name = "frame_absmax", family = "temporal", fn = function(traj) return traj:abs():amax({ 3, 4, 5 }) end },
    }
    local s = fx:schema()
    assert.same({ "m_mean", "m_absmean" }, { s.summary.names[492], s.summary.names[493] })
    assert.same({ M_, T, 69 }, s.temporal.shape)
    assert.equal("frame_absmax", s.temporal.names[69])
    local traj = traj_of(4)
    local r = extract(fx, traj)
    assert.near(traj:abs():mean(), r.summary[493], 1e-5)
    local want = traj:abs():amax({ 3, 4, 5 }):totable()
    local got = r.temporal:select(3, 69):totable()
    for m = 1, M_ do for t = 1, T do assert.near(want[m][t], got[m][t], 1e-6) end end
  end)

  it("flags a NaN result with quality 1 instead of failing", function()
    local fx = new { { name = "nan_feature", fn = function() return 0 / 0 end } }
    local r = extract(fx, traj_of())
    assert.equal(1, r.quality.summary[492])
  end)

  it("picks up features.register calls made before the extractor is built", function()
    features.register { name = "global_one", fn = function() return 1 end }
    local fx = new()
    assert.equal("global_one", fx:schema().summary.names[492])
    assert.equal(1, extract(fx, traj_of()).summary[492])
  end)

  it("loads files given in the config (features.custom) or as paths, with register calls and returned specs", function()
    local p = write_tmp([[
local features = require "spinlock.features"
features.register{ name = "file_energy", family = "summary", fn = function(traj) return (traj * traj):mean() end,
                   formula = "mean of u^2", meaning = "energy" }
register{ name = "file_frame_mean", family = "temporal", fn = function(traj) return traj:mean({3, 4, 5}) end }
return { { name = "returned_one", fn = function(traj) return 1 end } }
]])
    local fx = new(nil, { custom = { p } })
    local s = fx:schema()
    assert.equal("file_energy", s.summary.names[492])
    assert.equal("returned_one", s.summary.names[493])
    assert.equal("file_frame_mean", s.temporal.names[69])
    assert.equal("mean of u^2", fx.registries.summary:get("file_energy").formula)
    assert.equal(p, fx.registries.summary:get("file_energy").source)
    local traj = traj_of(6)
    local r = extract(fx, traj)
    assert.near((traj * traj):mean(), r.summary[492], 1e-5)
    -- loading a file does not leak its formulas into the process-wide list
    assert.same({}, custom.registered())
    local fx2 = new { p }
    assert.equal(493, fx2:schema().summary.shape[1])
  end)

  it("raises a user error naming the formula and the operator when a formula fails", function()
    local fx = new { { name = "broken", fn = function(traj) return traj:nonexistent() end } }
    local ok, e = pcall(extract, fx, traj_of(), 12)
    assert.is_false(ok)
    assert.is_true(type(e) == "string" or e.user == true)
    assert.matches("custom feature 'broken' %(summary, from custom%) failed on operator 12", msg(e))
  end)

  it("rejects wrong return values with expected vs found", function()
    local fx = new { { name = "wrong", fn = function(traj) return traj end } }
    local ok, e = pcall(extract, fx, traj_of(), 3)
    assert.is_false(ok)
    assert.matches("custom feature 'wrong'.*on operator 3 returned a tensor of shape %[2,4,3,8,8%]; expected a number", msg(e))
    fx = new { { name = "wrongt", family = "temporal", fn = function() return 5 end } }
    ok, e = pcall(extract, fx, traj_of(), 3)
    assert.matches("returned number; expected a tensor of shape %[2,4%]", msg(e))
  end)

  it("rejects bad specs, duplicates and broken files with clear messages", function()
    local function err(f, ...) local ok, e = pcall(f, ...); assert.is_false(ok); return msg(e) end
    assert.matches("unknown key 'familly' %(did you mean 'family'%?%)",
      err(features.register, { name = "a", familly = "summary", fn = print }))
    assert.matches("family must be \"summary\" or \"temporal\"", err(features.register, { name = "a", family = "initial", fn = print }))
    assert.matches("'fn' must be a function", err(features.register, { name = "a" }))
    assert.matches("'name' must be", err(features.register, { name = "a b", fn = print }))
    features.register { name = "dup", fn = print }
    assert.matches("registered twice", err(features.register, { name = "dup", fn = print }))
    custom.clear()
    assert.matches("defined twice", err(new, { { name = "spatial_variance_tmean", fn = print } }))
    assert.matches("custom features file '/nonexistent.lua' not found", err(custom.load_file, "/nonexistent.lua"))
    local bad = write_tmp("register{ name = 'x', fn = function() end\n")
    assert.matches("custom features file .*expected", err(custom.load_file, bad))
    local boom = write_tmp("error('boom')\n")
    assert.matches("custom features file '.*' failed: .*boom", err(custom.load_file, boom))
  end)
  local BASE = "sampling: {total_samples: 2}\nparameter_space: {architecture: {num_layers: {type: integer, bounds: [2, 3]}}}\n"
  it("resolves features.custom against the config file's folder, then the working directory", function()
    local dir = SH.tmpdir()
    os.execute("mkdir -p '" .. dir .. "/cfgs'")
    SH.write_file(dir .. "/cfgs/mine.lua", 'register{ name = "next_to_config", fn = function(traj) return 2 end }\n')
    local cfg_path = SH.write_file(dir .. "/cfgs/exp.yaml", BASE .. "features: {custom: [mine.lua], ic: false, nop: false}\n")
    local cfg = require("spinlock.config").load(cfg_path, nil, { warn = false })
    local fx = features.new(cfg, { M = M_, T = T, G = G, parameters = {}, modules = make_fakes() })
    assert.equal("next_to_config", fx:schema().summary.names[492])
    assert.same({ dir .. "/cfgs/mine.lua" }, fx.custom_files)
    -- not found: the message says where it looked
    SH.write_file(cfg_path, BASE .. "features: {custom: [missing.lua], ic: false, nop: false}\n")
    cfg = require("spinlock.config").load(cfg_path, nil, { warn = false })
    local ok, e = pcall(features.new, cfg, { M = M_, T = T, G = G, parameters = {}, modules = make_fakes() })
    assert.is_false(ok)
    assert.truthy(msg(e):find("custom features file 'missing.lua' not found; looked for " .. dir ..
      "/cfgs/missing.lua (relative to the config file) and missing.lua (relative to the working directory)", 1, true), msg(e))
  end)
end)
