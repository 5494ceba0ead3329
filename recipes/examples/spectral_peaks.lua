-- summary: Guide example 3: operators with strong periodic components (SUMMARY spectral peaks)
--
-- Lua port of example 3: the SUMMARY columns whose names contain both "spectral" and "peak",
-- their maximum per operator, and how many operators lie above the 80th percentile.
local sl = require "spinlock"
local cli = require "spinlock.cli"

return {
  description = "Counts the operators in the top 20% of the strongest SUMMARY spectral-peak feature.",
  options = { { "dataset", type = "path", required = true, must_exist = true, metavar = "FILE" } },
  run = function(opts)
    local f = sl.h5.open(opts.dataset, "r")
    if not f:exists("features/summary") then cli.user_error("%s has no features/summary", opts.dataset) end
    local summary = f:read("features/summary")                        -- [N, S]
    local names = f:attr("features/summary", "feature_names")
    f:close()

    local cols = {}
    for i, n in ipairs(names) do
      if n:find("spectral", 1, true) and n:find("peak", 1, true) then cols[#cols + 1] = i end
    end
    if #cols == 0 then cli.user_error("%s: no SUMMARY feature name contains both 'spectral' and 'peak'", opts.dataset) end
    local picked = sl.empty({ summary:size(1), #cols }, "float32")
    for j, c in ipairs(cols) do picked:select(2, j):copy(summary:select(2, c)) end
    local spectral_strength = picked:amax(2)                          -- [N]
    local threshold = spectral_strength:quantile(0.8)
    local periodic = spectral_strength:gt(threshold):float():sum()

    print("\nOperators with strong periodic components:")
    print(string.format("  Found %d operators in top 20%%", periodic))
  end,
}
