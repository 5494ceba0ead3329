-- spinlock.vq — the vector quantizer (one codebook), spec/vqvae.md §3.5–3.6 with the §9 fixes.
-- The arithmetic is in C (engine/core/vq.c, raw kernels at sl._vq); this class holds the state.
--
--   local vq = require "spinlock.vq"
--   local q = vq.VectorQuantizer{num_codes = 128, dim = 32}
--   local zq, idx, loss = q:forward(z)        -- z [B, d] encoder output; idx int64 [B], 1-based
--   local grad_z = q:backward(grad_zq)        -- straight-through + commitment gradient
--   q:reset_dead_codes()                      -- returns the number of codes reset
--   q:stats()                                 -- {utilisation=, perplexity=, used=, dead=, ...}
--
-- Options (defaults): num_codes, dim (required); metric "l2" | "cosine"; ema (true); decay
-- (0.99); eps (1e-5, Laplace smoothing of the EMA counts); beta (0.25, commitment weight);
-- init "kmeans++" (on the first training batch, `kmeans_iters` = 10 Lloyd steps) | "uniform"
-- (U[-1/K, 1/K] like the reference) | "none" (the caller fills q.codebook); dead_after (steps a
-- code may go unused before it counts as dead; 100; 0 disables resets); ring_size (recent
-- encoder rows kept for resets; 1024); max_reset_fraction (0.25); seed (0) or generator.
--
-- Loss convention (paper, spec §9.19): loss = beta·mse(z, sg(e)) [commitment, to the encoder]
-- + mse(sg(z), e) [codebook; only without EMA, where the codebook is a trained parameter].
-- With EMA the codebook is not a parameter (§9.20) and moves only by the EMA update, which runs
-- in training mode inside forward(), after the assignment (the returned codes are those from
-- before the update, as in the reference).  Training-mode forward also tracks usage (codes idle
-- for `dead_after` steps are dead) and pushes z into the ring buffer used by resets.
-- EMA state starts at N_k = 1, m_k = e_k (so e = m / N from the first step; the reference's
-- N = 0 start exiles unused codes, §3.5).  Resets write m_k = row·N_k (§9.21).
local sl = require "spinlock"
local K_ = sl._vq

local vq = {}

local VectorQuantizer = {}
VectorQuantizer.__index = VectorQuantizer
vq.VectorQuantizer_mt = VectorQuantizer

local DEFAULTS = {
  metric = "l2", ema = true, decay = 0.99, eps = 1e-5, beta = 0.25, init = "kmeans++",
  kmeans_iters = 10, dead_after = 100, ring_size = 1024, max_reset_fraction = 0.25, seed = 0,
}

local function check_opts(o)
  local function need(cond, msg) if not cond then error("VectorQuantizer: " .. msg, 4) end end
  need(type(o.num_codes) == "number" and o.num_codes >= 1 and o.num_codes % 1 == 0,
    "num_codes must be a positive integer, got " .. tostring(o.num_codes))
  need(type(o.dim) == "number" and o.dim >= 1 and o.dim % 1 == 0, "dim must be a positive integer, got " .. tostring(o.dim))
  need(o.metric == "l2" or o.metric == "cosine", "metric must be \"l2\" or \"cosine\", got " .. tostring(o.metric))
  need(o.decay >= 0 and o.decay <= 1, "decay must be in [0, 1], got " .. tostring(o.decay))
  need(o.init == "kmeans++" or o.init == "uniform" or o.init == "none",
    "init must be \"kmeans++\", \"uniform\" or \"none\", got " .. tostring(o.init))
  need(o.ring_size >= 1, "ring_size must be >= 1")
  need(o.dead_after >= 0, "dead_after must be >= 0 (0 disables resets)")
end

function vq.VectorQuantizer(opts)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if DEFAULTS[k] == nil and k ~= "num_codes" and k ~= "dim" and k ~= "generator" and k ~= "id" then
      error(string.format("VectorQuantizer: unknown option '%s'", tostring(k)), 2)
    end
    o[k] = v
  end
  check_opts(o)
  local K, d = o.num_codes, o.dim
  local self = setmetatable({ opts = o, num_codes = K, dim = d, training = true, step = 0 }, VectorQuantizer)
  self.generator = o.generator or sl.Generator { seed = o.seed, purpose = 7, a = 0x5651, b = o.id or 0 }
  self.codebook = sl.zeros(K, d)
  if o.init == "uniform" then self.generator:uniform_(self.codebook, -1 / K, 1 / K) end
  self.initialised = o.init ~= "kmeans++"
  self.ema_count = sl.ones(K)
  self.ema_sum = self.codebook:clone()
  self.idle = sl.zeros({ K }, "int64")
  self.ring = sl.zeros(o.ring_size, d)
  self.ring_pos, self.ring_fill = 0, 0
  self.grad_codebook = (not o.ema) and sl.zeros(K, d) or nil
  return self
end

function VectorQuantizer:train(flag)
  self.training = flag == nil and true or not not flag
  return self
end

function VectorQuantizer:eval() return self:train(false) end

-- Trainable parameters: the codebook without EMA, nothing with EMA (§9.20).
function VectorQuantizer:parameters()
  if self.opts.ema then return {}, {} end
  return { self.codebook }, { self.grad_codebook }
end

function VectorQuantizer:zero_grad()
  if self.grad_codebook then self.grad_codebook:fill(0) end
end

local function check_z(self, z, fn)
  if not sl.is_tensor(z) or z:dim() ~= 2 or z:size(2) ~= self.dim then
    error(string.format("VectorQuantizer:%s: expected z of shape [B, %d], got %s", fn, self.dim,
      sl.is_tensor(z) and ("[" .. table.concat(z:shape(), ",") .. "]") or type(z)), 3)
  end
end

-- k-means++ (+ Lloyd) initialisation from data rows [N, d]; also resets the EMA state.
function VectorQuantizer:init_from_data(z, iters)
  check_z(self, z, "init_from_data")
  K_.kmeanspp(self.codebook, z, iters or self.opts.kmeans_iters, self.generator)
  self.ema_count:fill(1)
  self.ema_sum:copy(self.codebook)
  self.initialised = true
  return self
end

-- Nearest codes only (no state change): idx int64 [B] (1-based), score [B].
function VectorQuantizer:quantize(z)
  check_z(self, z, "quantize")
  return K_.assign(z, self.codebook, self.opts.metric)
end

-- forward(z) → zq [B, d] (the code vectors), idx int64 [B] (1-based), loss (number).
function VectorQuantizer:forward(z)
  check_z(self, z, "forward")
  if self.training and not self.initialised then self:init_from_data(z) end
  local o = self.opts
  local idx = K_.assign(z, self.codebook, o.metric)
  local zq = K_.lookup(self.codebook, idx)
  local mse, grad_commit = K_.commitment(z, self.codebook, idx, o.beta)
  self.last_loss = { mse = mse, commitment = o.beta * mse, codebook = o.ema and 0 or mse }
  self.loss = o.beta * mse + (o.ema and 0 or mse)
  if self.training then
    self._z, self._idx, self._grad_commit = z, idx, grad_commit
    if o.ema then K_.ema_update(self.codebook, self.ema_count, self.ema_sum, z, idx, o.decay, o.eps) end
    local counts, util, perp = K_.usage(idx, self.num_codes, self.idle)
    self.last_stats = { counts = counts, utilisation = util, perplexity = perp }
    self.ring_pos, self.ring_fill = K_.ring_push(self.ring, self.ring_pos, self.ring_fill, z)
    self.step = self.step + 1
  end
  self.last_idx = idx
  return zq, idx, self.loss
end

-- backward(grad_zq) → grad_z: the straight-through gradient (grad_zq unchanged) plus the
-- commitment gradient 2·beta·(z − e)/(B·d).  Without EMA, also adds the codebook gradient of
-- mse(sg(z), e) into self.grad_codebook.
function VectorQuantizer:backward(grad_zq)
  if not self._grad_commit then error("VectorQuantizer:backward: call forward in training mode first", 2) end
  local g = self._grad_commit
  if grad_zq ~= nil then
    if not sl.is_tensor(grad_zq) or grad_zq:dim() ~= 2 or grad_zq:size(1) ~= g:size(1) or grad_zq:size(2) ~= g:size(2) then
      error(string.format("VectorQuantizer:backward: grad must have shape [%d,%d]", g:size(1), g:size(2)), 2)
    end
    g = g + grad_zq
  end
  if not self.opts.ema then
    K_.commitment(self._z, self.codebook, self._idx, 0, self.grad_codebook, 1)
  end
  return g
end

-- Replaces dead codes (idle for dead_after steps) by random recent encoder rows; at most
-- floor(K·max_reset_fraction) per call, most idle first.  Returns the number reset.
function VectorQuantizer:reset_dead_codes()
  local o = self.opts
  if o.dead_after == 0 then return 0 end
  local max_reset = math.floor(self.num_codes * o.max_reset_fraction)
  local ema = o.ema
  return K_.reset_dead(self.codebook, ema and self.ema_count or nil, ema and self.ema_sum or nil, self.idle,
    self.ring, self.ring_fill, o.dead_after, max_reset, self.generator)
end

-- Codebook statistics: utilisation and perplexity of the last training batch, codes used by it,
-- dead codes (idle ≥ dead_after), mean EMA count.
function VectorQuantizer:stats()
  local s = self.last_stats or { utilisation = 0, perplexity = 0 }
  local dead = 0
  if self.opts.dead_after > 0 then
    dead = sl.ge(self.idle, self.opts.dead_after):sum()
  end
  local used = s.counts and sl.gt(s.counts, 0):sum() or 0
  return { utilisation = s.utilisation, perplexity = s.perplexity, used = used, dead = dead,
           num_codes = self.num_codes, step = self.step }
end

-- Plain-table state (tensors cloned) and its inverse, for checkpoints.  The state is complete:
-- everything a later forward / reset_dead_codes reads (codebook, EMA sums, idle counters, the
-- ring buffer of recent rows with its write position and fill, the step, the generator
-- position), so a quantizer restored from it behaves bit for bit like the original (a resumed
-- training run resets dead codes from the same rows).  Only the filled part of the ring is kept.
function VectorQuantizer:state()
  local o = {}
  for k, v in pairs(self.opts) do if k ~= "generator" then o[k] = v end end
  local s = { opts = o, codebook = self.codebook:clone(), ema_count = self.ema_count:clone(),
              ema_sum = self.ema_sum:clone(), idle = self.idle:clone(), step = self.step,
              initialised = self.initialised, generator_offset = self.generator:offset(),
              ring_pos = self.ring_pos, ring_fill = self.ring_fill }
  if self.ring_fill > 0 then s.ring = self.ring:narrow(1, 1, self.ring_fill):clone() end
  return s
end

function vq.from_state(s)
  local q = vq.VectorQuantizer(s.opts)
  q.codebook:copy(s.codebook); q.ema_count:copy(s.ema_count); q.ema_sum:copy(s.ema_sum)
  q.idle:copy(s.idle); q.step = s.step; q.initialised = s.initialised
  if s.generator_offset then q.generator:seek(s.generator_offset) end
  -- States written before the ring was saved restore with an empty ring (resets then wait for
  -- fresh rows, as after a restart).
  local fill = s.ring and (s.ring_fill or 0) or 0
  if fill > 0 then
    if not sl.is_tensor(s.ring) or s.ring:dim() ~= 2 or s.ring:size(1) < fill or s.ring:size(2) ~= q.dim then
      error("vq.from_state: ring must be a [ring_fill, dim] tensor", 2)
    end
    q.ring:narrow(1, 1, fill):copy(s.ring:narrow(1, 1, fill))
    q.ring_fill, q.ring_pos = fill, s.ring_pos or (fill % q.opts.ring_size)
  end
  return q
end

-- Codebook metrics from a batch of indices (spec §3.5 metrics helper): utilisation, perplexity.
function vq.usage(idx, num_codes)
  local counts, u, p = K_.usage(idx, num_codes)
  return { counts = counts, utilisation = u, perplexity = p }
end

return vq
