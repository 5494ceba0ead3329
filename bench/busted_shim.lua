-- bench/busted_shim.lua SPEC... — runs busted-style spec files without busted.
--
-- For the GPU machine, which has CUDA but neither busted nor its Lua modules (penlight, say…):
-- implements the subset the cuda specs use — describe / it / pending / before_each / after_each
-- and assert.{are.equal, are.same, is_true, is_false, is_number, is_string, matches} plus plain
-- assert(v, msg) — and prints one line per test and a "N passed, N failed, N pending" summary.
-- Exits 1 when a test failed.  Not a busted replacement: no tags, no output handlers.
local passed, failed, pend = 0, 0, 0
local stack, befores, afters = {}, {}, {}

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function fail(msg, level) error(msg, (level or 1) + 2) end
local A = setmetatable({
  are = {
    equal = function(want, got, what) if want ~= got then fail(("%s: expected %s, got %s"):format(what or "equal", tostring(want), tostring(got))) end end,
    same = function(want, got, what) if not deep_eq(want, got) then fail((what or "same") .. ": values differ") end end,
  },
  is_true = function(v, what) if v ~= true then fail((what or "is_true") .. ": expected true, got " .. tostring(v)) end end,
  is_false = function(v, what) if v ~= false then fail((what or "is_false") .. ": expected false, got " .. tostring(v)) end end,
  is_number = function(v, what) if type(v) ~= "number" then fail((what or "is_number") .. ": got " .. type(v)) end end,
  is_string = function(v, what) if type(v) ~= "string" then fail((what or "is_string") .. ": got " .. type(v)) end end,
  matches = function(pat, s, init, plain)
    if type(s) ~= "string" or not s:find(pat, init, plain) then fail(("matches: %q not found in %q"):format(pat, tostring(s))) end
  end,
}, { __call = function(_, v, msg, ...) if not v then error(msg or "assertion failed!", 2) end return v, msg, ... end })
_G.assert = A

local PENDING = {}
function _G.pending(msg) error({ [PENDING] = tostring(msg) }, 0) end
function _G.before_each(f) befores[#befores + 1] = { depth = #stack, f = f } end
function _G.after_each(f) afters[#afters + 1] = { depth = #stack, f = f } end

function _G.describe(name, f)
  stack[#stack + 1] = name
  local nb, na = #befores, #afters
  f()
  for i = #befores, nb + 1, -1 do befores[i] = nil end
  for i = #afters, na + 1, -1 do afters[i] = nil end
  stack[#stack] = nil
end

function _G.it(name, f)
  local full = table.concat(stack, " ") .. " " .. name
  local ok, err = true, nil
  for _, b in ipairs(befores) do if ok then ok, err = pcall(b.f) end end
  if ok then ok, err = xpcall(f, function(e) return type(e) == "table" and e or debug.traceback(tostring(e), 2) end) end
  for _, a in ipairs(afters) do
    local ok2, err2 = pcall(a.f)
    if ok and not ok2 then ok, err = false, err2 end
  end
  if ok then passed = passed + 1; print("ok      " .. full)
  elseif type(err) == "table" and err[PENDING] then pend = pend + 1; print("pending " .. full .. ": " .. err[PENDING])
  else failed = failed + 1; print("FAIL    " .. full .. "\n        " .. tostring(err):gsub("\n", "\n        ")) end
end

for _, path in ipairs(arg) do dofile(path) end
print(("%d passed, %d failed, %d pending"):format(passed, failed, pend))
if failed > 0 then os.exit(1) end
