-- FAKE catalog modules for the feature assembly specs (NOT the real features).
--
-- They follow the catalog contract of lua/spinlock/features/*.lua (catalog(opts) -> entries,
-- compute(...) -> tensor) with the real category widths of spec/features.md, and compute cheap,
-- deterministic values from whole-tensor ops so the assembly math (aggregation, column order,
-- quality masks) can be checked against naive loops without the real kernels. Each call returns
-- fresh tables; a spec may set `fakes.frame.post = function(pf) ... end` to inject NaN/Inf.
local sl = require "spinlock"

local FRAME_WIDTHS = { { "spatial", 24 }, { "spectral", 27 }, { "cross_channel", 12 }, { "distributional", 5 },
                       { "structural", 5 }, { "physics", 5 }, { "morphological", 5 }, { "multiscale", 5 } }
local TRAJ_WIDTHS = { { "temporal", 36 }, { "causality", 14 }, { "invariant_drift", 60 }, { "nonlinear", 5 },
                      { "operator_sensitivity", 10 } }
-- a few real-looking names so the guide's examples find what they look for
local SPECIAL = { spectral = { [1] = "spectral_peak_power_ratio", [2] = "spectral_peak_freq" },
                  distributional = { [1] = "histogram_entropy" }, spatial = { [2] = "spatial_variance" } }

local function catalog_of(widths, opts)
  local out = {}
  for _, cw in ipairs(widths) do
    local cat, w = cw[1], cw[2]
    if opts.categories[cat] then
      for i = 1, w do
        local name = SPECIAL[cat] and SPECIAL[cat][i] or string.format("fake_%s_%02d", cat, i)
        out[#out + 1] = { name = name, category = cat, formula = "fake: k·mean + var/k", meaning = "fake" }
      end
    end
  end
  return out
end

-- column k of the catalog gets a·k + b/k for two per-row base series a, b
local function fill_columns(out, a, b, dim)
  local D = out:size(dim)
  for k = 1, D do out:select(dim, k):copy(a * k + b / k) end
  return out
end

return function()
  local fakes = {}

  fakes.frame = { is_fake = true }
  function fakes.frame.catalog(opts) return catalog_of(FRAME_WIDTHS, opts) end
  function fakes.frame.compute(traj, opts)
    local M, T, C, G = traj:size(1), traj:size(2), traj:size(3), traj:size(4)
    local D = #catalog_of(FRAME_WIDTHS, opts)
    local a = traj:mean({ 3, 4, 5 })
    local b = traj:contiguous():view(M, T, C * G * G):var(3)
    local pf = fill_columns(sl.empty({ M, T, D }, "float32"), a, b, 3)
    if fakes.frame.post then fakes.frame.post(pf) end
    return pf
  end

  fakes.trajectory = { is_fake = true }
  function fakes.trajectory.catalog(opts) return catalog_of(TRAJ_WIDTHS, opts) end
  function fakes.trajectory.compute(traj, opts, ctx)
    local cat = catalog_of(TRAJ_WIDTHS, opts)
    local a = traj:mean({ 2, 3, 4, 5 })
    local b = traj:amax({ 2, 3, 4, 5 })
    local out = fill_columns(sl.empty({ traj:size(1), #cat }, "float32"), a, b, 2)
    if not (ctx and ctx.operator) then
      for k, e in ipairs(cat) do
        if e.category == "operator_sensitivity" then out:select(2, k):fill(0 / 0) end
      end
    end
    if fakes.trajectory.post then fakes.trajectory.post(out) end
    return out
  end

  fakes.initial = { is_fake = true }
  function fakes.initial.catalog(opts)
    local out = {}
    for i = 1, 42 do
      out[i] = { name = i == 13 and "ic_spatial_gradient_mean" or string.format("fake_ic_%02d", i),
                 category = i <= 14 and "manual" or "cnn", formula = "fake", meaning = "fake" }
    end
    return out
  end
  function fakes.initial.compute(ic, opts, M)
    local m = ic:dim() == 3 and sl.full({ M }, ic:mean(), "float32") or ic:mean({ 2, 3, 4 })
    return fill_columns(sl.empty({ M, 42 }, "float32"), m, m * m, 2)
  end

  fakes.architecture = { is_fake = true }
  function fakes.architecture.catalog(opts, params)
    local out = { { name = "stoch_noise_scale_log", category = "stochastic", formula = "fake", meaning = "fake" } }
    for _, p in ipairs(params or {}) do
      out[#out + 1] = { name = "fake_arch_" .. p.name, category = p.category or "architecture", formula = "fake" }
    end
    return out
  end
  function fakes.architecture.compute(unit, mapped, params, opts)
    local out = sl.empty({ 1 + #params }, "float32")
    out[1] = unit[1]
    if #params > 0 then out:narrow(1, 2, #params):copy(unit) end
    return out
  end
  return fakes
end
