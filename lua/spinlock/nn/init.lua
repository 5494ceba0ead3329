-- spinlock.nn — neural-network layers in the torch/nn style: `local nn = require "spinlock.nn"`.
--
--   nn.manual_seed(42)
--   local model = nn.Sequential(nn.Linear(512, 256), nn.GELU(), nn.LayerNorm(256), nn.Linear(256, 128))
--   local params, grads = model:flat_parameters()
--   local y = model:forward(x)
--   local loss, g = nn.mse_loss(y, target)
--   model:zero_grad(); model:backward(x, g)
--
-- See docs/nn.md.  Layers: Linear, BlockLinear, ReLU, GELU, SiLU, Tanh, Identity, LayerNorm, BatchNorm1d,
-- Dropout, Sequential, ResidualMLP, MLP(sizes); losses: MSELoss, HuberLoss, mse_loss, huber_loss.
local layers = require "spinlock.nn.layers"
local container = require "spinlock.nn.container"
local loss = require "spinlock.nn.loss"
local rand = require "spinlock.nn.random"

local nn = {}
nn.Module = require "spinlock.nn.module"
for _, mod in ipairs { layers, container, loss } do
  for k, v in pairs(mod) do nn[k] = v end
end
nn.manual_seed = rand.manual_seed
nn.initial_seed = rand.seed

return nn
