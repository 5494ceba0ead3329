/* reduce.c — reductions over any set of dims (see sl_reduce.h for the semantics).
 *
 * Design: every reduction becomes "M output elements, each reducing N contiguous inputs".  The
 * input is permuted so the kept dims come first and the reduced dims last, then made contiguous
 * in a work dtype (float32 and float64 stay as they are, integers become int64 or float64).  When
 * the reduced dims already are the trailing dims of a contiguous tensor this is free: no copy.
 *
 * Each row of N inputs is cut into blocks of RED_BLOCK elements.  A block kernel reduces one
 * block to a partial result (double accumulators, four independent sums for ILP), and the
 * partials of a row are combined in block order.  Tasks are (row, block) pairs, so a full
 * reduction of a big tensor is parallel too, and since block boundaries do not depend on the
 * thread count neither does any result.
 *
 * Column layout: when the reduced dims form one run followed by kept dims of total size C >=
 * RED_COL_MIN (e.g. the mean over the batch dim of [N, F]), a float input is viewed in place as
 * [A, N, C] instead of being transposed, and column kernels run down N with one accumulator
 * per output column, vectorised across columns.  Tasks are (a, chunk of columns) pairs, each
 * running the whole of N in order, so this path is thread-count independent too.
 *
 * Ops needing two passes (var: mean then squared deviations; logsumexp: max then sum of
 * exp(x - max)) run the machinery twice with a per-output constant. */
#include "sl_reduce.h"

#include <math.h>
#include <string.h>

#define RED_BLOCK   16384        /* elements per task; fixed, so results are thread-count independent */
#define RED_PAR_MIN (1 << 16)    /* below this many inputs, threads cost more than they save */
#define RED_COL_MIN 16           /* narrower kept inner blocks are transposed to the row layout */
#define RED_COL_CHUNK 256        /* output columns per column task (accumulators on the stack) */

/* Block kernels: what one pass computes per block. */
enum {
  K_SUM, K_SUMSQDEV, K_SUMABS, K_SUMSQ, K_SUMPOW, K_SUMEXP, K_NONZERO, K_PROD, K_NANSUM,
  K_MAX, K_MIN, K_MAXABS
};

/* Partial result of a block or a row: a = float value (sum, product, extreme), v = integer value
 * (int64 sum/product/extreme), i = index of the extreme within the row, or the NaN-free count. */
typedef struct { double a; int64_t v; int64_t i; } part;

static const char *const op_names[SL_REDUCE_COUNT] = {
  "sum", "mean", "var", "std", "min", "max", "prod", "norm", "logsumexp", "nansum", "nanmean"
};

const char *sl_reduce_op_name(sl_reduce_op op)
{
  return (unsigned)op < SL_REDUCE_COUNT ? op_names[op] : "reduce";
}

/* ---- block kernels ---- */

/* Sum of EXPR(v) over the block with four accumulators (a fixed association, so deterministic). */
#define SUM4(EXPR) do {                                                                  \
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0; int64_t i = 0;                                \
    for (; i + 4 <= n; i += 4) {                                                         \
      double v;                                                                          \
      v = X(i);     s0 += (EXPR); v = X(i + 1); s1 += (EXPR);                            \
      v = X(i + 2); s2 += (EXPR); v = X(i + 3); s3 += (EXPR);                            \
    }                                                                                    \
    for (; i < n; i++) { double v = X(i); s0 += (EXPR); }                                \
    r.a = (s0 + s1) + (s2 + s3);                                                         \
  } while (0)

/* One body for float and double blocks; f32 is a compile-time constant after inlining. */
static inline __attribute__((always_inline))
part block_float(const void *p, int64_t n, int k, double c, int f32)
{
#define X(j) (f32 ? (double)((const float *)p)[j] : ((const double *)p)[j])
  part r = {0, 0, 0};
  switch (k) {
    case K_SUM:      SUM4(v); break;
    case K_SUMSQDEV: SUM4((v - c) * (v - c)); break;
    case K_SUMABS:   SUM4(fabs(v)); break;
    case K_SUMSQ:    SUM4(v * v); break;
    case K_SUMPOW:   SUM4(pow(fabs(v), c)); break;
    case K_SUMEXP:   SUM4(exp(v - c)); break;
    case K_NONZERO:  SUM4(v != 0 ? 1.0 : 0.0); break;
    case K_PROD: {
      double s = 1;
      for (int64_t i = 0; i < n; i++) s *= X(i);
      r.a = s;
      break;
    }
    case K_NANSUM: {
      double s = 0; int64_t cnt = 0;
      for (int64_t i = 0; i < n; i++) {
        double v = X(i);
        if (v == v) { s += v; cnt++; }
      }
      r.a = s; r.i = cnt;
      break;
    }
    case K_MAX: case K_MIN: {
      /* First occurrence wins; the first NaN beats everything and ends the scan. */
      double m = X(0); int64_t at = 0;
      if (m == m) {
        for (int64_t i = 1; i < n; i++) {
          double v = X(i);
          if (k == K_MAX ? v > m : v < m) { m = v; at = i; }
          else if (v != v) { m = v; at = i; break; }
        }
      }
      r.a = m; r.i = at;
      break;
    }
    case K_MAXABS: {
      double m = 0;
      for (int64_t i = 0; i < n; i++) {
        double v = fabs(X(i));
        if (v > m) m = v;
        else if (v != v) { m = v; break; }
      }
      r.a = m;
      break;
    }
  }
  return r;
#undef X
}

static part block_f32(const void *p, int64_t n, int k, double c) { return block_float(p, n, k, c, 1); }
static part block_f64(const void *p, int64_t n, int k, double c) { return block_float(p, n, k, c, 0); }

/* Integer kernels work on int64 (exact; sums and products wrap like C unsigned arithmetic). */
static part block_i64(const void *p, int64_t n, int k, double c)
{
  (void)c;  /* no integer kernel takes a constant (only the float sumsqdev/sumpow/sumexp do) */
  const int64_t *x = p;
  part r = {0, 0, 0};
  switch (k) {
    case K_SUM: case K_NANSUM: {
      uint64_t s = 0;
      for (int64_t i = 0; i < n; i++) s += (uint64_t)x[i];
      r.v = (int64_t)s;
      break;
    }
    case K_PROD: {
      uint64_t s = 1;
      for (int64_t i = 0; i < n; i++) s *= (uint64_t)x[i];
      r.v = (int64_t)s;
      break;
    }
    case K_MAX: case K_MIN: {
      int64_t m = x[0], at = 0;
      for (int64_t i = 1; i < n; i++)
        if (k == K_MAX ? x[i] > m : x[i] < m) { m = x[i]; at = i; }
      r.v = m; r.i = at;
      break;
    }
  }
  return r;
}

/* Column kernel: reduces columns [0, nc) of an [N, ld] slab (p at its first column) down N.
 * out[j] gets column j's result; c (per column, may be NULL) or c0 is the constant. */
#define COL(EXPR, INIT) do {                                                             \
    double acc[RED_COL_CHUNK];                                                           \
    for (int64_t j = 0; j < nc; j++) acc[j] = (INIT);                                    \
    for (int64_t n = 0; n < N; n++)                                                      \
      for (int64_t j = 0; j < nc; j++) { const double v = X(n, j); acc[j] = (EXPR); }    \
    for (int64_t j = 0; j < nc; j++) out[j].a = acc[j];                                  \
  } while (0)

static inline __attribute__((always_inline))
void col_float(const void *p, int64_t N, int64_t ld, int64_t nc, int k, const double *c, double c0,
               part *out, int f32)
{
#define X(n, j) (f32 ? (double)((const float *)p)[(n) * ld + (j)] : ((const double *)p)[(n) * ld + (j)])
#define CJ (c ? c[j] : c0)
  memset(out, 0, (size_t)nc * sizeof *out);
  switch (k) {
    case K_SUM:      COL(acc[j] + v, 0); break;
    case K_SUMSQDEV: COL(acc[j] + (v - CJ) * (v - CJ), 0); break;
    case K_SUMABS:   COL(acc[j] + fabs(v), 0); break;
    case K_SUMSQ:    COL(acc[j] + v * v, 0); break;
    case K_SUMPOW:   COL(acc[j] + pow(fabs(v), CJ), 0); break;
    case K_SUMEXP:   COL(acc[j] + exp(v - CJ), 0); break;
    case K_NONZERO:  COL(acc[j] + (v != 0 ? 1.0 : 0.0), 0); break;
    case K_PROD:     COL(acc[j] * v, 1); break;
    /* NaN sticks once seen (acc != acc), matching the row kernel's early exit. */
    case K_MAXABS:   COL(acc[j] != acc[j] ? acc[j] : (fabs(v) > acc[j] || v != v) ? fabs(v) : acc[j], 0); break;
    case K_NANSUM: {
      double acc[RED_COL_CHUNK] = {0};
      int64_t cnt[RED_COL_CHUNK] = {0};
      for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < nc; j++) {
          const double v = X(n, j);
          if (v == v) { acc[j] += v; cnt[j]++; }
        }
      for (int64_t j = 0; j < nc; j++) { out[j].a = acc[j]; out[j].i = cnt[j]; }
      break;
    }
    case K_MAX: case K_MIN: {
      double m[RED_COL_CHUNK];
      int64_t at[RED_COL_CHUNK] = {0};
      for (int64_t j = 0; j < nc; j++) m[j] = X(0, j);
      for (int64_t n = 1; n < N; n++)
        for (int64_t j = 0; j < nc; j++) {
          const double v = X(n, j);
          if (m[j] == m[j] && ((k == K_MAX ? v > m[j] : v < m[j]) || v != v)) { m[j] = v; at[j] = n; }
        }
      for (int64_t j = 0; j < nc; j++) { out[j].a = m[j]; out[j].i = at[j]; }
      break;
    }
  }
#undef CJ
#undef X
}
#undef COL

static void col_f32(const void *p, int64_t N, int64_t ld, int64_t nc, int k, const double *c, double c0, part *out)
{ col_float(p, N, ld, nc, k, c, c0, out, 1); }
static void col_f64(const void *p, int64_t N, int64_t ld, int64_t nc, int k, const double *c, double c0, part *out)
{ col_float(p, N, ld, nc, k, c, c0, out, 0); }

/* Folds the partial b of a later block (starting at row offset boff) into a. */
static part combine(int k, int isint, part a, part b, int64_t boff)
{
  switch (k) {
    case K_PROD:
      if (isint) a.v = (int64_t)((uint64_t)a.v * (uint64_t)b.v); else a.a *= b.a;
      break;
    case K_MAX: case K_MIN:
      if (isint) {
        if (k == K_MAX ? b.v > a.v : b.v < a.v) { a.v = b.v; a.i = b.i + boff; }
      } else if (a.a == a.a && (b.a != b.a || (k == K_MAX ? b.a > a.a : b.a < a.a))) {
        a.a = b.a; a.i = b.i + boff;
      }
      break;
    case K_MAXABS:
      if (a.a == a.a && (b.a != b.a || b.a > a.a)) a.a = b.a;
      break;
    default:   /* the sums */
      if (isint) a.v = (int64_t)((uint64_t)a.v + (uint64_t)b.v);
      a.a += b.a; a.i += b.i;
      break;
  }
  return a;
}

/* ---- plan: the [M, N] contiguous layout ---- */

typedef struct {
  sl_tensor *src;                   /* contiguous, work dtype: [M, N] rows, or [A, N, C] columns */
  int64_t    M, N;                  /* M outputs, each reducing N inputs */
  int64_t    A, C;                  /* column layout (C > 0): M = A * C */
  int        ndim;                  /* output shape */
  int64_t    shape[SL_MAX_DIMS];
} plan;

static sl_status plan_make(plan *p, const sl_tensor *t, uint32_t mask, int keepdim, sl_dtype wdt,
                           const char *op)
{
  const int nd = t->ndim;
  memset(p, 0, sizeof *p);
  if (sl_tensor_device(t) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_NOT_IMPL, "%s: tensor is on %s; reductions run on the CPU only",
                  op, sl_device_name(sl_tensor_device(t)));
  for (int d = nd; d < 32; d++)
    if (mask >> d & 1) return SL_ERR(SL_ERR_ARG, "%s: dim %d out of range for a %d-d tensor", op, d, nd);
  if (mask == 0) mask = (1u << nd) - 1;

  int perm[SL_MAX_DIMS], k = 0, identity = 1;
  p->M = p->N = 1;
  for (int d = 0; d < nd; d++) {
    if (mask >> d & 1) {
      if (keepdim) p->shape[p->ndim++] = 1;
    } else {
      perm[k++] = d;
      p->M *= t->shape[d];
      p->shape[p->ndim++] = t->shape[d];
    }
  }
  for (int d = 0; d < nd; d++)
    if (mask >> d & 1) { perm[k++] = d; p->N *= t->shape[d]; }
  for (int d = 0; d < nd; d++) identity &= perm[d] == d;

  /* Column layout: the reduced dims are one run [lo, hi) followed by kept dims of size C. */
  if (sl_dtype_is_float(wdt) && p->N > 1) {
    int lo = 0, hi;
    while (!(mask >> lo & 1)) lo++;
    for (hi = lo; hi < nd && (mask >> hi & 1); hi++) {}
    int64_t A = 1, C = 1;
    for (int d = 0; d < lo; d++) A *= t->shape[d];
    for (int d = hi; d < nd; d++) C *= t->shape[d];
    if ((mask >> hi) == 0 && C >= RED_COL_MIN) {
      p->A = A;
      p->C = C;
      return sl_tensor_contiguous_as(&p->src, t, wdt);
    }
  }
  if (identity) return sl_tensor_contiguous_as(&p->src, t, wdt);
  sl_tensor *v = NULL;
  SL_TRY(sl_tensor_permute(&v, t, perm));
  sl_status st = sl_tensor_contiguous_as(&p->src, v, wdt);
  sl_tensor_release(v);
  return st;
}

/* Runs block kernel k over every row; res[r] gets the row's combined partial.  c (per row) or
 * c0 (for all rows) is the kernel's constant. */
static sl_status run_pass_cols(const plan *p, int k, const double *c, double c0, part *res)
{
  const int64_t N = p->N, C = p->C, nch = (C + RED_COL_CHUNK - 1) / RED_COL_CHUNK, ntask = p->A * nch;
  const int f32 = p->src->dtype == SL_DTYPE_F32;
  const char *base = sl_tensor_data(p->src);
  const size_t es = sl_dtype_size(p->src->dtype);

  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (p->M * N >= RED_PAR_MIN)
  for (int64_t task = 0; task < ntask; task++) {
    const int64_t a = task / nch, j0 = (task % nch) * RED_COL_CHUNK;
    const int64_t nc = C - j0 < RED_COL_CHUNK ? C - j0 : RED_COL_CHUNK, r0 = a * C + j0;
    const void *x = base + (size_t)(a * N * C + j0) * es;
    (f32 ? col_f32 : col_f64)(x, N, C, nc, k, c ? c + r0 : NULL, c0, res + r0);
  }
  return SL_OK;
}

static sl_status run_pass(const plan *p, int k, const double *c, double c0, part *res)
{
  if (p->C > 0) return run_pass_cols(p, k, c, c0, res);
  const int64_t M = p->M, N = p->N, nb = (N + RED_BLOCK - 1) / RED_BLOCK, ntask = M * nb;
  const sl_dtype wdt = p->src->dtype;
  const int isint = wdt == SL_DTYPE_I64;
  part (*block)(const void *, int64_t, int, double) =
      wdt == SL_DTYPE_F32 ? block_f32 : wdt == SL_DTYPE_F64 ? block_f64 : block_i64;
  const char *base = sl_tensor_data(p->src);
  const size_t es = sl_dtype_size(wdt);

  part *parts = res;
  if (nb > 1 && !(parts = sl_alloc((size_t)ntask * sizeof(part))))
    return SL_ERR(SL_ERR_OOM, "reduce: cannot allocate %lld partial results", (long long)ntask);

  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (M * N >= RED_PAR_MIN)
  for (int64_t task = 0; task < ntask; task++) {
    const int64_t r = task / nb, lo = (task % nb) * RED_BLOCK;
    const int64_t n = N - lo < RED_BLOCK ? N - lo : RED_BLOCK;
    parts[task] = block(base + (size_t)(r * N + lo) * es, n, k, c ? c[r] : c0);
  }

  if (nb > 1) {
    for (int64_t r = 0; r < M; r++) {
      part acc = parts[r * nb];
      for (int64_t b = 1; b < nb; b++) acc = combine(k, isint, acc, parts[r * nb + b], b * RED_BLOCK);
      res[r] = acc;
    }
    sl_free(parts, (size_t)ntask * sizeof(part));
  }
  return SL_OK;
}

/* Writes M results (res[r].v for integer results, res[r].a otherwise) into contiguous out. */
static void write_values(sl_tensor *out, const part *res, int64_t M, int from_int)
{
  void *d = sl_tensor_data(out);
  switch (out->dtype) {
    case SL_DTYPE_F32: for (int64_t r = 0; r < M; r++) ((float *)d)[r] = (float)res[r].a; break;
    case SL_DTYPE_F64: for (int64_t r = 0; r < M; r++) ((double *)d)[r] = res[r].a; break;
    case SL_DTYPE_I64: for (int64_t r = 0; r < M; r++) ((int64_t *)d)[r] = from_int ? res[r].v : (int64_t)res[r].a; break;
    default:           for (int64_t r = 0; r < M; r++) sl_store_f64(d, out->dtype, r, from_int ? (double)res[r].v : res[r].a); break;
  }
}

static void write_indices(sl_tensor *out, const part *res, int64_t M)
{
  int64_t *d = sl_tensor_data(out);
  for (int64_t r = 0; r < M; r++) d[r] = res[r].i;
}

sl_status sl_reduce_dims_mask(const sl_tensor *t, int n, const int *dims, uint32_t *mask, const char *op)
{
  uint32_t m = 0;
  for (int j = 0; j < n; j++) {
    int d = dims[j];
    if (d < -t->ndim || d >= t->ndim)
      return SL_ERR(SL_ERR_ARG, "%s: dim %d out of range for a %d-d tensor (expected %d..%d)",
                    op, d, t->ndim, -t->ndim, t->ndim - 1);
    if (d < 0) d += t->ndim;
    if (m >> d & 1) return SL_ERR(SL_ERR_ARG, "%s: dim %d given twice", op, dims[j]);
    m |= 1u << d;
  }
  *mask = m;
  return SL_OK;
}

/* ---- the value reductions ---- */

/* f64_out: float results in float64 whatever the input (sl_reduce_all keeps full precision). */
static sl_status reduce_impl(sl_tensor **out, const sl_tensor *t, sl_reduce_op op, uint32_t dims,
                             int keepdim, double param, int f64_out)
{
  *out = NULL;
  if ((unsigned)op >= SL_REDUCE_COUNT) return SL_ERR(SL_ERR_ARG, "reduce: unknown op %d", (int)op);
  const char *name = op_names[op];
  const int isint = !sl_dtype_is_float(t->dtype);
  if (op == SL_REDUCE_NORM && !(param >= 0))
    return SL_ERR(SL_ERR_ARG, "norm: p must be >= 0 (or inf), got %g", param);
  if (isint && op == SL_REDUCE_NANSUM) op = SL_REDUCE_SUM;     /* integers have no NaN */
  if (isint && op == SL_REDUCE_NANMEAN) op = SL_REDUCE_MEAN;

  const int intop = isint && (op == SL_REDUCE_SUM || op == SL_REDUCE_PROD ||
                              op == SL_REDUCE_MIN || op == SL_REDUCE_MAX);
  const sl_dtype wdt = !isint ? t->dtype : intop ? SL_DTYPE_I64 : SL_DTYPE_F64;
  sl_dtype odt = !isint ? t->dtype
                     : (op == SL_REDUCE_MIN || op == SL_REDUCE_MAX) ? t->dtype
                     : intop ? SL_DTYPE_I64 : f64_out ? SL_DTYPE_F64 : SL_DTYPE_F32;
  if (f64_out && odt == SL_DTYPE_F32) odt = SL_DTYPE_F64;

  plan p;
  SL_TRY(plan_make(&p, t, dims, keepdim, wdt, name));
  const int64_t M = p.M, N = p.N;
  sl_status st = SL_OK;
  part *res = NULL;
  double *c = NULL;

  if (N == 0 && (op == SL_REDUCE_MIN || op == SL_REDUCE_MAX) && M > 0) {
    st = SL_ERR(SL_ERR_SHAPE, "%s: cannot reduce an empty slice (the reduced dims hold 0 elements)", name);
    goto done;
  }
  if ((st = sl_tensor_empty(out, odt, p.ndim, p.shape)) != SL_OK || M == 0) goto done;
  if (N == 0) {
    static const double empty_value[SL_REDUCE_COUNT] = {
      [SL_REDUCE_SUM] = 0, [SL_REDUCE_MEAN] = NAN, [SL_REDUCE_VAR] = NAN, [SL_REDUCE_STD] = NAN,
      [SL_REDUCE_PROD] = 1, [SL_REDUCE_NORM] = 0, [SL_REDUCE_LOGSUMEXP] = -INFINITY,
      [SL_REDUCE_NANSUM] = 0, [SL_REDUCE_NANMEAN] = NAN };
    st = sl_tensor_fill(*out, empty_value[op]);
    goto done;
  }
  if (!(res = sl_alloc((size_t)M * sizeof(part))) || !(c = sl_alloc((size_t)M * sizeof(double)))) {
    st = SL_ERR(SL_ERR_OOM, "%s: cannot allocate %lld results", name, (long long)M);
    goto done;
  }

  switch (op) {
    case SL_REDUCE_SUM: case SL_REDUCE_NANSUM:
      st = run_pass(&p, op == SL_REDUCE_SUM ? K_SUM : K_NANSUM, NULL, 0, res);
      break;
    case SL_REDUCE_MEAN:
      st = run_pass(&p, K_SUM, NULL, 0, res);
      for (int64_t r = 0; r < M; r++) res[r].a /= (double)N;
      break;
    case SL_REDUCE_NANMEAN:
      st = run_pass(&p, K_NANSUM, NULL, 0, res);
      for (int64_t r = 0; r < M; r++) res[r].a = res[r].i ? res[r].a / (double)res[r].i : NAN;
      break;
    case SL_REDUCE_VAR: case SL_REDUCE_STD: {
      /* Two passes in double: the mean, then the squared deviations from it.  Unlike the one-pass
       * sum-of-squares formula this loses no precision when the mean is large. */
      const double denom = (double)N - (param != 0 ? 1 : 0);
      if ((st = run_pass(&p, K_SUM, NULL, 0, res)) != SL_OK) break;
      for (int64_t r = 0; r < M; r++) c[r] = res[r].a / (double)N;
      if ((st = run_pass(&p, K_SUMSQDEV, c, 0, res)) != SL_OK) break;
      for (int64_t r = 0; r < M; r++) {
        double v = denom > 0 ? res[r].a / denom : NAN;
        res[r].a = op == SL_REDUCE_STD ? sqrt(v) : v;
      }
      break;
    }
    case SL_REDUCE_MIN: case SL_REDUCE_MAX:
      st = run_pass(&p, op == SL_REDUCE_MIN ? K_MIN : K_MAX, NULL, 0, res);
      break;
    case SL_REDUCE_PROD:
      st = run_pass(&p, K_PROD, NULL, 0, res);
      break;
    case SL_REDUCE_NORM:
      if (isinf(param)) {
        st = run_pass(&p, K_MAXABS, NULL, 0, res);
      } else if (param == 0) {
        st = run_pass(&p, K_NONZERO, NULL, 0, res);
      } else if (param == 1) {
        st = run_pass(&p, K_SUMABS, NULL, 0, res);
      } else if (param == 2) {
        st = run_pass(&p, K_SUMSQ, NULL, 0, res);
        for (int64_t r = 0; r < M; r++) res[r].a = sqrt(res[r].a);
      } else {
        st = run_pass(&p, K_SUMPOW, NULL, param, res);
        for (int64_t r = 0; r < M; r++) res[r].a = pow(res[r].a, 1.0 / param);
      }
      break;
    case SL_REDUCE_LOGSUMEXP: {
      /* Shift by the row max so exp never overflows; rows whose max is not finite (all -inf,
       * any +inf, any NaN) have the max itself as their result. */
      if ((st = run_pass(&p, K_MAX, NULL, 0, res)) != SL_OK) break;
      for (int64_t r = 0; r < M; r++) c[r] = isfinite(res[r].a) ? res[r].a : 0;
      part *sums = sl_alloc((size_t)M * sizeof(part));
      if (!sums) { st = SL_ERR(SL_ERR_OOM, "logsumexp: cannot allocate %lld results", (long long)M); break; }
      if ((st = run_pass(&p, K_SUMEXP, c, 0, sums)) == SL_OK)
        for (int64_t r = 0; r < M; r++)
          if (isfinite(res[r].a)) res[r].a += log(sums[r].a);
      sl_free(sums, (size_t)M * sizeof(part));
      break;
    }
    default:
      st = SL_ERR(SL_ERR_INTERNAL, "%s: not handled", name);
  }
  if (st == SL_OK) write_values(*out, res, M, intop);

done:
  if (st != SL_OK) { sl_tensor_release(*out); *out = NULL; }
  if (res) sl_free(res, (size_t)M * sizeof(part));
  if (c) sl_free(c, (size_t)M * sizeof(double));
  sl_tensor_release(p.src);
  return st;
}

sl_status sl_reduce(sl_tensor **out, const sl_tensor *t, sl_reduce_op op, uint32_t dims,
                    int keepdim, double param)
{
  return reduce_impl(out, t, op, dims, keepdim, param, 0);
}

sl_status sl_reduce_all(double *out, const sl_tensor *t, sl_reduce_op op, double param)
{
  sl_tensor *r = NULL;
  SL_TRY(reduce_impl(&r, t, op, 0, 0, param, 1));
  *out = sl_tensor_get_linear(r, 0);
  sl_tensor_release(r);
  return SL_OK;
}

/* ---- extremes with indices ---- */

static sl_status extreme(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim,
                         int keepdim, int k, const char *op)
{
  if (values) *values = NULL;
  if (indices) *indices = NULL;
  uint32_t mask = 0;
  if (dim != SL_ALL_DIMS) {
    int d;
    SL_TRY(sl_tensor_check_dim(t, dim, &d, op));
    mask = 1u << d;
  }
  const sl_dtype wdt = sl_dtype_is_float(t->dtype) ? t->dtype : SL_DTYPE_I64;
  plan p;
  SL_TRY(plan_make(&p, t, mask, keepdim, wdt, op));
  sl_status st = SL_OK;
  part *res = NULL;
  if (p.N == 0 && p.M > 0) {
    st = SL_ERR(SL_ERR_SHAPE, "%s: cannot reduce an empty slice (the reduced dim has size 0)", op);
    goto done;
  }
  if (values && (st = sl_tensor_empty(values, t->dtype, p.ndim, p.shape)) != SL_OK) goto done;
  if (indices && (st = sl_tensor_empty(indices, SL_DTYPE_I64, p.ndim, p.shape)) != SL_OK) goto done;
  if (p.M == 0) goto done;
  if (!(res = sl_alloc((size_t)p.M * sizeof(part)))) {
    st = SL_ERR(SL_ERR_OOM, "%s: cannot allocate %lld results", op, (long long)p.M);
    goto done;
  }
  if ((st = run_pass(&p, k, NULL, 0, res)) != SL_OK) goto done;
  if (values) write_values(*values, res, p.M, wdt == SL_DTYPE_I64);
  if (indices) write_indices(*indices, res, p.M);

done:
  if (st != SL_OK) {
    if (values) { sl_tensor_release(*values); *values = NULL; }
    if (indices) { sl_tensor_release(*indices); *indices = NULL; }
  }
  if (res) sl_free(res, (size_t)p.M * sizeof(part));
  sl_tensor_release(p.src);
  return st;
}

sl_status sl_reduce_argmax(sl_tensor **out, const sl_tensor *t, int dim, int keepdim)
{ return extreme(NULL, out, t, dim, keepdim, K_MAX, "argmax"); }
sl_status sl_reduce_argmin(sl_tensor **out, const sl_tensor *t, int dim, int keepdim)
{ return extreme(NULL, out, t, dim, keepdim, K_MIN, "argmin"); }
sl_status sl_reduce_max_dim(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int keepdim)
{ return extreme(values, indices, t, dim, keepdim, K_MAX, "max"); }
sl_status sl_reduce_min_dim(sl_tensor **values, sl_tensor **indices, const sl_tensor *t, int dim, int keepdim)
{ return extreme(values, indices, t, dim, keepdim, K_MIN, "min"); }
