/* sl_colstats.h — per-column statistics and column gathers of 2-d matrices [N, D], for the
 * feature-cleaning rules in lua/spinlock/cleaning.lua (which are otherwise whole-tensor ops).
 * NaN-ignoring variants follow numpy (nanquantile: linear interpolation between order
 * statistics; an all-NaN column gives NaN). */
#ifndef SL_COLSTATS_H
#define SL_COLSTATS_H

#include "sl_tensor.h"

/* q[0..nq) in [0,1]: float64 [nq, D] NaN-ignoring quantiles of each column of X. */
sl_status sl_cols_nanquantile(sl_tensor **out, const sl_tensor *X, int nq, const double *q);

/* out [N, n] = X[:, idx[j]] (idx: 0-based integer tensor [n]); keeps X's dtype. */
sl_status sl_cols_select(sl_tensor **out, const sl_tensor *X, const sl_tensor *idx);

#endif
