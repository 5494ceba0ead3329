/* norm.c — instance / group / layer norm, fused activation, dropout (float32, forward).
 *
 * All three norms are one kernel: x viewed as [outer, G, n] where each (outer, g) block of n
 * contiguous elements is normalised with its own mean and biased variance.  Instance norm is
 * G = C (n = spatial size), group norm G = groups (n = C/G · spatial), layer norm G = 1 (n = the
 * normalised dims).  Affine parameters are per channel (instance/group: channel = g·C/G + i/S)
 * or per element (layer norm).
 *
 * Statistics use two passes in double with 8 independent partial sums (which the compiler can
 * vectorise without reassociation flags) — stable for large n and identical whatever the thread
 * count, since each block is reduced by one thread in a fixed order.  The output pass applies
 * scale/shift and the activation in one sweep, so the rollout's norm+GELU touches memory once
 * to read and once to write after the statistics. */
#include <math.h>
#include <string.h>

#include "sl_norm.h"

/* Lets the compiler turn the activations' selects into blends (vectorisable).  Results are
 * unchanged; only floating-point exception flags, which nothing here reads, may differ. */
#pragma GCC optimize ("no-trapping-math")

static const char *act_names[SL_ACT_COUNT] = { "none", "relu", "gelu", "silu", "tanh" };

const char *sl_act_name(sl_act a) { return (a >= 0 && a < SL_ACT_COUNT) ? act_names[a] : "?"; }

int sl_act_from_name(const char *s, sl_act *out) {
  for (int i = 0; i < SL_ACT_COUNT; i++) if (!strcmp(s, act_names[i])) { *out = (sl_act)i; return 0; }
  return -1;
}

/* Branch-free float kernels the compiler can vectorise (libm's expf/erff/tanhf are scalar calls,
 * 10-15x slower here, and the activation would then dominate the fused norm pass).  Selects
 * written as ?: become blend instructions thanks to no-trapping-math (pragma above). */
static inline float exp_f(float x_in) {    /* relative error < 1e-7 over the clamped range */
  /* NaN is routed through the polynomial as 0 and restored at the end: converting NaN to an
   * integer below would be undefined behaviour (UBSan flags it). */
  float x = x_in != x_in ? 0.0f : x_in;
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round(x / ln2) */
  float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;  /* Cody-Waite */
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t e = ((int32_t)n + 127) << 23;
  float s;
  memcpy(&s, &e, sizeof s);
  return x_in != x_in ? x_in : p * s;
}

/* erf by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). */
static inline float erf_f(float x) {
  float a = x < 0.0f ? -x : x;
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  float y = 1.0f - p * exp_f(-a * a);
  return x < 0.0f ? -y : y;
}

static inline float tanh_f(float x) {
  float a = x < 0.0f ? -x : x;
  float big = 1.0f - 2.0f / (exp_f(2.0f * a) + 1.0f);
  float a2 = a * a, small = a * (1.0f - a2 * (1.0f / 3.0f - a2 * (2.0f / 15.0f)));  /* |a| < 1/16 */
  float y = a < 0.0625f ? small : big;
  return x < 0.0f ? -y : y;
}

static inline float relu_f(float v) { return v > 0.0f ? v : 0.0f; }
static inline float gelu_f(float v) { return 0.5f * v * (1.0f + erf_f(v * 0.70710678118654752f)); }
static inline float silu_f(float v) { return v / (1.0f + exp_f(-v)); }

void sl_act_apply_f32(float *y, int64_t n, sl_act act) {
  if (act == SL_ACT_NONE) return;
  #pragma omp parallel num_threads(sl_num_threads()) if (n > 65536)
  {
    switch (act) {
      case SL_ACT_RELU:
        #pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = relu_f(y[i]);
        break;
      case SL_ACT_GELU:
        #pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = gelu_f(y[i]);
        break;
      case SL_ACT_SILU:
        #pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = silu_f(y[i]);
        break;
      case SL_ACT_TANH:
        #pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = tanh_f(y[i]);
        break;
      default: break;
    }
  }
}

/* Mean and biased variance of v[0..n) in double, fixed summation order. */
static void block_stats(const float *v, int64_t n, double *mean, double *var) {
  double s[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) s[j] += v[i + j];
  double sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) sum += v[i];
  double m = sum / (double)n;
  double q[8] = {0};
  for (i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) { double d = v[i + j] - m; q[j] += d * d; }
  double ss = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
  for (; i < n; i++) { double d = v[i] - m; ss += d * d; }
  *mean = m;
  *var = ss / (double)n;
}

/* y = act(x * scale + shift) over n elements; one loop per activation so each vectorises. */
static void affine_act(float *restrict y, const float *restrict x, int64_t n, float scale, float shift, sl_act act) {
  switch (act) {
    case SL_ACT_RELU: for (int64_t i = 0; i < n; i++) y[i] = relu_f(x[i] * scale + shift); break;
    case SL_ACT_GELU: for (int64_t i = 0; i < n; i++) y[i] = gelu_f(x[i] * scale + shift); break;
    case SL_ACT_SILU: for (int64_t i = 0; i < n; i++) y[i] = silu_f(x[i] * scale + shift); break;
    case SL_ACT_TANH: for (int64_t i = 0; i < n; i++) y[i] = tanh_f(x[i] * scale + shift); break;
    default:          for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale + shift; break;
  }
}

/* In place (y == x) variant: restrict would be a lie there. */
static void affine_act_inplace(float *y, int64_t n, float scale, float shift, sl_act act) {
  switch (act) {
    case SL_ACT_RELU: for (int64_t i = 0; i < n; i++) y[i] = relu_f(y[i] * scale + shift); break;
    case SL_ACT_GELU: for (int64_t i = 0; i < n; i++) y[i] = gelu_f(y[i] * scale + shift); break;
    case SL_ACT_SILU: for (int64_t i = 0; i < n; i++) y[i] = silu_f(y[i] * scale + shift); break;
    case SL_ACT_TANH: for (int64_t i = 0; i < n; i++) y[i] = tanh_f(y[i] * scale + shift); break;
    default:          for (int64_t i = 0; i < n; i++) y[i] = y[i] * scale + shift; break;
  }
}

/* The shared kernel.  per_elem: layer-norm style affine (index = position in block). */
static void norm_kernel(float *y, const float *x, int64_t outer, int64_t G, int64_t n, int64_t S,
                        int per_elem, const float *w, const float *b, double eps, sl_act act) {
  int64_t cpg = S > 0 ? n / S : 0;     /* channels per group (instance/group) */
  #pragma omp parallel for schedule(dynamic) num_threads(sl_num_threads()) if (outer * G > 1 && n * outer * G > 16384)
  for (int64_t u = 0; u < outer * G; u++) {
    int64_t g = u % G;
    const float *xb = x + u * n;
    float *yb = y + u * n;
    double mean, var;
    block_stats(xb, n, &mean, &var);
    double rstd = 1.0 / sqrt(var + eps);
    if (per_elem) {
      float m = (float)mean, rs = (float)rstd;
      for (int64_t i = 0; i < n; i++) {
        float v = (xb[i] - m) * rs;
        if (w) v *= w[i];
        if (b) v += b[i];
        yb[i] = v;
      }
      continue;
    }
    for (int64_t c = 0; c < cpg; c++) {
      int64_t ch = g * cpg + c;
      double sc = rstd * (w ? w[ch] : 1.0);
      double sh = (b ? b[ch] : 0.0) - mean * sc;
      if (yb == xb) affine_act_inplace(yb + c * S, S, (float)sc, (float)sh, act);
      else affine_act(yb + c * S, xb + c * S, S, (float)sc, (float)sh, act);
    }
  }
}

/* Checks an optional per-channel / per-element parameter; returns a contiguous f32 reference. */
static sl_status check_param(sl_tensor **hold, const sl_tensor *p, int nd, const int64_t *shape,
                             const char *what, const char *op, const sl_tensor *x) {
  *hold = NULL;
  if (!p) return SL_OK;
  char sp[96], se[96], sx[96];
  int ok = p->ndim == nd && (nd == 0 || !memcmp(p->shape, shape, (size_t)nd * sizeof(int64_t)));
  /* Accept any shape with the right number of elements for a 1-D per-channel vector ([C,1,1] …). */
  if (!ok && nd == 1 && sl_tensor_numel(p) == shape[0]) ok = 1;
  if (!ok)
    return SL_ERR(SL_ERR_SHAPE, "%s: %s must have shape %s for input %s, got %s", op, what,
                  sl_shape_str(se, sizeof se, nd, shape), sl_shape_str(sx, sizeof sx, x->ndim, x->shape),
                  sl_shape_str(sp, sizeof sp, p->ndim, p->shape));
  if (p->dtype != SL_DTYPE_F32)
    return SL_ERR(SL_ERR_DTYPE, "%s: %s must be float32, got %s", op, what, sl_dtype_name(p->dtype));
  if (sl_tensor_device(p) != SL_DEV_CPU) return SL_ERR(SL_ERR_DEVICE, "%s: %s must be a CPU tensor", op, what);
  return sl_tensor_contiguous_as(hold, p, SL_DTYPE_F32);
}

static sl_status check_input(const sl_tensor *x, int min_nd, const char *op, const char *layout) {
  char sx[96];
  if (sl_tensor_device(x) != SL_DEV_CPU) return SL_ERR(SL_ERR_DEVICE, "%s: CPU tensor expected", op);
  if (x->dtype != SL_DTYPE_F32)
    return SL_ERR(SL_ERR_DTYPE, "%s: float32 input expected, got %s", op, sl_dtype_name(x->dtype));
  if (x->ndim < min_nd)
    return SL_ERR(SL_ERR_SHAPE, "%s: input must be %s, got shape %s", op, layout,
                  sl_shape_str(sx, sizeof sx, x->ndim, x->shape));
  return SL_OK;
}

static sl_status check_out(const sl_tensor *out, const sl_tensor *x, const char *op) {
  if (out->dtype != SL_DTYPE_F32 || !sl_tensor_is_contiguous(out) || !sl_tensor_same_shape(out, x)) {
    char so[96], sx[96];
    return SL_ERR(SL_ERR_SHAPE, "%s: output must be a contiguous float32 tensor of shape %s, got %s %s", op,
                  sl_shape_str(sx, sizeof sx, x->ndim, x->shape), sl_dtype_name(out->dtype),
                  sl_shape_str(so, sizeof so, out->ndim, out->shape));
  }
  return SL_OK;
}

static sl_status run_norm(sl_tensor *out, const sl_tensor *x0, int64_t outer, int64_t G, int64_t n, int64_t S,
                          int per_elem, const sl_tensor *w0, const sl_tensor *b0, int pnd, const int64_t *pshape,
                          double eps, sl_act act, const char *op) {
  if (!(eps >= 0)) return SL_ERR(SL_ERR_ARG, "%s: eps must be >= 0, got %g", op, eps);
  if (act < 0 || act >= SL_ACT_COUNT) return SL_ERR(SL_ERR_ARG, "%s: unknown activation id %d", op, (int)act);
  SL_TRY(check_out(out, x0, op));
  sl_tensor *x = NULL, *w = NULL, *b = NULL;
  sl_status st;
  if ((st = check_param(&w, w0, pnd, pshape, "weight", op, x0)) != SL_OK) goto done;
  if ((st = check_param(&b, b0, pnd, pshape, "bias", op, x0)) != SL_OK) goto done;
  if ((st = sl_tensor_contiguous_as(&x, x0, SL_DTYPE_F32)) != SL_OK) goto done;
  if (outer * G * n > 0)
    norm_kernel(sl_tensor_data(out), sl_tensor_data(x), outer, G, n, S, per_elem,
                w ? sl_tensor_data(w) : NULL, b ? sl_tensor_data(b) : NULL, eps, act);
done:
  sl_tensor_release(x); sl_tensor_release(w); sl_tensor_release(b);
  return st;
}

static int64_t prod(int n, const int64_t *s) { int64_t p = 1; for (int i = 0; i < n; i++) p *= s[i]; return p; }

sl_status sl_norm_group_into(sl_tensor *out, const sl_tensor *x, int64_t groups, const sl_tensor *weight,
                             const sl_tensor *bias, double eps, sl_act act) {
  const char *op = "group_norm";
  SL_TRY(check_input(x, 2, op, "[B,C,...] (at least 2-D)"));
  int64_t C = x->shape[1];
  char sx[96];
  if (groups < 1 || C % groups != 0)
    return SL_ERR(SL_ERR_SHAPE, "%s: %lld channels (input %s) cannot be split into %lld groups; "
                  "the number of channels must be divisible by the number of groups", op, (long long)C,
                  sl_shape_str(sx, sizeof sx, x->ndim, x->shape), (long long)groups);
  int64_t S = prod(x->ndim - 2, x->shape + 2);
  return run_norm(out, x, x->shape[0], groups, (C / groups) * S, S, 0, weight, bias, 1, &x->shape[1], eps, act, op);
}

sl_status sl_norm_group(sl_tensor **out, const sl_tensor *x, int64_t groups, const sl_tensor *weight,
                        const sl_tensor *bias, double eps, sl_act act) {
  sl_tensor *o = NULL;
  SL_TRY(sl_tensor_empty(&o, SL_DTYPE_F32, x->ndim, x->shape));
  sl_status st = sl_norm_group_into(o, x, groups, weight, bias, eps, act);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

sl_status sl_norm_instance_into(sl_tensor *out, const sl_tensor *x, const sl_tensor *weight,
                                const sl_tensor *bias, double eps, sl_act act) {
  const char *op = "instance_norm";
  SL_TRY(check_input(x, 3, op, "[B,C,*spatial] (at least 3-D)"));
  int64_t C = x->shape[1], S = prod(x->ndim - 2, x->shape + 2);
  return run_norm(out, x, x->shape[0], C, S, S, 0, weight, bias, 1, &x->shape[1], eps, act, op);
}

sl_status sl_norm_instance(sl_tensor **out, const sl_tensor *x, const sl_tensor *weight,
                           const sl_tensor *bias, double eps, sl_act act) {
  sl_tensor *o = NULL;
  SL_TRY(sl_tensor_empty(&o, SL_DTYPE_F32, x->ndim, x->shape));
  sl_status st = sl_norm_instance_into(o, x, weight, bias, eps, act);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

sl_status sl_norm_layer(sl_tensor **out, const sl_tensor *x, int nd, const sl_tensor *weight,
                        const sl_tensor *bias, double eps) {
  const char *op = "layer_norm";
  char sx[96];
  SL_TRY(check_input(x, 1, op, "at least 1-D"));
  if (nd < 1 || nd > x->ndim)
    return SL_ERR(SL_ERR_ARG, "%s: normalized_ndim must be in 1..%d for input %s, got %d", op, x->ndim,
                  sl_shape_str(sx, sizeof sx, x->ndim, x->shape), nd);
  int lead = x->ndim - nd;
  sl_tensor *o = NULL;
  SL_TRY(sl_tensor_empty(&o, SL_DTYPE_F32, x->ndim, x->shape));
  int64_t n = prod(nd, x->shape + lead);
  sl_status st = run_norm(o, x, prod(lead, x->shape), 1, n, 1, 1, weight, bias, nd, x->shape + lead, eps,
                          SL_ACT_NONE, op);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

/* ---- dropout ---- */

static sl_status dropout_impl(sl_tensor **out, const sl_tensor *x0, double p, const sl_tensor *u0, int channel) {
  const char *op = channel ? "dropout2d" : "dropout";
  char sx[96], su[96];
  SL_TRY(check_input(x0, channel ? 2 : 0, op, "[B,C,...] (at least 2-D)"));
  if (!(p >= 0.0 && p <= 1.0)) return SL_ERR(SL_ERR_ARG, "%s: p must be in [0,1], got %g", op, p);
  if (sl_tensor_device(u0) != SL_DEV_CPU) return SL_ERR(SL_ERR_DEVICE, "%s: uniform must be a CPU tensor", op);
  if (u0->dtype != SL_DTYPE_F32)
    return SL_ERR(SL_ERR_DTYPE, "%s: uniform must be float32, got %s", op, sl_dtype_name(u0->dtype));
  sl_shape_str(sx, sizeof sx, x0->ndim, x0->shape);
  sl_shape_str(su, sizeof su, u0->ndim, u0->shape);
  int64_t nunits, S;
  if (channel) {
    int ok = u0->ndim >= 2 && u0->shape[0] == x0->shape[0] && u0->shape[1] == x0->shape[1];
    for (int i = 2; ok && i < u0->ndim; i++) ok = u0->shape[i] == 1;
    if (!ok)
      return SL_ERR(SL_ERR_SHAPE, "%s: uniform must have shape [%lld,%lld] (one value per sample and channel of input %s), got %s",
                    op, (long long)x0->shape[0], (long long)x0->shape[1], sx, su);
    nunits = x0->shape[0] * x0->shape[1];
    S = prod(x0->ndim - 2, x0->shape + 2);
  } else {
    if (!sl_tensor_same_shape(u0, x0))
      return SL_ERR(SL_ERR_SHAPE, "%s: uniform must have the input's shape %s, got %s", op, sx, su);
    nunits = sl_tensor_numel(x0);
    S = 1;
  }
  sl_tensor *x = NULL, *u = NULL, *o = NULL;
  sl_status st;
  if ((st = sl_tensor_contiguous_as(&x, x0, SL_DTYPE_F32)) != SL_OK) goto done;
  if ((st = sl_tensor_contiguous_as(&u, u0, SL_DTYPE_F32)) != SL_OK) goto done;
  if ((st = sl_tensor_empty(&o, SL_DTYPE_F32, x0->ndim, x0->shape)) != SL_OK) goto done;
  {
    const float *xp = sl_tensor_data(x), *up = sl_tensor_data(u);
    float *op_ = sl_tensor_data(o);
    float keep = (float)(1.0 - p), scale = p < 1.0 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (nunits * S > 65536)
    for (int64_t i = 0; i < nunits; i++) {
      float s = up[i] < keep ? scale : 0.0f;
      for (int64_t j = 0; j < S; j++) op_[i * S + j] = xp[i * S + j] * s;
    }
  }
done:
  sl_tensor_release(x); sl_tensor_release(u);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

sl_status sl_dropout(sl_tensor **out, const sl_tensor *x, double p, const sl_tensor *uniform) {
  return dropout_impl(out, x, p, uniform, 0);
}

sl_status sl_dropout2d(sl_tensor **out, const sl_tensor *x, double p, const sl_tensor *uniform) {
  return dropout_impl(out, x, p, uniform, 1);
}
