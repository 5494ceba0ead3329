-- Sobol low-discrepancy points with seeded Owen (nested uniform) scrambling.
--
-- Construction
-- * Direction numbers: Joe & Kuo new-joe-kuo-6.21201 (spinlock.sobol_directions), dimensions
--   1..64; dimension 1 is van der Corput (all m_i = 1).  32-bit direction integers
--   V_k = m_k * 2^(32-k), extended past the polynomial degree s by the usual recurrence
--   V_k = V_{k-s} xor (V_{k-s} >> s) xor sum_{j=1..s-1} a_j V_{k-j}.
-- * Point order: Gray code (Antonov-Saleev), like scipy and the reference.  Point i in dimension d
--   is x = xor of V_k over the set bits k of gray(i) = i xor (i >> 1), u = x / 2^32.  Point i is a
--   function of (i, d, seed) alone, so any index range can be generated on its own (shards,
--   resume) and gives the same numbers as one long run.  Ranges are filled incrementally:
--   x(i+1) = x(i) xor V_{ctz(i+1)+1}, which is exact, so direct and incremental values agree.
-- * Unscrambled, point 0 is all zeros (nothing is skipped); the first 2^m points of any
--   dimension are {j / 2^m} in some order.
-- * Scrambled: nested uniform (Owen) scrambling per dimension, the hash-based construction of
--   Laine & Karras (2011) as analysed by Burley ("Practical Hash-based Owen Scrambling", JCGT
--   2020): reverse the 32 bits, apply a permutation in which every output bit depends only on
--   itself and lower bits (so, after reversing back, each digit is permuted by a function of the
--   digits above it, which is Owen's nested scramble), reverse again.  The permutation uses the
--   multiply/xor constants published by N. Vegdahl (2021, "Building a better LK hash").  The
--   per-dimension key is a 32-bit hash of (seed, dimension).  Scrambling keeps the net
--   structure: the first 2^m points still fall one per interval [j/2^m, (j+1)/2^m) in each
--   dimension.
--
-- All arithmetic stays in 32-bit integers held in Lua numbers (bit library), with an exact
-- 32x32 -> low-32 multiply built from 16-bit halves, so results do not depend on the JIT.

local bit = require "bit"
local ffi = require "ffi"
local directions = require "spinlock.sobol_directions"

local band, bor, bxor, lshift, rshift, tobit = bit.band, bit.bor, bit.bxor, bit.lshift, bit.rshift, bit.tobit
local floor = math.floor

local M = {}

M.MAX_DIM = 64
M.MAX_INDEX = 2 ^ 32          -- points 0 .. 2^32-1
M.BITS = 32
M.DEFAULT_SEED = 42

local TWO32 = 4294967296
local INV32 = 1 / TWO32

-- V[(d-1)*32 + (k-1)], k = 1..32, as int32
local V = ffi.new("int32_t[?]", M.MAX_DIM * 32)

do
  for k = 1, 32 do V[k - 1] = tobit(2 ^ (32 - k)) end
  for d = 2, M.MAX_DIM do
    local row = directions[d]
    local s, a, m = row[1], row[2], row[3]
    local base = (d - 1) * 32
    for k = 1, 32 do
      local v
      if k <= s then
        v = tobit(m[k] * 2 ^ (32 - k))
      else
        local vks = V[base + k - s - 1]
        v = bxor(vks, rshift(vks, s))
        for j = 1, s - 1 do
          if band(rshift(a, s - 1 - j), 1) == 1 then v = bxor(v, V[base + k - j - 1]) end
        end
      end
      V[base + k - 1] = v
    end
  end
end

-- a * b mod 2^32 (as int32) for 0 <= b < 2^32; exact in doubles
local function mul32(a, b)
  a = a % TWO32
  local alo, ahi = a % 65536, floor(a / 65536)
  local blo, bhi = b % 65536, floor(b / 65536)
  return tobit(((ahi * blo + alo * bhi) % 65536) * 65536 + alo * blo)
end
M._mul32 = mul32

local function reverse32(x)
  x = bor(rshift(band(x, 0xaaaaaaaa), 1), lshift(band(x, 0x55555555), 1))
  x = bor(rshift(band(x, 0xcccccccc), 2), lshift(band(x, 0x33333333), 2))
  x = bor(rshift(band(x, 0xf0f0f0f0), 4), lshift(band(x, 0x0f0f0f0f), 4))
  x = bor(rshift(band(x, 0xff00ff00), 8), lshift(band(x, 0x00ff00ff), 8))
  return bor(rshift(x, 16), lshift(x, 16))
end

-- integer hash (Wellons' "lowbias32" finalizer), used to derive per-dimension keys
local function hash32(x)
  x = bxor(x, rshift(x, 16))
  x = mul32(x, 0x7feb352d)
  x = bxor(x, rshift(x, 15))
  x = mul32(x, 0x846ca68b)
  return bxor(x, rshift(x, 16))
end

-- Owen-scramble key of dimension d (1-based) for a seed 0 <= seed < 2^53
local function dim_key(seed, d)
  local lo = tobit(seed % TWO32)
  local hi = tobit(floor(seed / TWO32))
  return hash32(bxor(hash32(bxor(hash32(bxor(lo, 0x3c6ef372)), hi)), mul32(d, 0x9e3779b9)))
end
M._dim_key = dim_key

-- Laine-Karras style permutation on bit-reversed values: bit j of the result depends only on
-- bits 0..j of x (each step is x += c, x *= odd, or x ^= x * even).
local function lk_permute(x, key)
  x = bxor(x, mul32(x, 0x3d20adea))
  x = tobit(x + key)
  x = mul32(x, bor(rshift(key, 16), 1) % TWO32)
  x = bxor(x, mul32(x, 0x05526c56))
  x = bxor(x, mul32(x, 0x53a22864))
  return x
end

local function owen(x, key)
  return reverse32(lk_permute(reverse32(x), key))
end
M._owen = owen

local function check_args(P, first, count, opts, fname)
  if type(P) ~= "number" or P % 1 ~= 0 or P < 1 or P > M.MAX_DIM then
    error(string.format("%s: dimension must be an integer in 1..%d, found %s", fname, M.MAX_DIM, tostring(P)), 3)
  end
  if type(first) ~= "number" or first % 1 ~= 0 or first < 0 then
    error(string.format("%s: first index must be a non-negative integer, found %s", fname, tostring(first)), 3)
  end
  if type(count) ~= "number" or count % 1 ~= 0 or count < 0 then
    error(string.format("%s: count must be a non-negative integer, found %s", fname, tostring(count)), 3)
  end
  if first + count > M.MAX_INDEX then
    error(string.format("%s: indices %d..%d exceed the 2^32 points of a 32-bit Sobol sequence",
                        fname, first, first + count - 1), 3)
  end
  opts = opts or {}
  local scramble = opts.scramble
  if scramble == nil then scramble = true end
  local seed = opts.seed
  if seed == nil then seed = M.DEFAULT_SEED end
  if type(seed) ~= "number" or seed % 1 ~= 0 or seed < 0 or seed >= 2 ^ 53 then
    error(string.format("%s: seed must be an integer in [0, 2^53), found %s", fname, tostring(seed)), 3)
  end
  return scramble, seed
end

-- unscrambled 32-bit integer of point i in dimension d (1-based)
local function direct(i, d)
  local g = bxor(tobit(i % TWO32), rshift(tobit(i % TWO32), 1))
  local base = (d - 1) * 32
  local x, k = 0, 0
  while g ~= 0 do
    if band(g, 1) ~= 0 then x = bxor(x, V[base + k]) end
    g = rshift(g, 1)
    k = k + 1
  end
  return x
end

-- number of trailing zero bits of 1 <= i < 2^32
local function ctz(i)
  local v, k = tobit(i % TWO32), 0
  while band(v, 1) == 0 do v = rshift(v, 1); k = k + 1 end
  return k
end

--- Fill `out` (a double* / double[] cdata with room for count*P values) with points
-- first .. first+count-1, row-major: out[r*P + (d-1)] is dimension d of point first+r.
-- opts: { seed = 42, scramble = true }.
function M.fill(out, P, first, count, opts)
  local scramble, seed = check_args(P, first, count, opts, "sobol.fill")
  if count == 0 then return out end
  for d = 1, P do
    local key = scramble and dim_key(seed, d) or 0
    local base = (d - 1) * 32
    local x = direct(first, d)
    for r = 0, count - 1 do
      if r > 0 then x = bxor(x, V[base + ctz(first + r)]) end
      local y = scramble and owen(x, key) or x
      out[r * P + d - 1] = (y % TWO32) * INV32
    end
  end
  return out
end

--- New FFI double array [count*P] (row-major) holding the points.
function M.array(P, first, count, opts)
  check_args(P, first, count, opts, "sobol.array")
  local out = ffi.new("double[?]", math.max(count * P, 1))
  return M.fill(out, P, first, count, opts)
end

--- Points as a float64 tensor [count, P] (needs the engine's tensors: build/spinlock).
function M.points(P, first, count, opts)
  check_args(P, first, count, opts, "sobol.points")
  local ok, sl = pcall(require, "spinlock")
  if not ok or type(sl) ~= "table" or not sl.zeros then
    error("sobol.points: tensors need the spinlock engine (run under build/spinlock); use sobol.array for a plain FFI array", 2)
  end
  local t = sl.zeros({ count, P }, "float64")
  if count > 0 then M.fill(ffi.cast("double*", t:ptr()), P, first, count, opts) end
  return t
end

--- One point as a Lua table {u_1, ..., u_P}.
function M.point(i, P, opts)
  check_args(P, i, 1, opts, "sobol.point")
  local buf = ffi.new("double[?]", P)
  M.fill(buf, P, i, 1, opts)
  local t = {}
  for d = 1, P do t[d] = buf[d - 1] end
  return t
end

--- Unscrambled 32-bit integer of point i, dimension d (for tests and diagnostics).
function M.integer(i, d)
  return direct(i, d) % TWO32
end

return M
