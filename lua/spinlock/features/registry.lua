-- Feature registries: one ordered list of named columns per family, built from the catalog
-- modules and the assembly rules, so that column order, `feature_names` attributes, widths and
-- docs/features.md all come from the same table and cannot drift apart.
--
-- An entry: { name =, category =, formula =, meaning =, source = <module that computes it>,
-- shape = per-operator shape of one column ("[1]", "[M]", "[M, T]"), cost = rough relative cost
-- class of its group ("free", "low", "medium", "high", "custom"; M.COST_CLASSES) }.
-- Names are unique within a family (a clash is an error naming both sources); indices are 1-based
-- column numbers.
local M = {}

local fmt = string.format

local Registry = {}
Registry.__index = Registry

-- Per-operator shape of one column of each family (`shape` of an entry, unless given).
M.SHAPES = { initial = "[M]", architecture = "[1]", summary = "[1]", temporal = "[M, T]" }

-- Rough relative cost classes (`cost` of an entry): what computing the column's group takes per
-- operator, from the benches of docs/features-*.md.  Not timings: a guide for switching off.
M.COST_CLASSES = {
  { "free", "decoding the sampled parameters (no field data)" },
  { "low", "one or two O(pixels) passes per frame or field" },
  { "medium", "an FFT, union-find, filtering or histogram pass per frame, or O(T·pixels) per realization" },
  { "high", "forward passes of the operator, an O(T²) recurrence analysis, a CNN embedding or an LZ76 scan" },
  { "custom", "a user formula (unknown)" },
}
local COST = {
  initial = { spatial = "low", spectral = "medium", information = "high", morphological = "medium", cnn_learned = "high" },
  summary = { spatial = "low", spectral = "medium", cross_channel = "medium", distributional = "medium",
              structural = "medium", physics = "medium", morphological = "low", multiscale = "low",
              temporal = "low", causality = "medium", invariant_drift = "medium", nonlinear = "high",
              operator_sensitivity = "high" },
  temporal = { derived = "low" },
}
M.COST = COST
local BUILTIN_SOURCES = { frame = true, trajectory = true, assembly = true, initial = true, architecture = true }
local function cost_of(family, category, source)
  if family == "architecture" then return "free" end
  if category == "custom" or (source and not BUILTIN_SOURCES[source]) then return "custom" end
  local t = COST[family] or {}
  return t[category] or COST.summary[category] or (category == "custom" and "custom") or "medium"
end
M.cost_of = cost_of

function M.new(family)
  return setmetatable({ family = family, list = {}, by_name = {} }, Registry)
end

function Registry:add(e)
  assert(type(e) == "table", "registry entry must be a table")
  local name = e.name
  if type(name) ~= "string" or not name:match("%S") then
    error(fmt("%s: feature name must be a non-empty string, found %s", self.family, tostring(name)), 0)
  end
  local old = self.by_name[name]
  if old then
    error(fmt("%s: feature name '%s' is defined twice (by %s and by %s)", self.family, name,
      old.source or "?", e.source or "?"), 0)
  end
  local category = e.category or "other"
  local entry = { name = name, category = category, formula = e.formula or "",
                  meaning = e.meaning or "", source = e.source, index = #self.list + 1,
                  shape = e.shape or M.SHAPES[self.family] or "[1]",
                  cost = e.cost or cost_of(self.family, category, e.source) }
  self.list[#self.list + 1] = entry
  self.by_name[name] = entry
  return entry.index
end

function Registry:width() return #self.list end
function Registry:entries() return self.list end
function Registry:index(name) local e = self.by_name[name]; return e and e.index end
function Registry:get(name) return self.by_name[name] end

function Registry:names()
  local n = {}
  for i, e in ipairs(self.list) do n[i] = e.name end
  return n
end

-- categories in first-seen order with their column counts
function Registry:categories()
  local order, count = {}, {}
  for _, e in ipairs(self.list) do
    if not count[e.category] then order[#order + 1] = e.category; count[e.category] = 0 end
    count[e.category] = count[e.category] + 1
  end
  local out = {}
  for i, c in ipairs(order) do out[i] = { name = c, count = count[c] } end
  return out
end

---------------------------------------------------------------------------------------------------
-- docs/features.md

local function cell(s)
  s = tostring(s or ""):gsub("\r?\n", " "):gsub("|", "\\|")
  return s
end

local FAMILY_TEXT = {
  initial = "per realization, from the initial condition",
  architecture = "per operator, from the sampled parameters",
  summary = "per operator: per-frame features aggregated over time then realizations, per-trajectory features aggregated over realizations",
  temporal = "per realization and frame",
}

--- markdown(fx, info) -> text of docs/features.md for an extractor `fx` (features.new)
-- info: { config = "configs/...", dims = "M=3, T=500, G=128" } for the header line.
function M.markdown(fx, info)
  info = info or {}
  local out = {}
  local function w(...) out[#out + 1] = fmt(...) end
  w("# Feature catalog")
  w("")
  w("<!-- Generated by `spinlock features-doc` from the feature registry; do not edit. -->")
  w("")
  w("Every column of `features/<family>` in a dataset file, in column order, with its formula and")
  w("what it means. The attribute `feature_names` of each dataset holds the same names. Widths")
  w("depend on the configuration only, never on the data; a value that cannot be computed is NaN")
  w("and flagged in `features/<family>_quality` (docs/features-design.md).")
  w("")
  w("Generated for `%s` (%s). Columns that other configurations add (optional categories,",
    info.config or "the default configuration", info.dims or "")
  w("one-hot groups of other choice parameters, ...) are listed with their naming rules in")
  w("[Columns of other configurations](#columns-of-other-configurations).")
  w("")
  w("## Notation")
  w("")
  w("- u: one channel field (H×W) of a frame; per-channel values are averaged over the channels where")
  w("  they are defined. N = H·W pixels; the grid is periodic.")
  w("- mean, var/std (unbiased, n − 1), pvar/pstd (population): over the pixels of u.")
  w("- **b = u > mean(u) + 0.5·pstd(u)**: the binary mask of the structural and morphological")
  w("  features (components use 4-neighbour connectivity on the periodic grid; erosion and dilation")
  w("  the 3×3 square, also periodic). An empty mask leaves the size/shape ratios undefined (NaN) for")
  w("  that channel.")
  w("- Dx, Dy: periodic central differences; Lap: the 5-point Laplacian; P: |rfft2(u, ortho)|²;")
  w("  frequencies in cycles per sample.")
  w("- SUMMARY suffixes: `_t<method>` aggregates a per-frame value over time within a realization,")
  w("  then takes the mean over realizations; `_<method>` aggregates a per-realization value over the")
  w("  realizations. `std` is always the unbiased std (n − 1); `cv` = std/(|mean| + 1e-8).")
  w("- shape: the per-operator shape of one column (M realizations, T frames).")
  w("- cost: rough relative cost class of computing the column's group:")
  for _, c in ipairs(M.COST_CLASSES) do w("  %s — %s;", c[1], c[2]) end
  w("")
  if info.missing and #info.missing > 0 then
    w("**Not in this build** (their catalog modules are missing, so their columns are not listed):")
    for _, m in ipairs(info.missing) do w("- %s", m) end
    w("")
  end
  local schema = fx:schema()
  w("| family | shape per operator | columns | granularity |")
  w("|---|---|---|---|")
  for _, fam in ipairs({ "initial", "architecture", "summary", "temporal" }) do
    local s = schema[fam]
    if s then
      local shp = {}
      for i, d in ipairs(s.shape) do shp[i] = tostring(d) end
      w("| %s | [%s] | %d | %s |", fam, table.concat(shp, ", "), #s.names, FAMILY_TEXT[fam])
    end
  end
  for _, fam in ipairs({ "initial", "architecture", "summary", "temporal" }) do
    local reg = fx.registries[fam]
    if reg then
      w("")
      w("## %s (%d columns)", fam:upper(), reg:width())
      w("")
      local cats = {}
      for _, c in ipairs(reg:categories()) do cats[#cats + 1] = fmt("%s %d", c.name, c.count) end
      w("Categories: %s.", table.concat(cats, ", "))
      w("")
      w("| col | name | category | shape | cost | formula | meaning |")
      w("|---|---|---|---|---|---|---|")
      for i, e in ipairs(reg:entries()) do
        w("| %d | `%s` | %s | %s | %s | %s | %s |", i, cell(e.name), cell(e.category), cell(e.shape), cell(e.cost),
          cell(e.formula), cell(e.meaning))
      end
    end
  end
  local extra = info.extra
  if extra then
    w("")
    w("## Columns of other configurations")
    w("")
    w("The registry builds the column list from the configuration, so other configurations have")
    w("columns the tables above do not list. Their names and rules:")
    for _, sec in ipairs(extra) do
      w("")
      w("### %s", sec.title)
      w("")
      if sec.text then w("%s", sec.text); w("") end
      if sec.rule_column then
        w("| name | category | present | formula | meaning |")
        w("|---|---|---|---|---|")
        for _, e in ipairs(sec.entries) do
          w("| `%s` | %s | %s | %s | %s |", cell(e.name), cell(e.category), cell(e.rule), cell(e.formula), cell(e.meaning))
        end
      else
        w("| name | category | shape | cost | formula | meaning |")
        w("|---|---|---|---|---|---|")
        for _, e in ipairs(sec.entries) do
          w("| `%s` | %s | %s | %s | %s | %s |", cell(e.name), cell(e.category), cell(e.shape), cell(e.cost),
            cell(e.formula), cell(e.meaning))
        end
      end
    end
  end
  w("")
  return table.concat(out, "\n")
end

return M
