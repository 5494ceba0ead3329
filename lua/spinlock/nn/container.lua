-- spinlock.nn containers: Sequential, ResidualMLP and the MLP builder.
local Module = require "spinlock.nn.module"
local layers = require "spinlock.nn.layers"
local M = {}

-- ---------------------------------------------------------------- Sequential
-- Sequential(m1, m2, ...) or Sequential{m1, m2, ...}; children are named "1", "2", ...
-- forward keeps each stage's input so that backward(x, grad_out) can walk back through them.
local Sequential = Module:extend("Sequential")
M.Sequential = Sequential

function Sequential:init(...)
  local mods = { ... }
  if #mods == 1 and getmetatable(mods[1]) == nil and type(mods[1]) == "table" then mods = mods[1] end
  for _, m in ipairs(mods) do self:add(m) end
end

function Sequential:add(m)
  self:add_module(tostring(#self._children + 1), m)
  self._flat = nil
  return self
end

function Sequential:size() return #self._children end
function Sequential:get(i) return self._children[i] and self._children[i].module end

function Sequential:forward(x)
  local inputs = {}
  for i, c in ipairs(self._children) do
    inputs[i] = x
    x = c.module:forward(x)
  end
  self._inputs, self.output = inputs, x
  return x
end

function Sequential:backward(x, grad_out)
  local inputs = assert(self._inputs, "Sequential: backward called before forward")
  local g = grad_out
  for i = #self._children, 1, -1 do
    g = self._children[i].module:backward(inputs[i], g)
  end
  self.grad_input = g
  return g
end

-- ---------------------------------------------------------------- ResidualMLP
-- Pre-norm residual MLP block: y = x + Dropout(Linear₂(act(Linear₁(LayerNorm(x))))), with
-- Linear₁: dim → hidden and Linear₂: hidden → dim.  opts: hidden (default 4·dim),
-- activation ("gelu"), dropout (0), norm (true; false drops the LayerNorm), eps, dtype, seed /
-- generator (for the Linear inits).
local ResidualMLP = Module:extend("ResidualMLP")
M.ResidualMLP = ResidualMLP

function ResidualMLP:init(dim, opts)
  opts = opts or {}
  local hidden = opts.hidden or 4 * dim
  self.dim, self.hidden = dim, hidden
  local lopts = { dtype = opts.dtype, generator = opts.generator, seed = opts.seed }
  if opts.seed and not opts.generator then
    lopts.generator = require("spinlock.nn.random").generator { seed = opts.seed }
  end
  local body = Sequential()
  if opts.norm ~= false then body:add(layers.LayerNorm(dim, { eps = opts.eps, dtype = opts.dtype })) end
  body:add(layers.Linear(dim, hidden, lopts))
  body:add(layers.activation(opts.activation or "gelu"))
  body:add(layers.Linear(hidden, dim, lopts))
  if opts.dropout and opts.dropout > 0 then body:add(layers.Dropout(opts.dropout, { generator = opts.dropout_generator })) end
  self:add_module("body", body)
end

function ResidualMLP:forward(x)
  self.output = x + self.body:forward(x)
  return self.output
end

function ResidualMLP:backward(x, grad_out)
  self.grad_input = self.body:backward(x, grad_out) + grad_out
  return self.grad_input
end

function ResidualMLP:extra_repr() return ("%d, hidden=%d"):format(self.dim, self.hidden) end

-- ---------------------------------------------------------------- MLP builder
-- nn.MLP({in, h1, ..., out}, opts) → Sequential of Linear [→ BatchNorm1d] → act [→ Dropout] per
-- hidden layer and a final Linear.  opts: activation ("relu"), batch_norm (false), dropout (0),
-- dtype, seed / generator.
function M.MLP(sizes, opts)
  opts = opts or {}
  if type(sizes) ~= "table" or #sizes < 2 then error("nn.MLP: sizes must list at least {in, out}", 2) end
  local lopts = { dtype = opts.dtype, generator = opts.generator }
  if opts.seed and not opts.generator then
    lopts.generator = require("spinlock.nn.random").generator { seed = opts.seed }
  end
  local seq = Sequential()
  for i = 1, #sizes - 1 do
    seq:add(layers.Linear(sizes[i], sizes[i + 1], lopts))
    if i < #sizes - 1 then
      if opts.batch_norm then seq:add(layers.BatchNorm1d(sizes[i + 1], { dtype = opts.dtype })) end
      seq:add(layers.activation(opts.activation or "relu"))
      if opts.dropout and opts.dropout > 0 then seq:add(layers.Dropout(opts.dropout)) end
    end
  end
  return seq
end

return M
