-- spinlock.dataset_visualize — PNG grids of rollouts from a dataset file (`spinlock
-- visualize-dataset`).  One image per operator (rows = realizations, columns = frames) and an
-- overview (rows = operators, columns = frames of realization 1).  Files without stored
-- trajectories are re-simulated from their own config and seed (spinlock.generate.resimulate).
local sl = require "spinlock"
local ffi = require "ffi"
local dataset = require "spinlock.dataset"

local M = {}

local GAP = 2   -- white pixels between tiles

--- Frame indices (1-based) of F frames spread evenly over T, first and last included.
function M.frame_indices(T, F)
  local out, seen = {}, {}
  if F >= T then
    for t = 1, T do out[t] = t end
    return out
  end
  for j = 0, F - 1 do
    local t = 1 + math.floor(j * (T - 1) / math.max(F - 1, 1) + 0.5)
    if not seen[t] then seen[t] = true; out[#out + 1] = t end
  end
  return out
end

-- Finite min/max over a list of 2-D tiles.
local function range_of(tiles, symmetric)
  local lo, hi = math.huge, -math.huge
  for _, t in ipairs(tiles) do
    local c = t:contiguous():float()
    local p = ffi.cast("float*", c:ptr())
    for i = 0, c:numel() - 1 do
      local v = p[i]
      if v == v and v > -math.huge and v < math.huge then
        if v < lo then lo = v end
        if v > hi then hi = v end
      end
    end
  end
  if lo > hi then lo, hi = 0, 1 end
  if symmetric then
    local m = math.max(math.abs(lo), math.abs(hi))
    lo, hi = -m, m
  end
  return lo, hi
end

-- grid[row][col] = 2-D tile; every row shares one colour range unless per_row.
local function render(grid, G, scale, colormap, per_row)
  local nr, nc = #grid, 0
  for _, row in ipairs(grid) do nc = math.max(nc, #row) end
  local tile = G * scale
  local H, W = nr * tile + (nr + 1) * GAP, nc * tile + (nc + 1) * GAP
  local canvas = sl.full({ H, W, 3 }, 255, "uint8")
  local symmetric = colormap == "coolwarm" or colormap == "diverging"
  local all = {}
  for _, row in ipairs(grid) do for _, t in ipairs(row) do all[#all + 1] = t end end
  local glo, ghi = range_of(all, symmetric)
  for i, row in ipairs(grid) do
    local lo, hi = glo, ghi
    if per_row then lo, hi = range_of(row, symmetric) end
    for j, t in ipairs(row) do
      local img = sl.png_colorize(t, { colormap = colormap, vmin = lo, vmax = hi, scale = scale })
      local y, x = GAP + (i - 1) * (tile + GAP) + 1, GAP + (j - 1) * (tile + GAP) + 1
      canvas:narrow(1, y, tile):narrow(2, x, tile):copy(img)
    end
  end
  return canvas
end

--- opts: dataset (path), output (folder), num_ops (16), realizations (2), frames (8), channel (1),
--- colormap ("viridis"), operator (module replacing spinlock.operator for re-simulation),
--- log (function(line)).  Returns { files = {...}, resimulated = bool, operators = {row...} }.
-- "vis/", "vis//x" -> "vis", "vis/x" (paths printed and written are joined with one slash)
local function clean_dir(d)
  d = tostring(d):gsub("/+", "/")
  if #d > 1 then d = d:gsub("/$", "") end
  return d
end
M.clean_dir = clean_dir

function M.run(opts)
  local log = opts.log or print
  local outdir = clean_dir(opts.output or "visualizations")
  local f, a = dataset.open(opts.dataset)
  local ok, res = pcall(function()
    local N, done = a.num_operators, a.rows_done or 0
    local T, Mr, G = a.num_timesteps, a.num_realizations, a.grid_size
    local channel = opts.channel or 1
    if channel < 1 or channel > dataset.CHANNELS then
      dataset.user_error("--channel must be in 1..%d, got %d", dataset.CHANNELS, channel)
    end
    local want = opts.realizations or 2
    if want < 1 then dataset.user_error("--realizations must be >= 1, got %d", want) end
    local R = math.min(want, Mr)
    if R < want then
      log(("note: --realizations %d, but %s has %d realization%s per operator; showing %d"):format(
        want, opts.dataset, Mr, Mr == 1 and "" or "s", R))
    end
    local F = opts.frames or 8
    if F < 1 then dataset.user_error("--frames must be >= 1, got %d", F) end
    local K = opts.num_ops or 16
    if K < 1 then dataset.user_error("--num-ops must be >= 1, got %d", K) end
    -- the first K operators that are done (status ok or diverged)
    local status = f:read("metadata/status")
    local rows = {}
    for r = 1, N do
      if #rows >= K then break end
      if status[r] ~= dataset.STATUS.pending then rows[#rows + 1] = r end
    end
    if #rows == 0 then dataset.user_error("%s has no finished operators yet (%d/%d done)", opts.dataset, done, N) end
    local stored = f:exists("outputs/trajectories")
    local frames = M.frame_indices(T, F)
    local scale = math.max(1, math.min(8, math.floor(64 / G + 0.5)))
    require("spinlock.cli").ensure_dir(outdir, "--output")
    local files, overview = {}, {}
    local colormap = opts.colormap or "viridis"
    local index = f:read("metadata/operator_index")
    for _, r in ipairs(rows) do
      local traj
      if stored then
        traj = f:read("outputs/trajectories", { r, 1 }, { 1, R }):select(1, 1)
      else
        traj = require("spinlock.generate").resimulate(f, a, r, R, { operator = opts.operator })
      end
      local grid = {}
      for m = 1, R do
        grid[m] = {}
        for j, t in ipairs(frames) do grid[m][j] = traj:select(1, m):select(1, t):select(1, channel) end
      end
      overview[#overview + 1] = grid[1]
      local path = string.format("%s/operator_%05d.png", outdir == "/" and "" or outdir, index[r])
      sl.png_write(path, render(grid, G, scale, colormap, false))
      files[#files + 1] = path
    end
    local path = (outdir == "/" and "" or outdir) .. "/overview.png"
    sl.png_write(path, render(overview, G, math.max(1, math.floor(scale / 2)), colormap, true))
    files[#files + 1] = path
    log(("%d operators (%s), %d realizations x %d frames (frames %s), channel %d -> %s"):format(
      #rows, stored and "stored trajectories" or "re-simulated from the file's config and seed",
      R, #frames, table.concat(frames, ","), channel, outdir))
    return { files = files, resimulated = not stored, operators = rows, frames = frames }
  end)
  f:close()
  if not ok then error(res, 0) end
  return res
end

return M
