-- The README's main job (`make demo` → `spinlock demo`): generate → features → train → tokens,
-- run end to end through the binary on a small operator count.
local paths = require "spinlock.paths"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"
local run = SH.shell   -- shell command → output, exit code
teardown(SH.remove_tmpdirs)

describe("spinlock demo", function()
  it("generates a dataset, trains the tokenizer and prints one token per level per operator", function()
    local dir = SH.tmpfile()                         -- not there yet: demo makes it
    local out, code = run(("SPINLOCK_PROGRESS=0 '%s' demo --num-operators 12 --output '%s'"):format(paths.exe, dir))
    assert.are.equal(0, code, out)
    assert.truthy(out:find("wrote " .. dir .. "/dataset.h5: 12 operators", 1, true), out)
    assert.truthy(out:find("operator%s+initial condition%s+policy%s+coarse%s+medium%s+fine"), out)
    local rows = 0
    for line in out:gmatch("[^\n]+") do
      local idx, c, m, f = line:match("^(%d+)%s+%S+%s+%S+%s+(%d+)%s+(%d+)%s+(%d+)$")
      if idx then
        rows = rows + 1
        assert.is_true(tonumber(c) < 8 and tonumber(m) < 32 and tonumber(f) < 64, line)
      end
    end
    assert.are.equal(12, rows, out)
    assert.truthy(out:find("12 operators → %d+ coarse, %d+ medium, %d+ fine tokens in use"), out)
    local fh = io.open(dir .. "/tokenizer/best_model.safetensors", "rb")
    assert.is_truthy(fh, "checkpoint written")
    fh:close()
  end)

  it("rejects a too-small operator count as a user error", function()
    local out, code = run(("'%s' demo --num-operators 2"):format(paths.exe))
    assert.are.equal(1, code)
    assert.truthy(out:find("spinlock demo: error: --num-operators must be at least 8, got 2", 1, true), out)
    assert.falsy(out:find("traceback", 1, true), out)
  end)

  it("checks --vqvae-config and --output before generating anything", function()
    local dir = SH.tmpdir()
    os.execute("mkdir -p '" .. dir .. "/adir'")
    local notes = SH.write_file(dir .. "/notes.txt", "some notes\n")
    local cases = {
      { "--vqvae-config '" .. notes .. "' --output '" .. dir .. "/d1'",
        notes .. ": expected a YAML mapping of settings (key: value) at the top level, found text 'some notes'" },
      { "--vqvae-config '" .. dir .. "/adir' --output '" .. dir .. "/d1'",
        "--vqvae-config: " .. dir .. "/adir is a folder, expected a file" },
      { "--output '" .. notes .. "'", "--output: " .. notes .. " is a file, expected a folder" },
    }
    for _, c in ipairs(cases) do
      local out, code = run(("SPINLOCK_PROGRESS=0 '%s' demo %s"):format(paths.exe, c[1]))
      assert.are.equal(1, code, out)
      assert.truthy(out:find("spinlock demo: error: " .. c[2], 1, true), out)
      assert.falsy(out:lower():find("traceback", 1, true), out)
      assert.falsy(out:find("1/3 generate", 1, true), out)
    end
    assert.is_nil(io.open(dir .. "/d1/dataset.h5"), "nothing generated")
  end)
end)
