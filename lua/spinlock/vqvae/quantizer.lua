-- spinlock.vqvae.quantizer — returns the vector quantizer class the tokenizer uses.
--
-- The real one is spinlock.vq (C kernels, docs/tokenizer-data.md §4).  Until it is present in a
-- build, this file carries a stand-in with the same interface (forward/backward/eval/train/
-- stats/state/reset_dead_codes/init_from_data/quantize, 1-based int64 indices, EMA codebook,
-- commitment loss beta·mse(z, sg(e))), built from the generic tensor ops.  It exists only so the
-- model and its specs can run before spinlock.vq lands; `M.backend` says which one is in use.
local sl = require "spinlock"
local ffi = require "ffi"
local util = require "spinlock.vqvae.util"

local M = {}

local ok, vq = pcall(require, "spinlock.vq")
if ok and type(vq) == "table" and vq.VectorQuantizer then
  M.new = vq.VectorQuantizer
  M.from_state = vq.from_state
  M.backend = "spinlock.vq"
  return M
end

M.backend = "stand-in"

local Q = {}
Q.__index = Q

function M.new(o)
  local self = setmetatable({ num_codes = o.num_codes, dim = o.dim, training = true, step = 0,
    opts = { beta = o.beta or 0.25, decay = o.decay or 0.99, eps = o.eps or 1e-5, ema = true,
             dead_after = o.dead_after or 100, seed = o.seed or 0, id = o.id or 0,
             num_codes = o.num_codes, dim = o.dim } }, Q)
  self.generator = o.generator or sl.Generator { seed = self.opts.seed, purpose = 7, a = 0x5651, b = self.opts.id }
  self.codebook = sl.zeros(o.num_codes, o.dim)
  self.ema_count = sl.ones(o.num_codes)
  self.ema_sum = sl.zeros(o.num_codes, o.dim)
  self.idle = sl.zeros({ o.num_codes }, "int64")
  self.initialised = false
  return self
end

function Q:train(flag) self.training = flag == nil and true or not not flag; return self end
function Q:eval() return self:train(false) end
function Q:parameters() return {}, {} end
function Q:zero_grad() end

-- Codes from distinct random rows (plain random init; the real quantizer runs k-means++).
function Q:init_from_data(z)
  local B = z:size(1)
  local perm = util.permutation(B, self.generator)
  local rows = {}
  for k = 1, self.num_codes do rows[k] = perm[(k - 1) % B + 1] end
  self.codebook:copy(util.gather_rows(z, rows))
  self.ema_count:fill(1)
  self.ema_sum:copy(self.codebook)
  self.initialised = true
  return self
end

function Q:quantize(z)
  -- ‖e‖² − 2 z·e (the ‖z‖² term does not change the argmin)
  local e2 = sl.square(self.codebook):sum(2)
  local d = sl.add(sl.mul(sl.matmul(z, self.codebook:t()), -2), e2)
  return sl.argmin(d, 2):to("int64")
end

local function onehot(idx, K)
  local B = idx:numel()
  local oh = sl.zeros(B, K)
  local p = ffi.cast("float *", oh:ptr())
  local ip = ffi.cast("int64_t *", idx:contiguous():ptr())
  for i = 0, B - 1 do p[i * K + tonumber(ip[i]) - 1] = 1 end
  return oh
end

function Q:forward(z)
  if self.training and not self.initialised then self:init_from_data(z) end
  local idx = self:quantize(z)
  local zq = util.gather_rows(self.codebook, idx)
  local diff = sl.sub(z, zq)
  local n = z:numel()
  local mse = sl.square(diff):sum() / n
  self.loss = self.opts.beta * mse
  self.last_loss = { mse = mse, commitment = self.loss, codebook = 0 }
  if self.training then
    self._grad_commit = sl.mul(diff, 2 * self.opts.beta / n)
    local oh = onehot(idx, self.num_codes)
    local counts = oh:sum(1)
    local g = self.opts.decay
    self.ema_count = sl.add(sl.mul(self.ema_count, g), sl.mul(counts, 1 - g))
    local tot = self.ema_count:sum()
    self.ema_count = sl.mul(sl.div(sl.add(self.ema_count, self.opts.eps), tot + self.num_codes * self.opts.eps), tot)
    self.ema_sum = sl.add(sl.mul(self.ema_sum, g), sl.mul(sl.matmul(oh:t(), z), 1 - g))
    self.codebook = sl.div(self.ema_sum, self.ema_count:view(self.num_codes, 1))
    local used = sl.gt(counts, 0)
    self.idle = sl.where(used, sl.zeros({ self.num_codes }, "int64"), self.idle + 1)
    local p = sl.div(counts, idx:numel())
    local ent = -sl.mul(p, sl.log(sl.add(p, 1e-10))):sum()
    self.last_stats = { counts = counts, utilisation = used:sum() / self.num_codes, perplexity = math.exp(ent) }
    self._last_z = z
    self.step = self.step + 1
  end
  self.last_idx = idx
  return zq, idx, self.loss
end

function Q:backward(grad_zq)
  local g = self._grad_commit
  if grad_zq ~= nil then g = sl.add(g, grad_zq) end
  return g
end

-- Dead codes (idle ≥ dead_after steps) jump to random rows of the last batch.
function Q:reset_dead_codes()
  if not self._last_z or self.opts.dead_after == 0 then return 0 end
  local idle = self.idle:totable()
  local dead = {}
  for k = 1, self.num_codes do if idle[k] >= self.opts.dead_after then dead[#dead + 1] = k end end
  local maxr = math.floor(self.num_codes * 0.25)
  local n = math.min(#dead, maxr)
  if n == 0 then return 0 end
  local B = self._last_z:size(1)
  local u = self.generator:uniform({ n }, 0, 1, "float64"):totable()
  local med = math.max(1, self.ema_count:median())
  for i = 1, n do
    local k = dead[i]
    local r = math.min(B, math.floor(u[i] * B) + 1)
    self.codebook:select(1, k):copy(self._last_z:select(1, r))
    self.ema_count[k] = med
    self.ema_sum:select(1, k):copy(sl.mul(self._last_z:select(1, r), med))
    self.idle[k] = 0
  end
  return n
end

function Q:stats()
  local s = self.last_stats or { utilisation = 0, perplexity = 0 }
  local dead = sl.ge(self.idle, self.opts.dead_after):sum()
  return { utilisation = s.utilisation, perplexity = s.perplexity, dead = dead,
           num_codes = self.num_codes, step = self.step }
end

function Q:state()
  return { opts = self.opts, codebook = self.codebook:clone(), ema_count = self.ema_count:clone(),
           ema_sum = self.ema_sum:clone(), idle = self.idle:clone(), step = self.step,
           initialised = self.initialised, generator_offset = self.generator:offset() }
end

function M.from_state(s)
  local q = M.new(s.opts)
  q.codebook:copy(s.codebook); q.ema_count:copy(s.ema_count); q.ema_sum:copy(s.ema_sum)
  q.idle:copy(s.idle); q.step = s.step; q.initialised = s.initialised
  if s.generator_offset then q.generator:seek(s.generator_offset) end
  return q
end

return M
