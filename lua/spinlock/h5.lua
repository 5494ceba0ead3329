-- spinlock.h5 — HDF5 files (sl.h5).  The file object and its methods are in C (engine/lua/l_hdf5.c);
-- this module adds conveniences written in Lua.  API: docs/hdf5.md.
local core = require "spinlock.core"

local h5 = {}
for k, v in pairs(core._h5) do h5[k] = v end
local File = h5._file_mt.__index

-- h5.with(filename, mode, fn): opens the file, calls fn(f) and closes the file even if fn fails
-- (so the HDF5 file lock is released before the error propagates).  Returns fn's results.
function h5.with(filename, mode, fn)
  local f = h5.open(filename, mode)
  local res = { pcall(fn, f) }
  f:close()
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2)
end

local function fmt_shape(s)
  local parts = {}
  for i, v in ipairs(s) do parts[i] = v == math.huge and "inf" or string.format("%d", v) end
  return "[" .. table.concat(parts, ",") .. "]"
end

-- f:tree([path]) → an h5ls-like text listing of everything below path (default: the root).
function File:tree(path)
  local lines = {}
  for _, e in ipairs(self:walk(path or "/")) do
    local _, depth = e.path:gsub("/", "")
    local line = string.rep("  ", depth - 1) .. e.name
    if e.kind == "dataset" then
      line = line .. string.format("  %s %s", e.dtype, fmt_shape(e.shape))
      if e.chunks then line = line .. " chunks " .. fmt_shape(e.chunks) end
      if e.compression then line = line .. " " .. e.compression .. (e.level and ("(" .. e.level .. ")") or "") end
      if e.shuffle then line = line .. " shuffle" end
    elseif e.kind == "group" then
      line = line .. "/"
    end
    lines[#lines + 1] = line
  end
  return table.concat(lines, "\n")
end

return h5
