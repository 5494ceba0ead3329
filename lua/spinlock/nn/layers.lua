-- spinlock.nn layers: Linear, BlockLinear, activations, LayerNorm, BatchNorm1d, Dropout, Identity.
-- Each forward/backward is one or two calls into the C kernels (sl._nn); see module.lua for the
-- conventions (backward(x, grad_out) → grad_in, parameter gradients accumulated).
local sl = require "spinlock"
local Module = require "spinlock.nn.module"
local rand = require "spinlock.nn.random"

local K = sl._nn
local M = {}

local function opt_dtype(opts)
  return opts and opts.dtype or "float32"
end

-- Called from a layer's init, which Module's constructor calls: level 4 is the user's line.
local function check_size(v, what, cls)
  if type(v) ~= "number" or v < 0 or v ~= math.floor(v) then
    error(("%s: %s must be a non-negative integer, got %s"):format(cls, what, tostring(v)), 4)
  end
end

-- ---------------------------------------------------------------- Linear
-- y = x·Wᵀ + b with W [out, in].  Init as torch: W, b ~ U(−1/√in, 1/√in) (kaiming_uniform with
-- a = √5 reduces to this bound), drawn in float32 from the generator (opts.generator, or a
-- Generator made from opts.seed, or nn's global generator), weight first, then bias.
local Linear = Module:extend("Linear")
M.Linear = Linear

function Linear:init(in_features, out_features, opts)
  opts = opts or {}
  check_size(in_features, "in_features", "Linear")
  check_size(out_features, "out_features", "Linear")
  self.in_features, self.out_features = in_features, out_features
  local g = rand.generator(opts)
  local bound = in_features > 0 and 1 / math.sqrt(in_features) or 0
  local w = sl.zeros({ out_features, in_features })
  if w:numel() > 0 then g:uniform_(w, -bound, bound) end
  self:register_parameter("weight", w:to(opt_dtype(opts)))
  if opts.bias ~= false then
    local b = sl.zeros({ out_features })
    if out_features > 0 then g:uniform_(b, -bound, bound) end
    self:register_parameter("bias", b:to(opt_dtype(opts)))
  end
end

function Linear:forward(x)
  self.output = K.linear_forward(x, self.weight, self.bias)
  return self.output
end

function Linear:backward(x, grad_out)
  self.grad_input = K.linear_backward(grad_out, x, self.weight, self.grad_weight, self.grad_bias, true)
  return self.grad_input
end

function Linear:extra_repr()
  return ("%d -> %d%s"):format(self.in_features, self.out_features, self.bias and "" or ", no bias")
end

-- ---------------------------------------------------------------- BlockLinear
-- A block-diagonal linear map: the input is a concatenation of groups (in_1 | in_2 | …) and
-- output group g depends only on input group g: y_g = x_g W_gᵀ + b_g.  The blocks are packed one
-- after the other in a 1-d weight (W_g row-major [out_g, in_g]); one C call runs every group, so
-- there is neither a Lua loop over groups nor a dense matrix that is mostly zeros (the VQ-VAE has
-- one group per category: 75 blocks of 8×8 would fill 1.4 % of a dense 600×587 matrix).
-- groups: list of {in_size, out_size}.
local BlockLinear = Module:extend("BlockLinear")
M.BlockLinear = BlockLinear

function BlockLinear:init(groups, opts)
  opts = opts or {}
  if type(groups) ~= "table" or #groups == 0 then
    error("BlockLinear: groups must be a non-empty list of {in_size, out_size}", 3)
  end
  local n_in, n_out, n_w = 0, 0, 0
  local copy = {}
  for i, gsz in ipairs(groups) do
    if type(gsz) ~= "table" then error(("BlockLinear: group %d must be {in_size, out_size}"):format(i), 3) end
    check_size(gsz[1], "group " .. i .. " in_size", "BlockLinear")
    check_size(gsz[2], "group " .. i .. " out_size", "BlockLinear")
    copy[i] = { gsz[1], gsz[2] }
    n_in, n_out, n_w = n_in + gsz[1], n_out + gsz[2], n_w + gsz[1] * gsz[2]
  end
  self.groups, self.in_features, self.out_features = copy, n_in, n_out
  local g = rand.generator(opts)
  local w = sl.zeros({ n_w })
  local b = sl.zeros({ n_out })
  local wo, bo = 0, 0
  for _, gsz in ipairs(copy) do
    local ni, no = gsz[1], gsz[2]
    if ni > 0 and no > 0 then
      -- each block initialised like a Linear(ni, no)
      local bound = 1 / math.sqrt(ni)
      g:uniform_(w:narrow(1, wo + 1, ni * no), -bound, bound)
      g:uniform_(b:narrow(1, bo + 1, no), -bound, bound)
    end
    wo, bo = wo + ni * no, bo + no
  end
  self:register_parameter("weight", w:to(opt_dtype(opts)))
  self:register_parameter("bias", b:to(opt_dtype(opts)))
end

-- The [out_g, in_g] view of block g of the weight (for inspection and tests).
function BlockLinear:block(gi)
  local off = 0
  for i = 1, gi - 1 do off = off + self.groups[i][1] * self.groups[i][2] end
  local ni, no = self.groups[gi][1], self.groups[gi][2]
  return self.weight:narrow(1, off + 1, ni * no):view(no, ni)
end

function BlockLinear:forward(x)
  self.output = K.block_linear_forward(x, self.weight, self.bias, self.groups)
  return self.output
end

function BlockLinear:backward(x, grad_out)
  self.grad_input = K.block_linear_backward(grad_out, x, self.weight, self.grad_weight, self.grad_bias,
                                            self.groups, true)
  return self.grad_input
end

function BlockLinear:extra_repr()
  return ("%d -> %d in %d blocks"):format(self.in_features, self.out_features, #self.groups)
end

-- ---------------------------------------------------------------- activations
local function activation(name, kind)
  local A = Module:extend(name)
  function A:forward(x)
    self.output = K.act_forward(kind, x)
    return self.output
  end
  function A:backward(x, grad_out)
    self.grad_input = K.act_backward(kind, grad_out, x)
    return self.grad_input
  end
  return A
end

M.ReLU = activation("ReLU", "relu")
M.GELU = activation("GELU", "gelu")   -- exact (erf) form
M.SiLU = activation("SiLU", "silu")
M.Tanh = activation("Tanh", "tanh")

-- Activation by name ("relu", "gelu", "silu", "tanh", "identity").
function M.activation(name)
  local map = { relu = M.ReLU, gelu = M.GELU, silu = M.SiLU, swish = M.SiLU, tanh = M.Tanh,
                identity = M.Identity, none = M.Identity }
  local cls = map[tostring(name):lower()]
  if not cls then
    error(("nn.activation: unknown activation '%s' (relu, gelu, silu, tanh, identity)"):format(tostring(name)), 2)
  end
  return cls()
end

-- ---------------------------------------------------------------- Identity
local Identity = Module:extend("Identity")
M.Identity = Identity
function Identity:forward(x) self.output = x; return x end
function Identity:backward(x, grad_out) self.grad_input = grad_out; return grad_out end

-- ---------------------------------------------------------------- LayerNorm
-- Over the last dim of size `features`; weight 1, bias 0; eps 1e-5 (opts.eps); opts.affine = false
-- drops weight and bias.
local LayerNorm = Module:extend("LayerNorm")
M.LayerNorm = LayerNorm

function LayerNorm:init(features, opts)
  opts = opts or {}
  check_size(features, "features", "LayerNorm")
  self.features, self.eps = features, opts.eps or 1e-5
  if opts.affine ~= false then
    self:register_parameter("weight", sl.ones({ features }, opt_dtype(opts)))
    self:register_parameter("bias", sl.zeros({ features }, opt_dtype(opts)))
  end
end

function LayerNorm:forward(x)
  self.output, self.mean, self.rstd = K.layernorm_forward(x, self.weight, self.bias, self.eps)
  return self.output
end

function LayerNorm:backward(x, grad_out)
  assert(self.mean, "LayerNorm: backward called before forward")
  self.grad_input = K.layernorm_backward(grad_out, x, self.mean, self.rstd, self.weight,
                                         self.grad_weight, self.grad_bias)
  return self.grad_input
end

function LayerNorm:extra_repr() return ("%d, eps=%g"):format(self.features, self.eps) end

-- ---------------------------------------------------------------- BatchNorm1d
-- x [N, C] or [N, C, L].  Training: batch statistics (biased variance) and running statistics
-- updated with momentum (unbiased variance); evaluation: running statistics.  Options: eps
-- (1e-5), momentum (0.1), affine (true), track_running_stats (true; false = batch statistics
-- in both modes).
local BatchNorm1d = Module:extend("BatchNorm1d")
M.BatchNorm1d = BatchNorm1d

function BatchNorm1d:init(channels, opts)
  opts = opts or {}
  check_size(channels, "channels", "BatchNorm1d")
  self.channels = channels
  self.eps, self.momentum = opts.eps or 1e-5, opts.momentum or 0.1
  local dt = opt_dtype(opts)
  if opts.affine ~= false then
    self:register_parameter("weight", sl.ones({ channels }, dt))
    self:register_parameter("bias", sl.zeros({ channels }, dt))
  end
  self.track_running_stats = opts.track_running_stats ~= false
  if self.track_running_stats then
    self:register_buffer("running_mean", sl.zeros({ channels }, dt))
    self:register_buffer("running_var", sl.ones({ channels }, dt))
    self.num_batches_tracked = 0
  end
end

function BatchNorm1d:forward(x)
  local batch_stats = self.training or not self.track_running_stats
  local rm, rv
  if self.track_running_stats then rm, rv = self.running_mean, self.running_var end
  if batch_stats and not self.training then rm, rv = nil, nil end
  self.output, self.save_mean, self.save_rstd =
    K.batchnorm_forward(x, self.weight, self.bias, rm, rv, batch_stats, self.momentum, self.eps)
  if self.training and self.track_running_stats then self.num_batches_tracked = self.num_batches_tracked + 1 end
  self._batch_stats = batch_stats
  return self.output
end

function BatchNorm1d:backward(x, grad_out)
  assert(self.save_mean, "BatchNorm1d: backward called before forward")
  self.grad_input = K.batchnorm_backward(grad_out, x, self.save_mean, self.save_rstd, self.weight,
                                         self.grad_weight, self.grad_bias, self._batch_stats)
  return self.grad_input
end

function BatchNorm1d:extra_repr()
  return ("%d, eps=%g, momentum=%g"):format(self.channels, self.eps, self.momentum)
end

-- ---------------------------------------------------------------- Dropout
-- Inverted dropout: in training, each element is kept with probability 1 − p and scaled by
-- 1/(1 − p); in evaluation (or p = 0) the identity.  The mask comes from a Philox Generator
-- (opts.generator, or one made from opts.seed, or a fresh dropout stream of nn's seed), so a
-- run is reproducible; each forward draws new words from it.
local Dropout = Module:extend("Dropout")
M.Dropout = Dropout

function Dropout:init(p, opts)
  opts = opts or {}
  p = p == nil and 0.5 or p
  if type(p) ~= "number" or not (p >= 0 and p <= 1) then
    error(("Dropout: p must be a number in [0, 1], got %s"):format(tostring(p)), 3)
  end
  self.p = p
  self.generator = rand.dropout_generator(opts)
end

function Dropout:forward(x)
  if self.training and self.p > 0 then
    self.output, self.mask = K.dropout_forward(x, self.p, self.generator)
  else
    self.output, self.mask = x, nil
  end
  return self.output
end

function Dropout:backward(x, grad_out)
  if self.mask then self.grad_input = K.dropout_backward(grad_out, self.mask)
  else self.grad_input = grad_out end
  return self.grad_input
end

function Dropout:extra_repr() return ("p=%g"):format(self.p) end

return M
