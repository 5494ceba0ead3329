/* sort.c — sort, argsort, topk, quantile, median, cumsum/cumprod, histc and bincount.
 *
 * Design: everything along one dim works on "lines", the 1-d slices of the tensor along that dim,
 * read in place through the strides (no permute + contiguous copy).  Lines are independent, so
 * they are spread over threads; nothing is ever summed across lines, so no result depends on the
 * thread count.
 *
 * Sorting maps each value to an unsigned 64-bit key whose unsigned order is the wanted order:
 * the usual sign-flip trick for IEEE doubles (with -0.0 folded onto 0.0 and every NaN onto the
 * largest key) and a sign-bit flip for integers; a descending sort complements the keys.  One
 * branch-free comparison then serves every dtype and both directions, NaNs land where torch
 * puts them, and int64 values sort exactly.  The (key, index) pairs go through a stable merge
 * sort, and values are copied from the input by index, so they come out bit-exact. */
#include "sl_sort.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define SORT_PAR_MIN (1 << 14)   /* elements below which threads do not pay */

typedef struct { uint64_t key; int64_t idx; } pair;

static sl_status check_cpu(const sl_tensor *t, const char *op)
{
  if (sl_tensor_device(t) == SL_DEV_CPU) return SL_OK;
  return SL_ERR(SL_ERR_NOT_IMPL, "%s: tensor is on %s; this op runs on the CPU only", op,
                sl_device_name(sl_tensor_device(t)));
}

/* ---- lines ---- */

typedef struct {
  int64_t n, M;                 /* length of each line, number of lines */
  int     nd;                   /* the other dims, in order */
  int64_t shape[SL_MAX_DIMS];
} lines;

static void lines_init(lines *L, const sl_tensor *t, int dim)
{
  L->n = t->shape[dim];
  L->M = 1;
  L->nd = 0;
  for (int d = 0; d < t->ndim; d++)
    if (d != dim) { L->shape[L->nd++] = t->shape[d]; L->M *= t->shape[d]; }
}

/* Strides of a tensor (laid out like the lines' source) over the dims other than dim. */
static void other_strides(const sl_tensor *t, int dim, int64_t *s)
{
  for (int d = 0, k = 0; d < t->ndim; d++)
    if (d != dim) s[k++] = t->stride[d];
}

/* Element offset of line r (row-major over the other dims) for strides s. */
static int64_t line_offset(const lines *L, const int64_t *s, int64_t r)
{
  int64_t off = 0;
  for (int j = L->nd - 1; j >= 0; j--) { off += (r % L->shape[j]) * s[j]; r /= L->shape[j]; }
  return off;
}

/* ---- keys and the stable sort ---- */

static inline uint64_t key_of_double(double v)
{
  if (v != v) return UINT64_MAX;
  if (v == 0) v = 0.0;                         /* -0.0 sorts as 0.0 */
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return (b >> 63) ? ~b : b | (1ull << 63);
}

static inline uint64_t key_of_int(int64_t v) { return (uint64_t)v ^ (1ull << 63); }

/* Fills p[0..n) with the keys of a line (offset off, stride s) of t and their positions. */
static void load_keys(pair *p, const sl_tensor *t, int64_t off, int64_t s, int64_t n, int descending)
{
  const uint64_t flip = descending ? ~0ull : 0;
  const char *base = sl_tensor_data(t);
#define LOAD_KEYS(T, KEY) do { const T *x = (const T *)base + off;                      \
    for (int64_t i = 0; i < n; i++) p[i] = (pair){ KEY(x[i * s]) ^ flip, i }; } while (0)
  switch (t->dtype) {
    case SL_DTYPE_F32: LOAD_KEYS(float, key_of_double); break;
    case SL_DTYPE_F64: LOAD_KEYS(double, key_of_double); break;
    case SL_DTYPE_I32: LOAD_KEYS(int32_t, key_of_int); break;
    case SL_DTYPE_I64: LOAD_KEYS(int64_t, key_of_int); break;
    default:           LOAD_KEYS(uint8_t, key_of_int); break;
  }
#undef LOAD_KEYS
}

/* Stable merge sort of a[0..n) by key; tmp holds at least n/2 pairs. */
static void msort(pair *a, pair *tmp, int64_t n)
{
  if (n <= 24) {
    for (int64_t i = 1; i < n; i++) {
      pair x = a[i];
      int64_t j = i;
      while (j > 0 && x.key < a[j - 1].key) { a[j] = a[j - 1]; j--; }
      a[j] = x;
    }
    return;
  }
  const int64_t h = n / 2;
  msort(a, tmp, h);
  msort(a + h, tmp, n - h);
  if (a[h - 1].key <= a[h].key) return;        /* already in order (common for sorted input) */
  memcpy(tmp, a, (size_t)h * sizeof *a);
  /* Merging into a[] in place is safe: the write position never passes the right-hand read. */
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) a[k++] = a[j].key < tmp[i].key ? a[j++] : tmp[i++];
  while (i < h) a[k++] = tmp[i++];
}

/* out line (ooff, os)[j] = in line (ioff, is)[p[j].idx] for j < k: same dtype, a bit copy. */
static void gather_values(sl_tensor *out, int64_t ooff, int64_t os, const sl_tensor *in, int64_t ioff,
                          int64_t is, const pair *p, int64_t k)
{
  char *ob = sl_tensor_data(out);
  const char *ib = sl_tensor_data(in);
#define GATHER(T) do { T *y = (T *)ob + ooff; const T *x = (const T *)ib + ioff;       \
    for (int64_t j = 0; j < k; j++) y[j * os] = x[p[j].idx * is]; } while (0)
  switch (sl_dtype_size(in->dtype)) {
    case 8:  GATHER(int64_t); break;
    case 4:  GATHER(int32_t); break;
    default: GATHER(uint8_t); break;
  }
#undef GATHER
}

/* Per-thread scratch of `per` pairs for up to nt threads. */
typedef struct { pair *mem; size_t nbytes; int nt; int64_t per; } scratch;

static sl_status scratch_init(scratch *s, const lines *L, const char *op)
{
  s->nt = L->M * L->n >= SORT_PAR_MIN ? sl_num_threads() : 1;
  if (s->nt > L->M) s->nt = (int)L->M;
  if (s->nt < 1) s->nt = 1;
  s->per = L->n + L->n / 2 + 1;
  s->nbytes = (size_t)s->nt * (size_t)s->per * sizeof(pair);
  if (!(s->mem = sl_alloc(s->nbytes)))
    return SL_ERR(SL_ERR_OOM, "%s: cannot allocate %zu bytes of sort scratch", op, s->nbytes);
  return SL_OK;
}

/* ---- sort, argsort, topk ---- */

/* Sorts every line along dim and keeps the first k entries of each. */
static sl_status sort_lines(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim,
                            int descending, int64_t k, int k_given, const char *op)
{
  if (values) *values = NULL;
  if (indices) *indices = NULL;
  int d;
  SL_TRY(check_cpu(t, op));
  SL_TRY(sl_tensor_check_dim(t, dim, &d, op));
  lines L;
  lines_init(&L, t, d);
  if (!k_given) k = L.n;
  if (k < 0 || k > L.n)
    return SL_ERR(SL_ERR_ARG, "%s: k = %lld is outside [0, %lld] (the size of the dim)", op,
                  (long long)k, (long long)L.n);

  int64_t shape[SL_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[d] = k;
  sl_status st = SL_OK;
  scratch sc = {0};
  if (values && (st = sl_tensor_empty(values, t->dtype, t->ndim, shape)) != SL_OK) goto done;
  if (indices && (st = sl_tensor_empty(indices, SL_DTYPE_I64, t->ndim, shape)) != SL_OK) goto done;
  if (L.M == 0 || k == 0) goto done;
  if ((st = scratch_init(&sc, &L, op)) != SL_OK) goto done;

  int64_t is[SL_MAX_DIMS], os[SL_MAX_DIMS];
  other_strides(t, d, is);
  const sl_tensor *ref = values ? *values : *indices;   /* both outputs share one layout */
  other_strides(ref, d, os);
  const int64_t n = L.n, istr = t->stride[d], ostr = ref->stride[d];

  #pragma omp parallel num_threads(sc.nt)
  {
    pair *a = sc.mem + (size_t)omp_get_thread_num() * (size_t)sc.per, *tmp = a + n;
    #pragma omp for schedule(static)
    for (int64_t r = 0; r < L.M; r++) {
      const int64_t ioff = line_offset(&L, is, r), ooff = line_offset(&L, os, r);
      load_keys(a, t, ioff, istr, n, descending);
      msort(a, tmp, n);
      if (values) gather_values(*values, ooff, ostr, t, ioff, istr, a, k);
      if (indices) {
        int64_t *y = (int64_t *)sl_tensor_data(*indices) + ooff;
        for (int64_t j = 0; j < k; j++) y[j * ostr] = a[j].idx;
      }
    }
  }

done:
  if (sc.mem) sl_free(sc.mem, sc.nbytes);
  if (st != SL_OK) {
    if (values) { sl_tensor_release(*values); *values = NULL; }
    if (indices) { sl_tensor_release(*indices); *indices = NULL; }
  }
  return st;
}

sl_status sl_sort(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int descending)
{ return sort_lines(values, indices, t, dim, descending, 0, 0, "sort"); }

sl_status sl_argsort(sl_tensor **indices, const sl_tensor *t, int dim, int descending)
{ return sort_lines(NULL, indices, t, dim, descending, 0, 0, "argsort"); }

sl_status sl_topk(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int64_t k, int dim,
                  int largest, int sorted)
{
  (void)sorted;   /* a full sort is done anyway, so results are always sorted */
  return sort_lines(values, indices, t, dim, largest, k, 1, "topk");
}

/* ---- quantile and median ---- */

/* The source of a per-line statistic: t itself along dim, or t flattened for SL_ALL_DIMS; also
 * the output shape with the reduced dim dropped or kept as 1. */
static sl_status stat_source(sl_tensor **src, int *d, int *ondim, int64_t *oshape, const sl_tensor *t,
                             int dim, int keepdim, const char *op)
{
  *src = NULL;
  SL_TRY(check_cpu(t, op));
  *ondim = 0;
  if (dim == SL_ALL_DIMS) {
    int64_t n = sl_tensor_numel(t);
    if (keepdim) for (int j = 0; j < t->ndim; j++) oshape[(*ondim)++] = 1;
    *d = 0;
    return sl_tensor_reshape(src, t, 1, &n);
  }
  SL_TRY(sl_tensor_check_dim(t, dim, d, op));
  for (int j = 0; j < t->ndim; j++)
    if (j != *d) oshape[(*ondim)++] = t->shape[j];
    else if (keepdim) oshape[(*ondim)++] = 1;
  *src = sl_tensor_retain((sl_tensor *)t);
  return SL_OK;
}

/* torch's lerp: exact at both ends whichever side the weight is nearer. */
static inline double lerp(double a, double b, double w)
{
  return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w);
}

sl_status sl_quantile(sl_tensor **out, const sl_tensor *t, int nq, const double *q, int q_scalar,
                      int dim, int keepdim)
{
  *out = NULL;
  if (nq < 1 || (q_scalar && nq != 1))
    return SL_ERR(SL_ERR_ARG, "quantile: expected %s, got %d values of q", q_scalar ? "one q" : "at least one q", nq);
  for (int j = 0; j < nq; j++)
    if (!(q[j] >= 0 && q[j] <= 1))
      return SL_ERR(SL_ERR_ARG, "quantile: q must be in [0, 1], got %g", q[j]);

  sl_tensor *src = NULL;
  int d, ondim;
  int64_t oshape[SL_MAX_DIMS + 1];
  SL_TRY(stat_source(&src, &d, &ondim, oshape + 1, t, dim, keepdim, "quantile"));
  lines L;
  lines_init(&L, src, d);
  sl_status st = SL_OK;
  scratch sc = {0};
  if (L.n == 0 && L.M > 0) {
    st = SL_ERR(SL_ERR_SHAPE, "quantile: cannot take quantiles of an empty slice");
    goto done;
  }
  oshape[0] = nq;
  const sl_dtype odt = sl_dtype_is_float(t->dtype) ? t->dtype : SL_DTYPE_F32;
  if ((st = sl_tensor_empty(out, odt, ondim + !q_scalar, oshape + q_scalar)) != SL_OK) goto done;
  if (L.M == 0) goto done;
  if ((st = scratch_init(&sc, &L, "quantile")) != SL_OK) goto done;

  int64_t is[SL_MAX_DIMS];
  other_strides(src, d, is);
  const int64_t n = L.n, M = L.M, istr = src->stride[d];
  const void *x = sl_tensor_data(src);
  void *y = sl_tensor_data(*out);

  #pragma omp parallel num_threads(sc.nt)
  {
    pair *a = sc.mem + (size_t)omp_get_thread_num() * (size_t)sc.per, *tmp = a + n;
    #pragma omp for schedule(static)
    for (int64_t r = 0; r < M; r++) {
      const int64_t ioff = line_offset(&L, is, r);
      load_keys(a, src, ioff, istr, n, 0);
      msort(a, tmp, n);
      const int has_nan = a[n - 1].key == UINT64_MAX;
      for (int j = 0; j < nq; j++) {
        double v = NAN;
        if (!has_nan) {
          const double pos = q[j] * (double)(n - 1);
          const int64_t lo = (int64_t)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
          v = lerp(sl_load_f64(x, src->dtype, ioff + a[lo].idx * istr),
                   sl_load_f64(x, src->dtype, ioff + a[hi].idx * istr), pos - (double)lo);
        }
        sl_store_f64(y, odt, (int64_t)j * M + r, v);
      }
    }
  }

done:
  if (sc.mem) sl_free(sc.mem, sc.nbytes);
  if (st != SL_OK) { sl_tensor_release(*out); *out = NULL; }
  sl_tensor_release(src);
  return st;
}

sl_status sl_median(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int keepdim)
{
  if (values) *values = NULL;
  if (indices) *indices = NULL;
  sl_tensor *src = NULL;
  int d, ondim;
  int64_t oshape[SL_MAX_DIMS];
  SL_TRY(stat_source(&src, &d, &ondim, oshape, t, dim, keepdim, "median"));
  lines L;
  lines_init(&L, src, d);
  sl_status st = SL_OK;
  scratch sc = {0};
  if (L.n == 0 && L.M > 0) {
    st = SL_ERR(SL_ERR_SHAPE, "median: cannot take the median of an empty slice");
    goto done;
  }
  if (values && (st = sl_tensor_empty(values, t->dtype, ondim, oshape)) != SL_OK) goto done;
  if (indices && (st = sl_tensor_empty(indices, SL_DTYPE_I64, ondim, oshape)) != SL_OK) goto done;
  if (L.M == 0) goto done;
  if ((st = scratch_init(&sc, &L, "median")) != SL_OK) goto done;

  int64_t is[SL_MAX_DIMS];
  other_strides(src, d, is);
  const int64_t n = L.n, istr = src->stride[d];

  #pragma omp parallel num_threads(sc.nt)
  {
    pair *a = sc.mem + (size_t)omp_get_thread_num() * (size_t)sc.per, *tmp = a + n;
    #pragma omp for schedule(static)
    for (int64_t r = 0; r < L.M; r++) {
      const int64_t ioff = line_offset(&L, is, r);
      load_keys(a, src, ioff, istr, n, 0);
      msort(a, tmp, n);
      /* NaNs sort last in index order: with any NaN the answer is the first of them. */
      int64_t m = (n - 1) / 2;
      if (a[n - 1].key == UINT64_MAX) {
        m = n - 1;
        while (m > 0 && a[m - 1].key == UINT64_MAX) m--;
      }
      /* Outputs are contiguous with one element per line. */
      if (values) gather_values(*values, r, 0, src, ioff, istr, a + m, 1);
      if (indices) ((int64_t *)sl_tensor_data(*indices))[r] = a[m].idx;
    }
  }

done:
  if (sc.mem) sl_free(sc.mem, sc.nbytes);
  if (st != SL_OK) {
    if (values) { sl_tensor_release(*values); *values = NULL; }
    if (indices) { sl_tensor_release(*indices); *indices = NULL; }
  }
  sl_tensor_release(src);
  return st;
}

/* ---- cumulative sum / product ---- */

static sl_status scan(sl_tensor **out, const sl_tensor *t, int dim, int prod, const char *op)
{
  *out = NULL;
  int d;
  SL_TRY(check_cpu(t, op));
  SL_TRY(sl_tensor_check_dim(t, dim, &d, op));
  const sl_dtype odt = sl_dtype_is_float(t->dtype) ? t->dtype : SL_DTYPE_I64;
  SL_TRY(sl_tensor_empty(out, odt, t->ndim, t->shape));
  lines L;
  lines_init(&L, t, d);
  int64_t is[SL_MAX_DIMS], os[SL_MAX_DIMS];
  other_strides(t, d, is);
  other_strides(*out, d, os);
  const int64_t n = L.n, s = t->stride[d], so = (*out)->stride[d];
  const char *xb = sl_tensor_data(t);
  char *yb = sl_tensor_data(*out);
  const sl_dtype dt = t->dtype;

  /* Each line is scanned serially in index order (double accumulator for float32), so the
   * result is the same whatever the thread count. */
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (L.M * n >= SORT_PAR_MIN && L.M > 1)
  for (int64_t r = 0; r < L.M; r++) {
    const int64_t ioff = line_offset(&L, is, r), ooff = line_offset(&L, os, r);
    if (dt == SL_DTYPE_F32) {
      const float *x = (const float *)xb + ioff;
      float *y = (float *)yb + ooff;
      double acc = prod ? 1 : 0;
      for (int64_t i = 0; i < n; i++) { acc = prod ? acc * x[i * s] : acc + x[i * s]; y[i * so] = (float)acc; }
    } else if (dt == SL_DTYPE_F64) {
      const double *x = (const double *)xb + ioff;
      double *y = (double *)yb + ooff;
      double acc = prod ? 1 : 0;
      for (int64_t i = 0; i < n; i++) { acc = prod ? acc * x[i * s] : acc + x[i * s]; y[i * so] = acc; }
    } else {
      /* Integers accumulate in int64 with wrap-around (unsigned arithmetic, no UB). */
      int64_t *y = (int64_t *)yb + ooff;
      uint64_t acc = prod ? 1 : 0;
      for (int64_t i = 0; i < n; i++) {
        const int64_t off = ioff + i * s;
        const uint64_t v = dt == SL_DTYPE_I64 ? (uint64_t)((const int64_t *)xb)[off]
                                              : (uint64_t)(int64_t)sl_load_f64(xb, dt, off);
        acc = prod ? acc * v : acc + v;
        y[i * so] = (int64_t)acc;
      }
    }
  }
  return SL_OK;
}

sl_status sl_cumsum(sl_tensor **out, const sl_tensor *t, int dim) { return scan(out, t, dim, 0, "cumsum"); }
sl_status sl_cumprod(sl_tensor **out, const sl_tensor *t, int dim) { return scan(out, t, dim, 1, "cumprod"); }

/* ---- histograms ---- */

sl_status sl_histc(sl_tensor **out, const sl_tensor *t, int64_t bins, double lo, double hi)
{
  *out = NULL;
  SL_TRY(check_cpu(t, "histc"));
  if (bins < 1) return SL_ERR(SL_ERR_ARG, "histc: bins must be >= 1, got %lld", (long long)bins);
  if (!(lo <= hi) || isinf(lo) || isinf(hi))
    return SL_ERR(SL_ERR_ARG, "histc: expected finite min <= max, got min = %g, max = %g", lo, hi);

  const int isf = sl_dtype_is_float(t->dtype);
  sl_tensor *src = NULL;
  SL_TRY(sl_tensor_contiguous_as(&src, t, t->dtype == SL_DTYPE_F32 ? SL_DTYPE_F32 : SL_DTYPE_F64));
  const int64_t n = sl_tensor_numel(src);
  const int f32 = src->dtype == SL_DTYPE_F32;
  const void *x = sl_tensor_data(src);
#define HX(i) (f32 ? (double)((const float *)x)[i] : ((const double *)x)[i])

  if (lo == hi) {   /* the data's finite range */
    double mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
      const double v = HX(i);
      if (isfinite(v)) { if (v < mn) mn = v; if (v > mx) mx = v; }
    }
    if (mn > mx) mn = mx = 0;
    lo = mn; hi = mx;
    if (lo == hi) { lo -= 1; hi += 1; }
  }

  const int nt = n >= SORT_PAR_MIN ? sl_num_threads() : 1;
  const size_t cbytes = (size_t)nt * (size_t)bins * sizeof(int64_t);
  int64_t *cnt = sl_alloc_zeroed(cbytes);
  sl_status st = SL_OK;
  if (!cnt) { st = SL_ERR(SL_ERR_OOM, "histc: cannot allocate %lld bins", (long long)bins); goto done; }

  /* Per-thread integer counts: exact, so adding them up is order-independent. */
  const double width = hi - lo;
  #pragma omp parallel num_threads(nt)
  {
    int64_t *c = cnt + (size_t)omp_get_thread_num() * (size_t)bins;
    #pragma omp for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      const double v = HX(i);
      if (!(v >= lo && v <= hi)) continue;        /* also drops NaN */
      int64_t b = (int64_t)((v - lo) / width * (double)bins);   /* torch's rounding */
      c[b < bins ? b : bins - 1]++;
    }
  }
#undef HX

  if ((st = sl_tensor_empty(out, isf ? t->dtype : SL_DTYPE_F32, 1, &bins)) != SL_OK) goto done;
  for (int64_t b = 0; b < bins; b++) {
    int64_t total = 0;
    for (int k = 0; k < nt; k++) total += cnt[(size_t)k * (size_t)bins + b];
    sl_store_f64(sl_tensor_data(*out), (*out)->dtype, b, (double)total);
  }

done:
  if (cnt) sl_free(cnt, cbytes);
  sl_tensor_release(src);
  return st;
}

sl_status sl_bincount(sl_tensor **out, const sl_tensor *t, const sl_tensor *weights, int64_t minlength)
{
  *out = NULL;
  SL_TRY(check_cpu(t, "bincount"));
  if (t->ndim != 1 || sl_dtype_is_float(t->dtype))
    return SL_ERR(SL_ERR_DTYPE, "bincount: expected a 1-d integer tensor, got a %d-d %s tensor",
                  t->ndim, sl_dtype_name(t->dtype));
  if (minlength < 0) return SL_ERR(SL_ERR_ARG, "bincount: minlength must be >= 0, got %lld", (long long)minlength);
  if (weights) {
    SL_TRY(check_cpu(weights, "bincount"));
    if (weights->ndim != 1 || weights->shape[0] != t->shape[0])
      return SL_ERR(SL_ERR_SHAPE, "bincount: weights must be 1-d with %lld entries like the input, got %d-d with %lld",
                    (long long)t->shape[0], weights->ndim, (long long)sl_tensor_numel(weights));
  }

  sl_tensor *src = NULL, *w = NULL;
  SL_TRY(sl_tensor_contiguous_as(&src, t, SL_DTYPE_I64));
  const int64_t n = src->shape[0], *x = sl_tensor_data(src);
  int64_t size = minlength;
  sl_status st = SL_OK;
  for (int64_t i = 0; i < n; i++) {
    if (x[i] < 0) {
      st = SL_ERR(SL_ERR_ARG, "bincount: values must be non-negative, found %lld", (long long)x[i]);
      goto done;
    }
    if (x[i] >= size) size = x[i] + 1;
  }

  if (!weights) {
    if ((st = sl_tensor_zeros(out, SL_DTYPE_I64, 1, &size)) != SL_OK) goto done;
    int64_t *c = sl_tensor_data(*out);
    for (int64_t i = 0; i < n; i++) c[x[i]]++;
  } else {
    /* Serial double sums in index order: deterministic. */
    if ((st = sl_tensor_contiguous_as(&w, weights, SL_DTYPE_F64)) != SL_OK) goto done;
    const double *wv = sl_tensor_data(w);
    const sl_dtype odt = weights->dtype == SL_DTYPE_F32 ? SL_DTYPE_F32 : SL_DTYPE_F64;
    if ((st = sl_tensor_zeros(out, SL_DTYPE_F64, 1, &size)) != SL_OK) goto done;
    double *c = sl_tensor_data(*out);
    for (int64_t i = 0; i < n; i++) c[x[i]] += wv[i];
    if (odt != SL_DTYPE_F64) {
      sl_tensor *conv = NULL;
      st = sl_tensor_to_dtype(&conv, *out, odt);
      sl_tensor_release(*out);
      *out = conv;
    }
  }

done:
  if (st != SL_OK) { sl_tensor_release(*out); *out = NULL; }
  sl_tensor_release(src);
  sl_tensor_release(w);
  return st;
}
