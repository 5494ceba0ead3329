/* sl_purpose.h — purpose tags for counter-based random streams.
 *
 * Every random draw in Spinlock comes from a Philox stream built as
 *   sl_rng_stream_make(seed, sl_rng_stream_id(SL_RNG_PURPOSE_X, a, b, c))
 * The purpose tag keeps the streams of different consumers apart, so adding a draw to one stage
 * never shifts the numbers of another.  Values are part of the dataset format's reproducibility
 * contract: never renumber them, only append.  Index conventions (a, b, c) per purpose: */
#ifndef SL_PURPOSE_H
#define SL_PURPOSE_H

enum {
  SL_RNG_PURPOSE_SAMPLING = 1, /* parameter sampling (Sobol/Owen scrambling): (0, 0, 0) or (dim, 0, 0) */
  SL_RNG_PURPOSE_WEIGHTS  = 2, /* operator weights: (operator index, layer, 0) */
  SL_RNG_PURPOSE_IC_TYPE  = 3, /* choice of the IC generator: (operator index, 0, 0) */
  SL_RNG_PURPOSE_IC       = 4, /* IC field values: (operator index, 0, 0) */
  SL_RNG_PURPOSE_NOISE    = 5, /* rollout noise: (operator index, realization, step) */
  SL_RNG_PURPOSE_DROPOUT  = 6, /* dropout masks: (operator index, realization, step) */
  SL_RNG_PURPOSE_TRAINING = 7, /* training-side draws (shuffles, inits): (epoch/stage, 0, 0) */
  SL_RNG_PURPOSE_SENSITIVITY = 8, /* operator-sensitivity probes: (operator index, probe, 0) */
  SL_RNG_PURPOSE_CNN_EMBED = 9 /* INITIAL CNN embedding weights (fixed seed): (layer, input channels, 0) */
};

#endif
