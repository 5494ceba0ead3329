-- spinlock.nn.random — where nn's random numbers come from.
--
-- Everything is drawn from Philox streams (docs/rng.md) of purpose TRAINING (7, sl_purpose.h),
-- kept apart from the trainer's own draws (which use b = 0) by the b index:
--   parameter init:  (a = 0, b = 1, c = 0)   one stream shared by the layers created after
--                                             nn.manual_seed(seed), consumed in creation order
--   dropout masks:   (a = 0, b = 2, c = k)   the k-th Dropout created since nn.manual_seed, or
--                                             c = opts.stream when the layer is given a seed
-- So a model built after nn.manual_seed(s) has the same initial weights and dropout masks on
-- every run, whatever the thread count.
local sl = require "spinlock"

local PURPOSE_TRAINING = 7
local R = {}
local state = {}

function R.manual_seed(seed)
  if type(seed) ~= "number" or seed < 0 or seed ~= math.floor(seed) then
    error("nn.manual_seed: seed must be a non-negative integer, got " .. tostring(seed), 2)
  end
  state.seed = seed
  state.init = sl.Generator { seed = seed, purpose = PURPOSE_TRAINING, a = 0, b = 1, c = 0 }
  state.dropouts = 0
end

function R.seed() return state.seed end

-- Generator for parameter init: opts.generator, or a fresh init stream of opts.seed, or the
-- global init stream.
function R.generator(opts)
  if opts and opts.generator then return opts.generator end
  if opts and opts.seed then
    return sl.Generator { seed = opts.seed, purpose = PURPOSE_TRAINING, a = 0, b = 1, c = 0 }
  end
  return state.init
end

function R.dropout_generator(opts)
  if opts and opts.generator then return opts.generator end
  if opts and opts.seed then
    return sl.Generator { seed = opts.seed, purpose = PURPOSE_TRAINING, a = 0, b = 2, c = opts.stream or 0 }
  end
  local k = state.dropouts
  state.dropouts = k + 1
  return sl.Generator { seed = state.seed, purpose = PURPOSE_TRAINING, a = 0, b = 2, c = k }
end

R.manual_seed(0)
return R
