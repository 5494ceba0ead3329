-- FAKE spinlock.operator for the generation specs' fast paths (spec/generate_spec.lua & co.).
-- Not the real operator: it has the real module's interface
--   op = fake.build(mapped, {seed=, op_index=}); traj, status = op:rollout(ic, M, T, {seed=, op_index=})
-- and produces a cheap deterministic "rollout": frame t of realization m is
--   ic * decay^t + t * (m-1) * 0.01 * (op_index + 1)     (frame 0 = the IC)
-- with decay taken from the mapped parameters.  Operators listed in fake.diverge
-- ({[op_index] = {realization = m, step = s}}) turn NaN from that step on, like a diverging rollout.
local ffi = require "ffi"
local sl = require "spinlock"

local fake = { diverge = {}, builds = 0, is_fake = true }

local Op = {}
Op.__index = Op

function fake.build(mapped, opts)
  assert(type(mapped) == "table", "fake_operator.build: mapped parameters must be a table")
  assert(opts and opts.seed and opts.op_index, "fake_operator.build: seed and op_index required")
  fake.builds = fake.builds + 1
  local decay = 0.9
  if type(mapped.dt) == "number" then decay = 1 - mapped.dt end
  return setmetatable({ mapped = mapped, seed = opts.seed, op_index = opts.op_index, decay = decay }, Op)
end

function Op:rollout(ic, M, T, opts)
  assert(opts and opts.op_index == self.op_index, "fake_operator.rollout: op_index mismatch")
  local s = ic:shape()
  local n = s[1] * s[2] * s[3]
  local traj = sl.zeros({ M, T, s[1], s[2], s[3] })
  local icc = ic:contiguous()
  local src = ffi.cast("float*", icc:ptr())
  local dst = ffi.cast("float*", traj:ptr())
  local dv = fake.diverge[self.op_index]
  local status = { diverged = {}, diverged_step = {} }
  for m = 1, M do
    local off = (m - 1) * 0.01 * (self.op_index + 1)
    local diverges = dv and dv.realization == m
    status.diverged[m] = diverges and true or false
    status.diverged_step[m] = diverges and dv.step or -1
    for t = 0, T - 1 do
      local base = ((m - 1) * T + t) * n
      local a = self.decay ^ t
      local bad = diverges and t >= dv.step
      local o = off * t
      for i = 0, n - 1 do dst[base + i] = bad and 0 / 0 or src[i] * a + o end
    end
  end
  return traj, status
end

return fake
