-- spinlock.nn.Module — the base class of every layer (torch/nn style).
--
-- A module holds its parameters as tensor fields (self.weight) with a gradient field next to
-- each (self.grad_weight), lists their names in self._params, its non-trained state in
-- self._buffers (running statistics) and its sub-modules in self._children (in order).
-- forward(x) returns the output and keeps what backward needs; backward(x, grad_out) returns
-- grad_in and ADDS the parameter gradients into the grad_* tensors (zero them with zero_grad()).
-- All arithmetic happens in the C kernels (sl._nn); Lua only orchestrates.
--
-- flat_parameters() moves every parameter of the tree into one contiguous buffer (and every
-- gradient into another) and replaces the fields by views of it, so the optimiser updates a single
-- tensor with a single kernel call; layers keep working on their views unchanged.
local sl = require "spinlock"

local Module = {}
Module.__index = Module
Module.__name = "Module"

-- Creates a subclass: local Linear = Module:extend("Linear").  Instances are made with
-- Linear(...), which calls Linear.init(self, ...).
function Module:extend(name)
  local cls = setmetatable({}, { __index = self, __call = function(c, ...)
    local obj = setmetatable({}, c)
    obj:_base_init()
    c.init(obj, ...)
    return obj
  end })
  cls.__index = cls
  cls.__name = name
  cls.__tostring = self.__tostring
  cls.__call = self.__call
  return cls
end

function Module:_base_init()
  self.training = true
  self._params = {}
  self._buffers = {}
  self._children = {}
end

function Module:init() end

-- Registers a parameter tensor (and a zeroed gradient of the same shape and dtype).
function Module:register_parameter(name, t)
  self[name] = t
  self["grad_" .. name] = sl.zeros(t:shape(), t:dtype())
  self._params[#self._params + 1] = name
  return t
end

function Module:register_buffer(name, t)
  self[name] = t
  self._buffers[#self._buffers + 1] = name
  return t
end

function Module:add_module(name, m)
  if getmetatable(m) == nil or type(m.forward) ~= "function" then
    error(("%s: child '%s' is not a module"):format(self.__name, tostring(name)), 2)
  end
  self._children[#self._children + 1] = { name = tostring(name), module = m }
  self[name] = m
  return m
end

function Module:forward(x)
  error(self.__name .. ": forward is not implemented", 2)
end

function Module:backward(x, grad_out)
  error(self.__name .. ": backward is not implemented", 2)
end

Module.__call = function(self, ...) return self:forward(...) end

-- Visits (owner, param-name, full-name) for every parameter of the tree, parents first.
function Module:_each_param(fn, prefix)
  prefix = prefix or ""
  for _, name in ipairs(self._params) do fn(self, name, prefix .. name) end
  for _, c in ipairs(self._children) do c.module:_each_param(fn, prefix .. c.name .. ".") end
end

function Module:_each_buffer(fn, prefix)
  prefix = prefix or ""
  for _, name in ipairs(self._buffers) do fn(self, name, prefix .. name) end
  for _, c in ipairs(self._children) do c.module:_each_buffer(fn, prefix .. c.name .. ".") end
end

function Module:modules()
  local out = { self }
  for _, c in ipairs(self._children) do
    for _, m in ipairs(c.module:modules()) do out[#out + 1] = m end
  end
  return out
end

function Module:parameters()
  local out = {}
  self:_each_param(function(m, name) out[#out + 1] = m[name] end)
  return out
end

function Module:gradients()
  local out = {}
  self:_each_param(function(m, name) out[#out + 1] = m["grad_" .. name] end)
  return out
end

-- { {name = "0.weight", param = t, grad = g}, ... } in parameter order.
function Module:named_parameters()
  local out = {}
  self:_each_param(function(m, name, full)
    out[#out + 1] = { name = full, param = m[name], grad = m["grad_" .. name] }
  end)
  return out
end

function Module:named_buffers()
  local out = {}
  self:_each_buffer(function(m, name, full) out[#out + 1] = { name = full, buffer = m[name] } end)
  return out
end

function Module:num_parameters()
  local n = 0
  self:_each_param(function(m, name) n = n + m[name]:numel() end)
  return n
end

function Module:zero_grad()
  if self._flat then self._flat.grads:fill(0); return self end
  self:_each_param(function(m, name) m["grad_" .. name]:fill(0) end)
  return self
end

function Module:train(mode)
  if mode == nil then mode = true end
  for _, m in ipairs(self:modules()) do m.training = mode and true or false end
  return self
end

function Module:evaluate() return self:train(false) end
Module.eval = Module.evaluate

local function clear_flat(root)
  for _, m in ipairs(root:modules()) do m._flat = nil end
end

-- One contiguous parameter tensor and one gradient tensor that all parameter / gradient fields
-- of the tree are views of (torch7's getParameters).  Values are preserved.  Calling it again
-- returns the same pair while the fields are still those views.  Afterwards, flattening a
-- sub-module or converting the type breaks the sharing: call it again on the root.
function Module:flat_parameters()
  local f = self._flat
  if f then
    local ok = true
    self:_each_param(function(m, name)
      if not m[name]:shares_storage(f.params) or not m["grad_" .. name]:shares_storage(f.grads) then ok = false end
    end)
    if ok then return f.params, f.grads end
  end
  local total, dtype = 0, nil
  self:_each_param(function(m, name, full)
    local p = m[name]
    if dtype and p:dtype() ~= dtype then
      error(("flat_parameters: parameter %s is %s but earlier ones are %s (convert the module with :type())")
        :format(full, p:dtype(), dtype), 0)
    end
    dtype = dtype or p:dtype()
    total = total + p:numel()
  end)
  dtype = dtype or "float32"
  local fp, fg = sl.zeros({ total }, dtype), sl.zeros({ total }, dtype)
  local off = 0
  self:_each_param(function(m, name)
    local p, g = m[name], m["grad_" .. name]
    local n, shape = p:numel(), p:shape()
    if n > 0 then
      local pv = fp:narrow(1, off + 1, n):view(shape)
      local gv = fg:narrow(1, off + 1, n):view(shape)
      pv:copy(p); gv:copy(g)
      m[name], m["grad_" .. name] = pv, gv
    end
    off = off + n
  end)
  clear_flat(self)
  self._flat = { params = fp, grads = fg }
  return fp, fg
end

-- The gradient half of flat_parameters().
function Module:flat_gradients()
  local _, g = self:flat_parameters()
  return g
end

-- Converts parameters, gradients and buffers to dtype ("float32" / "float64").
function Module:type(dtype)
  if dtype == nil then
    local d
    self:_each_param(function(m, name) d = d or m[name]:dtype() end)
    return d or "float32"
  end
  self:_each_param(function(m, name)
    m[name] = m[name]:to(dtype):contiguous()
    m["grad_" .. name] = m["grad_" .. name]:to(dtype):contiguous()
  end)
  self:_each_buffer(function(m, name) m[name] = m[name]:to(dtype):contiguous() end)
  for _, m in ipairs(self:modules()) do m._dtype = dtype end
  clear_flat(self)
  return self
end

function Module:double() return self:type("float64") end
function Module:float() return self:type("float32") end

-- name → tensor for every parameter and buffer (copies), for checkpoints.
function Module:state_dict()
  local out = {}
  self:_each_param(function(m, name, full) out[full] = m[name]:clone() end)
  self:_each_buffer(function(m, name, full) out[full] = m[name]:clone() end)
  return out
end

-- Copies values from a state_dict; every entry must be present with the right shape.
function Module:load_state_dict(state)
  local function load(m, name, full)
    local src = state[full]
    if src == nil then error("load_state_dict: missing entry '" .. full .. "'", 0) end
    local dst = m[name]
    local a, b = table.concat(dst:shape(), ","), table.concat(src:shape(), ",")
    if a ~= b then
      error(("load_state_dict: '%s' has shape [%s] in the module but [%s] in the state"):format(full, a, b), 0)
    end
    dst:copy(src)
  end
  self:_each_param(load)
  self:_each_buffer(load)
  return self
end

function Module:extra_repr() return "" end

function Module:__tostring()
  local s = self.__name .. "(" .. self:extra_repr() .. ")"
  if #self._children == 0 then return s end
  local lines = { self.__name .. "(" }
  for _, c in ipairs(self._children) do
    local sub = tostring(c.module):gsub("\n", "\n  ")
    lines[#lines + 1] = "  (" .. c.name .. "): " .. sub
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

return Module
