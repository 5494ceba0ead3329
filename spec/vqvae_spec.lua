-- spinlock.vqvae: model shapes, the hand-derived gradients of the topographic and orthogonality
-- terms against central finite differences (float64), residual quantization (each level refines
-- the residual), token determinism for a seed, checkpoint round trip, input errors.
local sl = require "spinlock"
local vqvae = require "spinlock.vqvae"
local model_mod = require "spinlock.vqvae.model"
local syn = require "spinlock.vqvae.synthetic"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"
teardown(SH.remove_tmpdirs)
-- a checkpoint base name (base.json, base.safetensors) in a fresh temp folder
local function tmpbase() return SH.tmpdir() .. "/model" end

local SMALL = { latent_dim = 4, category_codebook_sizes = { 4, 8, 16 }, token_codebook_sizes = { 4, 8, 16 },
                group_hidden_dim = 16, group_embedding_dim = 8, decoder_hidden_dim = 32, dropout = 0,
                topo_weight = 0.1, orthogonality_weight = 0.1, seed = 7 }
local CATS = { { name = "a", size = 5 }, { name = "b", size = 3 }, { name = "c", size = 4 } }

local function data(n, seed)
  local X = syn.make { n = n, categories = { 5, 3, 4 }, seed = seed or 1 }
  return X
end

local function fd_check(f, x, grad, h, tol)
  -- central differences over every element of x (float64)
  local n = x:numel()
  local flat = x:view(n)
  local g = grad:contiguous():view(n)
  local worst = 0
  for i = 1, n do
    local v = flat[i]
    flat[i] = v + h; local lp = f(x)
    flat[i] = v - h; local lm = f(x)
    flat[i] = v
    local num = (lp - lm) / (2 * h)
    local err = math.abs(num - g[i]) / math.max(1e-3, math.abs(num) + math.abs(g[i]))
    if err > worst then worst = err end
  end
  assert.is_true(worst < tol, "worst relative gradient error " .. worst)
end

describe("vqvae model", function()
  it("forward/backward: shapes of latents, prefixes, tokens and gradients", function()
    local m = vqvae.build(SMALL, CATS)
    local x = data(32)
    local params, grads = m:flat_parameters()
    m:zero_grad()
    local loss, comp, qo = m:forward_backward(x)
    assert.is_true(loss > 0 and loss < math.huge)
    assert.are.equal(3, #qo.tok_prefix)
    assert.are.same({ 32, 12 }, qo.tok_prefix[1]:shape())      -- C·d = 3·4
    assert.are.same({ 32, 12 }, qo.cat_prefix[3]:shape())
    assert.are.same({ 32 }, qo.tok_idx[2]:shape())
    assert.are.equal(3, #qo.cat_idx)
    assert.is_true(grads:norm() > 0)
    for _, k in ipairs { "rec", "info", "vq", "topo", "orth" } do assert.is_number(comp[k], k) end
    assert.are.equal(params:numel(), m:num_parameters())
  end)

  it("topographic loss gradient matches finite differences", function()
    local g = sl.Generator { seed = 3 }
    local x = g:normal({ 7, 5 }):double()
    local z = g:normal({ 7, 3 }):double()
    local _, grad = model_mod.topo_loss(x, z)
    fd_check(function(zz) return (model_mod.topo_loss(x, zz)) end, z, grad, 1e-6, 1e-5)
  end)

  it("orthogonality loss gradient matches finite differences", function()
    local g = sl.Generator { seed = 4 }
    local zs = { g:normal({ 6, 3 }):double(), g:normal({ 6, 3 }):double(), g:normal({ 6, 3 }):double() }
    local _, grads = model_mod.orth_loss(zs)
    for i = 1, 3 do
      fd_check(function(zi)
        local t = { zs[1], zs[2], zs[3] }
        t[i] = zi
        return (model_mod.orth_loss(t))
      end, zs[i], grads[i], 1e-6, 1e-5)
    end
  end)

  it("levels are residual: each prefix is closer to the latent than the coarser one", function()
    local m = vqvae.build(SMALL, CATS)
    local x = data(256)
    local params, grads = m:flat_parameters()
    for _ = 1, 3 do m:zero_grad(); m:forward_backward(x) end
    m:evaluate()
    local qo = m:infer(x)
    local prev = math.huge
    for l = 1, 3 do
      local err = sl.square(sl.sub(qo.z, qo.tok_prefix[l])):sum()
      assert.is_true(err < prev, "level " .. l .. " does not refine")
      prev = err
    end
  end)

  it("tokens: int64 [N] per level in [0, K), the same for the same seed, different for another", function()
    local x = data(64)
    local function tokens(seed)
      local cfg = SH.copy(SMALL, { seed = seed })
      local m = vqvae.build(cfg, CATS)
      m:flat_parameters()
      for _ = 1, 2 do m:zero_grad(); m:forward_backward(x) end
      return { m:get_tokens(x, { prepared = true }) }, m
    end
    local a, m = tokens(7)
    local b = tokens(7)
    local c = tokens(8)
    assert.are.equal(3, #a)
    for l = 1, 3 do
      assert.are.equal("int64", a[l]:dtype())
      assert.are.same({ 64 }, a[l]:shape())
      assert.is_true(a[l]:min() >= 0 and a[l]:max() < m.tok_q[l].num_codes)
      assert.are.same(a[l]:totable(), b[l]:totable())
    end
    local diff = 0
    for l = 1, 3 do diff = diff + sl.ne(a[l], c[l]):sum() end
    assert.is_true(diff > 0)
    local codes, names = m:get_category_codes(x, { prepared = true })
    assert.are.same({ 64, 3, 3 }, codes:shape())
    assert.are.same({ "a", "b", "c" }, names)
    assert.is_true(codes:min() >= 0 and codes:max() < 16)
  end)

  it("checkpoint round trip: identical tokens, codes and reconstructions after load", function()
    local m = vqvae.build(SMALL, CATS, { model_names = { "f1" } })
    local x = data(80)
    m:flat_parameters()
    for _ = 1, 3 do m:zero_grad(); m:forward_backward(x) end
    local base = tmpbase()
    m:save(base, { epoch = 3 })
    local m2 = vqvae.load(base .. ".safetensors")
    local a = { m:get_tokens(x, { prepared = true }) }
    local b = { m2:get_tokens(x, { prepared = true }) }
    for l = 1, 3 do assert.are.same(a[l]:totable(), b[l]:totable()) end
    local ca = m:get_category_codes(x, { prepared = true })
    local cb = m2:get_category_codes(x, { prepared = true })
    assert.are.same(ca:totable(), cb:totable())
    local ra = m:reconstruct(x, { prepared = true })
    local rb = m2:reconstruct(x, { prepared = true })
    assert.are.equal(0, sl.sub(ra, rb):abs():max())
    assert.are.equal(3, m2.checkpoint_extra.epoch)
    assert.are.equal("spinlock-vqvae", m2.checkpoint.format)
    -- the folder form and the .json form resolve too
    assert.are.equal(base, vqvae.resolve(base .. ".json"))
  end)

  it("block decoder: on by default, decodes each category's block into its own columns", function()
    local m = vqvae.build(SMALL, CATS)
    assert.is_not_nil(m.block_decoder)
    assert.are.same({ { 4, 5 }, { 4, 3 }, { 4, 4 } }, m.block_decoder.groups)
    local off = vqvae.build(SH.copy(SMALL, { category_decoder = "none", latent_norm = "none" }), CATS)
    assert.is_nil(off.block_decoder)
    assert.are.equal(2, #off.heads[1]._children)                     -- Linear, Dropout: no LayerNorm
    assert.has_error(function() vqvae.build({ category_decoder = "mlp" }, CATS) end,
      "vqvae: category_decoder must be linear or none, got mlp")
  end)

  it("a format-1 checkpoint (before category_decoder) loads without a block decoder; newer formats are refused", function()
    local cfg = SH.copy(SMALL, { category_decoder = "none" })
    local m = vqvae.build(cfg, CATS)
    local x = data(40)
    m:flat_parameters()
    m:zero_grad(); m:forward_backward(x)
    local base = tmpbase()
    m:save(base)
    local f = assert(io.open(base .. ".json", "r"))
    local text = f:read("*a")
    f:close()
    local st = require "spinlock.safetensors"
    local doc = st.json_decode(text)
    assert.are.equal(2, doc.format_version)
    doc.config.category_decoder = nil                 -- as a format-1 file has it
    doc.format_version = 1
    f = assert(io.open(base .. ".json", "w")); f:write(st.json_encode(doc)); f:close()
    local m1 = vqvae.load(base)
    assert.is_nil(m1.block_decoder)
    assert.are.equal("none", m1.cfg.category_decoder)
    local a, b = { m:get_tokens(x, { prepared = true }) }, { m1:get_tokens(x, { prepared = true }) }
    for l = 1, 3 do assert.are.same(a[l]:totable(), b[l]:totable()) end
    doc.format_version = 3
    f = assert(io.open(base .. ".json", "w")); f:write(st.json_encode(doc)); f:close()
    local ok, err = pcall(vqvae.load, base)
    assert.is_false(ok)
    assert.matches("written by a newer version %(format 3 > 2%)", tostring(err))
  end)

  it("a .pt / .pth path is an alias of the base name (the guide's best_model.pt)", function()
    local m = vqvae.build(SMALL, CATS)
    local dir = SH.tmpdir()
    local base = dir .. "/best_model"
    m:save(base .. ".pt", { epoch = 1 })             -- save strips it too: best_model.{safetensors,json}
    assert.is_truthy(io.open(base .. ".safetensors", "rb"))
    assert.are.equal(base, vqvae.resolve(base .. ".pt"))
    assert.are.equal(base, vqvae.resolve(base .. ".pth"))
    assert.are.equal(base, vqvae.resolve(dir))
    local m2 = vqvae.load(base .. ".pt")
    assert.are.equal(base, m2.checkpoint_path)
    local x = data(20)
    assert.are.same((m:get_tokens(x, { prepared = true })):totable(), (m2:get_tokens(x, { prepared = true })):totable())
    -- a missing .pt names the files it looked for
    local ok, err = pcall(vqvae.load, dir .. "/other.pt")
    assert.is_false(ok)
    assert.matches("no checkpoint at '.*other%.pt'", tostring(err))
    assert.matches("other%.safetensors and .*other%.json", tostring(err))
    -- a real .pt file without our files is refused with a clear message, not parsed
    os.remove(base .. ".json")
    local f = assert(io.open(base .. ".pt", "wb")); f:write("PK\3\4 torch"); f:close()
    ok, err = pcall(vqvae.load, base .. ".pt")
    assert.is_false(ok)
    assert.matches("not a spinlock checkpoint %(a PyTorch file%?%)", tostring(err))
  end)

  it("stand-alone standardisation transform is applied to raw rows", function()
    local x = data(40)
    local D = x:size(2)
    local centre, scale = {}, {}
    for j = 1, D do centre[j] = 1; scale[j] = 2 end
    local m = vqvae.build(SMALL, CATS, { centre = centre, scale = scale })
    local raw = sl.add(sl.mul(x, 2), 1)
    local p = m:prepare(raw)
    assert.is_true(sl.sub(p, x):abs():max() < 1e-5)
  end)

  it("errors name the expected shape", function()
    local m = vqvae.build(SMALL, CATS)
    local ok, err = pcall(function() return m:get_tokens(sl.zeros(3, 5), { prepared = true }) end)
    assert.is_false(ok)
    assert.matches("12 columns, got 5", tostring(err))
    ok, err = pcall(function() return m:forward_backward(sl.zeros(3, 5)) end)
    assert.is_false(ok)
    assert.matches("expected prepared features %[N, 12%]", tostring(err))
    ok, err = pcall(vqvae.build, { category_codebook_sizes = { 2, 2 }, token_codebook_sizes = { 2 } }, CATS)
    assert.is_false(ok)
    assert.matches("has 2 levels but token_codebook_sizes has 1", tostring(err))
    ok, err = pcall(vqvae.load, "/nonexistent/ckpt")
    assert.is_false(ok)
    assert.matches("no checkpoint", tostring(err))
  end)
end)
