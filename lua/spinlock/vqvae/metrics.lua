-- spinlock.vqvae.metrics — quality measures of a tokenizer (spec/vqvae.md §5.3 and §8):
-- reconstruction R², codebook utilisation and perplexity, token purity against labels, and the
-- topographic correlation between input and latent distances.  Whole-tensor ops only, except the
-- purity count (one Lua step per row) and column grouping (per group, not per element).
local sl = require "spinlock"
local util = require "spinlock.vqvae.util"

local M = {}

-- R² = 1 − Σ(x − x̂)² / Σ(x − column mean of x)², over all elements of the given columns.
function M.r2(x, xh)
  local mu = x:mean(1):view(1, x:size(2))
  local sst = sl.square(sl.sub(x, mu)):sum()
  local sse = sl.square(sl.sub(x, xh)):sum()
  local mse = sse / x:numel()
  -- A constant target (e.g. a single validation row) has no variance to explain: R² is then 1
  -- for an exact reconstruction and 0 otherwise, and the MSE is still reported.
  if sst <= 0 then return sse == 0 and 1 or 0, mse end
  return 1 - sse / sst, mse
end

-- R² over each group of columns: groups = {{name =, columns = {1-based}}, …} → {name = r2}.
function M.r2_groups(x, xh, groups)
  local out = {}
  for _, g in ipairs(groups) do
    if #g.columns > 0 then
      out[g.name] = M.r2(util.select_columns(x, g.columns), util.select_columns(xh, g.columns))
    end
  end
  return out
end

-- Usage of a codebook from token ids (0-based int64 [N]): utilisation = codes used / K,
-- perplexity = exp(−Σ p log p), counts [K].
function M.usage(tokens, K)
  local t = tokens:totable()
  local counts = {}
  for k = 1, K do counts[k] = 0 end
  for _, v in ipairs(t) do counts[v + 1] = counts[v + 1] + 1 end
  local used, ent, n = 0, 0, #t
  for k = 1, K do
    if counts[k] > 0 then
      used = used + 1
      local p = counts[k] / n
      ent = ent - p * math.log(p)
    end
  end
  return { utilisation = used / K, perplexity = math.exp(ent), used = used, counts = counts }
end

-- Purity of tokens against labels (lists of strings): Σ_k max_label count(k, label) / N.
-- 1 = every token holds one label; 1/#labels ≈ no relation.  Also the majority baseline.
function M.purity(tokens, labels)
  local t = sl.is_tensor(tokens) and tokens:totable() or tokens
  local per, overall = {}, {}
  for i, k in ipairs(t) do
    local lab = labels[i]
    per[k] = per[k] or {}
    per[k][lab] = (per[k][lab] or 0) + 1
    overall[lab] = (overall[lab] or 0) + 1
  end
  local s = 0
  for _, m in pairs(per) do
    local best = 0
    for _, c in pairs(m) do if c > best then best = c end end
    s = s + best
  end
  local base = 0
  for _, c in pairs(overall) do if c > base then base = c end end
  return s / #t, base / #t
end

-- Chance level of purity for a token assignment: the mean purity of `shuffles` seeded random
-- permutations of the labels over the same tokens (same occupancy: how many rows each token
-- holds).  With one row per token every assignment is pure, and this says so (→ 1.0).
-- Returns the chance purity and the number of occupied tokens.
function M.purity_chance(tokens, labels, shuffles, seed)
  local t = sl.is_tensor(tokens) and tokens:totable() or tokens
  local n = #t
  local occupied, seen = 0, {}
  for _, k in ipairs(t) do if not seen[k] then seen[k] = true; occupied = occupied + 1 end end
  if n == 0 then return 0 / 0, 0 end
  shuffles = shuffles or 20
  local gen = sl.Generator { seed = seed or 0, purpose = 7, a = 0x7075, b = 0 }
  local util = require "spinlock.vqvae.util"
  local total = 0
  for _ = 1, shuffles do
    local perm = util.permutation(n, gen)
    local lab = {}
    for i = 1, n do lab[i] = labels[perm[i]] end
    total = total + (M.purity(t, lab))
  end
  return total / shuffles, occupied
end

local function pdist(a)
  local n = a:size(1)
  local sq = sl.square(a):sum(2)
  local s = sl.add(sl.add(sl.mul(sl.matmul(a, a:t()), -2), sq:view(n, 1)), sq:view(1, n))
  return sl.sqrt(sl.clamp(s, 0, math.huge))
end

local function pearson_offdiag(P, Q)
  -- Upper triangle only (each pair once, no diagonal) — the honest version of spec §4.1's r.
  local n = P:size(1)
  local mask = sl.gt(sl.sub(sl.arange(1, n + 1):view(1, n), sl.arange(1, n + 1):view(n, 1)), 0):float()
  local m = mask:sum()
  local pm = sl.mul(P, mask):sum() / m
  local qm = sl.mul(Q, mask):sum() / m
  local pc = sl.mul(sl.sub(P, pm), mask)
  local qc = sl.mul(sl.sub(Q, qm), mask)
  local den = math.sqrt(sl.square(pc):sum() * sl.square(qc):sum())
  if den == 0 then return 0 end
  return sl.mul(pc, qc):sum() / den
end

-- Topographic correlation: Pearson r between pairwise distances of inputs and of latents over up
-- to n rows (the first n after a seeded shuffle).
function M.topographic(x, z, n, seed)
  local N = x:size(1)
  n = math.min(n or 1000, N)
  local rows = util.permutation(N, sl.Generator { seed = seed or 0, purpose = 7, a = 0x7470, b = 0 })
  local sub = {}
  for i = 1, n do sub[i] = rows[i] end
  local xs, zs = util.gather_rows(x, sub), util.gather_rows(z, sub)
  return pearson_offdiag(pdist(xs), pdist(zs))
end

return M
