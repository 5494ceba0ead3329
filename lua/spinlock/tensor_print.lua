-- tensor_print.lua — torch-style pretty printing of tensors, e.g.
--   tensor([[ 1.0000,  2.5000],
--           [-3.0000,  4.0000]], dtype=float32)
-- Large tensors are summarised with "..." (edge items 3 per dimension above 1000 elements).
local M = {}

local EDGE, THRESHOLD = 3, 1000

-- Chooses one number format for all shown values: integers, fixed 4 decimals or scientific.
local function choose_format(values, is_int)
  if is_int then return function(v) return string.format("%d", v) end end
  local all_int, maxabs, minabs = true, 0, math.huge
  for _, v in ipairs(values) do
    if v == v and v ~= math.huge and v ~= -math.huge then
      if v ~= math.floor(v) then all_int = false end
      local a = math.abs(v)
      if a > maxabs then maxabs = a end
      if a > 0 and a < minabs then minabs = a end
    end
  end
  local function special(v)
    if v ~= v then return "nan" elseif v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
  end
  if all_int and maxabs < 1e8 then
    return function(v) return special(v) or string.format("%.0f.", v) end
  end
  if maxabs >= 1e8 or (minabs < 1e-4 and minabs ~= math.huge) or (minabs ~= math.huge and maxabs / minabs > 1e3) then
    return function(v) return special(v) or string.format("%.4e", v) end
  end
  return function(v) return special(v) or string.format("%.4f", v) end
end

function M.format(t)
  if t:is_freed() then return "Tensor(freed)" end
  local shape, dtype = t:shape(), t:dtype()
  local numel = t:numel()
  local summarise = numel > THRESHOLD
  local is_int = not (dtype == "float32" or dtype == "float64")
  local suffix = (dtype == "float32" or dtype == "int64") and "" or (", dtype=" .. dtype)
  if #shape == 0 then return "tensor(" .. choose_format({t:item()}, is_int)(t:item()) .. suffix .. ")" end
  if numel == 0 then return "tensor([], size=(" .. table.concat(shape, ", ") .. ")" .. suffix .. ")" end

  -- Collect the values that will be shown, to pick a common format and width.
  local shown = {}
  local function collect(v, d)
    local n = shape[d]
    local function visit(i)
      local s = v[i]
      if d == #shape then shown[#shown + 1] = s else collect(s, d + 1) end
    end
    if summarise and n > 2 * EDGE then
      for i = 1, EDGE do visit(i) end
      for i = n - EDGE + 1, n do visit(i) end
    else
      for i = 1, n do visit(i) end
    end
  end
  collect(t, 1)
  local fmt = choose_format(shown, is_int)
  local width = 0
  for _, v in ipairs(shown) do width = math.max(width, #fmt(v)) end
  local function cell(v) local s = fmt(v); return string.rep(" ", width - #s) .. s end

  local indent0 = #"tensor("
  local function render(v, d, indent)
    local n = shape[d]
    local parts = {}
    local function item(i)
      if d == #shape then return cell(v[i]) end
      return render(v[i], d + 1, indent + 1)
    end
    local idx = {}
    if summarise and n > 2 * EDGE then
      for i = 1, EDGE do idx[#idx + 1] = i end
      idx[#idx + 1] = false
      for i = n - EDGE + 1, n do idx[#idx + 1] = i end
    else
      for i = 1, n do idx[#idx + 1] = i end
    end
    for _, i in ipairs(idx) do parts[#parts + 1] = i and item(i) or "..." end
    if d == #shape then return "[" .. table.concat(parts, ", ") .. "]" end
    local sep = "," .. string.rep("\n", #shape - d) .. string.rep(" ", indent + 1)
    return "[" .. table.concat(parts, sep) .. "]"
  end
  return "tensor(" .. render(t, 1, indent0) .. suffix .. ")"
end

return M
