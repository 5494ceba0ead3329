-- spinlock.features — the four feature families of an operator, assembled from the catalog
-- modules (frame.lua, trajectory.lua, initial.lua, architecture.lua) and user formulas.
--
--   local features = require "spinlock.features"
--   local fx = features.new(cfg, { M = 3, T = 500, C = 3, G = 128, parameters = config.parameters(cfg) })
--   fx:schema()   --> { summary = { shape = {S}, names = {...} }, temporal = { shape = {M,T,D}, ... }, ... }
--   local r = fx:extract{ traj = traj, ic = ic, unit = unit, mapped = mapped, operator = op, op_index = i }
--   --> { initial = [M,Di], architecture = [A], summary = [S], temporal = [M,T,D],
--   --    quality = { <family> = uint8 tensor of the same shape } }
--
-- Assembly (docs/features-design.md has the full account):
-- * SUMMARY [S]: per-frame features [M,T,F] aggregated over time per realization (core categories
--   spatial/spectral/cross_channel: `temporal_aggregation`, default mean+std; the other per-frame
--   categories: `extra_temporal_aggregation`, default mean) then averaged over realizations;
--   then per-trajectory features [M,D] aggregated over realizations (`realization_aggregation`,
--   default mean, std, cv = std/(|mean|+1e-8)); then custom summary formulas. Blocks are
--   method-major: all `<name>_tmean`, then all `<name>_tstd`, ... then `<name>_mean`, `<name>_std`,
--   `<name>_cv`.
-- * TEMPORAL [M,T,D]: derived curves (column 1 = `variance`, the channel-mean unbiased spatial
--   variance), then the per-frame features of `temporal.categories`, then custom temporal formulas.
-- * Every aggregation uses the finite values only. Quality per value: 0 = computed from all its
--   inputs, 1 = not computable (NaN/Inf stored: no finite input, std of one value, ...),
--   2 = computed but some inputs were NaN/Inf and were skipped. Nothing is NaN silently.
-- * All arithmetic is whole-tensor (sl reductions and elementwise ops): no per-element Lua.
local sl = require "spinlock"
local fconfig = require "spinlock.features.config"
local registry = require "spinlock.features.registry"
local custom = require "spinlock.features.custom"

local M = {}
local fmt = string.format

M.config = fconfig
M.registry = registry
M.custom = custom
M.register = custom.register
M.load_file = custom.load_file
M.FAMILIES = fconfig.FAMILIES
M.QUALITY = { ok = 0, missing = 1, partial = 2 }
M.EPS_CV = 1e-8

local MODULES = { "frame", "trajectory", "initial", "architecture" }

-- catalog modules: overrides from opts.modules, else require; a missing module is nil (an
-- error is raised only when an enabled family needs it)
local function load_modules(over)
  local mods, why = {}, {}
  for _, n in ipairs(MODULES) do
    if over and over[n] ~= nil then
      mods[n] = over[n] or nil
    else
      local ok, m = pcall(require, "spinlock.features." .. n)
      if ok then mods[n] = m
      elseif tostring(m):find("module 'spinlock.features." .. n .. "' not found", 1, true) then why[n] = "not installed"
      else error(m, 0) end
    end
  end
  return mods, why
end
M._load_modules = load_modules

local function need(self, mod, family)
  local m = self.modules[mod]
  if not m then
    error(fmt("features: the %s family needs the catalog module spinlock.features.%s, which is %s; " ..
      "disable the family (features.%s: false) or build a spinlock that has it", family, mod,
      self.missing[mod] or "not available", family), 0)
  end
  return m
end

local function shallow(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

-- contiguous runs {first, len} of sorted 1-based column indices
local function runs_of(cols)
  local runs = {}
  for _, c in ipairs(cols) do
    local r = runs[#runs]
    if r and r[1] + r[2] == c then r[2] = r[2] + 1 else runs[#runs + 1] = { c, 1 } end
  end
  return runs
end

-- x[..., cols] along the last dim, as a new contiguous tensor (one copy per run of columns)
local function gather_last(x, runs, width)
  local shape = x:shape()
  local d = #shape
  if #runs == 1 and runs[1][1] == 1 and runs[1][2] == shape[d] then return x end
  shape[d] = width
  local out = sl.empty(shape, "float32")
  local off = 1
  for _, r in ipairs(runs) do
    out:narrow(d, off, r[2]):copy(x:narrow(d, r[1], r[2]))
    off = off + r[2]
  end
  return out
end

local function check_tensor(t, what, shape)
  if not sl.is_tensor(t) then
    error(fmt("features: %s must be a tensor of shape [%s], found %s", what, table.concat(shape, ","), type(t)), 3)
  end
  local s = t:shape()
  local ok = #s == #shape
  for i = 1, #shape do if shape[i] ~= "?" and s[i] ~= shape[i] then ok = false end end
  if not ok then
    local ss = {}
    for i, v in ipairs(s) do ss[i] = tostring(v) end
    error(fmt("features: %s must have shape [%s], found [%s]", what, table.concat(shape, ","), table.concat(ss, ",")), 3)
  end
end

---------------------------------------------------------------------------------------------------
-- finite-only aggregation

local NAN = 0 / 0

--- agg(x, dim, method) -> value (dim removed), partial (uint8: some inputs were not finite)
-- methods: mean, std (unbiased; NaN with < 2 finite values), cv = std/(|mean| + 1e-8), min, max.
function M.aggregate(x, dim, method)
  local ok = x:isfinite()
  local okf = ok:float()
  local n = okf:sum(dim, true)
  local total = x:size(dim)
  local val
  if method == "min" or method == "max" then
    local fill = method == "min" and math.huge or -math.huge
    local v = sl.where(ok, x, fill)
    v = method == "min" and v:amin(dim, true) or v:amax(dim, true)
    val = sl.where(n:gt(0), v, NAN)
  else
    local mean = sl.where(ok, x, 0):sum(dim, true) / n
    if method == "mean" then
      val = mean
    elseif method == "std" or method == "cv" then
      local dev = sl.where(ok, x - mean, 0)
      local var = (dev * dev):sum(dim, true) / (n - 1)
      local std = sl.where(n:ge(2), var, NAN):sqrt()
      val = method == "std" and std or std / (mean:abs() + M.EPS_CV)
    else
      error("features.aggregate: unknown method " .. tostring(method), 2)
    end
  end
  return val:squeeze(dim), n:lt(total):squeeze(dim)
end

-- quality codes from a value tensor and a partial mask (uint8)
local function quality_of(val, partial)
  local q = sl.where(val:isfinite(), partial:float() * 2, 1)
  return q:to("uint8")
end
M._quality_of = quality_of

local function finite_quality(t)
  return t:isfinite():logical_not():to("uint8")
end

---------------------------------------------------------------------------------------------------
-- TEMPORAL derived curves: each a function(traj [M,T,C,G,G] float32 contiguous) -> [M,T]

local DERIVED = {
  variance = {
    formula = "mean over channels c of var_HW(u_c) (unbiased, divide by G²−1)",
    meaning = "spatial heterogeneity of the field; growth means structure is forming or the field is blowing up",
    fn = function(traj, Mr, T, C, G) return traj:view(Mr, T, C, G * G):var(4):mean(3) end,
  },
  energy = {
    formula = "sqrt(Σ_{c,y,x} u²) (L2 norm of the frame over all channels)",
    meaning = "overall amplitude of the state",
    fn = function(traj) return traj:norm(2, { 3, 4, 5 }) end,
  },
  total_variance = {
    formula = "var over all C·G·G values of the frame jointly (unbiased); the reference's misnamed 'smoothness_trajectory'",
    meaning = "spread of values across space and channels, including differences between channel means",
    fn = function(traj, Mr, T, C, G) return traj:view(Mr, T, C * G * G):var(3) end,
  },
  mean = {
    formula = "mean over c, y, x of u",
    meaning = "drift of the field's average level",
    fn = function(traj) return traj:mean({ 3, 4, 5 }) end,
  },
  change_rate = {
    formula = "sqrt(mean_{c,y,x} (u_t − u_{t−1})²); 0 at the first frame (no predecessor)",
    meaning = "how fast the state changes per step; 0 = frozen dynamics",
    fn = function(traj, Mr, T, C, G)
      local out = sl.zeros({ Mr, T }, "float32")
      -- frame differences in blocks of frames: the temporary stays a fraction of the trajectory
      local step = 32
      for t0 = 2, T, step do
        local len = math.min(step, T - t0 + 1)
        local d = traj:narrow(2, t0, len) - traj:narrow(2, t0 - 1, len)
        out:narrow(2, t0, len):copy(d:norm(2, { 3, 4, 5 }) / math.sqrt(C * G * G))
      end
      return out
    end,
  },
}
M.DERIVED = DERIVED

---------------------------------------------------------------------------------------------------
-- extractor

local Extractor = {}
Extractor.__index = Extractor

-- how the aggregation methods read in a column's formula text
local METHOD_TEXT = { std = "unbiased std (n − 1)", cv = "std/(|mean|+1e-8) (unbiased std)" }

-- registry entries for custom formulas: one per output name
local function add_customs(reg, entries)
  for _, e in ipairs(entries) do
    for _, n in ipairs(e.names) do
      reg:add { name = n, category = e.category, source = e.source, formula = e.formula, meaning = e.meaning }
    end
  end
end

local function positive_int(v, what)
  if type(v) ~= "number" or v < 1 or v % 1 ~= 0 then
    error(fmt("features.new: %s must be a positive integer, found %s", what, tostring(v)), 3)
  end
  return v
end

--- features.new(cfg, dims) -> extractor
-- cfg: experiment config (config.load), its `features` section, or nil for the defaults.
-- dims: { M =, T =, C = 3, G =, parameters = <config.parameters(cfg)>, seed =,
--         custom = {entries or file paths}, modules = {frame=, ...} (test doubles) }
function M.new(cfg, dims)
  dims = dims or {}
  local mods, missing = load_modules(dims.modules)
  local fc = fconfig.from(cfg, { modules = mods })
  local self = setmetatable({ fcfg = fc, modules = mods, missing = missing, registries = {} }, Extractor)
  self.M = positive_int(dims.M, "M (realizations)")
  self.T = positive_int(dims.T, "T (frames)")
  self.C = positive_int(dims.C or 3, "C (channels)")
  self.G = positive_int(dims.G, "G (grid size)")
  self.parameters = dims.parameters or (cfg and cfg.parameters) or {}
  self.seed = dims.seed or (cfg and cfg.sampling and cfg.sampling.sobol and cfg.sampling.sobol.seed) or 0
  local o = fc.options

  -- custom formulas: process-wide ones, config files, dims.custom (entries or paths).  Files
  -- named in the config are looked up next to the config file first (dims.custom_base, else the
  -- folder of cfg.source.path), then in the working directory; command-line files as given.
  local customs = custom.registered()
  self.custom_files = {}
  local base = dims.custom_base
  if base == nil and cfg and type(cfg.source) == "table" and type(cfg.source.path) == "string" then
    local fh = io.open(cfg.source.path, "r")
    if fh then fh:close(); base = cfg.source.path:match("^(.*)/[^/]*$") or "." end
  end
  local function add_custom(list, from_config)
    for _, x in ipairs(list or {}) do
      if type(x) == "string" then
        local p = from_config and custom.resolve(x, base) or x
        self.custom_files[#self.custom_files + 1] = p
        for _, e in ipairs(custom.load_file(p)) do customs[#customs + 1] = e end
      else
        customs[#customs + 1] = x._checked and x or custom.check(x)
      end
    end
  end
  add_custom(fc.custom, true)
  add_custom(dims.custom, false)
  self.customs = { summary = {}, temporal = {} }
  for _, e in ipairs(customs) do table.insert(self.customs[e.family], e) end

  -- per-frame features: one frame pass with the union of the categories SUMMARY and TEMPORAL use
  local fcats = {}
  for _, c in ipairs(fconfig.FRAME_CATEGORIES) do
    fcats[c] = (fc.summary and o.summary.categories[c]) or (fc.temporal and o.temporal.categories[c]) or false
  end
  local any_frame = false
  for _, v in pairs(fcats) do any_frame = any_frame or v end
  if any_frame then
    local frame = need(self, "frame", fc.summary and "summary" or "temporal")
    self.frame_opts = shallow(o.summary.frame)
    self.frame_opts.categories = fcats
    self.frame_catalog = frame.catalog(self.frame_opts)
    self.frame_width = #self.frame_catalog
  end

  -- SUMMARY
  if fc.summary then
    local reg = registry.new("summary")
    local so = o.summary
    local core, extra = {}, {}
    for i, e in ipairs(self.frame_catalog or {}) do
      if so.categories[e.category] then
        if fconfig.CORE_FRAME_CATEGORIES[e.category] then core[#core + 1] = i else extra[#extra + 1] = i end
      elseif fcats[e.category] == nil then
        error(fmt("features: frame catalog entry '%s' has category '%s', which is not a known per-frame category",
          e.name, tostring(e.category)), 2)
      end
    end
    self.sum_blocks = {}
    local function frame_blocks(cols, methods)
      if #cols == 0 then return end
      for _, m in ipairs(methods) do
        self.sum_blocks[#self.sum_blocks + 1] = { kind = "frame", cols = cols, runs = runs_of(cols), method = m }
        for _, i in ipairs(cols) do
          local e = self.frame_catalog[i]
          local what = METHOD_TEXT[m] or m
          reg:add { name = e.name .. "_t" .. m, category = e.category, source = "frame",
                    formula = fmt("%s over time of [%s], then mean over realizations", what, e.formula or e.name),
                    meaning = e.meaning }
        end
      end
    end
    frame_blocks(core, so.temporal_aggregation)
    frame_blocks(extra, so.extra_temporal_aggregation)

    local tcats = {}
    local any_traj = false
    for _, c in ipairs(fconfig.TRAJ_CATEGORIES) do
      tcats[c] = so.categories[c] or false
      any_traj = any_traj or tcats[c]
    end
    if any_traj then
      local traj = need(self, "trajectory", "summary")
      self.traj_opts = shallow(so.trajectory)
      self.traj_opts.categories = tcats
      self.traj_catalog = traj.catalog(self.traj_opts)
      self.traj_blocks = {}
      for j, m in ipairs(so.realization_aggregation) do
        local cols = {}
        for i, e in ipairs(self.traj_catalog) do
          if j == 1 or not fconfig.PER_OPERATOR_CATEGORIES[e.category] then
            cols[#cols + 1] = i
            local what = METHOD_TEXT[m] or m
            if fconfig.PER_OPERATOR_CATEGORIES[e.category] then what = what .. " (one value per operator)" end
            reg:add { name = e.name .. "_" .. m, category = e.category, source = "trajectory",
                      formula = fmt("%s over realizations of [%s]", what, e.formula or e.name), meaning = e.meaning }
          end
        end
        if #cols > 0 then self.traj_blocks[#self.traj_blocks + 1] = { cols = cols, runs = runs_of(cols), method = m } end
      end
    end
    add_customs(reg, self.customs.summary)
    if reg:width() == 0 then
      sl.user_error("features.summary: every category is off and there are no custom summary formulas, so SUMMARY " ..
        "would have no columns; switch the family off instead (features.summary: false)")
    end
    self.registries.summary = reg
  end

  -- TEMPORAL
  if fc.temporal then
    local reg = registry.new("temporal")
    local to = o.temporal
    for _, n in ipairs(to.derived) do
      local d = DERIVED[n]
      reg:add { name = n, category = "derived", source = "assembly", formula = d.formula, meaning = d.meaning }
    end
    local cols = {}
    for i, e in ipairs(self.frame_catalog or {}) do
      if to.categories[e.category] then
        cols[#cols + 1] = i
        reg:add { name = e.name, category = e.category, source = "frame", formula = e.formula, meaning = e.meaning }
      end
    end
    self.tmp_cols, self.tmp_runs = cols, runs_of(cols)
    add_customs(reg, self.customs.temporal)
    self.registries.temporal = reg
  end

  -- INITIAL
  if fc.initial then
    local ini = need(self, "initial", "initial")
    self.initial_opts = shallow(o.initial)
    local reg = registry.new("initial")
    for _, e in ipairs(ini.catalog(self.initial_opts)) do
      reg:add { name = e.name, category = e.category, formula = e.formula, meaning = e.meaning, source = "initial" }
    end
    self.registries.initial = reg
  end

  -- ARCHITECTURE
  if fc.architecture then
    local arch = need(self, "architecture", "architecture")
    self.arch_opts = shallow(o.architecture)
    local reg = registry.new("architecture")
    for _, e in ipairs(arch.catalog(self.arch_opts, self.parameters)) do
      reg:add { name = e.name, category = e.category, formula = e.formula, meaning = e.meaning, source = "architecture" }
    end
    self.registries.architecture = reg
  end
  return self
end

function Extractor:schema()
  local s = {}
  local r = self.registries
  if r.initial then s.initial = { shape = { self.M, r.initial:width() }, names = r.initial:names() } end
  if r.architecture then s.architecture = { shape = { r.architecture:width() }, names = r.architecture:names() } end
  if r.summary then s.summary = { shape = { r.summary:width() }, names = r.summary:names() } end
  if r.temporal then
    s.temporal = { shape = { self.M, self.T, r.temporal:width() }, names = r.temporal:names() }
  end
  return s
end

function Extractor:families()
  local out = {}
  for _, f in ipairs(M.FAMILIES) do if self.registries[f] then out[#out + 1] = f end end
  return out
end

-- per-frame features [M,T,F] of the trajectory (shared by SUMMARY and TEMPORAL)
function Extractor:_frames(traj)
  if not self.frame_catalog then return nil end
  local pf = self.modules.frame.compute(traj, self.frame_opts)
  check_tensor(pf, "frame.compute result", { self.M, self.T, self.frame_width })
  return pf:float()
end

function Extractor:_summary(traj, pf, ctx)
  local reg = self.registries.summary
  local S = reg:width()
  local val = sl.empty({ S }, "float32")
  local qual = sl.empty({ S }, "uint8")
  local off = 1
  for _, b in ipairs(self.sum_blocks) do
    local w = #b.cols
    local x = gather_last(pf, b.runs, w)                       -- [M,T,w]
    local per_real, p1 = M.aggregate(x, 2, b.method)          -- [M,w]
    local v, p2 = M.aggregate(per_real, 1, "mean")            -- [w]
    local partial = sl.maximum(p1:amax(1), p2)
    val:narrow(1, off, w):copy(v)
    qual:narrow(1, off, w):copy(quality_of(v, partial))
    off = off + w
  end
  if self.traj_catalog then
    local tr = self.modules.trajectory.compute(traj, self.traj_opts, ctx)
    local w = #self.traj_catalog
    check_tensor(tr, "trajectory.compute result", { self.M, w })
    tr = tr:float()
    for _, b in ipairs(self.traj_blocks) do
      local bw = #b.cols
      local v, p = M.aggregate(gather_last(tr, b.runs, bw), 1, b.method)
      val:narrow(1, off, bw):copy(v)
      qual:narrow(1, off, bw):copy(quality_of(v, p))
      off = off + bw
    end
  end
  for _, e in ipairs(self.customs.summary) do
    local r = custom.run(e, traj, ctx.op_index)
    local w = #e.names
    val:narrow(1, off, w):copy(r)
    qual:narrow(1, off, w):copy(finite_quality(r))
    off = off + w
  end
  assert(off == S + 1, "summary assembly width mismatch")
  return val, qual
end

function Extractor:_temporal(traj, pf, ctx)
  local reg = self.registries.temporal
  local Mr, T, C, G = self.M, self.T, self.C, self.G
  local out = sl.empty({ Mr, T, reg:width() }, "float32")
  local off = 1
  for _, n in ipairs(self.fcfg.options.temporal.derived) do
    out:select(3, off):copy(DERIVED[n].fn(traj, Mr, T, C, G))
    off = off + 1
  end
  local w = #self.tmp_cols
  if w > 0 then
    out:narrow(3, off, w):copy(gather_last(pf, self.tmp_runs, w))
    off = off + w
  end
  for _, e in ipairs(self.customs.temporal) do
    local r = custom.run(e, traj, ctx.op_index)
    out:narrow(3, off, #e.names):copy(r)
    off = off + #e.names
  end
  return out, finite_quality(out)
end

--- extract{traj=, ic=, unit=, mapped=, mapped_row=, operator=, op_index=, seed=} -> families + quality
-- traj [M,T,C,G,G] is needed by summary/temporal, ic [C,G,G] or [M,C,G,G] by initial,
-- unit [P] by architecture (with the mapped values as a {name = value} table in mapped_row or
-- mapped, when the caller has them; a mapped tensor is ignored and `unit` decoded instead).
function Extractor:extract(a)
  local out, quality = {}, {}
  local r = self.registries
  local ic = a.ic
  if sl.is_tensor(ic) and ic:dim() == 4 then ic = ic:select(1, 1) end
  local ctx = { operator = a.operator, op_index = a.op_index, seed = a.seed or self.seed, ic = ic }
  if r.summary or r.temporal then
    check_tensor(a.traj, "traj", { self.M, self.T, self.C, self.G, self.G })
    local traj = a.traj:float():contiguous()
    local pf = self:_frames(traj)
    if r.summary then out.summary, quality.summary = self:_summary(traj, pf, ctx) end
    if r.temporal then out.temporal, quality.temporal = self:_temporal(traj, pf, ctx) end
  end
  if r.initial then
    if not sl.is_tensor(a.ic) then error("features: extract needs `ic` ([C,G,G] or [M,C,G,G]) for the initial family", 2) end
    local v = self.modules.initial.compute(a.ic, self.initial_opts, self.M)
    check_tensor(v, "initial.compute result", { self.M, r.initial:width() })
    out.initial = v:float()
    quality.initial = finite_quality(out.initial)
  end
  if r.architecture then
    if not sl.is_tensor(a.unit) then error("features: extract needs `unit` ([P] unit-cube values) for the architecture family", 2) end
    -- architecture.lua takes the mapped values as {name = value}; without them it decodes `unit`
    local mapped = a.mapped_row or (type(a.mapped) == "table" and not sl.is_tensor(a.mapped) and a.mapped) or nil
    local v = self.modules.architecture.compute(a.unit, mapped, self.parameters, self.arch_opts)
    check_tensor(v, "architecture.compute result", { r.architecture:width() })
    out.architecture = v:float()
    quality.architecture = finite_quality(out.architecture)
  end
  out.quality = quality
  return out
end

--- markdown([config_path [, dims]]) -> text of docs/features.md for that experiment config
-- (default: the reference baseline, configs/experiments/baseline_10k.yaml), every family on.
M.DOC_CONFIG = "configs/experiments/baseline_10k.yaml"
function M.doc_config_file()
  return require("spinlock.paths").configs .. "/experiments/baseline_10k.yaml"
end

function M.markdown(config_path, dims)
  -- the default is read from the installation (any cwd) but named as in the repository
  local load_path = config_path or M.doc_config_file()
  config_path = config_path or M.DOC_CONFIG
  local config = require "spinlock.config"
  local cfg = config.load(load_path, nil, { warn = false })
  local fc = fconfig.from(cfg)
  local sec = {}
  for k, v in pairs(fc) do sec[k] = v end
  for _, fam in ipairs(M.FAMILIES) do sec[fam] = true end
  sec.custom = {}
  dims = dims or {}
  -- families whose catalog module is not in this build are left out and named in the page
  local mods = load_modules(dims.modules)
  local missing = {}
  if not mods.frame then
    missing[#missing + 1] = "frame (per-frame SUMMARY categories, TEMPORAL)"
    for _, c in ipairs(fconfig.FRAME_CATEGORIES) do sec.options.summary.categories[c] = false end
    sec.temporal = false
  end
  if not mods.trajectory then
    missing[#missing + 1] = "trajectory (per-trajectory SUMMARY categories)"
    for _, c in ipairs(fconfig.TRAJ_CATEGORIES) do sec.options.summary.categories[c] = false end
  end
  if not mods.initial then missing[#missing + 1] = "initial (INITIAL)"; sec.initial = false end
  if not mods.architecture then missing[#missing + 1] = "architecture (ARCHITECTURE)"; sec.architecture = false end
  local grid = config.parameter(cfg, "grid_size")
  local d = {
    M = dims.M or cfg.simulation.num_realizations, T = dims.T or cfg.simulation.num_timesteps, C = 3,
    G = dims.G or (grid and grid.choices and grid.choices[1]) or config.UNSAMPLED_DEFAULTS.grid_size,
    parameters = config.parameters(cfg), modules = mods,
  }
  -- a variant with every optional category and option on: the names other configurations add
  local function deep(t)
    if type(t) ~= "table" then return t end
    local c = {}
    for k, v in pairs(t) do c[k] = deep(v) end
    return c
  end
  local var = deep(sec)
  if mods.frame then
    for _, c in ipairs(fconfig.FRAME_CATEGORIES) do var.options.summary.categories[c] = true; var.options.temporal.categories[c] = true end
  end
  if mods.trajectory then
    for _, c in ipairs(fconfig.TRAJ_CATEGORIES) do var.options.summary.categories[c] = true end
    var.options.summary.trajectory = var.options.summary.trajectory or {}
    var.options.summary.trajectory.include_pacf = true
  end
  local saved = custom.registered()
  custom.clear()
  local ok, fx = pcall(M.new, { features = sec, parameters = cfg.parameters }, d)
  local okv, fxv = pcall(M.new, { features = var, parameters = cfg.parameters }, d)
  for _, e in ipairs(saved) do custom.register(e) end
  if not ok then error(fx, 0) end
  if not okv then error(fxv, 0) end
  local extra = {}
  for _, fam in ipairs({ "summary", "temporal" }) do
    local main, v = fx.registries[fam], fxv.registries[fam]
    if main and v then
      local entries = {}
      for _, e in ipairs(v:entries()) do if not main:get(e.name) then entries[#entries + 1] = e end end
      if #entries > 0 then
        extra[#extra + 1] = { title = fam:upper() .. ": optional categories and options", entries = entries,
          text = fam == "summary"
            and ("Off in this configuration: the `nonlinear` category (`features.summary.categories.nonlinear: true`, " ..
                 "its columns after invariant_drift in each `_<method>` block) and `pacf_lag_<k>` for k = 1..`pacf_max_lag` " ..
                 "(`features.summary.trajectory.include_pacf: true`, after the temporal block). Other aggregation " ..
                 "methods (`min`, `max`, `cv` over time; `min`, `max` over realizations) add `<name>_t<method>` / " ..
                 "`<name>_<method>` blocks; other `rolling_fractions`, `max_lag_*`, `num_scales` and sensitivity lists " ..
                 "change the numbers in the names as their formulas say.")
            or ("Per-frame categories enabled in `features.temporal.categories` (default spatial, spectral, " ..
                "cross_channel) are stored per frame under their per-frame names, in catalog order.") }
      end
    end
  end
  if mods.architecture and mods.architecture.patterns then
    extra[#extra + 1] = { title = "ARCHITECTURE: every column and when it exists", rule_column = true,
      entries = mods.architecture.patterns(),
      text = "The columns follow the parameter space: a parameter that is not sampled has no column, and a " ..
             "choice parameter has one one-hot column per choice (`op_grid_<choice>`, `arch_activation_<choice>`, " ..
             "`evol_policy_<choice>`, ...). Column order is the order of this table." }
  end
  return registry.markdown(fx, { config = config_path, missing = missing, extra = extra,
    dims = fmt("M=%d, T=%d, C=%d, G=%d, P=%d parameters", d.M, d.T, d.C, d.G, #d.parameters) })
end

return M
