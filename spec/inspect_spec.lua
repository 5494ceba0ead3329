-- `spinlock inspect` (dataset.describe and the recipe): progress, feature shapes and names,
-- histograms, status counts, sampling metrics, config summary, size; incomplete files and errors.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local H = require "gen_helpers"
H.A = assert
local ffi = require "ffi"
local dataset = require "spinlock.dataset"

pcall(ffi.cdef, "int raise(int sig);")

describe("inspect", function()
  local dir, cfg_path, cfg, full, partial
  setup(function()
    dir = H.tmpdir()
    cfg_path = H.write_config(dir)
    cfg = H.load(cfg_path)
    full = dir .. "/full.h5"
    H.generate(cfg, { output = full })
    partial = dir .. "/partial.h5"
    H.generate(cfg, { output = partial, on_operator = function(d) if d == 2 then ffi.C.raise(2) end end })
  end)
  teardown(function() H.cleanup() end)

  local function text(path, opts) return table.concat(dataset.describe(path, opts), "\n") end

  it("describes a complete file", function()
    local t = text(full)
    assert.truthy(t:find("operators   6/6 done, complete", 1, true), t)
    assert.truthy(t:find("dataset     spec_tiny — generation spec dataset", 1, true), t)
    assert.truthy(t:find("M=2 realizations, T=4 frames, grid 16x16, 3 channels; trajectories stored (float32)", 1, true), t)
    assert.truthy(t:find("seed        7", 1, true), t)
    assert.truthy(t:find("parameters  10: num_layers, base_channels", 1, true), t)
    assert.truthy(t:find("status      ok 6, diverged 0, pending 0", 1, true), t)
    assert.truthy(t:find("IC types (6 operators)", 1, true), t)
    assert.truthy(t:find("evolution policies (6 operators)", 1, true), t)
    assert.truthy(t:find("noise regimes (6 operators)", 1, true), t)
    assert.truthy(t:find("sampling    sobol_owen, 6 points x 10 dims: discrepancy", 1, true), t)
    assert.truthy(t:find("config      6 operators, batch 4", 1, true), t)
    assert.truthy(t:match("file        [^\n]*full%.h5 %(%d+%.%d KB%)"), t)
    -- each family: shape, count, first … last name
    local h5 = require "spinlock.h5"
    h5.with(full, "r", function(f)
      for _, fam in ipairs({ "initial", "architecture", "summary", "temporal" }) do
        local names = f:attr("features/" .. fam, "feature_names")
        local shape = f:info("features/" .. fam).shape
        local want = ("  %-13s %-18s %d names: %s"):format(fam, "[" .. table.concat(shape, ", ") .. "]", #names, names[1])
        assert.truthy(t:find(want, 1, true), want .. "\n" .. t)
        assert.truthy(t:find(" … " .. names[#names], 1, true), t)
      end
    end)
    -- histogram counts add up to the operators
    local n = 0
    for c in t:match("IC types %(6 operators%)\n(.-)\n\n"):gmatch("%s(%d+)%s+%d+%.%d%%") do n = n + tonumber(c) end
    assert.are.equal(6, n)
  end)

  it("lists every feature name and the stored config with verbose", function()
    local t = text(full, { verbose = true })
    local h5 = require "spinlock.h5"
    local names = h5.with(full, "r", function(f) return f:attr("features/summary", "feature_names") end)
    for i, nm in ipairs(names) do assert.truthy(t:find(("%4d  %s"):format(i, nm), 1, true), nm) end
    assert.truthy(t:find("config (canonical JSON)\n{", 1, true), t)
  end)

  it("says when a file is incomplete and how to continue it", function()
    local t = text(partial)
    assert.truthy(t:find("operators   2/6 done, INCOMPLETE", 1, true), t)
    assert.truthy(t:find("--resume", 1, true), t)
    assert.truthy(t:find("status      ok 2, diverged 0, pending 4", 1, true), t)
    assert.truthy(t:find("IC types (2 operators)", 1, true), t)
  end)

  it("reports files it cannot read as user errors", function()
    local msg = H.err_of(dataset.describe, dir .. "/nope.h5")
    assert.truthy(msg:find("no such file: " .. dir .. "/nope.h5", 1, true), msg)
    local fh = io.open(dir .. "/x.txt", "w"); fh:write("hello"); fh:close()
    msg = H.err_of(dataset.describe, dir .. "/x.txt")
    assert.truthy(msg:find("is not an HDF5 file", 1, true), msg)
  end)

  it("runs as `spinlock inspect FILE`", function()
    local out, code = H.run("'" .. H.binary() .. "' inspect '" .. full .. "'")
    assert.are.equal(0, code, out)
    assert.truthy(out:find("6/6 done, complete", 1, true), out)
    out, code = H.run("'" .. H.binary() .. "' inspect '" .. dir .. "/nope.h5'")
    assert.are.equal(1, code, out)
    assert.truthy(out:find("spinlock inspect: error: no such file", 1, true), out)
    assert.falsy(out:find("traceback", 1, true), out)
  end)
end)
