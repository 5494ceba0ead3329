-- HDF5 files (sl.h5): modes, dtypes incl. float16 storage, hyperslabs, append, strided writes,
-- strings, attributes, listing, errors, and a compatibility check of the result with h5py.
-- References are hand-computed values and naive Lua loops; h5py (/usr/bin/python3) is the
-- independent reader for the compatibility spec.
local sl = require "spinlock"
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "support/?.lua;" .. package.path
local SH = require "helpers"

local function tmp(suffix) return SH.tmpfile(suffix or ".h5") end
local err_of = SH.error_of   -- fn, args → its error message (asserts it raised one)

local run = SH.shell   -- shell command → output, exit code

local function have_h5py()
  local _, code = run("/usr/bin/python3 -c 'import h5py, numpy'")
  return code == 0
end

teardown(SH.remove_tmpdirs)

describe("h5 files", function()
  it("creates with w, reopens with r, r+ and a; close is idempotent", function()
    local p = tmp()
    local f = sl.h5.open(p, "w")
    assert.are.equal("w", f:mode())
    assert.are.equal(p, f:filename())
    f:create_group("g")
    f:close()
    f:close()
    assert.is_false(f:is_open())
    assert.are.equal("H5File(closed)", tostring(f))
    assert.is_true(sl.h5.is_hdf5(p))
    for _, mode in ipairs({"r", "r+", "a"}) do
      local g = sl.h5.open(p, mode)
      assert.is_true(g:exists("g"))
      g:close()
    end
    local g = sl.h5.open(p, "w")        -- truncates
    assert.is_false(g:exists("g"))
    g:close()
  end)

  it("a creates a missing file, x refuses an existing one", function()
    local p = tmp()
    os.remove(p)
    local f = sl.h5.open(p, "a")
    f:create_group("x")
    f:close()
    assert.truthy(err_of(sl.h5.open, p, "x"):find(p .. ": cannot create: the file already exists (mode 'x')", 1, true))
    local q = tmp()
    os.remove(q)
    sl.h5.open(q, "x"):close()
    assert.is_true(sl.h5.is_hdf5(q))
  end)

  it("explains missing files, non-HDF5 files and bad modes", function()
    local p = tmp()
    os.remove(p)
    assert.are.equal(p .. ": cannot open: no such file (mode 'r')", err_of(sl.h5.open, p))
    assert.are.equal(p .. ": cannot open: no such file (mode 'r+')", err_of(sl.h5.open, p, "r+"))
    local fh = io.open(p, "w"); fh:write("not hdf5 at all"); fh:close()
    assert.is_false(sl.h5.is_hdf5(p))
    assert.are.equal(p .. ": cannot open (mode 'r'): not an HDF5 file", err_of(sl.h5.open, p))
    assert.truthy(err_of(sl.h5.open, p, "rw"):find("unknown mode 'rw' (expected r, r+, w, x or a)", 1, true))
    assert.is_false(sl.h5.is_hdf5("/nonexistent/file.h5"))
  end)

  it("closes the file when the handle is collected", function()
    local p = tmp()
    do sl.h5.open(p, "w"):create_group("a") end
    collectgarbage(); collectgarbage()
    local f = sl.h5.open(p, "r")
    assert.is_true(f:exists("a"))
    f:close()
    sl.h5.open(p, "w"):close()     -- truncating fails while any handle is still open
  end)

  it("with() closes the file after errors", function()
    local p = tmp()
    local ok, err = pcall(sl.h5.with, p, "w", function(f) f:create_group("z"); error("boom") end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("boom"))
    assert.are.equal(3, sl.h5.with(p, "r", function(f) return f:exists("z") and 3 end))
  end)
end)

describe("h5 datasets", function()
  local p, f
  before_each(function() p = tmp(); f = sl.h5.open(p, "w") end)
  after_each(function() f:close() end)

  it("round-trips every dtype", function()
    local cases = {
      float32 = {1.5, -2.25, 2 ^ 100}, float64 = {1 / 3, -1e300, 2 ^ 52 + 1},
      int32 = {-2147483648, 2147483647, 7}, int64 = {-2 ^ 53, 2 ^ 53, -1}, uint8 = {0, 255, 7},
    }
    for dt, vals in pairs(cases) do
      f:create_dataset("d/" .. dt, {shape = {3}, dtype = dt})
      f:write("d/" .. dt, sl.tensor(vals, dt))
      local t = f:read("d/" .. dt)
      assert.are.equal(dt, t:dtype())
      assert.are.equal(dt, f:info("d/" .. dt).dtype)
      assert.are.same(vals, t:totable())
    end
    -- HDF5 converts on write: float64 values into an int32 dataset
    f:create_dataset("conv", {shape = {2}, dtype = "int32"})
    f:write("conv", sl.tensor({3, -4}, "float64"))
    assert.are.same({3, -4}, f:read("conv"):totable())
  end)

  it("stores float16 and reads it back as float32, correctly rounded", function()
    f:create_dataset("h", {shape = {2, 4}, dtype = "float16"})
    f:write("h", sl.tensor({{1 / 3, 0.1, -2.5, 65504}, {2 ^ -24, 0, 65520, 1e-9}}, "float64"))
    local t = f:read("h")
    assert.are.equal("float32", t:dtype())
    assert.are.equal("float16", f:info("h").dtype)
    -- nearest halves: 1365/4096, 1638/16384; 65520 rounds (to even) up to infinity; 1e-9 underflows
    assert.are.same({{0.333251953125, 0.0999755859375, -2.5, 65504}, {2 ^ -24, 0, math.huge, 0}}, t:totable())
  end)

  it("writes and reads hyperslabs along the leading dims", function()
    f:create_dataset("m", {shape = {4, 5, 2}, dtype = "float64"})
    local block = sl.zeros({2, 3, 2}, "float64")
    for i = 1, 2 do for j = 1, 3 do for k = 1, 2 do block:set(100 * i + 10 * j + k, i, j, k) end end end
    f:write("m", block, {2, 3})   -- rows 2..3, columns 3..5
    local all = f:read("m"):totable()
    for i = 1, 4 do for j = 1, 5 do for k = 1, 2 do
      local want = (i >= 2 and i <= 3 and j >= 3) and (100 * (i - 1) + 10 * (j - 2) + k) or 0
      assert.are.equal(want, all[i][j][k])
    end end end
    assert.are.same(block:totable(), f:read("m", {2, 3}, {2, 3}):totable())
    assert.are.same({4 - 1, 5, 2}, f:read("m", 2):shape())               -- rows 2..end
    assert.are.same({1, 2, 2}, f:read("m", {4, 4}, {1}):shape())          -- row 4, columns 4..end
    assert.are.same({{{221, 222}}}, f:read("m", {3, 4}, {1, 1}):totable())
    assert.are.same({{{222}}}, f:read("m", {3, 4, 2}, {1, 1, 1}):totable())
    -- a tensor of lower rank is one row
    f:write("m", sl.full({5, 2}, 7, "float64"), 1)
    assert.are.same({7, 7}, f:read("m", {1, 5}, {1, 1}):view(2):totable())
  end)

  it("appends rows and single rows to an extendable dataset", function()
    f:create_dataset("features/initial", {shape = {0, 3, 4}, unlimited = true, chunks = {1, 3, 4}})
    assert.are.equal(1, f:append("features/initial", sl.full({3, 4}, 1)))
    assert.are.equal(3, f:append("features/initial", sl.full({2, 3, 4}, 2)))
    local info = f:info("features/initial")
    assert.are.same({3, 3, 4}, info.shape)
    assert.are.same({math.huge, 3, 4}, info.maxshape)
    local t = f:read("features/initial")
    assert.are.equal(1, t:get(1, 3, 4))
    assert.are.equal(2, t:get(3, 1, 1))
    -- writing past the end grows dim 1 (operators finishing out of order)
    f:write("features/initial", sl.full({3, 4}, 9), 6)
    assert.are.same({6, 3, 4}, f:info("features/initial").shape)
    assert.are.equal(0, f:read("features/initial", 5, 1):get(1, 1, 1))
    assert.are.equal(9, f:read("features/initial", 6, 1):get(1, 3, 4))
    f:resize("features/initial", 2)
    assert.are.same({2, 3, 4}, f:info("features/initial").shape)
  end)

  it("writes strided (non-contiguous) tensors", function()
    local base = sl.arange(12):view(3, 4)
    local tt = base:transpose(1, 2)            -- [4,3], strides (1,4)
    assert.is_false(tt:is_contiguous())
    f:create_dataset("s", {shape = {4, 3}})
    f:write("s", tt)
    assert.are.same(tt:totable(), f:read("s"):totable())
    f:create_dataset("n", {shape = {3, 2}})
    f:write("n", base:narrow(2, 2, 2))         -- columns 2..3
    assert.are.same({{1, 2}, {5, 6}, {9, 10}}, f:read("n"):totable())
  end)

  it("records chunks, compression, shuffle and maxshape", function()
    f:create_dataset("c", {shape = {0, 7, 42}, maxshape = {nil, 7, 42}, chunks = {1, 7, 42},
                           compression = "gzip", level = 4, shuffle = true})
    local i = f:info("c")
    assert.are.same({1, 7, 42}, i.chunks)
    assert.are.equal("gzip", i.compression)
    assert.are.equal(4, i.level)
    assert.is_true(i.shuffle)
    assert.are.same({math.huge, 7, 42}, i.maxshape)
    f:create_dataset("plain", {shape = {2, 2}})
    local q = f:info("plain")
    assert.is_nil(q.chunks)
    assert.is_nil(q.compression)
    assert.is_false(q.shuffle)
    f:create_dataset("auto", {shape = {10, 1000}, compression = "gzip"})   -- chunks chosen for us
    local a = f:info("auto")
    assert.are.equal(4, a.level)
    assert.are.equal(1000, a.chunks[2])
    assert.is_true(a.chunks[1] >= 1 and a.chunks[1] <= 10)
    f:write("auto", sl.ones(10, 1000))
    local r = f:read("auto")
    assert.are.equal(1, r:get(1, 1))
    assert.are.equal(1, r:get(10, 1000))
  end)

  it("handles scalar and empty datasets", function()
    f:create_dataset("scalar", {shape = {}, dtype = "float64"})
    f:write("scalar", sl.tensor(2.5, "float64"))
    local t = f:read("scalar")
    assert.are.equal(0, t:dim())
    assert.are.equal(2.5, t:item())
    f:create_dataset("empty", {shape = {0, 3}, unlimited = true})
    assert.are.same({0, 3}, f:read("empty"):shape())
  end)
end)

describe("h5 strings", function()
  it("writes, appends, overwrites and reads variable-length UTF-8 strings", function()
    local p = tmp()
    local f = sl.h5.open(p, "w")
    f:write_strings("metadata/ic_types", {"gaussian_random_field", "multiscale_grf"})
    assert.are.equal(4, f:append_strings("metadata/ic_types", {"temp_°C", ""}))
    f:write_strings("metadata/ic_types", {"replaced"}, 2)
    f:write_strings("metadata/ic_types", {"sixth"}, 6)    -- grows; the hole reads as ""
    assert.are.same({"gaussian_random_field", "replaced", "temp_°C", "", "", "sixth"}, f:read_strings("metadata/ic_types"))
    assert.are.same({"temp_°C", ""}, f:read_strings("metadata/ic_types", 3, 2))
    assert.are.same({}, f:read_strings("metadata/ic_types", 7))
    assert.are.equal("string", f:info("metadata/ic_types").dtype)
    assert.truthy(err_of(f.write_strings, f, "metadata/ic_types", {"bad \255 byte"}):find("string 1 is not valid UTF-8", 1, true))
    assert.truthy(err_of(f.write_strings, f, "metadata/ic_types", {"ok", 3}):find("element 2 is a number, expected a string", 1, true))
    assert.truthy(err_of(f.read, f, "metadata/ic_types"):find("use read_strings", 1, true))
    f:create_dataset("num", {shape = {2}})
    assert.truthy(err_of(f.read_strings, f, "num"):find("expected a 1-D string dataset, found float32", 1, true))
    f:close()
  end)
end)

describe("h5 attributes", function()
  it("stores each kind on the root, groups and datasets and reads it back with its type", function()
    local p = tmp()
    local f = sl.h5.open(p, "w")
    f:create_dataset("g/d", {shape = {2}})
    local values = {
      seed = 42, dt = 0.25, big = 2 ^ 40, name = "spinlock", unicode = "temp_°C",
      names = {"a", "ic_spatial_gradient_mean", "c"}, ints = {64, 64, -1}, floats = {0.5, 1, 1.5},
      empty = {},
    }
    for _, where in ipairs({"/", "g", "g/d"}) do
      for k, v in pairs(values) do f:set_attr(where, k, v) end
      f:set_attr(where, "flag", true)
      f:set_attr(where, "matrix", sl.tensor({{1, 2}, {3, 4}}, "int32"))
      f:set_attr(where, "half", sl.tensor(0.5, "float32"))
    end
    f:close()
    f = sl.h5.open(p, "r")
    for _, where in ipairs({"/", "g", "g/d"}) do
      for k, v in pairs(values) do assert.are.same(v, f:attr(where, k)) end
      assert.are.equal(1, f:attr(where, "flag"))
      assert.are.same({{1, 2}, {3, 4}}, f:attr(where, "matrix"))
      local m = f:attr_tensor(where, "matrix")
      assert.are.equal("int32", m:dtype())
      assert.are.equal(0.5, f:attr(where, "half"))
      local all = f:attrs(where)
      assert.are.equal(42, all.seed)
      assert.are.same(values.names, all.names)
      assert.are.equal("string", type(all.name))
    end
    f:close()
  end)

  it("keeps integers and floats apart, replaces and deletes attributes", function()
    local p = tmp()
    local f = sl.h5.open(p, "w")
    f:set_attr("/", "x", 3)
    assert.are.equal(3, f:attr("/", "x"))
    f:set_attr("/", "x", "now a string")         -- replaced whatever its old type
    assert.are.equal("now a string", f:attr("/", "x"))
    f:set_attr("/", "x", {1.5, 2})
    assert.are.same({1.5, 2}, f:attr("/", "x"))
    assert.are.equal("float64", f:attr_tensor("/", "x"):dtype())
    f:set_attr("/", "y", {1, 2})
    assert.are.equal("int64", f:attr_tensor("/", "y"):dtype())
    f:delete_attr("/", "x")
    assert.is_nil(f:attrs("/").x)
    assert.are.equal(p .. ": /: no attribute 'x'", err_of(f.attr, f, "/", "x"))
    assert.truthy(err_of(f.set_attr, f, "/", "z", {1, "a"}):find("element 2 is a string; expected all numbers or all strings", 1, true))
    f:set_attr("/", "s", "text")
    assert.truthy(err_of(f.attr_tensor, f, "/", "s"):find("attribute 's' is not a numeric array", 1, true))
    -- larger than the 64 KiB object-header limit of the oldest file format
    local big = {}
    for i = 1, 20000 do big[i] = i + 0.5 end
    f:set_attr("/", "big", big)
    assert.are.equal(20000.5, f:attr("/", "big")[20000])
    local many = {}
    for i = 1, 3000 do many[i] = "feature_name_number_" .. i end
    f:set_attr("/", "many", many)
    assert.are.equal("feature_name_number_3000", f:attr("/", "many")[3000])
    f:close()
  end)
end)

describe("h5 listing", function()
  it("lists children sorted with kinds, shapes and dtypes; walks recursively", function()
    local p = tmp()
    local f = sl.h5.open(p, "w")
    f:create_group("metadata")
    f:create_dataset("features/summary", {shape = {3, 5}})
    f:create_dataset("features/initial", {shape = {3, 2, 4}, dtype = "float64", unlimited = true})
    f:create_dataset("a_top", {shape = {1}, dtype = "uint8"})
    f:write_strings("metadata/ic", {"x"})
    local l = f:list()
    local names = {}
    for i, e in ipairs(l) do names[i] = e.name .. ":" .. e.kind end
    assert.are.same({"a_top:dataset", "features:group", "metadata:group"}, names)
    local w = f:walk()
    local paths = {}
    for i, e in ipairs(w) do paths[i] = e.path end
    assert.are.same({"/a_top", "/features", "/features/initial", "/features/summary", "/metadata", "/metadata/ic"}, paths)
    assert.are.same({3, 2, 4}, w[3].shape)
    assert.are.equal("float64", w[3].dtype)
    assert.are.same({"initial", "summary"}, {f:list("features")[1].name, f:list("/features/")[2].name})
    assert.are.equal("group", f:info("/").kind)
    assert.is_true(f:exists("features/initial"))
    assert.is_false(f:exists("features/nope"))
    assert.is_false(f:exists("nope/deeper/still"))
    assert.is_false(f:exists("a_top/child"))          -- through a dataset
    assert.is_true(f:exists("//features//initial/"))  -- extra slashes are ignored
    assert.are.equal("/features/summary", f:info("features//summary/").path)
    local tree = f:tree()
    assert.truthy(tree:find("features/\n  initial  float64 [3,2,4] chunks", 1, true))
    f:delete("features/initial")                       -- replace a feature family in place
    assert.is_false(f:exists("features/initial"))
    f:create_dataset("features/initial", {shape = {1}})
    assert.are.same({1}, f:info("features/initial").shape)
    f:close()
  end)
end)

describe("h5 errors", function()
  local p, f
  before_each(function()
    p = tmp()
    f = sl.h5.open(p, "w")
    f:create_dataset("features/initial", {shape = {2, 3}, unlimited = true})
    f:create_dataset("fixed", {shape = {2, 3}})
  end)
  after_each(function() f:close() end)

  it("name the file and the path inside it", function()
    assert.are.equal(p .. ": /features/nope: no such dataset", err_of(f.read, f, "features/nope"))
    assert.are.equal(p .. ": /nope/x: no such dataset", err_of(f.read, f, "/nope/x"))
    assert.are.equal(p .. ": /features: is a group, expected a dataset", err_of(f.read, f, "features"))
    assert.are.equal(p .. ": /fixed/x: no such group", err_of(f.list, f, "fixed/x"))
    assert.are.equal(p .. ": /fixed: is a dataset, expected a group", err_of(f.list, f, "fixed"))
    assert.are.equal(p .. ": /fixed: cannot create dataset: the path already exists (delete it first)",
                     err_of(f.create_dataset, f, "fixed", {shape = {1}}))
    assert.are.equal(p .. ": /nope: cannot delete: no such object", err_of(f.delete, f, "nope"))
    assert.are.equal(p .. ": /fixed/x/y: cannot create: /fixed is a dataset, not a group", err_of(f.create_group, f, "fixed/x/y"))
    assert.are.equal(p .. ": /fixed/d: cannot create: /fixed is a dataset, not a group",
                     err_of(f.create_dataset, f, "fixed/d", {shape = {1}}))
    assert.are.equal(p .. ": /fixed: is a dataset, expected a group", err_of(f.create_group, f, "fixed"))
  end)

  it("reject wrong shapes with both shapes in the message", function()
    assert.are.equal(p .. ": /features/initial: cannot write a tensor of shape [2,4] at offset [0,0]: dataset shape is [2,3] (the trailing dims must fit)",
                     err_of(f.write, f, "features/initial", sl.zeros(2, 4)))
    assert.are.equal(p .. ": /fixed: cannot write a tensor of shape [2,3] at offset [1,0]: dataset shape is [2,3] and dim 1 is not extendable that far",
                     err_of(f.write, f, "fixed", sl.zeros(2, 3), 2))
    assert.truthy(err_of(f.write, f, "fixed", sl.zeros(1, 2, 3)):find("the tensor has more dims", 1, true))
    assert.truthy(err_of(f.append, f, "fixed", sl.zeros(3)):find("is not extendable that far", 1, true))
    assert.truthy(err_of(f.append, f, "fixed", sl.zeros(1, 1, 3)):find("expected rank 2 (rows) or 1 (one row)", 1, true))
    assert.truthy(err_of(f.read, f, "fixed", 4):find("cannot read from offset 3 in dim 1: its size is 2", 1, true))
    assert.truthy(err_of(f.read, f, "fixed", 2, 2):find("cannot read 2 elements from offset 1 in dim 1: its size is 2", 1, true))
    assert.are.same({0, 3}, f:read("fixed", 3):shape())    -- empty, like h5py's d[2:]
    assert.truthy(err_of(f.read, f, "fixed", 0):find("start must be an integer >= 1 (indices are 1-based)", 1, true))
    -- nothing was written by the failed calls
    assert.are.same({2, 3}, f:info("fixed").shape)
  end)

  it("reject bad dataset options", function()
    assert.truthy(err_of(f.create_dataset, f, "x", {shape = {2}, dtype = "complex"}):find("unknown dtype 'complex'", 1, true))
    assert.truthy(err_of(f.create_dataset, f, "x", {shape = {2}, compresion = "gzip"}):find("unknown option 'compresion'", 1, true))
    assert.truthy(err_of(f.create_dataset, f, "x", {shape = {2}, compression = "lzf"}):find("compression must be \"gzip\" or \"none\"", 1, true))
    assert.truthy(err_of(f.create_dataset, f, "x", {shape = {2, 3}, chunks = {1, 4}}):find("exceeds the fixed size 3 of dim 2", 1, true))
    assert.truthy(err_of(f.create_dataset, f, "x", {shape = {3}, maxshape = {2}}):find("maxshape [2] is smaller than shape [3]", 1, true))
    assert.truthy(err_of(f.create_dataset, f, "x", {}):find("option 'shape' (a table of sizes) is required", 1, true))
    assert.truthy(err_of(f.create_dataset, f, "x", {shape = {2, 2}, dtype = "string"}):find("string datasets are 1-D", 1, true))
    assert.is_false(f:exists("x"))
  end)

  it("refuse to write into a read-only file", function()
    f:close()
    f = sl.h5.open(p, "r")
    local want = p .. ": /features/initial: cannot write: the file is open read-only (mode 'r')"
    assert.are.equal(want, err_of(f.write, f, "features/initial", sl.zeros(2, 3)))
    assert.truthy(err_of(f.create_group, f, "g"):find("cannot create a group: the file is open read-only", 1, true))
    assert.truthy(err_of(f.set_attr, f, "/", "a", 1):find("cannot set an attribute: the file is open read-only", 1, true))
    assert.truthy(err_of(f.delete, f, "fixed"):find("cannot delete: the file is open read-only", 1, true))
    assert.truthy(err_of(f.write_strings, f, "s", {"a"}):find("cannot write strings: the file is open read-only", 1, true))
    assert.are.same({2, 3}, f:read("fixed"):shape())
  end)

  it("refuse a closed file", function()
    f:close()
    assert.are.equal("h5: the file is closed", err_of(f.read, f, "fixed"))
    f = sl.h5.open(p, "r")
  end)

  it("say when another process holds the file lock", function()
    if not have_h5py() then pending("/usr/bin/python3 lacks h5py") return end
    local q, marker = tmp(), tmp(".ready")
    os.remove(marker)
    local child = io.popen(string.format(
      "/usr/bin/python3 -c \"import h5py, sys; f = h5py.File(sys.argv[1], 'w'); open(sys.argv[2], 'w').close(); sys.stdin.read()\" '%s' '%s'",
      q, marker), "w")
    for _ = 1, 200 do
      local m = io.open(marker)
      if m then m:close() break end
      os.execute("sleep 0.05")
    end
    local ok, err = pcall(sl.h5.open, q, "r")
    child:close()   -- EOF on stdin: the child closes the file and exits
    assert.is_false(ok)
    assert.truthy(tostring(err):find(q .. ": cannot open (mode 'r'): another process has the file open", 1, true), err)
  end)
end)

describe("h5 compatibility with h5py", function()
  it("writes a file that h5py reads as the user's guide expects", function()
    if not have_h5py() then pending("/usr/bin/python3 lacks h5py; h5py compatibility not checked") return end
    local p = tmp()
    local f = sl.h5.open(p, "w")
    f:create_dataset("features/initial", {shape = {0, 7, 42}, maxshape = {nil, 7, 42}, chunks = {1, 7, 42},
                                          compression = "gzip", level = 4, shuffle = true})
    local all = sl.arange(0, 5 * 7 * 42 / 2, 0.5):view(5, 7, 42)
    for i = 1, 5 do f:append("features/initial", all:select(1, i)) end
    local names = {}
    for i = 1, 42 do names[i] = "feature_" .. i end
    names[4] = "ic_spatial_gradient_mean"
    names[42] = "temp_°C"
    f:set_attr("features/initial", "feature_names", names)
    f:create_dataset("outputs/trajectories", {shape = {2, 3}, dtype = "float16", chunks = {1, 3}})
    f:write("outputs/trajectories", sl.tensor({{1 / 3, 0.1, -2.5}, {65504, 2 ^ -24, 0}}))
    f:write_strings("metadata/ic_types", {"gaussian_random_field", "multiscale_grf", "ëxotic"})
    for _, dt in ipairs({"float64", "int32", "int64", "uint8"}) do
      f:create_dataset("dtypes/" .. dt, {shape = {3}, dtype = dt})
      f:write("dtypes/" .. dt, sl.tensor({1, 2, 250}, dt))
    end
    f:set_attr("/", "version", "0.1.0")
    f:set_attr("/", "seed", 42)
    f:set_attr("/", "dt", 0.25)
    f:set_attr("/", "grid", {64, 64})
    f:set_attr("/", "weights", {0.5, 1.5})
    f:set_attr("/", "tags", {"a", "b"})
    f:set_attr("metadata", "config", "x: 1\ny: [2, 3]\n")
    f:close()
    local out, code = run("/usr/bin/python3 '" .. here .. "support/h5check.py' '" .. p .. "'")
    assert.are.equal(0, code, out)
    assert.truthy(out:find("h5check: OK", 1, true), out)
  end)
end)

describe("h5 memory", function()
  it("leaves no tensors or buffers behind, also after errors", function()
    collectgarbage(); collectgarbage()
    local before = sl.memory_info()
    do
      local p = tmp()
      local f = sl.h5.open(p, "w")
      f:create_dataset("h", {shape = {0, 64}, dtype = "float16", unlimited = true})
      f:append("h", sl.ones(3, 64):transpose(1, 2):contiguous():view(3, 64))
      f:read("h")
      pcall(f.write, f, "h", sl.ones(2, 65))
      pcall(f.read, f, "nope")
      f:set_attr("h", "m", sl.ones(2, 2))
      f:attr_tensor("h", "m")
      f:attrs("h")
      pcall(f.attr, f, "h", "nope")
      f:close()
    end
    collectgarbage(); collectgarbage()
    assert.are.same(before, sl.memory_info())
  end)
end)

describe("h5 reading files written by h5py", function()
  -- spec/fixtures/h5py_written.h5 comes from spec/support/make_h5py_fixture.py (h5py 3.7)
  local fixture = here .. "fixtures/h5py_written.h5"

  it("reads numeric datasets of other dtypes, widened", function()
    local f = sl.h5.open(fixture)
    local i16 = f:read("data/i16")
    assert.are.equal("int32", i16:dtype())
    assert.are.same({{-3, 4}, {5, -32768}}, i16:totable())
    assert.are.same({65535, 1}, f:read("data/u16"):totable())
    assert.are.same({0.333251953125, -2.5, 65504}, f:read("data/f16"):totable())
    assert.are.same({{4, 5, 6, 7}, {8, 9, 10, 11}}, f:read("data/gz", 2):totable())
    assert.are.equal(3.25, f:read("data/scalar"):item())
    assert.are.same({1, 0, 1}, f:read("data/mask"):totable())          -- h5py bools (an enum)
    assert.are.same(f:read("data/gz"):totable(), f:read("data/soft"):totable())
    f:close()
  end)

  it("reads vlen and fixed-length strings, attributes of each kind, and lists links", function()
    local f = sl.h5.open(fixture)
    assert.are.same({"α", "beta"}, f:read_strings("data/names"))
    assert.are.same({"ab", "c"}, f:read_strings("data/fixed_names"))
    local a = f:attrs("/")
    assert.are.same({title = "made by h5py", count = -7, ratio = 0.5, fixed = "abc",
                     fixed_list = {"x", "yz"}, flag = 1}, a)
    local i = f:info("data/gz")
    assert.are.same({"gzip", 6, true, {1, 4}}, {i.compression, i.level, i.shuffle, i.chunks})
    assert.are.equal("string", f:info("data/names").dtype)
    assert.are.equal("fixed_string", f:info("data/fixed_names").dtype)
    assert.are.equal("other", f:info("data/dangling").kind)
    assert.are.equal("dataset", f:info("data/soft").kind)
    local kinds = {}
    for _, e in ipairs(f:list("data")) do kinds[#kinds + 1] = e.name .. "=" .. e.kind end
    assert.are.same({"dangling=other", "f16=dataset", "fixed_names=dataset", "gz=dataset", "i16=dataset",
                     "mask=dataset", "names=dataset", "scalar=dataset", "soft=dataset", "u16=dataset"}, kinds)
    f:close()
  end)

  it("refuses to write into an enum dataset and deletes a dangling link", function()
    local p = tmp()
    local src = io.open(fixture, "rb"); local data = src:read("*a"); src:close()
    local dst = io.open(p, "wb"); dst:write(data); dst:close()
    local f = sl.h5.open(p, "r+")
    assert.truthy(err_of(f.write, f, "data/mask", sl.ones(3)):find("cannot write a tensor into a dataset of dtype enum", 1, true))
    f:delete("data/dangling")
    assert.is_false(pcall(f.info, f, "data/dangling"))
    f:close()
  end)
end)
