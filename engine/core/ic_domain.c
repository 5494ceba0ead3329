/* ic_domain.c — the 21 domain IC generators of spec/generation.md §4.4 (physics, chemistry,
 * biology, information), with the reference's defects fixed (§9.5, §9.17):
 *  - every random draw comes from the operator's Philox stream (the reference mixed in numpy's
 *    unseeded global RNG);
 *  - noise terms "GRF(ℓ, v)" are unit-variance GRFs scaled to std √v, with ℓ a fraction of the
 *    domain (or pixels where the parameter says px), so the intended noise level is real
 *    instead of ~1e-3;
 *  - the `*_range` keys of the reference configs (wavelength_range, decay_length_range,
 *    front_width_range) are honoured: when set, the value is drawn uniformly per IC/feature;
 *  - mutual_information "hierarchical" works, gene_expression wavelengths are fractions of the
 *    domain (never below 2 px), dla_cluster grows a genuine random-walk aggregate.
 * Normalisation: most of these are bounded or physically scaled patterns and are returned as
 * generated (see the table at the end and docs/initial-conditions.md); critical_fluctuation,
 * shannon_entropy and mutual_information are standardised.
 * Unless stated, a pattern is shared by the three channels and noise is independent per channel. */
#include <string.h>
#include "ic_internal.h"

#define TWO_PI (2.0 * M_PI)

/* Independent GRF noise of std amp on each channel; L_px in pixels. */
static sl_status noise_px(float *out, int G, double L_px, double amp, sl_ic_rng *r) {
  for (int c = 0; c < SL_IC_CHANNELS; c++) SL_TRY(ic_add_grf(out + c * PLANE(G), G, L_px / G, amp, r));
  return SL_OK;
}
static sl_status noise_dom(float *out, int G, double L, double amp, sl_ic_rng *r) {
  return noise_px(out, G, L * G, amp, r);
}

static inline double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* A value drawn from a nullable range parameter when set, else the scalar parameter. */
static double scalar_or_range(const sl_ic_value *scalar, const sl_ic_value *range, sl_ic_rng *r) {
  return range->n == 2 ? ic_uniform(r, range->v[0], range->v[1]) : scalar->v[0];
}

/* Normalised coordinate along a random axis-type direction: 0 = x, 1 = y, 2 = diagonal. */
static double axis_coord(int dir, int x, int y, int G) {
  const double s = 1.0 / (G - 1);
  return dir == 0 ? x * s : dir == 1 ? y * s : 0.5 * (x + y) * s;
}

/* ============================================================== quantum_wave_packet */
enum { QW_SIGMA, QW_K, QW_N };

static sl_status qw_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double sigma = p[QW_SIGMA].v[0];
  float *re = out, *im = out + PLANE(G), *dens = out + 2 * PLANE(G);
  for (int n = 0; n < (int)p[QW_N].v[0]; n++) {
    const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G), th = ic_uniform(r, 0, TWO_PI);
    const double k = ic_uniform(r, p[QW_K].v[0], p[QW_K].v[1]);
    const double kx = k * cos(th), ky = k * sin(th);
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++) {
        const double dx = x - cx, dy = y - cy;
        const double env = exp(-(dx * dx + dy * dy) / (4 * sigma * sigma)), ph = kx * dx + ky * dy;
        re[y * G + x] += (float)(env * cos(ph));
        im[y * G + x] += (float)(env * sin(ph));
        dens[y * G + x] += (float)(env * env);
      }
  }
  ic_scale_maxabs(dens, PLANE(G));
  return SL_OK;
}

/* ============================================================== turing_pattern */
enum { TU_TYPE, TU_WL, TU_WLR, TU_AMP };
enum { TU_SPOTS, TU_STRIPES, TU_LABYRINTH, TU_MIXED };

/* The reference used fixed angles through the origin (every spot field identical up to noise);
 * a random rotation and origin keep the symmetry class but vary the pattern. */
static sl_status tu_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double lambda = scalar_or_range(&p[TU_WL], &p[TU_WLR], r), k = TWO_PI / lambda;
  int type = (int)p[TU_TYPE].v[0];
  if (type == TU_MIXED) type = ic_randint(r, 3);
  const double a0 = ic_uniform(r, 0, TWO_PI), ox = ic_uniform(r, 0, G), oy = ic_uniform(r, 0, G);
  double ang[4];
  int na;
  if (type == TU_SPOTS) { na = 3; for (int i = 0; i < 3; i++) ang[i] = a0 + i * TWO_PI / 3; }
  else if (type == TU_STRIPES) { na = 1; ang[0] = a0; }
  else { na = 2 + ic_randint(r, 3); for (int i = 0; i < na; i++) ang[i] = ic_uniform(r, 0, M_PI); }
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++) {
      double s = 0;
      for (int i = 0; i < na; i++) s += cos(k * ((x - ox) * cos(ang[i]) + (y - oy) * sin(ang[i])));
      out[y * G + x] = (float)(s / na);
    }
  ic_copy_ch0(out, G);
  return noise_px(out, G, lambda, p[TU_AMP].v[0], r);
}

/* ============================================================== thermal_gradient */
enum { TG_DIR, TG_TRANGE, TG_BETA, TG_AMP, TG_LEN };

static sl_status tg_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  int dir = (int)p[TG_DIR].v[0] - 1;   /* options: random|x|y|diagonal */
  if (dir < 0) dir = ic_randint(r, 3);
  const double t0 = p[TG_TRANGE].v[0], dt = p[TG_TRANGE].v[1] - t0, beta = p[TG_BETA].v[0];
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++) out[y * G + x] = (float)(t0 + dt * pow(axis_coord(dir, x, y, G), beta));
  ic_copy_ch0(out, G);
  return noise_px(out, G, p[TG_LEN].v[0], p[TG_AMP].v[0], r);
}

/* ============================================================== morphogen_gradient */
enum { MG_DECAY, MG_DECAYR, MG_N, MG_NOISE, MG_TYPE };
enum { MG_EXP, MG_POWER, MG_SIGMOID };

static sl_status mg_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int type = (int)p[MG_TYPE].v[0];
  for (int s = 0; s < (int)p[MG_N].v[0]; s++) {
    const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G), c0 = ic_uniform(r, 0.5, 1.0);
    const double lam = scalar_or_range(&p[MG_DECAY], &p[MG_DECAYR], r);
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++) {
        const double d = hypot(x - cx, y - cy);
        const double v = type == MG_EXP ? exp(-d / lam)
                       : type == MG_POWER ? 1.0 / (1.0 + (d / lam) * (d / lam))
                       : 1.0 / (1.0 + exp((d - lam) / (0.2 * lam)));
        out[y * G + x] += (float)(c0 * v);
      }
  }
  ic_copy_ch0(out, G);
  SL_TRY(noise_dom(out, G, 0.05, p[MG_NOISE].v[0], r));
  for (int c = 0; c < SL_IC_CHANNELS; c++) ic_minmax_to(out + c * PLANE(G), PLANE(G), 0.0, 1.0);
  return SL_OK;
}

/* ============================================================== reaction_front */
enum { RF_SHAPE, RF_W, RF_WR, RF_N };
enum { RF_PLANAR, RF_CIRCULAR, RF_IRREGULAR };

static sl_status rf_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int shape = (int)p[RF_SHAPE].v[0];
  const double c0 = (G - 1) / 2.0;
  float *g = shape == RF_IRREGULAR ? ic_buf(PLANE(G)) : NULL;
  if (shape == RF_IRREGULAR && !g) return IC_OOM("reaction_front");
  sl_status st = SL_OK;
  for (int f = 0; f < (int)p[RF_N].v[0] && st == SL_OK; f++) {
    const double w = scalar_or_range(&p[RF_W], &p[RF_WR], r);
    if (shape == RF_PLANAR) {
      const double a = ic_uniform(r, 0, TWO_PI), o = ic_uniform(r, -G / 4.0, G / 4.0);
      for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) {
          const double v = 0.5 * (1 + tanh(((x - c0) * cos(a) + (y - c0) * sin(a) - o) / w));
          out[y * G + x] = fmaxf(out[y * G + x], (float)v);
        }
    } else if (shape == RF_CIRCULAR) {
      const double cx = ic_uniform(r, 0.25 * G, 0.75 * G), cy = ic_uniform(r, 0.25 * G, 0.75 * G);
      const double R = ic_uniform(r, 0.2 * G, 0.5 * G);
      for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) {
          const double v = 0.5 * (1 + tanh((R - hypot(x - cx, y - cy)) / w));
          out[y * G + x] = fmaxf(out[y * G + x], (float)v);
        }
    } else {
      /* Level set of a smooth unit GRF (ℓ = 0.2 domain); its slope is ~1/ℓ per px, so dividing
       * the level offset by w/ℓ gives a front about w px wide. */
      const double t = ic_uniform(r, -1, 1), ell = 0.2 * G;
      st = ic_grf_unit(g, G, 0.2, r);
      for (int64_t i = 0; st == SL_OK && i < PLANE(G); i++)
        out[i] = fmaxf(out[i], (float)(0.5 * (1 + tanh((g[i] - t) * ell / w))));
    }
  }
  ic_buf_free(g, PLANE(G));
  ic_copy_ch0(out, G);
  return st;
}

/* ============================================================== light_cone */
enum { LC_R, LC_SMOOTH, LC_LEN, LC_N };

static sl_status lc_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double R = p[LC_R].v[0], s = p[LC_SMOOTH].v[0];
  float *g = ic_buf(PLANE(G));
  if (!g) return IC_OOM("light_cone");
  sl_status st = SL_OK;
  for (int n = 0; n < (int)p[LC_N].v[0] && st == SL_OK; n++) {
    const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G);
    for (int c = 0; c < SL_IC_CHANNELS && st == SL_OK; c++) {
      st = ic_grf_unit(g, G, fmin(1.0, p[LC_LEN].v[0] / G), r);
      for (int y = 0; st == SL_OK && y < G; y++)
        for (int x = 0; x < G; x++)
          out[c * PLANE(G) + y * G + x] += (float)(sigmoid((R - hypot(x - cx, y - cy)) / s) * g[y * G + x]);
    }
  }
  ic_buf_free(g, PLANE(G));
  return st;
}

/* ============================================================== critical_fluctuation */
enum { CF_XI, CF_ETA, CF_VAR };

typedef struct { int G; double xi, eta; } cf_ctx;

/* Ornstein–Zernike form near criticality, (κ² + ξ⁻²)^-(2-η)/2 with κ in rad/px; the reference's
 * exponent -η/2 was almost flat (white noise) whatever ξ. */
static double cf_P(double k, const void *ctx) {
  const cf_ctx *c = ctx;
  const double kap = TWO_PI * k / c->G;
  return pow(kap * kap + 1.0 / (c->xi * c->xi), -(2.0 - c->eta) / 2.0);
}

static sl_status cf_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const cf_ctx c = { G, p[CF_XI].v[0], p[CF_ETA].v[0] };
  for (int ch = 0; ch < SL_IC_CHANNELS; ch++) SL_TRY(ic_spectral_field(out + ch * PLANE(G), G, cf_P, &c, r));
  return SL_OK;
}

/* ============================================================== phase_boundary */
enum { PB_W, PB_ANGLE, PB_AMP };

static sl_status pb_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double a = p[PB_ANGLE].n ? p[PB_ANGLE].v[0] : ic_uniform(r, 0, TWO_PI);
  const double o = ic_uniform(r, -G / 4.0, G / 4.0), w = p[PB_W].v[0], c0 = (G - 1) / 2.0;
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++)
      out[y * G + x] = (float)tanh(((x - c0) * cos(a) + (y - c0) * sin(a) - o) / (sqrt(2.0) * w));
  ic_copy_ch0(out, G);
  return noise_dom(out, G, 0.1, p[PB_AMP].v[0], r);
}

/* ============================================================== bz_reaction */
enum { BZ_TYPE, BZ_N, BZ_WL, BZ_PHASE };
enum { BZ_SPIRAL, BZ_TARGET, BZ_TURBULENT };

static sl_status bz_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int type = (int)p[BZ_TYPE].v[0];
  const double k = TWO_PI / p[BZ_WL].v[0], delta = p[BZ_PHASE].v[0];
  const int n = type == BZ_TURBULENT ? 3 + ic_randint(r, 5) : (int)p[BZ_N].v[0];
  float *c0 = out, *c1 = out + PLANE(G), *c2 = out + 2 * PLANE(G);
  for (int s = 0; s < n; s++) {
    const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G);
    const double h = type == BZ_TARGET ? 0.0 : (ic_randint(r, 2) ? 1.0 : -1.0);
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++) {
        const double phi = h * atan2(y - cy, x - cx) - k * hypot(x - cx, y - cy);
        const double a = cos(phi), b = sin(phi + delta);
        c0[y * G + x] += (float)a;
        c1[y * G + x] += (float)b;
        c2[y * G + x] += (float)(type == BZ_TARGET ? a : 0.5 * (a + b));
      }
  }
  ic_scale_maxabs(out, 3 * PLANE(G));
  return SL_OK;
}

/* ============================================================== shannon_entropy */
enum { SE_PATTERN, SE_RANGE, SE_PATCH, SE_VAR };
enum { SE_GRADIENT, SE_PATCHY, SE_RANDOM };

/* Base GRF plus white noise whose log-std follows an "entropy map" m ∈ [0,1]. */
static sl_status se_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int pat = (int)p[SE_PATTERN].v[0];
  const double lo = p[SE_RANGE].v[0], hi = p[SE_RANGE].v[1];
  float *m = ic_buf(PLANE(G)), *z = ic_buf(PLANE(G));
  sl_status st = (m && z) ? SL_OK : IC_OOM("shannon_entropy");
  if (st == SL_OK) {
    if (pat == SE_GRADIENT) {
      const int dir = ic_randint(r, 3);
      for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) m[y * G + x] = (float)axis_coord(dir, x, y, G);
    } else if (pat == SE_PATCHY) {
      st = ic_grf_unit(m, G, fmin(1.0, p[SE_PATCH].v[0] / G), r);
      ic_minmax_to(m, PLANE(G), 0, 1);
    } else {
      ic_uniforms(r, m, PLANE(G));
    }
  }
  for (int c = 0; c < SL_IC_CHANNELS && st == SL_OK; c++) {
    float *ch = out + c * PLANE(G);
    st = ic_add_grf(ch, G, 0.2, sqrt(0.5), r);
    ic_normals(r, z, PLANE(G));
    for (int64_t i = 0; st == SL_OK && i < PLANE(G); i++) ch[i] += (float)exp(lo + (hi - lo) * m[i]) * z[i];
  }
  ic_buf_free(m, PLANE(G));
  ic_buf_free(z, PLANE(G));
  return st;
}

/* ============================================================== interference_pattern */
enum { IP_N, IP_WL, IP_LC, IP_SPACING };

static sl_status ip_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int n = (int)p[IP_N].v[0];
  const double k = TWO_PI / p[IP_WL].v[0], lc = p[IP_LC].v[0];
  const int fixed = n == 2 && p[IP_SPACING].n;
  for (int s = 0; s < n; s++) {
    double sx, sy;
    if (fixed) { sx = G / 2.0 + (s ? 0.5 : -0.5) * p[IP_SPACING].v[0]; sy = G / 2.0; }
    else { sx = ic_uniform(r, 0.1 * G, 0.9 * G); sy = ic_uniform(r, 0.1 * G, 0.9 * G); }
    const double phase = ic_uniform(r, 0, TWO_PI);
    for (int c = 0; c < SL_IC_CHANNELS; c++) {
      const double amp = cos(ic_uniform(r, 0, TWO_PI));
      for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) {
          const double d = hypot(x - sx, y - sy);
          out[c * PLANE(G) + y * G + x] += (float)(amp * cos(k * d + phase) * exp(-d * d / (2 * lc * lc)));
        }
    }
  }
  ic_scale_maxabs(out, 3 * PLANE(G));
  return SL_OK;
}

/* ============================================================== cell_population */
enum { CP_N, CP_RADIUS, CP_CLUSTER, CP_KERNEL };

static sl_status cp_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int n = (int)p[CP_N].v[0];
  const double rad = p[CP_RADIUS].v[0], cl = p[CP_CLUSTER].v[0], w = p[CP_KERNEL].v[0];
  const int ncl = (int)fmax(1.0, floor(0.1 * n * (1 - cl)));
  const double spread = 0.3 * G * (1 - cl);
  double *cx = sl_alloc(sizeof(double) * (size_t)(2 * n + 2 * ncl));
  if (!cx) return IC_OOM("cell_population");
  double *cy = cx + n, *kx = cx + 2 * n, *ky = kx + ncl;
  for (int i = 0; i < ncl; i++) { kx[i] = ic_uniform(r, 0, G); ky[i] = ic_uniform(r, 0, G); }
  /* Rejection sampling with a minimum spacing of two radii, at most 100 tries per cell. */
  int m = 0;
  for (int t = 0; t < 100 * n && m < n; t++) {
    double x, y;
    if (ic_unif(r) < cl) {
      const int k = ic_randint(r, ncl);
      const double d = ic_uniform(r, 0, spread), a = ic_uniform(r, 0, TWO_PI);
      x = fmod(kx[k] + d * cos(a) + G, G);
      y = fmod(ky[k] + d * sin(a) + G, G);
    } else {
      x = ic_uniform(r, 0, G);
      y = ic_uniform(r, 0, G);
    }
    int ok = 1;
    for (int j = 0; j < m && ok; j++) ok = hypot(x - cx[j], y - cy[j]) >= 2 * rad;
    if (ok) { cx[m] = x; cy[m] = y; m++; }
  }
  for (int i = 0; i < m; i++)
    for (int c = 0; c < SL_IC_CHANNELS; c++) {
      const double a = ic_unif(r);
      float *ch = out + c * PLANE(G);
      for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++) {
          const double d2 = (x - cx[i]) * (x - cx[i]) + (y - cy[i]) * (y - cy[i]);
          ch[y * G + x] += (float)(a * exp(-d2 / (2 * w * w)));
        }
    }
  sl_free(cx, sizeof(double) * (size_t)(2 * n + 2 * ncl));
  ic_scale_maxabs(out, 3 * PLANE(G));
  return SL_OK;
}

/* ============================================================== chromatin_domain */
enum { CD_N, CD_SIZE, CD_SHARP, CD_TYPE };
enum { CD_TAD, CD_AB };

static sl_status cd_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double sh = p[CD_SHARP].v[0];
  if ((int)p[CD_TYPE].v[0] == CD_TAD) {
    /* Topologically associating domains: square blocks along the diagonal, soft edges. */
    double pos = 0;
    for (int d = 0; d < (int)p[CD_N].v[0] && pos < G; d++) {
      const double size = ic_uniform(r, p[CD_SIZE].v[0], p[CD_SIZE].v[1]), end = pos + size;
      for (int c = 0; c < SL_IC_CHANNELS; c++) {
        const double s = ic_uniform(r, -1, 1);
        for (int y = 0; y < G; y++) {
          const double wy = sigmoid(sh * (y - pos)) * sigmoid(sh * (end - y));
          for (int x = 0; x < G; x++)
            out[c * PLANE(G) + y * G + x] += (float)(s * wy * sigmoid(sh * (x - pos)) * sigmoid(sh * (end - x)));
        }
      }
      pos = end;
    }
  } else {
    /* A/B compartments: a checkerboard of two levels per channel. */
    const double lam = ic_uniform(r, 15, 40), px = ic_uniform(r, 0, TWO_PI), py = ic_uniform(r, 0, TWO_PI);
    for (int c = 0; c < SL_IC_CHANNELS; c++) {
      const double a = ic_uniform(r, -1, 1), b = ic_uniform(r, -1, 1);
      for (int y = 0; y < G; y++)
        for (int x = 0; x < G; x++)
          out[c * PLANE(G) + y * G + x] =
              (float)(sin(TWO_PI * x / lam + px) * sin(TWO_PI * y / lam + py) >= 0 ? a : b);
    }
  }
  return SL_OK;
}

/* ============================================================== shock_front */
enum { SF_POS, SF_ANGLE, SF_W, SF_RATIO, SF_AMP };

static sl_status sf_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double pos = p[SF_POS].n ? p[SF_POS].v[0] : ic_uniform(r, 0.2, 0.8);
  const double a = p[SF_ANGLE].n ? p[SF_ANGLE].v[0] : ic_uniform(r, 0, TWO_PI);
  const double w = p[SF_W].v[0], ratio = p[SF_RATIO].v[0], c0 = (G - 1) / 2.0;
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++) {
      const double xr = ((x - c0) * cos(a) + (y - c0) * sin(a)) / G + 0.5;
      const double pr = tanh((xr - pos) * G / w);
      out[y * G + x] = (float)(0.5 * (1 - pr) + ratio * 0.5 * (1 + pr));
    }
  ic_copy_ch0(out, G);
  return noise_dom(out, G, 0.05, p[SF_AMP].v[0], r);
}

/* ============================================================== gene_expression */
enum { GE_N, GE_PATTERNS, GE_CORR, GE_RANGE };
enum { GE_GRADIENT, GE_SPOTS, GE_STRIPES, GE_RADIAL, GE_UNIFORM };

/* Gene g is channel g (genes beyond the third have no channel); with fewer genes than channels
 * the extra channels repeat channel 0 plus small noise, as in the reference. */
static sl_status ge_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int ngenes = (int)p[GE_N].v[0], nch = ngenes < SL_IC_CHANNELS ? ngenes : SL_IC_CHANNELS;
  const double corr = p[GE_CORR].v[0];
  float *shared = ic_buf(PLANE(G)), *z = ic_buf(PLANE(G));
  sl_status st = (shared && z) ? ic_grf_unit(shared, G, 0.15, r) : IC_OOM("gene_expression");
  if (st == SL_OK) ic_minmax_to(shared, PLANE(G), 0, 1);
  for (int g = 0; g < nch && st == SL_OK; g++) {
    const int pat = p[GE_PATTERNS].n ? (int)p[GE_PATTERNS].v[g % p[GE_PATTERNS].n] : ic_randint(r, 5);
    float *ch = out + g * PLANE(G);
    /* Wavelengths are fractions of the domain (the reference used 0.1–0.3 *pixels*: aliasing). */
    const double lam = fmax(2.0, ic_uniform(r, 0.1, 0.3) * G), k = TWO_PI / lam;
    const double q1 = ic_uniform(r, 0, TWO_PI), q2 = ic_uniform(r, 0, TWO_PI);
    const int dir = ic_randint(r, 3);
    const double cx = ic_uniform(r, 0.25 * G, 0.75 * G), cy = ic_uniform(r, 0.25 * G, 0.75 * G);
    const double level = ic_uniform(r, 0.2, 0.8), sr = 0.25 * G;
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++) {
        double b;
        switch (pat) {
          case GE_GRADIENT: b = axis_coord(dir, x, y, G); break;
          case GE_SPOTS:    b = 0.5 * (1 + cos(k * x + q1) * cos(k * y + q2)); break;
          case GE_STRIPES:  b = 0.5 * (1 + sin(k * (x * cos(q1 / 2) + y * sin(q1 / 2)) + q2)); break;
          case GE_RADIAL:   b = exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * sr * sr)); break;
          default:          b = level; break;
        }
        ch[y * G + x] = (float)(corr * shared[y * G + x] + (1 - corr) * b);
      }
    ic_normals(r, z, PLANE(G));
    for (int64_t i = 0; i < PLANE(G); i++) ch[i] += 0.01f * z[i];
    ic_minmax_to(ch, PLANE(G), p[GE_RANGE].v[0], p[GE_RANGE].v[1]);
  }
  for (int c = nch; c < SL_IC_CHANNELS && st == SL_OK; c++) {
    ic_normals(r, z, PLANE(G));
    for (int64_t i = 0; i < PLANE(G); i++) out[c * PLANE(G) + i] = out[i] + 0.01f * z[i];
  }
  ic_buf_free(shared, PLANE(G));
  ic_buf_free(z, PLANE(G));
  return st;
}

/* ============================================================== coherent_state */
enum { CS_ALPHA, CS_SIGMA, CS_FREQ, CS_N };

/* Displaced vacuum: vacuum fluctuations of variance 1/2 (a GRF, ℓ = 0.1 domain, per channel)
 * plus α-weighted Gaussian-enveloped oscillations shared by the channels. */
static sl_status cs_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double alpha = p[CS_ALPHA].v[0], sigma = p[CS_SIGMA].v[0], k = p[CS_FREQ].v[0];
  for (int m = 0; m < (int)p[CS_N].v[0]; m++) {
    const double cx = ic_uniform(r, 0, G), cy = ic_uniform(r, 0, G), th = ic_uniform(r, 0, TWO_PI);
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++) {
        const double dx = x - cx, dy = y - cy;
        out[y * G + x] += (float)(alpha * exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) *
                                  cos(k * (dx * cos(th) + dy * sin(th))));
      }
  }
  ic_copy_ch0(out, G);
  return noise_dom(out, G, 0.1, sqrt(0.5), r);
}

/* ============================================================== relativistic_wave_packet */
enum { RW_V, RW_SIGMA, RW_K };

static sl_status rw_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const double v = p[RW_V].v[0], gamma = 1.0 / sqrt(1 - v * v), sigma = p[RW_SIGMA].v[0];
  const double ox = ic_uniform(r, -G / 4.0, G / 4.0), oy = ic_uniform(r, -G / 4.0, G / 4.0);
  const double a = ic_uniform(r, 0, TWO_PI), k = ic_uniform(r, p[RW_K].v[0], p[RW_K].v[1]);
  const double phase = ic_uniform(r, 0, TWO_PI), c0 = (G - 1) / 2.0;
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++) {
      const double dx = x - c0 - ox, dy = y - c0 - oy;
      const double xp = dx * cos(a) + dy * sin(a), yp = -dx * sin(a) + dy * cos(a);
      /* Lorentz contraction along the motion: the envelope is narrower by γ in x'. */
      out[y * G + x] = (float)(exp(-(gamma * gamma * xp * xp + yp * yp) / (2 * sigma * sigma)) * cos(k * xp + phase));
    }
  ic_copy_ch0(out, G);
  return SL_OK;
}

/* ============================================================== mutual_information */
enum { MI_PATTERN, MI_LEN, MI_NOISE, MI_NCORR, MI_VAR };
enum { MI_LOCAL, MI_LONG, MI_HIER };

static sl_status mi_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int pat = (int)p[MI_PATTERN].v[0];
  const double L = p[MI_LEN].v[0], a = 1 - p[MI_NOISE].v[0], b = sqrt(1 - a * a);
  float *lat = ic_buf(PLANE(G)), *z = ic_buf(PLANE(G));
  sl_status st = (lat && z) ? SL_OK : IC_OOM("mutual_information");
  if (st == SL_OK) {
    if (pat == MI_HIER) {
      /* Three octaves of structure with equal energy (the reference crashed here). */
      const double Ls[3] = { 0.5 * L, L, 2 * L };
      for (int i = 0; i < 3 && st == SL_OK; i++) st = ic_add_grf(lat, G, Ls[i], 1.0 / sqrt(3.0), r);
    } else {
      st = ic_add_grf(lat, G, pat == MI_LOCAL ? 0.5 * L : 2 * L, 1.0, r);
    }
  }
  for (int c = 0; c < SL_IC_CHANNELS && st == SL_OK; c++) {
    const int correlated = c < (int)p[MI_NCORR].v[0];
    ic_normals(r, z, PLANE(G));
    for (int64_t i = 0; i < PLANE(G); i++)
      out[c * PLANE(G) + i] = correlated ? (float)(a * lat[i] + b * z[i]) : z[i];
  }
  ic_buf_free(lat, PLANE(G));
  ic_buf_free(z, PLANE(G));
  return st;
}

/* ============================================================== regulatory_network */
enum { RN_TOPO, RN_N, RN_P, RN_DECAY };
enum { RN_RANDOM, RN_SCALE_FREE, RN_HUB };
#define RN_MAX 64

/* Gene states relax through x ← tanh(W x + noise); channel c shows the state after iteration
 * 3 + c (the reference copied the final state into every channel), painted as Gaussian
 * expression domains around random gene positions. */
static sl_status rn_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int n = (int)p[RN_N].v[0], topo = (int)p[RN_TOPO].v[0];
  const double pc = p[RN_P].v[0], sig = p[RN_DECAY].v[0] * G;
  static const int iters = 5;
  double W[RN_MAX][RN_MAX] = { { 0 } }, x[RN_MAX], nx[RN_MAX], state[SL_IC_CHANNELS][RN_MAX];
  int deg[RN_MAX] = { 0 };
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      int edge = 0;
      if (topo == RN_RANDOM) edge = i != j && ic_unif(r) < pc;
      else if (topo == RN_HUB) edge = i == 0 ? j != 0 : (j == 0 && ic_unif(r) < pc);
      if (edge) W[i][j] = 1;
    }
  if (topo == RN_SCALE_FREE)   /* preferential attachment, one edge per new gene, random direction */
    for (int j = 1; j < n; j++) {
      int tot = 0;
      for (int i = 0; i < j; i++) tot += deg[i] + 1;
      int pick = ic_randint(r, tot), i = 0;
      while (pick >= deg[i] + 1) pick -= deg[i++] + 1;
      if (ic_randint(r, 2)) W[i][j] = 1; else W[j][i] = 1;
      deg[i]++; deg[j]++;
    }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) W[i][j] *= ic_uniform(r, -1, 1);
  for (int i = 0; i < n; i++) x[i] = ic_unif(r);
  for (int t = 1; t <= iters; t++) {
    for (int i = 0; i < n; i++) {
      double s = 0.01 * ic_normal(r);
      for (int j = 0; j < n; j++) s += W[i][j] * x[j];
      nx[i] = tanh(s);
    }
    memcpy(x, nx, sizeof(double) * (size_t)n);
    if (t > iters - SL_IC_CHANNELS) memcpy(state[t - 1 - (iters - SL_IC_CHANNELS)], x, sizeof(double) * (size_t)n);
  }
  for (int g = 0; g < n; g++) {
    const double gx = ic_uniform(r, 0, G), gy = ic_uniform(r, 0, G);
    for (int y = 0; y < G; y++)
      for (int xx = 0; xx < G; xx++) {
        const double e = exp(-((xx - gx) * (xx - gx) + (y - gy) * (y - gy)) / (2 * sig * sig));
        for (int c = 0; c < SL_IC_CHANNELS; c++) out[c * PLANE(G) + y * G + xx] += (float)(state[c][g] * e);
      }
  }
  ic_scale_maxabs(out, 3 * PLANE(G));
  return SL_OK;
}

/* ============================================================== dla_cluster */
enum { DL_SIZE, DL_SEED, DL_STICK, DL_FIELD };
enum { DL_POINT, DL_LINE };
enum { DL_SMOOTH, DL_INDICATOR };

/* Buffered stream words for the random walk (millions of steps: one Philox block per four). */
typedef struct { sl_ic_rng *r; uint32_t w[256]; int i; } word_src;
static uint32_t next_word(word_src *s) {
  if (s->i == 256) { sl_rng_u32(s->r->s, s->r->pos, 256, s->w); s->r->pos += 256; s->i = 0; }
  return s->w[s->i++];
}

/* Diffusion-limited aggregation on the lattice: walkers are launched on a circle just outside
 * the cluster, walk to one of the 4 neighbours, and stick when they touch the cluster with
 * probability `stickiness` (lower values give denser clusters).  A walker that wanders past
 * twice the launch radius or off the grid is relaunched.  A step budget bounds the cost. */
static sl_status dl_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  uint8_t *occ = sl_alloc_zeroed((size_t)PLANE(G));
  if (!occ) return IC_OOM("dla_cluster");
  const int c = G / 2;
  int count = 0;
  if ((int)p[DL_SEED].v[0] == DL_POINT) { occ[c * G + c] = 1; count = 1; }
  else for (int x = (c - 10 > 0 ? c - 10 : 0); x < (c + 10 < G ? c + 10 : G); x++) { occ[c * G + x] = 1; count++; }
  double rmax = count > 1 ? 10 : 1;
  const int target = (int)fmin(p[DL_SIZE].v[0], PLANE(G) / 4.0);
  const double stick = p[DL_STICK].v[0];
  const uint32_t stick_u = stick >= 1 ? UINT32_MAX : (uint32_t)(stick * 4294967296.0);
  int64_t budget = 2000LL * target + 200LL * PLANE(G);
  word_src src = { r, { 0 }, 256 };
  static const int dx[4] = { 1, -1, 0, 0 }, dy[4] = { 0, 0, 1, -1 };
  while (count < target && budget > 0) {
    const double R = fmin(rmax + 5, G / 2.0 - 2), kill = fmin(2 * R + 5, G / 2.0 - 1);
    const double a = next_word(&src) * (TWO_PI / 4294967296.0);
    int x = c + (int)lround(R * cos(a)), y = c + (int)lround(R * sin(a));
    if (occ[y * G + x]) { budget--; continue; }
    for (; budget > 0; budget--) {
      int touching = 0;
      for (int d = 0; d < 4 && !touching; d++) {
        const int nx = x + dx[d], ny = y + dy[d];
        touching = nx >= 0 && ny >= 0 && nx < G && ny < G && occ[ny * G + nx];
      }
      if (touching && (stick >= 1 || next_word(&src) < stick_u)) {
        occ[y * G + x] = 1;
        count++;
        rmax = fmax(rmax, hypot(x - c, y - c));
        break;
      }
      const int d = (int)(next_word(&src) >> 30), nx = x + dx[d], ny = y + dy[d];
      if (nx < 0 || ny < 0 || nx >= G || ny >= G || hypot(nx - c, ny - c) > kill) break;   /* relaunch */
      if (!occ[ny * G + nx]) { x = nx; y = ny; }
    }
  }
  if ((int)p[DL_FIELD].v[0] == DL_SMOOTH) {
    /* 5×5 box average s of the indicator, then exp(3s − 1) (the reference's "distance transform"). */
    for (int y = 0; y < G; y++)
      for (int x = 0; x < G; x++) {
        int s = 0;
        for (int v = y - 2; v <= y + 2; v++)
          for (int u = x - 2; u <= x + 2; u++) s += u >= 0 && v >= 0 && u < G && v < G && occ[v * G + u];
        out[y * G + x] = (float)exp(3.0 * s / 25.0 - 1.0);
      }
  } else {
    for (int64_t i = 0; i < PLANE(G); i++) out[i] = occ[i];
  }
  sl_free(occ, (size_t)PLANE(G));
  ic_scale_maxabs(out, PLANE(G));
  ic_copy_ch0(out, G);
  return SL_OK;
}

/* ============================================================== error_correcting_code */
enum { EC_TYPE, EC_RATE, EC_BLOCK, EC_ERR };
enum { EC_REPETITION, EC_PARITY, EC_RANDOM };

static sl_status ec_fill(float *out, int G, const sl_ic_value *p, sl_ic_rng *r) {
  const int bs = (int)p[EC_BLOCK].v[0], nb = G / bs, n = nb * nb;
  if (nb < 1) return SL_ERR(SL_ERR_ARG, "error_correcting_code: block_size %d exceeds the grid size %d", bs, G);
  const int k = (int)fmax(1.0, floor(n * p[EC_RATE].v[0])), type = (int)p[EC_TYPE].v[0];
  uint8_t *msg = sl_alloc_zeroed((size_t)(k + n)), *code = msg + k;
  if (!msg) return IC_OOM("error_correcting_code");
  int parity = 0;
  for (int i = 0; i < k; i++) { msg[i] = ic_u32(r) & 1; parity ^= msg[i]; }
  if (type == EC_REPETITION) {
    const int reps = n / k;
    for (int i = 0; i < k * reps; i++) code[i] = msg[i / reps];
  } else if (type == EC_PARITY) {
    for (int i = 0; i < n; i++) code[i] = i < k ? msg[i] : (uint8_t)parity;
  } else {
    for (int i = 0; i < k; i++)          /* random generator matrix, row i */
      for (int j = 0; j < n; j++) code[j] ^= (uint8_t)(msg[i] & ic_u32(r) & 1);
  }
  const double e = p[EC_ERR].v[0];
  for (int j = 0; j < n; j++) if (ic_unif(r) < e) code[j] ^= 1;
  for (int j = 0; j < n; j++) {
    const int by = j / nb, bx = j % nb;
    for (int y = by * bs; y < (by + 1) * bs; y++)
      for (int x = bx * bs; x < (bx + 1) * bs; x++) out[y * G + x] = code[j] ? 1.0f : -1.0f;
  }
  sl_free(msg, (size_t)(k + n));
  ic_copy_ch0(out, G);
  return SL_OK;
}

/* ============================================================== table */
#define PX_MAX 1e4

const sl_ic_generator sl_ic_domain[] = {
  { .name = "quantum_wave_packet", .fill = qw_fill,
    .doc = "Gaussian wave packets: ch0 Re ψ, ch1 Im ψ, ch2 |ψ|² / max",
    .nparams = 3, .params = {
      IC_NUM("sigma", 10.0, 0.5, PX_MAX, "packet width, px"),
      IC_RANGE("momentum_range", 0.1, 0.5, 0.0, M_PI, "|k| drawn from this range, rad/px"),
      IC_INT("num_packets", 1, 1, 64, "packets superposed") } },
  { .name = "turing_pattern", .fill = tu_fill,
    .doc = "spots / stripes / labyrinth of wavelength λ plus GRF noise (ℓ = λ)",
    .nparams = 4, .params = {
      IC_CHOICE("pattern_type", TU_SPOTS, "spots|stripes|labyrinth|mixed", "pattern class (mixed: drawn)"),
      IC_NUM("wavelength", 16.0, 2.0, PX_MAX, "pattern wavelength λ, px"),
      IC_NULLRANGE("wavelength_range", 2.0, PX_MAX, "when set, λ ~ U(range) per IC, px"),
      IC_NUM("perturbation_amplitude", 0.1, 0.0, 1e3, "noise std") } },
  { .name = "thermal_gradient", .fill = tg_fill,
    .doc = "T_min + ΔT·g^β along x, y or the diagonal, plus thermal GRF noise",
    .nparams = 5, .params = {
      IC_CHOICE("gradient_direction", 0, "random|x|y|diagonal", "axis of the gradient"),
      IC_RANGE("temperature_range", 0.0, 1.0, -1e6, 1e6, "[T_min, T_max]"),
      IC_NUM("beta", 1.0, 0.01, 100.0, "profile exponent"),
      IC_NUM("thermal_noise_amplitude", 0.1, 0.0, 1e3, "noise std"),
      IC_NUM("thermal_length_scale", 5.0, 0.5, PX_MAX, "noise correlation length, px") } },
  { .name = "morphogen_gradient", .fill = mg_fill,
    .doc = "decaying concentration around random sources plus noise, min-max scaled to [0,1]",
    .nparams = 5, .params = {
      IC_NUM("decay_length", 20.0, 0.5, PX_MAX, "decay length λ, px"),
      IC_NULLRANGE("decay_length_range", 0.5, PX_MAX, "when set, λ ~ U(range) per source, px"),
      IC_INT("num_sources", 1, 1, 64, "sources"),
      IC_NUM("noise_level", 0.05, 0.0, 1e3, "noise std before scaling (GRF, ℓ = 0.05 domain)"),
      IC_CHOICE("gradient_type", MG_EXP, "exponential|power_law|sigmoidal", "profile") } },
  { .name = "reaction_front", .fill = rf_fill,
    .doc = "tanh fronts (planar, circular or irregular level sets) in [0,1], combined by max",
    .nparams = 4, .params = {
      IC_CHOICE("front_shape", RF_PLANAR, "planar|circular|irregular", "front geometry"),
      IC_NUM("front_width", 3.0, 0.1, PX_MAX, "front width w, px"),
      IC_NULLRANGE("front_width_range", 0.1, PX_MAX, "when set, w ~ U(range) per front, px"),
      IC_INT("num_fronts", 1, 1, 64, "fronts") } },
  { .name = "light_cone", .fill = lc_fill,
    .doc = "unit GRF fluctuations inside soft discs (zero outside)",
    .nparams = 4, .params = {
      IC_NUM("cone_radius", 20.0, 0.5, PX_MAX, "disc radius, px"),
      IC_NUM("smoothing", 2.0, 0.01, PX_MAX, "edge softness, px"),
      IC_NUM("interior_length_scale", 5.0, 0.5, PX_MAX, "interior GRF correlation length, px"),
      IC_INT("num_cones", 1, 1, 64, "discs") } },
  { .name = "critical_fluctuation", .standardized = 1, .fill = cf_fill,
    .doc = "Ornstein-Zernike field, power (κ² + ξ⁻²)^-(2-η)/2",
    .nparams = 3, .params = {
      IC_NUM("correlation_length", 15.0, 0.5, PX_MAX, "ξ, px"),
      IC_NUM("eta", 0.04, 0.0, 2.0, "anomalous dimension η"),
      IC_VARIANCE } },
  { .name = "phase_boundary", .fill = pb_fill,
    .doc = "tanh interface between phases ±1 plus GRF noise (ℓ = 0.1 domain)",
    .nparams = 3, .params = {
      IC_NUM("interface_width", 3.0, 0.1, PX_MAX, "interface width, px"),
      IC_NULLNUM("interface_angle", -1e3, 1e3, "interface normal, rad (null: random)"),
      IC_NUM("fluctuation_amplitude", 0.1, 0.0, 1e3, "noise std") } },
  { .name = "bz_reaction", .fill = bz_fill,
    .doc = "Belousov-Zhabotinsky spirals / target waves / turbulence, scaled to max |·| = 1",
    .nparams = 4, .params = {
      IC_CHOICE("pattern_type", BZ_SPIRAL, "spiral|target|turbulent", "pattern (turbulent: 3-7 spirals)"),
      IC_INT("num_spirals", 1, 1, 64, "cores (spiral, target)"),
      IC_NUM("wavelength", 16.0, 2.0, PX_MAX, "wavelength, px"),
      IC_NUM("phase_offset", 0.0, -1e3, 1e3, "phase shift of channel 1, rad") } },
  { .name = "shannon_entropy", .standardized = 1, .fill = se_fill,
    .doc = "GRF plus white noise whose log-std follows an entropy map (gradient, patchy, random)",
    .nparams = 4, .params = {
      IC_CHOICE("entropy_pattern", SE_GRADIENT, "gradient|patchy|random", "entropy map"),
      IC_RANGE("entropy_range", 0.1, 1.0, -20.0, 20.0, "log-std range of the noise"),
      IC_NUM("patch_size", 8.0, 1.0, PX_MAX, "patch correlation length, px"),
      IC_VARIANCE } },
  { .name = "interference_pattern", .fill = ip_fill,
    .doc = "coherent circular waves from point sources, scaled to max |·| = 1",
    .nparams = 4, .params = {
      IC_INT("num_sources", 2, 1, 64, "sources"),
      IC_NUM("wavelength", 16.0, 2.0, PX_MAX, "wavelength, px"),
      IC_NUM("coherence_length", 100.0, 0.5, 1e6, "Gaussian damping length, px"),
      IC_NULLNUM("source_spacing", 0.0, PX_MAX, "two sources this far apart about the centre, px (null: random)") } },
  { .name = "cell_population", .fill = cp_fill,
    .doc = "Gaussian cells with minimum spacing, optionally clustered, scaled to max = 1",
    .nparams = 4, .params = {
      IC_INT("num_cells", 50, 1, 2000, "cells"),
      IC_NUM("cell_radius", 3.0, 0.5, 1e3, "half the minimum spacing, px"),
      IC_NUM("clustering_strength", 0.5, 0.0, 1.0, "probability of placing a cell near a cluster centre"),
      IC_NUM("kernel_width", 5.0, 0.5, 1e3, "cell sigma, px") } },
  { .name = "chromatin_domain", .fill = cd_fill,
    .doc = "TAD blocks along the diagonal or A/B compartment checkerboard, values in [-1,1]",
    .nparams = 4, .params = {
      IC_INT("num_domains", 5, 1, 256, "TADs"),
      IC_RANGE("domain_size_range", 10.0, 30.0, 1.0, PX_MAX, "TAD size, px"),
      IC_NUM("boundary_sharpness", 3.0, 0.01, 1e3, "edge sharpness, 1/px"),
      IC_CHOICE("compartment_type", CD_TAD, "TAD|AB", "structure") } },
  { .name = "shock_front", .fill = sf_fill,
    .doc = "tanh jump from 1 to amplitude_ratio plus GRF noise (ℓ = 0.05 domain)",
    .nparams = 5, .params = {
      IC_NULLNUM("shock_position", 0.0, 1.0, "position along the normal, fraction of the domain (null: U(0.2,0.8))"),
      IC_NULLNUM("shock_angle", -1e3, 1e3, "normal direction, rad (null: random)"),
      IC_NUM("shock_width", 2.0, 0.1, PX_MAX, "shock width, px"),
      IC_NUM("amplitude_ratio", 2.0, -1e3, 1e3, "downstream / upstream level"),
      IC_NUM("fluctuation_amplitude", 0.05, 0.0, 1e3, "noise std") } },
  { .name = "gene_expression", .fill = ge_fill,
    .doc = "per-gene spatial patterns mixed with a shared GRF, min-max scaled to expression_range",
    .nparams = 4, .params = {
      IC_INT("num_genes", 3, 1, 64, "genes (the first three are channels)"),
      { .name = "expression_patterns", .kind = SL_IC_CHOICES, .nullable = 1, .ndef = 0,
        .options = "gradient|spots|stripes|radial|uniform", .doc = "pattern of gene g = list[g] cycled (null: random)" },
      IC_NUM("correlation_strength", 0.3, 0.0, 1.0, "weight of the shared field"),
      IC_RANGE("expression_range", 0.0, 1.0, -1e6, 1e6, "output range") } },
  { .name = "coherent_state", .fill = cs_fill,
    .doc = "α-weighted Gaussian-enveloped oscillations plus vacuum noise of variance 1/2",
    .nparams = 4, .params = {
      IC_NUM("alpha", 1.0, 0.0, 1e3, "amplitude"),
      IC_NUM("sigma", 10.0, 0.5, PX_MAX, "envelope width, px"),
      IC_NUM("oscillation_frequency", 0.2, 0.0, M_PI, "wavenumber, rad/px"),
      IC_INT("num_modes", 1, 1, 64, "modes") } },
  { .name = "relativistic_wave_packet", .fill = rw_fill,
    .doc = "Lorentz-contracted Gaussian packet exp(-(γ²x'² + y'²)/2σ²)·cos(k x' + φ)",
    .nparams = 3, .params = {
      IC_NUM("velocity", 0.5, 0.0, 0.999, "speed in units of c"),
      IC_NUM("sigma", 10.0, 0.5, PX_MAX, "rest-frame width, px"),
      IC_RANGE("wavenumber_range", 0.1, 0.5, 0.0, M_PI, "k drawn from this range, rad/px") } },
  { .name = "mutual_information", .standardized = 1, .fill = mi_fill,
    .doc = "channels sharing a latent GRF (local / long-range / hierarchical) plus white noise",
    .nparams = 5, .params = {
      IC_CHOICE("correlation_pattern", MI_LOCAL, "local|long_range|hierarchical", "latent scale: ℓ/2, 2ℓ, or both and ℓ"),
      IC_NUM("latent_length_scale", 0.3, 1e-3, 1.0, "ℓ, fraction of the domain"),
      IC_NUM("local_noise_scale", 0.5, 0.0, 1.0, "1 - weight of the latent field"),
      IC_INT("num_channels_correlated", 2, 0, 3, "channels sharing the latent field"),
      IC_VARIANCE } },
  { .name = "regulatory_network", .fill = rn_fill,
    .doc = "gene-network states painted as Gaussian domains, scaled to max |·| = 1",
    .nparams = 4, .params = {
      IC_CHOICE("network_topology", RN_SCALE_FREE, "random|scale_free|hub", "adjacency model"),
      IC_INT("network_size", 5, 1, RN_MAX, "genes"),
      IC_NUM("connection_probability", 0.3, 0.0, 1.0, "edge probability (random, hub back-edges)"),
      IC_NUM("spatial_decay", 0.2, 0.01, 10.0, "domain sigma, fraction of the domain") } },
  { .name = "dla_cluster", .fill = dl_fill,
    .doc = "diffusion-limited aggregate grown by random walkers, scaled to max = 1",
    .nparams = 4, .params = {
      IC_INT("cluster_size", 500, 1, 1e6, "particles (at most a quarter of the grid)"),
      IC_CHOICE("seed_type", DL_POINT, "point|line", "initial seed"),
      IC_NUM("stickiness", 1.0, 1e-3, 1.0, "sticking probability on contact"),
      IC_CHOICE("field_type_dla", DL_SMOOTH, "distance_transform|indicator", "exp(3·blur - 1) or 0/1") } },
  { .name = "error_correcting_code", .fill = ec_fill,
    .doc = "noisy codeword bits painted as ±1 blocks",
    .nparams = 4, .params = {
      IC_CHOICE("code_type", EC_REPETITION, "repetition|parity|random", "code"),
      IC_NUM("code_rate", 0.5, 0.01, 1.0, "message bits / code bits"),
      IC_INT("block_size", 8, 1, PX_MAX, "block side, px"),
      IC_NUM("error_rate", 0.1, 0.0, 1.0, "bit-flip probability") } },
};
const int sl_ic_domain_count = (int)(sizeof sl_ic_domain / sizeof sl_ic_domain[0]);
