-- Specs for the `spinlock` command (engine/lua/main.c) and spinlock.cli.
-- The binary is run as a subprocess (the same executable that runs these specs, so the ASan
-- build tests itself); option parsing is also checked in-process.
local cli = require "spinlock.cli"
local paths = require "spinlock.paths"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function tmpfile(content) return SH.write_file(SH.tmpfile(), content or "") end

local function slurp(name)
  local f = assert(io.open(name, "r"))
  local s = f:read("*a")
  f:close()
  return s
end

-- Runs `spinlock <args>` (args: a shell fragment) with optional stdin text and environment
-- prefix; returns stdout, stderr, exit code.
local function spinlock(args, opts)
  opts = opts or {}
  local err = tmpfile()
  local cmd = (opts.env or "") .. " " .. quote(paths.exe) .. " " .. args
  if opts.stdin then cmd = cmd .. " < " .. quote(tmpfile(opts.stdin)) end
  local p = assert(io.popen(cmd .. " 2> " .. quote(err) .. "; echo \"__rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  return (out:gsub("__rc=%d+%s*$", "")), slurp(err), rc
end

local function recipe_names()
  local names = {}
  local p = io.popen("ls " .. quote(paths.recipes))
  for f in p:lines() do
    local n = f:match("^([^_.][^.]*)%.lua$")
    if n then names[#names + 1] = n end
  end
  p:close()
  return names
end

teardown(SH.remove_tmpdirs)

describe("spinlock binary", function()
  it("--help lists every recipe with the summary from its first line", function()
    local out, err, rc = spinlock("--help")
    assert.are.equal(0, rc)
    assert.are.equal("", err)
    assert.truthy(out:find("Usage:", 1, true))
    local names = recipe_names()
    assert.is_true(#names >= 1)
    local have = {}
    for _, name in ipairs(names) do have[name] = true end
    for _, name in ipairs(names) do
      local twin = name:find("_", 1, true) and name:gsub("_", "-")
      if twin and have[twin] then
        -- a spelling alias (train_vqvae): not listed, still runnable
        assert.is_nil(out:find("\n  " .. name:gsub("%p", "%%%0") .. " "), name .. " should not be listed")
        local _, _, rc2 = spinlock(name .. " --help")
        assert.are.equal(0, rc2, name .. " --help")
        goto continue
      end
      local summary = cli.read_summary(paths.recipes .. "/" .. name .. ".lua")
      assert.is_truthy(summary, "recipes/" .. name .. ".lua needs a '-- summary:' first line")
      assert.truthy(out:find("  " .. name:gsub("%p", "%%%0") .. " +" .. summary:gsub("%p", "%%%0")),
                    name .. " missing from --help")
      ::continue::
    end
  end)

  it("a folder or a non-config file where a file is expected is a user error naming it", function()
    local dir = SH.tmpdir()
    local notes = tmpfile("just some notes\n")
    local cases = {
      { "generate --config " .. quote(dir) .. " --dry-run", "--config: " .. dir .. " is a folder, expected a file" },
      { "features-doc --config " .. quote(dir), "--config: " .. dir .. " is a folder, expected a file" },
      { "features-doc --config " .. quote(notes), "--config: " .. notes .. ": the top level of a config must be a mapping" },
      { "features-doc --output " .. quote(dir), "--output: " .. dir .. " is a folder, expected a file name" },
      { "features-doc --output " .. quote(dir .. "/no/such/folder.md"), "--output: cannot write " .. dir .. "/no/such/folder.md" },
    }
    for _, c in ipairs(cases) do
      local out, err, rc = spinlock(c[1])
      assert.are.equal(1, rc, c[1] .. "\n" .. out .. err)
      assert.truthy(err:find(c[2], 1, true), c[2] .. " not in: " .. err)
      assert.is_nil(err:lower():find("traceback", 1, true), err)
    end
    -- the default config is found from any folder
    local out, err, rc = spinlock("features-doc --check --output " .. quote(paths.home .. "/docs/features.md"),
      { env = "cd /tmp &&" })
    assert.are.equal(0, rc, out .. err)
  end)

  it("--version prints the version", function()
    local out, _, rc = spinlock("--version")
    assert.are.equal(0, rc)
    assert.truthy(out:match("^spinlock %d+%.%d+%.%d+"))
    assert.truthy(out:find(paths.version, 1, true))
  end)

  it("-e runs code with `sl` preloaded and sets arg", function()
    local out, _, rc = spinlock("-e 'print(type(sl), arg[0], arg[1], #arg)' x")
    assert.are.equal(0, rc)
    assert.are.equal("table\t-e\tx\t1\n", out)
    out = spinlock("-e 'print(select(\"#\", ...), ...)' p 'q r'")
    assert.are.equal("2\tp\tq r\n", out)
    out = spinlock("-e 'print(select(\"#\", ...))'")
    assert.are.equal("0\n", out)
  end)

  it("run passes arguments as arg and ... like lua.c", function()
    local script = tmpfile("local a, b = ...\nprint(arg[0] == (...) and 'bad' or 'ok', arg[1], arg[2], #arg, a, b)\n")
    local out, err, rc = spinlock("run " .. quote(script) .. " one 'two words'")
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    assert.are.equal("ok\tone\ttwo words\t2\tone\ttwo words\n", out)
    out = spinlock("run " .. quote(script))
    assert.are.equal("ok\tnil\tnil\t0\tnil\tnil\n", out)
  end)

  it("run of a missing file is a clean error", function()
    local _, err, rc = spinlock("run /nonexistent/x.lua")
    assert.are.equal(1, rc)
    assert.truthy(err:find("spinlock run: error: cannot open /nonexistent/x.lua", 1, true))
  end)

  it("rejects an unknown command with a suggestion", function()
    local out, err, rc = spinlock("toru")
    assert.are.equal(1, rc)
    assert.are.equal("", out)
    assert.truthy(err:find("unknown command 'toru' (did you mean 'tour'?)", 1, true))
    _, err, rc = spinlock("../etc/passwd")
    assert.are.equal(1, rc)
    assert.truthy(err:find("unknown command", 1, true))
  end)

  it("rejects an unknown top-level option", function()
    local _, err, rc = spinlock("--frobnicate")
    assert.are.equal(1, rc)
    assert.truthy(err:find("unknown option '--frobnicate'", 1, true))
  end)

  it("rejects an unknown recipe option naming the nearest valid one", function()
    local _, err, rc = spinlock("tour --sise 3")
    assert.are.equal(1, rc)
    assert.truthy(err:find("spinlock tour: error: unknown option --sise (did you mean --size?)", 1, true))
    assert.falsy(err:find("traceback", 1, true))
  end)

  it("prints a recipe's usage for <command> --help and help <command>", function()
    for _, args in ipairs { "tour --help", "help tour" } do
      local out, err, rc = spinlock(args)
      assert.are.equal(0, rc)
      assert.are.equal("", err)
      assert.truthy(out:find("Usage: spinlock tour [options]", 1, true))
      assert.truthy(out:find("--size N", 1, true))
    end
  end)

  it("reports user errors without a traceback and exits 1", function()
    local script = tmpfile([[
local cli = require "spinlock.cli"
return { options = { { "n", type = "int", default = 1 } },
         run = function(opts) cli.user_error("n is %d, which is not allowed", opts.n) end }
]])
    local out, err, rc = spinlock("run " .. quote(script) .. " --n 5")
    assert.are.equal(1, rc)
    assert.are.equal("", out)
    assert.are.equal("spinlock run: error: n is 5, which is not allowed\n", err)
  end)

  it("shows the traceback of unexpected errors with a SPINLOCK_DEBUG hint", function()
    local script = tmpfile("local function inner() error('kaboom') end\ninner()\n")
    local _, err, rc = spinlock("run " .. quote(script))
    assert.are.equal(1, rc)
    assert.truthy(err:find(":1: kaboom", 1, true))
    assert.truthy(err:find("stack traceback:", 1, true))
    assert.truthy(err:find("in function 'inner'", 1, true) or err:find("in local 'inner'", 1, true))
    assert.truthy(err:find("SPINLOCK_DEBUG=1", 1, true))
  end)

  it("exits with the code of cli.exit", function()
    local out, err, rc = spinlock("-e 'require(\"spinlock.cli\").exit(3)'")
    assert.are.same({ "", "", 3 }, { out, err, rc })
  end)

  it("exits 130 on SIGINT", function()
    -- The child says when its loop runs, so the signal never arrives during start-up (where
    -- it would kill without the message); the loop is interpreted so the hook can fire.
    local err = tmpfile()
    local script = table.concat({
      quote(paths.exe) .. " -e 'io.stderr:write(\"ready\\n\") jit.off() while true do end' 2> " .. quote(err) .. " &",
      "pid=$!",
      "for i in $(seq 200); do grep -q ready " .. quote(err) .. " && break; sleep 0.05; done",
      "kill -INT $pid; wait $pid; echo \"__rc=$?\"",
    }, "\n")
    local p = io.popen("bash -c " .. quote(script))
    local out = p:read("*a")
    p:close()
    assert.are.equal("__rc=130\n", out)
    assert.truthy(slurp(err):find("spinlock: interrupted", 1, true))
  end)

  it("runs a REPL fed through a pipe", function()
    local session = table.concat({
      "x = 20",
      "function twice(v)",
      "  return 2 * v",
      "end",
      "twice(x) + 2",
      "error('oops')",
      "{1, 2, name = 'n'}",
      "'a', nil",
      "=x",
      "for i = 1, 2 do",
      "  print('line', i)",
      "end",
    }, "\n") .. "\n"
    local out, err, rc = spinlock("repl", { stdin = session })
    assert.are.equal(0, rc)
    assert.are.equal('42\n{1, 2, name = "n"}\na\tnil\n20\nline\t1\nline\t2\n', out)
    assert.truthy(err:find("oops", 1, true))
  end)

  it("reports piped REPL input that ends inside a statement and exits 1", function()
    local out, err, rc = spinlock("repl", { stdin = "print(1)\nx =\n" })
    assert.are.equal("1\n", out)
    assert.are.equal(1, rc)
    assert.truthy(err:find("stdin:1: unexpected symbol near '<eof>'", 1, true))
    assert.truthy(err:find("input ended inside an unfinished statement", 1, true))
    out, err, rc = spinlock("repl", { stdin = "for i = 1, 2 do\n  print(i)\n" })
    assert.are.same({ "", 1 }, { out, rc })
    assert.truthy(err:find("'end' expected", 1, true))
  end)

  it("runs piped stdin as a script when there are no arguments", function()
    local out, _, rc = spinlock("", { stdin = "print(1 + 1)\n" })
    assert.are.equal(0, rc)
    assert.are.equal("2\n", out)
  end)
end)

describe("backend probe", function()
  it("reports the CPU with a reason when CUDA is unusable", function()
    local info = require("spinlock").backend_info()
    assert.are.equal("boolean", type(info.cuda_available))
    assert.are.equal("number", type(info.devices))
    assert.are.equal("string", type(info.plugin))
    if not info.cuda_available then
      assert.are.equal(0, info.devices)
      assert.is_true(#info.reason > 0)
    else
      assert.is_true(info.devices > 0)
    end
  end)

  it("records why: disabled, missing plugin", function()
    local code = "'local i = sl.backend_info() print(i.cuda_available, i.devices, i.reason)'"
    local out = spinlock("-e " .. code, { env = "SPINLOCK_CUDA=0" })
    assert.are.equal("false\t0\tCUDA disabled by SPINLOCK_CUDA=0\n", out)
    out = spinlock("-e " .. code, { env = "SPINLOCK_CUDA_PLUGIN=/nonexistent/libspinlock_cuda.so" })
    assert.truthy(out:find("^false\t0\tcannot load the CUDA plugin: /nonexistent/libspinlock_cuda.so"))
  end)

  it("loads a built plugin and falls back with the CUDA error when there is no GPU", function()
    local plugin = paths.exe:gsub("[^/]+$", "") .. "libspinlock_cuda.so"
    local f = io.open(plugin, "r")
    if not f then return end   -- built without CUDA (make CUDA=0): nothing to load
    f:close()
    local info = require("spinlock").backend_info()
    if info.cuda_available then
      assert.is_true(info.devices > 0 and #info.device_names == info.devices)
    else
      -- the plugin was opened (so it links and exports its entry point) and its probe failed
      assert.truthy(info.reason:find("^cudaGetDeviceCount") or info.reason:find("no CUDA device"),
                    info.reason)
    end
  end)

  it("starts with OMP_WAIT_POLICY=passive unless the user set a policy", function()
    local code = "-e 'print(os.getenv(\"OMP_WAIT_POLICY\"))'"
    local clean = "env -u OMP_WAIT_POLICY -u SPINLOCK_REEXEC"
    assert.are.equal("passive\n", (spinlock(code, { env = clean })))
    assert.are.equal("active\n", (spinlock(code, { env = clean .. " OMP_WAIT_POLICY=active" })))
    -- the re-exec keeps the arguments and stdin
    local out, _, rc = spinlock("-e 'local a, b = ... print(a, b, io.read(\"*l\"))' a 'b c'", { env = clean, stdin = "line\n" })
    assert.are.same({ "a\tb c\tline\n", 0 }, { out, rc })
  end)

  it("does not run OpenBLAS on its Prescott fallback where AVX2 exists", function()
    local core = require("spinlock").backend_info().blas_core
    assert.are.equal("string", type(core))
    local f = io.open("/proc/cpuinfo", "r")
    local cpuinfo = f and f:read("*a") or ""
    if f then f:close() end
    if cpuinfo:find(" avx2 ", 1, true) then assert.are_not.equal("prescott", core:lower()) end
  end)
end)

describe("spinlock.cli.parse", function()
  local spec = {
    options = {
      { "config", type = "path", help = "config file" },
      { "num-ops", type = "int", default = 16 },
      { "scale", type = "number", default = 1.5 },
      { "datasets", type = "path", multi = true },
      { "mode", type = "choice", choices = { "fast", "full" }, default = "fast" },
      { "verbose", type = "flag", short = "v" },
      { "color", type = "flag", default = true },
    },
    run = function() end,
  }
  local function parse(argv) return cli.parse(argv, spec, "spinlock test") end
  local function user_error_of(argv)
    local ok, e = pcall(parse, argv)
    assert.is_false(ok)
    assert.is_true(cli.is_user_error(e), "expected a user error, got " .. tostring(e))
    return e.msg
  end

  it("fills defaults", function()
    assert.are.same({ num_ops = 16, scale = 1.5, datasets = {}, mode = "fast", verbose = false,
                      color = true }, parse {})
  end)

  it("accepts --key value, --key=value, underscores, short flags and --no-", function()
    local o = parse { "--config", "a.yaml", "--num_ops=3", "--scale", "-2.5", "-v", "--no-color",
                      "--mode=full" }
    assert.are.same({ config = "a.yaml", num_ops = 3, scale = -2.5, datasets = {}, mode = "full",
                      verbose = true, color = false }, o)
    assert.is_false(parse({ "--verbose=false" }).verbose)
  end)

  it("collects multi-value options until the next option, and repeated uses", function()
    local o = parse { "--datasets", "a.h5", "b.h5", "--verbose", "--datasets=c.h5", "--datasets", "d.h5" }
    assert.are.same({ "a.h5", "b.h5", "c.h5", "d.h5" }, o.datasets)
  end)

  it("gives clear user errors", function()
    assert.truthy(user_error_of({ "--num-op", "3" }):find("unknown option --num-op (did you mean --num-ops?)", 1, true))
    assert.truthy(user_error_of({ "--zzzzzzzz" }):find("valid: --config, --num-ops", 1, true))
    assert.truthy(user_error_of({ "--num-ops", "2.5" }):find("--num-ops expects an integer, got '2.5'", 1, true))
    assert.truthy(user_error_of({ "--scale", "x" }):find("--scale expects a number, got 'x'", 1, true))
    assert.truthy(user_error_of({ "--mode", "slow" }):find("--mode must be one of fast, full, got 'slow'", 1, true))
    assert.truthy(user_error_of({ "--config" }):find("--config needs a value (PATH)", 1, true))
    assert.truthy(user_error_of({ "--datasets", "--verbose" }):find("--datasets needs at least one value", 1, true))
    assert.truthy(user_error_of({ "stray" }):find("unexpected argument 'stray'", 1, true))
    assert.truthy(user_error_of({ "--verbose=maybe" }):find("expected true/false", 1, true))
  end)

  it("checks required options and positional arguments", function()
    local s = { options = { { "out", required = true, help = "output file" } },
                args = { { "input", required = true }, { "more", multi = true } },
                run = function() end }
    local ok, e = pcall(cli.parse, { "x" }, s, "p")
    assert.is_false(ok)
    assert.truthy(e.msg:find("missing required option --out (output file)", 1, true))
    ok, e = pcall(cli.parse, { "--out", "o" }, s, "p")
    assert.truthy(e.msg:find("missing argument INPUT", 1, true))
    assert.are.same({ out = "o", input = "i", more = { "m1", "m2" } },
                    cli.parse({ "i", "--out", "o", "m1", "--", "m2" }, s, "p"))
  end)

  it("checks must_exist paths", function()
    local s = { options = { { "cfg", type = "path", must_exist = true } }, run = function() end }
    local ok, e = pcall(cli.parse, { "--cfg", "/nonexistent/c.yaml" }, s, "p")
    assert.is_false(ok)
    assert.truthy(e.msg:find("--cfg: file not found: /nonexistent/c.yaml", 1, true))
  end)

  it("must_exist tells files from folders", function()
    local dir = SH.tmpdir()
    local file = tmpfile("x")
    local s = { options = { { "cfg", type = "path", must_exist = true }, { "out", type = "path", must_exist = "dir" } },
                run = function() end }
    local ok, e = pcall(cli.parse, { "--cfg", dir }, s, "p")
    assert.is_false(ok)
    assert.are.equal("--cfg: " .. dir .. " is a folder, expected a file", e.msg)
    ok, e = pcall(cli.parse, { "--out", file }, s, "p")
    assert.is_false(ok)
    assert.are.equal("--out: " .. file .. " is a file, expected a folder", e.msg)
    assert.are.same({ cfg = file, out = dir }, cli.parse({ "--cfg", file, "--out", dir }, s, "p"))
  end)

  it("rejects broken declarations as programming errors", function()
    local ok, e = pcall(cli.parse, {}, { options = { { "x", type = "strng" } } }, "p")
    assert.is_false(ok)
    assert.is_false(cli.is_user_error(e))
    assert.truthy(tostring(e):find("unknown type 'strng'", 1, true))
  end)

  it("builds the usage text", function()
    local u = cli.usage(spec, "spinlock test")
    assert.truthy(u:find("^Usage: spinlock test %[options%]"))
    assert.truthy(u:find("--num-ops N", 1, true))
    assert.truthy(u:find("(default: 16)", 1, true))
    assert.truthy(u:find("--datasets PATH...", 1, true))
    assert.truthy(u:find("-v, --verbose", 1, true))
    assert.truthy(u:find("--no-color turns it off", 1, true))
  end)

  it("--help prints the usage and requests exit 0", function()
    local printed, real = {}, io.stdout
    io.stdout = { write = function(_, s) printed[#printed + 1] = s end, flush = function() end }
    local ok, e = pcall(parse, { "--help" })
    io.stdout = real
    assert.is_false(ok)
    assert.are.equal(0, e.exit_code)
    assert.truthy(table.concat(printed):find("^Usage: spinlock test"))
  end)
end)

describe("spinlock.cli helpers", function()
  it("repr renders values for the REPL", function()
    assert.are.equal("abc", cli.repr("abc"))
    assert.are.equal('{1, "two", {3}, k = true}', cli.repr({ 1, "two", { 3 }, k = true }))
    assert.are.equal("{a = {b = {...}}}", cli.repr({ a = { b = { c = 1 } } }))
    assert.are.equal("{[\"x y\"] = 1}", cli.repr({ ["x y"] = 1 }))
    local t = setmetatable({}, { __tostring = function() return "T!" end })
    assert.are.equal("T!", cli.repr(t))
  end)

  it("nearest suggests only plausible misspellings", function()
    assert.are.equal("generate", cli.nearest("genrate", { "generate", "inspect" }))
    assert.is_nil(cli.nearest("xyz", { "generate", "inspect" }))
  end)

  it("path_kind and ensure_dir tell files from folders and raise user errors", function()
    local dir = SH.tmpfile()                        -- not yet there
    local file = tmpfile("")                        -- an empty file is still a file
    assert.is_nil(cli.path_kind(dir))
    assert.are.equal("file", cli.path_kind(file))
    assert.are.equal(dir .. "/a/b", cli.ensure_dir(dir .. "/a/b", "--output"))
    assert.are.equal("dir", cli.path_kind(dir .. "/a/b"))
    cli.ensure_dir(dir .. "/a/b")                  -- existing: fine
    local ok, e = pcall(cli.ensure_dir, file, "--output")
    assert.is_false(ok)
    assert.is_true(cli.is_user_error(e))
    assert.are.equal("--output: " .. file .. " is a file, expected a folder", e.msg)
    ok, e = pcall(cli.ensure_dir, file .. "/sub", "--output")
    assert.is_false(ok)
    assert.truthy(e.msg:find("--output: cannot create folder " .. file .. "/sub", 1, true), e.msg)
    ok, e = pcall(cli.ensure_parent_dir, file .. "/sub/x.h5", "--output")
    assert.is_false(ok)
    assert.truthy(e.msg:find("cannot create folder " .. file .. "/sub", 1, true), e.msg)
  end)

  it("user_error formats and is recognisable", function()
    local ok, e = pcall(cli.user_error, "bad %s: %d", "x", 3)
    assert.is_false(ok)
    assert.is_true(cli.is_user_error(e))
    assert.are.equal("bad x: 3", tostring(e))
    assert.is_false(cli.is_user_error("plain"))
  end)
end)
