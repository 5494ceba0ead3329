/* nn.c — tensor-level entry points of the nn kernels (sl_nn.h): argument checks, dtype dispatch,
 * contiguous copies of strided inputs, allocation of results.
 *
 * The arithmetic is in nn_generic.h, compiled twice (float, double).  float64 exists so that the
 * finite-difference gradient specs can run with tight tolerances; the models train in float32.
 * Every check names the op and the offending argument and says what was expected and what was
 * found, because these errors surface in Lua as "linear: weight has 3 input features but the
 * input has 4" and that is all a user sees. */
#include "sl_nn.h"
#include "sl_linalg.h"

#include <math.h>
#include <string.h>

/* Below this many elements a kernel runs on one thread: a fork/join costs microseconds on an
 * idle machine and whole scheduler slices on a loaded one, and 256k float ops take ~0.1 ms. */
#define NN_PAR_MIN  262144
#define NN_COLCHUNK 64      /* columns per thread task in column sums */
#define NN_BLOCK    8192    /* elements per partial sum in full reductions */

#define real float
#define NNF(name) name##_f32
#define GEMM sl_sgemm
#define R_SQRT sqrtf
#define R_EXP expf
#define R_ERF erff
#define R_TANH tanhf
#define R_FABS fabsf
#include "nn_generic.h"
#undef real
#undef NNF
#undef GEMM
#undef R_SQRT
#undef R_EXP
#undef R_ERF
#undef R_TANH
#undef R_FABS

#define real double
#define NNF(name) name##_f64
#define GEMM sl_dgemm
#define R_SQRT sqrt
#define R_EXP exp
#define R_ERF erf
#define R_TANH tanh
#define R_FABS fabs
#include "nn_generic.h"
#undef real
#undef NNF
#undef GEMM
#undef R_SQRT
#undef R_EXP
#undef R_ERF
#undef R_TANH
#undef R_FABS

/* Calls name_f32 or name_f64; pointer arguments are void* (sl_tensor_data), which C converts. */
#define NN_CALL(dt, name, ...) \
  do { if ((dt) == SL_DTYPE_F32) name##_f32(__VA_ARGS__); else name##_f64(__VA_ARGS__); } while (0)

static void *data_or_null(const sl_tensor *t) { return t ? sl_tensor_data(t) : NULL; }

/* ---- argument checks ---- */

static sl_status check_input(const sl_tensor *x, const char *op, const char *what)
{
  if (!x) return SL_ERR(SL_ERR_ARG, "%s: %s is missing", op, what);
  if (sl_tensor_device(x) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_DEVICE, "%s: %s is on %s; the nn kernels run on cpu", op, what,
                  sl_device_name(sl_tensor_device(x)));
  if (x->dtype != SL_DTYPE_F32 && x->dtype != SL_DTYPE_F64)
    return SL_ERR(SL_ERR_DTYPE, "%s: %s must be float32 or float64, got %s", op, what,
                  sl_dtype_name(x->dtype));
  return SL_OK;
}

/* A contiguous version of t (retained or copied) after checking it has dtype dt. */
static sl_status contig(sl_tensor **c, const sl_tensor *t, sl_dtype dt, const char *op, const char *what)
{
  *c = NULL;
  SL_TRY(check_input(t, op, what));
  if (t->dtype != dt)
    return SL_ERR(SL_ERR_DTYPE, "%s: %s is %s but the input is %s (convert the module with "
                  ":type() or the tensor with :to())", op, what, sl_dtype_name(t->dtype), sl_dtype_name(dt));
  return sl_tensor_contiguous(c, t);
}

/* A 1-d tensor of n elements (parameters of norms, bias). */
static sl_status check_vec(const sl_tensor *t, int64_t n, const char *op, const char *what, const char *of)
{
  if (t->ndim != 1 || t->shape[0] != n) {
    char b[96];
    return SL_ERR(SL_ERR_SHAPE, "%s: %s must have shape [%lld] (%s), got %s", op, what, (long long)n, of,
                  sl_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  return SL_OK;
}

/* A gradient accumulator: contiguous, dtype dt, exactly the shape of its parameter. */
static sl_status check_acc(const sl_tensor *acc, const sl_tensor *param, sl_dtype dt, const char *op,
                           const char *what)
{
  if (!acc) return SL_OK;
  SL_TRY(check_input(acc, op, what));
  if (acc->dtype != dt)
    return SL_ERR(SL_ERR_DTYPE, "%s: %s is %s but the input is %s", op, what, sl_dtype_name(acc->dtype),
                  sl_dtype_name(dt));
  if (!sl_tensor_is_contiguous(acc))
    return SL_ERR(SL_ERR_ARG, "%s: %s must be contiguous (it is accumulated into in place)", op, what);
  if (param && !sl_tensor_same_shape(acc, param)) {
    char a[96], b[96];
    return SL_ERR(SL_ERR_SHAPE, "%s: %s has shape %s but its parameter has shape %s", op, what,
                  sl_shape_str(a, sizeof a, acc->ndim, acc->shape),
                  sl_shape_str(b, sizeof b, param->ndim, param->shape));
  }
  return SL_OK;
}

static sl_status check_same_shape(const sl_tensor *a, const sl_tensor *b, const char *op,
                                  const char *wa, const char *wb)
{
  if (!sl_tensor_same_shape(a, b)) {
    char sa[96], sb[96];
    return SL_ERR(SL_ERR_SHAPE, "%s: %s has shape %s but %s has shape %s", op, wa,
                  sl_shape_str(sa, sizeof sa, a->ndim, a->shape), wb, sl_shape_str(sb, sizeof sb, b->ndim, b->shape));
  }
  return SL_OK;
}

/* rows × features of x [..., F]. */
static sl_status rows_features(const sl_tensor *x, int64_t *rows, int64_t *F, const char *op)
{
  if (x->ndim < 1) return SL_ERR(SL_ERR_SHAPE, "%s: input must have at least 1 dim, got a 0-d tensor", op);
  *F = x->shape[x->ndim - 1];
  *rows = 1;
  for (int d = 0; d < x->ndim - 1; d++) *rows *= x->shape[d];
  return SL_OK;
}

static sl_status gemm_size_ok(int64_t a, int64_t b, int64_t c, const char *op)
{
  if (a > INT32_MAX || b > INT32_MAX || c > INT32_MAX)
    return SL_ERR(SL_ERR_ARG, "%s: sizes %lld x %lld x %lld exceed the 32-bit BLAS interface", op,
                  (long long)a, (long long)b, (long long)c);
  return SL_OK;
}

/* New contiguous tensor shaped like `like` (or like[..., last]), dtype dt. */
static sl_status new_like_last(sl_tensor **out, const sl_tensor *like, int64_t last, sl_dtype dt)
{
  int64_t shape[SL_MAX_DIMS];
  memcpy(shape, like->shape, sizeof shape);
  if (like->ndim > 0) shape[like->ndim - 1] = last;
  return sl_tensor_empty(out, dt, like->ndim, shape);
}

static sl_status new_vec(sl_tensor **out, int64_t n, sl_dtype dt)
{
  return sl_tensor_empty(out, dt, 1, &n);
}

/* Releases up to 6 temporaries, then returns st (keeps cleanup at one exit). */
static sl_status done(sl_status st, sl_tensor *a, sl_tensor *b, sl_tensor *c, sl_tensor *d,
                      sl_tensor *e, sl_tensor *f)
{
  sl_tensor_release(a); sl_tensor_release(b); sl_tensor_release(c);
  sl_tensor_release(d); sl_tensor_release(e); sl_tensor_release(f);
  return st;
}

/* The forward counterpart of norm_bwd_prepare below: contiguous input and affine parameters,
 * plus the output and the two statistics vectors of nstat entries. */
typedef struct { sl_tensor *x, *w, *b, *y, *mean, *rstd; } norm_fwd_args;

static sl_status norm_fwd_prepare(norm_fwd_args *a, const sl_tensor *x, const sl_tensor *weight,
                                  const sl_tensor *bias, int64_t nstat, sl_dtype dt, const char *op)
{
  *a = (norm_fwd_args){0};
  sl_status st = contig(&a->x, x, dt, op, "input");
  if (st == SL_OK && weight) st = contig(&a->w, weight, dt, op, "weight");
  if (st == SL_OK && bias) st = contig(&a->b, bias, dt, op, "bias");
  if (st == SL_OK) st = sl_tensor_empty(&a->y, dt, x->ndim, x->shape);
  if (st == SL_OK) st = new_vec(&a->mean, nstat, dt);
  if (st == SL_OK) st = new_vec(&a->rstd, nstat, dt);
  if (st != SL_OK) return done(st, a->x, a->w, a->b, a->y, a->mean, a->rstd);
  return SL_OK;
}

/* The inputs every normalisation backward needs, made contiguous in dtype dt, plus the grad_in
 * buffer; on failure everything is released and the status returned (LayerNorm and BatchNorm
 * share this marshalling; only their kernels differ). */
typedef struct { sl_tensor *x, *g, *mean, *rstd, *w, *dx; } norm_bwd_args;

static sl_status norm_bwd_prepare(norm_bwd_args *a, const sl_tensor *x, const sl_tensor *grad_out,
                                  const sl_tensor *mean, const sl_tensor *rstd, const sl_tensor *weight,
                                  sl_dtype dt, const char *op, const char *mean_name, const char *rstd_name)
{
  *a = (norm_bwd_args){0};
  sl_status st = contig(&a->x, x, dt, op, "input");
  if (st == SL_OK) st = contig(&a->g, grad_out, dt, op, "grad_output");
  if (st == SL_OK) st = contig(&a->mean, mean, dt, op, mean_name);
  if (st == SL_OK) st = contig(&a->rstd, rstd, dt, op, rstd_name);
  if (st == SL_OK && weight) st = contig(&a->w, weight, dt, op, "weight");
  if (st == SL_OK) st = sl_tensor_empty(&a->dx, dt, x->ndim, x->shape);
  if (st != SL_OK) return done(st, a->x, a->g, a->mean, a->rstd, a->w, a->dx);
  return SL_OK;
}

/* =========================== Linear =========================== */

sl_status sl_nn_linear_forward(sl_tensor **out, const sl_tensor *x, const sl_tensor *weight,
                               const sl_tensor *bias)
{
  static const char *op = "linear";
  *out = NULL;
  SL_TRY(check_input(x, op, "input"));
  SL_TRY(check_input(weight, op, "weight"));
  int64_t rows = 0, in = 0;
  SL_TRY(rows_features(x, &rows, &in, op));
  if (weight->ndim != 2) {
    char b[96];
    return SL_ERR(SL_ERR_SHAPE, "linear: weight must be 2-d [out_features, in_features], got %s",
                  sl_shape_str(b, sizeof b, weight->ndim, weight->shape));
  }
  if (weight->shape[1] != in)
    return SL_ERR(SL_ERR_SHAPE, "linear: weight has %lld input features but the input has %lld",
                  (long long)weight->shape[1], (long long)in);
  const int64_t outf = weight->shape[0];
  if (bias) { SL_TRY(check_input(bias, op, "bias")); SL_TRY(check_vec(bias, outf, op, "bias", "out_features")); }
  SL_TRY(gemm_size_ok(rows, in, outf, op));
  const sl_dtype dt = x->dtype;
  sl_tensor *xc = NULL, *wc = NULL, *bc = NULL, *y = NULL;
  sl_status st = contig(&xc, x, dt, op, "input");
  if (st == SL_OK) st = contig(&wc, weight, dt, op, "weight");
  if (st == SL_OK && bias) st = contig(&bc, bias, dt, op, "bias");
  if (st == SL_OK) st = new_like_last(&y, x, outf, dt);
  if (st != SL_OK) return done(st, xc, wc, bc, y, NULL, NULL);
  NN_CALL(dt, linear_fwd, sl_tensor_data(y), sl_tensor_data(xc), sl_tensor_data(wc), data_or_null(bc),
          rows, in, outf);
  *out = y;
  return done(SL_OK, xc, wc, bc, NULL, NULL, NULL);
}

sl_status sl_nn_linear_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                const sl_tensor *grad_out, const sl_tensor *x, const sl_tensor *weight)
{
  static const char *op = "linear_backward";
  if (grad_in) *grad_in = NULL;
  SL_TRY(check_input(x, op, "input"));
  SL_TRY(check_input(weight, op, "weight"));
  SL_TRY(check_input(grad_out, op, "grad_output"));
  int64_t rows = 0, in = 0;
  SL_TRY(rows_features(x, &rows, &in, op));
  if (weight->ndim != 2 || weight->shape[1] != in)
    return SL_ERR(SL_ERR_SHAPE, "linear_backward: weight must be [out_features, %lld]", (long long)in);
  const int64_t outf = weight->shape[0];
  int64_t grows = 0, gout = 0;
  SL_TRY(rows_features(grad_out, &grows, &gout, op));
  if (grows != rows || gout != outf || grad_out->ndim != x->ndim) {
    char a[96], b[96];
    int64_t expect[SL_MAX_DIMS];
    memcpy(expect, x->shape, sizeof expect);
    expect[x->ndim - 1] = outf;
    return SL_ERR(SL_ERR_SHAPE, "linear_backward: grad_output has shape %s but the output has shape %s",
                  sl_shape_str(a, sizeof a, grad_out->ndim, grad_out->shape),
                  sl_shape_str(b, sizeof b, x->ndim, expect));
  }
  const sl_dtype dt = x->dtype;
  SL_TRY(check_acc(grad_weight, weight, dt, op, "grad_weight"));
  if (grad_bias) {
    SL_TRY(check_acc(grad_bias, NULL, dt, op, "grad_bias"));
    SL_TRY(check_vec(grad_bias, outf, op, "grad_bias", "out_features"));
  }
  SL_TRY(gemm_size_ok(rows, in, outf, op));
  sl_tensor *xc = NULL, *wc = NULL, *gc = NULL, *dx = NULL;
  sl_status st = contig(&xc, x, dt, op, "input");
  if (st == SL_OK) st = contig(&wc, weight, dt, op, "weight");
  if (st == SL_OK) st = contig(&gc, grad_out, dt, op, "grad_output");
  if (st == SL_OK && grad_in) st = sl_tensor_empty(&dx, dt, x->ndim, x->shape);
  if (st != SL_OK) return done(st, xc, wc, gc, dx, NULL, NULL);
  NN_CALL(dt, linear_bwd, data_or_null(dx), data_or_null(grad_weight), data_or_null(grad_bias),
          sl_tensor_data(gc), sl_tensor_data(xc), sl_tensor_data(wc), rows, in, outf);
  if (grad_in) *grad_in = dx;
  return done(SL_OK, xc, wc, gc, NULL, NULL, NULL);
}

/* =========================== BlockLinear =========================== */

/* Offsets of every group in the input, the output and the packed weight; checks the sizes. */
typedef struct { int64_t *ioff, *ooff, *woff; int64_t n, in_total, out_total, w_total; } block_layout;

static void block_layout_free(block_layout *bl)
{
  const size_t nb = (size_t)bl->n * sizeof(int64_t);
  sl_free(bl->ioff, nb); sl_free(bl->ooff, nb); sl_free(bl->woff, nb);
  bl->ioff = bl->ooff = bl->woff = NULL;
}

static sl_status block_layout_make(block_layout *bl, int64_t ngroups, const int64_t *gin,
                                   const int64_t *gout, const char *op)
{
  memset(bl, 0, sizeof *bl);
  if (ngroups < 1 || !gin || !gout) return SL_ERR(SL_ERR_ARG, "%s: need at least one group", op);
  int64_t it = 0, ot = 0, wt = 0;
  for (int64_t g = 0; g < ngroups; g++) {
    if (gin[g] < 0 || gout[g] < 0)
      return SL_ERR(SL_ERR_ARG, "%s: group %lld has negative size (%lld in, %lld out)", op, (long long)g + 1,
                    (long long)gin[g], (long long)gout[g]);
    int64_t w = 0;
    if (__builtin_mul_overflow(gin[g], gout[g], &w) || __builtin_add_overflow(wt, w, &wt) ||
        __builtin_add_overflow(it, gin[g], &it) || __builtin_add_overflow(ot, gout[g], &ot))
      return SL_ERR(SL_ERR_ARG, "%s: group sizes overflow 64 bits at group %lld", op, (long long)g + 1);
  }
  bl->n = ngroups;
  bl->ioff = sl_alloc((size_t)ngroups * sizeof(int64_t));
  bl->ooff = sl_alloc((size_t)ngroups * sizeof(int64_t));
  bl->woff = sl_alloc((size_t)ngroups * sizeof(int64_t));
  if (!bl->ioff || !bl->ooff || !bl->woff) {
    block_layout_free(bl);
    return SL_ERR(SL_ERR_OOM, "%s: out of memory for %lld groups", op, (long long)ngroups);
  }
  for (int64_t g = 0; g < ngroups; g++) {
    bl->ioff[g] = bl->in_total; bl->ooff[g] = bl->out_total; bl->woff[g] = bl->w_total;
    bl->in_total += gin[g]; bl->out_total += gout[g]; bl->w_total += gin[g] * gout[g];
  }
  return SL_OK;
}

static sl_status block_check(const sl_tensor *x, const sl_tensor *weight, const block_layout *bl,
                             const char *op, int64_t *rows)
{
  int64_t in = 0;
  SL_TRY(rows_features(x, rows, &in, op));
  if (x->ndim != 2)
    return SL_ERR(SL_ERR_SHAPE, "%s: input must be 2-d [rows, features], got %d dims", op, x->ndim);
  if (in != bl->in_total)
    return SL_ERR(SL_ERR_SHAPE, "%s: input has %lld features but the groups add up to %lld", op,
                  (long long)in, (long long)bl->in_total);
  if (weight->ndim != 1 || weight->shape[0] != bl->w_total) {
    char b[96];
    return SL_ERR(SL_ERR_SHAPE, "%s: weight must have shape [%lld] (the packed blocks), got %s",
                  op, (long long)bl->w_total, sl_shape_str(b, sizeof b, weight->ndim, weight->shape));
  }
  return SL_OK;
}

sl_status sl_nn_block_linear_forward(sl_tensor **out, const sl_tensor *x, const sl_tensor *weight,
                                     const sl_tensor *bias, int64_t ngroups, const int64_t *in_sizes,
                                     const int64_t *out_sizes)
{
  static const char *op = "block_linear";
  *out = NULL;
  SL_TRY(check_input(x, op, "input"));
  SL_TRY(check_input(weight, op, "weight"));
  block_layout bl;
  SL_TRY(block_layout_make(&bl, ngroups, in_sizes, out_sizes, op));
  int64_t rows = 0;
  sl_status st = block_check(x, weight, &bl, op, &rows);
  if (st == SL_OK && bias) {
    st = check_input(bias, op, "bias");
    if (st == SL_OK) st = check_vec(bias, bl.out_total, op, "bias", "the output features");
  }
  const sl_dtype dt = x->dtype;
  sl_tensor *xc = NULL, *wc = NULL, *bc = NULL, *y = NULL;
  if (st == SL_OK) st = contig(&xc, x, dt, op, "input");
  if (st == SL_OK) st = contig(&wc, weight, dt, op, "weight");
  if (st == SL_OK && bias) st = contig(&bc, bias, dt, op, "bias");
  if (st == SL_OK) st = new_like_last(&y, x, bl.out_total, dt);
  if (st == SL_OK) {
    NN_CALL(dt, block_linear_fwd, sl_tensor_data(y), sl_tensor_data(xc), sl_tensor_data(wc), data_or_null(bc),
            rows, bl.in_total, bl.out_total, ngroups, in_sizes, out_sizes, bl.ioff, bl.ooff, bl.woff,
            rows * bl.w_total);
    *out = y;
    y = NULL;
  }
  block_layout_free(&bl);
  return done(st, xc, wc, bc, y, NULL, NULL);
}

sl_status sl_nn_block_linear_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                      const sl_tensor *grad_out, const sl_tensor *x, const sl_tensor *weight,
                                      int64_t ngroups, const int64_t *in_sizes, const int64_t *out_sizes)
{
  static const char *op = "block_linear_backward";
  if (grad_in) *grad_in = NULL;
  SL_TRY(check_input(x, op, "input"));
  SL_TRY(check_input(weight, op, "weight"));
  SL_TRY(check_input(grad_out, op, "grad_output"));
  block_layout bl;
  SL_TRY(block_layout_make(&bl, ngroups, in_sizes, out_sizes, op));
  int64_t rows = 0, grows = 0, gout = 0;
  const sl_dtype dt = x->dtype;
  sl_status st = block_check(x, weight, &bl, op, &rows);
  if (st == SL_OK) st = rows_features(grad_out, &grows, &gout, op);
  if (st == SL_OK && (grad_out->ndim != 2 || grows != rows || gout != bl.out_total))
    st = SL_ERR(SL_ERR_SHAPE, "%s: grad_output must be [%lld, %lld], got %lld rows of %lld", op,
                (long long)rows, (long long)bl.out_total, (long long)grows, (long long)gout);
  if (st == SL_OK) st = check_acc(grad_weight, weight, dt, op, "grad_weight");
  if (st == SL_OK && grad_bias) {
    st = check_acc(grad_bias, NULL, dt, op, "grad_bias");
    if (st == SL_OK) st = check_vec(grad_bias, bl.out_total, op, "grad_bias", "the output features");
  }
  sl_tensor *xc = NULL, *wc = NULL, *gc = NULL, *dx = NULL;
  if (st == SL_OK) st = contig(&xc, x, dt, op, "input");
  if (st == SL_OK) st = contig(&wc, weight, dt, op, "weight");
  if (st == SL_OK) st = contig(&gc, grad_out, dt, op, "grad_output");
  if (st == SL_OK && grad_in) st = sl_tensor_empty(&dx, dt, x->ndim, x->shape);
  if (st == SL_OK) {
    NN_CALL(dt, block_linear_bwd, data_or_null(dx), data_or_null(grad_weight), data_or_null(grad_bias),
            sl_tensor_data(gc), sl_tensor_data(xc), sl_tensor_data(wc), rows, bl.in_total, bl.out_total,
            ngroups, in_sizes, out_sizes, bl.ioff, bl.ooff, bl.woff, rows * bl.w_total);
    if (grad_in) { *grad_in = dx; dx = NULL; }
  }
  block_layout_free(&bl);
  return done(st, xc, wc, gc, dx, NULL, NULL);
}

/* =========================== activations =========================== */

const char *sl_nn_act_name(sl_nn_act act)
{
  static const char *names[SL_NN_ACT_COUNT] = { "relu", "gelu", "silu", "tanh" };
  return (unsigned)act < SL_NN_ACT_COUNT ? names[act] : "?";
}

sl_status sl_nn_act_forward(sl_tensor **out, const sl_tensor *x, sl_nn_act act)
{
  *out = NULL;
  if ((unsigned)act >= SL_NN_ACT_COUNT) return SL_ERR(SL_ERR_ARG, "activation: unknown kind %d", (int)act);
  const char *op = sl_nn_act_name(act);
  SL_TRY(check_input(x, op, "input"));
  sl_tensor *xc = NULL, *y = NULL;
  sl_status st = contig(&xc, x, x->dtype, op, "input");
  if (st == SL_OK) st = sl_tensor_empty(&y, x->dtype, x->ndim, x->shape);
  if (st != SL_OK) return done(st, xc, y, NULL, NULL, NULL, NULL);
  NN_CALL(x->dtype, act_fwd, sl_tensor_data(y), sl_tensor_data(xc), sl_tensor_numel(x), act);
  *out = y;
  return done(SL_OK, xc, NULL, NULL, NULL, NULL, NULL);
}

sl_status sl_nn_act_backward(sl_tensor **grad_in, const sl_tensor *grad_out, const sl_tensor *x,
                             sl_nn_act act)
{
  *grad_in = NULL;
  if ((unsigned)act >= SL_NN_ACT_COUNT) return SL_ERR(SL_ERR_ARG, "activation: unknown kind %d", (int)act);
  const char *op = sl_nn_act_name(act);
  SL_TRY(check_input(x, op, "input"));
  SL_TRY(check_input(grad_out, op, "grad_output"));
  SL_TRY(check_same_shape(grad_out, x, op, "grad_output", "the input"));
  sl_tensor *xc = NULL, *gc = NULL, *dx = NULL;
  sl_status st = contig(&xc, x, x->dtype, op, "input");
  if (st == SL_OK) st = contig(&gc, grad_out, x->dtype, op, "grad_output");
  if (st == SL_OK) st = sl_tensor_empty(&dx, x->dtype, x->ndim, x->shape);
  if (st != SL_OK) return done(st, xc, gc, dx, NULL, NULL, NULL);
  NN_CALL(x->dtype, act_bwd, sl_tensor_data(dx), sl_tensor_data(gc), sl_tensor_data(xc),
          sl_tensor_numel(x), act);
  *grad_in = dx;
  return done(SL_OK, xc, gc, NULL, NULL, NULL, NULL);
}

/* =========================== LayerNorm =========================== */

sl_status sl_nn_layernorm_forward(sl_tensor **out, sl_tensor **mean, sl_tensor **rstd,
                                  const sl_tensor *x, const sl_tensor *weight, const sl_tensor *bias,
                                  double eps)
{
  static const char *op = "layer_norm";
  *out = *mean = *rstd = NULL;
  SL_TRY(check_input(x, op, "input"));
  int64_t rows = 0, F = 0;
  SL_TRY(rows_features(x, &rows, &F, op));
  if (!(eps >= 0)) return SL_ERR(SL_ERR_ARG, "layer_norm: eps must be >= 0, got %g", eps);
  const sl_dtype dt = x->dtype;
  if (weight) { SL_TRY(check_input(weight, op, "weight")); SL_TRY(check_vec(weight, F, op, "weight", "the input's last dim")); }
  if (bias) { SL_TRY(check_input(bias, op, "bias")); SL_TRY(check_vec(bias, F, op, "bias", "the input's last dim")); }
  norm_fwd_args a;
  SL_TRY(norm_fwd_prepare(&a, x, weight, bias, rows, dt, op));
  NN_CALL(dt, ln_fwd, sl_tensor_data(a.y), sl_tensor_data(a.mean), sl_tensor_data(a.rstd), sl_tensor_data(a.x),
          data_or_null(a.w), data_or_null(a.b), rows, F, eps);
  *out = a.y; *mean = a.mean; *rstd = a.rstd;
  return done(SL_OK, a.x, a.w, a.b, NULL, NULL, NULL);
}

sl_status sl_nn_layernorm_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                   const sl_tensor *grad_out, const sl_tensor *x,
                                   const sl_tensor *mean, const sl_tensor *rstd,
                                   const sl_tensor *weight)
{
  static const char *op = "layer_norm_backward";
  *grad_in = NULL;
  SL_TRY(check_input(x, op, "input"));
  SL_TRY(check_input(grad_out, op, "grad_output"));
  SL_TRY(check_same_shape(grad_out, x, op, "grad_output", "the input"));
  int64_t rows = 0, F = 0;
  SL_TRY(rows_features(x, &rows, &F, op));
  const sl_dtype dt = x->dtype;
  SL_TRY(check_input(mean, op, "mean"));
  SL_TRY(check_input(rstd, op, "rstd"));
  SL_TRY(check_vec(mean, rows, op, "mean", "one per row of the input"));
  SL_TRY(check_vec(rstd, rows, op, "rstd", "one per row of the input"));
  if (weight) { SL_TRY(check_input(weight, op, "weight")); SL_TRY(check_vec(weight, F, op, "weight", "the input's last dim")); }
  SL_TRY(check_acc(grad_weight, weight, dt, op, "grad_weight"));
  SL_TRY(check_acc(grad_bias, weight, dt, op, "grad_bias"));
  if (grad_bias && !weight) SL_TRY(check_vec(grad_bias, F, op, "grad_bias", "the input's last dim"));
  if (grad_weight && !weight)
    return SL_ERR(SL_ERR_ARG, "layer_norm_backward: grad_weight given without a weight");
  norm_bwd_args a;
  SL_TRY(norm_bwd_prepare(&a, x, grad_out, mean, rstd, weight, dt, op, "mean", "rstd"));
  NN_CALL(dt, ln_bwd, sl_tensor_data(a.dx), data_or_null(grad_weight), data_or_null(grad_bias),
          sl_tensor_data(a.g), sl_tensor_data(a.x), sl_tensor_data(a.mean), sl_tensor_data(a.rstd),
          data_or_null(a.w), rows, F);
  *grad_in = a.dx;
  return done(SL_OK, a.x, a.g, a.mean, a.rstd, a.w, NULL);
}

/* =========================== BatchNorm1d =========================== */

static sl_status bn_dims(const sl_tensor *x, int64_t *N, int64_t *C, int64_t *L, const char *op)
{
  if (x->ndim != 2 && x->ndim != 3) {
    char b[96];
    return SL_ERR(SL_ERR_SHAPE, "%s: input must be [N, C] or [N, C, L], got %s", op,
                  sl_shape_str(b, sizeof b, x->ndim, x->shape));
  }
  *N = x->shape[0]; *C = x->shape[1]; *L = x->ndim == 3 ? x->shape[2] : 1;
  return SL_OK;
}

/* A running-statistics buffer: updated in place, so contiguous [C] of the input's dtype. */
static sl_status check_running(const sl_tensor *t, int64_t C, sl_dtype dt, const char *op, const char *what)
{
  SL_TRY(check_acc(t, NULL, dt, op, what));
  return check_vec(t, C, op, what, "one per channel");
}

sl_status sl_nn_batchnorm_forward(sl_tensor **out, sl_tensor **save_mean, sl_tensor **save_rstd,
                                  const sl_tensor *x, const sl_tensor *weight, const sl_tensor *bias,
                                  sl_tensor *running_mean, sl_tensor *running_var,
                                  int training, double momentum, double eps)
{
  static const char *op = "batch_norm";
  *out = *save_mean = *save_rstd = NULL;
  SL_TRY(check_input(x, op, "input"));
  int64_t N = 0, C = 0, L = 0;
  SL_TRY(bn_dims(x, &N, &C, &L, op));
  const sl_dtype dt = x->dtype;
  if (!(eps >= 0)) return SL_ERR(SL_ERR_ARG, "batch_norm: eps must be >= 0, got %g", eps);
  if (!(momentum >= 0 && momentum <= 1))
    return SL_ERR(SL_ERR_ARG, "batch_norm: momentum must be in [0, 1], got %g", momentum);
  if (weight) { SL_TRY(check_input(weight, op, "weight")); SL_TRY(check_vec(weight, C, op, "weight", "one per channel")); }
  if (bias) { SL_TRY(check_input(bias, op, "bias")); SL_TRY(check_vec(bias, C, op, "bias", "one per channel")); }
  if ((running_mean == NULL) != (running_var == NULL))
    return SL_ERR(SL_ERR_ARG, "batch_norm: give both running_mean and running_var, or neither");
  if (running_mean) {
    SL_TRY(check_running(running_mean, C, dt, op, "running_mean"));
    SL_TRY(check_running(running_var, C, dt, op, "running_var"));
  }
  if (!training && !running_mean)
    return SL_ERR(SL_ERR_ARG, "batch_norm: evaluation mode needs running statistics");
  if (training && N * L <= 1)
    return SL_ERR(SL_ERR_SHAPE, "batch_norm: training needs more than 1 value per channel, got "
                  "input with %lld", (long long)(N * L));
  norm_fwd_args a;
  SL_TRY(norm_fwd_prepare(&a, x, weight, bias, C, dt, op));
  NN_CALL(dt, bn_fwd, sl_tensor_data(a.y), sl_tensor_data(a.mean), sl_tensor_data(a.rstd), sl_tensor_data(a.x),
          data_or_null(a.w), data_or_null(a.b), data_or_null(running_mean), data_or_null(running_var),
          N, C, L, training, momentum, eps);
  *out = a.y; *save_mean = a.mean; *save_rstd = a.rstd;
  return done(SL_OK, a.x, a.w, a.b, NULL, NULL, NULL);
}

sl_status sl_nn_batchnorm_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                   const sl_tensor *grad_out, const sl_tensor *x,
                                   const sl_tensor *save_mean, const sl_tensor *save_rstd,
                                   const sl_tensor *weight, int training)
{
  static const char *op = "batch_norm_backward";
  *grad_in = NULL;
  SL_TRY(check_input(x, op, "input"));
  SL_TRY(check_input(grad_out, op, "grad_output"));
  SL_TRY(check_same_shape(grad_out, x, op, "grad_output", "the input"));
  int64_t N = 0, C = 0, L = 0;
  SL_TRY(bn_dims(x, &N, &C, &L, op));
  const sl_dtype dt = x->dtype;
  SL_TRY(check_input(save_mean, op, "save_mean"));
  SL_TRY(check_input(save_rstd, op, "save_rstd"));
  SL_TRY(check_vec(save_mean, C, op, "save_mean", "one per channel"));
  SL_TRY(check_vec(save_rstd, C, op, "save_rstd", "one per channel"));
  if (weight) { SL_TRY(check_input(weight, op, "weight")); SL_TRY(check_vec(weight, C, op, "weight", "one per channel")); }
  if (grad_weight) SL_TRY(check_running(grad_weight, C, dt, op, "grad_weight"));
  if (grad_bias) SL_TRY(check_running(grad_bias, C, dt, op, "grad_bias"));
  norm_bwd_args a;
  SL_TRY(norm_bwd_prepare(&a, x, grad_out, save_mean, save_rstd, weight, dt, op, "save_mean", "save_rstd"));
  NN_CALL(dt, bn_bwd, sl_tensor_data(a.dx), data_or_null(grad_weight), data_or_null(grad_bias),
          sl_tensor_data(a.g), sl_tensor_data(a.x), sl_tensor_data(a.mean), sl_tensor_data(a.rstd),
          data_or_null(a.w), N, C, L, training);
  *grad_in = a.dx;
  return done(SL_OK, a.x, a.g, a.mean, a.rstd, a.w, NULL);
}

/* =========================== Dropout =========================== */

sl_status sl_nn_dropout_forward(sl_tensor **out, sl_tensor **mask, const sl_tensor *x, double p,
                                sl_rng_stream s, uint64_t offset)
{
  static const char *op = "dropout";
  *out = *mask = NULL;
  SL_TRY(check_input(x, op, "input"));
  if (!(p >= 0 && p <= 1)) return SL_ERR(SL_ERR_ARG, "dropout: p must be in [0, 1], got %g", p);
  const sl_dtype dt = x->dtype;
  const int64_t n = sl_tensor_numel(x);
  sl_tensor *xc = NULL, *y = NULL, *m = NULL;
  sl_status st = contig(&xc, x, dt, op, "input");
  if (st == SL_OK) st = sl_tensor_empty(&m, dt, x->ndim, x->shape);
  if (st == SL_OK) st = sl_tensor_empty(&y, dt, x->ndim, x->shape);
  if (st != SL_OK) return done(st, xc, y, m, NULL, NULL, NULL);
  /* keep with probability 1 − p, then scale the kept entries so the expectation is unchanged */
  const double keep = 1 - p, scale = p < 1 ? 1 / keep : 0;
  if (dt == SL_DTYPE_F32) {
    sl_rng_bernoulli_f32(s, offset, n, sl_tensor_data(m), (float)keep);
    scale_f32(sl_tensor_data(m), n, scale);
  } else {
    sl_rng_bernoulli_f64(s, offset, n, sl_tensor_data(m), keep);
    scale_f64(sl_tensor_data(m), n, scale);
  }
  NN_CALL(dt, mul, sl_tensor_data(y), sl_tensor_data(xc), sl_tensor_data(m), n);
  *out = y; *mask = m;
  return done(SL_OK, xc, NULL, NULL, NULL, NULL, NULL);
}

sl_status sl_nn_dropout_backward(sl_tensor **grad_in, const sl_tensor *grad_out, const sl_tensor *mask)
{
  static const char *op = "dropout_backward";
  *grad_in = NULL;
  SL_TRY(check_input(mask, op, "mask"));
  SL_TRY(check_input(grad_out, op, "grad_output"));
  SL_TRY(check_same_shape(grad_out, mask, op, "grad_output", "the mask"));
  const sl_dtype dt = mask->dtype;
  sl_tensor *gc = NULL, *mc = NULL, *dx = NULL;
  sl_status st = contig(&gc, grad_out, dt, op, "grad_output");
  if (st == SL_OK) st = contig(&mc, mask, dt, op, "mask");
  if (st == SL_OK) st = sl_tensor_empty(&dx, dt, mask->ndim, mask->shape);
  if (st != SL_OK) return done(st, gc, mc, dx, NULL, NULL, NULL);
  NN_CALL(dt, mul, sl_tensor_data(dx), sl_tensor_data(gc), sl_tensor_data(mc), sl_tensor_numel(mask));
  *grad_in = dx;
  return done(SL_OK, gc, mc, NULL, NULL, NULL, NULL);
}

/* =========================== losses =========================== */

sl_status sl_nn_loss(double *loss, sl_tensor **grad, const sl_tensor *pred, const sl_tensor *target,
                     sl_nn_loss_kind kind, double delta, int mean, double scale)
{
  const char *op = kind == SL_NN_LOSS_MSE ? "mse_loss" : "huber_loss";
  if (grad) *grad = NULL;
  *loss = 0;
  if (kind != SL_NN_LOSS_MSE && kind != SL_NN_LOSS_HUBER) return SL_ERR(SL_ERR_ARG, "loss: unknown kind %d", (int)kind);
  SL_TRY(check_input(pred, op, "prediction"));
  SL_TRY(check_input(target, op, "target"));
  SL_TRY(check_same_shape(pred, target, op, "the prediction", "the target"));
  if (kind == SL_NN_LOSS_HUBER && !(delta > 0))
    return SL_ERR(SL_ERR_ARG, "huber_loss: delta must be > 0, got %g", delta);
  const sl_dtype dt = pred->dtype;
  const int64_t n = sl_tensor_numel(pred);
  const double norm = mean ? (n > 0 ? 1.0 / (double)n : NAN) : 1.0;
  sl_tensor *pc = NULL, *tc = NULL, *g = NULL;
  double *partial = NULL;
  const int64_t nb = (n + NN_BLOCK - 1) / NN_BLOCK;
  sl_status st = contig(&pc, pred, dt, op, "prediction");
  if (st == SL_OK) st = contig(&tc, target, dt, op, "target");
  if (st == SL_OK && grad) st = sl_tensor_empty(&g, dt, pred->ndim, pred->shape);
  if (st == SL_OK && nb > 0 && !(partial = malloc((size_t)nb * sizeof *partial)))
    st = SL_ERR(SL_ERR_OOM, "%s: out of memory", op);
  if (st != SL_OK) { free(partial); return done(st, pc, tc, g, NULL, NULL, NULL); }
  double s;
  if (dt == SL_DTYPE_F32)
    s = loss_f32(data_or_null(g), sl_tensor_data(pc), sl_tensor_data(tc), n, kind, delta, scale * norm, partial);
  else
    s = loss_f64(data_or_null(g), sl_tensor_data(pc), sl_tensor_data(tc), n, kind, delta, scale * norm, partial);
  free(partial);
  *loss = s * norm;
  if (grad) *grad = g;
  return done(SL_OK, pc, tc, NULL, NULL, NULL, NULL);
}

/* =========================== optimiser helpers =========================== */

sl_status sl_nn_adam_step(sl_tensor *param, const sl_tensor *grad, sl_tensor *exp_avg,
                          sl_tensor *exp_avg_sq, double lr, double beta1, double beta2, double eps,
                          double weight_decay, int decoupled, int64_t step)
{
  static const char *op = "adam";
  SL_TRY(check_input(param, op, "params"));
  const sl_dtype dt = param->dtype;
  SL_TRY(check_acc(param, NULL, dt, op, "params"));
  SL_TRY(check_acc(exp_avg, param, dt, op, "exp_avg"));
  SL_TRY(check_acc(exp_avg_sq, param, dt, op, "exp_avg_sq"));
  SL_TRY(check_acc(grad, param, dt, op, "grads"));
  if (!grad || !exp_avg || !exp_avg_sq) return SL_ERR(SL_ERR_ARG, "adam: grads and state are required");
  if (step < 1) return SL_ERR(SL_ERR_ARG, "adam: step must be >= 1, got %lld", (long long)step);
  if (!(lr >= 0)) return SL_ERR(SL_ERR_ARG, "adam: lr must be >= 0, got %g", lr);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    return SL_ERR(SL_ERR_ARG, "adam: betas must be in [0, 1), got (%g, %g)", beta1, beta2);
  if (!(eps >= 0)) return SL_ERR(SL_ERR_ARG, "adam: eps must be >= 0, got %g", eps);
  if (!(weight_decay >= 0)) return SL_ERR(SL_ERR_ARG, "adam: weight_decay must be >= 0, got %g", weight_decay);
  NN_CALL(dt, adam, sl_tensor_data(param), sl_tensor_data(grad), sl_tensor_data(exp_avg),
          sl_tensor_data(exp_avg_sq), sl_tensor_numel(param), lr, beta1, beta2, eps, weight_decay,
          decoupled, step);
  return SL_OK;
}

sl_status sl_nn_sumsq(double *out, const sl_tensor *t)
{
  *out = 0;
  SL_TRY(check_input(t, "sumsq", "input"));
  const int64_t n = sl_tensor_numel(t);
  const int64_t nb = (n + NN_BLOCK - 1) / NN_BLOCK;
  sl_tensor *c = NULL;
  SL_TRY(sl_tensor_contiguous(&c, t));
  double *partial = nb > 0 ? malloc((size_t)nb * sizeof *partial) : NULL;
  if (nb > 0 && !partial) { sl_tensor_release(c); return SL_ERR(SL_ERR_OOM, "sumsq: out of memory"); }
  *out = t->dtype == SL_DTYPE_F32 ? sumsq_f32(sl_tensor_data(c), n, partial)
                                  : sumsq_f64(sl_tensor_data(c), n, partial);
  free(partial);
  sl_tensor_release(c);
  return SL_OK;
}

sl_status sl_nn_scale_(sl_tensor *t, double alpha)
{
  SL_TRY(check_input(t, "scale_", "tensor"));
  if (sl_tensor_is_contiguous(t)) {
    NN_CALL(t->dtype, scale, sl_tensor_data(t), sl_tensor_numel(t), alpha);
    return SL_OK;
  }
  /* strided: rare (a hand-made view); the generic iterator is fast enough */
  if (sl_tensor_numel(t) == 0) return SL_OK;
  sl_iter it;
  const sl_tensor *ops[1] = { t };
  sl_iter_init(&it, t->ndim, t->shape, 1, ops);
  void *d = sl_tensor_data(t);
  do sl_store_f64(d, t->dtype, it.off[0], alpha * sl_load_f64(d, t->dtype, it.off[0]));
  while (sl_iter_next(&it));
  return SL_OK;
}

sl_status sl_nn_axpy_(sl_tensor *y, double alpha, const sl_tensor *x)
{
  static const char *op = "axpy_";
  SL_TRY(check_input(y, op, "destination"));
  SL_TRY(check_input(x, op, "source"));
  SL_TRY(check_same_shape(y, x, op, "the destination", "the source"));
  sl_tensor *xc = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, x, y->dtype));
  if (sl_tensor_is_contiguous(y)) {
    NN_CALL(y->dtype, axpy, sl_tensor_data(y), alpha, sl_tensor_data(xc), sl_tensor_numel(y));
  } else if (sl_tensor_numel(y) > 0) {
    sl_iter it;
    const sl_tensor *ops[1] = { y };
    sl_iter_init(&it, y->ndim, y->shape, 1, ops);
    void *d = sl_tensor_data(y);
    const void *s = sl_tensor_data(xc);
    int64_t i = 0;
    do sl_store_f64(d, y->dtype, it.off[0], sl_load_f64(d, y->dtype, it.off[0]) + alpha * sl_load_f64(s, y->dtype, i++));
    while (sl_iter_next(&it));
  }
  sl_tensor_release(xc);
  return SL_OK;
}
