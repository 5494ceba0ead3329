-- Shared helpers of the specs: the plumbing around the naive Lua references (conv, norm, linalg,
-- nn, reduce, sort), the shell runner, temp folders and files, error capture and config copies
-- that the spec files used to carry as private copies.  The references themselves stay in each
-- spec, next to what they check.
--
-- Required the way gen_helpers.lua is:
--   local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
--   package.path = here .. "support/?.lua;" .. package.path
--   local SH = require "helpers"
local sl = require "spinlock"

local SH = {}

--- A deterministic LCG in [-1, 1) starting from `seed`: returns rnd() (each spec keeps its own
--- seed, hence its own sequence of test data).
function SH.lcg(seed)
  return function()
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 1073741824 - 1
  end
end

--- A `dtype` (default float32) tensor of `shape` whose i-th element in row-major order is f(i).
function SH.filled(shape, dtype, f)
  local t = sl.zeros(shape, dtype or "float32")
  local flat = t:view(t:numel())
  for i = 1, t:numel() do flat[i] = f(i) end
  return t
end

--- Row-major list of all multi-indices of shape (1-based).
function SH.indices(shape)
  local out, idx = {}, {}
  local nd = #shape
  for d = 1, nd do if shape[d] == 0 then return out end; idx[d] = 1 end
  while true do
    out[#out + 1] = { unpack(idx) }
    local d = nd
    while d >= 1 do
      idx[d] = idx[d] + 1
      if idx[d] <= shape[d] then break end
      idx[d] = 1; d = d - 1
    end
    if d < 1 then return out end
  end
end

--- Asserts that flat lists `expected` and `got` have the same length and differ by at most `tol`
--- (absolute) everywhere; the message names `what`, the worst index and both values there.
function SH.assert_close(expected, got, tol, what)
  -- busted's assert lives in the spec files' environment, not in _G; it is luassert's object
  local assert = require "luassert"
  assert.are.equal(#expected, #got, what .. ": element count")
  local worst, at = 0, 1
  for i = 1, #expected do
    local d = math.abs(expected[i] - got[i])
    if d > worst then worst, at = d, i end
  end
  assert(worst <= tol, string.format("%s: max abs diff %.3g at %d (expected %g, got %g)",
    what, worst, at, expected[at], got[at]))
end

--- Calls fn(...), asserts that it raised an error and returns the error as a string.
function SH.error_of(fn, ...)
  local assert = require "luassert"
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

--- A shallow copy of table `t` with the entries of `over` (optional) set on top.
function SH.copy(t, over)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  for k, v in pairs(over or {}) do c[k] = v end
  return c
end

--- Runs shell command `cmd` with stderr merged into stdout; returns the output and the exit code.
function SH.shell(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"EXIT=$?\"")
  local out = p:read("*a")
  p:close()
  return (out:gsub("EXIT=%d+%s*$", "")), tonumber(out:match("EXIT=(%d+)%s*$"))
end

--- A fresh temp folder; SH.remove_tmpdirs() (in a teardown) removes every folder made so far.
local tmpdirs = {}
function SH.tmpdir()
  local base = os.tmpname()
  os.remove(base)
  os.execute("mkdir -p '" .. base .. "'")
  tmpdirs[#tmpdirs + 1] = base
  return base
end

--- A fresh file name (not yet a file) ending in `suffix` (default none), in a temp folder shared
--- by the calls until SH.remove_tmpdirs() removes it with the rest.
local filedir, nfiles = nil, 0
function SH.tmpfile(suffix)
  filedir = filedir or SH.tmpdir()
  nfiles = nfiles + 1
  return filedir .. "/" .. nfiles .. (suffix or "")
end

--- Writes `text` to the file at `path` (replacing it) and returns `path`.
function SH.write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

function SH.remove_tmpdirs()
  for _, d in ipairs(tmpdirs) do os.execute("rm -rf '" .. d .. "'") end
  tmpdirs, filedir = {}, nil
end

return SH
