-- Dataset writer/reader (spinlock.dataset) on hand-made layouts: datasets and chunking, the
-- flush / rows_done protocol, completion, resume checks, overwrite refusal, quality masks,
-- readers' errors and small helpers.  References are hand-computed values.
local sl = require "spinlock"
local h5 = require "spinlock.h5"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local H = require "gen_helpers"
H.A = assert
local dataset = require "spinlock.dataset"

local PARAMS = {
  { index = 1, name = "num_layers", category = "architecture", type = "integer", lo = 2, hi = 3 },
  { index = 2, name = "activation", category = "architecture", type = "choice", choices = { "gelu", "relu" } },
  { index = 3, name = "kernel_size", category = "architecture", type = "choice", choices = { 3, 5 } },
}

local function layout(o)
  o = o or {}
  return {
    N = o.N or 4, first = o.first or 0, total = o.total or o.N or 4, M = 2, T = 3, G = o.G or 8,
    parameters = PARAMS,
    families = o.families or { summary = { shape = { 2 }, names = { "s_a", "s_b" } },
                               initial = { shape = { 2, 3 }, names = { "i_a", "i_b", "i_c" } } },
    storage = { compression = "gzip", compression_level = 4, chunk_size = o.chunk_size or 1000,
                store_trajectories = o.store ~= false, trajectory_dtype = o.traj_dtype or "float16" },
    attrs = { config = o.config or "{\"x\":1}", seed = o.seed or 5, config_yaml = "x: 1\n" },
  }
end

local function row(r, G)
  G = G or 8
  return {
    unit = { 0.25, 0.5, 0.75 }, mapped = { 2, 1, 0 }, op_index = r - 1,
    ic = sl.full({ 3, G, G }, r), traj = sl.full({ 2, 3, 3, G, G }, r + 0.5),
    features = { summary = sl.tensor({ r, -r }), initial = sl.full({ 2, 3 }, 10 * r) },
    quality = { summary = sl.tensor({ 0, 1 }, "uint8") },
    ic_type = "localized", policy = "residual", noise_regime = "low", grid_size = G,
    status = r == 2 and dataset.STATUS.diverged or dataset.STATUS.ok, diverged_step = r == 2 and { 1, -1 } or nil,
  }
end

describe("dataset", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.cleanup() end)

  it("creates every dataset up front with N rows, row chunks and gzip + shuffle", function()
    local w = dataset.create(dir .. "/a.h5", layout({ chunk_size = 3 }))
    w:close()
    h5.with(dir .. "/a.h5", "r", function(f)
      local function i(p) return f:info(p) end
      assert.are.same({ 4, 3 }, i("parameters/params").shape)
      assert.are.same({ 3, 3 }, i("parameters/params").chunks)          -- chunk_size rows
      assert.are.same({ 4, 3, 8, 8 }, i("inputs/fields").shape)
      assert.are.same({ 4, 2, 3, 3, 8, 8 }, i("outputs/trajectories").shape)
      assert.are.equal("float16", i("outputs/trajectories").dtype)
      assert.are.same({ 4, 2 }, i("features/summary").shape)
      assert.are.same({ 4, 2, 3 }, i("features/initial").shape)
      assert.are.equal("gzip", i("features/summary").compression)
      assert.is_true(i("features/summary").shuffle)
      assert.are.equal("uint8", i("metadata/status").dtype)
      assert.are.same({ 0, 0, 0, 0 }, f:read("metadata/status"):totable())
      assert.are.same({ "s_a", "s_b" }, f:attr("features/summary", "feature_names"))
      assert.are.same({ "initial", "summary" }, f:attr("metadata", "feature_families"))
      assert.are.same({ "gelu", "relu" }, f:attr("parameters/mapped", "choices_activation"))
      assert.are.same({ "3", "5" }, f:attr("parameters/mapped", "choices_kernel_size"))
      assert.are.same({ "num_layers", "activation", "kernel_size" }, f:attr("parameters/params", "names"))
      local a = f:attrs("metadata")
      assert.are.equal(0, a.complete)
      assert.are.equal(0, a.rows_done)
      assert.are.equal(5, a.seed)
      assert.are.equal("spinlock-operators", a.format)
      assert.are.equal(dataset.FORMAT_VERSION, a.format_version)
    end)
  end)

  it("puts big rows one per chunk and frames in their own chunks when a rollout is large", function()
    local w = dataset.create(dir .. "/big.h5", layout({ G = 256, N = 2, traj_dtype = "float32" }))
    w:close()
    h5.with(dir .. "/big.h5", "r", function(f)
      assert.are.same({ 1, 3, 256, 256 }, f:info("inputs/fields").chunks)   -- 768 KiB a row
      assert.are.same({ 1, 1, 3, 3, 256, 256 }, f:info("outputs/trajectories").chunks)
    end)
  end)

  it("writes rows in place and advances rows_done only on flush", function()
    local path = dir .. "/rows.h5"
    local w = dataset.create(path, layout())
    w:write_row(1, row(1))
    w:write_row(2, row(2))
    w:flush(2)
    w:write_row(3, row(3))
    w:close()   -- row 3 written but never recorded as done
    local info = dataset.progress_of(path)
    assert.are.equal(2, info.rows_done)
    assert.is_false(info.complete)
    h5.with(path, "r", function(f)
      assert.are.same({ 1, 2, 1, 0 }, f:read("metadata/status"):totable())
      assert.are.same({ 1, -1 }, f:read("metadata/diverged_step"):totable()[2])
      assert.are.same({ -1, -1 }, f:read("metadata/diverged_step"):totable()[1])
      assert.are.same({ 2, -2 }, f:read("features/summary"):totable()[2])
      assert.are.same({ 0, 1 }, f:read("features/summary_quality"):totable()[1])
      assert.are.equal(2.5, f:read("outputs/trajectories", { 2, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1 }):totable()[1][1][1][1][1][1])
      assert.are.equal(0.25, f:read("parameters/params"):totable()[1][1])
      assert.are.same({ 2, 1, 0 }, f:read("parameters/mapped"):totable()[1])
      assert.are.same({ "localized", "localized", "localized", "" }, f:read_strings("metadata/ic_types"))
    end)
  end)

  it("marks the file complete only at finish", function()
    local path = dir .. "/fin.h5"
    local w = dataset.create(path, layout({ N = 1, total = 1 }))
    w:write_row(1, row(1))
    w:finish({ num_diverged = 0 })
    w:close()
    local info = dataset.progress_of(path)
    assert.is_true(info.complete)
    assert.are.equal(1, info.rows_done)
    assert.are.equal(0, info.attrs.num_diverged)
  end)

  it("refuses to overwrite without force and says how to continue", function()
    local path = dir .. "/x.h5"
    dataset.create(path, layout()):close()
    local msg = H.err_of(dataset.create, path, layout())
    assert.truthy(msg:find("x.h5 already exists (a Spinlock dataset, 0/4 operators done, incomplete); use --resume", 1, true), msg)
    dataset.create(path, layout(), { force = true }):close()
  end)

  it("resumes only a matching file", function()
    local path = dir .. "/r.h5"
    local w = dataset.create(path, layout())
    w:write_row(1, row(1)); w:flush(1); w:close()
    w = dataset.resume(path, layout())
    assert.are.equal(1, w.rows_done)
    w:close()
    local msg = H.err_of(dataset.resume, path, layout({ seed = 6 }))
    assert.truthy(msg:find("seed 5, this run uses seed 6", 1, true), msg)
    msg = H.err_of(dataset.resume, path, layout({ config = "{\"x\":2}" }))
    assert.truthy(msg:find("config differs", 1, true), msg)
    assert.truthy(msg:find("{\"x\":1}", 1, true) and msg:find("{\"x\":2}", 1, true), msg)
    msg = H.err_of(dataset.resume, path, layout({ families = { summary = { shape = { 3 }, names = { "a", "b", "c" } } } }))
    assert.truthy(msg:find("its summary features differ", 1, true), msg)
    msg = H.err_of(dataset.resume, path, layout({ first = 4, total = 8 }))
    assert.truthy(msg:find("holds operators 0..3, this run asks for 4..7", 1, true), msg)
    h5.with(dir .. "/plain.h5", "w", function(f) f:create_group("x") end)
    msg = H.err_of(dataset.resume, dir .. "/plain.h5", layout())
    assert.truthy(msg:find("not a Spinlock dataset", 1, true), msg)
  end)

  it("opens only Spinlock datasets for reading", function()
    local msg = H.err_of(dataset.open, dir .. "/missing.h5")
    assert.truthy(msg:find("no such file", 1, true), msg)
    local fh = io.open(dir .. "/t.txt", "w"); fh:write("x"); fh:close()
    msg = H.err_of(dataset.open, dir .. "/t.txt")
    assert.truthy(msg:find("is not an HDF5 file", 1, true), msg)
    h5.with(dir .. "/plain.h5", "w", function(f) f:create_group("x") end)
    msg = H.err_of(dataset.open, dir .. "/plain.h5")
    assert.truthy(msg:find("not a Spinlock operator dataset", 1, true), msg)
  end)

  it("labels noise regimes like the reference and orders families like the guide", function()
    assert.are.equal("low", dataset.noise_regime(0.001))
    assert.are.equal("medium", dataset.noise_regime(0.01))
    assert.are.equal("high", dataset.noise_regime(0.1))
    assert.are.equal("medium", dataset.noise_regime(nil))
    assert.are.same({ "initial", "architecture", "summary", "temporal", "extra" },
      dataset.family_order({ temporal = 1, extra = 1, summary = 1, initial = 1, architecture = 1 }))
  end)
end)
