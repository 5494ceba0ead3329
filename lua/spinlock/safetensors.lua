-- spinlock.safetensors — read and write the safetensors format, plus the small JSON codec it needs.
--
--   local st = require "spinlock.safetensors"
--   st.save("model.safetensors", { ["enc.1.weight"] = w, ... }, { format = "spinlock-vqvae" })
--   local tensors, meta = st.load("model.safetensors")
--
-- Layout (the published format): 8-byte little-endian unsigned header length n, then n bytes of
-- UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
-- then the raw little-endian, C-order data; offsets count from the first byte after the header.
-- We pad the header with spaces to a multiple of 8 (so every tensor starts 8-byte aligned) and lay
-- the tensors out in sorted-name order, so the same tensors always give the same bytes.
-- numpy reads it back with nothing but np.frombuffer (spec/safetensors_spec.lua does exactly that).
-- Data moves through LuaJIT FFI memcpy on each tensor's contiguous storage: no per-element Lua.
local ffi = require "ffi"
local sl = require "spinlock"

local M = {}

-- Our dtype names ↔ safetensors names, with element sizes.
local TO_ST = { float32 = "F32", float64 = "F64", int64 = "I64", int32 = "I32", uint8 = "U8",
                int16 = "I16", float16 = "F16" }
local FROM_ST = {}
for k, v in pairs(TO_ST) do FROM_ST[v] = k end
local SIZE = { F32 = 4, F64 = 8, I64 = 8, I32 = 4, U8 = 1, I16 = 2, F16 = 2 }

assert(ffi.abi("le"), "safetensors: this module assumes a little-endian host")

-- ------------------------------------------------------------------ JSON
-- Enough JSON for headers and checkpoint metadata: objects with sorted keys (deterministic
-- output), arrays for Lua sequences, numbers printed with %.15g when that reads back exactly, else %.17g.
-- A table is an array when it has keys 1..n and nothing else; an empty table is written as {}
-- unless it carries the marker M.EMPTY_ARRAY.
M.EMPTY_ARRAY = setmetatable({}, { __json_array = true })
M.null = setmetatable({}, { __tostring = function() return "null" end })

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                  ["\r"] = "\\r", ["\t"] = "\\t" }
local function enc_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  local mt = getmetatable(t)
  if mt and mt.__json_array then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function encode(v, out)
  local ty = type(v)
  if ty == "string" then out[#out + 1] = enc_string(v)
  elseif ty == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"                      -- JSON has no NaN/Inf
    elseif v == math.floor(v) and math.abs(v) < 2 ^ 53 then
      out[#out + 1] = string.format("%d", v)
    else
      local short = string.format("%.15g", v)      -- shortest form that reads back exactly
      out[#out + 1] = tonumber(short) == v and short or string.format("%.17g", v)
    end
  elseif ty == "boolean" then out[#out + 1] = tostring(v)
  elseif v == nil or v == M.null then out[#out + 1] = "null"
  elseif ty == "table" then
    if sl.is_tensor(v) then encode(v:totable(), out); return end
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" and type(k) ~= "number" then
          error("json_encode: object keys must be strings or numbers, got " .. type(k), 0)
        end
        keys[#keys + 1] = tostring(k)
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        out[#out + 1] = enc_string(k) .. ":"
        encode(val, out)
      end
      out[#out + 1] = "}"
    end
  else
    error("json_encode: cannot encode a " .. ty, 0)
  end
end

function M.json_encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

-- Decoder: returns Lua values; null → M.null inside arrays (to keep positions), nil in objects.
function M.json_decode(s)
  local pos = 1
  local function fail(what)
    error(string.format("json_decode: %s at byte %d", what, pos), 0)
  end
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    pos = pos + 1
    local parts = {}
    while true do
      local a, b = s:find('["\\]', pos)
      if not a then fail("unterminated string") end
      parts[#parts + 1] = s:sub(pos, a - 1)
      if s:sub(a, a) == '"' then pos = a + 1; break end
      local c = s:sub(a + 1, a + 1)
      local simple = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
      if simple[c] then parts[#parts + 1] = simple[c]; pos = a + 2
      elseif c == "u" then
        local code = tonumber(s:sub(a + 2, a + 5), 16)
        if not code then fail("bad \\u escape") end
        pos = a + 6
        if code >= 0xD800 and code <= 0xDBFF and s:sub(pos, pos + 1) == "\\u" then
          local lo = tonumber(s:sub(pos + 2, pos + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            code = 0x10000 + (code - 0xD800) * 0x400 + (lo - 0xDC00); pos = pos + 6
          end
        end
        if code < 0x80 then parts[#parts + 1] = string.char(code)
        elseif code < 0x800 then
          parts[#parts + 1] = string.char(0xC0 + math.floor(code / 64), 0x80 + code % 64)
        elseif code < 0x10000 then
          parts[#parts + 1] = string.char(0xE0 + math.floor(code / 4096), 0x80 + math.floor(code / 64) % 64, 0x80 + code % 64)
        else
          parts[#parts + 1] = string.char(0xF0 + math.floor(code / 262144), 0x80 + math.floor(code / 4096) % 64,
            0x80 + math.floor(code / 64) % 64, 0x80 + code % 64)
        end
      else fail("bad escape") end
    end
    return table.concat(parts)
  end
  value = function()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      pos = pos + 1
      local t = {}
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws()
        if s:sub(pos, pos) ~= '"' then fail("expected a string key") end
        local k = str()
        ws()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        local v = value()
        if v ~= M.null then t[k] = v end
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      pos = pos + 1
      local t = setmetatable({}, { __json_array = true })
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value()
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return M.null
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then fail("unexpected character '" .. c .. "'") end
      pos = pos + #num
      local v = tonumber(num)
      if not v then fail("bad number '" .. num .. "'") end
      return v
    end
  end
  local v = value()
  ws()
  if pos <= #s then fail("trailing characters") end
  return v
end

-- ------------------------------------------------------------------ safetensors

local function u64_le(n)
  local b = {}
  for i = 1, 8 do b[i] = string.char(n % 256); n = math.floor(n / 256) end
  return table.concat(b)
end

-- save(path, tensors, metadata): tensors = {name = tensor}; metadata = {string = string} (other
-- values are JSON-encoded into strings, since the format only allows string values).
function M.save(path, tensors, metadata)
  local names = {}
  for name, t in pairs(tensors) do
    if type(name) ~= "string" or name == "__metadata__" then error("safetensors.save: bad tensor name " .. tostring(name), 2) end
    if not sl.is_tensor(t) then error("safetensors.save: '" .. name .. "' is not a tensor", 2) end
    if not TO_ST[t:dtype()] then error("safetensors.save: '" .. name .. "' has unsupported dtype " .. t:dtype(), 2) end
    names[#names + 1] = name
  end
  table.sort(names)
  local header, blobs, offset = {}, {}, 0
  for i, name in ipairs(names) do
    local t = tensors[name]:contiguous()
    local nbytes = t:numel() * SIZE[TO_ST[t:dtype()]]
    header[name] = { dtype = TO_ST[t:dtype()], shape = setmetatable(t:shape(), { __json_array = true }),
                     data_offsets = { offset, offset + nbytes } }
    blobs[i] = { t = t, n = nbytes }
    offset = offset + nbytes
  end
  if metadata then
    local m = {}
    for k, v in pairs(metadata) do m[tostring(k)] = type(v) == "string" and v or M.json_encode(v) end
    header.__metadata__ = m
  end
  local h = M.json_encode(header)
  h = h .. string.rep(" ", (8 - #h % 8) % 8)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then error("safetensors.save: cannot open " .. tmp .. " for writing (" .. tostring(err) .. ")", 2) end
  f:write(u64_le(#h), h)
  for _, b in ipairs(blobs) do
    if b.n > 0 then f:write(ffi.string(b.t:ptr(), b.n)) end
  end
  f:close()
  -- Rename last: a crash mid-write never leaves a truncated file under the real name.
  local ok, rerr = os.rename(tmp, path)
  if not ok then error("safetensors.save: cannot rename " .. tmp .. " to " .. path .. " (" .. tostring(rerr) .. ")", 2) end
  return path
end

-- read_header(path) → header table, data start offset (0-based byte position in the file), bytes.
local function read_all(path)
  local f, err = io.open(path, "rb")
  if not f then error("safetensors: cannot open " .. path .. " (" .. tostring(err) .. ")", 3) end
  local data = f:read("*a")
  f:close()
  if #data < 8 then error("safetensors: " .. path .. " is too short to be a safetensors file", 3) end
  local n = 0
  for i = 8, 1, -1 do n = n * 256 + data:byte(i) end
  if n > #data - 8 then
    error(string.format("safetensors: %s: header length %d exceeds the file size %d", path, n, #data), 3)
  end
  local ok, header = pcall(M.json_decode, data:sub(9, 8 + n))
  if not ok then error("safetensors: " .. path .. ": bad JSON header: " .. tostring(header), 3) end
  return header, 8 + n, data
end

-- load(path) → tensors {name = tensor}, metadata {string = string} (or {}).
function M.load(path)
  local header, start, data = read_all(path)
  local base = ffi.cast("const uint8_t *", data)
  local out = {}
  for name, e in pairs(header) do
    if name ~= "__metadata__" then
      local dtype = FROM_ST[e.dtype]
      if not dtype then error("safetensors: " .. path .. ": '" .. name .. "' has unsupported dtype " .. tostring(e.dtype), 2) end
      local shape = {}
      local numel = 1
      for i, s in ipairs(e.shape) do shape[i] = s; numel = numel * s end
      local a, b = e.data_offsets[1], e.data_offsets[2]
      if b - a ~= numel * SIZE[e.dtype] or start + b > #data then
        error(string.format("safetensors: %s: '%s' offsets [%d, %d) do not fit shape/dtype or the file", path, name, a, b), 2)
      end
      local t = sl.empty(#shape > 0 and shape or { 1 }, dtype)
      if numel > 0 then ffi.copy(t:ptr(), base + start + a, b - a) end
      if #shape == 0 then t = t:view({}) end
      out[name] = t
    end
  end
  return out, header.__metadata__ or {}
end

-- metadata(path): the __metadata__ map without reading tensors into tensors.
function M.metadata(path)
  local header = read_all(path)
  return header.__metadata__ or {}
end

return M
