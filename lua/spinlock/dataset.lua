-- spinlock.dataset — the operator dataset file (HDF5): writer, resume, and reading helpers.
-- Layout and guarantees: docs/dataset-format.md.
--
--   local dataset = require "spinlock.dataset"
--   local w = dataset.create(path, layout, { force = false })      -- or dataset.resume(path, layout)
--   w:write_row(r, row)            -- r: 1-based row of this file
--   w:flush(rows_done)             -- data to disk first, then the rows_done mark
--   w:finish(); w:close()          -- marks the file complete
--
-- Every per-operator dataset has N rows from the start (fixed shape, chunked, gzip + shuffle);
-- unwritten rows read as zeros and have metadata/status 0 (pending).  `rows_done` is advanced
-- only after the rows it covers were flushed, so a killed run loses at most the rows written
-- since the last flush, and `resume` restarts right after the last flushed row.
local sl = require "spinlock"
local h5 = require "spinlock.h5"

local M = {}

M.FORMAT = "spinlock-operators"
M.FORMAT_VERSION = 1
M.STATUS = { pending = 0, ok = 1, diverged = 2 }
M.STATUS_NAMES = { [0] = "pending", [1] = "ok", [2] = "diverged" }
M.CHANNELS = 3
-- The `meaning` attribute of every features/<family>_quality dataset.
M.QUALITY_MEANING = "0 = ok, 1 = not computable (NaN/Inf stored), 2 = computed from the finite inputs only (some were NaN/Inf)"

-- Rows per chunk: about CHUNK_BYTES of uncompressed data, at most storage.chunk_size and N.
-- Large rows get one row per chunk; so writing one operator never rewrites another's chunk.
local CHUNK_BYTES = 1024 * 1024
local FRAME_CHUNK_LIMIT = 4 * 1024 * 1024

-- User errors (wrong path, refused overwrite, resume mismatch): printed without a traceback.
local function user_error(fmt, ...) sl.user_error(fmt, ...) end
M.user_error = user_error

local ELSIZE = { float32 = 4, float64 = 8, float16 = 2, uint8 = 1, int32 = 4, int64 = 8, string = 16 }

local function prod(t, from)
  local n = 1
  for i = from or 1, #t do n = n * t[i] end
  return n
end

local function rows_per_chunk(row_shape, dtype, chunk_size, N)
  local bytes = math.max(1, prod(row_shape) * (ELSIZE[dtype] or 4))
  local r = math.floor(CHUNK_BYTES / bytes)
  return math.max(1, math.min(r, chunk_size, N))
end

--- The noise regime label of the reference: low < 0.01 <= medium < 0.1 <= high.
function M.noise_regime(scale)
  if type(scale) ~= "number" then scale = 0.01 end
  if scale < 0.01 then return "low" elseif scale < 0.1 then return "medium" end
  return "high"
end

---------------------------------------------------------------------------------------------
-- layout

local GUIDE_ORDER = { initial = 1, architecture = 2, summary = 3, temporal = 4 }

--- Family names of a {family = ...} table: the guide's four in its order, then others sorted.
function M.family_order(families)
  local out = {}
  for fam in pairs(families or {}) do out[#out + 1] = fam end
  table.sort(out, function(a, b)
    local ia, ib = GUIDE_ORDER[a] or 99, GUIDE_ORDER[b] or 99
    if ia ~= ib then return ia < ib end
    return a < b
  end)
  return out
end

-- layout = {
--   N, first (0-based global index of row 1), total (operators in the whole dataset),
--   M, T, G, parameters (config.parameters(cfg)), families ({family = {shape=, names=}}),
--   storage (cfg.dataset.storage), attrs ({name = value}: config, config_yaml, seed, ...)
-- }
local function dataset_specs(L)
  local st = L.storage or {}
  local chunk_size = math.max(1, st.chunk_size or 1000)
  local comp = {}
  if (st.compression or "gzip") ~= "none" and (st.compression_level or 4) > 0 then
    comp = { compression = "gzip", level = st.compression_level or 4, shuffle = true }
  end
  local N, P, C, G, M_, T = L.N, #L.parameters, M.CHANNELS, L.G, L.M, L.T
  local specs = {}
  local function add(path, row_shape, dtype, extra)
    local shape = { N }
    for _, s in ipairs(row_shape) do shape[#shape + 1] = s end
    local chunks = { rows_per_chunk(row_shape, dtype, chunk_size, N) }
    for _, s in ipairs(row_shape) do chunks[#chunks + 1] = s end
    if extra and extra.chunks then chunks = extra.chunks end
    local o = { shape = shape, dtype = dtype, chunks = chunks }
    if dtype ~= "string" then
      for k, v in pairs(comp) do o[k] = v end
    end
    specs[#specs + 1] = { path = path, opts = o }
  end
  add("parameters/params", { P }, "float32")
  add("parameters/mapped", { P }, "float64")
  add("inputs/fields", { C, G, G }, "float32")
  if st.store_trajectories then
    local dt = st.trajectory_dtype or "float32"
    local frame_bytes = C * G * G * (ELSIZE[dt] or 4)
    local chunks = T * frame_bytes <= FRAME_CHUNK_LIMIT and { 1, 1, T, C, G, G } or { 1, 1, 1, C, G, G }
    add("outputs/trajectories", { M_, T, C, G, G }, dt, { chunks = chunks })
  end
  local fams = M.family_order(L.families)
  for _, fam in ipairs(fams) do add("features/" .. fam, L.families[fam].shape, "float32") end
  add("metadata/operator_index", {}, "int64")
  add("metadata/ic_types", {}, "string")
  add("metadata/evolution_policies", {}, "string")
  add("metadata/noise_regimes", {}, "string")
  add("metadata/grid_sizes", {}, "int32")
  add("metadata/status", {}, "uint8")
  add("metadata/diverged_step", { M_ }, "int32")
  return specs, fams, comp, chunk_size
end

local function choices_attr(p)
  local out = {}
  for i, c in ipairs(p.choices) do out[i] = tostring(c) end
  return out
end

local Writer = {}
Writer.__index = Writer

local function writer_new(f, L, rows_done)
  local specs, fams, comp, chunk_size = dataset_specs(L)
  return setmetatable({ f = f, layout = L, families = fams, comp = comp, chunk_size = chunk_size,
                        rows_done = rows_done or 0, path = f:filename() }, Writer)
end

--- Raises the "already exists" error when `path` exists, saying what it holds and what to do:
--- --resume only for an incomplete Spinlock dataset; otherwise --force or another --output.
function M.refuse_existing(path)
  local fh = io.open(path, "rb")
  if not fh then return end
  fh:close()
  local ok, info = pcall(M.progress_of, path)
  if ok and info and not info.complete then
    user_error("%s already exists (a Spinlock dataset, %d/%d operators done, incomplete); " ..
               "use --resume to continue it or --force to overwrite it", path, info.rows_done, info.num_operators)
  end
  local what = ""
  if ok and info then
    what = string.format(" (a Spinlock dataset, %d/%d operators done, complete)", info.rows_done, info.num_operators)
  end
  user_error("%s already exists%s; use --force to overwrite it or choose another --output", path, what)
end

--- Creates the file with every dataset and attribute (rows_done 0, complete 0).  An existing
--- file is refused unless opts.force.
function M.create(path, L, opts)
  opts = opts or {}
  if not opts.force then M.refuse_existing(path) end
  require("spinlock.cli").ensure_parent_dir(path, "output " .. path)
  local f = h5.open(path, "w")
  local ok, err = pcall(function()
    local specs = dataset_specs(L)
    for _, s in ipairs(specs) do f:create_dataset(s.path, s.opts) end
    local names, types = {}, {}
    for j, p in ipairs(L.parameters) do names[j] = p.name; types[j] = p.type end
    for _, p in ipairs({ "parameters/params", "parameters/mapped" }) do
      f:set_attr(p, "names", names)
      f:set_attr(p, "types", types)
    end
    f:set_attr("parameters/params", "description", "unit-cube Sobol coordinates (columns: attr names)")
    f:set_attr("parameters/mapped", "description",
               "mapped parameter values; a choice holds its 0-based index into attr choices_<name>, a boolean 0/1")
    for _, p in ipairs(L.parameters) do
      if p.type == "choice" then f:set_attr("parameters/mapped", "choices_" .. p.name, choices_attr(p)) end
    end
    local fams = M.family_order(L.families)
    for _, fam in ipairs(fams) do
      local names_f = L.families[fam].names or {}
      f:set_attr("features/" .. fam, "feature_names", names_f)
    end
    f:set_attr("inputs/fields", "description", "initial condition of each operator [N, C, G, G]")
    if L.storage and L.storage.store_trajectories then
      f:set_attr("outputs/trajectories", "description", "rollouts [N, M, T, C, G, G]; frame 1 is the initial condition")
    end
    f:set_attr("metadata/status", "codes", { "0 pending", "1 ok", "2 diverged" })
    f:set_attr("metadata/diverged_step", "description",
               "first step (frame index, 0-based) with a non-finite state per realization; -1 = none")
    local a = {
      format = M.FORMAT, format_version = M.FORMAT_VERSION,
      num_operators = L.N, total_operators = L.total or L.N, first_operator = L.first or 0,
      num_realizations = L.M, num_timesteps = L.T, grid_size = L.G, num_channels = M.CHANNELS,
      num_parameters = #L.parameters, feature_families = fams,
      store_trajectories = (L.storage and L.storage.store_trajectories) and 1 or 0,
      complete = 0, rows_done = 0,
    }
    for k, v in pairs(L.attrs or {}) do a[k] = v end
    for k, v in pairs(a) do f:set_attr("metadata", k, v) end
    f:flush()
  end)
  if not ok then
    f:close()
    error(err, 0)
  end
  return writer_new(f, L, 0)
end

--- Summary of a dataset file's progress: { rows_done, num_operators, complete, ... } or nil
--- when the file is not a Spinlock dataset.
function M.progress_of(path)
  if not h5.is_hdf5(path) then return nil end
  return h5.with(path, "r", function(f)
    if not f:exists("metadata") then return nil end
    local a = f:attrs("metadata")
    if a.format ~= M.FORMAT then return nil end
    return { rows_done = a.rows_done or 0, num_operators = a.num_operators or 0,
             complete = a.complete == 1, attrs = a }
  end)
end

-- First difference of two texts, as two short excerpts.
local function first_difference(a, b)
  local n = math.min(#a, #b)
  local i = 1
  while i <= n and a:byte(i) == b:byte(i) do i = i + 1 end
  local from = math.max(1, i - 30)
  return a:sub(from, i + 30), b:sub(from, i + 30)
end

--- Opens an existing incomplete dataset to continue it.  Checks that it was made from the same
--- config (canonical JSON), seed and row range; returns the writer (w.rows_done rows are done).
function M.resume(path, L)
  local info = M.progress_of(path)
  if not info then
    user_error("cannot resume %s: it is not a Spinlock dataset (use --force to overwrite it)", path)
  end
  local a = info.attrs
  if (a.format_version or 0) > M.FORMAT_VERSION then
    user_error("cannot resume %s: it was written in dataset format %d, this spinlock knows up to %d",
               path, a.format_version, M.FORMAT_VERSION)
  end
  local want = L.attrs or {}
  if want.seed ~= nil and a.seed ~= want.seed then
    user_error("cannot resume %s: it was generated with seed %s, this run uses seed %s " ..
               "(pass --seed %s to continue it, or --force to start over)",
               path, tostring(a.seed), tostring(want.seed), tostring(a.seed))
  end
  if want.config ~= nil and a.config ~= want.config then
    local was, now = first_difference(a.config or "", want.config)
    user_error("cannot resume %s: its config differs from this run's config\n  file:  ...%s...\n  now:   ...%s...\n" ..
               "(use the same config and overrides, or --force to start over)", path, was, now)
  end
  if (a.first_operator or 0) ~= (L.first or 0) or a.num_operators ~= L.N then
    user_error("cannot resume %s: it holds operators %d..%d, this run asks for %d..%d (check --shard)",
               path, a.first_operator or 0, (a.first_operator or 0) + a.num_operators - 1,
               L.first or 0, (L.first or 0) + L.N - 1)
  end
  local f = h5.open(path, "r+")
  -- the feature extractor of this build must produce what the file was started with
  for _, fam in ipairs(M.family_order(L.families)) do
    local p, want = "features/" .. fam, L.families[fam]
    local same = f:exists(p)
    if same then
      local shape, names = f:info(p).shape, f:attr(p, "feature_names") or {}
      same = #shape == #want.shape + 1 and #names == #(want.names or {})
      for i, s in ipairs(want.shape) do same = same and shape[i + 1] == s end
      for i, n in ipairs(want.names or {}) do same = same and names[i] == n end
    end
    if not same then
      -- name the columns: a missing --features file is the usual cause, not a new spinlock
      local have, wantset, lost, extra = {}, {}, {}, {}
      local names = f:exists(p) and (f:attr(p, "feature_names") or {}) or {}
      for _, n in ipairs(names) do have[n] = true end
      for _, n in ipairs(want.names or {}) do wantset[n] = true; if not have[n] then extra[#extra + 1] = n end end
      for _, n in ipairs(names) do if not wantset[n] then lost[#lost + 1] = n end end
      f:close()
      local function list(t)
        if #t > 8 then return table.concat(t, ", ", 1, 8) .. (", … (%d in all)"):format(#t) end
        return table.concat(t, ", ")
      end
      local files = a.custom_feature_files
      if type(files) == "string" then files = { files } end
      files = type(files) == "table" and files or {}
      local why = {}
      if #lost > 0 then
        why[#why + 1] = ("the file has columns this run does not compute: %s"):format(list(lost))
        if #files > 0 then
          why[#why + 1] = ("the file was generated with custom formulas from %s: pass them again with --features")
            :format(table.concat(files, ", "))
        end
      end
      if #extra > 0 then why[#why + 1] = ("this run adds columns the file lacks: %s"):format(list(extra)) end
      if #why == 0 then why[1] = "the column order or shape differs" end
      user_error("cannot resume %s: its %s features differ from what this run computes (%s; the file was " ..
                 "started by spinlock %s, this is %s); use --force to start over", path, fam,
                 table.concat(why, "; "), tostring(a.spinlock_version), tostring(sl.version))
    end
  end
  local w = writer_new(f, L, info.rows_done)
  w.complete = info.complete
  return w
end

---------------------------------------------------------------------------------------------
-- writing

local function row_tensor(values, n, dtype)
  local t = sl.zeros({ n }, dtype)
  for j = 1, n do t[j] = values[j] end
  return t
end

--- Writes row r (1-based).  row = {
---   unit = {P numbers}, mapped = {P numbers}, op_index = global 0-based index,
---   ic = [C,G,G] tensor, traj = [M,T,C,G,G] tensor (used when trajectories are stored),
---   features = {family = tensor}, quality = {family = uint8 tensor},
---   ic_type =, policy =, noise_regime = strings, grid_size =, status = 1|2,
---   diverged_step = {M numbers, -1 = none} }
function Writer:write_row(r, row)
  local f, L = self.f, self.layout
  local P = #L.parameters
  if P > 0 then
    f:write("parameters/params", row_tensor(row.unit, P, "float32"), r)
    f:write("parameters/mapped", row_tensor(row.mapped, P, "float64"), r)
  end
  f:write("inputs/fields", row.ic, r)
  if L.storage and L.storage.store_trajectories and row.traj then
    f:write("outputs/trajectories", row.traj, r)
  end
  for _, fam in ipairs(self.families) do
    local t = row.features and row.features[fam]
    if t then f:write("features/" .. fam, t, r) end
    local q = row.quality and row.quality[fam]
    if q then
      local qp = "features/" .. fam .. "_quality"
      if not f:exists(qp) then
        local shape, chunks = { L.N }, { 1 }
        for _, s in ipairs(q:shape()) do shape[#shape + 1] = s; chunks[#chunks + 1] = s end
        chunks[1] = rows_per_chunk({ unpack(shape, 2) }, "uint8", self.chunk_size, L.N)
        local o = { shape = shape, dtype = "uint8", chunks = chunks }
        for k, v in pairs(self.comp) do o[k] = v end
        f:create_dataset(qp, o)
        f:set_attr(qp, "meaning", M.QUALITY_MEANING)
      end
      f:write(qp, q:dtype() == "uint8" and q or q:to("uint8"), r)
    end
  end
  f:write("metadata/operator_index", sl.tensor({ row.op_index }, "int64"), r)
  f:write_strings("metadata/ic_types", { row.ic_type or "" }, r)
  f:write_strings("metadata/evolution_policies", { row.policy or "" }, r)
  f:write_strings("metadata/noise_regimes", { row.noise_regime or "" }, r)
  f:write("metadata/grid_sizes", sl.tensor({ row.grid_size or L.G }, "int32"), r)
  local steps = row.diverged_step or {}
  local ds = sl.zeros({ L.M }, "int32")
  for m = 1, L.M do ds[m] = steps[m] or -1 end
  f:write("metadata/diverged_step", ds, r)
  -- status last: a row whose status is set has all its data written.
  f:write("metadata/status", sl.tensor({ row.status or M.STATUS.ok }, "int32"), r)
end

--- Makes rows 1..rows_done durable: flushes the data, then records rows_done and flushes again
--- (so rows_done never covers data that is not on disk).
function Writer:flush(rows_done)
  self.f:flush()
  if rows_done and rows_done ~= self.rows_done then
    self.rows_done = rows_done
    self.f:set_attr("metadata", "rows_done", rows_done)
    self.f:flush()
  end
end

--- Records final attributes (a table name → value, e.g. timings) and marks the file complete.
function Writer:finish(extra)
  self:flush(self.layout.N)
  for k, v in pairs(extra or {}) do self.f:set_attr("metadata", k, v) end
  self.f:set_attr("metadata", "complete", 1)
  self.f:flush()
  self.complete = true
end

function Writer:set_attr(name, value) self.f:set_attr("metadata", name, value) end

function Writer:close() self.f:close() end

---------------------------------------------------------------------------------------------
-- merging shards

local MERGE_BLOCK_BYTES = 8 * 1024 * 1024

--- Concatenates complete shard files of one dataset (same config and seed, index ranges that
--- tile 0..total-1) into `output`, in index order.  Refuses an existing output unless
--- opts.force.  Returns { N = total, shards = n, output = output }.
function M.merge(paths, output, opts)
  opts = opts or {}
  if #paths == 0 then user_error("merge-shards: no shard files given") end
  if not opts.force and io.open(output, "rb") then
    user_error("%s already exists; use --force to overwrite it", output)
  end
  local shards = {}
  for _, p in ipairs(paths) do
    if p == output then user_error("merge-shards: the output %s is also an input", output) end
    local f, a = M.open(p)
    f:close()
    if a.complete ~= 1 then
      user_error("%s is incomplete (%d/%d operators): finish it with spinlock generate ... --resume first",
                 p, a.rows_done or 0, a.num_operators or 0)
    end
    shards[#shards + 1] = { path = p, attrs = a }
  end
  table.sort(shards, function(x, y) return (x.attrs.first_operator or 0) < (y.attrs.first_operator or 0) end)
  local a1 = shards[1].attrs
  local total = a1.total_operators or a1.num_operators
  local next_first = 0
  for _, sh in ipairs(shards) do
    local a = sh.attrs
    if a.config ~= a1.config then user_error("%s and %s were generated from different configs", shards[1].path, sh.path) end
    if a.seed ~= a1.seed then user_error("%s (seed %s) and %s (seed %s) have different seeds", shards[1].path,
                                         tostring(a1.seed), sh.path, tostring(a.seed)) end
    if (a.total_operators or a.num_operators) ~= total then
      user_error("%s belongs to a dataset of %d operators, %s to one of %d", sh.path, a.total_operators, shards[1].path, total)
    end
    local first = a.first_operator or 0
    if first ~= next_first then
      if first < next_first then user_error("%s overlaps the previous shard (operators from %d, expected %d)", sh.path, first, next_first) end
      user_error("operators %d..%d are missing (no shard covers them)", next_first, first - 1)
    end
    next_first = first + a.num_operators
  end
  if next_first ~= total then user_error("operators %d..%d are missing (no shard covers them)", next_first, total - 1) end

  require("spinlock.cli").ensure_parent_dir(output, "output " .. output)
  local out = h5.open(output, "w")
  local ok, err = pcall(function()
    local src = h5.open(shards[1].path, "r")
    local entries = {}
    for _, e in ipairs(src:walk("/")) do
      if e.kind == "dataset" then
        local shape = { total }
        for i = 2, #e.shape do shape[i] = e.shape[i] end
        local o = { shape = shape, dtype = e.dtype }
        if e.chunks then
          o.chunks = { math.min(e.chunks[1], total) }
          for i = 2, #e.chunks do o.chunks[i] = e.chunks[i] end
        end
        if e.compression then o.compression, o.level = e.compression, e.level end
        if e.shuffle then o.shuffle = true end
        out:create_dataset(e.path, o)
        for k, v in pairs(src:attrs(e.path)) do out:set_attr(e.path, k, v) end
        entries[#entries + 1] = { path = e.path, dtype = e.dtype, row = prod(e.shape, 2) * (ELSIZE[e.dtype] or 4) }
      elseif e.kind == "group" then
        out:create_group(e.path)
      end
    end
    src:close()
    local diverged, seconds, names = 0, 0, {}
    for _, sh in ipairs(shards) do
      local f = h5.open(sh.path, "r")
      local n, base = sh.attrs.num_operators, sh.attrs.first_operator or 0
      for _, e in ipairs(entries) do
        local block = math.max(1, math.floor(MERGE_BLOCK_BYTES / math.max(e.row, 1)))
        for r = 1, n, block do
          local cnt = math.min(block, n - r + 1)
          if e.dtype == "string" then
            out:write_strings(e.path, f:read_strings(e.path, r, cnt), base + r)
          else
            out:write(e.path, f:read(e.path, r, cnt), base + r)
          end
        end
      end
      f:close()
      diverged = diverged + (sh.attrs.num_diverged or 0)
      seconds = seconds + (sh.attrs.generation_seconds or 0)
      names[#names + 1] = sh.path:match("([^/]+)$")
    end
    for k, v in pairs(a1) do out:set_attr("metadata", k, v) end
    local fix = { num_operators = total, total_operators = total, first_operator = 0, shard = "",
                  rows_done = total, complete = 1, num_diverged = diverged, generation_seconds = seconds,
                  merged_from = names }
    for k, v in pairs(fix) do out:set_attr("metadata", k, v) end
    out:flush()
  end)
  out:close()
  if not ok then
    os.remove(output)
    error(err, 0)
  end
  return { N = total, shards = #shards, output = output }
end

---------------------------------------------------------------------------------------------
-- reading

--- Opens a dataset file for reading: returns the h5 file and the metadata attributes.  Raises a
--- user error when the file is missing or is not a Spinlock dataset.
function M.open(path)
  local fh = io.open(path, "rb")
  if not fh then user_error("no such file: %s", path) end
  fh:close()
  if not h5.is_hdf5(path) then user_error("%s is not an HDF5 file", path) end
  local f = h5.open(path, "r")
  if not f:exists("metadata") or f:attr("metadata", "format") ~= M.FORMAT then
    f:close()
    user_error("%s is not a Spinlock operator dataset (no metadata group with format '%s')", path, M.FORMAT)
  end
  return f, f:attrs("metadata")
end

local function histogram(list, total_width)
  local counts, order = {}, {}
  for _, v in ipairs(list) do
    if not counts[v] then counts[v] = 0; order[#order + 1] = v end
    counts[v] = counts[v] + 1
  end
  table.sort(order, function(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return a < b
  end)
  local n, width = #list, 0
  for _, v in ipairs(order) do width = math.max(width, #v) end
  local lines = {}
  for _, v in ipairs(order) do
    local c = counts[v]
    local bar = string.rep("#", math.floor((total_width or 30) * c / math.max(n, 1) + 0.5))
    lines[#lines + 1] = string.format("  %-" .. width .. "s %6d  %5.1f%%  %s", v, c, 100 * c / math.max(n, 1), bar)
  end
  return lines
end

local function shape_str(s)
  local parts = {}
  for i, v in ipairs(s) do parts[i] = tostring(v) end
  return "[" .. table.concat(parts, ", ") .. "]"
end

--- Size of the file at path in bytes (0 when it cannot be opened).
function M.file_size(path)
  local fh = io.open(path, "rb")
  if not fh then return 0 end
  local n = fh:seek("end")
  fh:close()
  return n
end

--- Human-readable byte count.
function M.format_bytes(n)
  local units = { "B", "KB", "MB", "GB", "TB" }
  local i = 1
  while n >= 1000 and i < #units do n = n / 1000; i = i + 1 end
  return (i == 1 and "%d %s" or "%.1f %s"):format(n, units[i])
end

--- What `spinlock inspect` prints: a list of lines describing the dataset at path.
--- opts.verbose lists every feature name and the full config.
function M.describe(path, opts)
  opts = opts or {}
  local f, a = M.open(path)
  local lines = {}
  local function add(fmt, ...) lines[#lines + 1] = select("#", ...) > 0 and fmt:format(...) or fmt end
  local ok, err = pcall(function()
    local N = a.num_operators or 0
    local done = a.rows_done or 0
    local name, description = "?", ""
    local ok_cfg, cfg = pcall(M.stored_config, a)
    if ok_cfg then name, description = cfg.metadata.name, cfg.metadata.description or "" end
    add("file        %s (%s)", path, M.format_bytes(M.file_size(path)))
    add("dataset     %s%s", name, description ~= "" and (" — " .. description) or "")
    if a.complete == 1 then
      add("operators   %d/%d done, complete", done, N)
    else
      add("operators   %d/%d done, INCOMPLETE (continue with: spinlock generate --config <config> --output %s --resume)", done, N, path)
    end
    if (a.total_operators or N) ~= N or (a.shard or "") ~= "" then
      add("shard       %s: operator indices %d..%d of %d", a.shard ~= "" and a.shard or "?", a.first_operator or 0,
          (a.first_operator or 0) + N - 1, a.total_operators or N)
    end
    add("rollouts    M=%d realizations, T=%d frames, grid %dx%d, %d channels; trajectories %s",
        a.num_realizations or 0, a.num_timesteps or 0, a.grid_size or 0, a.grid_size or 0, a.num_channels or 3,
        f:exists("outputs/trajectories") and ("stored (" .. f:info("outputs/trajectories").dtype .. ")") or "not stored")
    add("seed        %s   created %s   spinlock %s   format %s v%s", tostring(a.seed), tostring(a.creation_date),
        tostring(a.spinlock_version), tostring(a.format), tostring(a.format_version))
    if a.generation_seconds then add("generation  %.1f s", a.generation_seconds) end

    local pnames = f:attr("parameters/params", "names") or {}
    add("")
    add("parameters  %d: %s", #pnames, table.concat(pnames, ", "))

    add("")
    add("features")
    local fams = a.feature_families or {}
    if type(fams) == "string" then fams = { fams } end
    if #fams == 0 then add("  (none)") end
    for _, fam in ipairs(fams) do
      local p = "features/" .. fam
      if f:exists(p) then
        local info = f:info(p)
        local names = f:attr(p, "feature_names") or {}
        local q = f:exists(p .. "_quality") and ", quality mask" or ""
        if #names == 0 then
          add("  %-13s %-18s %s", fam, shape_str(info.shape), "(no names)")
        elseif opts.verbose then
          add("  %-13s %-18s %d names%s:", fam, shape_str(info.shape), #names, q)
          for i, n in ipairs(names) do add("      %4d  %s", i, n) end
        else
          add("  %-13s %-18s %d names: %s%s%s", fam, shape_str(info.shape), #names, names[1],
              #names > 1 and (" … " .. names[#names]) or "", q)
        end
      end
    end

    local n_hist = math.max(done, 0)
    local status = n_hist > 0 and f:read("metadata/status") or nil
    local counts = { [0] = 0, 0, 0 }
    for i = 1, N do
      local s = status and status[i] or 0
      counts[s] = (counts[s] or 0) + 1
    end
    add("")
    add("status      ok %d, diverged %d, pending %d", counts[1], counts[2], counts[0])
    local function strings_hist(label, p)
      if not f:exists(p) or n_hist == 0 then return end
      local list = f:read_strings(p, 1, n_hist)
      add("")
      add("%s (%d operators)", label, n_hist)
      for _, l in ipairs(histogram(list)) do add("%s", l) end
    end
    strings_hist("IC types", "metadata/ic_types")
    strings_hist("evolution policies", "metadata/evolution_policies")
    strings_hist("noise regimes", "metadata/noise_regimes")

    if a.sampling_metrics and a.sampling_metrics ~= "" then
      local okj, m = pcall(function() return require("spinlock.yaml").load(a.sampling_metrics, "sampling_metrics") end)
      add("")
      if okj and type(m) == "table" then
        add("sampling    %s, %s points x %s dims: discrepancy %.4g (%s), max |corr| %.4g (%s), mean |corr| %.4g",
            tostring(m.sampler_type), tostring(m.n_samples), tostring(m.dimensionality),
            m.discrepancy or 0 / 0, m.discrepancy_pass and "pass" or "fail",
            m.max_correlation or 0 / 0, m.correlation_pass and "pass" or "fail", m.mean_correlation or 0 / 0)
      else
        add("sampling    %s", a.sampling_metrics)
      end
    end
    if ok_cfg then
      local ig = cfg.simulation.input_generation
      add("config      %d operators, batch %d, precision %s, device %s, ICs %s, integer mapping %s",
          cfg.sampling.total_samples, cfg.sampling.batch_size, cfg.simulation.precision,
          cfg.simulation.device, ig.method, cfg.sampling.integer_mapping)
      if opts.verbose then
        add("")
        add("config (canonical JSON)")
        add("%s", a.config)
      end
    end
  end)
  f:close()
  if not ok then error(err, 0) end
  return lines
end

--- Decodes a stored JSON config back into a normalised config table.
function M.stored_config(attrs)
  local config = require "spinlock.config"
  return config.load_string(attrs.config, "stored config", nil, { warn = false })
end

return M
