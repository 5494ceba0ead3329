/* sl_feat_traj.h — per-trajectory features (SUMMARY categories temporal, causality,
 * invariant_drift, nonlinear) and the arithmetic of operator sensitivity.
 *
 * Input: a trajectory tensor [M, T, C, H, W] (any dtype/strides; computed in float32 data with
 * double accumulators).  Output: [M, D] float32, one row per realization, D a pure function of
 * the configuration (never of C or T): a feature that cannot be computed for the data (C = 1,
 * T too short, …) is NaN in its column.  Each feature is computed per channel and averaged over
 * channels (NaN propagates), except the cross-channel lag correlations, which are per
 * realization.  Column order: temporal, causality, invariant_drift, nonlinear; operator
 * sensitivity is appended by the Lua side (it needs operator forward passes).
 * Formulas: docs/features-trajectory.md (also returned by sl_feat_traj_catalog). */
#ifndef SL_FEAT_TRAJ_H
#define SL_FEAT_TRAJ_H

#include "sl_tensor.h"
#include "sl_purpose.h"

/* Philox purpose tag of the sensitivity perturbations.  Appended after the tags of
 * sl_purpose.h (1..7); stream indices (operator index, perturbation index, 0). */
#define SL_FEAT_TRAJ_RNG_PURPOSE SL_RNG_PURPOSE_SENSITIVITY

#define SL_FEAT_TRAJ_MAX_ROLL 8
#define SL_FEAT_TRAJ_MAX_LAG 64

enum { SL_FEAT_TRAJ_SERIES_STD = 0, SL_FEAT_TRAJ_SERIES_MEAN = 1 };

typedef struct {
  /* categories */
  int temporal, causality, invariant_drift, nonlinear;
  /* scalar series the temporal/causality/nonlinear features read: spatial std (default) or
   * spatial mean of each channel */
  int series;
  /* temporal */
  int    autocorr_max_lag;                       /* 20 */
  int    n_rolling;                              /* 3 */
  double rolling_fractions[SL_FEAT_TRAJ_MAX_ROLL]; /* 0.05, 0.10, 0.20 */
  int    include_pacf, pacf_max_lag;             /* off, 10 */
  /* causality */
  int    max_lag_correlation;                    /* 3 */
  int    max_lag_prediction;                     /* 2 */
  /* invariant drift */
  double gaussian_sigma;                         /* 2.0 */
  int    num_scales;                             /* 3: raw, lowpass, highpass */
  int    entropy_num_bins;                       /* 32 */
  /* nonlinear */
  int    nl_stride;                              /* 1 */
  int    rqa_dim;                                /* 3 */
  double rqa_threshold;                          /* 0.1 of the largest distance */
  int    corrdim_dim;                            /* 5 */
  int    perm_dim;                               /* 3 */
  int    include_perm_entropy;                   /* 1 */
} sl_feat_traj_config;

void sl_feat_traj_config_default(sl_feat_traj_config *cfg);
/* Checks ranges; SL_ERR_ARG naming the key ("feat_traj: max_lag_correlation must be in 1..64"). */
sl_status sl_feat_traj_config_check(const sl_feat_traj_config *cfg);

typedef struct {
  char        name[64];
  const char *category;   /* "temporal", "causality", "invariant_drift", "nonlinear" */
  char        formula[320];
  char        meaning[200];
} sl_feat_traj_entry;

/* Number of columns for cfg (no sensitivity). */
int sl_feat_traj_width(const sl_feat_traj_config *cfg);
/* Catalog in column order: *out is an sl_alloc'ed array of *n entries, freed with
 * sl_feat_traj_catalog_free(*out, *n). */
sl_status sl_feat_traj_catalog(sl_feat_traj_entry **out, int *n, const sl_feat_traj_config *cfg);
void sl_feat_traj_catalog_free(sl_feat_traj_entry *e, int n);

/* traj [M,T,C,H,W] → out [M, width] float32.  OpenMP over frames and over series; results do
 * not depend on the thread count. */
sl_status sl_feat_traj_compute(sl_tensor **out, const sl_tensor *traj, const sl_feat_traj_config *cfg);

/* ---- operator sensitivity (the forward passes are the caller's) ----
 * probes: x [C,H,W] (or [1,C,H,W]) → [1 + ne + na, C, H, W]: row 0 = x; row 1+k = x + δ_k with
 * δ_k = eps[k] · s · z_k, s = RMS(x) (1 when x is all zero), z_k ~ N(0,1) from the Philox stream
 * (seed, sl_rng_stream_id(SL_FEAT_TRAJ_RNG_PURPOSE, op_index, k, 0)); row 1+ne+j = alpha[j] · x. */
sl_status sl_feat_traj_sens_probes(sl_tensor **out, const sl_tensor *x, uint64_t seed, uint64_t op_index,
                                   const double *eps, int ne, const double *alpha, int na);
/* probes as above, outputs [1+ne+na, ...] = O(probe row) → feat[ne + na + 3]:
 * lipschitz_k = ‖O(x+δ_k) − O(x)‖ / ‖δ_k‖ (δ_k re-read from the probes),
 * gain_j = ‖O(α_j x)‖ / ‖O(x)‖ (NaN when ‖O(x)‖ = 0),
 * then linearity_r2, saturation_degree, compression_ratio (see docs).  Needs na >= 2 for the
 * last three (else NaN). */
sl_status sl_feat_traj_sens_reduce(double *feat, const sl_tensor *probes, const sl_tensor *outputs,
                                   int ne, const double *alpha, int na);

#endif
