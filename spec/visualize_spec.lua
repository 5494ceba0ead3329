-- PNG output (sl.png_colorize / sl.png_write / sl.colormap) and `spinlock visualize-dataset`
-- (spinlock.dataset_visualize): valid PNG files (signature, IHDR size) with and without stored
-- trajectories, re-simulation equal to the stored rollouts, colour mapping against hand values.
local sl = require "spinlock"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local H = require "gen_helpers"
H.A = assert
local viz = require "spinlock.dataset_visualize"

local function read_all(path)
  local fh = assert(io.open(path, "rb"))
  local s = fh:read("*a")
  fh:close()
  return s
end

local function u32(s, i) return ((s:byte(i) * 256 + s:byte(i + 1)) * 256 + s:byte(i + 2)) * 256 + s:byte(i + 3) end

-- PNG signature and IHDR: width, height, bit depth, colour type.
local function png_header(path)
  local s = read_all(path)
  assert.are.equal("\137PNG\r\n\26\n", s:sub(1, 8))
  assert.are.equal("IHDR", s:sub(13, 16))
  assert.are.equal("IEND", s:sub(-8, -5))
  return { width = u32(s, 17), height = u32(s, 21), depth = s:byte(25), color = s:byte(26) }
end

describe("png", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.cleanup() end)

  it("maps values through the published viridis and cool-warm tables", function()
    local v = sl.colormap("viridis")
    assert.are.same({ 256, 3 }, v:shape())
    assert.are.same({ 68, 1, 84 }, v:select(1, 1):totable())        -- viridis(0) = (0.267, 0.005, 0.329)
    assert.are.same({ 253, 231, 37 }, v:select(1, 256):totable())   -- viridis(1) = (0.993, 0.906, 0.144)
    local c = sl.colormap("diverging")
    assert.are.same({ 59, 76, 192 }, c:select(1, 1):totable())      -- Moreland's cool end
    assert.are.same({ 180, 4, 38 }, c:select(1, 256):totable())     -- warm end
    local x = sl.tensor({ { 0, 1 }, { 2, 0 / 0 } })
    local img = sl.png_colorize(x, { vmin = 0, vmax = 2 })
    assert.are.same({ 2, 2, 3 }, img:shape())
    assert.are.equal("uint8", img:dtype())
    assert.are.same({ 68, 1, 84 }, img:select(1, 1):select(1, 1):totable())
    assert.are.same(v:select(1, 129):totable(), img:select(1, 1):select(1, 2):totable())  -- round(127.5) = 128
    assert.are.same({ 253, 231, 37 }, img:select(1, 2):select(1, 1):totable())
    assert.are.same({ 255, 0, 255 }, img:select(1, 2):select(1, 2):totable())             -- NaN → magenta
    -- auto range ignores non-finite values; equal bounds give the middle colour; scale replicates
    local auto = sl.png_colorize(sl.tensor({ { -1, 1 }, { 1 / 0, 0 } }), { colormap = "gray", scale = 2 })
    assert.are.same({ 4, 4, 3 }, auto:shape())
    assert.are.same({ 0, 0, 0 }, auto:select(1, 2):select(1, 2):totable())
    assert.are.same({ 255, 255, 255 }, auto:select(1, 1):select(1, 3):totable())   -- 1 = finite max
    assert.are.same({ 255, 255, 255 }, auto:select(1, 3):select(1, 1):totable())   -- +inf clips to the top
    assert.are.same({ 128, 128, 128 }, auto:select(1, 4):select(1, 4):totable())   -- 0 in [-1, 1]
    local flat = sl.png_colorize(sl.full({ 2, 2 }, 3), { colormap = "gray" })
    assert.are.same({ 128, 128, 128 }, flat:select(1, 1):select(1, 1):totable())
    -- strided input: a transposed view colours like its contiguous copy
    local t = sl.tensor({ { 0, 1, 2 }, { 3, 4, 5 } }):transpose(1, 2)
    assert.are.same(sl.png_colorize(t:contiguous()):totable(), sl.png_colorize(t):totable())
  end)

  it("writes grey, RGB and colour-mapped PNG files with the right header", function()
    sl.png_write(dir .. "/rgb.png", sl.full({ 5, 7, 3 }, 200, "uint8"))
    assert.are.same({ width = 7, height = 5, depth = 8, color = 2 }, png_header(dir .. "/rgb.png"))
    sl.png_write(dir .. "/gray.png", sl.zeros({ 3, 4 }, "uint8"))
    assert.are.same({ width = 4, height = 3, depth = 8, color = 0 }, png_header(dir .. "/gray.png"))
    sl.png_write(dir .. "/field.png", sl.zeros(6, 9), { scale = 3 })
    assert.are.same({ width = 27, height = 18, depth = 8, color = 2 }, png_header(dir .. "/field.png"))
  end)

  it("rejects bad images and options with clear messages", function()
    local msg = H.err_of(sl.png_colorize, sl.zeros(2, 2, 2))
    assert.truthy(msg:find("expected a 2-D field [H,W], got a 3-d tensor", 1, true), msg)
    msg = H.err_of(sl.png_colorize, sl.zeros(2, 2), { colormap = "jet" })
    assert.truthy(msg:find("unknown colormap 'jet'", 1, true), msg)
    msg = H.err_of(sl.png_colorize, sl.zeros(2, 2), { scale = 0 })
    assert.truthy(msg:find("scale must be an integer in 1..64", 1, true), msg)
    msg = H.err_of(sl.png_write, dir .. "/x.png", sl.zeros({ 2, 2, 2 }, "uint8"))
    assert.truthy(msg:find("expected 1, 3 or 4 channels, got 2", 1, true), msg)
    msg = H.err_of(sl.png_write, "/nonexistent-dir/x.png", sl.zeros({ 2, 2 }, "uint8"))
    assert.truthy(msg:find("cannot open '/nonexistent-dir/x.png'", 1, true), msg)
  end)
end)

describe("visualize-dataset", function()
  local dir, cfg_path
  setup(function()
    dir = H.tmpdir()
    cfg_path = H.write_config(dir)
    H.generate(H.load(cfg_path), { output = dir .. "/stored.h5" })
    H.generate(H.load(cfg_path, { store_trajectories = false }), { output = dir .. "/bare.h5" })
  end)
  teardown(function() H.cleanup() end)

  it("picks frames evenly, first and last included", function()
    assert.are.same({ 1, 2, 3, 4 }, viz.frame_indices(4, 8))
    assert.are.same({ 1, 4, 7, 10 }, viz.frame_indices(10, 4))
    assert.are.same({ 1 }, viz.frame_indices(5, 1))
  end)

  it("writes one PNG per operator and an overview from stored trajectories", function()
    local res = viz.run { dataset = dir .. "/stored.h5", output = dir .. "/v1", num_ops = 3, realizations = 2,
                          frames = 3, log = function() end }
    assert.is_false(res.resimulated)
    assert.are.equal(4, #res.files)
    assert.are.equal(dir .. "/v1/operator_00000.png", res.files[1])
    -- 16 px tiles scaled x4 = 64, 2 px gaps: 3 frames x 2 realizations
    assert.are.same({ width = 3 * 64 + 4 * 2, height = 2 * 64 + 3 * 2, depth = 8, color = 2 }, png_header(res.files[1]))
    -- overview: 3 operators x 3 frames at half scale
    assert.are.same({ width = 3 * 32 + 4 * 2, height = 3 * 32 + 4 * 2, depth = 8, color = 2 },
                    png_header(dir .. "/v1/overview.png"))
  end)

  it("joins paths with one slash whatever the --output spelling", function()
    local lines = {}
    local res = viz.run { dataset = dir .. "/stored.h5", output = dir .. "//v2/", num_ops = 1, realizations = 1,
                          frames = 2, log = function(l) lines[#lines + 1] = l end }
    assert.are.same({ dir .. "/v2/operator_00000.png", dir .. "/v2/overview.png" }, res.files)
    assert.truthy(lines[1]:find("-> " .. dir .. "/v2$"), lines[1])
    assert.are.equal("vis", viz.clean_dir("vis/"))
    assert.are.equal("a/b", viz.clean_dir("a//b//"))
    assert.are.equal("/", viz.clean_dir("//"))
  end)

  it("re-simulates operators when the file holds no trajectories, matching the stored rollouts", function()
    local op = H.modules()
    local res = viz.run { dataset = dir .. "/bare.h5", output = dir .. "/v2", num_ops = 2, frames = 4,
                          operator = op, log = function() end }
    assert.is_true(res.resimulated)
    assert.are.equal(3, #res.files)
    local ref = viz.run { dataset = dir .. "/stored.h5", output = dir .. "/v3", num_ops = 2, frames = 4,
                          log = function() end }
    for i = 1, 3 do
      png_header(res.files[i])
      assert.are.equal(read_all(ref.files[i]), read_all(res.files[i]), "image " .. i .. " differs")
    end
    -- the trajectory itself, not only its picture
    local h5 = require "spinlock.h5"
    local gen = require "spinlock.generate"
    local stored = h5.with(dir .. "/stored.h5", "r", function(f) return f:read("outputs/trajectories", 2, 1):select(1, 1) end)
    local again = h5.with(dir .. "/bare.h5", "r", function(f)
      return gen.resimulate(f, f:attrs("metadata"), 2, 2, { operator = op })
    end)
    assert.are.same(stored:totable(), again:totable())
  end)

  it("checks its options", function()
    local msg = H.err_of(viz.run, { dataset = dir .. "/stored.h5", output = dir .. "/v4", channel = 4 })
    assert.truthy(msg:find("--channel must be in 1..3, got 4", 1, true), msg)
    msg = H.err_of(viz.run, { dataset = dir .. "/none.h5", output = dir .. "/v4" })
    assert.truthy(msg:find("no such file", 1, true), msg)
    -- --output naming an existing file: a user error, nothing written
    local file = dir .. "/a_file.txt"
    local fh = assert(io.open(file, "w")); fh:write("x"); fh:close()
    local ok, e = pcall(viz.run, { dataset = dir .. "/stored.h5", output = file, num_ops = 1, log = function() end })
    assert.is_false(ok)
    assert.is_true(require("spinlock.cli").is_user_error(e), tostring(e))
    assert.are.equal("--output: " .. file .. " is a file, expected a folder", e.msg)
  end)

  it("says so when --realizations asks for more than the file has", function()
    local Mr = require("spinlock.h5").with(dir .. "/stored.h5", "r", function(f)
      return f:attrs("metadata").num_realizations
    end)
    local lines = {}
    viz.run { dataset = dir .. "/stored.h5", output = dir .. "/v6", num_ops = 1, realizations = Mr + 3, frames = 2,
              log = function(l) lines[#lines + 1] = l end }
    local want = string.format("note: --realizations %d, but %s has %d realization", Mr + 3, dir .. "/stored.h5", Mr)
    assert.truthy(lines[1]:find(want, 1, true), table.concat(lines, "\n"))
    assert.truthy(lines[1]:find("showing " .. Mr, 1, true), lines[1])
    lines = {}
    viz.run { dataset = dir .. "/stored.h5", output = dir .. "/v6", num_ops = 1, realizations = Mr, frames = 2,
              log = function(l) lines[#lines + 1] = l end }
    for _, l in ipairs(lines) do assert.is_nil(l:find("note:", 1, true), l) end
  end)

  it("runs as `spinlock visualize-dataset`", function()
    local out, code = H.run("'" .. H.binary() .. "' visualize-dataset --dataset '" .. dir .. "/stored.h5' --num-ops 2 --output '"
                            .. dir .. "/v5'")
    assert.are.equal(0, code, out)
    png_header(dir .. "/v5/overview.png")
    png_header(dir .. "/v5/operator_00001.png")
  end)
end)
