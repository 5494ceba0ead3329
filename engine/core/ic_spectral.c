/* ic_spectral.c — spectral synthesis of stationary Gaussian fields for the IC generators.
 *
 * Method ("real-input trick"): draw real white noise w on the G×G grid, take its r2c FFT, multiply
 * each mode by sqrt(P(|k|)), and transform back with c2r.  White noise already has Hermitian-
 * symmetric modes, so the result is exactly real with covariance ∝ IFFT(P) and no mode is
 * double-counted (the reference took Re(IFFT) of unconstrained complex noise).  Wavenumbers are
 * integers in cycles per domain (spec §9.5): k_x = i for i ≤ G/2, i − G above.  The output is
 * rescaled to zero mean and unit variance, so callers choose amplitudes explicitly.
 *
 * FFTW: plans are created once per grid size with FFTW_ESTIMATE under a mutex (the planner is
 * not thread-safe) and executed with the new-array interface (thread-safe) on buffers from
 * fftwf_malloc, which have the alignment the plans were made with.  Plans live until exit. */
#include <fftw3.h>
#include <pthread.h>
#include <string.h>
#include "ic_internal.h"

#define IC_PLAN_SLOTS 16

typedef struct { int G; fftwf_plan r2c, c2r; } ic_plan;

static ic_plan         g_plans[IC_PLAN_SLOTS];
static int             g_nplans;
static pthread_mutex_t g_plan_lock = PTHREAD_MUTEX_INITIALIZER;

static sl_status ic_plans_for(int G, ic_plan *out) {
  sl_status st = SL_OK;
  pthread_mutex_lock(&g_plan_lock);
  for (int i = 0; i < g_nplans; i++)
    if (g_plans[i].G == G) { *out = g_plans[i]; pthread_mutex_unlock(&g_plan_lock); return SL_OK; }
  if (g_nplans == IC_PLAN_SLOTS) {
    st = SL_ERR(SL_ERR_ARG, "initial conditions: more than %d different grid sizes in one process", IC_PLAN_SLOTS);
  } else {
    float *w = fftwf_malloc(sizeof(float) * (size_t)G * G);
    fftwf_complex *c = fftwf_malloc(sizeof(fftwf_complex) * (size_t)G * (G / 2 + 1));
    ic_plan p = { G, NULL, NULL };
    if (w && c) {
      p.r2c = fftwf_plan_dft_r2c_2d(G, G, w, c, FFTW_ESTIMATE);
      p.c2r = fftwf_plan_dft_c2r_2d(G, G, c, w, FFTW_ESTIMATE);
    }
    if (p.r2c && p.c2r) {
      g_plans[g_nplans++] = p;
      *out = p;
    } else {
      if (p.r2c) fftwf_destroy_plan(p.r2c);
      if (p.c2r) fftwf_destroy_plan(p.c2r);
      st = SL_ERR(SL_ERR_OOM, "initial conditions: FFTW could not plan a %dx%d transform", G, G);
    }
    fftwf_free(w);
    fftwf_free(c);
  }
  pthread_mutex_unlock(&g_plan_lock);
  return st;
}

static inline int ic_wavenumber(int i, int G) { return i <= G / 2 ? i : i - G; }

sl_status ic_spectral_field(float *out, int G, ic_spectrum_fn P, const void *ctx, sl_ic_rng *r) {
  ic_plan plan = { 0, NULL, NULL };
  SL_TRY(ic_plans_for(G, &plan));
  const int H = G / 2 + 1;
  float *w = fftwf_malloc(sizeof(float) * (size_t)G * G);
  fftwf_complex *c = fftwf_malloc(sizeof(fftwf_complex) * (size_t)G * H);
  if (!w || !c) { fftwf_free(w); fftwf_free(c); return IC_OOM("spectral field"); }

  ic_normals(r, w, (int64_t)G * G);
  fftwf_execute_dft_r2c(plan.r2c, w, c);
  double power = 0;
  for (int iy = 0; iy < G; iy++) {
    const double ky = ic_wavenumber(iy, G);
    for (int ix = 0; ix < H; ix++) {
      const double k = sqrt(ky * ky + (double)ix * ix);
      const double pk = (iy == 0 && ix == 0) ? 0.0 : P(k, ctx);
      const float a = (float)sqrt(pk > 0 ? pk : 0.0);
      c[(size_t)iy * H + ix][0] *= a;
      c[(size_t)iy * H + ix][1] *= a;
      power += pk;
    }
  }
  fftwf_execute_dft_c2r(plan.c2r, c, w);
  fftwf_free(c);
  int ok = power > 0 && ic_standardize(w, (int64_t)G * G, 1.0);
  if (ok) memcpy(out, w, sizeof(float) * (size_t)G * G);
  fftwf_free(w);
  if (!ok)
    return SL_ERR(SL_ERR_ARG, "spectral field: the power spectrum has no energy on a %dx%d grid "
                  "(band outside 1..%d cycles per domain?)", G, G, G / 2);
  return SL_OK;
}

/* Gaussian covariance exp(-d²/(2ℓ²)) with ℓ = L·G px has spectrum exp(-(2π k L)²/2) in k cycles
 * per domain: the band no longer depends on G, unlike the reference's cycles-per-pixel form. */
double ic_gauss_spectrum(double k, double length_scale) {
  const double a = 2.0 * M_PI * k * length_scale;
  return exp(-0.5 * a * a);
}

static double gauss_P(double k, const void *ctx) { return ic_gauss_spectrum(k, *(const double *)ctx); }

sl_status ic_grf_unit(float *out, int G, double length_scale, sl_ic_rng *r) {
  return ic_spectral_field(out, G, gauss_P, &length_scale, r);
}

sl_status ic_add_grf(float *ch, int G, double length_scale, double amp, sl_ic_rng *r) {
  if (amp == 0) return SL_OK;
  /* Domain generators give noise lengths in px (ℓ/G may exceed 1 on small grids); beyond a
   * domain the spectrum underflows, and the field is the k = 1 modes anyway. */
  if (length_scale > 1.0) length_scale = 1.0;
  const int64_t n = (int64_t)G * G;
  float *g = ic_buf(n);
  if (!g) return IC_OOM("grf noise");
  sl_status st = ic_grf_unit(g, G, length_scale, r);
  if (st == SL_OK)
    for (int64_t i = 0; i < n; i++) ch[i] += (float)amp * g[i];
  ic_buf_free(g, n);
  return st;
}
