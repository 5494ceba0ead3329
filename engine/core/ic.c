/* ic.c — IC registry, parameter validation, random cursor, normalisation and the tensor entry
 * points (single and batched).
 *
 * The generator tables live in ic_baseline.c and ic_domain*.c; ids are positions in the
 * concatenation baseline ++ domain.  Generation of one IC: zero the [3,G,G] buffer, run the
 * generator with a cursor over the operator's IC stream, then apply the generator's
 * normalisation rule (standardise each channel to the configured variance, or nothing for
 * bounded patterns), and refuse non-finite output.  The batched entry runs rows in parallel;
 * each row has its own stream and scratch, so rows are identical to one-by-one calls. */
#include <string.h>
#include "ic_internal.h"

/* ------------------------------------------------------------------ random cursor */

uint32_t ic_u32(sl_ic_rng *r) {
  uint32_t u;
  sl_rng_u32(r->s, r->pos++, 1, &u);
  return u;
}

/* A stream word as a uniform in the open interval (0,1): the one mapping every draw uses. */
static inline double word_unif(uint32_t w) { return ((double)w + 0.5) * (1.0 / 4294967296.0); }

double ic_unif(sl_ic_rng *r) { return word_unif(ic_u32(r)); }

double ic_uniform(sl_ic_rng *r, double lo, double hi) { return lo + (hi - lo) * ic_unif(r); }

int ic_randint(sl_ic_rng *r, int n) {
  if (n <= 1) { r->pos++; return 0; }   /* still consume a word: draw positions stay aligned */
  return (int)(((uint64_t)ic_u32(r) * (uint64_t)n) >> 32);
}

double ic_normal(sl_ic_rng *r) {
  const double u1 = ic_unif(r), u2 = ic_unif(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

#define IC_CHUNK 512   /* words per sl_rng_u32 call in the bulk fills (even) */

/* Box–Muller on word pairs: normal 2j and 2j+1 share words (2j, 2j+1) of the bulk region. */
void ic_normals(sl_ic_rng *r, float *out, int64_t n) {
  uint32_t w[IC_CHUNK];
  const int64_t nw = (n + 1) & ~(int64_t)1;
  for (int64_t base = 0; base < nw; base += IC_CHUNK) {
    const int64_t m = nw - base < IC_CHUNK ? nw - base : IC_CHUNK;
    sl_rng_u32(r->s, r->pos + (uint64_t)base, m, w);
    for (int64_t j = 0; j < m; j += 2) {
      const double rad = sqrt(-2.0 * log(word_unif(w[j]))), th = 2.0 * M_PI * word_unif(w[j + 1]);
      out[base + j] = (float)(rad * cos(th));
      if (base + j + 1 < n) out[base + j + 1] = (float)(rad * sin(th));
    }
  }
  r->pos += (uint64_t)nw;
}

void ic_uniforms(sl_ic_rng *r, float *out, int64_t n) {
  uint32_t w[IC_CHUNK];
  for (int64_t base = 0; base < n; base += IC_CHUNK) {
    const int64_t m = n - base < IC_CHUNK ? n - base : IC_CHUNK;
    sl_rng_u32(r->s, r->pos + (uint64_t)base, m, w);
    for (int64_t j = 0; j < m; j++) out[base + j] = (float)word_unif(w[j]);
  }
  r->pos += (uint64_t)n;
}

/* ------------------------------------------------------------------ buffers, statistics */

float *ic_buf(int64_t n) { return sl_alloc_zeroed(sizeof(float) * (size_t)n); }
void ic_buf_free(float *p, int64_t n) { if (p) sl_free(p, sizeof(float) * (size_t)n); }

int ic_standardize(float *x, int64_t n, double variance) {
  double mean = 0, var = 0;
  for (int64_t i = 0; i < n; i++) mean += x[i];
  mean /= (double)n;
  for (int64_t i = 0; i < n; i++) { const double d = x[i] - mean; var += d * d; }
  var /= (double)n;
  /* A channel nothing was drawn into (or a flat one) has no scale to normalise: set it to 0. */
  if (!(var > 1e-30 + 1e-12 * mean * mean)) { memset(x, 0, sizeof(float) * (size_t)n); return 0; }
  const double s = sqrt(variance / var);
  for (int64_t i = 0; i < n; i++) x[i] = (float)((x[i] - mean) * s);
  return 1;
}

void ic_copy_ch0(float *out, int G) {
  for (int c = 1; c < SL_IC_CHANNELS; c++) memcpy(out + c * PLANE(G), out, sizeof(float) * (size_t)PLANE(G));
}

void ic_minmax_to(float *x, int64_t n, double lo, double hi) {
  float mn = x[0], mx = x[0];
  for (int64_t i = 1; i < n; i++) { if (x[i] < mn) mn = x[i]; if (x[i] > mx) mx = x[i]; }
  const double span = (double)mx - mn;
  for (int64_t i = 0; i < n; i++)
    x[i] = span > 0 ? (float)(lo + (hi - lo) * ((double)x[i] - mn) / span) : (float)lo;
}

void ic_scale_maxabs(float *x, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; i++) if (fabsf(x[i]) > m) m = fabsf(x[i]);
  if (m > 0) for (int64_t i = 0; i < n; i++) x[i] /= m;
}

/* ------------------------------------------------------------------ registry */

int sl_ic_count(void) { return sl_ic_baseline_count + sl_ic_domain_count; }

const sl_ic_generator *sl_ic_get(int id) {
  if (id < 0) return NULL;
  if (id < sl_ic_baseline_count) return &sl_ic_baseline[id];
  id -= sl_ic_baseline_count;
  return id < sl_ic_domain_count ? &sl_ic_domain[id] : NULL;
}

int sl_ic_find(const char *name) {
  for (int i = 0; i < sl_ic_count(); i++)
    if (strcmp(sl_ic_get(i)->name, name) == 0) return i;
  return -1;
}

sl_status sl_ic_lookup(const char *name, int *id) {
  *id = sl_ic_find(name);
  if (*id < 0)
    return SL_ERR(SL_ERR_ARG, "initial conditions: unknown generator '%s' (see ic.names())", name);
  return SL_OK;
}

int sl_ic_param_index(int gen, const char *key) {
  const sl_ic_generator *g = sl_ic_get(gen);
  if (!g) return -1;
  for (int i = 0; i < g->nparams; i++)
    if (strcmp(g->params[i].name, key) == 0) return i;
  return -1;
}

const char *sl_ic_option_name(const sl_ic_param *p, int i, char *buf, size_t cap) {
  const char *s = p->options;
  if (!s || i < 0 || cap == 0) return NULL;
  for (; i > 0; i--) {
    s = strchr(s, '|');
    if (!s) return NULL;
    s++;
  }
  const char *e = strchr(s, '|');
  size_t len = e ? (size_t)(e - s) : strlen(s);
  if (len >= cap) len = cap - 1;
  memcpy(buf, s, len);
  buf[len] = 0;
  return buf;
}

int sl_ic_option_index(const sl_ic_param *p, const char *name) {
  char buf[64];
  for (int i = 0; sl_ic_option_name(p, i, buf, sizeof buf); i++)
    if (strcmp(buf, name) == 0) return i;
  return -1;
}

/* ------------------------------------------------------------------ parameters */

void sl_ic_params_default(sl_ic_params *p, int gen) {
  memset(p, 0, sizeof *p);
  p->gen = gen;
  const sl_ic_generator *g = sl_ic_get(gen);
  if (!g) return;
  for (int i = 0; i < g->nparams; i++) {
    p->p[i].n = g->params[i].ndef;
    memcpy(p->p[i].v, g->params[i].def, sizeof p->p[i].v);
  }
}

static sl_status find_param(const sl_ic_params *p, const char *key, const sl_ic_generator **g, int *idx) {
  *g = sl_ic_get(p->gen);
  if (!*g) return SL_ERR(SL_ERR_ARG, "initial conditions: invalid generator id %d", p->gen);
  *idx = sl_ic_param_index(p->gen, key);
  if (*idx < 0) {
    char known[512] = "";
    for (int i = 0; i < (*g)->nparams; i++) {
      if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
      strncat(known, (*g)->params[i].name, sizeof known - strlen(known) - 1);
    }
    return SL_ERR(SL_ERR_ARG, "%s: unknown parameter '%s' (known: %s)", (*g)->name, key, known);
  }
  return SL_OK;
}

static const char *kind_name(sl_ic_kind k) {
  switch (k) {
    case SL_IC_NUMBER:  return "a number";
    case SL_IC_INTEGER: return "an integer";
    case SL_IC_CHOICE:  return "one option name";
    case SL_IC_CHOICES: return "a list of option names";
    case SL_IC_LIST:    return "a list of numbers";
    case SL_IC_RANGE:   return "a pair [lo, hi]";
  }
  return "?";
}

sl_status sl_ic_params_set(sl_ic_params *p, const char *key, int n, const double *v) {
  const sl_ic_generator *g;
  int idx = -1;
  SL_TRY(find_param(p, key, &g, &idx));
  const sl_ic_param *sp = &g->params[idx];
  if (n == 0) {
    if (!sp->nullable) return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' cannot be null", g->name, key);
    p->p[idx].n = 0;
    return SL_OK;
  }
  int want_lo = 1, want_hi = 1;
  switch (sp->kind) {
    case SL_IC_NUMBER: case SL_IC_INTEGER: break;
    case SL_IC_LIST:  want_hi = SL_IC_MAX_LIST; break;
    case SL_IC_RANGE: want_lo = want_hi = 2; break;
    case SL_IC_CHOICE: case SL_IC_CHOICES:
      return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' expects %s (options: %s), got numbers",
                    g->name, key, kind_name(sp->kind), sp->options);
  }
  if (n < want_lo || n > want_hi)
    return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' expects %s, got %d value%s",
                  g->name, key, kind_name(sp->kind), n, n == 1 ? "" : "s");
  for (int i = 0; i < n; i++) {
    if (!isfinite(v[i]) || v[i] < sp->lo || v[i] > sp->hi)
      return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' must lie in [%g, %g], got %g",
                    g->name, key, sp->lo, sp->hi, v[i]);
    if (sp->kind == SL_IC_INTEGER && v[i] != floor(v[i]))
      return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' must be an integer, got %g", g->name, key, v[i]);
  }
  if (sp->kind == SL_IC_RANGE && v[0] > v[1])
    return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' is a range [lo, hi] with lo <= hi, got [%g, %g]",
                  g->name, key, v[0], v[1]);
  p->p[idx].n = n;
  memset(p->p[idx].v, 0, sizeof p->p[idx].v);
  memcpy(p->p[idx].v, v, sizeof(double) * (size_t)n);
  return SL_OK;
}

sl_status sl_ic_params_set_options(sl_ic_params *p, const char *key, int n, const char *const *names) {
  const sl_ic_generator *g;
  int idx = -1;
  SL_TRY(find_param(p, key, &g, &idx));
  const sl_ic_param *sp = &g->params[idx];
  if (sp->kind != SL_IC_CHOICE && sp->kind != SL_IC_CHOICES)
    return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' expects %s, got option names", g->name, key, kind_name(sp->kind));
  if (n == 0 && sp->nullable) { p->p[idx].n = 0; return SL_OK; }
  const int max = sp->kind == SL_IC_CHOICE ? 1 : SL_IC_MAX_LIST;
  if (n < 1 || n > max)
    return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' expects %s, got %d names", g->name, key, kind_name(sp->kind), n);
  sl_ic_value val = { .n = n };
  for (int i = 0; i < n; i++) {
    const int o = sl_ic_option_index(sp, names[i]);
    if (o < 0)
      return SL_ERR(SL_ERR_ARG, "%s: parameter '%s' has no option '%s' (options: %s)", g->name, key, names[i], sp->options);
    val.v[i] = o;
  }
  p->p[idx] = val;
  return SL_OK;
}

/* ------------------------------------------------------------------ generation */

sl_status sl_ic_choose(int *out, int n, const double *w, uint64_t seed, uint64_t op_index) {
  double total = 0;
  for (int i = 0; i < n; i++) {
    if (!(w[i] >= 0) || !isfinite(w[i]))
      return SL_ERR(SL_ERR_ARG, "ic_type_weights: weight %d must be a finite number >= 0, got %g", i + 1, w[i]);
    total += w[i];
  }
  if (n < 1 || !(total > 0))
    return SL_ERR(SL_ERR_ARG, "ic_type_weights: need at least one positive weight (got %d weights summing to %g)", n, total);
  const sl_rng_stream s = sl_rng_stream_make(seed, sl_rng_stream_id(SL_RNG_PURPOSE_IC_TYPE, op_index, 0, 0));
  uint32_t u[2];
  sl_rng_u32(s, 0, 2, u);
  const double x = ((double)(u[0] >> 5) * 67108864.0 + (double)(u[1] >> 6)) * (1.0 / 9007199254740992.0) * total;
  double acc = 0;
  int last = 0;
  for (int i = 0; i < n; i++) {
    if (w[i] <= 0) continue;
    last = i;
    acc += w[i];
    if (x < acc) { *out = i; return SL_OK; }
  }
  *out = last;   /* x rounded up to the total: the last positive weight */
  return SL_OK;
}

sl_rng_stream sl_ic_stream(uint64_t seed, uint64_t op_index) {
  return sl_rng_stream_make(seed, sl_rng_stream_id(SL_RNG_PURPOSE_IC, op_index, 0, 0));
}

sl_status sl_ic_fill(float *out, int G, const sl_ic_params *p, sl_rng_stream s) {
  const sl_ic_generator *g = sl_ic_get(p->gen);
  if (!g) return SL_ERR(SL_ERR_ARG, "initial conditions: invalid generator id %d", p->gen);
  if (G < SL_IC_MIN_GRID)
    return SL_ERR(SL_ERR_ARG, "%s: grid size must be at least %d, got %d", g->name, SL_IC_MIN_GRID, G);
  const int64_t plane = (int64_t)G * G;
  memset(out, 0, sizeof(float) * (size_t)(SL_IC_CHANNELS * plane));
  sl_ic_rng r = { s, 0 };
  const sl_status st = g->fill(out, G, p->p, &r);
  if (st != SL_OK) {
    /* Shared helpers (spectral synthesis, scratch) do not know the generator: name it. */
    const char *m = sl_error_message();
    if (strncmp(m, g->name, strlen(g->name)) == 0) return st;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", m);
    return SL_ERR(st, "%s: %s", g->name, msg);
  }
  if (g->standardized) {
    const int iv = sl_ic_param_index(p->gen, "variance");
    SL_ASSERT(iv >= 0);
    for (int c = 0; c < SL_IC_CHANNELS; c++) ic_standardize(out + c * plane, plane, p->p[iv].v[0]);
  }
  for (int64_t i = 0; i < SL_IC_CHANNELS * plane; i++)
    if (!isfinite(out[i]))
      return SL_ERR(SL_ERR_INTERNAL, "%s: produced a non-finite value at element %lld", g->name, (long long)i);
  return SL_OK;
}

static sl_status check_out(const sl_tensor *out, int ndim, const char *op) {
  char buf[96];
  if (sl_tensor_device(out) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_DEVICE, "%s: output must be a CPU tensor, got %s", op, sl_device_name(sl_tensor_device(out)));
  if (out->dtype != SL_DTYPE_F32)
    return SL_ERR(SL_ERR_DTYPE, "%s: output must be float32, got %s", op, sl_dtype_name(out->dtype));
  const int d = ndim - 3;
  if (out->ndim != ndim || out->shape[d] != SL_IC_CHANNELS || out->shape[d + 1] != out->shape[d + 2])
    return SL_ERR(SL_ERR_SHAPE, "%s: output must have shape %s[3,G,G], got %s", op, ndim == 4 ? "[n]+" : "",
                  sl_shape_str(buf, sizeof buf, out->ndim, out->shape));
  return SL_OK;
}

/* Writes a contiguous [3,G,G] block into a possibly strided [3,G,G] view. */
static void store_plane(sl_tensor *dst, int64_t base, const float *src, int G) {
  float *d = sl_tensor_data(dst);
  const int o = dst->ndim - 3;
  const int64_t s0 = dst->stride[o], s1 = dst->stride[o + 1], s2 = dst->stride[o + 2];
  for (int c = 0; c < SL_IC_CHANNELS; c++)
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++)
        d[base + c * s0 + y * s1 + x * s2] = src[((int64_t)c * G + y) * G + x];
}

sl_status sl_ic_generate(sl_tensor *out, const sl_ic_params *p, uint64_t seed, uint64_t op_index) {
  SL_TRY(check_out(out, 3, "ic_generate"));
  const int G = (int)out->shape[1];
  const int64_t n = (int64_t)SL_IC_CHANNELS * G * G;
  float *buf = ic_buf(n);
  if (!buf) return IC_OOM("ic_generate");
  sl_status st = sl_ic_fill(buf, G, p, sl_ic_stream(seed, op_index));
  if (st == SL_OK) store_plane(out, 0, buf, G);
  ic_buf_free(buf, n);
  return st;
}

sl_status sl_ic_generate_batch(sl_tensor *out, int64_t n, const sl_ic_params *const *params,
                               uint64_t seed, const uint64_t *op_index) {
  SL_TRY(check_out(out, 4, "ic_generate_batch"));
  if (out->shape[0] != n)
    return SL_ERR(SL_ERR_SHAPE, "ic_generate_batch: output has %lld rows but %lld ICs were requested",
                  (long long)out->shape[0], (long long)n);
  const int G = (int)out->shape[2];
  const int64_t plane = (int64_t)SL_IC_CHANNELS * G * G;
  /* Errors inside the parallel loop: the lowest failing row wins, so the message does not
   * depend on scheduling; its message is re-raised on this thread after the loop. */
  int64_t bad_row = n;
  sl_status bad_st = SL_OK;
  char bad_msg[512] = "";
  #pragma omp parallel for schedule(dynamic, 1) num_threads(sl_num_threads())
  for (int64_t i = 0; i < n; i++) {
    float *buf = ic_buf(plane);
    sl_status st = buf ? sl_ic_fill(buf, G, params[i], sl_ic_stream(seed, op_index[i])) : IC_OOM("ic_generate_batch");
    if (st == SL_OK) {
      store_plane(out, i * out->stride[0], buf, G);
    } else {
      #pragma omp critical(sl_ic_batch_error)
      if (i < bad_row) {
        bad_row = i;
        bad_st = st;
        snprintf(bad_msg, sizeof bad_msg, "%s", sl_error_message());
      }
    }
    ic_buf_free(buf, plane);
  }
  if (bad_st != SL_OK)
    return SL_ERR(bad_st, "ic_generate_batch: row %lld: %s", (long long)bad_row + 1, bad_msg);
  return SL_OK;
}
