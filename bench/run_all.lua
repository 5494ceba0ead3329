-- `make bench`: runs every bench/*_bench.lua in name order, each in a fresh Lua environment
-- (its own globals and arg table) so one bench cannot disturb the next; a failing bench is
-- reported and the others still run.  Extra arguments are passed to every bench.
local dir = (arg and arg[0] or "bench/run_all.lua"):match("^(.*)/[^/]*$") or "."
local p = io.popen('ls "' .. dir .. '"/*_bench.lua 2>/dev/null')
local files = {}
for f in p:lines() do files[#files + 1] = f end
p:close()
table.sort(files)
if #files == 0 then print("run_all: no *_bench.lua files in " .. dir) return end

local failed = 0
for _, f in ipairs(files) do
  print(("=== %s ==="):format(f))
  local chunk, err = loadfile(f)
  if chunk then
    local env = setmetatable({ arg = { [0] = f, unpack(arg or {}) } }, { __index = _G })
    setfenv(chunk, env)
    local ok, msg = xpcall(chunk, debug.traceback)
    if not ok then failed = failed + 1; print("run_all: " .. f .. " failed: " .. tostring(msg)) end
  else
    failed = failed + 1
    print("run_all: cannot load " .. f .. ": " .. err)
  end
  collectgarbage()
  print()
end
print(("run_all: %d bench file(s), %d failed"):format(#files, failed))
if failed > 0 then os.exit(1) end
