/* ic_baseline.c — the baseline IC generators (spec/generation.md §4.3, with the §9.5 fix).
 *
 * All of them are standardised: each channel ends with zero mean and the `variance` parameter,
 * so families no longer differ by three orders of magnitude in amplitude.  Spectral ones
 * (gaussian_random_field, multiscale_grf, band_limited, heavy_tailed) measure wavenumbers in
 * cycles per domain and length scales as fractions of the domain; the geometric ones
 * (structured, localized, composite, sinusoids) follow the reference's pixel conventions.
 * Draw order inside a generator is part of its definition (it fixes which stream word feeds
 * which quantity); change it only together with the spec fixtures. */
#include "ic_internal.h"

/* ---------------------------------------------------------------- gaussian_random_field */
enum { GRF_L, GRF_VAR };

static sl_status grf_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  for (int c = 0; c < SL_IC_CHANNELS; c++) SL_TRY(ic_grf_unit(out + c * PLANE(G), G, p[GRF_L].v[0], r));
  return SL_OK;
}

/* ---------------------------------------------------------------- multiscale_grf */
enum { MS_SCALES, MS_VAR };

typedef struct { int n; double L[SL_IC_MAX_LIST], Z[SL_IC_MAX_LIST]; } ms_ctx;

/* Equal-energy sum of Gaussian spectra: each scale is divided by its total power on the grid,
 * so every scale contributes the same variance (the reference split var/len(scales) the same way). */
static double ms_P(double k, const void *ctx) {
  const ms_ctx *m = ctx;
  double s = 0;
  for (int i = 0; i < m->n; i++) if (m->Z[i] > 0) s += ic_gauss_spectrum(k, m->L[i]) / m->Z[i];
  return s;
}

static sl_status ms_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  ms_ctx m = { .n = p[MS_SCALES].n };
  for (int i = 0; i < m.n; i++) {
    m.L[i] = p[MS_SCALES].v[i];
    for (int iy = 0; iy < G; iy++)
      for (int ix = 0; ix < G; ix++) {
        const double ky = iy <= G / 2 ? iy : iy - G, kx = ix <= G / 2 ? ix : ix - G;
        if (iy || ix) m.Z[i] += ic_gauss_spectrum(sqrt(kx * kx + ky * ky), m.L[i]);
      }
  }
  for (int c = 0; c < SL_IC_CHANNELS; c++) SL_TRY(ic_spectral_field(out + c * PLANE(G), G, ms_P, &m, r));
  return SL_OK;
}

/* ---------------------------------------------------------------- band_limited */
enum { BL_KMIN, BL_KMAX, BL_VAR };

static double bl_P(double k, const void *ctx) {
  const double *b = ctx;
  return k >= b[0] && k <= b[1] ? 1.0 : 0.0;
}

static sl_status bl_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double band[2] = { p[BL_KMIN].v[0], p[BL_KMAX].v[0] };
  if (band[0] > band[1])
    return SL_ERR(SL_ERR_ARG, "band_limited: k_min (%g) must not exceed k_max (%g)", band[0], band[1]);
  for (int c = 0; c < SL_IC_CHANNELS; c++) SL_TRY(ic_spectral_field(out + c * PLANE(G), G, bl_P, band, r));
  return SL_OK;
}

/* ---------------------------------------------------------------- heavy_tailed */
enum { HT_ALPHA, HT_VAR };

static double ht_P(double k, const void *ctx) { return pow(k, -*(const double *)ctx); }

static sl_status ht_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  for (int c = 0; c < SL_IC_CHANNELS; c++) SL_TRY(ic_spectral_field(out + c * PLANE(G), G, ht_P, &p[HT_ALPHA].v[0], r));
  return SL_OK;
}

/* ---------------------------------------------------------------- sinusoids */
enum { SIN_N, SIN_KMIN, SIN_KMAX, SIN_VAR };

/* ch += a·sin(2π f (x cosθ + y sinθ)/G + φ): a plane wave with f cycles per domain. */
static void add_wave(float *ch, int G, double a, double f, double th, double phi) {
  const double kx = 2 * M_PI * f * cos(th) / G, ky = 2 * M_PI * f * sin(th) / G;
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++) ch[y * G + x] += (float)(a * sin(kx * x + ky * y + phi));
}

static sl_status sin_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double k0 = p[SIN_KMIN].v[0], k1 = p[SIN_KMAX].v[0];
  if (k0 > k1) return SL_ERR(SL_ERR_ARG, "sinusoids: k_min (%g) must not exceed k_max (%g)", k0, k1);
  for (int c = 0; c < SL_IC_CHANNELS; c++)
    for (int w = 0; w < (int)p[SIN_N].v[0]; w++) {
      const double a = ic_normal(r), f = ic_uniform(r, k0, k1);
      const double th = ic_uniform(r, 0, 2 * M_PI), phi = ic_uniform(r, 0, 2 * M_PI);
      add_wave(out + c * PLANE(G), G, a, f, th, phi);
    }
  return SL_OK;
}

/* ---------------------------------------------------------------- structured */
enum { ST_N, ST_TYPES, ST_VAR };
enum { ST_CIRCLE, ST_STRIPE, ST_BLOB };

static void add_blob(float *ch, int G, double a, double cx, double cy, double sigma) {
  const double inv = 1.0 / (2 * sigma * sigma);
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++) {
      const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
      ch[y * G + x] += (float)(a * exp(-d2 * inv));
    }
}

/* Reference semantics kept: each structure goes to one random channel, so a channel may stay
 * empty (it is then left at 0 by the normalisation). */
static sl_status st_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  for (int s = 0; s < (int)p[ST_N].v[0]; s++) {
    const int type = (int)p[ST_TYPES].v[ic_randint(r, p[ST_TYPES].n)];
    float *ch = out + ic_randint(r, SL_IC_CHANNELS) * PLANE(G);
    if (type == ST_CIRCLE) {
      const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G), rad = ic_uniform(r, 0, 0.2 * G);
      const double a = 2 * ic_normal(r);
      for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++)
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < rad * rad) ch[y * G + x] += (float)a;
    } else if (type == ST_STRIPE) {
      const double th = ic_uniform(r, 0, 2 * M_PI), f = ic_uniform(r, 1, 6), phi = ic_uniform(r, 0, 2 * M_PI);
      add_wave(ch, G, 1.0, f, th, phi);
    } else {
      const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G);
      const double sigma = fmax(0.5, ic_uniform(r, 0, 0.15 * G));   /* σ → 0 would be a NaN blob */
      add_blob(ch, G, 3 * ic_normal(r), cx, cy, sigma);
    }
  }
  return SL_OK;
}

/* ---------------------------------------------------------------- localized */
enum { LO_N, LO_WMIN, LO_WMAX, LO_VAR };

static sl_status lo_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double w0 = p[LO_WMIN].v[0], w1 = p[LO_WMAX].v[0];
  if (w0 > w1) return SL_ERR(SL_ERR_ARG, "localized: min_width (%g) must not exceed max_width (%g)", w0, w1);
  for (int b = 0; b < (int)p[LO_N].v[0]; b++) {
    const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G), sigma = ic_uniform(r, w0, w1);
    for (int c = 0; c < SL_IC_CHANNELS; c++) add_blob(out + c * PLANE(G), G, 2 * ic_normal(r), cx, cy, sigma);
  }
  return SL_OK;
}

/* ---------------------------------------------------------------- composite */
enum { CO_PATTERN, CO_NOISE, CO_LSCALE, CO_VAR };
enum { CO_WAVES, CO_GRID, CO_RADIAL };

static sl_status co_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int pattern = (int)p[CO_PATTERN].v[0];
  float *base = out;   /* the pattern is drawn into channel 0, then copied */
  if (pattern == CO_WAVES) {
    const double f = ic_uniform(r, 2, 6), th = ic_uniform(r, 0, 2 * M_PI);
    add_wave(base, G, 1.0, f, th, 0.0);
  } else if (pattern == CO_GRID) {
    const double f = ic_uniform(r, 3, 6);
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++)
        base[y * G + x] = (float)(sin(2 * M_PI * f * x / G) * sin(2 * M_PI * f * y / G));
  } else {
    const double f = ic_uniform(r, 2, 6), c0 = G / 2.0;
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++)
        base[y * G + x] = (float)sin(2 * M_PI * f * hypot(x - c0, y - c0) / G);
  }
  ic_copy_ch0(out, G);
  for (int c = 0; c < SL_IC_CHANNELS; c++)
    SL_TRY(ic_add_grf(out + c * PLANE(G), G, p[CO_LSCALE].v[0], p[CO_NOISE].v[0], r));
  return SL_OK;
}

/* ---------------------------------------------------------------- table */

const sl_ic_generator sl_ic_baseline[] = {
  { .name = "gaussian_random_field", .standardized = 1, .fill = grf_fill,
    .doc = "stationary Gaussian random field with Gaussian covariance of length length_scale·G px",
    .nparams = 2, .params = {
      IC_NUM("length_scale", 0.1, 1e-3, 1.0, "correlation length, fraction of the domain"),
      IC_VARIANCE } },
  { .name = "multiscale_grf", .standardized = 1, .fill = ms_fill,
    .doc = "equal-energy superposition of GRFs at several length scales",
    .nparams = 2, .params = {
      { .name = "scales", .kind = SL_IC_LIST, .lo = 1e-3, .hi = 1.0, .ndef = 5,
        .def = { 0.02, 0.05, 0.1, 0.2, 0.4 }, .doc = "correlation lengths, fractions of the domain" },
      IC_VARIANCE } },
  { .name = "band_limited", .standardized = 1, .fill = bl_fill,
    .doc = "white noise restricted to the wavenumber annulus k_min <= |k| <= k_max",
    .nparams = 3, .params = {
      IC_NUM("k_min", 2.0, 0.0, 1e4, "lowest wavenumber, cycles per domain"),
      IC_NUM("k_max", 8.0, 0.0, 1e4, "highest wavenumber, cycles per domain"),
      IC_VARIANCE } },
  { .name = "sinusoids", .standardized = 1, .fill = sin_fill,
    .doc = "per channel, a sum of num_waves plane waves with N(0,1) amplitudes and random directions",
    .nparams = 4, .params = {
      IC_INT("num_waves", 4, 1, 256, "plane waves per channel"),
      IC_NUM("k_min", 1.0, 0.0, 1e4, "lowest frequency, cycles per domain"),
      IC_NUM("k_max", 8.0, 0.0, 1e4, "highest frequency, cycles per domain"),
      IC_VARIANCE } },
  { .name = "structured", .standardized = 1, .fill = st_fill,
    .doc = "num_structures circles/stripes/blobs, each added to one random channel",
    .nparams = 3, .params = {
      IC_INT("num_structures", 5, 0, 1024, "number of structures"),
      { .name = "structure_types", .kind = SL_IC_CHOICES, .ndef = 3, .def = { ST_CIRCLE, ST_STRIPE, ST_BLOB },
        .options = "circle|stripe|blob", .doc = "types drawn uniformly from this list" },
      IC_VARIANCE } },
  { .name = "localized", .standardized = 1, .fill = lo_fill,
    .doc = "num_blobs Gaussian blobs with per-channel amplitudes 2·N(0,1)",
    .nparams = 4, .params = {
      IC_INT("num_blobs", 5, 1, 1024, "number of blobs"),
      IC_NUM("min_width", 5.0, 0.5, 1e4, "smallest blob sigma, px"),
      IC_NUM("max_width", 15.0, 0.5, 1e4, "largest blob sigma, px"),
      IC_VARIANCE } },
  { .name = "composite", .standardized = 1, .fill = co_fill,
    .doc = "a waves/grid/radial pattern shared by the channels plus GRF noise per channel",
    .nparams = 4, .params = {
      IC_CHOICE("pattern", CO_WAVES, "waves|grid|radial", "deterministic pattern family"),
      IC_NUM("noise_level", 0.1, 0.0, 1e3, "std of the GRF noise relative to the unit-amplitude pattern"),
      IC_NUM("grf_length_scale", 0.05, 1e-3, 1.0, "noise correlation length, fraction of the domain"),
      IC_VARIANCE } },
  { .name = "heavy_tailed", .standardized = 1, .fill = ht_fill,
    .doc = "power-law spectrum P(k) ∝ |k|^-alpha (k in cycles per domain, DC removed)",
    .nparams = 2, .params = {
      IC_NUM("alpha", 1.5, 0.0, 10.0, "spectral exponent"),
      IC_VARIANCE } },
};
const int sl_ic_baseline_count = (int)(sizeof sl_ic_baseline / sizeof sl_ic_baseline[0]);
