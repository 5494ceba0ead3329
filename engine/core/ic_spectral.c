/* ic_spectral.c — spectral synthesis of stationary Gaussian fields for the IC generators.
 *
 * Method ("real-input trick"): draw real white noise w on the G×G grid, take its r2c FFT, multiply
 * each mode by sqrt(P(|k|)), and transform back with c2r.  White noise already has Hermitian-
 * symmetric modes, so the result is exactly real with covariance ∝ IFFT(P) and no mode is
 * double-counted (the reference took Re(IFFT) of unconstrained complex noise).  Wavenumbers are
 * integers in cycles per domain (spec §9.5): k_x = i for i ≤ G/2, i − G above.  The output is
 * rescaled to zero mean and unit variance, so callers choose amplitudes explicitly.
 *
 * The transforms go through sl_fft (FFTW single precision): its plan cache holds the one lock
 * around FFTW's planner, which is not thread-safe, and its single-threaded plans keep results
 * independent of the thread count. */
#include <string.h>
#include "ic_internal.h"
#include "sl_fft.h"

static inline int ic_wavenumber(int i, int G) { return i <= G / 2 ? i : i - G; }

sl_status ic_spectral_field(float *out, int G, ic_spectrum_fn P, const void *ctx, sl_ic_rng *r) {
  const int H = G / 2 + 1;
  const int64_t n[2] = { G, G }, nw = (int64_t)G * G, nc = 2 * (int64_t)G * H;
  float *w = ic_buf(nw), *c = ic_buf(nc);
  sl_status st = (w && c) ? SL_OK : IC_OOM("spectral field");
  if (st == SL_OK) {
    ic_normals(r, w, nw);
    st = sl_fft_r2c(c, w, 1, 2, n, SL_FFT_BACKWARD);
  }
  double power = 0;
  for (int iy = 0; st == SL_OK && iy < G; iy++) {
    const double ky = ic_wavenumber(iy, G);
    for (int ix = 0; ix < H; ix++) {
      const double k = sqrt(ky * ky + (double)ix * ix);
      const double pk = (iy == 0 && ix == 0) ? 0.0 : P(k, ctx);
      const float a = (float)sqrt(pk > 0 ? pk : 0.0);
      c[2 * ((int64_t)iy * H + ix)] *= a;
      c[2 * ((int64_t)iy * H + ix) + 1] *= a;
      power += pk;
    }
  }
  if (st == SL_OK) st = sl_fft_c2r(w, c, 1, 2, n, SL_FFT_BACKWARD);
  if (st == SL_OK) {
    if (power > 0 && ic_standardize(w, nw, 1.0)) memcpy(out, w, sizeof(float) * (size_t)nw);
    else st = SL_ERR(SL_ERR_ARG, "spectral field: the power spectrum has no energy on a %dx%d grid "
                     "(band outside 1..%d cycles per domain?)", G, G, G / 2);
  }
  ic_buf_free(w, nw);
  ic_buf_free(c, nc);
  return st;
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
