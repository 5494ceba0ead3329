/* vq.c — vector-quantizer kernels: nearest-code search, commitment loss and its gradient, EMA
 * codebook update, usage statistics, k-means++ initialisation and dead-code reset (sl_vq.h).
 *
 * Design notes
 *  - Nearest-code search uses the GEMM trick: ‖z − e‖² = ‖z‖² + ‖e‖² − 2 z·e, with z·eᵀ from
 *    OpenBLAS sgemm on row blocks of 2048 so the [B, K] score buffer stays small.  ‖z‖² does
 *    not change the argmin, so it is only added for the returned score.  The argmin scan is per
 *    row (OpenMP over rows) and takes the first index on ties, so it is thread-count invariant.
 *  - Anything that sums over rows (EMA counts/sums, loss, codebook gradient) runs serially in
 *    row order with double accumulators: these are O(B·d) and cheap next to the GEMM, and a
 *    fixed order keeps results bit-identical across thread counts.
 *  - Randomness (k-means++, dead-code reset) takes the j-th choice from the float64 uniform at
 *    stream position offset + 2j, so a caller can account for the words used exactly. */
#include "sl_vq.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define ROW_BLOCK 2048

/* ---- argument checks ---- */

static sl_status check_2d(const sl_tensor *t, const char *op, const char *what)
{
  if (t->ndim != 2) {
    char b[64];
    return SL_ERR(SL_ERR_SHAPE, "%s: %s must be 2-d [rows, dim], got shape %s", op, what,
                  sl_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  if (sl_tensor_device(t) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_DEVICE, "%s: %s is on %s; only CPU tensors are supported here", op, what,
                  sl_device_name(sl_tensor_device(t)));
  return SL_OK;
}

/* In-place state tensors must be contiguous float32 of the given shape. */
static sl_status check_state(const sl_tensor *t, const char *op, const char *what, int ndim,
                             int64_t d0, int64_t d1, sl_dtype dt)
{
  char b[64];
  if (t->dtype != dt)
    return SL_ERR(SL_ERR_DTYPE, "%s: %s must be %s, got %s", op, what, sl_dtype_name(dt),
                  sl_dtype_name(t->dtype));
  if (t->ndim != ndim || t->shape[0] != d0 || (ndim == 2 && t->shape[1] != d1)) {
    if (ndim == 2)
      return SL_ERR(SL_ERR_SHAPE, "%s: %s must have shape [%lld,%lld], got %s", op, what,
                    (long long)d0, (long long)d1, sl_shape_str(b, sizeof b, t->ndim, t->shape));
    return SL_ERR(SL_ERR_SHAPE, "%s: %s must have shape [%lld], got %s", op, what, (long long)d0,
                  sl_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  if (!sl_tensor_is_contiguous(t))
    return SL_ERR(SL_ERR_ARG, "%s: %s must be contiguous (it is updated in place)", op, what);
  return SL_OK;
}

/* idx: 1-d integer tensor of B entries in [0, K); returned as a contiguous int64 copy/ref. */
static sl_status get_idx(sl_tensor **out, const sl_tensor *idx, int64_t B, int64_t K, const char *op)
{
  char b[64];
  if (idx->ndim != 1 || idx->shape[0] != B)
    return SL_ERR(SL_ERR_SHAPE, "%s: indices must have shape [%lld] (one per row), got %s", op,
                  (long long)B, sl_shape_str(b, sizeof b, idx->ndim, idx->shape));
  if (sl_dtype_is_float(idx->dtype))
    return SL_ERR(SL_ERR_DTYPE, "%s: indices must be an integer tensor, got %s", op,
                  sl_dtype_name(idx->dtype));
  SL_TRY(sl_tensor_contiguous_as(out, idx, SL_DTYPE_I64));
  const int64_t *p = sl_tensor_data(*out);
  for (int64_t i = 0; i < B; i++)
    if (p[i] < 0 || p[i] >= K) {
      sl_tensor_release(*out);
      *out = NULL;
      return SL_ERR(SL_ERR_ARG, "%s: index %lld of row %lld is outside [0, %lld)", op,
                    (long long)p[i], (long long)i, (long long)K);
    }
  return SL_OK;
}

static sl_status check_pair(const sl_tensor *z, const sl_tensor *cb, const char *op)
{
  SL_TRY(check_2d(z, op, "z"));
  SL_TRY(check_2d(cb, op, "codebook"));
  if (z->shape[1] != cb->shape[1])
    return SL_ERR(SL_ERR_SHAPE, "%s: z has width %lld but the codebook's codes have width %lld", op,
                  (long long)z->shape[1], (long long)cb->shape[1]);
  if (cb->shape[0] < 1) return SL_ERR(SL_ERR_SHAPE, "%s: the codebook has no codes", op);
  return SL_OK;
}

/* ---- nearest code ---- */

/* Row-normalised copy (cosine metric); zero rows are left as they are. */
static void normalise_rows(float *dst, const float *src, int64_t n, int64_t d)
{
  #pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += (double)src[i * d + j] * src[i * d + j];
    const float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 1.0f;
    for (int64_t j = 0; j < d; j++) dst[i * d + j] = src[i * d + j] * inv;
  }
}

/* Core search on contiguous float buffers; idx/score may be NULL. */
static sl_status assign_raw(int64_t *idx, float *score, const float *z, int64_t B, const float *e,
                            int64_t K, int64_t d, sl_vq_metric metric)
{
  float *en = NULL, *zn = NULL, *g = NULL, *enorm = NULL;
  const int64_t rb = B < ROW_BLOCK ? B : ROW_BLOCK;
  sl_status st = SL_OK;
  g = sl_alloc((size_t)(rb > 0 ? rb : 1) * K * sizeof(float));
  enorm = sl_alloc((size_t)K * sizeof(float));
  if (!g || !enorm) { st = SL_ERR(SL_ERR_OOM, "vq assign: out of memory for a [%lld,%lld] score block", (long long)rb, (long long)K); goto done; }
  if (metric == SL_VQ_COSINE) {
    en = sl_alloc((size_t)K * d * sizeof(float));
    zn = sl_alloc((size_t)(rb > 0 ? rb : 1) * d * sizeof(float));
    if (!en || !zn) { st = SL_ERR(SL_ERR_OOM, "vq assign: out of memory"); goto done; }
    normalise_rows(en, e, K, d);
  } else {
    for (int64_t k = 0; k < K; k++) {
      double s = 0;
      for (int64_t j = 0; j < d; j++) s += (double)e[k * d + j] * e[k * d + j];
      enorm[k] = (float)s;
    }
  }
  for (int64_t r0 = 0; r0 < B; r0 += rb) {
    const int64_t nr = B - r0 < rb ? B - r0 : rb;
    const float *zb = z + r0 * d;
    if (metric == SL_VQ_COSINE) { normalise_rows(zn, zb, nr, d); zb = zn; }
    if (d > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)K, (int)d, 1.0f, zb, (int)d,
                  metric == SL_VQ_COSINE ? en : e, (int)d, 0.0f, g, (int)K);
    else
      memset(g, 0, (size_t)nr * K * sizeof(float));
    #pragma omp parallel for schedule(static) if (nr * K > 65536)
    for (int64_t i = 0; i < nr; i++) {
      const float *gi = g + i * K;
      int64_t best = 0;
      float bv;
      if (metric == SL_VQ_COSINE) {
        bv = gi[0];
        for (int64_t k = 1; k < K; k++) if (gi[k] > bv) { bv = gi[k]; best = k; }
      } else {
        bv = enorm[0] - 2.0f * gi[0];
        for (int64_t k = 1; k < K; k++) {
          const float v = enorm[k] - 2.0f * gi[k];
          if (v < bv) { bv = v; best = k; }
        }
        if (score) {
          double zz = 0;
          for (int64_t j = 0; j < d; j++) zz += (double)z[(r0 + i) * d + j] * z[(r0 + i) * d + j];
          bv = (float)(zz + bv);
          if (bv < 0) bv = 0;   /* cancellation can dip below 0 for z ≈ e */
        }
      }
      if (idx) idx[r0 + i] = best;
      if (score) score[r0 + i] = bv;
    }
  }
done:
  sl_free(g, (size_t)(rb > 0 ? rb : 1) * K * sizeof(float));
  sl_free(enorm, (size_t)K * sizeof(float));
  if (en) sl_free(en, (size_t)K * d * sizeof(float));
  if (zn) sl_free(zn, (size_t)(rb > 0 ? rb : 1) * d * sizeof(float));
  return st;
}

sl_status sl_vq_assign(sl_tensor **idx, sl_tensor **score, const sl_tensor *z,
                       const sl_tensor *codebook, sl_vq_metric metric)
{
  SL_TRY(check_pair(z, codebook, "vq assign"));
  if (metric != SL_VQ_L2 && metric != SL_VQ_COSINE)
    return SL_ERR(SL_ERR_ARG, "vq assign: unknown metric %d (0 = l2, 1 = cosine)", (int)metric);
  const int64_t B = z->shape[0], K = codebook->shape[0], d = z->shape[1];
  sl_tensor *zc = NULL, *ec = NULL, *io = NULL, *so = NULL;
  sl_status st;
  if ((st = sl_tensor_contiguous_as(&zc, z, SL_DTYPE_F32)) != SL_OK) goto fail;
  if ((st = sl_tensor_contiguous_as(&ec, codebook, SL_DTYPE_F32)) != SL_OK) goto fail;
  if ((st = sl_tensor_empty(&io, SL_DTYPE_I64, 1, &B)) != SL_OK) goto fail;
  if (score && (st = sl_tensor_empty(&so, SL_DTYPE_F32, 1, &B)) != SL_OK) goto fail;
  if ((st = assign_raw(sl_tensor_data(io), so ? sl_tensor_data(so) : NULL, sl_tensor_data(zc), B,
                       sl_tensor_data(ec), K, d, metric)) != SL_OK) goto fail;
  sl_tensor_release(zc);
  sl_tensor_release(ec);
  if (idx) *idx = io; else sl_tensor_release(io);
  if (score) *score = so;
  return SL_OK;
fail:
  sl_tensor_release(zc); sl_tensor_release(ec); sl_tensor_release(io); sl_tensor_release(so);
  return st;
}

sl_status sl_vq_lookup(sl_tensor **out, const sl_tensor *codebook, const sl_tensor *idx)
{
  SL_TRY(check_2d(codebook, "vq lookup", "codebook"));
  if (idx->ndim != 1) {
    char b[64];
    return SL_ERR(SL_ERR_SHAPE, "vq lookup: indices must be 1-d, got %s",
                  sl_shape_str(b, sizeof b, idx->ndim, idx->shape));
  }
  const int64_t B = idx->shape[0], K = codebook->shape[0], d = codebook->shape[1];
  sl_tensor *ic = NULL, *ec = NULL, *o = NULL;
  SL_TRY(get_idx(&ic, idx, B, K, "vq lookup"));
  sl_status st;
  if ((st = sl_tensor_contiguous_as(&ec, codebook, SL_DTYPE_F32)) != SL_OK) goto fail;
  const int64_t shp[2] = {B, d};
  if ((st = sl_tensor_empty(&o, SL_DTYPE_F32, 2, shp)) != SL_OK) goto fail;
  const int64_t *ip = sl_tensor_data(ic);
  const float *e = sl_tensor_data(ec);
  float *op = sl_tensor_data(o);
  for (int64_t i = 0; i < B; i++) memcpy(op + i * d, e + ip[i] * d, (size_t)d * sizeof(float));
  sl_tensor_release(ic); sl_tensor_release(ec);
  *out = o;
  return SL_OK;
fail:
  sl_tensor_release(ic); sl_tensor_release(ec); sl_tensor_release(o);
  return st;
}

/* ---- commitment loss ---- */

sl_status sl_vq_commitment(double *mse, sl_tensor *grad_z, double weight,
                           sl_tensor *grad_codebook, double cb_weight,
                           const sl_tensor *z, const sl_tensor *codebook, const sl_tensor *idx)
{
  const char *op = "vq commitment";
  SL_TRY(check_pair(z, codebook, op));
  const int64_t B = z->shape[0], K = codebook->shape[0], d = z->shape[1];
  if (grad_z) SL_TRY(check_state(grad_z, op, "grad_z", 2, B, d, SL_DTYPE_F32));
  if (grad_codebook) SL_TRY(check_state(grad_codebook, op, "grad_codebook", 2, K, d, SL_DTYPE_F32));
  sl_tensor *ic = NULL, *zc = NULL, *ec = NULL;
  SL_TRY(get_idx(&ic, idx, B, K, op));
  sl_status st;
  if ((st = sl_tensor_contiguous_as(&zc, z, SL_DTYPE_F32)) != SL_OK) goto done;
  if ((st = sl_tensor_contiguous_as(&ec, codebook, SL_DTYPE_F32)) != SL_OK) goto done;
  const int64_t *ip = sl_tensor_data(ic);
  const float *zp = sl_tensor_data(zc), *ep = sl_tensor_data(ec);
  float *gz = grad_z ? sl_tensor_data(grad_z) : NULL;
  float *gc = grad_codebook ? sl_tensor_data(grad_codebook) : NULL;
  const double n = (double)(B * d);
  const double sz = n > 0 ? 2.0 * weight / n : 0, sc = n > 0 ? 2.0 * cb_weight / n : 0;
  double acc = 0;
  for (int64_t i = 0; i < B; i++) {
    const float *zi = zp + i * d, *ei = ep + ip[i] * d;
    for (int64_t j = 0; j < d; j++) {
      const double diff = (double)zi[j] - ei[j];
      acc += diff * diff;
      if (gz) gz[i * d + j] = (float)(sz * diff);
      if (gc) gc[ip[i] * d + j] += (float)(-sc * diff);
    }
  }
  *mse = n > 0 ? acc / n : 0;
  st = SL_OK;
done:
  sl_tensor_release(ic); sl_tensor_release(zc); sl_tensor_release(ec);
  return st;
}

/* ---- EMA ---- */

sl_status sl_vq_ema_update(sl_tensor *codebook, sl_tensor *ema_count, sl_tensor *ema_sum,
                           const sl_tensor *z, const sl_tensor *idx, double decay, double eps)
{
  const char *op = "vq ema_update";
  SL_TRY(check_pair(z, codebook, op));
  const int64_t B = z->shape[0], K = codebook->shape[0], d = z->shape[1];
  SL_TRY(check_state(codebook, op, "codebook", 2, K, d, SL_DTYPE_F32));
  SL_TRY(check_state(ema_count, op, "ema_count", 1, K, 0, SL_DTYPE_F32));
  SL_TRY(check_state(ema_sum, op, "ema_sum", 2, K, d, SL_DTYPE_F32));
  if (!(decay >= 0 && decay <= 1)) return SL_ERR(SL_ERR_ARG, "%s: decay must be in [0, 1], got %g", op, decay);
  if (!(eps >= 0)) return SL_ERR(SL_ERR_ARG, "%s: epsilon must be >= 0, got %g", op, eps);
  sl_tensor *ic = NULL, *zc = NULL;
  SL_TRY(get_idx(&ic, idx, B, K, op));
  sl_status st = sl_tensor_contiguous_as(&zc, z, SL_DTYPE_F32);
  if (st != SL_OK) { sl_tensor_release(ic); return st; }
  double *c = sl_alloc_zeroed((size_t)K * sizeof(double));
  double *s = sl_alloc_zeroed((size_t)K * d * sizeof(double));
  if (!c || !s) {
    sl_free(c, (size_t)K * sizeof(double)); sl_free(s, (size_t)K * d * sizeof(double));
    sl_tensor_release(ic); sl_tensor_release(zc);
    return SL_ERR(SL_ERR_OOM, "%s: out of memory", op);
  }
  const int64_t *ip = sl_tensor_data(ic);
  const float *zp = sl_tensor_data(zc);
  for (int64_t i = 0; i < B; i++) {
    c[ip[i]] += 1;
    for (int64_t j = 0; j < d; j++) s[ip[i] * d + j] += zp[i * d + j];
  }
  float *N = sl_tensor_data(ema_count), *m = sl_tensor_data(ema_sum), *e = sl_tensor_data(codebook);
  double total = 0;
  double *Nd = c;   /* reuse: c[k] becomes the decayed count in double */
  for (int64_t k = 0; k < K; k++) { Nd[k] = decay * N[k] + (1 - decay) * c[k]; total += Nd[k]; }
  for (int64_t k = 0; k < K; k++) {
    /* Laplace smoothing keeps every count > 0 so e = m / N is defined for unused codes. */
    const double Nk = total > 0 || eps > 0 ? (Nd[k] + eps) / (total + K * eps) * total : 0;
    N[k] = (float)Nk;
    for (int64_t j = 0; j < d; j++) {
      const double mk = decay * m[k * d + j] + (1 - decay) * s[k * d + j];
      m[k * d + j] = (float)mk;
      if (Nk > 0) e[k * d + j] = (float)(mk / Nk);
    }
  }
  sl_free(c, (size_t)K * sizeof(double)); sl_free(s, (size_t)K * d * sizeof(double));
  sl_tensor_release(ic); sl_tensor_release(zc);
  return SL_OK;
}

/* ---- usage ---- */

sl_status sl_vq_usage(sl_tensor **counts, sl_tensor *idle, double *utilisation, double *perplexity,
                      const sl_tensor *idx, int64_t K)
{
  const char *op = "vq usage";
  if (K < 1) return SL_ERR(SL_ERR_ARG, "%s: number of codes must be >= 1, got %lld", op, (long long)K);
  if (idx->ndim != 1) {
    char b[64];
    return SL_ERR(SL_ERR_SHAPE, "%s: indices must be 1-d, got %s", op, sl_shape_str(b, sizeof b, idx->ndim, idx->shape));
  }
  if (idle) SL_TRY(check_state(idle, op, "idle", 1, K, 0, SL_DTYPE_I64));
  const int64_t B = idx->shape[0];
  sl_tensor *ic = NULL, *co = NULL;
  SL_TRY(get_idx(&ic, idx, B, K, op));
  sl_status st = sl_tensor_zeros(&co, SL_DTYPE_F32, 1, &K);
  if (st != SL_OK) { sl_tensor_release(ic); return st; }
  const int64_t *ip = sl_tensor_data(ic);
  float *cp = sl_tensor_data(co);
  for (int64_t i = 0; i < B; i++) cp[ip[i]] += 1;
  int64_t used = 0;
  double h = 0;
  int64_t *id = idle ? sl_tensor_data(idle) : NULL;
  for (int64_t k = 0; k < K; k++) {
    if (cp[k] > 0) {
      used++;
      const double p = cp[k] / (double)B;
      h -= p * log(p);
    }
    if (id) id[k] = cp[k] > 0 ? 0 : id[k] + 1;
  }
  if (utilisation) *utilisation = (double)used / (double)K;
  if (perplexity) *perplexity = B > 0 ? exp(h) : 0;
  sl_tensor_release(ic);
  if (counts) *counts = co; else sl_tensor_release(co);
  return SL_OK;
}

/* ---- k-means++ ---- */

sl_status sl_vq_kmeanspp(sl_tensor *codebook, const sl_tensor *data, int iters,
                         sl_rng_stream s, uint64_t offset, uint64_t *words)
{
  const char *op = "vq kmeans++";
  SL_TRY(check_pair(data, codebook, op));
  const int64_t N = data->shape[0], K = codebook->shape[0], d = data->shape[1];
  SL_TRY(check_state(codebook, op, "codebook", 2, K, d, SL_DTYPE_F32));
  if (N < 1) return SL_ERR(SL_ERR_SHAPE, "%s: no data rows to initialise %lld codes from", op, (long long)K);
  if (iters < 0) return SL_ERR(SL_ERR_ARG, "%s: iterations must be >= 0, got %d", op, iters);
  sl_tensor *xc = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, data, SL_DTYPE_F32));
  const float *x = sl_tensor_data(xc);
  float *e = sl_tensor_data(codebook);
  double *D2 = sl_alloc((size_t)N * sizeof(double));
  double *u = sl_alloc((size_t)K * sizeof(double));
  int64_t *asg = sl_alloc((size_t)N * sizeof(int64_t));
  double *acc = sl_alloc((size_t)K * (d + 1) * sizeof(double));
  sl_status st = SL_OK;
  if (!D2 || !u || !asg || !acc) { st = SL_ERR(SL_ERR_OOM, "%s: out of memory for %lld rows", op, (long long)N); goto done; }
  sl_rng_uniform_f64(s, offset, K, u);
  for (int64_t k = 0; k < K; k++) {
    int64_t pick;
    double total = 0;
    if (k > 0) for (int64_t i = 0; i < N; i++) total += D2[i];
    if (k == 0 || !(total > 0)) {
      /* First centre, or every point already sits on a centre (N < K or duplicates): uniform. */
      pick = (int64_t)(u[k] * (double)N);
      if (pick >= N) pick = N - 1;
    } else {
      /* D² sampling: first i whose running sum exceeds u·total. */
      const double target = u[k] * total;
      double run = 0;
      pick = -1;
      for (int64_t i = 0; i < N; i++) {
        if (D2[i] <= 0) continue;
        run += D2[i];
        pick = i;
        if (run > target) break;
      }
    }
    memcpy(e + k * d, x + pick * d, (size_t)d * sizeof(float));
    const float *c = e + k * d;
    #pragma omp parallel for schedule(static) if (N * d > 65536)
    for (int64_t i = 0; i < N; i++) {
      double dd = 0;
      for (int64_t j = 0; j < d; j++) { const double t = (double)x[i * d + j] - c[j]; dd += t * t; }
      if (k == 0 || dd < D2[i]) D2[i] = dd;
    }
  }
  for (int it = 0; it < iters; it++) {
    if ((st = assign_raw(asg, NULL, x, N, e, K, d, SL_VQ_L2)) != SL_OK) goto done;
    memset(acc, 0, (size_t)K * (d + 1) * sizeof(double));
    for (int64_t i = 0; i < N; i++) {
      double *a = acc + asg[i] * (d + 1);
      a[d] += 1;
      for (int64_t j = 0; j < d; j++) a[j] += x[i * d + j];
    }
    for (int64_t k = 0; k < K; k++) {
      const double *a = acc + k * (d + 1);
      if (a[d] > 0) for (int64_t j = 0; j < d; j++) e[k * d + j] = (float)(a[j] / a[d]);
    }
  }
  if (words) *words = (2 * (uint64_t)K + 3) & ~(uint64_t)3;
done:
  sl_free(D2, (size_t)N * sizeof(double));
  sl_free(u, (size_t)K * sizeof(double));
  sl_free(asg, (size_t)N * sizeof(int64_t));
  sl_free(acc, (size_t)K * (d + 1) * sizeof(double));
  sl_tensor_release(xc);
  return st;
}

/* ---- ring buffer and dead-code reset ---- */

sl_status sl_vq_ring_push(sl_tensor *ring, int64_t *pos, int64_t *fill, const sl_tensor *z)
{
  const char *op = "vq ring_push";
  SL_TRY(check_2d(z, op, "z"));
  SL_TRY(check_2d(ring, op, "ring"));
  const int64_t R = ring->shape[0], d = ring->shape[1], B = z->shape[0];
  SL_TRY(check_state(ring, op, "ring", 2, R, d, SL_DTYPE_F32));
  if (z->shape[1] != d)
    return SL_ERR(SL_ERR_SHAPE, "%s: z has width %lld but the ring buffer holds rows of width %lld", op,
                  (long long)z->shape[1], (long long)d);
  if (R < 1) return SL_ERR(SL_ERR_SHAPE, "%s: the ring buffer has no rows", op);
  if (*pos < 0 || *pos >= R || *fill < 0 || *fill > R)
    return SL_ERR(SL_ERR_ARG, "%s: position %lld / fill %lld outside a ring of %lld rows", op,
                  (long long)*pos, (long long)*fill, (long long)R);
  sl_tensor *zc = NULL;
  SL_TRY(sl_tensor_contiguous_as(&zc, z, SL_DTYPE_F32));
  const float *zp = sl_tensor_data(zc);
  float *rp = sl_tensor_data(ring);
  const int64_t first = B > R ? B - R : 0;
  for (int64_t i = first; i < B; i++) {
    memcpy(rp + *pos * d, zp + i * d, (size_t)d * sizeof(float));
    *pos = (*pos + 1) % R;
    if (*fill < R) (*fill)++;
  }
  sl_tensor_release(zc);
  return SL_OK;
}

static int cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

sl_status sl_vq_reset_dead(int64_t *n_reset, uint64_t *words, sl_tensor *codebook,
                           sl_tensor *ema_count, sl_tensor *ema_sum, sl_tensor *idle,
                           const sl_tensor *ring, int64_t fill, int64_t dead_after, int64_t max_reset,
                           sl_rng_stream s, uint64_t offset)
{
  const char *op = "vq reset_dead";
  SL_TRY(check_pair(ring, codebook, op));
  const int64_t K = codebook->shape[0], d = codebook->shape[1], R = ring->shape[0];
  SL_TRY(check_state(codebook, op, "codebook", 2, K, d, SL_DTYPE_F32));
  SL_TRY(check_state(idle, op, "idle", 1, K, 0, SL_DTYPE_I64));
  SL_TRY(check_state(ring, op, "ring", 2, R, d, SL_DTYPE_F32));
  if (ema_count) SL_TRY(check_state(ema_count, op, "ema_count", 1, K, 0, SL_DTYPE_F32));
  if (ema_sum) SL_TRY(check_state(ema_sum, op, "ema_sum", 2, K, d, SL_DTYPE_F32));
  if (fill < 0 || fill > R)
    return SL_ERR(SL_ERR_ARG, "%s: fill %lld outside a ring of %lld rows", op, (long long)fill, (long long)R);
  if (dead_after < 1) return SL_ERR(SL_ERR_ARG, "%s: dead_after must be >= 1 step, got %lld", op, (long long)dead_after);
  *n_reset = 0;
  if (words) *words = 0;
  if (fill == 0 || max_reset <= 0) return SL_OK;
  int64_t *id = sl_tensor_data(idle);
  int64_t *dead = sl_alloc((size_t)K * sizeof(int64_t));
  double *live = sl_alloc((size_t)K * sizeof(double));
  if (!dead || !live) {
    sl_free(dead, (size_t)K * sizeof(int64_t)); sl_free(live, (size_t)K * sizeof(double));
    return SL_ERR(SL_ERR_OOM, "%s: out of memory", op);
  }
  int64_t nd = 0, nl = 0;
  float *N = ema_count ? sl_tensor_data(ema_count) : NULL;
  for (int64_t k = 0; k < K; k++) {
    if (id[k] >= dead_after) dead[nd++] = k;
    else if (N) live[nl++] = N[k];
  }
  /* Most idle first, ties → lower index (insertion sort: stable, K is small). */
  for (int64_t a = 1; a < nd; a++) {
    const int64_t v = dead[a];
    int64_t b = a - 1;
    while (b >= 0 && id[dead[b]] < id[v]) { dead[b + 1] = dead[b]; b--; }
    dead[b + 1] = v;
  }
  if (nd > max_reset) nd = max_reset;
  double count = 1;
  if (N && nl > 0) {
    qsort(live, (size_t)nl, sizeof(double), cmp_double);
    const double med = nl % 2 ? live[nl / 2] : 0.5 * (live[nl / 2 - 1] + live[nl / 2]);
    if (med > count) count = med;
  }
  double u[64];
  const float *rp = sl_tensor_data(ring);   /* ring is contiguous float32 (check_state above) */
  float *e = sl_tensor_data(codebook);
  float *m = ema_sum ? sl_tensor_data(ema_sum) : NULL;
  for (int64_t j = 0; j < nd; j++) {
    if (j % 64 == 0) sl_rng_uniform_f64(s, offset + 2 * (uint64_t)j, nd - j < 64 ? nd - j : 64, u);
    int64_t r = (int64_t)(u[j % 64] * (double)fill);
    if (r >= fill) r = fill - 1;
    const int64_t k = dead[j];
    memcpy(e + k * d, rp + r * d, (size_t)d * sizeof(float));
    if (N) N[k] = (float)count;
    if (m) for (int64_t c = 0; c < d; c++) m[k * d + c] = (float)(rp[r * d + c] * count);
    id[k] = 0;
  }
  *n_reset = nd;
  if (words) *words = (2 * (uint64_t)nd + 3) & ~(uint64_t)3;
  sl_free(dead, (size_t)K * sizeof(int64_t)); sl_free(live, (size_t)K * sizeof(double));
  return SL_OK;
}
