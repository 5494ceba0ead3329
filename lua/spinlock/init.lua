-- spinlock — the public Lua API: `local sl = require "spinlock"`.
-- The C core (tensors and kernels) is copied into this table; Lua submodules are reachable as
-- `require "spinlock.<name>"` and lazily as `sl.<name>`.
local core = require "spinlock.core"

local sl = {}
for k, v in pairs(core) do sl[k] = v end

local Tensor_mt = core._tensor_mt
sl.Tensor = { methods = Tensor_mt.__methods, metatable = Tensor_mt }

-- sl.from_ptr(ptr, shape [, dtype [, copy]]): the C side takes a lightuserdata or a numeric
-- address; FFI cdata (float*, void*, buf + 1, float[n] arrays, uintptr_t) is converted here to
-- the address it points at (C cannot read a cdata's value, only the cdata object's address).
do
  local from_ptr, ffi, uptr = core.from_ptr, nil, nil
  function sl.from_ptr(p, ...)
    if type(p) == "cdata" then
      ffi = ffi or require "ffi"
      uptr = uptr or ffi.typeof("uintptr_t")
      local ok, a = pcall(ffi.cast, uptr, p)
      if not ok then
        error("from_ptr: bad argument #1 (pointer or array cdata expected, got " .. tostring(ffi.typeof(p)) .. ")", 2)
      end
      p = tonumber(a)
    end
    local t = from_ptr(p, ...)  -- not a tail call: C argument errors then name 'from_ptr'
    return t
  end
end

-- User mistakes: raise an error the binary reports without a traceback (docs/cli.md).
function sl.user_error(fmt, ...) return require("spinlock.cli").user_error(fmt, ...) end

-- Pretty printer (torch style), installed over the C fallback.
Tensor_mt.__tostring = function(t) return require("spinlock.tensor_print").format(t) end

-- Lazy submodules: sl.config, sl.h5, … resolve to require("spinlock.<name>") on first use.
setmetatable(sl, { __index = function(t, name)
  if type(name) ~= "string" then return nil end
  local ok, mod = pcall(require, "spinlock." .. name)
  if ok then rawset(t, name, mod); return mod end
  if not tostring(mod):find("module 'spinlock%." .. name .. "' not found", 1) then error(mod, 2) end
  return nil
end })

return sl
