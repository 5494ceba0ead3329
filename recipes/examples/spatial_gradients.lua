-- summary: Guide example 1: operators whose initial conditions have sharp structures (INITIAL)
--
-- Lua port of example 1 of docs "Understanding Feature Semantics": the mean over realizations
-- of INITIAL `ic_spatial_gradient_mean`, and how many operators lie above its 90th percentile
-- (numpy's default linear-interpolation percentile, strict >). Prints what the guide's Python prints.
local sl = require "spinlock"
local cli = require "spinlock.cli"

local function names_index(names, wanted, path)
  for i, n in ipairs(names) do if n == wanted then return i end end
  cli.user_error("%s: no feature named '%s' in its feature_names", path, wanted)
end

return {
  description = "Counts the operators in the top 10% of INITIAL ic_spatial_gradient_mean.",
  options = { { "dataset", type = "path", required = true, must_exist = true, metavar = "FILE" } },
  run = function(opts)
    local f = sl.h5.open(opts.dataset, "r")
    if not f:exists("features/initial") then cli.user_error("%s has no features/initial", opts.dataset) end
    local initial = f:read("features/initial")                        -- [N, M, 42]
    local names = f:attr("features/initial", "feature_names")
    f:close()

    local idx = names_index(names, "ic_spatial_gradient_mean", opts.dataset)
    local spatial_gradients = initial:select(3, idx):mean(2)          -- [N]
    local threshold = spatial_gradients:quantile(0.9)
    local high = spatial_gradients:gt(threshold):float():sum()

    print("Operators with high spatial gradients (sharp structures):")
    print(string.format("  Found %d operators in top 10%%", high))
  end,
}
