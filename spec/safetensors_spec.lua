-- spinlock.safetensors: byte layout checked by hand, round trips for every dtype, metadata, the
-- JSON codec, errors, and an independent read with /usr/bin/python3 + numpy (struct, json and
-- np.frombuffer only — no safetensors package), skipped when numpy is missing.
local sl = require "spinlock"
local st = require "spinlock.safetensors"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local function tmp(suffix) return SH.tmpfile(suffix or ".safetensors") end
teardown(SH.remove_tmpdirs)

local run = SH.shell   -- shell command → output, exit code

local function read_bytes(p)
  local f = assert(io.open(p, "rb"))
  local d = f:read("*a")
  f:close()
  return d
end

describe("safetensors", function()
  it("writes the documented layout: u64 LE header length, JSON header, raw LE data", function()
    local p = tmp()
    st.save(p, { a = sl.tensor({ 1, 2 }, "float32") })
    local d = read_bytes(p)
    local n = 0
    for i = 8, 1, -1 do n = n * 256 + d:byte(i) end
    assert.are.equal(0, n % 8)                         -- padded so data starts 8-aligned
    assert.are.equal(8 + n + 8, #d)                    -- two float32 after the header
    local h = st.json_decode(d:sub(9, 8 + n))
    assert.are.equal("F32", h.a.dtype)
    assert.are.same({ 2 }, { h.a.shape[1] })
    assert.are.same({ 0, 8 }, { h.a.data_offsets[1], h.a.data_offsets[2] })
    -- 1.0f = 00 00 80 3f, 2.0f = 00 00 00 40 (little-endian IEEE 754)
    assert.are.equal(string.char(0, 0, 0x80, 0x3f, 0, 0, 0, 0x40), d:sub(9 + n, 16 + n))
  end)

  it("round-trips every supported dtype, shapes incl. empty, strided inputs, and metadata", function()
    local p = tmp()
    local base = sl.tensor({ { 1.5, -2, 3 }, { 4, 5, 6.25 } }, "float32")
    local ts = {
      f32 = base, f64 = base:double(), i64 = sl.tensor({ -3, 0, 2 ^ 40 }, "int64"),
      i32 = sl.tensor({ 7, -8 }, "int32"), u8 = sl.tensor({ 0, 255 }, "uint8"),
      strided = base:t(), empty = sl.zeros({ 0, 4 }),
    }
    st.save(p, ts, { note = "hello", nested = { x = 1, y = { 2, 3 } } })
    local back, meta = st.load(p)
    for name, t in pairs(ts) do
      assert.are.equal(t:dtype(), back[name]:dtype(), name)
      assert.are.same(t:shape(), back[name]:shape(), name)
      assert.are.same(t:contiguous():totable(), back[name]:totable(), name)
    end
    assert.are.equal("hello", meta.note)
    local nested = st.json_decode(meta.nested)
    assert.are.equal(1, nested.x)
    assert.are.equal(3, nested.y[2])
  end)

  it("gives the same bytes for the same tensors (sorted names)", function()
    local p1, p2 = tmp(), tmp()
    st.save(p1, { b = sl.ones(3), a = sl.zeros(2) })
    st.save(p2, { a = sl.zeros(2), b = sl.ones(3) })
    assert.are.equal(read_bytes(p1), read_bytes(p2))
  end)

  it("is readable by numpy alone", function()
    local _, code = run("/usr/bin/python3 -c 'import numpy'")
    if code ~= 0 then pending("no numpy for /usr/bin/python3"); return end
    local p = tmp()
    local a = sl.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }, "float32")
    st.save(p, { a = a, b = sl.tensor({ 10, -20 }, "int64"), c = sl.tensor({ 0.1 }, "float64") })
    local py = [=[
import json, struct, sys, numpy as np
d = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', d[:8])[0]
h = json.loads(d[8:8 + n])
dt = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8'}
out = []
for k in sorted(k for k in h if k != '__metadata__'):
    e = h[k]; b, c = e['data_offsets']
    x = np.frombuffer(d[8 + n + b:8 + n + c], dtype=dt[e['dtype']]).reshape(e['shape'])
    out.append('%s=%s' % (k, ','.join(repr(float(v)) for v in x.ravel())))
print(';'.join(out))
]=]
    local f = assert(io.open(p .. ".py", "w")); f:write(py); f:close()
    local out, c2 = run("/usr/bin/python3 " .. p .. ".py " .. p)
    assert.are.equal(0, c2, out)
    assert.are.equal("a=1.0,2.0,3.0,4.0,5.0,6.0;b=10.0,-20.0;c=0.1", (out:gsub("%s+$", "")))
  end)

  it("JSON codec round-trips strings with escapes and unicode, numbers, nesting", function()
    local v = { s = "a\"b\\c\n\t\1é", n = -1.25e-7, i = 42, arr = { 1, "two", { three = 3 } }, t = true, f = false }
    local back = st.json_decode(st.json_encode(v))
    assert.are.same(v.s, back.s)
    assert.are.equal(v.n, back.n)
    assert.are.equal(42, back.i)
    assert.are.equal("two", back.arr[2])
    assert.are.equal(3, back.arr[3].three)
    assert.is_true(back.t); assert.is_false(back.f)
    assert.are.equal("\195\169", st.json_decode([["\u00e9"]]))
    assert.are.equal(0.1, st.json_decode(st.json_encode(0.1)))
    assert.are.equal(1 / 3, st.json_decode(st.json_encode(1 / 3)))
  end)

  it("reports bad files and bad inputs clearly", function()
    local p = tmp()
    local f = assert(io.open(p, "wb")); f:write("abc"); f:close()
    local ok, err = pcall(st.load, p)
    assert.is_false(ok); assert.matches("too short", tostring(err))
    f = assert(io.open(p, "wb")); f:write(string.char(200, 0, 0, 0, 0, 0, 0, 0) .. "{}"); f:close()
    ok, err = pcall(st.load, p)
    assert.is_false(ok); assert.matches("exceeds the file size", tostring(err))
    ok, err = pcall(st.load, "/nonexistent/x.safetensors")
    assert.is_false(ok); assert.matches("cannot open", tostring(err))
    ok, err = pcall(st.save, p, { a = 3 })
    assert.is_false(ok); assert.matches("'a' is not a tensor", tostring(err))
    ok, err = pcall(st.json_decode, "{\"a\": }")
    assert.is_false(ok); assert.matches("json_decode", tostring(err))
  end)
end)
