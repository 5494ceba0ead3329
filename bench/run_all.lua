-- `make bench`: runs every bench/*_bench.lua in name order, each in its own process (the same
-- spinlock binary, `spinlock run FILE args…`), so benches cannot disturb each other: FFI
-- declarations are global to a Lua state, and allocator, thread-pool and FFT-plan state start
-- fresh for every measurement.  A failing
-- bench is reported and the others still run; the exit status is 1 if any failed.
-- Extra arguments are passed to every bench.
local dir = (arg and arg[0] or "bench/run_all.lua"):match("^(.*)/[^/]*$") or "."

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Path of the running binary, or nil: the engine resolves /proc/self/exe at start-up
-- (spinlock.paths.exe, empty when that failed).
local function self_exe()
  local ok, paths = pcall(require, "spinlock.paths")
  if not ok or paths.exe == "" then return nil end
  return paths.exe
end

local p = io.popen("ls " .. shell_quote(dir) .. "/*_bench.lua 2>/dev/null")
local files = {}
for f in p:lines() do files[#files + 1] = f end
p:close()
table.sort(files)
if #files == 0 then print("run_all: no *_bench.lua files in " .. dir) return end

local exe = self_exe()
local extra = {}
for i = 1, #(arg or {}) do extra[#extra + 1] = shell_quote(arg[i]) end
extra = table.concat(extra, " ")

local failed = 0
for _, f in ipairs(files) do
  print(("=== %s ==="):format(f))
  io.stdout:flush()
  local ok
  if exe then
    local r1, _, r3 = os.execute(shell_quote(exe) .. " run " .. shell_quote(f) .. " " .. extra)
    ok = r1 == 0 or r1 == true and (r3 == nil or r3 == 0)
  else   -- no /proc: run in this state as a fallback
    local chunk, err = loadfile(f)
    ok = chunk ~= nil
    if chunk then
      setfenv(chunk, setmetatable({ arg = { [0] = f, unpack(arg or {}) } }, { __index = _G }))
      local fine, msg = xpcall(chunk, debug.traceback)
      if not fine then ok = false; print(msg) end
    else
      print(err)
    end
  end
  if not ok then failed = failed + 1; print("run_all: " .. f .. " failed") end
  print()
end
print(("run_all: %d bench file(s), %d failed"):format(#files, failed))
if failed > 0 then os.exit(1) end
