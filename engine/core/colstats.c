/* colstats.c — per-column NaN-ignoring quantiles and column gathers (sl_colstats.h).
 *
 * Columns are independent, so the quantile loop runs OpenMP over columns with a private
 * scratch buffer per thread; each column's result depends only on its values (thread-count
 * invariant).  NaNs are dropped, then each needed order statistic is found by selection
 * (expected O(n) per quantile instead of a full sort). */
#include "sl_colstats.h"

#include <math.h>
#include <string.h>

/* Places the k-th smallest of a[0..n) at a[k], smaller ones before, larger after (Hoare
 * selection with a median-of-three pivot; expected O(n)).  NaN-free input. */
static void select_kth(double *a, int64_t n, int64_t k)
{
  int64_t lo = 0, hi = n - 1;
  while (hi > lo) {
    const int64_t mid = lo + (hi - lo) / 2;
    double x = a[lo], y = a[mid], z = a[hi];
    const double piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < piv) i++;
      while (a[j] > piv) j--;
      if (i <= j) { const double t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

sl_status sl_cols_nanquantile(sl_tensor **out, const sl_tensor *X, int nq, const double *q)
{
  char b[64];
  if (X->ndim != 2)
    return SL_ERR(SL_ERR_SHAPE, "nanquantile: expected a 2-d [rows, columns] matrix, got shape %s",
                  sl_shape_str(b, sizeof b, X->ndim, X->shape));
  if (nq < 1) return SL_ERR(SL_ERR_ARG, "nanquantile: no quantiles requested");
  for (int i = 0; i < nq; i++)
    if (!(q[i] >= 0 && q[i] <= 1)) return SL_ERR(SL_ERR_ARG, "nanquantile: q must be in [0, 1], got %g", q[i]);
  const int64_t N = X->shape[0], D = X->shape[1];
  sl_tensor *xc = NULL, *o = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, X, SL_DTYPE_F64));
  const int64_t shp[2] = {nq, D};
  sl_status st = sl_tensor_empty(&o, SL_DTYPE_F64, 2, shp);
  if (st != SL_OK) { sl_tensor_release(xc); return st; }
  const double *x = sl_tensor_data(xc);
  double *r = sl_tensor_data(o);
  int oom = 0;
  #pragma omp parallel
  {
    double *buf = sl_alloc((size_t)(N > 0 ? N : 1) * sizeof(double));
    if (!buf) {
      #pragma omp atomic write
      oom = 1;
    }
    #pragma omp for schedule(dynamic, 8)
    for (int64_t j = 0; j < D; j++) {
      if (!buf) continue;
      int64_t n = 0;
      for (int64_t i = 0; i < N; i++) if (!isnan(x[i * D + j])) buf[n++] = x[i * D + j];
      for (int k = 0; k < nq; k++) {
        if (n == 0) { r[k * D + j] = NAN; continue; }
        const double pos = q[k] * (double)(n - 1);
        const int64_t lo = (int64_t)floor(pos);
        const double f = pos - (double)lo;
        select_kth(buf, n, lo);
        double vlo = buf[lo], vhi = vlo;
        if (f > 0 && lo + 1 < n) {   /* next order statistic: the minimum of the upper part */
          vhi = buf[lo + 1];
          for (int64_t i = lo + 2; i < n; i++) if (buf[i] < vhi) vhi = buf[i];
        }
        r[k * D + j] = vlo + (vhi - vlo) * f;
      }
    }
    sl_free(buf, (size_t)(N > 0 ? N : 1) * sizeof(double));
  }
  sl_tensor_release(xc);
  if (oom) { sl_tensor_release(o); return SL_ERR(SL_ERR_OOM, "nanquantile: out of memory"); }
  *out = o;
  return SL_OK;
}

sl_status sl_cols_select(sl_tensor **out, const sl_tensor *X, const sl_tensor *idx)
{
  char b[64];
  if (X->ndim != 2)
    return SL_ERR(SL_ERR_SHAPE, "select_columns: expected a 2-d [rows, columns] matrix, got shape %s",
                  sl_shape_str(b, sizeof b, X->ndim, X->shape));
  if (idx->ndim != 1 || sl_dtype_is_float(idx->dtype))
    return SL_ERR(SL_ERR_ARG, "select_columns: indices must be a 1-d integer tensor, got %s %s",
                  sl_dtype_name(idx->dtype), sl_shape_str(b, sizeof b, idx->ndim, idx->shape));
  const int64_t N = X->shape[0], D = X->shape[1], n = idx->shape[0];
  sl_tensor *ic = NULL, *o = NULL;
  SL_TRY(sl_tensor_contiguous_as(&ic, idx, SL_DTYPE_I64));
  const int64_t *ip = sl_tensor_data(ic);
  for (int64_t j = 0; j < n; j++)
    if (ip[j] < 0 || ip[j] >= D) {
      sl_tensor_release(ic);
      return SL_ERR(SL_ERR_ARG, "select_columns: column %lld is outside the matrix's %lld columns",
                    (long long)ip[j] + 1, (long long)D);
    }
  const int64_t shp[2] = {N, n};
  sl_status st = sl_tensor_empty(&o, X->dtype, 2, shp);
  if (st != SL_OK) { sl_tensor_release(ic); return st; }
  const size_t es = sl_dtype_size(X->dtype);
  const char *base = (const char *)X->storage->data + X->offset * (int64_t)es;
  char *op = sl_tensor_data(o);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < n; j++)
      memcpy(op + (i * n + j) * es, base + (i * X->stride[0] + ip[j] * X->stride[1]) * (int64_t)es, es);
  sl_tensor_release(ic);
  *out = o;
  return SL_OK;
}
