-- Shared helpers of the generation specs (generate, dataset, inspect, visualize): a tiny config
-- (G=16, M=2, T=4, N=6) in a temp folder, the pipeline modules (the real spinlock.operator /
-- spinlock.features when this build has them, else the FAKES in this folder), quiet runs, and a
-- comparison of two dataset files row by row.
local h5 = require "spinlock.h5"

local H = {}
-- busted's assert lives in the spec files' environment: specs set H.A = assert after requiring this.
H.A = nil
H.here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = H.here .. "?.lua;" .. package.path

local SH = require "helpers"
--- A fresh temp folder (removed by H.cleanup).
H.tmpdir = SH.tmpdir
H.cleanup = SH.remove_tmpdirs

H.TINY = [[
metadata: {name: spec_tiny, description: "generation spec dataset"}
parameter_space:
  architecture:
    num_layers: {type: integer, bounds: [2, 3]}
    base_channels: {type: integer, bounds: [4, 6]}
    kernel_size: {type: choice, choices: [3]}
    activation: {type: choice, choices: [gelu, tanh]}
  stochastic:
    noise_type: {type: choice, choices: [gaussian]}
    noise_scale: {type: continuous, bounds: [0.001, 0.2], log_scale: true}
  operator:
    normalization: {type: choice, choices: [instance]}
    grid_size: {type: choice, choices: [%d]}
  evolution:
    update_policy: {type: choice, choices: [residual, convex]}
    dt: {type: continuous, bounds: [0.01, 0.1]}
sampling: {total_samples: %d, batch_size: 4, sobol: {seed: 7}}
simulation:
  num_realizations: %d
  num_timesteps: %d
  input_generation:
    method: sampled
    ic_type_weights: {gaussian_random_field: 0.5, localized: 0.5}
dataset:
  output_path: %s
  storage: {chunk_size: 4, store_trajectories: %s, trajectory_dtype: float32}
]]

--- Writes the tiny config into dir and returns its path.  o: G (16), N (6), M (2), T (4),
--- store (true), output (dir/out.h5), extra (text appended).
function H.write_config(dir, o)
  o = o or {}
  local text = H.TINY:format(o.G or 16, o.N or 6, o.M or 2, o.T or 4, o.output or (dir .. "/out.h5"),
                             o.store == false and "false" or "true") .. (o.extra or "")
  return SH.write_file(dir .. "/" .. (o.name or "tiny.yaml"), text)
end

function H.load(path, overrides)
  return require("spinlock.config").load(path, overrides, { warn = false })
end

local function try(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  return nil
end

--- The operator and features modules the pipeline specs use: the real ones when this build has
--- them (and, given cfg, when the real extractor can serve every family that cfg enables), else
--- the fakes.
function H.modules(cfg)
  local fx = try("spinlock.features")
  if fx and cfg then
    local dims = { M = cfg.simulation.num_realizations, T = cfg.simulation.num_timesteps, C = 3,
                   G = require("spinlock.generate").grid_size(cfg), parameters = cfg.parameters }
    if not pcall(fx.new, cfg, dims) then fx = nil end
  end
  return try("spinlock.operator") or require("fake_operator"), fx or require("fake_features")
end

--- Runs the pipeline quietly.  opts are passed to generate.run (operator/features default to H.modules()).
function H.generate(cfg, opts)
  opts = opts or {}
  local op, fx = H.modules(cfg)
  opts.operator = opts.operator or op
  opts.features = opts.features or fx
  opts.progress = false
  opts.log = opts.log or function() end
  return require("spinlock.generate").run(cfg, opts)
end

-- Attributes that legitimately differ between two runs of the same dataset.
local VOLATILE = { creation_date = true, generation_seconds = true, config_source = true }

-- NaN never equals itself: snapshots spell it "NaN" so equal files compare equal.
local function denan(v)
  if type(v) == "number" then return v ~= v and "NaN" or v end
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = denan(x) end
  end
  return v
end

--- Every dataset and attribute of a file as plain Lua values (rows first..last of per-operator
--- datasets when given), for comparisons.
function H.snapshot(path, first, last)
  return h5.with(path, "r", function(f)
    local snap = {}
    for _, e in ipairs(f:walk("/")) do
      if e.kind == "dataset" then
        local n = e.shape[1]
        local a, b = first or 1, math.min(last or n, n)
        if e.dtype == "string" then
          snap[e.path] = f:read_strings(e.path, a, b - a + 1)
        else
          snap[e.path] = denan(f:read(e.path, a, b - a + 1):totable())
        end
      end
      local attrs = f:attrs(e.path)
      for k, v in pairs(attrs) do
        if not VOLATILE[k] then snap[e.path .. "@" .. k] = denan(v) end
      end
    end
    return snap
  end)
end

--- Asserts that two snapshots are equal, naming the first differing entry.
function H.assert_same(a, b, skip)
  skip = skip or {}
  local keys = {}
  for k in pairs(a) do keys[#keys + 1] = k end
  for k in pairs(b) do if a[k] == nil then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not skip[k] and not skip[k:match("@(.*)$") or ""] then
      H.A.are.same(a[k], b[k], "entry " .. k .. " differs")
    end
  end
end

--- shell command → output, exit code
H.run = SH.shell

--- The spinlock binary running this process (for subprocess specs).
function H.binary()
  local ok, paths = pcall(require, "spinlock.paths")
  if ok and type(paths) == "table" and paths.exe then return paths.exe end
  return H.here .. "../../build/spinlock"
end

function H.have_h5py()
  local out, code = H.run("/usr/bin/python3 -c 'import h5py, numpy'")
  return code == 0, out
end

function H.err_of(fn, ...)
  local ok, err = pcall(fn, ...)
  H.A.is_false(ok, "expected an error")
  return tostring(type(err) == "table" and (err.msg or err) or err)
end

return H
