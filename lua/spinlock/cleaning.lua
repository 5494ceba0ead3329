-- spinlock.cleaning — tokenizer input: loading feature families from dataset files, and the
-- feature-cleaning rules (spec/vqvae.md §1 with the §9 fixes).  docs/tokenizer-data.md has the
-- full description; in short:
--
--   local cleaning = require "spinlock.cleaning"
--   local X, names, layout = cleaning.load({"a.h5", "b.h5"}, {families = {"architecture", "summary"}})
--   local cl = cleaning.Cleaner{normalization = "standard"}
--   local Xc = cl:fit(X, names)           -- fitted on these rows; returns the cleaned matrix
--   local Yc = cl:transform(Y)            -- the same transform on new rows (raw columns)
--   local s = cl:state()                  -- plain table + tensors; cleaning.from_state(s)
--
-- Rules, in order (each over whole columns, with C kernels doing the arithmetic):
--   1. ±Inf → NaN.
--   2. Drop columns with more than nan_max_fraction NaNs (default 0.5; all-NaN columns always).
--   3. Variance filter: keep a column iff its NaN-ignoring population std > variance_threshold.
--   4. Impute each NaN with its column's NaN-ignoring median (numpy rule).
--   5. De-duplicate: Pearson r of the imputed columns; greedy scan i = 1, 2, …: a kept column i
--      removes every later column j with |r_ij| > dedup_threshold (the earliest is kept).
--   6. MAD clipping: med ± k·MAD per column, MAD = median|x − med| (raw, no 1.4826); if
--      MAD < 1e-10 it is floored to max(0.01·|med|, 1e-6) (spec §1.4).  k = mad_k (5); nil/false
--      disables clipping.
--   7. Normalise: "standard" (population mean / std, std < 1e-8 → 1), "robust" (median / IQR,
--      IQR < 1e-8 → 1) or "none".
-- The fitted state (kept raw columns, medians, clip bounds, centre/scale, names) is saved, so
-- transform() applies exactly the same map to new rows.
local sl = require "spinlock"
local C = sl._cluster

local cleaning = {}
local NaN = 0 / 0

-- ---------------------------------------------------------------- loading

local FAMILY_ALIASES = { sdf = "summary" }
local ALL_FAMILIES = { "architecture", "initial", "summary", "temporal" }
cleaning.families = ALL_FAMILIES

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

-- Path of a family in file f (accepts the reference's group layout and the sdf alias).
local function family_path(f, fam)
  local cands = { "features/" .. fam }
  for alias, canon in pairs(FAMILY_ALIASES) do
    if canon == fam then cands[#cands + 1] = "features/" .. alias end
  end
  for _, p in ipairs(cands) do
    if f:exists(p) then
      local info = f:info(p)
      if info.kind == "dataset" then return p end
      if f:exists(p .. "/aggregated/features") then return p .. "/aggregated/features" end
    end
  end
  return nil
end

-- Pools one family's stored block to [N, F'] per operator and returns it with its names.
--   initial   [N, M, F]    → mean over realizations                 names initial_<f>
--   architecture / summary [N, F] → as stored                       names <family>_<f>
--   temporal  [N, M, T, F] → for each feature three columns: mean over (realization, time),
--             mean over realizations of the population std over time, and mean over
--             realizations of the per-step slope (x[T] − x[1]) / (T − 1) (NaN when T = 1)
--                                                                  names temporal_<f>_{mean,std,slope}
function cleaning.pool_family(fam, data, raw_names)
  local nd = data:dim()
  local F = data:size(nd)
  local base = {}
  for j = 1, F do base[j] = fam .. "_" .. ((raw_names and raw_names[j]) or tostring(j - 1)) end
  if fam == "initial" then
    if nd ~= 3 then error("cleaning.load: features/initial must be [N, M, F], got " .. shape_str(data), 3) end
    return data:float():mean(2), base
  elseif fam == "temporal" then
    if nd ~= 4 then error("cleaning.load: features/temporal must be [N, M, T, F], got " .. shape_str(data), 3) end
    local x = data:float()
    local N, T = x:size(1), x:size(3)
    local mean = x:mean({ 2, 3 })
    local std = x:std(3, false):mean(2)
    local slope
    if T > 1 then
      slope = ((x:select(3, T) - x:select(3, 1)) / (T - 1)):mean(2)
    else
      slope = sl.full({ N, F }, NaN)
    end
    local out = sl.zeros(N, 3 * F)
    local v = out:view(N, F, 3)
    v:select(3, 1):copy(mean); v:select(3, 2):copy(std); v:select(3, 3):copy(slope)
    local names = {}
    for j = 1, F do
      names[3 * j - 2] = base[j] .. "_mean"; names[3 * j - 1] = base[j] .. "_std"; names[3 * j] = base[j] .. "_slope"
    end
    return out, names
  else
    if nd ~= 2 then error(("cleaning.load: features/%s must be [N, F], got %s"):format(fam, shape_str(data)), 3) end
    return data:float(), base
  end
end

-- "architecture 5, summary 10" — a file's families and their pooled widths.
local function schema_str(fl)
  local parts = {}
  for _, f in ipairs(fl) do parts[#parts + 1] = f.name .. " " .. f.count end
  return #parts > 0 and table.concat(parts, ", ") or "none"
end

-- Rows of several files can only be stacked when they give the same columns.  The error (a user
-- error: it is about the data, not a bug) names both files, the first difference — a missing
-- family, a family of another width, or a column of another name — and both schemas.
local function check_same_schema(p1, fl1, names1, p2, fl2, names2)
  local function fail(what)
    sl.user_error("cleaning.load: the feature schemas of %s and %s differ: %s (%s: %s; %s: %s)",
      p1, p2, what, p1, schema_str(fl1), p2, schema_str(fl2))
  end
  local by1, by2 = {}, {}
  for _, f in ipairs(fl1) do by1[f.name] = f end
  for _, f in ipairs(fl2) do by2[f.name] = f end
  for _, f in ipairs(fl1) do
    if not by2[f.name] then fail(("%s has no features/%s"):format(p2, f.name)) end
  end
  for _, f in ipairs(fl2) do
    if not by1[f.name] then fail(("%s has no features/%s"):format(p1, f.name)) end
  end
  for _, f in ipairs(fl1) do
    if by2[f.name].count ~= f.count then
      fail(("features/%s gives %d columns in %s but %d in %s"):format(f.name, f.count, p1, by2[f.name].count, p2))
    end
  end
  for j = 1, #names1 do
    if names1[j] ~= names2[j] then
      fail(("column %d is '%s' in %s but '%s' in %s"):format(j, names2[j], p2, names1[j], p1))
    end
  end
end

-- load(paths, opts) → X float32 [N, D], names {D}, layout
--   paths: a file name or a list (rows are stacked in order; every file must give the same
--   columns).  opts.families: list (default all four, in the order architecture, initial,
--   summary, temporal); opts.optional = true skips families a file lacks instead of failing.
--   layout = {families = {{name=, first=, count=}}, files = {{path=, first_row=, rows=}}}.
function cleaning.load(paths, opts)
  opts = opts or {}
  if type(paths) == "string" then paths = { paths } end
  if type(paths) ~= "table" or #paths == 0 then error("cleaning.load: expected a file name or a list of them", 2) end
  local fams = opts.families or ALL_FAMILIES
  local blocks_per_file, names, layout = {}, nil, { families = {}, files = {} }
  local total_rows = 0
  for fi, path in ipairs(paths) do
    local blocks, fnames, fl = {}, {}, {}
    local fh = io.open(path, "rb")
    if not fh then sl.user_error("%s: no such file", path) end
    local magic = fh:read(8) or ""
    fh:close()
    if magic ~= "\137HDF\r\n\026\n" then
      sl.user_error("%s is not an HDF5 file (expected a dataset written by spinlock generate)", path)
    end
    sl.h5.with(path, "r", function(f)
      if not f:exists("features") then
        local top = {}
        for _, e in ipairs(f:list("/")) do top[#top + 1] = e.name end
        sl.user_error("%s has no features/ group, so there are no operator features to read (it holds: %s); "
          .. "make a dataset with features (spinlock generate, or spinlock extract-features)",
          path, #top > 0 and table.concat(top, ", ") or "nothing")
      end
      for _, fam0 in ipairs(fams) do
        local fam = FAMILY_ALIASES[fam0] or fam0
        local p = family_path(f, fam)
        if not p then
          if not opts.optional then
            local l = {}
            for _, e in ipairs(f:list("features")) do l[#l + 1] = e.name end
            sl.user_error("%s has no features/%s (families present: %s)", path, fam,
              #l > 0 and table.concat(l, ", ") or "none")
          end
        else
          local ok, raw = pcall(f.attr, f, p, "feature_names")
          local data = f:read(p)
          local block, bn = cleaning.pool_family(fam, data, ok and type(raw) == "table" and raw or nil)
          fl[#fl + 1] = { name = fam, first = #fnames + 1, count = #bn }
          for _, n in ipairs(bn) do fnames[#fnames + 1] = n end
          blocks[#blocks + 1] = block
        end
      end
    end)
    if #blocks == 0 then
      sl.user_error("%s has none of the feature families %s under features/", path, table.concat(fams, ", "))
    end
    local rows = blocks[1]:size(1)
    for _, b in ipairs(blocks) do
      if b:size(1) ~= rows then error(("cleaning.load: %s: families have different row counts (%d vs %d)"):format(path, rows, b:size(1)), 2) end
    end
    if not names then
      names, layout.families = fnames, fl
    else
      check_same_schema(paths[1], layout.families, names, path, fl, fnames)
    end
    blocks_per_file[fi] = blocks
    layout.files[fi] = { path = path, first_row = total_rows + 1, rows = rows }
    total_rows = total_rows + rows
  end
  local X = sl.zeros(total_rows, #names)
  for fi, blocks in ipairs(blocks_per_file) do
    local rows = X:narrow(1, layout.files[fi].first_row, layout.files[fi].rows)
    for bi, b in ipairs(blocks) do
      rows:narrow(2, layout.families[bi].first, layout.families[bi].count):copy(b)
    end
  end
  return X, names, layout
end

-- ---------------------------------------------------------------- cleaning steps
-- Each step is a whole-tensor function, exposed for specs and custom pipelines.
local steps = {}
cleaning.steps = steps

function steps.inf_to_nan(X) return sl.where(sl.isinf(X), NaN, X) end

-- Fraction of NaNs per column (float64 [D]).
function steps.nan_fraction(X)
  return sl.isnan(X):sum(1):double() / X:size(1)
end

-- NaN-ignoring population std per column (float64 [D]; NaN for an all-NaN column).
function steps.nanstd(X)
  local x = X:double()
  local m = sl.nanmean(x, 1)
  return sl.nanmean((x - m) * (x - m), 1):sqrt()
end

function steps.nanmedian(X) return C.nanquantile(X, 0.5) end

function steps.impute(X, med)
  return sl.where(sl.isnan(X), med:to(X:dtype()):view(1, X:size(2)):expand(X:size(1), X:size(2)), X)
end

-- Greedy de-duplication over a correlation matrix R [D, D]: returns the kept column numbers.
function steps.dedup(R, threshold)
  local D = R:size(1)
  local r = R:totable()
  local removed, keep = {}, {}
  for i = 1, D do
    if not removed[i] then
      keep[#keep + 1] = i
      local ri = r[i]
      for j = i + 1, D do
        if not removed[j] and math.abs(ri[j]) > threshold then removed[j] = true end
      end
    end
  end
  return keep
end

-- Clip bounds med ± k·MAD (MAD floor as spec §1.4): lo, hi float64 [D].
function steps.mad_bounds(X, k)
  local med = C.nanquantile(X, 0.5)
  local dev = (X:double() - med):abs()
  local mad = C.nanquantile(dev, 0.5)
  local floor = sl.maximum(med:abs() * 0.01, 1e-6)
  mad = sl.where(sl.lt(mad, 1e-10), floor, mad)
  return med - mad * k, med + mad * k
end

function steps.clip(X, lo, hi)
  local dt = X:dtype()
  return sl.maximum(sl.minimum(X, hi:to(dt)), lo:to(dt))
end

-- Normalisation statistics: centre, scale float64 [D].
function steps.norm_stats(X, method)
  local D = X:size(2)
  if method == "standard" then
    local x = X:double()
    local m = x:mean(1)
    local s = x:std(1, false)
    return m, sl.where(sl.lt(s, 1e-8), 1.0, s)
  elseif method == "robust" then
    local q = C.nanquantile(X, { 0.25, 0.5, 0.75 })
    local iqr = q[3] - q[1]
    return q[2]:clone(), sl.where(sl.lt(iqr, 1e-8), 1.0, iqr)
  elseif method == "none" or method == nil then
    return sl.zeros({ D }, "float64"), sl.ones({ D }, "float64")
  end
  error("cleaning: normalization must be \"standard\", \"robust\" or \"none\", got " .. tostring(method), 3)
end

-- ---------------------------------------------------------------- Cleaner

local DEFAULTS = {
  nan_max_fraction = 0.5, variance_threshold = 1e-8, dedup_threshold = 0.99, mad_k = 5.0,
  normalization = "standard",
}

local Cleaner = {}
Cleaner.__index = Cleaner
cleaning.Cleaner_mt = Cleaner

function cleaning.Cleaner(opts)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if DEFAULTS[k] == nil then error(("cleaning.Cleaner: unknown option '%s'"):format(tostring(k)), 2) end
    o[k] = v
  end
  if o.normalization ~= "standard" and o.normalization ~= "robust" and o.normalization ~= "none" then
    error("cleaning.Cleaner: normalization must be \"standard\", \"robust\" or \"none\", got " .. tostring(o.normalization), 2)
  end
  return setmetatable({ opts = o, fitted = false }, Cleaner)
end

local function pick(tbl, idx) local r = {} for i, j in ipairs(idx) do r[i] = tbl[j] end return r end

local function check_X(X, fn, D)
  if not sl.is_tensor(X) or X:dim() ~= 2 then
    error(("cleaning.%s: expected a 2-d [rows, features] tensor, got %s"):format(fn,
      sl.is_tensor(X) and shape_str(X) or type(X)), 3)
  end
  if D and X:size(2) ~= D then
    error(("cleaning.%s: expected %d columns (as fitted), got %d"):format(fn, D, X:size(2)), 3)
  end
end

-- fit(X, names) → cleaned matrix (float32 [N, D']); records the state and a step report.
function Cleaner:fit(X, names)
  check_X(X, "fit")
  local o = self.opts
  local N, D0 = X:size(1), X:size(2)
  if names and #names ~= D0 then error(("cleaning.fit: %d names for %d columns"):format(#names, D0), 2) end
  if not names then names = {} for j = 1, D0 do names[j] = "feature_" .. (j - 1) end end
  local report = { input_columns = D0, rows = N }
  local x = steps.inf_to_nan(X:float())
  report.nan_count = sl.isnan(x):sum()
  -- 2. NaN fraction
  local frac = steps.nan_fraction(x):totable()
  local cols = {}
  for j = 1, D0 do if frac[j] <= o.nan_max_fraction and frac[j] < 1 then cols[#cols + 1] = j end end
  report.dropped_nan = D0 - #cols
  if #cols == 0 then error("cleaning.fit: every column has too many NaNs (nan_max_fraction = " .. o.nan_max_fraction .. ")", 2) end
  x = C.select_columns(x, cols)
  -- 3. variance
  local sd = steps.nanstd(x):totable()
  local keep = {}
  for j = 1, #cols do if sd[j] > o.variance_threshold then keep[#keep + 1] = j end end
  report.dropped_variance = #cols - #keep
  if #keep == 0 then error("cleaning.fit: no column has a std above variance_threshold = " .. o.variance_threshold, 2) end
  cols = pick(cols, keep)
  x = C.select_columns(x, keep)
  -- 4. impute
  local med = steps.nanmedian(x)
  x = steps.impute(x, med)
  -- 5. dedup
  if o.dedup_threshold and o.dedup_threshold < 1 then
    keep = steps.dedup(C.corr(x), o.dedup_threshold)
    report.dropped_duplicate = #cols - #keep
    cols = pick(cols, keep)
    x = C.select_columns(x, keep)
    med = C.select_columns(med:view(1, med:numel()), keep):view(#keep)
  else
    report.dropped_duplicate = 0
  end
  -- 6. clip
  local lo, hi
  if o.mad_k then
    lo, hi = steps.mad_bounds(x, o.mad_k)
    local xd = x:double()
    report.clipped = sl.lt(xd, lo):sum() + sl.gt(xd, hi):sum()
    x = steps.clip(x, lo, hi)
  else
    local Dk = #cols
    lo, hi = sl.full({ Dk }, -math.huge, "float64"), sl.full({ Dk }, math.huge, "float64")
    report.clipped = 0
  end
  -- 7. normalise
  local centre, scale = steps.norm_stats(x, o.normalization)
  x = ((x:double() - centre) / scale):float()
  report.output_columns = #cols
  self.columns, self.names_in, self.names = cols, names, pick(names, cols)
  self.medians, self.lo, self.hi, self.centre, self.scale = med:double(), lo, hi, centre, scale
  self.report, self.fitted = report, true
  return x
end

-- transform(X raw [N, D_in]) → cleaned float32 [N, D'] with the fitted state.
function Cleaner:transform(X)
  if not self.fitted then error("cleaning.transform: the cleaner is not fitted (call fit or from_state)", 2) end
  check_X(X, "transform", #self.names_in)
  local x = C.select_columns(steps.inf_to_nan(X:float()), self.columns)
  x = steps.impute(x, self.medians)
  x = steps.clip(x, self.lo, self.hi)
  return ((x:double() - self.centre) / self.scale):float()
end

-- Plain state: numbers, strings, tables and tensors only (for checkpoints).  Version 2 writes
-- `columns` (the kept raw columns) 0-based, as numpy/h5py users index them, and says so in
-- `index_base`; version 1 states (1-based columns) still load.
function Cleaner:state()
  if not self.fitted then error("cleaning.state: the cleaner is not fitted", 2) end
  local o = {}
  for k, v in pairs(self.opts) do o[k] = v end
  local function copy(t) local r = {} for i, v in ipairs(t) do r[i] = v end return r end
  local cols0 = {}
  for i, j in ipairs(self.columns) do cols0[i] = j - 1 end
  return {
    version = 2, index_base = 0, opts = o, columns = cols0, names_in = copy(self.names_in),
    names = copy(self.names),
    medians = self.medians:clone(), lo = self.lo:clone(), hi = self.hi:clone(),
    centre = self.centre:clone(), scale = self.scale:clone(),
  }
end

function cleaning.from_state(s)
  if type(s) ~= "table" or (s.version ~= 1 and s.version ~= 2) then
    error("cleaning.from_state: expected a state table of version 1 or 2, got " .. (type(s) == "table" and tostring(s.version) or type(s)), 2)
  end
  local c = cleaning.Cleaner(s.opts)
  local base = s.version == 1 and 1 or (s.index_base or 0)
  local cols = {}
  for i, j in ipairs(s.columns) do cols[i] = j + (1 - base) end
  c.columns, c.names_in, c.names = cols, s.names_in, s.names
  c.medians, c.lo, c.hi = s.medians:double(), s.lo:double(), s.hi:double()
  c.centre, c.scale = s.centre:double(), s.scale:double()
  c.fitted = true
  return c
end

return cleaning
