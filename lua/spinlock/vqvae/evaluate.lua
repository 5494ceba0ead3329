-- spinlock.vqvae.evaluate — the numbers `spinlock evaluate-vqvae` prints (spec/vqvae.md §5.3, §8).
--
--   local ev = require "spinlock.vqvae.evaluate"
--   local r = ev.run(model, X_raw_or_prepared, {labels = {ic_type = {...}, policy = {...}}})
--   print(ev.format(r))
--
-- r.levels[l] = {r2 (token path), r2_cat (category codes), utilisation, perplexity, used,
--               cat_utilisation, cat_perplexity (means over categories), purity = {label = p}}
-- r.families = {name = {r2 per level}}, r.categories = {{name, r2 = {per level}}},
-- r.topographic = {pre = r(x, z), post = r(x, decoded-free quantized latent)}, r.n.
local sl = require "spinlock"
local metrics = require "spinlock.vqvae.metrics"
local plot = require "spinlock.vqvae.plot"

local M = {}

M.LEVEL_NAMES = { "coarse", "medium", "fine" }
function M.level_name(l, L)
  if L == 3 then return M.LEVEL_NAMES[l] end
  return "level_" .. l
end

local function family_of(name)
  return (name or ""):match("^([%a]+)_") or "other"
end

function M.run(model, features, opts)
  opts = opts or {}
  local x = model:prepare(features, { prepared = opts.prepared })
  -- Codebook usage is a property of the codebook over the data: with a row subset (validation
  -- rows), R², purity and topography are scored on the subset and usage on every row given.
  -- Purity is scored on every row given by default (opts.purity_rows = "scored" uses the R² rows):
  -- on a few validation rows nearly every token tuple holds one operator and purity is 1 by
  -- construction.
  local usage_tokens, usage_codes
  local purity_all = opts.rows and opts.purity_rows ~= "scored"
  if opts.rows then
    usage_tokens = { model:get_tokens(x, { prepared = true }) }
    usage_codes = model:get_category_codes(x, { prepared = true })
    x = require("spinlock.vqvae.util").gather_rows(x, opts.rows)
  end
  local N, L, C = x:size(1), model.levels, #model.categories
  local parts = model:run_inference(x)
  model:evaluate()
  local function collect(get, width)
    local out = sl.empty({ N, width })
    local off = 1
    for _, b in ipairs(parts) do
      local t = get(b)
      out:narrow(1, off, t:size(1)):copy(t)
      off = off + t:size(1)
    end
    return out
  end
  local function collect_idx(get)
    local out = sl.empty({ N }, "int64")
    local off = 1
    for _, b in ipairs(parts) do
      local t = get(b)
      out:narrow(1, off, t:numel()):copy(t)
      off = off + t:numel()
    end
    return sl.sub(out, 1)
  end
  local names = model:feature_names() or {}
  -- column groups: families (by name prefix) and categories
  local fam_cols, fam_order = {}, {}
  for j = 1, model.input_dim do
    local f = family_of(names[j])
    if not fam_cols[f] then fam_cols[f] = {}; fam_order[#fam_order + 1] = f end
    table.insert(fam_cols[f], j)
  end
  local res = { n = N, n_usage = usage_tokens and usage_tokens[1]:numel() or N, levels = {}, families = {},
                categories = {}, family_order = fam_order, rows = opts.rows_label or (opts.rows and "subset" or "all") }
  res.purity_rows = purity_all and res.n_usage or N
  res.purity_rows_label = purity_all and "all" or res.rows
  for i, c in ipairs(model.categories) do
    local cols = {}
    for j = 1, c.size do cols[j] = c.offset + j - 1 end
    res.categories[i] = { name = c.name, size = c.size, r2 = {}, r2_cat = {}, columns = cols }
  end
  for _, f in ipairs(fam_order) do res.families[f] = { r2 = {}, r2_cat = {}, columns = #fam_cols[f] } end
  local z = collect(function(b) return b.z end, model.latent_total)
  local prefix_ids
  for l = 1, L do
    local tok_pre = collect(function(b) return b.tok_prefix[l] end, model.latent_total)
    local cat_pre = collect(function(b) return b.cat_prefix[l] end, model.latent_total)
    local xh = model:decode(tok_pre)
    local xh_cat = model:decode(cat_pre)
    local lv = { name = M.level_name(l, L) }
    lv.r2 = metrics.r2(x, xh)
    lv.r2_cat = metrics.r2(x, xh_cat)
    local tokens = collect_idx(function(b) return b.tok_idx[l] end)
    local u = metrics.usage(usage_tokens and usage_tokens[l] or tokens, model.tok_q[l].num_codes)
    lv.utilisation, lv.perplexity, lv.used, lv.num_codes, lv.counts = u.utilisation, u.perplexity, u.used,
      model.tok_q[l].num_codes, u.counts
    local cu, cp = 0, 0
    for i = 1, C do
      local ci = usage_codes and usage_codes:select(2, i):select(2, l):contiguous()
                 or collect_idx(function(b) return b.cat_idx[i][l] end)
      local uc = metrics.usage(ci, model.cat_q[i][l].num_codes)
      cu, cp = cu + uc.utilisation, cp + uc.perplexity
    end
    lv.cat_utilisation, lv.cat_perplexity = cu / C, cp / C
    -- Purity of the token path up to this level: the tuple (coarse, …, level l) as one id.
    local ptok = purity_all and usage_tokens[l] or tokens
    prefix_ids = prefix_ids and sl.add(sl.mul(prefix_ids, model.tok_q[l].num_codes), ptok) or ptok
    lv.purity, lv.purity_baseline, lv.purity_chance = {}, {}, {}
    for lname, labels in pairs(opts.labels or {}) do
      local lab = labels
      if opts.rows and not purity_all then
        lab = {}
        for i, r in ipairs(opts.rows) do lab[i] = labels[r] end
      end
      lv.purity[lname], lv.purity_baseline[lname] = metrics.purity(prefix_ids, lab)
      lv.purity_chance[lname], lv.occupied = metrics.purity_chance(prefix_ids, lab, 20, l)
    end
    if not lv.occupied then lv.occupied = select(2, metrics.purity_chance(prefix_ids, {}, 0)) end
    for _, f in ipairs(fam_order) do
      res.families[f].r2[l] = metrics.r2_groups(x, xh, { { name = f, columns = fam_cols[f] } })[f]
      res.families[f].r2_cat[l] = metrics.r2_groups(x, xh_cat, { { name = f, columns = fam_cols[f] } })[f]
    end
    for _, c in ipairs(res.categories) do
      c.r2[l] = metrics.r2_groups(x, xh, { { name = "c", columns = c.columns } }).c
      c.r2_cat[l] = metrics.r2_groups(x, xh_cat, { { name = "c", columns = c.columns } }).c
    end
    if l == L then
      res.topographic = { pre = metrics.topographic(x, z, opts.topo_samples or 1000, 0),
                          post = metrics.topographic(x, tok_pre, opts.topo_samples or 1000, 0) }
    end
    res.levels[l] = lv
  end
  return res
end

-- Plain-text report.
function M.format(r)
  local lines = {}
  local function add(...) lines[#lines + 1] = string.format(...) end
  local L = #r.levels
  add("operators evaluated: %d (%s rows; codebook usage over %d)", r.n, r.rows, r.n_usage)
  if r.categories_text then
    add("")
    for _, l in ipairs(r.categories_text) do add("%s", l) end
  end
  add("")
  add("%-8s %8s %8s %7s %11s %10s %11s", "level", "R2 tok", "R2 cat", "codes", "utilisation", "perplexity", "cat util")
  for _, lv in ipairs(r.levels) do
    add("%-8s %8.4f %8.4f %3d/%-3d %11.3f %10.2f %11.3f", lv.name, lv.r2, lv.r2_cat, lv.used, lv.num_codes,
      lv.utilisation, lv.perplexity, lv.cat_utilisation)
  end
  add("")
  -- Families and categories: the operator tokens' R² and the category codes' R² side by side.
  local function table_head(title)
    local h = string.format("%-28s", title)
    for l = 1, L do h = h .. string.format(" %8s", r.levels[l].name) end
    h = h .. "  |"
    for l = 1, L do h = h .. string.format(" %8s", r.levels[l].name) end
    return h
  end
  local function row(label, a, b)
    local s = string.format("%-28s", label)
    for l = 1, L do s = s .. string.format(" %8.4f", a[l] or 0 / 0) end
    s = s .. "  |"
    for l = 1, L do s = s .. string.format(" %8.4f", b[l] or 0 / 0) end
    return s
  end
  local sub = string.format("%-28s", "") .. string.format(" %" .. (9 * L - 1) .. "s", "operator tokens") .. "  |"
    .. string.format(" %" .. (9 * L - 1) .. "s", "category codes")
  add("%s", sub)
  add("%s", table_head("R2 by family"))
  for _, f in ipairs(r.family_order) do
    local fam = r.families[f]
    add("%s", row(f .. " (" .. fam.columns .. ")", fam.r2, fam.r2_cat or {}))
  end
  add("")
  add("%s", table_head("R2 by category"))
  for _, c in ipairs(r.categories) do
    add("%s", row(c.name .. " (" .. c.size .. ")", c.r2, c.r2_cat or {}))
  end
  local labs = {}
  for k in pairs(r.levels[1].purity) do labs[#labs + 1] = k end
  table.sort(labs)
  if #labs > 0 then
    add("")
    add("token purity of the path coarse..level on %s rows (%d): majority-label share per token tuple;",
      r.purity_rows_label, r.purity_rows)
    add("chance = mean purity with the labels shuffled over the same tuples; majority = largest label's share")
    local head2 = string.format("%-28s", "")
    for l = 1, L do head2 = head2 .. string.format(" %8s", r.levels[l].name) end
    add("%s", head2)
    local s0 = string.format("%-28s", "occupied token tuples")
    for l = 1, L do s0 = s0 .. string.format(" %8d", r.levels[l].occupied or 0) end
    add("%s", s0)
    for _, k in ipairs(labs) do
      local s = string.format("%-28s", k .. string.format(" (majority %.3f)", r.levels[1].purity_baseline[k]))
      for l = 1, L do s = s .. string.format(" %8.3f", r.levels[l].purity[k]) end
      add("%s", s)
      s = string.format("%-28s", "  chance")
      for l = 1, L do s = s .. string.format(" %8.3f", r.levels[l].purity_chance[k]) end
      add("%s", s)
    end
  end
  add("")
  add("topographic correlation r(input distances, latent distances): pre-quantization %.4f, quantized (fine) %.4f",
    r.topographic.pre, r.topographic.post)
  return table.concat(lines, "\n")
end

-- PNGs: codebook_usage.png (per level, code counts sorted descending, levels side by side) and
-- r2_by_level.png (token path, category path, then each category).  Returns the paths written.
function M.plots(r, dir)
  if not plot.available() then return {} end
  local groups = {}
  for l, lv in ipairs(r.levels) do
    local c = {}
    for k, v in ipairs(lv.counts) do c[k] = v end
    table.sort(c, function(a, b) return a > b end)
    groups[l] = { values = c }
  end
  local out = {}
  local L = #r.levels
  for l, lv in ipairs(r.levels) do groups[l].label = string.format("%s %d/%d", lv.name, lv.used, lv.num_codes) end
  plot.bars(dir .. "/codebook_usage.png", groups,
    { title = "CODEBOOK USAGE", ylabel = "operators per code", xlabel = "codes by level, most used first" })
  out[#out + 1] = dir .. "/codebook_usage.png"
  local g2 = { { values = {}, label = "tokens" }, { values = {}, label = "cat codes" } }
  for l, lv in ipairs(r.levels) do g2[1].values[l] = lv.r2; g2[2].values[l] = lv.r2_cat end
  for _, c in ipairs(r.categories) do
    local v = {}
    for l = 1, L do v[l] = c.r2[l] end
    g2[#g2 + 1] = { values = v, label = c.name }
  end
  local names = {}
  for l, lv in ipairs(r.levels) do names[l] = lv.name end
  plot.bars(dir .. "/r2_by_level.png", g2, { ymax = 1, title = "R² BY LEVEL", ylabel = "R²", colour_by = "bar",
    legend = names, xlabel = "token path, category path, then each category (token path)" })
  out[#out + 1] = dir .. "/r2_by_level.png"
  return out
end

return M
