/* sl_feat_frame.h — per-frame features of a trajectory (SUMMARY per-timestep / TEMPORAL core).
 *
 * Input traj [M, T, C, H, W] (any dtype and strides; computed in float32 in, float64 inside);
 * output [M, T, D] float32 with one column per enabled catalog entry, in catalog order.
 * Per-channel features are computed per (m, t, c) and averaged over the C channels; the
 * cross_channel ones are computed per (m, t).  A value that cannot be computed for the data
 * (constant field, C = 1, non-finite input, empty threshold set) is NaN — never a silent 0 —
 * and D depends only on the category mask, never on the data.
 *
 * The catalog (name, category, formula, meaning) is the single source of the column names and
 * of the formula text in docs/features.md.  Features are grouped in categories, in this order:
 * spatial, spectral, cross_channel, distributional, structural, physics, morphological,
 * multiscale. */
#ifndef SL_FEAT_FRAME_H
#define SL_FEAT_FRAME_H

#include "sl_tensor.h"

typedef enum {
  SL_FF_SPATIAL = 0, SL_FF_SPECTRAL, SL_FF_CROSS_CHANNEL, SL_FF_DISTRIBUTIONAL,
  SL_FF_STRUCTURAL, SL_FF_PHYSICS, SL_FF_MORPHOLOGICAL, SL_FF_MULTISCALE, SL_FF_NCAT
} sl_feat_frame_category;

#define SL_FF_ALL_CATEGORIES ((1u << SL_FF_NCAT) - 1u)

typedef struct {
  const char *name;
  sl_feat_frame_category category;
  const char *formula;   /* exact definition (docs/features.md) */
  const char *meaning;   /* one line: what a high value says */
} sl_feat_frame_desc;

/* The full catalog (all categories), in column order; *n receives its length. */
const sl_feat_frame_desc *sl_feat_frame_catalog(int *n);
/* "spatial", "spectral", "cross_channel", … ; NULL when out of range. */
const char *sl_feat_frame_category_name(int category);
/* Category by name; -1 when unknown. */
int sl_feat_frame_category_from_name(const char *name);
/* Number of columns for a category bit mask (bit c = category c enabled). */
int sl_feat_frame_width(unsigned mask);

/* traj [M,T,C,H,W] → *out [M,T,width(mask)] float32.  H, W >= 4; C >= 1.  OpenMP over the
 * M·T frames; each frame is computed by one thread, so results do not depend on the thread
 * count. */
sl_status sl_feat_frame_compute(sl_tensor **out, const sl_tensor *traj, unsigned mask);

#endif
