/* sl_sort.h — order statistics and scans along one dim: sort, argsort, topk, quantile, median,
 * cumsum, cumprod; histograms (histc, bincount).
 *
 * Dims are 0-based (negative from the end); indices are int64 and 0-based (the Lua binding shows
 * them 1-based).  Sorting is stable, and NaN counts as larger than every number (torch): an
 * ascending sort puts NaNs last, a descending one first.  -0.0 and 0.0 compare equal.
 * Outputs are new contiguous tensors. */
#ifndef SL_SORT_H
#define SL_SORT_H

#include "sl_tensor.h"

/* Sorted values (t's dtype) and the int64 positions they came from.  Either output may be NULL. */
sl_status sl_sort(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int descending);
sl_status sl_argsort(sl_tensor **indices, const sl_tensor *t, int dim, int descending);
/* The k largest (largest != 0) or smallest entries along dim, always in sorted order (best
 * first; ties in index order), so `sorted` only exists for API parity.  k may be 0. */
sl_status sl_topk(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int64_t k, int dim,
                  int largest, int sorted);

/* Quantiles q[0..nq) (each in [0,1]) along dim, or over all elements with dim = SL_ALL_DIMS, by
 * linear interpolation between the sorted values at ranks floor(q(n-1)) and ceil(q(n-1)).  A
 * slice holding a NaN gives NaN.  Output shape: the reduced shape (keepdim rules as for sums)
 * with a leading dim of size nq unless q_scalar (then nq must be 1).  Float inputs keep their
 * dtype; integer inputs give float32. */
sl_status sl_quantile(sl_tensor **out, const sl_tensor *t, int nq, const double *q, int q_scalar,
                      int dim, int keepdim);
/* Lower median (the value at rank floor((n-1)/2), torch semantics) and its index along dim; with
 * dim = SL_ALL_DIMS over all elements (the index is then the flat row-major one).  A slice
 * holding a NaN gives NaN and the index of its first NaN.  Either output may be NULL. */
sl_status sl_median(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int keepdim);

/* Inclusive running sum / product along dim.  Float inputs keep their dtype (float32 is
 * accumulated in double); integer inputs give int64. */
sl_status sl_cumsum(sl_tensor **out, const sl_tensor *t, int dim);
sl_status sl_cumprod(sl_tensor **out, const sl_tensor *t, int dim);

/* Histogram of all elements into `bins` equal bins over [min, max] (torch.histc).  Values equal
 * to max go into the last bin; values outside [min, max] and NaNs are ignored.  min == max means
 * "the data's finite min and max" (widened by 1 on each side when those are equal too).  Counts
 * have t's dtype when it is a float type, else float32. */
sl_status sl_histc(sl_tensor **out, const sl_tensor *t, int64_t bins, double min, double max);
/* Occurrences of each value 0..max(t) of a 1-d integer tensor of non-negative values (int64
 * counts), or sums of `weights` (same length, may be NULL) per value (float64, or the weights'
 * dtype when float32).  The result has at least minlength entries. */
sl_status sl_bincount(sl_tensor **out, const sl_tensor *t, const sl_tensor *weights, int64_t minlength);

#endif
