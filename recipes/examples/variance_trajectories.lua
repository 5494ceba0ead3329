-- summary: Guide example 4: growing, stable and decaying operators from the TEMPORAL variance curve
--
-- Lua port of example 4: TEMPORAL column 1 (the guide's index 0) is the field variance per
-- frame; averaged over realizations, its mean over the first 50 and the last 50 frames gives
-- growth = (late − early)/(early + 1e-8), classified at ±0.5 (with fewer than 50 frames numpy's
-- slices take all frames, and so does this port).
local sl = require "spinlock"
local cli = require "spinlock.cli"

return {
  description = "Classifies operators by the growth of their TEMPORAL variance curve.",
  options = { { "dataset", type = "path", required = true, must_exist = true, metavar = "FILE" } },
  run = function(opts)
    local f = sl.h5.open(opts.dataset, "r")
    if not f:exists("features/temporal") then cli.user_error("%s has no features/temporal", opts.dataset) end
    local info = f:info("features/temporal")                          -- [N, M, T, D]
    local N, M, T = info.shape[1], info.shape[2], info.shape[3]
    -- read only column 1 (the variance) of every operator, realization and frame
    local variance_trajectory = f:read("features/temporal", { 1, 1, 1, 1 }, { N, M, T, 1 }):select(4, 1)
    f:close()

    local mean_variance_trajectory = variance_trajectory:mean(2)      -- [N, T]
    local w = math.min(50, T)
    local early_variance = mean_variance_trajectory:narrow(2, 1, w):mean(2)
    local late_variance = mean_variance_trajectory:narrow(2, T - w + 1, w):mean(2)
    local variance_growth = (late_variance - early_variance) / (early_variance + 1e-8)

    print("\nTemporal behavior classification:")
    print(string.format("  Growing operators (variance increases): %d", variance_growth:gt(0.5):float():sum()))
    print(string.format("  Stable operators (variance constant): %d", variance_growth:abs():lt(0.5):float():sum()))
    print(string.format("  Decaying operators (variance decreases): %d", variance_growth:lt(-0.5):float():sum()))
  end,
}
