-- spinlock.vqvae.synthetic — seeded clustered feature matrices for specs and quick experiments.
--
-- make{n, categories = {n_1, n_2, …}, branching = {4, 4, 4}, spread = {1, 0.35, 0.12}, noise, seed}
-- draws a three-level tree of cluster centres (branching[l] children per node, offsets scaled by
-- spread[l]) in a small latent space per category, picks one leaf per row, and maps each
-- category's latent point through its own random linear map to n_c columns plus noise.  Coarse
-- structure therefore explains most of the variance and finer levels the rest, which is what the
-- hierarchical tokenizer should find.  Returns X [n, Σn_c], names, categories {{name, columns}},
-- leaf labels (Lua list of 1-based leaf ids per row) and coarse labels.
local sl = require "spinlock"

local M = {}

function M.make(o)
  o = o or {}
  local n = o.n or 512
  local sizes = o.categories or { 6, 6 }
  local br = o.branching or { 4, 4, 4 }
  local spread = o.spread or { 1.0, 0.35, 0.12 }
  local latent = o.latent or 4
  local noise = o.noise or 0.02
  local g = sl.Generator { seed = o.seed or 1, purpose = 7, a = 0x7379, b = 0 }
  local leaves = 1
  for _, b in ipairs(br) do leaves = leaves * b end
  local choice = g:uniform({ n }, 0, 1, "float64"):totable()
  local leaf, coarse = {}, {}
  for i = 1, n do
    leaf[i] = math.min(leaves, math.floor(choice[i] * leaves) + 1)
    coarse[i] = math.floor((leaf[i] - 1) / (leaves / br[1])) + 1
  end
  local blocks, names, cats = {}, {}, {}
  local col = 0
  for c, nc in ipairs(sizes) do
    -- leaf centres of this category: sum of one offset per level along the path
    local centres = sl.zeros(leaves, latent)
    local stride = leaves
    for l, b in ipairs(br) do
      stride = stride / b
      local offs = g:normal({ leaves / stride, latent })      -- one per node of level l
      for node = 1, leaves / stride do
        local blk = centres:narrow(1, (node - 1) * stride + 1, stride)
        blk:copy(sl.add(blk, sl.mul(offs:select(1, node):view(1, latent), spread[l])))
      end
    end
    local Z = sl.zeros(n, latent)
    for i = 1, n do Z:select(1, i):copy(centres:select(1, leaf[i])) end
    local W = g:normal({ latent, nc })
    local Xc = sl.add(sl.tanh(sl.matmul(Z, W)), sl.mul(g:normal({ n, nc }), noise))
    blocks[c] = Xc
    local cols = {}
    for j = 1, nc do
      col = col + 1
      cols[j] = col
      names[col] = string.format("synth_c%d_f%d", c, j)
    end
    cats[c] = { name = "synth_c" .. c, columns = cols }
  end
  local X = sl.zeros(n, col)
  local off = 1
  for _, b in ipairs(blocks) do X:narrow(2, off, b:size(2)):copy(b); off = off + b:size(2) end
  return X, names, cats, leaf, coarse
end

return M
