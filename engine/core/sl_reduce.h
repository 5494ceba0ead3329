/* sl_reduce.h — reductions over any set of dims: sum, mean, var/std, min/max, argmin/argmax,
 * prod, norm, logsumexp, nansum/nanmean.
 *
 * Dims are given as a bitmask (bit d set = reduce 0-based dim d); a mask of 0 reduces every dim.
 * Build one from a list (negative dims count from the end) with sl_reduce_dims_mask.  With
 * keepdim the reduced dims stay as size 1, otherwise they are dropped (reducing every dim of a
 * tensor gives a 0-d tensor).
 *
 * dtypes: float32/float64 inputs give results of the same dtype, computed with double
 * accumulators.  Integer inputs: sum, prod and nansum give int64 (exact, wrapping on overflow),
 * min and max keep the input dtype, the other ops give float32.  argmin/argmax give int64.
 *
 * NaN: sum/mean/var/std/prod/norm/logsumexp propagate NaN; min, max, argmin and argmax treat NaN
 * as the extreme value (the result is NaN, its index the first NaN's), like torch.  nansum and
 * nanmean skip NaNs (nanmean of an all-NaN slice is NaN).
 *
 * Results never depend on the thread count: slices are cut into fixed-size blocks whose partial
 * results are combined in a fixed order. */
#ifndef SL_REDUCE_H
#define SL_REDUCE_H

#include "sl_tensor.h"

typedef enum {
  SL_REDUCE_SUM = 0,
  SL_REDUCE_MEAN,
  SL_REDUCE_VAR,        /* param: 1 = unbiased (divide by n-1), 0 = biased (divide by n) */
  SL_REDUCE_STD,        /* param as for VAR */
  SL_REDUCE_MIN,
  SL_REDUCE_MAX,
  SL_REDUCE_PROD,
  SL_REDUCE_NORM,       /* param: p > 0, INFINITY (max |x|) or 0 (count of non-zeros) */
  SL_REDUCE_LOGSUMEXP,
  SL_REDUCE_NANSUM,
  SL_REDUCE_NANMEAN,
  SL_REDUCE_COUNT
} sl_reduce_op;

const char *sl_reduce_op_name(sl_reduce_op op);   /* "sum", "mean", ... */

/* Bitmask of the n dims in `dims` (0-based, negative from the end).  Fails with a message naming
 * `op`, the dim and t's ndim when a dim is out of range or given twice.  n = 0 gives mask 0. */
sl_status sl_reduce_dims_mask(const sl_tensor *t, int n, const int *dims, uint32_t *mask, const char *op);

/* The general entry point.  param: see sl_reduce_op (ignored by the others). */
sl_status sl_reduce(sl_tensor **out, const sl_tensor *t, sl_reduce_op op, uint32_t dims,
                    int keepdim, double param);
/* Full reduction to one double (no output tensor).  int64 sums beyond 2^53 lose precision. */
sl_status sl_reduce_all(double *out, const sl_tensor *t, sl_reduce_op op, double param);

/* Index (int64, 0-based, first occurrence) of the max / min along `dim` (negative from the end),
 * or over all dims when dim = SL_ALL_DIMS: then the flat row-major index, as a 0-d tensor (or
 * all-ones shape with keepdim). */
sl_status sl_reduce_argmax(sl_tensor **out, const sl_tensor *t, int dim, int keepdim);
sl_status sl_reduce_argmin(sl_tensor **out, const sl_tensor *t, int dim, int keepdim);
/* Values and indices of the max / min along one dim (torch.max(t, dim)).  Either output
 * pointer may be NULL when that result is not wanted. */
sl_status sl_reduce_max_dim(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int keepdim);
sl_status sl_reduce_min_dim(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int keepdim);

#endif
