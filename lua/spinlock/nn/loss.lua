-- spinlock.nn losses: MSE and Huber (torch's HuberLoss), with their gradients.
--
-- Functional: nn.mse_loss(pred, target, opts) → loss (number), grad (tensor or nil)
--             nn.huber_loss(pred, target, opts) (opts.delta, default 1)
--   opts.reduction "mean" (default) | "sum"; opts.grad = false skips the gradient;
--   opts.scale multiplies the gradient (a loss weight).
-- Modules:    nn.MSELoss{reduction=}:forward(pred, target) → number; :backward(pred, target) → grad
local sl = require "spinlock"
local Module = require "spinlock.nn.module"

local K = sl._nn
local M = {}

local function run(kind, pred, target, opts)
  opts = opts or {}
  return K.loss(kind, pred, target, opts.delta or 1.0, opts.reduction or "mean", opts.grad ~= false, opts.scale or 1.0)
end

function M.mse_loss(pred, target, opts) return run("mse", pred, target, opts) end
function M.huber_loss(pred, target, opts) return run("huber", pred, target, opts) end

local function loss_module(name, kind)
  local L = Module:extend(name)
  function L:init(opts)
    opts = opts or {}
    self.reduction, self.delta = opts.reduction or "mean", opts.delta or 1.0
  end
  function L:forward(pred, target)
    self.output = run(kind, pred, target, { reduction = self.reduction, delta = self.delta, grad = false })
    return self.output
  end
  function L:backward(pred, target)
    local _, g = run(kind, pred, target, { reduction = self.reduction, delta = self.delta })
    self.grad_input = g
    return g
  end
  return L
end

M.MSELoss = loss_module("MSELoss", "mse")
M.HuberLoss = loss_module("HuberLoss", "huber")

return M
