-- spinlock.optim — optimisers over flat parameter buffers, gradient clipping, LR schedules.
--
--   local optim = require "spinlock.optim"
--   local opt = optim.AdamW(model, { lr = 1e-3, weight_decay = 0.01 })   -- uses model:flat_parameters()
--   local sched = optim.CosineSchedule(opt, { warmup_steps = 100, total_steps = 10000 })
--   ... model:zero_grad(); model:backward(x, g)
--   optim.clip_grad_norm(opt.grads, 1.0)
--   opt:step(); sched:step()
--
-- Lua holds the state and the bookkeeping; each update is one fused C kernel over the whole flat
-- buffer (sl._nn.adam_step), never a per-element Lua loop.  State save/load is tensors only
-- (state_dict / load_state_dict), so it goes into an HDF5 checkpoint unchanged.
local sl = require "spinlock"

local K = sl._nn
local optim = {}

local function check_num(v, name, cls, lo)
  if type(v) ~= "number" or v ~= v or (lo and v < lo) then
    error(("%s: %s must be a number%s, got %s"):format(cls, name, lo and (" >= " .. lo) or "", tostring(v)), 3)
  end
  return v
end

-- (params, grads) from a module (flat_parameters), {params=, grads=} or two tensors.
local function resolve_buffers(target, grads, cls)
  if type(target) == "table" and type(target.flat_parameters) == "function" then
    return target:flat_parameters()
  end
  if type(target) == "table" and target.params then return target.params, target.grads end
  if sl.is_tensor(target) and sl.is_tensor(grads) then return target, grads end
  error(cls .. ": expected a module, {params = tensor, grads = tensor} or (params, grads) tensors", 3)
end

local function same_shape(a, b)
  return table.concat(a:shape(), ",") == table.concat(b:shape(), ",")
end

-- ---------------------------------------------------------------- Adam / AdamW
local Adam = {}
Adam.__index = Adam

local function new_adam(cls, decoupled, default_wd, target, a2, a3)
  local grads, opts
  if sl.is_tensor(target) then grads, opts = a2, a3 else opts = a2 end
  opts = opts or {}
  local params
  params, grads = resolve_buffers(target, grads, cls)
  if not params:is_contiguous() or not grads:is_contiguous() then
    error(cls .. ": params and grads must be contiguous (use model:flat_parameters())", 2)
  end
  if not same_shape(params, grads) or params:dtype() ~= grads:dtype() then
    error(cls .. ": params and grads differ in shape or dtype", 2)
  end
  local betas = opts.betas or { 0.9, 0.999 }
  local self = setmetatable({
    name = cls,
    params = params, grads = grads,
    lr = check_num(opts.lr or 1e-3, "lr", cls, 0),
    beta1 = check_num(betas[1], "betas[1]", cls, 0),
    beta2 = check_num(betas[2], "betas[2]", cls, 0),
    eps = check_num(opts.eps or 1e-8, "eps", cls, 0),
    weight_decay = check_num(opts.weight_decay or default_wd, "weight_decay", cls, 0),
    decoupled = decoupled,
    step_count = 0,
    exp_avg = sl.zeros(params:shape(), params:dtype()),
    exp_avg_sq = sl.zeros(params:shape(), params:dtype()),
  }, Adam)
  if self.beta1 >= 1 or self.beta2 >= 1 then error(cls .. ": betas must be in [0, 1)", 2) end
  return self
end

-- Adam (torch.optim.Adam): weight_decay is an L2 term added to the gradient (default 0).
function optim.Adam(target, a2, a3) return new_adam("Adam", false, 0, target, a2, a3) end
-- AdamW (torch.optim.AdamW): decoupled weight decay p ← p·(1 − lr·wd) (default wd 0.01).
function optim.AdamW(target, a2, a3) return new_adam("AdamW", true, 0.01, target, a2, a3) end

function Adam:step()
  self.step_count = self.step_count + 1
  K.adam_step(self.params, self.grads, self.exp_avg, self.exp_avg_sq, self.lr, self.beta1, self.beta2,
              self.eps, self.weight_decay, self.decoupled, self.step_count)
  return self
end

function Adam:zero_grad()
  self.grads:fill(0)
  return self
end

-- Tensors only: exp_avg, exp_avg_sq (copies) and `hyper` = float64 [step, lr, beta1, beta2, eps,
-- weight_decay, decoupled].
function Adam:state_dict()
  return {
    exp_avg = self.exp_avg:clone(),
    exp_avg_sq = self.exp_avg_sq:clone(),
    hyper = sl.tensor({ self.step_count, self.lr, self.beta1, self.beta2, self.eps, self.weight_decay,
                        self.decoupled and 1 or 0 }, "float64"),
  }
end

function Adam:load_state_dict(st)
  for _, k in ipairs { "exp_avg", "exp_avg_sq", "hyper" } do
    if not sl.is_tensor(st[k]) then error(self.name .. ".load_state_dict: missing tensor '" .. k .. "'", 2) end
  end
  if not same_shape(st.exp_avg, self.params) or not same_shape(st.exp_avg_sq, self.params) then
    error(("%s.load_state_dict: state has %d moments but the optimiser has %d parameters")
      :format(self.name, st.exp_avg:numel(), self.params:numel()), 2)
  end
  if st.hyper:numel() ~= 7 then error(self.name .. ".load_state_dict: 'hyper' must have 7 entries", 2) end
  self.exp_avg:copy(st.exp_avg)
  self.exp_avg_sq:copy(st.exp_avg_sq)
  local h = st.hyper
  self.step_count, self.lr, self.beta1, self.beta2 = h[1], h[2], h[3], h[4]
  self.eps, self.weight_decay = h[5], h[6]
  return self
end

-- ---------------------------------------------------------------- clipping
-- Scales the gradients in place so that their global L2 norm is at most max_norm (torch's
-- clip_grad_norm_: factor max_norm / (norm + 1e-6), applied only when below 1).  grads: a tensor
-- (the flat buffer), a list of tensors or a module.  Returns the norm before clipping.  A
-- non-finite norm raises when opts.error_if_nonfinite, otherwise the gradients are left alone.
function optim.clip_grad_norm(grads, max_norm, opts)
  check_num(max_norm, "max_norm", "clip_grad_norm", 0)
  local list
  if sl.is_tensor(grads) then list = { grads }
  elseif type(grads) == "table" and type(grads.gradients) == "function" then list = grads:gradients()
  elseif type(grads) == "table" then list = grads
  else error("clip_grad_norm: grads must be a tensor, a list of tensors or a module", 2) end
  local ss = 0
  for _, g in ipairs(list) do ss = ss + K.sumsq(g) end
  local norm = math.sqrt(ss)
  if norm ~= norm or norm == math.huge then
    if opts and opts.error_if_nonfinite then
      error("clip_grad_norm: the total gradient norm is " .. tostring(norm), 2)
    end
    return norm
  end
  local coef = max_norm / (norm + 1e-6)
  if coef < 1 then
    for _, g in ipairs(list) do K.scale_(g, coef) end
  end
  return norm
end

-- ---------------------------------------------------------------- cosine schedule with warmup
-- lr(t) for t = 0, 1, 2, … (the number of :step() calls so far):
--   t < W:  base · (t + 1) / W                                   (linear warmup)
--   else:   min + (base − min) · ½ · (1 + cos(π · min(1, (t − W) / max(1, T − W))))
-- with W = warmup_steps (0), T = total_steps (required), base = opts.base_lr or the optimiser's
-- lr at construction, min = min_lr (0).  The optimiser's lr is set to lr(0) at once and to lr(t)
-- after each :step(); call it once per optimiser step.
local Cosine = {}
Cosine.__index = Cosine

function optim.CosineSchedule(opt, opts)
  opts = opts or {}
  if type(opt) ~= "table" or opt.lr == nil then error("CosineSchedule: first argument must be an optimiser", 2) end
  local self = setmetatable({
    opt = opt,
    base_lr = check_num(opts.base_lr or opt.lr, "base_lr", "CosineSchedule", 0),
    min_lr = check_num(opts.min_lr or 0, "min_lr", "CosineSchedule", 0),
    warmup_steps = check_num(opts.warmup_steps or 0, "warmup_steps", "CosineSchedule", 0),
    total_steps = check_num(opts.total_steps, "total_steps", "CosineSchedule", 1),
    t = 0,
  }, Cosine)
  opt.lr = self:lr_at(0)
  return self
end

function Cosine:lr_at(t)
  local W, T = self.warmup_steps, self.total_steps
  if t < W then return self.base_lr * (t + 1) / W end
  local progress = math.min(1, (t - W) / math.max(1, T - W))
  return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
end

function Cosine:step()
  self.t = self.t + 1
  self.opt.lr = self:lr_at(self.t)
  return self.opt.lr
end

function Cosine:state_dict() return { t = sl.tensor({ self.t }, "float64") } end
function Cosine:load_state_dict(st)
  self.t = st.t[1]
  self.opt.lr = self:lr_at(self.t)
  return self
end

-- ---------------------------------------------------------------- reduce on plateau
-- torch.optim.lr_scheduler.ReduceLROnPlateau: :step(metric) once per epoch.  opts: mode "min" |
-- "max", factor (0.1), patience (10), threshold (1e-4), threshold_mode "rel" | "abs",
-- cooldown (0), min_lr (0), eps (1e-8: smaller reductions are skipped).  Returns true when the
-- lr was reduced.
local Plateau = {}
Plateau.__index = Plateau

function optim.ReduceLROnPlateau(opt, opts)
  opts = opts or {}
  if type(opt) ~= "table" or opt.lr == nil then error("ReduceLROnPlateau: first argument must be an optimiser", 2) end
  local mode, tmode = opts.mode or "min", opts.threshold_mode or "rel"
  if mode ~= "min" and mode ~= "max" then error("ReduceLROnPlateau: mode must be 'min' or 'max', got " .. tostring(mode), 2) end
  if tmode ~= "rel" and tmode ~= "abs" then error("ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got " .. tostring(tmode), 2) end
  local factor = check_num(opts.factor or 0.1, "factor", "ReduceLROnPlateau", 0)
  if factor >= 1 then error("ReduceLROnPlateau: factor must be < 1, got " .. factor, 2) end
  return setmetatable({
    opt = opt, mode = mode, threshold_mode = tmode, factor = factor,
    patience = check_num(opts.patience or 10, "patience", "ReduceLROnPlateau", 0),
    threshold = check_num(opts.threshold or 1e-4, "threshold", "ReduceLROnPlateau", 0),
    cooldown = check_num(opts.cooldown or 0, "cooldown", "ReduceLROnPlateau", 0),
    min_lr = check_num(opts.min_lr or 0, "min_lr", "ReduceLROnPlateau", 0),
    eps = check_num(opts.eps or 1e-8, "eps", "ReduceLROnPlateau", 0),
    best = mode == "min" and math.huge or -math.huge,
    num_bad = 0, cooldown_counter = 0,
  }, Plateau)
end

function Plateau:is_better(a)
  local best, th = self.best, self.threshold
  if self.mode == "min" then
    return self.threshold_mode == "rel" and a < best * (1 - th) or (self.threshold_mode == "abs" and a < best - th)
  end
  return self.threshold_mode == "rel" and a > best * (1 + th) or (self.threshold_mode == "abs" and a > best + th)
end

function Plateau:step(metric)
  check_num(metric, "metric", "ReduceLROnPlateau:step")
  if self:is_better(metric) then self.best, self.num_bad = metric, 0
  else self.num_bad = self.num_bad + 1 end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad = 0
  end
  if self.num_bad > self.patience then
    self.cooldown_counter, self.num_bad = self.cooldown, 0
    local old = self.opt.lr
    local new = math.max(old * self.factor, self.min_lr)
    if old - new > self.eps then
      self.opt.lr = new
      return true
    end
  end
  return false
end

function Plateau:state_dict()
  return { state = sl.tensor({ self.best, self.num_bad, self.cooldown_counter }, "float64") }
end

function Plateau:load_state_dict(st)
  self.best, self.num_bad, self.cooldown_counter = st.state[1], st.state[2], st.state[3]
  return self
end

return optim
