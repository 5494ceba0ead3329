/* operator.c — stochastic CNN operators: build, fused forward pass over a realization batch,
 * and rollouts with per-realization divergence handling (sl_operator.h, docs/operators.md).
 *
 * Design:
 *  - The forward pass runs on flat float32 buffers held in one workspace per operator: the
 *    state X [R,3,G,G], the output O [R,3,G,G] and three activation buffers P0..P2
 *    [R,C_max,G,G] that the blocks rotate through (a residual block needs its input, the first
 *    conv's output and the second's at once).  The workspace grows to the largest batch seen and
 *    is reused by every step: no allocation per step.  Each conv keeps tensor headers onto its
 *    input/output buffers (built once per workspace size; only shape[0] changes with the batch)
 *    and its own sl_conv2d_ws, so the FFT paths cache their weight spectra across steps.
 *  - Conv algorithms are chosen once per layer at build time (cost model at a nominal batch, or
 *    the config's forced algorithm).  Choosing per call would make the algorithm — and so the
 *    rounding — depend on how many realizations share a batch.
 *  - Norm and activation are fused into one pass (sl_norm_*_into in place); batch norm at
 *    inference is a constant scale, applied with the activation in one loop here.
 *  - Residual skips: identity is an add; a 1×1 projection is a GEMM accumulated (beta = 1)
 *    straight into the second conv's output.
 *  - Randomness: all of it keyed by (op, realization, step) streams, never by batch slot, so a
 *    realization's trajectory is the same whichever batch it runs in.  Every per-element
 *    loop here is elementwise or reduces one realization in a fixed order, so thread counts do
 *    not change results either (the conv and norm kernels guarantee the same).
 *  - Rollouts advance realizations in batches of R; a diverged realization is removed from the
 *    active set (the last active slot moves into its place), so compute stops for it. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "sl_operator.h"
#include "sl_linalg.h"
#include "sl_fft.h"
#include "sl_rng.h"
#include "sl_purpose.h"

#define NORM_EPS 1e-5
#define MAX_CONVS 64
#define NOMINAL_BATCH 3      /* batch the cost model is asked about (the baseline's M) */

typedef struct {
  sl_opconv_role role;
  int            block, sub;
  int64_t        cin, cout, k, groups;
  sl_conv_algo   algo;
  sl_tensor     *w, *b;
  sl_conv2d_ws  *ws;
  uint64_t       drop_offset;     /* word offset of this site in the DROPOUT stream */
  int            in_buf, out_buf; /* buffer ids: 0..2 = P0..P2, 3 = X, 4 = O */
  sl_tensor     *vin, *vout;      /* headers onto the buffers, shape[0] set per call */
} op_conv;

typedef struct { int residual; int c1, c2, skip; } op_block;   /* conv indices; skip -1 = identity */

struct sl_operator {
  sl_operator_config cfg;
  uint64_t seed, index;
  int      nconv, nblock;
  op_conv  conv[MAX_CONVS];
  op_block block[MAX_CONVS];
  int      cin_conv;              /* input ConvBlock */
  int      out_conv;              /* output 1×1 */
  int64_t  cmax, clast, G;
  int64_t  horizon;               /* annealing horizon used when a forward call gives none */
  int      last_buf;              /* buffer holding the last hidden activation */
  /* workspace */
  int64_t  rcap;                  /* batch the buffers hold */
  float   *buf[5]; size_t buf_bytes[5];
  float   *noise, *spec, *filt, *unif; size_t noise_bytes, spec_bytes, filt_bytes, unif_bytes;
  float   *patch; size_t patch_bytes;  /* im2col patch buffers, one per thread */
  int64_t *slot_m;                /* realization of each batch slot */
};

/* ---- names ---- */

static const char *norm_names[] = { "none", "instance", "batch", "group", "layer" };
static const char *noise_names[] = { "none", "gaussian", "laplace", "multiplicative", "dropout" };
static const char *sched_names[] = { "constant", "annealing", "periodic" };
static const char *policy_names[] = { "autoregressive", "residual", "convex" };

static int lookup(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++) if (!strcmp(s, names[i])) return i;
  return -1;
}
const char *sl_opnorm_name(sl_opnorm v) { return v >= 0 && v < SL_OPNORM_COUNT ? norm_names[v] : "?"; }
const char *sl_noise_kind_name(sl_noise_kind v) { return v >= 0 && v < SL_NOISE_COUNT ? noise_names[v] : "?"; }
const char *sl_noise_schedule_name(sl_noise_schedule v) { return v >= 0 && v < SL_SCHED_COUNT ? sched_names[v] : "?"; }
const char *sl_policy_name(sl_policy v) { return v >= 0 && v < SL_POLICY_COUNT ? policy_names[v] : "?"; }
int sl_opnorm_from_name(const char *s, sl_opnorm *out) {
  int i = lookup(s, norm_names, SL_OPNORM_COUNT); if (i < 0) return -1; *out = (sl_opnorm)i; return 0;
}
int sl_noise_kind_from_name(const char *s, sl_noise_kind *out) {
  int i = lookup(s, noise_names, SL_NOISE_COUNT); if (i < 0) return -1; *out = (sl_noise_kind)i; return 0;
}
int sl_noise_schedule_from_name(const char *s, sl_noise_schedule *out) {
  int i = lookup(s, sched_names, SL_SCHED_COUNT); if (i < 0) return -1; *out = (sl_noise_schedule)i; return 0;
}
int sl_policy_from_name(const char *s, sl_policy *out) {
  int i = lookup(s, policy_names, SL_POLICY_COUNT); if (i < 0) return -1; *out = (sl_policy)i; return 0;
}

/* ---- config ---- */

void sl_operator_config_default(sl_operator_config *c) {
  memset(c, 0, sizeof *c);
  c->num_layers = 3; c->base_channels = 32; c->kernel_size = 3; c->grid_size = 64;
  c->activation = SL_ACT_GELU; c->normalization = SL_OPNORM_INSTANCE;
  c->noise_type = SL_NOISE_NONE; c->noise_schedule = SL_SCHED_CONSTANT; c->schedule_period = 100;
  c->update_policy = SL_POLICY_RESIDUAL; c->dt = 0.01; c->alpha = 0.5; c->conv_algo = SL_CONV_AUTO;
}

sl_status sl_operator_config_check(const sl_operator_config *c) {
  const char *op = "operator";
  if (c->num_layers < 1 || c->num_layers > 16)
    return SL_ERR(SL_ERR_ARG, "%s: num_layers must be an integer in [1, 16], got %d", op, c->num_layers);
  if (c->base_channels < 1 || c->base_channels > 4096)
    return SL_ERR(SL_ERR_ARG, "%s: base_channels must be an integer in [1, 4096], got %d", op, c->base_channels);
  if (c->kernel_size < 1 || c->kernel_size % 2 == 0 || c->kernel_size > 63)
    return SL_ERR(SL_ERR_ARG, "%s: kernel_size must be an odd integer in [1, 63], got %d", op, c->kernel_size);
  if (c->grid_size < 1 || c->grid_size > 8192)
    return SL_ERR(SL_ERR_ARG, "%s: grid_size must be an integer in [1, 8192], got %d", op, c->grid_size);
  if ((int)c->activation < 0 || c->activation >= SL_ACT_COUNT)
    return SL_ERR(SL_ERR_ARG, "%s: unknown activation %d", op, (int)c->activation);
  if ((int)c->normalization < 0 || c->normalization >= SL_OPNORM_COUNT)
    return SL_ERR(SL_ERR_ARG, "%s: unknown normalization %d", op, (int)c->normalization);
  if ((int)c->noise_type < 0 || c->noise_type >= SL_NOISE_COUNT)
    return SL_ERR(SL_ERR_ARG, "%s: unknown noise_type %d", op, (int)c->noise_type);
  if ((int)c->noise_schedule < 0 || c->noise_schedule >= SL_SCHED_COUNT)
    return SL_ERR(SL_ERR_ARG, "%s: unknown noise_schedule %d", op, (int)c->noise_schedule);
  if ((int)c->update_policy < 0 || c->update_policy >= SL_POLICY_COUNT)
    return SL_ERR(SL_ERR_ARG, "%s: unknown update_policy %d", op, (int)c->update_policy);
  if (!(c->dropout_rate >= 0 && c->dropout_rate < 1))
    return SL_ERR(SL_ERR_ARG, "%s: dropout_rate must be in [0, 1), got %g", op, c->dropout_rate);
  if (!(c->noise_scale >= 0 && isfinite(c->noise_scale)))
    return SL_ERR(SL_ERR_ARG, "%s: noise_scale must be a finite number >= 0, got %g", op, c->noise_scale);
  if (!(c->schedule_period > 0 && isfinite(c->schedule_period)))
    return SL_ERR(SL_ERR_ARG, "%s: schedule_period must be > 0, got %g", op, c->schedule_period);
  if (!(c->spatial_correlation >= 0 && isfinite(c->spatial_correlation)))
    return SL_ERR(SL_ERR_ARG, "%s: spatial_correlation must be a finite number >= 0, got %g", op, c->spatial_correlation);
  if (!(c->dt > 0 && isfinite(c->dt)))
    return SL_ERR(SL_ERR_ARG, "%s: dt must be > 0, got %g", op, c->dt);
  if (!(c->alpha >= 0 && c->alpha <= 1))
    return SL_ERR(SL_ERR_ARG, "%s: alpha must be in [0, 1], got %g", op, c->alpha);
  if ((int)c->conv_algo < 0 || c->conv_algo > SL_CONV_WINOGRAD)
    return SL_ERR(SL_ERR_ARG, "%s: unknown conv algorithm %d", op, (int)c->conv_algo);
  return SL_OK;
}

/* ---- build ---- */

/* Largest divisor of c that is <= min(32, c): GroupNorm(min(32,C)) of the reference, made total
 * (the reference crashes when 32 does not divide C, e.g. C = 34 → 17 groups here). */
static int64_t group_count(int64_t c) {
  for (int64_t g = c < 32 ? c : 32; g > 1; g--) if (c % g == 0) return g;
  return 1;
}

static sl_status add_conv(sl_operator *op, sl_opconv_role role, int block, int sub, int64_t cin, int64_t cout, int64_t k,
                          int with_bias) {
  if (op->nconv == MAX_CONVS) return SL_ERR(SL_ERR_ARG, "operator: more than %d convolutions", MAX_CONVS);
  op_conv *c = &op->conv[op->nconv];
  memset(c, 0, sizeof *c);
  c->role = role; c->block = block; c->sub = sub; c->cin = cin; c->cout = cout; c->k = k;
  if (role == SL_OPCONV_BLOCK) {
    sl_opnorm nm = op->cfg.normalization;
    c->groups = nm == SL_OPNORM_GROUP ? group_count(cout) : nm == SL_OPNORM_LAYER ? 1 : 0;
  }
  int64_t ws[4] = { cout, cin, k, k }, bs[1] = { cout };
  SL_TRY(sl_tensor_empty(&c->w, SL_DTYPE_F32, 4, ws));
  if (with_bias) SL_TRY(sl_tensor_empty(&c->b, SL_DTYPE_F32, 1, bs));
  /* PyTorch default init: bound 1/√fan_in for weight and bias (kaiming_uniform with a = √5). */
  /* Drawn through the tensor fill with the bound in double: exactly what a Lua Generator gives
   * for g:uniform(shape, -bound, bound) on the same stream (the spec checks it). */
  int64_t nw = cout * cin * k * k;
  double bound = 1.0 / sqrt((double)(cin * k * k));
  sl_rng_stream s = sl_rng_stream_make(op->seed, sl_rng_stream_id(SL_RNG_PURPOSE_WEIGHTS, op->index, (uint64_t)op->nconv, 0));
  SL_TRY(sl_rng_fill(c->w, SL_RNG_UNIFORM, s, 0, -bound, bound));
  if (c->b) SL_TRY(sl_rng_fill(c->b, SL_RNG_UNIFORM, s, sl_rng_fill_words(SL_RNG_UNIFORM, SL_DTYPE_F32, nw), -bound, bound));
  if (!(c->ws = sl_conv2d_ws_new())) return SL_ERR(SL_ERR_OOM, "operator: cannot allocate a conv workspace");
  int64_t G = op->cfg.grid_size;
  c->algo = op->cfg.conv_algo != SL_CONV_AUTO ? op->cfg.conv_algo
          : sl_conv2d_choose(NOMINAL_BATCH, cin, cout, G, G, k, SL_CONV_PAD_ZEROS, 1, (size_t)256 << 20);
  if (k == 1 && c->algo != SL_CONV_DIRECT) c->algo = SL_CONV_IM2COL;   /* 1×1: a plain GEMM */
  if (k != 3 && c->algo == SL_CONV_WINOGRAD) c->algo = SL_CONV_IM2COL;   /* winograd is 3×3 only */
  return op->nconv++, SL_OK;
}

sl_status sl_operator_new(sl_operator **out, const sl_operator_config *cfg, uint64_t seed, uint64_t index) {
  *out = NULL;
  SL_TRY(sl_operator_config_check(cfg));
  sl_operator *op = calloc(1, sizeof *op);
  if (!op) return SL_ERR(SL_ERR_OOM, "operator: out of memory");
  op->cfg = *cfg; op->seed = seed; op->index = index; op->G = cfg->grid_size;
  int n = cfg->num_layers;
  int64_t b = cfg->base_channels, k = cfg->kernel_size;
  int bias = cfg->normalization == SL_OPNORM_NONE;
  uint64_t drop_words = 0;
  sl_status st;
  /* Buffer plan: the input block writes P0; every block then writes into buffers other than
   * its input, rotating P0 → P1 → P2. */
  op->cin_conv = 0;
  if ((st = add_conv(op, SL_OPCONV_BLOCK, -1, 0, 3, b, k, bias)) != SL_OK) goto fail;
  op->conv[0].in_buf = 3; op->conv[0].out_buf = 0;
  int cur_buf = 0;
  int64_t cur = b, cmax = b;
  for (int i = 0; i < n; i++) {
    int64_t o = b << (i < 2 ? i : 2);
    op_block *bl = &op->block[i];
    bl->residual = n > 3;
    int b1 = (cur_buf + 1) % 3, b2 = (cur_buf + 2) % 3;
    bl->c1 = op->nconv;
    if ((st = add_conv(op, SL_OPCONV_BLOCK, i, 0, cur, o, k, bias)) != SL_OK) goto fail;
    op->conv[bl->c1].in_buf = cur_buf; op->conv[bl->c1].out_buf = b1;
    bl->c2 = bl->skip = -1;
    if (bl->residual) {
      bl->c2 = op->nconv;
      if ((st = add_conv(op, SL_OPCONV_BLOCK, i, 1, o, o, k, bias)) != SL_OK) goto fail;
      op->conv[bl->c2].in_buf = b1; op->conv[bl->c2].out_buf = b2;
      if (cur != o) {
        bl->skip = op->nconv;
        if ((st = add_conv(op, SL_OPCONV_SKIP, i, 0, cur, o, 1, 0)) != SL_OK) goto fail;
        op->conv[bl->skip].in_buf = cur_buf; op->conv[bl->skip].out_buf = b2;
      }
      cur_buf = b2;
    } else {
      cur_buf = b1;
    }
    cur = o;
    if (o > cmax) cmax = o;
  }
  op->nblock = n;
  op->clast = cur; op->cmax = cmax; op->last_buf = cur_buf;
  op->out_conv = op->nconv;
  if ((st = add_conv(op, SL_OPCONV_OUTPUT, n, 0, cur, 3, 1, 1)) != SL_OK) goto fail;
  op->conv[op->out_conv].in_buf = cur_buf; op->conv[op->out_conv].out_buf = 4;
  /* Dropout sites: one word per channel, each site starting on a whole block. */
  for (int j = 0; j < op->nconv; j++)
    if (op->conv[j].role == SL_OPCONV_BLOCK) {
      op->conv[j].drop_offset = drop_words;
      drop_words += ((uint64_t)op->conv[j].cout + 3) & ~(uint64_t)3;
    }
  *out = op;
  return SL_OK;
fail:
  sl_operator_free(op);
  return st;
}

static void free_ws(sl_operator *op) {
  for (int i = 0; i < 5; i++) { sl_free(op->buf[i], op->buf_bytes[i]); op->buf[i] = NULL; op->buf_bytes[i] = 0; }
  sl_free(op->noise, op->noise_bytes); sl_free(op->spec, op->spec_bytes);
  sl_free(op->filt, op->filt_bytes); sl_free(op->unif, op->unif_bytes);
  sl_free(op->patch, op->patch_bytes); op->patch = NULL; op->patch_bytes = 0;
  op->noise = op->spec = op->filt = op->unif = NULL;
  op->noise_bytes = op->spec_bytes = op->filt_bytes = op->unif_bytes = 0;
  free(op->slot_m); op->slot_m = NULL;
  for (int j = 0; j < op->nconv; j++) {
    sl_tensor_release(op->conv[j].vin); sl_tensor_release(op->conv[j].vout);
    op->conv[j].vin = op->conv[j].vout = NULL;
  }
  op->rcap = 0;
}

void sl_operator_free(sl_operator *op) {
  if (!op) return;
  free_ws(op);
  for (int j = 0; j < op->nconv; j++) {
    sl_tensor_release(op->conv[j].w); sl_tensor_release(op->conv[j].b); sl_conv2d_ws_free(op->conv[j].ws);
  }
  free(op);
}

/* Sizes the workspace for batches of up to R realizations (no-op when it already does). */
static sl_status ensure_ws(sl_operator *op, int64_t R) {
  if (R <= op->rcap) return SL_OK;
  free_ws(op);
  int64_t G = op->G, plane = G * G, F = G / 2 + 1;
  size_t big = (size_t)R * op->cmax * plane * sizeof(float), io = (size_t)R * 3 * plane * sizeof(float);
  for (int i = 0; i < 5; i++) {
    op->buf_bytes[i] = i < 3 ? big : io;
    if (!(op->buf[i] = sl_alloc(op->buf_bytes[i]))) {
      op->buf_bytes[i] = 0; free_ws(op);
      return SL_ERR(SL_ERR_OOM, "operator: cannot allocate %.0f MiB of activations for %lld realizations",
                    (3.0 * big + 2.0 * io) / 1048576.0, (long long)R);
    }
  }
  op->noise_bytes = (size_t)op->clast * plane * sizeof(float);
  op->unif_bytes = (size_t)((op->cmax + 3) & ~3) * sizeof(float);
  op->noise = sl_alloc(op->noise_bytes);
  op->unif = sl_alloc(op->unif_bytes);
  op->slot_m = malloc((size_t)R * sizeof(int64_t));
  int ok = op->noise && op->unif && op->slot_m;
  if (ok && op->cfg.spatial_correlation > 0 && op->cfg.noise_type != SL_NOISE_NONE && op->cfg.noise_type != SL_NOISE_DROPOUT) {
    op->spec_bytes = (size_t)op->clast * G * F * 2 * sizeof(float);
    op->filt_bytes = (size_t)G * F * sizeof(float);
    op->spec = sl_alloc(op->spec_bytes);
    op->filt = sl_alloc(op->filt_bytes);
    ok = op->spec && op->filt;
    if (ok) {
      /* exp(-|k|² (ρG)² / 2), k in cycles per pixel (fftfreq rows, rfftfreq columns). */
      double L = op->cfg.spatial_correlation * (double)G;
      for (int64_t y = 0; y < G; y++) {
        double ky = (double)(y <= (G - 1) / 2 ? y : y - G) / (double)G;
        for (int64_t x = 0; x < F; x++) {
          double kx = (double)x / (double)G;
          op->filt[y * F + x] = (float)exp(-(kx * kx + ky * ky) * L * L / 2.0);
        }
      }
    }
  }
  if (!ok) { free_ws(op); return SL_ERR(SL_ERR_OOM, "operator: cannot allocate the noise workspace"); }
  for (int j = 0; j < op->nconv; j++) {
    op_conv *c = &op->conv[j];
    int64_t si[4] = { R, c->cin, G, G }, so[4] = { R, c->cout, G, G };
    sl_status st;
    if ((st = sl_tensor_wrap(&c->vin, SL_DTYPE_F32, 4, si, op->buf[c->in_buf], NULL, NULL)) != SL_OK ||
        (st = sl_tensor_wrap(&c->vout, SL_DTYPE_F32, 4, so, op->buf[c->out_buf], NULL, NULL)) != SL_OK) {
      free_ws(op);
      return st;
    }
  }
  op->rcap = R;
  return SL_OK;
}

/* ---- queries ---- */

const sl_operator_config *sl_operator_config_of(const sl_operator *op) { return &op->cfg; }
uint64_t sl_operator_seed(const sl_operator *op) { return op->seed; }
uint64_t sl_operator_index(const sl_operator *op) { return op->index; }
void sl_operator_set_horizon(sl_operator *op, int64_t horizon) { op->horizon = horizon > 0 ? horizon : 0; }
int64_t sl_operator_horizon(const sl_operator *op) { return op->horizon; }
int sl_operator_num_convs(const sl_operator *op) { return op->nconv; }
int64_t sl_operator_channels_last(const sl_operator *op) { return op->clast; }

sl_status sl_operator_conv(const sl_operator *op, int j, sl_opconv_info *info) {
  if (j < 0 || j >= op->nconv)
    return SL_ERR(SL_ERR_ARG, "operator: conv index %d out of range [0, %d)", j, op->nconv);
  const op_conv *c = &op->conv[j];
  info->role = c->role; info->block = c->block; info->sub = c->sub;
  info->cin = c->cin; info->cout = c->cout; info->k = c->k; info->groups = c->groups;
  info->algo = c->algo; info->weight = c->w; info->bias = c->b;
  return SL_OK;
}

int64_t sl_operator_param_count(const sl_operator *op) {
  int64_t n = 0;
  for (int j = 0; j < op->nconv; j++) {
    const op_conv *c = &op->conv[j];
    n += c->cout * c->cin * c->k * c->k + (c->b ? c->cout : 0);
    if (c->role == SL_OPCONV_BLOCK && op->cfg.normalization != SL_OPNORM_NONE) n += 2 * c->cout;
  }
  return n;
}

int64_t sl_operator_macs(const sl_operator *op) {
  int64_t n = 0;
  for (int j = 0; j < op->nconv; j++) n += op->conv[j].cout * op->conv[j].cin * op->conv[j].k * op->conv[j].k;
  return n * op->G * op->G;
}

size_t sl_operator_workspace_bytes(const sl_operator *op) {
  size_t n = op->noise_bytes + op->spec_bytes + op->filt_bytes + op->unif_bytes + op->patch_bytes;
  for (int i = 0; i < 5; i++) n += op->buf_bytes[i];
  for (int j = 0; j < op->nconv; j++) n += sl_conv2d_ws_bytes(op->conv[j].ws);
  return n;
}

double sl_operator_noise_scale_at(const sl_operator *op, int64_t step, int64_t horizon) {
  double s = op->cfg.noise_scale, t = (double)step;
  switch (op->cfg.noise_schedule) {
    case SL_SCHED_ANNEALING: {
      double f = horizon > 0 ? t / (double)horizon : 1.0;
      return s * (1.0 - (f < 1.0 ? f : 1.0));
    }
    case SL_SCHED_PERIODIC: return s * (1.0 + 0.5 * sin(2.0 * M_PI * t / op->cfg.schedule_period));
    default: return s;
  }
}

/* ---- im2col + GEMM with a fixed tiling ----
 *
 * OpenBLAS's sgemm rounds column j of C differently depending on the total N of the call (seen
 * on its Zen/Haswell kernels even single-threaded), so a GEMM over "all images of the batch" or
 * over "rows per thread" would make a realization's values depend on the batch size or the
 * thread count.  Here every GEMM covers one fixed row tile of one image, with a tile size that
 * depends only on (K, W): the same realization always meets the same GEMMs, whichever batch or
 * thread runs it.  Items (image, tile) are spread over OpenMP threads, each filling its own
 * patch buffer and calling a single-threaded sgemm (the two thread pools never overlap). */
#define TILE_COLS 1024                 /* target GEMM width (output pixels per tile) */
#define TILE_BYTES ((size_t)8 << 20)   /* patch buffer per thread */

static int64_t tile_rows(int64_t K, int64_t W, int64_t H, int patches) {
  int64_t rows = (TILE_COLS + W - 1) / W;
  if (patches) while (rows > 1 && (size_t)K * rows * W * sizeof(float) > TILE_BYTES) rows--;
  return rows < H ? rows : H;
}

/* Patch matrix [cin·k², rows·W] of output rows y0.. of one zero-padded image. */
static void fill_patches(float *col, const float *img, int64_t cin, int64_t H, int64_t W, int64_t k,
                         int64_t y0, int64_t rows) {
  int64_t r = k / 2, n = rows * W;
  for (int64_t ci = 0; ci < cin; ci++)
    for (int64_t ky = 0; ky < k; ky++)
      for (int64_t kx = 0; kx < k; kx++) {
        float *dst = col + ((ci * k + ky) * k + kx) * n;
        int64_t dx = kx - r, x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W;
        if (x1 < x0) x1 = x0;
        for (int64_t yy = 0; yy < rows; yy++) {
          float *d = dst + yy * W;
          int64_t sy = y0 + yy + ky - r;
          if (sy < 0 || sy >= H) { memset(d, 0, (size_t)W * sizeof(float)); continue; }
          const float *src = img + (ci * H + sy) * W;
          for (int64_t x = 0; x < x0; x++) d[x] = 0.0f;
          if (x1 > x0) memcpy(d + x0, src + x0 + dx, (size_t)(x1 - x0) * sizeof(float));
          for (int64_t x = x1; x < W; x++) d[x] = 0.0f;
        }
      }
}

/* out[R,cout,G,G] (=, or += when accumulate) conv(in[R,cin,G,G], w) + bias. */
static sl_status conv_gemm(sl_operator *op, float *out, const float *in, const op_conv *c, int64_t R, int accumulate) {
  int64_t G = op->G, hw = G * G, k = c->k, K = c->cin * k * k;
  int patches = k > 1;
  int64_t rows = tile_rows(K, G, G, patches), ntiles = (G + rows - 1) / rows;
  int nt = sl_num_threads();
  if (nt < 1) nt = 1;
  size_t per = patches ? (((size_t)K * rows * G + 15) & ~(size_t)15) : 0;
  if (patches && op->patch_bytes < per * nt * sizeof(float)) {
    sl_free(op->patch, op->patch_bytes);
    op->patch_bytes = per * nt * sizeof(float);
    if (!(op->patch = sl_alloc(op->patch_bytes))) {
      op->patch_bytes = 0;
      return SL_ERR(SL_ERR_OOM, "operator: cannot allocate %d patch buffers of %lld x %lld", nt, (long long)K,
                    (long long)(rows * G));
    }
  }
  const float *w = sl_tensor_data(c->w), *bias = c->b ? sl_tensor_data(c->b) : NULL;
  float *patch = op->patch;
  int prev = sl_blas_set_threads(1);
  #pragma omp parallel for schedule(dynamic) num_threads(nt)
  for (int64_t item = 0; item < R * ntiles; item++) {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    int64_t b = item / ntiles, y0 = (item % ntiles) * rows, nr = G - y0 < rows ? G - y0 : rows, n = nr * G;
    const float *img = in + b * c->cin * hw, *col = img + y0 * G;
    int64_t ldb = hw;
    if (patches) {
      float *buf = patch + (size_t)t * per;
      fill_patches(buf, img, c->cin, G, G, k, y0, nr);
      col = buf; ldb = n;
    }
    float *o = out + b * c->cout * hw + y0 * G;
    float beta = accumulate ? 1.0f : 0.0f;
    if (bias) {
      for (int64_t co = 0; co < c->cout; co++)
        for (int64_t i = 0; i < n; i++) o[co * hw + i] = (accumulate ? o[co * hw + i] : 0.0f) + bias[co];
      beta = 1.0f;
    }
    sl_sgemm(0, 0, c->cout, n, K, 1.0f, w, K, col, ldb, beta, o, hw);
  }
  sl_blas_set_threads(prev);
  return SL_OK;
}

/* One convolution of the network: the fixed-tiling GEMM for im2col layers (and every 1×1),
 * the conv module otherwise (its FFT, row-FFT, Winograd and direct paths compute each image alone). */
static sl_status run_conv(sl_operator *op, op_conv *c, int64_t R) {
  if (c->algo == SL_CONV_IM2COL)
    return conv_gemm(op, op->buf[c->out_buf], op->buf[c->in_buf], c, R, 0);
  c->vin->shape[0] = c->vout->shape[0] = R;
  return sl_conv2d_into(c->vout, c->vin, c->w, c->b, SL_CONV_PAD_ZEROS, c->algo, c->ws);
}

/* ---- forward ---- */

/* y = act(y·scale) in one pass (batch norm at inference: running mean 0, var 1, affine 1/0). */
static void scale_act(float *y, int64_t n, float scale, sl_act act) {
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n > 65536)
  for (int64_t i = 0; i < n; i++) y[i] *= scale;
  sl_act_apply_f32(y, n, act);
}

/* Channel dropout of one realization [C, plane] (Dropout2d semantics): channel ch is kept and
 * scaled by sc when u[ch] < keep, zeroed otherwise. */
static void drop_channels(float *x, int64_t C, int64_t plane, const float *u, float keep, float sc) {
  for (int64_t ch = 0; ch < C; ch++) {
    float f = u[ch] < keep ? sc : 0.0f;
    float *v = x + ch * plane;
    for (int64_t i = 0; i < plane; i++) v[i] *= f;
  }
}

static sl_status conv_block(sl_operator *op, op_conv *c, int64_t R, int64_t step) {
  SL_TRY(run_conv(op, c, R));
  c->vout->shape[0] = R;
  float *y = op->buf[c->out_buf];
  int64_t plane = op->G * op->G, n = R * c->cout * plane;
  sl_act act = op->cfg.activation;
  switch (op->cfg.normalization) {
    case SL_OPNORM_INSTANCE: SL_TRY(sl_norm_instance_into(c->vout, c->vout, NULL, NULL, NORM_EPS, act)); break;
    case SL_OPNORM_GROUP:
    case SL_OPNORM_LAYER: SL_TRY(sl_norm_group_into(c->vout, c->vout, c->groups, NULL, NULL, NORM_EPS, act)); break;
    case SL_OPNORM_BATCH: scale_act(y, n, (float)(1.0 / sqrt(1.0 + NORM_EPS)), act); break;
    default: sl_act_apply_f32(y, n, act); break;
  }
  double p = op->cfg.dropout_rate;
  if (p > 0) {
    /* Channel dropout (torch Dropout2d semantics: keep when u < 1 - p, survivors × 1/(1-p)),
     * mask words from (DROPOUT, op, realization, step) at this site's offset. */
    float keep = (float)(1.0 - p), sc = (float)(1.0 / (1.0 - p));
    for (int64_t r = 0; r < R; r++) {
      sl_rng_stream s = sl_rng_stream_make(op->seed, sl_rng_stream_id(SL_RNG_PURPOSE_DROPOUT, op->index,
                                                                      (uint64_t)op->slot_m[r], (uint64_t)step));
      sl_rng_uniform_f32(s, c->drop_offset, c->cout, op->unif, 0.0f, 1.0f);
      drop_channels(y + r * c->cout * plane, c->cout, plane, op->unif, keep, sc);
    }
  }
  return SL_OK;
}

/* Filters one realization's white field [C,G,G] with the Gaussian spectral window and rescales
 * it to unit variance over the whole realization (its own statistics: realizations stay
 * independent). */
static sl_status correlate(sl_operator *op, float *f) {
  int64_t G = op->G, F = G / 2 + 1, C = op->clast, n2[2] = { G, G };
  SL_TRY(sl_fft_r2c(op->spec, f, C, 2, n2, SL_FFT_BACKWARD));
  int64_t nf = G * F;
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (C * nf > 65536)
  for (int64_t i = 0; i < C * nf; i++) {
    float w = op->filt[i % nf];
    op->spec[2 * i] *= w; op->spec[2 * i + 1] *= w;
  }
  SL_TRY(sl_fft_c2r(f, op->spec, C, 2, n2, SL_FFT_BACKWARD));
  int64_t n = C * G * G;
  double s[8] = {0}, q[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) for (int j = 0; j < 8; j++) s[j] += f[i + j];
  double sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) sum += f[i];
  double mean = sum / (double)n;
  for (i = 0; i + 8 <= n; i += 8) for (int j = 0; j < 8; j++) { double d = f[i + j] - mean; q[j] += d * d; }
  double ss = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
  for (; i < n; i++) { double d = f[i] - mean; ss += d * d; }
  float inv = (float)(1.0 / (sqrt(ss / (double)n) + 1e-8));
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n > 65536)
  for (int64_t k = 0; k < n; k++) f[k] *= inv;
  return SL_OK;
}

/* The stochastic block on the last hidden activation, in place. */
static sl_status apply_noise(sl_operator *op, float *x, int64_t R, int64_t step, int64_t horizon) {
  sl_noise_kind kind = op->cfg.noise_type;
  if (kind == SL_NOISE_NONE) return SL_OK;
  double s = sl_operator_noise_scale_at(op, step, horizon);
  if (s == 0) return SL_OK;
  int64_t C = op->clast, plane = op->G * op->G, n = C * plane;
  int corr = op->cfg.spatial_correlation > 0;
  for (int64_t r = 0; r < R; r++) {
    sl_rng_stream st = sl_rng_stream_make(op->seed, sl_rng_stream_id(SL_RNG_PURPOSE_NOISE, op->index,
                                                                     (uint64_t)op->slot_m[r], (uint64_t)step));
    float *xr = x + r * n, *e = op->noise;
    if (kind == SL_NOISE_DROPOUT) {
      double p = s < 1 ? s : 1;
      float keep = (float)(1.0 - p), sc = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;
      sl_rng_uniform_f32(st, 0, C, op->unif, 0.0f, 1.0f);
      drop_channels(xr, C, plane, op->unif, keep, sc);
      continue;
    }
    if (kind == SL_NOISE_LAPLACE) sl_rng_laplace_f32(st, 0, n, e, 0.0f, 1.0f);
    else sl_rng_normal_f32(st, 0, n, e, 0.0f, 1.0f);
    if (corr) SL_TRY(correlate(op, e));
    float sf = (float)s;
    if (kind == SL_NOISE_MULTIPLICATIVE) {
      #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n > 65536)
      for (int64_t i = 0; i < n; i++) xr[i] *= 1.0f + sf * e[i];
    } else {
      #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n > 65536)
      for (int64_t i = 0; i < n; i++) xr[i] += sf * e[i];
    }
  }
  return SL_OK;
}

/* O = F(X) for the first R slots of the workspace (X in buf[3], O in buf[4]; slot_m set). */
static sl_status forward_ws(sl_operator *op, int64_t R, int64_t step, int64_t horizon) {
  int64_t plane = op->G * op->G;
  SL_TRY(conv_block(op, &op->conv[op->cin_conv], R, step));
  for (int i = 0; i < op->nblock; i++) {
    const op_block *bl = &op->block[i];
    op_conv *c1 = &op->conv[bl->c1];
    SL_TRY(conv_block(op, c1, R, step));
    if (!bl->residual) continue;
    op_conv *c2 = &op->conv[bl->c2];
    SL_TRY(conv_block(op, c2, R, step));
    float *y = op->buf[c2->out_buf];
    const float *xin = op->buf[c1->in_buf];
    if (bl->skip >= 0) {
      SL_TRY(conv_gemm(op, y, xin, &op->conv[bl->skip], R, 1));   /* y += Wskip @ x, a 1×1 conv */
    } else {
      int64_t n = R * c2->cout * plane;
      #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n > 65536)
      for (int64_t k = 0; k < n; k++) y[k] += xin[k];
    }
  }
  SL_TRY(apply_noise(op, op->buf[op->last_buf], R, step, horizon));
  return run_conv(op, &op->conv[op->out_conv], R);
}

static sl_status check_field(const sl_tensor *x, int nd, const char *what, int64_t G) {
  char s[96];
  int ok = x->ndim == nd && x->shape[nd - 3] == 3 && x->shape[nd - 2] == G && x->shape[nd - 1] == G;
  if (sl_tensor_device(x) != SL_DEV_CPU) return SL_ERR(SL_ERR_DEVICE, "operator: %s must be a CPU tensor", what);
  if (!ok)
    return SL_ERR(SL_ERR_SHAPE, "operator: %s must have shape %s[3,%lld,%lld] (the operator's grid), got %s", what,
                  nd == 4 ? "[R]+" : "", (long long)G, (long long)G, sl_shape_str(s, sizeof s, x->ndim, x->shape));
  return SL_OK;
}

sl_status sl_operator_forward(sl_operator *op, sl_tensor *out, const sl_tensor *x0, int64_t first, int64_t step,
                              int64_t horizon) {
  SL_TRY(check_field(x0, 4, "forward input", op->G));
  if (!sl_tensor_same_shape(out, x0) || out->dtype != SL_DTYPE_F32 || !sl_tensor_is_contiguous(out))
    return SL_ERR(SL_ERR_SHAPE, "operator forward: output must be a contiguous float32 tensor shaped like the input");
  if (step < 0 || first < 0) return SL_ERR(SL_ERR_ARG, "operator forward: step and realization must be >= 0");
  if (horizon <= 0) horizon = op->horizon;
  if (op->cfg.noise_schedule == SL_SCHED_ANNEALING && op->cfg.noise_type != SL_NOISE_NONE && horizon <= 0)
    return SL_ERR(SL_ERR_ARG, "operator forward: the annealing noise schedule needs horizon > 0 (the rollout's "
                  "step count; set by a rollout or given explicitly)");
  int64_t R = x0->shape[0], n = R * 3 * op->G * op->G;
  if (R == 0) return SL_OK;
  SL_TRY(ensure_ws(op, R));
  sl_tensor *x = NULL;
  SL_TRY(sl_tensor_contiguous_as(&x, x0, SL_DTYPE_F32));
  memcpy(op->buf[3], sl_tensor_data(x), (size_t)n * sizeof(float));
  sl_tensor_release(x);
  for (int64_t r = 0; r < R; r++) op->slot_m[r] = first + r;
  SL_TRY(forward_ws(op, R, step, horizon));
  memcpy(sl_tensor_data(out), op->buf[4], (size_t)n * sizeof(float));
  return SL_OK;
}

/* ---- rollout ---- */

void sl_rollout_opts_default(sl_rollout_opts *o) {
  o->realizations_per_batch = 0; o->horizon = 0; o->diverge_threshold = 1e6; o->first_realization = 0;
}

/* X = policy(X, O) on n elements. */
static void apply_policy(const sl_operator *op, float *x, const float *o, int64_t n) {
  float dt = (float)op->cfg.dt, a = (float)op->cfg.alpha, b = (float)(1.0 - op->cfg.alpha);
  switch (op->cfg.update_policy) {
    case SL_POLICY_AUTOREGRESSIVE: memcpy(x, o, (size_t)n * sizeof(float)); break;
    case SL_POLICY_RESIDUAL:
      #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n > 65536)
      for (int64_t i = 0; i < n; i++) x[i] = x[i] + dt * o[i];
      break;
    default:
      #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n > 65536)
      for (int64_t i = 0; i < n; i++) x[i] = a * x[i] + b * o[i];
      break;
  }
}

static int field_bad(const float *x, int64_t n, float thr) {
  int bad = 0;
  for (int64_t i = 0; i < n; i++) bad |= !(fabsf(x[i]) <= thr);   /* NaN compares false */
  return bad;
}

sl_status sl_operator_rollout(sl_operator *op, sl_tensor *traj, const sl_tensor *ic, const sl_rollout_opts *opts,
                              int64_t *dstep) {
  sl_rollout_opts o;
  if (opts) o = *opts; else sl_rollout_opts_default(&o);
  int64_t G = op->G, fr = 3 * G * G;
  char s[96];
  if (traj->ndim != 5 || traj->shape[2] != 3 || traj->shape[3] != G || traj->shape[4] != G ||
      traj->dtype != SL_DTYPE_F32 || !sl_tensor_is_contiguous(traj) || sl_tensor_device(traj) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_SHAPE, "rollout: trajectory must be a contiguous float32 CPU tensor [M,T,3,%lld,%lld], got %s %s",
                  (long long)G, (long long)G, sl_dtype_name(traj->dtype), sl_shape_str(s, sizeof s, traj->ndim, traj->shape));
  int64_t M = traj->shape[0], T = traj->shape[1];
  if (T < 1) return SL_ERR(SL_ERR_ARG, "rollout: T must be >= 1 (frame 0 is the initial condition), got %lld", (long long)T);
  int per_real = ic->ndim == 4;
  SL_TRY(check_field(ic, per_real ? 4 : 3, "initial condition", G));
  if (per_real && ic->shape[0] != M)
    return SL_ERR(SL_ERR_SHAPE, "rollout: %lld initial conditions for %lld realizations", (long long)ic->shape[0], (long long)M);
  if (o.first_realization < 0) return SL_ERR(SL_ERR_ARG, "rollout: first_realization must be >= 0");
  int64_t horizon = o.horizon > 0 ? o.horizon : T - 1;
  if (horizon > 0) op->horizon = horizon;
  float thr = (float)(o.diverge_threshold > 0 ? o.diverge_threshold : 1e6);
  int64_t R = o.realizations_per_batch > 0 && o.realizations_per_batch < M ? o.realizations_per_batch : M;
  for (int64_t m = 0; m < M; m++) dstep[m] = -1;
  if (M == 0) return SL_OK;
  SL_TRY(ensure_ws(op, R));
  sl_tensor *icc = NULL;
  SL_TRY(sl_tensor_contiguous_as(&icc, ic, SL_DTYPE_F32));
  const float *icp = sl_tensor_data(icc);
  float *tp = sl_tensor_data(traj), *X = op->buf[3], *O = op->buf[4];
  sl_status st = SL_OK;
  for (int64_t m0 = 0; m0 < M && st == SL_OK; m0 += R) {
    int64_t nact = M - m0 < R ? M - m0 : R;
    for (int64_t i = 0; i < nact; i++) {
      int64_t m = m0 + i;
      op->slot_m[i] = o.first_realization + m;
      const float *src = icp + (per_real ? m * fr : 0);
      memcpy(X + i * fr, src, (size_t)fr * sizeof(float));
      memcpy(tp + m * T * fr, src, (size_t)fr * sizeof(float));
    }
    for (int64_t t = 1; t < T && nact > 0; t++) {
      if ((st = forward_ws(op, nact, t, horizon)) != SL_OK) break;
      apply_policy(op, X, O, nact * fr);
      for (int64_t i = 0; i < nact; i++) {
        int64_t m = op->slot_m[i] - o.first_realization;
        memcpy(tp + (m * T + t) * fr, X + i * fr, (size_t)fr * sizeof(float));
      }
      /* Divergence: flag, fill the remaining frames with NaN, drop the slot (the last active
       * slot moves in; slots are independent so the order does not matter). */
      for (int64_t i = nact - 1; i >= 0; i--) {
        if (!field_bad(X + i * fr, fr, thr)) continue;
        int64_t m = op->slot_m[i] - o.first_realization;
        dstep[m] = t;
        float *rest = tp + (m * T + t + 1) * fr;
        for (int64_t k = 0; k < (T - 1 - t) * fr; k++) rest[k] = NAN;
        nact--;
        if (i != nact) {
          op->slot_m[i] = op->slot_m[nact];
          memcpy(X + i * fr, X + nact * fr, (size_t)fr * sizeof(float));
        }
      }
    }
  }
  sl_tensor_release(icc);
  return st;
}
