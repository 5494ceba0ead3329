-- spinlock.vqvae.util — small tensor helpers the tokenizer needs that the core has no op for:
-- row gathers, column concatenation and block copies.  Each moves whole rows with memcpy through
-- the FFI (one Lua step per row or per block, never per element).
local ffi = require "ffi"
local sl = require "spinlock"

local M = {}

local SIZE = { float32 = 4, float64 = 8, int64 = 8, int32 = 4, uint8 = 1 }

-- gather_rows(X [N, D], idx) → [n, D] copy of rows idx (a Lua list of 1-based row numbers, or a
-- 1-based int64 tensor), same dtype.
function M.gather_rows(X, idx, first, count)
  X = X:contiguous()
  local N, D = X:size(1), X:numel() / math.max(1, X:size(1))
  local list = idx
  if sl.is_tensor(idx) then list = idx:totable() end
  first = first or 1
  count = count or (#list - first + 1)
  local shape = X:shape()
  shape[1] = count
  local out = sl.empty(shape, X:dtype())
  if count == 0 then return out end
  local es = SIZE[X:dtype()]
  local row = D * es
  local src = ffi.cast("uint8_t *", X:ptr())
  local dst = ffi.cast("uint8_t *", out:ptr())
  for i = 0, count - 1 do
    local r = list[first + i]
    if r < 1 or r > N then error(string.format("gather_rows: row %s outside 1..%d", tostring(r), N), 2) end
    ffi.copy(dst + i * row, src + (r - 1) * row, row)
  end
  return out
end

-- select_columns(X [N, D], cols) → [N, #cols] (cols: Lua list of 1-based column numbers), float32/64.
-- One pass over rows with a per-row loop over the chosen columns in compiled FFI code.
function M.select_columns(X, cols)
  X = X:contiguous()
  local N, D = X:size(1), X:size(2)
  local k = #cols
  local out = sl.empty({ N, k }, X:dtype())
  local ct = X:dtype() == "float64" and "double *" or "float *"
  local src, dst = ffi.cast(ct, X:ptr()), ffi.cast(ct, out:ptr())
  local c = ffi.new("int32_t[?]", math.max(1, k))
  for j = 1, k do
    if cols[j] < 1 or cols[j] > D then error(string.format("select_columns: column %d outside 1..%d", cols[j], D), 2) end
    c[j - 1] = cols[j] - 1
  end
  for i = 0, N - 1 do
    local s, d = src + i * D, dst + i * k
    for j = 0, k - 1 do d[j] = s[c[j]] end
  end
  return out
end

-- cat_columns({A1 [N, d1], A2 [N, d2], ...}) → [N, Σd] (same dtype).
function M.cat_columns(list)
  local N = list[1]:size(1)
  local total = 0
  for _, a in ipairs(list) do total = total + a:size(2) end
  local out = sl.empty({ N, total }, list[1]:dtype())
  local off = 1
  for _, a in ipairs(list) do
    out:narrow(2, off, a:size(2)):copy(a)
    off = off + a:size(2)
  end
  return out
end

-- A random permutation of 1..n from a spinlock Generator (Fisher–Yates on one uniform draw
-- per element: O(n) Lua, done once per epoch).
function M.permutation(n, gen)
  local u = gen:uniform({ math.max(n, 1) }, 0, 1, "float64"):totable()
  local p = {}
  for i = 1, n do p[i] = i end
  for i = n, 2, -1 do
    local j = math.floor(u[i] * i) + 1
    if j > i then j = i end
    p[i], p[j] = p[j], p[i]
  end
  return p
end

return M
