-- spinlock.categories — feature-category discovery (spec/vqvae.md §2, with the §9 fixes).
--
--   local categories = require "spinlock.categories"
--   local cat = categories.discover(X, names, {linkage = "ward", k_min = 2, k_max = 25})
--   cat.k (categories), cat.cut_k, cat.scores[cut k], cat.labels (int64 [D], category per column, 1-based),
--   cat.categories = { {name = "summary_spectral", columns = {3, 7, ...}, names = {...}}, ... },
--   cat.map = { [feature name] = category index }
--
-- Columns are the points; distance d_ij = 1 - |r_ij| over the (cleaned) rows.  One tree is built
-- (Ward as in the reference, or average/complete/single) and cut at every k in [k_min, k_max].
-- Clusters with fewer than `min_features` columns are not dropped (spec §9.9): each of their
-- columns joins the kept cluster with the smallest mean distance to it (ties → lower cluster).
-- Each cut is scored by the mean silhouette (singletons score 0, Rousseeuw's convention) of that
-- merged partition — the one that is actually used — and the best cut wins (ties → smaller k; if
-- no cut leaves two categories, the cut at k_min is used).  The reference scored the raw cut and
-- gave -1 to any cut with a singleton, so one outlier column forced k = k_min on real data.
-- Categories are ordered by their smallest column index; that order is the token layout.
-- result.k is the number of categories, result.cut_k the tree cut that produced them.
-- Everything is deterministic; when N > max_samples the rows are subsampled once with the
-- given generator (or seed) and the same rows serve the choice of k and the final tree.
local sl = require "spinlock"
local C = sl._cluster

local categories = {}
local used_partition

local DEFAULTS = {
  linkage = "ward", k_min = 2, k_max = 25, min_features = 3,
  max_samples = 50000, seed = 0,
}

local function opts_with_defaults(opts)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if DEFAULTS[k] == nil and k ~= "generator" then
      error(string.format("categories.discover: unknown option '%s'", tostring(k)), 3)
    end
    o[k] = v
  end
  return o
end

-- Readable name for a set of feature names: the most common two-token prefix ("summary_spectral")
-- when it covers at least half the members, else the most common family (first token), else
-- "mixed".  Names without an underscore count as their own prefix.
function categories.name_for(member_names)
  local function dominant(f)
    local count, best, bestn = {}, nil, 0
    for _, n in ipairs(member_names) do
      local p = f(n)
      count[p] = (count[p] or 0) + 1
      -- first-seen wins ties, so the result does not depend on table iteration order
      if count[p] > bestn then best, bestn = p, count[p] end
    end
    return best, bestn
  end
  local half = #member_names / 2
  local two, n2 = dominant(function(n) return n:match("^([^_]+_[^_]+)") or n end)
  if two and n2 >= half then return two end
  local one, n1 = dominant(function(n) return n:match("^([^_]+)") or n end)
  if one and n1 >= half then return one end
  return "mixed"
end

local function row_subsample(X, o)
  local N = X:size(1)
  if N <= o.max_samples then return X end
  local g = o.generator or sl.Generator { seed = o.seed, purpose = 7, a = 17 }
  local order = sl.argsort(g:uniform(N, 0, 1, "float64"))
  local keep = sl.sort(order:narrow(1, 1, o.max_samples))
  return C.select_columns(X:t(), keep):t()
end

-- The partition a cut leads to: clusters with at least min_features columns are kept; each
-- column of a smaller cluster joins the kept cluster with the smallest mean distance to it
-- (measured to the kept clusters as cut, so the order of the orphans does not matter; ties →
-- lower cluster).  If no cluster is big enough, all are kept.  Returns a list of column lists,
-- ordered by smallest member.
used_partition = function(lab, dd, min_features)
  local members = {}
  for j = 1, #lab do
    members[lab[j]] = members[lab[j]] or {}
    table.insert(members[lab[j]], j)
  end
  local kept, orphans = {}, {}
  for c = 1, #members do
    if #members[c] >= min_features then kept[#kept + 1] = members[c]
    else for _, j in ipairs(members[c]) do orphans[#orphans + 1] = j end end
  end
  -- every cluster is small: keep them all rather than fail (spec §2.4 raised an error here)
  if #kept == 0 then return members end
  local joins = {}
  for _, j in ipairs(orphans) do
    local best, bestd, row = 1, math.huge, dd[j]
    for c, cols in ipairs(kept) do
      local s = 0
      for _, i in ipairs(cols) do s = s + row[i] end
      s = s / #cols
      if s < bestd then best, bestd = c, s end
    end
    joins[#joins + 1] = { j, best }
  end
  for _, jb in ipairs(joins) do table.insert(kept[jb[2]], jb[1]) end
  for _, cols in ipairs(kept) do table.sort(cols) end
  table.sort(kept, function(a, b) return a[1] < b[1] end)
  return kept
end

-- discover(X [N, D], names (table of D strings, optional), opts) → result table (see top).
function categories.discover(X, names, opts)
  local o = opts_with_defaults(opts)
  if not sl.is_tensor(X) or X:dim() ~= 2 then
    error("categories.discover: X must be a 2-d [operators, features] tensor", 2)
  end
  local D = X:size(2)
  if names and #names ~= D then
    error(string.format("categories.discover: %d names for %d columns", #names, D), 2)
  end
  if not names then
    names = {}
    for j = 1, D do names[j] = "feature_" .. (j - 1) end
  end
  if D < 3 then error(string.format("categories.discover: need at least 3 columns, got %d", D), 2) end
  local k_min, k_max = math.max(2, o.k_min), math.min(o.k_max, D - 1)
  if k_min > k_max then
    error(string.format("categories.discover: k range [%d, %d] is empty for %d columns", o.k_min, o.k_max, D), 2)
  end
  local dist = C.corr_distance(row_subsample(X, o))
  local dd = dist:totable()
  local Z = C.linkage(dist, o.linkage)
  -- Each cut is scored by the silhouette of the partition it leads to (small clusters merged),
  -- so the choice of k judges the categories that are actually used.
  local scores, best_k, best_s, best_kept = {}, nil, -math.huge, nil
  for k = k_min, k_max do
    local kept = used_partition(C.cut(Z, k):totable(), dd, o.min_features)
    local s = -1
    if #kept >= 2 then
      local lab = sl.zeros({ D }, "int64")
      for c, cols in ipairs(kept) do for _, j in ipairs(cols) do lab[j] = c end end
      s = C.silhouette(dist, lab)
    end
    scores[k] = s
    if s > best_s then best_k, best_s, best_kept = k, s, kept end
  end
  if best_s == -1 then
    best_k = k_min
    best_kept = used_partition(C.cut(Z, k_min):totable(), dd, o.min_features)
  end
  local kept = best_kept
  local result = { k = #kept, cut_k = best_k, silhouette = best_s, scores = scores, linkage = o.linkage,
                   categories = {}, map = {}, names = names }
  local labels = sl.zeros({ D }, "int64")
  local used = {}
  for c, cols in ipairs(kept) do
    table.sort(cols)
    local cn = {}
    for i, j in ipairs(cols) do cn[i] = names[j]; labels[j] = c; result.map[names[j]] = c end
    local name = categories.name_for(cn)
    if used[name] then
      used[name] = used[name] + 1
      name = name .. "_" .. used[name]
    else
      used[name] = 1
    end
    result.categories[c] = { name = name, columns = cols, names = cn }
  end
  result.labels = labels
  return result
end

return categories
