-- spinlock.vqvae.model — the categorical hierarchical VQ-VAE (spec/vqvae.md §3, with the §9 fixes).
--
-- Data flow for a batch x [B, D] (model column order: category c owns columns off_c .. off_c+n_c-1):
--   per category c:   h_c = Enc_c(x_c)  (Linear n_c→H, ReLU, Dropout, Linear H→E, LayerNorm)
--                     z_c = Head_c(h_c) (Linear E→d, Dropout, LayerNorm unless latent_norm = none)
--                                                                                 z = [z_1 … z_C]
--   category codes:   residual quantization of each z_c over L levels (§9.16: a real hierarchy):
--                     r_0 = z_c, q_l = Q_{c,l}(r_l), r_{l+1} = r_l − q_l; prefix_{c,l} = Σ_{j≤l} q_j
--   operator tokens:  the same residual scheme on the whole z with one codebook per level, so each
--                     operator gets one token per level (coarse, medium, fine), each refining what
--                     the coarser ones left (DESIGN.md "Tokens")
--   decoder:          one shared Dec (Linear Σd→H_dec, ReLU, Dropout, Linear H_dec→D) plus, with
--                     category_decoder = linear, a block-diagonal linear map that takes each
--                     category's own latent block to its own columns (nn.BlockLinear); their sum
--                     decodes any prefix: x̂^path_l = Dec(prefix^path_l) + Blk(prefix^path_l), so
--                     the reconstruction at level l uses levels 0..l only and its error falls level
--                     by level.  The block path is what lets the category codes carry their bits to
--                     the output: through the shared MLP alone every category's code has to pass a
--                     256-wide ReLU layer fitted on a few hundred operators (docs/vqvae.md).
-- Loss (per batch): rec = mse(x̂^cat_fine, x) + mse(x̂^tok_fine, x)
--                 + informativeness_weight · mean over coarser levels l < L of the same two mse
--                 + vq  = mean over categories of Σ_l commitment_{c,l} + Σ_l commitment^tok_l
--                 + topo_weight · (1 − Pearson(pairwise |x_i − x_j|, pairwise |z_i − z_j|))
--                 + orthogonality_weight · mean over category pairs of mean(corr-ish(z_a, z_b)²)
-- Straight-through: every prefix's gradient goes to z unchanged; commitment gradients go to the
-- residual they were computed on, which is z minus constants, so also to z.
-- The quantizers use EMA codebooks (not optimiser parameters, §9.20), k-means++ initialisation on
-- the first batch (§9.22) and dead-code resets (§9.21) — spinlock.vq.
local sl = require "spinlock"
local nn = require "spinlock.nn"
local quantizer = require "spinlock.vqvae.quantizer"
local util = require "spinlock.vqvae.util"

local M = {}

M.DEFAULTS = {
  group_hidden_dim = 128,       -- H
  group_embedding_dim = 64,     -- E
  latent_dim = 16,              -- d per category
  category_codebook_sizes = { 8, 16, 32 },   -- K per level for the per-category codes
  token_codebook_sizes = { 16, 64, 256 },    -- K per level for the operator tokens
  decoder_hidden_dim = 256,
  category_decoder = "linear",  -- "linear": add the per-category block-diagonal path; "none"
  latent_norm = "layernorm",    -- LayerNorm at the end of each head (the reference); or "none"
  dropout = 0.05,
  commitment_cost = 0.25,       -- beta (paper convention, §9.19)
  ema_decay = 0.99,
  dead_code_after = 100,        -- training steps a code may stay unused before a reset
  informativeness_weight = 0.5,
  orthogonality_weight = 0.0,
  topo_weight = 0.02,
  topo_samples = 64,
  seed = 42,
}

local Model = nn.Module:extend("CategoricalHierarchicalVQVAE")
M.Model = Model

local function opt(cfg, k)
  local v = cfg[k]
  if v == nil then v = M.DEFAULTS[k] end
  return v
end

-- categories: list of {name = str, size = n_c} in model column order (columns are contiguous).
function Model:init(cfg, categories)
  cfg = cfg or {}
  local c = {}
  for k in pairs(M.DEFAULTS) do c[k] = opt(cfg, k) end
  self.cfg = c
  assert(type(categories) == "table" and #categories > 0, "vqvae: need at least one category")
  if #c.category_codebook_sizes ~= #c.token_codebook_sizes then
    error(string.format("vqvae: category_codebook_sizes has %d levels but token_codebook_sizes has %d",
      #c.category_codebook_sizes, #c.token_codebook_sizes), 0)
  end
  self.levels = #c.token_codebook_sizes
  if c.category_decoder ~= "linear" and c.category_decoder ~= "none" then
    error(string.format("vqvae: category_decoder must be linear or none, got %s", tostring(c.category_decoder)), 0)
  end
  if c.latent_norm ~= "layernorm" and c.latent_norm ~= "none" then
    error(string.format("vqvae: latent_norm must be layernorm or none, got %s", tostring(c.latent_norm)), 0)
  end
  self.categories = {}
  local off = 1
  for i, cat in ipairs(categories) do
    if (cat.size or 0) < 1 then error("vqvae: category " .. tostring(cat.name) .. " has no columns", 0) end
    self.categories[i] = { name = cat.name or ("category_" .. i), size = cat.size, offset = off }
    off = off + cat.size
  end
  self.input_dim = off - 1
  local C, d, E, H = #self.categories, c.latent_dim, c.group_embedding_dim, c.group_hidden_dim
  self.latent_total = C * d
  nn.manual_seed(c.seed)
  self.encoders, self.heads = {}, {}
  for i, cat in ipairs(self.categories) do
    local enc = nn.Sequential(nn.Linear(cat.size, H), nn.ReLU(), nn.Dropout(c.dropout),
                              nn.Linear(H, E), nn.LayerNorm(E))
    local head = c.latent_norm == "layernorm" and nn.Sequential(nn.Linear(E, d), nn.Dropout(c.dropout), nn.LayerNorm(d))
                 or nn.Sequential(nn.Linear(E, d), nn.Dropout(c.dropout))
    self:add_module("enc" .. i, enc)
    self:add_module("head" .. i, head)
    self.encoders[i], self.heads[i] = enc, head
  end
  self.decoder = nn.Sequential(nn.Linear(self.latent_total, c.decoder_hidden_dim), nn.ReLU(),
                               nn.Dropout(c.dropout), nn.Linear(c.decoder_hidden_dim, self.input_dim))
  self:add_module("dec", self.decoder)
  if c.category_decoder == "linear" then
    local groups = {}
    for i, cat in ipairs(self.categories) do groups[i] = { d, cat.size } end
    self.block_decoder = nn.BlockLinear(groups)
    self:add_module("cdec", self.block_decoder)
  end
  -- Quantizers: ids keep every codebook's random stream apart.
  self.cat_q, self.tok_q = {}, {}
  for i = 1, C do
    self.cat_q[i] = {}
    for l = 1, self.levels do
      self.cat_q[i][l] = quantizer.new { num_codes = c.category_codebook_sizes[l], dim = d,
        beta = c.commitment_cost, decay = c.ema_decay, dead_after = c.dead_code_after,
        seed = c.seed, id = 1000 + i * 16 + l }
    end
  end
  for l = 1, self.levels do
    self.tok_q[l] = quantizer.new { num_codes = c.token_codebook_sizes[l], dim = self.latent_total,
      beta = c.commitment_cost, decay = c.ema_decay, dead_after = c.dead_code_after,
      seed = c.seed, id = 100 + l }
  end
  self.topo_gen = sl.Generator { seed = c.seed, purpose = 7, a = 0x746f, b = 0 }
end

function Model:each_quantizer(fn)
  for i, qs in ipairs(self.cat_q) do for l, q in ipairs(qs) do fn(q, "cat", i, l) end end
  for l, q in ipairs(self.tok_q) do fn(q, "tok", nil, l) end
end

function Model:train(mode)
  nn.Module.train(self, mode)
  local flag = mode == nil and true or not not mode
  if self.cat_q then self:each_quantizer(function(q) q:train(flag) end) end
  return self
end

local function check_input(self, x, fn)
  if not sl.is_tensor(x) or x:dim() ~= 2 or x:size(2) ~= self.input_dim then
    error(string.format("vqvae:%s: expected prepared features [N, %d], got %s", fn, self.input_dim,
      sl.is_tensor(x) and ("[" .. table.concat(x:shape(), ",") .. "]") or type(x)), 3)
  end
end

-- Encoder pass: z [B, C·d] and the per-category blocks.
function Model:encode(x)
  check_input(self, x, "encode")
  local zs = {}
  self._xc, self._h = {}, {}
  for i, cat in ipairs(self.categories) do
    local xc = x:narrow(2, cat.offset, cat.size)
    local h = self.encoders[i]:forward(xc)
    self._xc[i], self._h[i] = xc, h
    zs[i] = self.heads[i]:forward(h)
  end
  return util.cat_columns(zs), zs
end

-- Residual quantization of one latent r with quantizers qs: returns prefixes[l], indices[l].
local function residual(qs, z)
  local r = z
  local prefix, acc, idx = {}, nil, {}
  for l, q in ipairs(qs) do
    local zq, id = q:forward(r)
    acc = acc and sl.add(acc, zq) or zq
    prefix[l], idx[l] = acc, id
    if l < #qs then r = sl.sub(z, acc) end
  end
  return prefix, idx
end

-- Quantizes z (both paths); returns {cat_prefix[l] [B, Σd], tok_prefix[l], cat_idx[c][l], tok_idx[l]}.
function Model:quantize(z, zs)
  local C, L, d = #self.categories, self.levels, self.cfg.latent_dim
  zs = zs or {}
  if #zs == 0 then for i = 1, C do zs[i] = z:narrow(2, (i - 1) * d + 1, d) end end
  local cat_idx, cat_pref = {}, {}
  for i = 1, C do
    local pref, idx = residual(self.cat_q[i], zs[i])
    cat_idx[i], cat_pref[i] = idx, pref
  end
  local cat_prefix = {}
  for l = 1, L do
    local blocks = {}
    for i = 1, C do blocks[i] = cat_pref[i][l] end
    cat_prefix[l] = util.cat_columns(blocks)
  end
  local tok_prefix, tok_idx = residual(self.tok_q, z)
  return { cat_prefix = cat_prefix, tok_prefix = tok_prefix, cat_idx = cat_idx, tok_idx = tok_idx }
end

-- Topographic term on the first n rows: loss = 1 − r(P, Q), and dloss/dz for those rows.
local function topo_loss(x, z)
  local function pdist(a)
    local sq = sl.square(a):sum(2)
    local n = a:size(1)
    local s = sl.add(sl.add(sl.mul(sl.matmul(a, a:t()), -2), sq:view(n, 1)), sq:view(1, n))
    return sl.clamp(s, 0, math.huge)
  end
  local P = sl.sqrt(pdist(x))
  local S = pdist(z)
  local Q = sl.sqrt(sl.add(S, 1e-8))
  local Pc = sl.sub(P, P:mean())
  local Qc = sl.sub(Q, Q:mean())
  local pn = math.sqrt(sl.square(Pc):sum())
  local qn = math.sqrt(sl.square(Qc):sum())
  local r = sl.mul(Pc, Qc):sum() / (pn * qn + 1e-8)
  -- dr/dQ = Pc/(|P||Q|) − r·Qc/|Q|²;  dL/dQ = −dr/dQ;  W = dL/dS = dL/dQ / (2Q)
  local G = sl.sub(sl.mul(Qc, r / (qn * qn + 1e-12)), sl.mul(Pc, 1 / (pn * qn + 1e-8)))
  local W = sl.div(G, sl.mul(Q, 2))
  -- dL/dz_i = 4·(Σ_j W_ij · z_i − (W z)_i)  (W symmetric)
  local rows = W:sum(2)
  local grad = sl.mul(sl.sub(sl.mul(z, rows:view(z:size(1), 1)), sl.matmul(W, z)), 4)
  return 1 - r, grad, r
end

-- Orthogonality term over category blocks: mean over pairs a < b of Σ(C_ab²)/d², C_ab = Z̃_aᵀ Z̃_b / B
-- (Z̃ = centred latents).  All pairs at once: S = Z̃ᵀZ̃ / B holds every C_ab as a block, and with
-- S_off = S minus its diagonal blocks, Σ_{a<b} ‖C_ab‖² = ‖S_off‖²/2 and the gradient is
-- 2/(B·P·d²) · Z̃ S_off (P = number of pairs), projected to zero column means (the centring).
-- Two matmuls instead of C(C−1)/2 small ones: with 75 categories that is 2775 pairs per step.
local offdiag_masks = setmetatable({}, { __mode = "v" })
local function offdiag_mask(C, d)
  local key = C .. "x" .. d
  local m = offdiag_masks[key]
  if not m then
    m = sl.ones({ C * d, C * d })
    for a = 1, C do m:narrow(1, (a - 1) * d + 1, d):narrow(2, (a - 1) * d + 1, d):copy(sl.zeros({ d, d })) end
    offdiag_masks[key] = m
  end
  return m
end

local function orth_loss(zs)
  local C = #zs
  if C < 2 then return 0, nil end
  local B, d = zs[1]:size(1), zs[1]:size(2)
  local z = util.cat_columns(zs)
  local W = C * d
  local zc = sl.sub(z, z:mean(1):view(1, W))
  local S = sl.div(sl.matmul(zc:t(), zc), B)
  local mask = offdiag_mask(C, d)
  if mask:dtype() ~= S:dtype() then mask = mask:to(S:dtype()) end
  local S_off = sl.mul(S, mask)
  local pairs_n = C * (C - 1) / 2
  local loss = sl.square(S_off):sum() / 2 / (d * d) / pairs_n
  local g = sl.mul(sl.matmul(zc, S_off), 2 / (B * pairs_n * d * d))
  g = sl.sub(g, g:mean(1):view(1, W))
  local grads = {}
  for i = 1, C do grads[i] = g:narrow(2, (i - 1) * d + 1, d) end
  return loss, grads
end

-- One training step's forward + backward (gradients accumulate into the flat buffer).
-- Returns the total loss and a table of components.
function Model:forward_backward(x)
  check_input(self, x, "forward_backward")
  local c = self.cfg
  local C, L, d = #self.categories, self.levels, c.latent_dim
  local B = x:size(1)
  local z, zs = self:encode(x)
  local qo = self:quantize(z, zs)
  local gz = sl.zeros(B, self.latent_total)
  local comp = { rec = 0, rec_cat = 0, rec_tok = 0, info = 0, vq = 0, topo = 0, orth = 0 }
  -- Decoder on every prefix of both paths in one batch: the prefixes are stacked along the rows,
  -- so the shared decoder runs as one forward and one backward with K·B rows (larger GEMMs, a
  -- K-th of the calls) instead of K separate passes.
  local jobs = {}
  for _, path in ipairs { "cat", "tok" } do
    local prefixes = path == "cat" and qo.cat_prefix or qo.tok_prefix
    for l = 1, L do
      local w = (l == L) and 1 or (L > 1 and c.informativeness_weight / (L - 1) or 0)
      if w > 0 then jobs[#jobs + 1] = { path = path, l = l, w = w, prefix = prefixes[l] } end
    end
  end
  local W = self.latent_total
  local P = sl.empty({ #jobs * B, W })
  for k, j in ipairs(jobs) do P:narrow(1, (k - 1) * B + 1, B):copy(j.prefix) end
  local XH = self:decode(P)
  local G = sl.empty({ #jobs * B, self.input_dim })
  for k, j in ipairs(jobs) do
    local mse, g = nn.mse_loss(XH:narrow(1, (k - 1) * B + 1, B), x, { scale = j.w })
    G:narrow(1, (k - 1) * B + 1, B):copy(g)
    if j.l == L then
      comp.rec = comp.rec + mse
      comp["rec_" .. j.path] = mse
    else
      comp.info = comp.info + mse / (L - 1) / 2
    end
  end
  local GP = self:decode_backward(P, G)
  for k = 1, #jobs do gz = sl.add(gz, GP:narrow(1, (k - 1) * B + 1, B)) end
  -- Commitment gradients (vq.backward(nil) is the commitment gradient alone).
  local vq_loss = 0
  local cat_grad = {}
  for i = 1, C do
    local gi
    for l = 1, L do
      local q = self.cat_q[i][l]
      vq_loss = vq_loss + q.loss / C
      local g = q:backward(nil)
      gi = gi and sl.add(gi, g) or g
    end
    cat_grad[i] = sl.mul(gi, 1 / C)
  end
  for l = 1, L do
    local q = self.tok_q[l]
    vq_loss = vq_loss + q.loss
    gz = sl.add(gz, q:backward(nil))
  end
  comp.vq = vq_loss
  for i = 1, C do
    local blk = gz:narrow(2, (i - 1) * d + 1, d)
    blk:copy(sl.add(blk, cat_grad[i]))
  end
  -- Topographic term on a fixed-size random subset of rows.
  if c.topo_weight > 0 and B >= 3 then
    local n = math.min(c.topo_samples, B)
    local rows = util.permutation(B, self.topo_gen)
    local sub = {}
    for i = 1, n do sub[i] = rows[i] end
    local lt, gt = topo_loss(util.gather_rows(x, sub), util.gather_rows(z, sub))
    comp.topo = lt
    local gzt = sl.mul(gt, c.topo_weight)
    for i = 1, n do
      local row = gz:select(1, sub[i])
      row:copy(sl.add(row, gzt:select(1, i)))
    end
  end
  if c.orthogonality_weight > 0 then
    local lo, go = orth_loss(zs)
    comp.orth = lo
    if go then
      for i = 1, C do
        local blk = gz:narrow(2, (i - 1) * d + 1, d)
        blk:copy(sl.add(blk, sl.mul(go[i], c.orthogonality_weight)))
      end
    end
  end
  -- Back through heads and encoders.
  for i = 1, C do
    local gzi = gz:narrow(2, (i - 1) * d + 1, d):contiguous()
    local gh = self.heads[i]:backward(self._h[i], gzi)
    self.encoders[i]:backward(self._xc[i], gh)
  end
  local total = comp.rec + c.informativeness_weight * comp.info + comp.vq
              + c.topo_weight * comp.topo + c.orthogonality_weight * comp.orth
  comp.total = total
  return total, comp, qo
end

-- Inference (the caller sets eval mode): tokens and reconstructions for prepared rows x.
-- Returns {z, cat_idx, tok_idx, cat_prefix, tok_prefix}.
function Model:infer(x)
  check_input(self, x, "infer")
  local z, zs = self:encode(x)
  local qo = self:quantize(z, zs)
  qo.z = z
  return qo
end

-- x̂ = Dec(prefix) (+ Blk(prefix)); decode_backward right after decode(prefix) returns d/dprefix
-- (the layers keep only the last forward's activations).
function Model:decode(prefix)
  local xh = self.decoder:forward(prefix)
  if self.block_decoder then xh = sl.add(xh, self.block_decoder:forward(prefix)) end
  return xh
end

function Model:decode_backward(prefix, g)
  local gp = self.decoder:backward(prefix, g)
  if self.block_decoder then gp = sl.add(gp, self.block_decoder:backward(prefix, g)) end
  return gp
end

-- Quantizer statistics per path and level (utilisation/perplexity of the last training batch).
function Model:codebook_stats()
  local out = { cat = {}, tok = {} }
  for l = 1, self.levels do
    local u, p = 0, 0
    for i = 1, #self.categories do
      local s = self.cat_q[i][l]:stats()
      u, p = u + s.utilisation, p + s.perplexity
    end
    out.cat[l] = { utilisation = u / #self.categories, perplexity = p / #self.categories }
    local s = self.tok_q[l]:stats()
    out.tok[l] = { utilisation = s.utilisation, perplexity = s.perplexity }
  end
  return out
end

function Model:reset_dead_codes()
  local n = 0
  self:each_quantizer(function(q) n = n + q:reset_dead_codes() end)
  return n
end

function Model:quantizer_states()
  local st = { cat = {}, tok = {} }
  for i, qs in ipairs(self.cat_q) do
    st.cat[i] = {}
    for l, q in ipairs(qs) do st.cat[i][l] = q:state() end
  end
  for l, q in ipairs(self.tok_q) do st.tok[l] = q:state() end
  return st
end

function Model:load_quantizer_states(st)
  for i, qs in ipairs(st.cat) do
    for l, s in ipairs(qs) do self.cat_q[i][l] = quantizer.from_state(s) end
  end
  for l, s in ipairs(st.tok) do self.tok_q[l] = quantizer.from_state(s) end
  self:train(self.training)
end

-- Positions of the model's own random streams (dropout masks in module order, topographic
-- subsets), so a checkpoint restores the run exactly (train-vqvae --resume).
function Model:rng_state()
  local drop = {}
  for _, m in ipairs(self:modules()) do
    if m.generator and m.p ~= nil then drop[#drop + 1] = m.generator:offset() end
  end
  return { dropout = drop, topo = self.topo_gen:offset() }
end

function Model:set_rng_state(s)
  if type(s) ~= "table" then return end
  local k = 0
  for _, m in ipairs(self:modules()) do
    if m.generator and m.p ~= nil then
      k = k + 1
      if s.dropout and s.dropout[k] then m.generator:seek(s.dropout[k]) end
    end
  end
  if s.topo then self.topo_gen:seek(s.topo) end
end

M.topo_loss = topo_loss
M.orth_loss = orth_loss

return M
