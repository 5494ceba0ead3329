-- summary: Guide example 2: correlation of ARCHITECTURE noise scale and a SUMMARY entropy feature
--
-- Lua port of example 2: ARCHITECTURE column 1 (the guide's index 0) is the noise scale; the
-- first SUMMARY name containing "entropy" is the entropy feature; prints their Pearson
-- correlation like numpy.corrcoef (NaN when either is constant or holds NaN).
local sl = require "spinlock"
local cli = require "spinlock.cli"

local function pearson(a, b)
  local am, bm = a - a:mean(), b - b:mean()
  return (am * bm):sum() / math.sqrt((am * am):sum() * (bm * bm):sum())
end

return {
  description = "Correlates ARCHITECTURE column 1 (noise scale) with the first SUMMARY entropy feature.",
  options = { { "dataset", type = "path", required = true, must_exist = true, metavar = "FILE" } },
  run = function(opts)
    local f = sl.h5.open(opts.dataset, "r")
    for _, p in ipairs({ "features/architecture", "features/summary" }) do
      if not f:exists(p) then cli.user_error("%s has no %s", opts.dataset, p) end
    end
    local arch = f:read("features/architecture"):double()             -- [N, A]
    local summary = f:read("features/summary"):double()               -- [N, S]
    local names = f:attr("features/summary", "feature_names")
    f:close()

    local noise_scales = arch:select(2, 1)
    local entropy_idx
    for i, n in ipairs(names) do
      if n:find("entropy", 1, true) then entropy_idx = i; break end
    end
    if not entropy_idx then cli.user_error("%s: no SUMMARY feature name contains 'entropy'", opts.dataset) end
    local summary_entropy = summary:select(2, entropy_idx)

    local correlation = pearson(noise_scales, summary_entropy)
    print(string.format("\nNoise scale vs. SUMMARY entropy correlation: %.3f", correlation))
    print("  High correlation confirms features capture related behavioral aspects")
  end,
}
