/* feat_initial.c — INITIAL features (sl_feat_initial.h): 14 hand-made features of an initial
 * condition and a 28-dimensional embedding from a fixed random residual CNN.
 *
 * Manual features (spec/features.md §2 with the §9 defects fixed; formula text in the catalog
 * below, which this code must follow column by column):
 *  - One task per (sample, channel) field; each field is computed by one thread in a fixed
 *    order, in double precision, so results do not depend on the thread count.  Channels are
 *    averaged afterwards over the finite values.
 *  - The binary mask is b = [u > mean(u)] (the reference thresholded at the median, which made
 *    the density ≈ 0.5 by construction).  Clusters are the 4-connected components of b on the
 *    periodic grid (union-find), the same convention as the SUMMARY structural features.
 *  - The spectrum is one unnormalised r2c FFT; frequencies are integer wavenumbers (cycles per
 *    domain), which do not depend on the grid size for an IC defined on the unit domain.  DC
 *    is excluded from every spectral feature, and half-plane bins carry their mirror's weight.
 *  - A field with max = min is "degenerate": features that divide by its variance are NaN.
 *
 * CNN embedding ("resnet3" of §2, inference mode):
 *  - Weights are drawn once per process and input channel count from Philox, seed
 *    SL_FI_CNN_SEED, purpose SL_RNG_PURPOSE_CNN_EMBED, stream (layer, Cin, 0): He-normal convs,
 *    a LeCun-normal linear head with a small uniform bias.  They are cached outside the tracked
 *    allocator (they live for the whole process, like a constant table).
 *  - BatchNorm layers are in inference mode with PyTorch's initial running statistics
 *    (mean 0, var 1, weight 1, bias 0): y = x / sqrt(1 + 1e-5).  Together with the per-sample
 *    input standardisation this makes every row independent of the batch.
 *  - Convolutions (stride 1 or 2, zero padding) and the max-pool are direct loops: at the
 *    default 64×64 input the network is ≈ 20 M multiply-adds per sample. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "sl_feat_initial.h"
#include "feat_uf.h"
#include "sl_fft.h"
#include "sl_purpose.h"
#include "sl_rng.h"

enum {
  C_CLUSTERS = 0, C_LARGEST, C_AUTOCORR, C_CENTROID, C_GRADIENT,
  C_DOMFREQ, C_SCENTROID, C_POWERLAW,
  C_ENTROPY, C_LOCALENT, C_LZ, C_PREDICT,
  C_DENSITY, C_SYMMETRY
};

#define ENT_BINS 32       /* global histogram */
#define LOC_BINS 8        /* per-patch histogram (64 values) */
#define PATCH 8
#define PATCH_STRIDE 4

static const sl_feat_initial_desc CATALOG[SL_FI_NMANUAL + SL_FI_NCNN] = {
  { "ic_spatial_cluster_count", "spatial",
    "ln(1 + number of 4-connected components of b = [u > mean(u)] on the periodic grid)",
    "many separate high-value regions (fragmented IC)" },
  { "ic_spatial_largest_cluster_frac", "spatial",
    "cells of the largest component of b / Σb; NaN if b is empty",
    "1 = one connected (percolating) high region" },
  { "ic_spatial_autocorr", "spatial",
    "Moran's I, periodic 4-neighbour: Σ c·¼(c↑+c↓+c←+c→) / Σ c², c = u − mean(u); NaN if degenerate",
    "smooth, spatially coherent field (1) vs checkerboard (−1)" },
  { "ic_spatial_centroid_dist", "spatial",
    "w = |u|, y_i = i/(H−1), x_j = j/(W−1); centroid (c_y, c_x) = Σ w·(y, x) / Σ w; "
    "sqrt((c_y−½)² + (c_x−½)²) / (√2/2); NaN if Σw = 0",
    "mass concentrated away from the grid centre (localized, off-centre structures)" },
  { "ic_spatial_gradient_mean", "spatial",
    "mean over cells of sqrt(Dx u² + Dy u²), periodic central differences (per grid cell)",
    "sharp interfaces or localized structures" },
  { "ic_spectral_dominant_freq", "spectral",
    "|k| = sqrt(kx² + ky²) (integer wavenumbers, cycles per domain) of the non-DC bin of "
    "largest power |rfft2(u)|² (first in row-major order); NaN if degenerate",
    "dominant pattern repeats many times across the domain (fine periodic structure)" },
  { "ic_spectral_centroid", "spectral",
    "Σ m·P·|k| / Σ m·P over non-DC bins (m = 2 for half-plane bins whose mirror is not stored, "
    "else 1), in cycles per domain; NaN if degenerate",
    "power at high wavenumbers (fine-grained IC)" },
  { "ic_spectral_power_law_exp", "spectral",
    "−slope of the OLS fit of ln E(s) on ln s, E(s) = mean of m-weighted power over bins with "
    "round(|k|) = s, s = 1..⌊min(H,W)/2⌋, shells with E > 0; NaN if fewer than 3 shells or degenerate",
    "steep spectrum (smooth, large-scale IC); ≈ 0 for white noise" },
  { "ic_info_entropy", "information",
    "Shannon entropy of a 32-bin histogram of u on [min, max] (bin ⌊32 v⌋ clamped to 31, "
    "v = (u−min)/(max−min)), in bits / log2(32); 0 if degenerate",
    "values spread evenly over their range" },
  { "ic_info_local_entropy_var", "information",
    "unbiased variance over all 8×8 patches (stride 4, no padding) of the patch entropy: "
    "8 bins on the global [min, max], bits / log2(8); NaN if only one patch",
    "heterogeneous texture: some regions complex, others flat" },
  { "ic_info_lz_complexity", "information",
    "Lempel–Ziv (1976) complexity c of b flattened row-major (Kaspar–Schuster), normalised "
    "c·log2(n)/n, n = H·W",
    "irregular, incompressible binary pattern (≈ 1 for random, → 0 for regular)" },
  { "ic_info_predictability", "information",
    "|r|, r = Σ c·c_(x−1) / Σ c² (lag-1 autocorrelation along x, periodic), c = u − mean(u); "
    "NaN if degenerate",
    "each value is well predicted by its left neighbour (smooth along x)" },
  { "ic_morph_density", "morphological",
    "fraction of cells with u > mean(u)",
    "high values cover most of the domain (negative skew); low = sparse peaks" },
  { "ic_morph_symmetry", "morphological",
    "H = W: (|r1| + |r2| + |r3|)/3, r_k = Σ c·rot90(c, k) / Σ c² (rotation about the array "
    "centre); H ≠ W: |r2|; NaN if degenerate",
    "field looks the same after quarter/half turns" },
#define CNN_DESC(i) { "ic_cnn_" #i, "cnn_learned", \
    "component " #i " of the fixed-seed resnet3 embedding (inference mode)", \
    "no fixed meaning: a random-feature projection of the standardised IC" }
  CNN_DESC(00), CNN_DESC(01), CNN_DESC(02), CNN_DESC(03), CNN_DESC(04), CNN_DESC(05), CNN_DESC(06),
  CNN_DESC(07), CNN_DESC(08), CNN_DESC(09), CNN_DESC(10), CNN_DESC(11), CNN_DESC(12), CNN_DESC(13),
  CNN_DESC(14), CNN_DESC(15), CNN_DESC(16), CNN_DESC(17), CNN_DESC(18), CNN_DESC(19), CNN_DESC(20),
  CNN_DESC(21), CNN_DESC(22), CNN_DESC(23), CNN_DESC(24), CNN_DESC(25), CNN_DESC(26), CNN_DESC(27),
#undef CNN_DESC
};

const sl_feat_initial_desc *sl_feat_initial_catalog(int *n) {
  if (n) *n = SL_FI_NMANUAL + SL_FI_NCNN;
  return CATALOG;
}

/* ======================= manual features ======================= */

typedef struct {
  float   *fin;      /* H·W input copy for the FFT */
  float   *F;        /* H·Wc·2 spectrum */
  uint8_t *b;        /* H·W mask */
  int32_t *parent;   /* H·W union-find */
  double  *shellE, *shellN;   /* nshell + 1 */
  double  *pent;     /* patch entropies */
} mscratch;

/* Lempel–Ziv 1976 complexity (number of phrases) by the Kaspar–Schuster scan: for each new
 * phrase starting at l, the longest match of s[l..] starting at any i < l (overlap allowed) gives
 * the phrase length kmax = match + 1; a match that reaches the end closes the last phrase.
 * The byte-by-byte scan mispredicts a branch per symbol on random masks, so the common-prefix
 * length is taken 64 symbols at a time on a bit-packed copy (w: n/64 + 3 words of scratch). */
static inline uint64_t bits_at(const uint64_t *w, int64_t pos) {
  int64_t q = pos >> 6; int r = (int)(pos & 63);
  return r ? (w[q] >> r) | (w[q + 1] << (64 - r)) : w[q];
}
static int64_t lcp_bits(const uint64_t *w, int64_t a, int64_t b, int64_t limit) {
  int64_t m = 0;
  while (m < limit) {
    uint64_t d = bits_at(w, a + m) ^ bits_at(w, b + m);
    if (d) { m += __builtin_ctzll(d); break; }
    m += 64;
  }
  return m < limit ? m : limit;
}
static int64_t lz76(const uint8_t *s, int64_t n, uint64_t *w) {
  if (n < 2) return n;
  const int64_t nw = n / 64 + 3;
  memset(w, 0, (size_t)nw * sizeof(uint64_t));
  for (int64_t i = 0; i < n; i++) w[i >> 6] |= (uint64_t)(s[i] & 1) << (i & 63);
  int64_t c = 1, l = 1;
  for (;;) {
    int64_t kmax = 1;
    const int64_t limit = n - l;
    /* fast pass: matches shorter than 63 symbols, branch-free (vectorisable) */
    const uint64_t T = bits_at(w, l);
    int best = 0;
    for (int64_t i = 0; i < l; i++) {
      int64_t q = i >> 6; int r = (int)(i & 63);
      uint64_t d = ((w[q] >> r) | ((w[q + 1] << 1) << (63 - r))) ^ T;
      int m = __builtin_ctzll(d | (1ull << 63));   /* 63 when the first 63 symbols agree */
      best = m > best ? m : best;
    }
    if (best < 63 && best < limit) {
      kmax = best + 1;
    } else {
      /* some match may be long: the exact scan */
      for (int64_t i = 0; i < l; i++) {
        int64_t m = lcp_bits(w, i, l, limit);
        if (m >= limit) return c + 1;     /* the match runs to the end: last phrase */
        if (m + 1 > kmax) kmax = m + 1;
      }
    }
    c++;
    l += kmax;
    if (l + 1 > n) return c;
  }
}

/* Entropy in bits of a histogram with total n, divided by log2(nb). */
static double hist_entropy(const int64_t *cnt, int nb, int64_t n) {
  double e = 0;
  for (int i = 0; i < nb; i++) if (cnt[i] > 0) { double p = (double)cnt[i] / (double)n; e -= p * log2(p); }
  return e / log2((double)nb);
}

static void manual_field(const float *x, int H, int W, mscratch *s, double *o) {
  const int64_t N = (int64_t)H * W;
  for (int j = 0; j < SL_FI_NMANUAL; j++) o[j] = NAN;
  double sum = 0, mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < N; i++) {
    double v = x[i];
    if (!isfinite(v)) return;   /* a non-finite IC gives NaN everywhere for this channel */
    sum += v;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  const double mean = sum / (double)N;
  const int degen = !(mx > mn);
  double ss = 0;
  for (int64_t i = 0; i < N; i++) { double c = x[i] - mean; ss += c * c; }

  /* ---- mask, components, density, LZ ---- */
  uint8_t *b = s->b;
  int64_t nb = 0;
  for (int64_t i = 0; i < N; i++) { b[i] = (double)x[i] > mean; nb += b[i]; }
  o[C_DENSITY] = (double)nb / (double)N;
  int32_t *p = s->parent;
  for (int64_t i = 0; i < N; i++) p[i] = (int32_t)i;
  for (int y = 0; y < H; y++) {
    for (int xx = 0; xx < W; xx++) {
      int64_t i = (int64_t)y * W + xx;
      if (!b[i]) continue;
      int64_t r = (int64_t)y * W + (xx + 1) % W, d = (int64_t)((y + 1) % H) * W + xx;
      if (b[r]) uf_union(p, (int32_t)i, (int32_t)r);
      if (b[d]) uf_union(p, (int32_t)i, (int32_t)d);
    }
  }
  /* component sizes accumulate on the roots (reusing parent's slots is not possible, so count
   * into a second pass: roots are exactly the cells with p[i] == i) */
  int64_t ncomp = 0, largest = 0;
  {
    /* size per root: reuse s->fin as an int32 counter (same size, float32 = 4 bytes) */
    int32_t *size = (int32_t *)s->fin;
    memset(size, 0, (size_t)N * sizeof(int32_t));
    for (int64_t i = 0; i < N; i++) if (b[i]) size[uf_find(p, (int32_t)i)]++;
    for (int64_t i = 0; i < N; i++) {
      if (b[i] && p[i] == i) { ncomp++; if (size[i] > largest) largest = size[i]; }
    }
  }
  o[C_CLUSTERS] = log1p((double)ncomp);
  o[C_LARGEST] = nb > 0 ? (double)largest / (double)nb : NAN;
  o[C_LZ] = (double)lz76(b, N, (uint64_t *)s->parent) * log2((double)N) / (double)N;   /* parent is free now */

  /* ---- stencils: Moran, lag-1 predictability, gradient ---- */
  double moran = 0, lag = 0, grad = 0;
  for (int y = 0; y < H; y++) {
    const float *row = x + (int64_t)y * W;
    const float *up = x + (int64_t)((y + H - 1) % H) * W, *dn = x + (int64_t)((y + 1) % H) * W;
    for (int xx = 0; xx < W; xx++) {
      int xl = (xx + W - 1) % W, xr = (xx + 1) % W;
      double c = row[xx] - mean;
      double L = 0.25 * ((up[xx] - mean) + (dn[xx] - mean) + (row[xl] - mean) + (row[xr] - mean));
      moran += c * L;
      lag += c * (row[xl] - mean);
      double gx = 0.5 * ((double)row[xr] - (double)row[xl]);
      double gy = 0.5 * ((double)dn[xx] - (double)up[xx]);
      grad += sqrt(gx * gx + gy * gy);
    }
  }
  o[C_GRADIENT] = grad / (double)N;
  if (!degen && ss > 0) {
    o[C_AUTOCORR] = moran / ss;
    o[C_PREDICT] = fabs(lag / ss);
  }

  /* ---- centroid of |u| ---- */
  {
    double sw = 0, sy = 0, sx = 0;
    for (int y = 0; y < H; y++) {
      double yy = H > 1 ? (double)y / (double)(H - 1) : 0.5;
      for (int xx = 0; xx < W; xx++) {
        double w = fabs((double)x[(int64_t)y * W + xx]);
        double xc = W > 1 ? (double)xx / (double)(W - 1) : 0.5;
        sw += w; sy += w * yy; sx += w * xc;
      }
    }
    if (sw > 0) {
      double cy = sy / sw - 0.5, cx = sx / sw - 0.5;
      o[C_CENTROID] = sqrt(cy * cy + cx * cx) / (sqrt(2.0) / 2.0);
    }
  }

  /* ---- symmetry under rotations ---- */
  if (!degen && ss > 0) {
    double r2 = 0;
    for (int y = 0; y < H; y++)
      for (int xx = 0; xx < W; xx++)
        r2 += (x[(int64_t)y * W + xx] - mean) * (x[(int64_t)(H - 1 - y) * W + (W - 1 - xx)] - mean);
    if (H == W) {
      /* rot90(c, 1)[i][j] = c[j][n-1-i]; r3 equals r1 (corr(c, R c) = corr(R⁻¹ c, c)) but is
       * computed anyway so the value is the formula's, not an identity's. */
      double r1 = 0, r3 = 0;
      const int n = H;
      for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
          double c = x[(int64_t)i * n + j] - mean;
          r1 += c * (x[(int64_t)j * n + (n - 1 - i)] - mean);
          r3 += c * (x[(int64_t)(n - 1 - j) * n + i] - mean);
        }
      o[C_SYMMETRY] = (fabs(r1 / ss) + fabs(r2 / ss) + fabs(r3 / ss)) / 3.0;
    } else {
      o[C_SYMMETRY] = fabs(r2 / ss);
    }
  }

  /* ---- histograms: global entropy and local-entropy variance ---- */
  {
    int64_t cnt[ENT_BINS] = { 0 };
    const double range = mx - mn;
    for (int64_t i = 0; i < N; i++) {
      int k = 0;
      if (!degen) { k = (int)floor((((double)x[i] - mn) / range) * ENT_BINS); if (k > ENT_BINS - 1) k = ENT_BINS - 1; }
      cnt[k]++;
    }
    o[C_ENTROPY] = hist_entropy(cnt, ENT_BINS, N);
    int py = (H - PATCH) / PATCH_STRIDE + 1, px = (W - PATCH) / PATCH_STRIDE + 1;
    int64_t np = (int64_t)py * px;
    for (int a = 0; a < py; a++)
      for (int c = 0; c < px; c++) {
        int64_t lc[LOC_BINS] = { 0 };
        for (int dy = 0; dy < PATCH; dy++)
          for (int dx = 0; dx < PATCH; dx++) {
            double v = x[(int64_t)(a * PATCH_STRIDE + dy) * W + c * PATCH_STRIDE + dx];
            int k = 0;
            if (!degen) { k = (int)floor(((v - mn) / range) * LOC_BINS); if (k > LOC_BINS - 1) k = LOC_BINS - 1; }
            lc[k]++;
          }
        s->pent[(int64_t)a * px + c] = hist_entropy(lc, LOC_BINS, PATCH * PATCH);
      }
    if (np > 1) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < np; i++) m += s->pent[i];
      m /= (double)np;
      for (int64_t i = 0; i < np; i++) { double d = s->pent[i] - m; v += d * d; }
      o[C_LOCALENT] = v / (double)(np - 1);
    }
  }

  /* ---- spectrum ---- */
  if (!degen) {
    const int Wc = W / 2 + 1;
    memcpy(s->fin, x, (size_t)N * sizeof(float));
    int64_t n2[2] = { H, W };
    if (sl_fft_r2c(s->F, s->fin, 1, 2, n2, SL_FFT_BACKWARD) != SL_OK) return;
    const int nshell = (H < W ? H : W) / 2;
    for (int k = 0; k <= nshell; k++) { s->shellE[k] = 0; s->shellN[k] = 0; }
    double best = -1, bestr = NAN, sp = 0, spr = 0;
    for (int i = 0; i < H; i++) {
      int ky = i <= H / 2 ? i : i - H;
      if (2 * i == H) ky = -i;   /* fftfreq puts the Nyquist row at −H/2 */
      for (int j = 0; j < Wc; j++) {
        if (i == 0 && j == 0) continue;
        const float *f = s->F + ((int64_t)i * Wc + j) * 2;
        double P = (double)f[0] * f[0] + (double)f[1] * f[1];
        double m = (j == 0 || (W % 2 == 0 && j == W / 2)) ? 1.0 : 2.0;
        double r = sqrt((double)ky * ky + (double)j * j);
        if (P > best) { best = P; bestr = r; }
        sp += m * P; spr += m * P * r;
        int sh = (int)floor(r + 0.5);
        if (sh >= 1 && sh <= nshell) { s->shellE[sh] += m * P; s->shellN[sh] += m; }
      }
    }
    o[C_DOMFREQ] = bestr;
    if (sp > 0) o[C_SCENTROID] = spr / sp;
    double sx = 0, sy = 0, sxx = 0, sxy = 0; int nv = 0;
    for (int k = 1; k <= nshell; k++) {
      if (s->shellN[k] <= 0) continue;
      double E = s->shellE[k] / s->shellN[k];
      if (!(E > 0)) continue;
      double X = log((double)k), Y = log(E);
      sx += X; sy += Y; sxx += X * X; sxy += X * Y; nv++;
    }
    if (nv >= 3) {
      double den = sxx - sx * sx / nv;
      if (den > 0) o[C_POWERLAW] = -((sxy - sx * sy / nv) / den);
    }
  }
}

sl_status sl_feat_initial_manual(sl_tensor **out, const sl_tensor *ic) {
  *out = NULL;
  if (!ic || ic->ndim != 4) {
    return SL_ERR(SL_ERR_SHAPE, "feat_initial: ic must be [B,C,H,W], got %d dims", ic ? ic->ndim : 0);
  }
  const int64_t B = ic->shape[0], C = ic->shape[1], H = ic->shape[2], W = ic->shape[3];
  if (H < PATCH || W < PATCH) {
    return SL_ERR(SL_ERR_SHAPE, "feat_initial: grid must be at least %dx%d, got %lldx%lld",
                  PATCH, PATCH, (long long)H, (long long)W);
  }
  if (C < 1) return SL_ERR(SL_ERR_SHAPE, "feat_initial: ic has 0 channels");
  if (H * W > INT32_MAX) return SL_ERR(SL_ERR_SHAPE, "feat_initial: grid %lldx%lld too large", (long long)H, (long long)W);
  sl_tensor *x = NULL, *r = NULL;
  SL_TRY(sl_tensor_contiguous_as(&x, ic, SL_DTYPE_F32));
  int64_t shp[2] = { B, SL_FI_NMANUAL };
  sl_status st = sl_tensor_empty(&r, SL_DTYPE_F32, 2, shp);
  if (st != SL_OK) { sl_tensor_release(x); return st; }
  const int64_t NF = B * C, N = H * W, Wc = W / 2 + 1;
  double *vals = sl_alloc((size_t)(NF > 0 ? NF : 1) * SL_FI_NMANUAL * sizeof(double));
  if (!vals) { sl_tensor_release(x); sl_tensor_release(r); return SL_ERR(SL_ERR_OOM, "feat_initial: out of memory"); }
  const float *xd = sl_tensor_data(x);
  const int nshell = (int)((H < W ? H : W) / 2);
  const int64_t npatch = ((H - PATCH) / PATCH_STRIDE + 1) * ((W - PATCH) / PATCH_STRIDE + 1);
  int failed = 0;
  #pragma omp parallel num_threads(sl_num_threads())
  {
    mscratch s;
    s.fin = sl_alloc((size_t)N * sizeof(float));
    s.F = sl_alloc((size_t)(H * Wc * 2) * sizeof(float));
    s.b = sl_alloc((size_t)N);
    s.parent = sl_alloc((size_t)N * sizeof(int32_t));
    s.shellE = sl_alloc((size_t)(nshell + 1) * sizeof(double));
    s.shellN = sl_alloc((size_t)(nshell + 1) * sizeof(double));
    s.pent = sl_alloc((size_t)npatch * sizeof(double));
    int ok = s.fin && s.F && s.b && s.parent && s.shellE && s.shellN && s.pent;
    if (!ok) {
      #pragma omp atomic write
      failed = 1;
    }
    #pragma omp for schedule(dynamic, 1)
    for (int64_t f = 0; f < NF; f++) {
      if (ok) manual_field(xd + f * N, (int)H, (int)W, &s, vals + f * SL_FI_NMANUAL);
    }
    sl_free(s.fin, (size_t)N * sizeof(float));
    sl_free(s.F, (size_t)(H * Wc * 2) * sizeof(float));
    sl_free(s.b, (size_t)N);
    sl_free(s.parent, (size_t)N * sizeof(int32_t));
    sl_free(s.shellE, (size_t)(nshell + 1) * sizeof(double));
    sl_free(s.shellN, (size_t)(nshell + 1) * sizeof(double));
    sl_free(s.pent, (size_t)npatch * sizeof(double));
  }
  if (failed) {
    sl_free(vals, (size_t)(NF > 0 ? NF : 1) * SL_FI_NMANUAL * sizeof(double));
    sl_tensor_release(x); sl_tensor_release(r);
    return SL_ERR(SL_ERR_OOM, "feat_initial: out of memory for %lldx%lld scratch", (long long)H, (long long)W);
  }
  /* channel average over the finite values, in channel order */
  float *rd = sl_tensor_data(r);
  for (int64_t bi = 0; bi < B; bi++) {
    for (int j = 0; j < SL_FI_NMANUAL; j++) {
      double acc = 0; int n = 0;
      for (int64_t c = 0; c < C; c++) {
        double v = vals[(bi * C + c) * SL_FI_NMANUAL + j];
        if (isfinite(v)) { acc += v; n++; }
      }
      rd[bi * SL_FI_NMANUAL + j] = n > 0 ? (float)(acc / n) : NAN;
    }
  }
  sl_free(vals, (size_t)(NF > 0 ? NF : 1) * SL_FI_NMANUAL * sizeof(double));
  sl_tensor_release(x);
  *out = r;
  return SL_OK;
}

/* ======================= CNN embedding ======================= */

typedef struct { int cout, cin, k; float *w; } convw;
enum { L_STEM = 0, L_B1C1, L_B1C2, L_B1S, L_B2C1, L_B2C2, L_B2S, L_B3C1, L_B3C2, L_B3S, L_NCONV };
enum { L_HEAD_W = L_NCONV, L_HEAD_B };
#define CNN_MAX_CIN 16
#define CNN_FEAT 256
#define BN_SCALE 0.99999500003749969   /* 1/sqrt(1 + 1e-5): BN in eval mode at default stats */

typedef struct {
  convw conv[L_NCONV];
  float hw[SL_FI_NCNN * CNN_FEAT], hb[SL_FI_NCNN];
} cnn_weights;

static cnn_weights *g_cnn[CNN_MAX_CIN + 1];
static pthread_mutex_t g_cnn_lock = PTHREAD_MUTEX_INITIALIZER;

static const int CONV_SHAPE[L_NCONV][3] = {   /* cout, cin (0 = the input's C), k */
  { 32, 0, 7 },
  { 64, 32, 3 }, { 64, 64, 3 }, { 64, 32, 1 },
  { 128, 64, 3 }, { 128, 128, 3 }, { 128, 64, 1 },
  { 256, 128, 3 }, { 256, 256, 3 }, { 256, 128, 1 },
};

static sl_rng_stream cnn_stream(int layer, int cin) {
  return sl_rng_stream_make(SL_FI_CNN_SEED, sl_rng_stream_id(SL_RNG_PURPOSE_CNN_EMBED, (uint64_t)layer, (uint64_t)cin, 0));
}

static void cnn_free(cnn_weights *cw) {
  if (!cw) return;
  for (int l = 0; l < L_NCONV; l++) free(cw->conv[l].w);
  free(cw);
}

/* The weights for `cin` input channels, built on first use (NULL on allocation failure). */
static const cnn_weights *cnn_get(int cin) {
  pthread_mutex_lock(&g_cnn_lock);
  cnn_weights *cw = g_cnn[cin];
  if (!cw) {
    cw = calloc(1, sizeof *cw);
    int ok = cw != NULL;
    for (int l = 0; ok && l < L_NCONV; l++) {
      convw *c = &cw->conv[l];
      c->cout = CONV_SHAPE[l][0]; c->cin = CONV_SHAPE[l][1] ? CONV_SHAPE[l][1] : cin; c->k = CONV_SHAPE[l][2];
      int64_t n = (int64_t)c->cout * c->cin * c->k * c->k;
      c->w = malloc((size_t)n * sizeof(float));
      if (!c->w) { ok = 0; break; }
      double fan_in = (double)c->cin * c->k * c->k;
      sl_rng_normal_f32(cnn_stream(l, cin), 0, n, c->w, 0.0f, (float)sqrt(2.0 / fan_in));   /* He */
    }
    if (ok) {
      sl_rng_normal_f32(cnn_stream(L_HEAD_W, cin), 0, SL_FI_NCNN * CNN_FEAT, cw->hw, 0.0f, (float)(1.0 / sqrt((double)CNN_FEAT)));
      float bound = (float)(1.0 / sqrt((double)CNN_FEAT));
      sl_rng_uniform_f32(cnn_stream(L_HEAD_B, cin), 0, SL_FI_NCNN, cw->hb, -bound, bound);
      g_cnn[cin] = cw;
    } else {
      cnn_free(cw);
      cw = NULL;
    }
  }
  pthread_mutex_unlock(&g_cnn_lock);
  return cw;
}

static inline int64_t conv_out(int64_t n, int k, int s, int p) { return (n + 2 * p - k) / s + 1; }

/* Dot product with 16 fixed partial sums: vectorisable without -ffast-math, and the summation
 * order is fixed, so results do not depend on the machine's thread count. */
static float dot_f32(const float *a, const float *b, int64_t n) {
  float acc[16] = { 0 };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += a[i + j] * b[i + j];
  float t = 0;
  for (; i < n; i++) t += a[i] * b[i];
  for (int j = 0; j < 16; j++) t += acc[j];
  return t;
}

/* out[co][oy][ox] = Σ_ci,ky,kx w[co][ci][ky][kx] · in[ci][oy·s+ky−p][ox·s+kx−p] (zeros outside).
 * The patches are gathered once into col[pixel][ci·k·k] (the weight row's layout), so each
 * output value is one contiguous dot product, whatever the stride or the (often tiny) spatial
 * size.  col: Ho·Wo·cin·k·k floats of scratch. */
static void conv_raw(float *out, const float *in, int cin, int H, int W, const float *w, int cout,
                     int k, int s, int p, int Ho, int Wo, float *col) {
  const int64_t q = (int64_t)cin * k * k, np = (int64_t)Ho * Wo;
  for (int oy = 0; oy < Ho; oy++)
    for (int ox = 0; ox < Wo; ox++) {
      float *c = col + ((int64_t)oy * Wo + ox) * q;
      for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < k; ky++) {
          int iy = oy * s + ky - p;
          for (int kx = 0; kx < k; kx++) {
            int ix = ox * s + kx - p;
            *c++ = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? in[((int64_t)ci * H + iy) * W + ix] : 0.0f;
          }
        }
    }
  for (int co = 0; co < cout; co++) {
    const float *wr = w + (int64_t)co * q;
    float *o = out + (int64_t)co * np;
    for (int64_t pix = 0; pix < np; pix++) o[pix] = dot_f32(wr, col + pix * q, q);
  }
}

static void bn_act(float *x, int64_t n, int relu) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i] * (float)BN_SCALE;
    x[i] = relu && v < 0 ? 0.0f : v;
  }
}

/* 3×3 max-pool, stride 2, padding 1 (padding never wins: -inf). */
static void maxpool_raw(float *out, const float *in, int C, int H, int W, int Ho, int Wo) {
  for (int c = 0; c < C; c++)
    for (int oy = 0; oy < Ho; oy++)
      for (int ox = 0; ox < Wo; ox++) {
        float m = -INFINITY;
        for (int dy = 0; dy < 3; dy++) {
          int iy = oy * 2 + dy - 1;
          if (iy < 0 || iy >= H) continue;
          for (int dx = 0; dx < 3; dx++) {
            int ix = ox * 2 + dx - 1;
            if (ix < 0 || ix >= W) continue;
            float v = in[((int64_t)c * H + iy) * W + ix];
            if (v > m) m = v;
          }
        }
        out[((int64_t)c * Ho + oy) * Wo + ox] = m;
      }
}

/* Resamples one plane H×W → S×S (see the header for the rule). */
static void resize_plane(float *out, const float *in, int H, int W, int S) {
  if (H == S && W == S) { memcpy(out, in, (size_t)S * S * sizeof(float)); return; }
  if (H % S == 0 && W % S == 0) {
    int fy = H / S, fx = W / S;
    for (int oy = 0; oy < S; oy++)
      for (int ox = 0; ox < S; ox++) {
        double acc = 0;
        for (int dy = 0; dy < fy; dy++)
          for (int dx = 0; dx < fx; dx++) acc += in[(int64_t)(oy * fy + dy) * W + ox * fx + dx];
        out[(int64_t)oy * S + ox] = (float)(acc / (fy * fx));
      }
    return;
  }
  const double sy = (double)H / S, sx = (double)W / S;
  for (int oy = 0; oy < S; oy++) {
    double y = (oy + 0.5) * sy - 0.5; if (y < 0) y = 0;
    int y0 = (int)y; if (y0 > H - 1) y0 = H - 1;
    int y1 = y0 < H - 1 ? y0 + 1 : y0;
    double ly = y - y0;
    for (int ox = 0; ox < S; ox++) {
      double xx = (ox + 0.5) * sx - 0.5; if (xx < 0) xx = 0;
      int x0 = (int)xx; if (x0 > W - 1) x0 = W - 1;
      int x1 = x0 < W - 1 ? x0 + 1 : x0;
      double lx = xx - x0;
      double v = (1 - ly) * ((1 - lx) * in[(int64_t)y0 * W + x0] + lx * in[(int64_t)y0 * W + x1])
               + ly * ((1 - lx) * in[(int64_t)y1 * W + x0] + lx * in[(int64_t)y1 * W + x1]);
      out[(int64_t)oy * S + ox] = (float)v;
    }
  }
}

/* Residual block: relu(bn(conv_s(x)) → bn(conv_1) + bn(skip_s(x))).  in [cin,H,W] → out [cout,Ho,Wo].
 * t1 is scratch of cout·Ho·Wo floats. */
static void res_block(float *out, const float *in, int H, int W, const convw *c1, const convw *c2,
                      const convw *sk, float *t1, float *col, int *Ho_, int *Wo_) {
  int Ho = (int)conv_out(H, 3, 2, 1), Wo = (int)conv_out(W, 3, 2, 1);
  int64_t n = (int64_t)c1->cout * Ho * Wo;
  conv_raw(t1, in, c1->cin, H, W, c1->w, c1->cout, 3, 2, 1, Ho, Wo, col);
  bn_act(t1, n, 1);
  conv_raw(out, t1, c2->cin, Ho, Wo, c2->w, c2->cout, 3, 1, 1, Ho, Wo, col);
  bn_act(out, n, 0);
  /* the skip path (1×1, stride 2, no padding) has the same output size for these shapes */
  conv_raw(t1, in, sk->cin, H, W, sk->w, sk->cout, 1, 2, 0, Ho, Wo, col);
  for (int64_t i = 0; i < n; i++) {
    float v = out[i] + t1[i] * (float)BN_SCALE;
    out[i] = v < 0 ? 0.0f : v;
  }
  *Ho_ = Ho; *Wo_ = Wo;
}

static int cnn_sample(const cnn_weights *cw, const float *x, int C, int H, int W, int S, float *emb) {
  const int64_t S2 = (int64_t)S * S;
  const int h1 = (int)conv_out(S, 7, 2, 3);           /* stem output side */
  const int hp = (int)conv_out(h1, 3, 2, 1);          /* after the max-pool */
  /* largest activation: the stem output or the input */
  int64_t big = (int64_t)32 * h1 * h1;
  if ((int64_t)C * S2 > big) big = (int64_t)C * S2;
  float *A = malloc((size_t)big * sizeof(float)), *Bf = malloc((size_t)big * sizeof(float));
  /* patch scratch: the stem, or the widest block convolution (conv2: cout·9 per pixel) */
  int64_t colmax = (int64_t)h1 * h1 * C * 49;
  {
    int h = hp;
    for (int b = 0; b < 3; b++) {
      int64_t ho = conv_out(h, 3, 2, 1);
      int64_t need = ho * ho * (64 << b) * 9;
      if (need > colmax) colmax = need;
      h = (int)ho;
    }
  }
  float *T = malloc((size_t)big * sizeof(float)), *col = malloc((size_t)colmax * sizeof(float));
  if (!A || !Bf || !T || !col) { free(A); free(Bf); free(T); free(col); return 0; }
  for (int c = 0; c < C; c++) {
    float *p = A + c * S2;
    resize_plane(p, x + (int64_t)c * H * W, H, W, S);
    double m = 0, v = 0;
    for (int64_t i = 0; i < S2; i++) m += p[i];
    m /= (double)S2;
    for (int64_t i = 0; i < S2; i++) { double d = p[i] - m; v += d * d; }
    double sd = sqrt(v / (double)S2);
    for (int64_t i = 0; i < S2; i++) p[i] = sd > 0 && isfinite(sd) ? (float)((p[i] - m) / sd) : 0.0f;
  }
  const convw *st = &cw->conv[L_STEM];
  conv_raw(Bf, A, C, S, S, st->w, 32, 7, 2, 3, h1, h1, col);
  bn_act(Bf, (int64_t)32 * h1 * h1, 1);
  maxpool_raw(A, Bf, 32, h1, h1, hp, hp);
  int h = hp, w = hp, ho, wo;
  res_block(Bf, A, h, w, &cw->conv[L_B1C1], &cw->conv[L_B1C2], &cw->conv[L_B1S], T, col, &ho, &wo);
  h = ho; w = wo;
  res_block(A, Bf, h, w, &cw->conv[L_B2C1], &cw->conv[L_B2C2], &cw->conv[L_B2S], T, col, &ho, &wo);
  h = ho; w = wo;
  res_block(Bf, A, h, w, &cw->conv[L_B3C1], &cw->conv[L_B3C2], &cw->conv[L_B3S], T, col, &ho, &wo);
  h = ho; w = wo;
  double feat[CNN_FEAT];
  for (int c = 0; c < CNN_FEAT; c++) {
    double acc = 0;
    for (int64_t i = 0; i < (int64_t)h * w; i++) acc += Bf[(int64_t)c * h * w + i];
    feat[c] = acc / ((double)h * w);
  }
  for (int j = 0; j < SL_FI_NCNN; j++) {
    double acc = cw->hb[j];
    for (int c = 0; c < CNN_FEAT; c++) acc += (double)cw->hw[j * CNN_FEAT + c] * feat[c];
    emb[j] = (float)(acc * BN_SCALE);
  }
  free(A); free(Bf); free(T); free(col);
  return 1;
}

sl_status sl_feat_initial_cnn(sl_tensor **out, const sl_tensor *ic, int64_t size) {
  *out = NULL;
  if (!ic || ic->ndim != 4) {
    return SL_ERR(SL_ERR_SHAPE, "feat_initial_cnn: ic must be [B,C,H,W], got %d dims", ic ? ic->ndim : 0);
  }
  if (size < 16 || size > 512) {
    return SL_ERR(SL_ERR_ARG, "feat_initial_cnn: input size must be in [16, 512], got %lld", (long long)size);
  }
  const int64_t B = ic->shape[0], C = ic->shape[1], H = ic->shape[2], W = ic->shape[3];
  if (C < 1 || C > CNN_MAX_CIN) {
    return SL_ERR(SL_ERR_SHAPE, "feat_initial_cnn: ic must have 1..%d channels, got %lld", CNN_MAX_CIN, (long long)C);
  }
  if (H < 1 || W < 1) return SL_ERR(SL_ERR_SHAPE, "feat_initial_cnn: empty grid %lldx%lld", (long long)H, (long long)W);
  const cnn_weights *cw = cnn_get((int)C);
  if (!cw) return SL_ERR(SL_ERR_OOM, "feat_initial_cnn: out of memory for the CNN weights");
  sl_tensor *x = NULL, *r = NULL;
  SL_TRY(sl_tensor_contiguous_as(&x, ic, SL_DTYPE_F32));
  int64_t shp[2] = { B, SL_FI_NCNN };
  sl_status st = sl_tensor_empty(&r, SL_DTYPE_F32, 2, shp);
  if (st != SL_OK) { sl_tensor_release(x); return st; }
  const float *xd = sl_tensor_data(x);
  float *rd = sl_tensor_data(r);
  int failed = 0;
  #pragma omp parallel for schedule(dynamic, 1) num_threads(sl_num_threads())
  for (int64_t b = 0; b < B; b++) {
    if (!cnn_sample(cw, xd + b * C * H * W, (int)C, (int)H, (int)W, (int)size, rd + b * SL_FI_NCNN)) {
      #pragma omp atomic write
      failed = 1;
    }
  }
  sl_tensor_release(x);
  if (failed) { sl_tensor_release(r); return SL_ERR(SL_ERR_OOM, "feat_initial_cnn: out of memory for activations"); }
  *out = r;
  return SL_OK;
}

/* ======================= test hooks ======================= */

sl_status sl_feat_initial_conv2d(sl_tensor **out, const sl_tensor *x, const sl_tensor *w,
                                 int64_t stride, int64_t pad) {
  *out = NULL;
  if (!x || !w || x->ndim != 4 || w->ndim != 4) {
    return SL_ERR(SL_ERR_SHAPE, "feat_initial_conv2d: expected x [B,Cin,H,W] and w [Cout,Cin,k,k]");
  }
  if (w->shape[1] != x->shape[1] || w->shape[2] != w->shape[3]) {
    return SL_ERR(SL_ERR_SHAPE, "feat_initial_conv2d: weight [%lld,%lld,%lld,%lld] does not fit input with %lld channels",
                  (long long)w->shape[0], (long long)w->shape[1], (long long)w->shape[2], (long long)w->shape[3],
                  (long long)x->shape[1]);
  }
  if (stride < 1 || pad < 0) return SL_ERR(SL_ERR_ARG, "feat_initial_conv2d: stride must be >= 1 and pad >= 0");
  const int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
  const int64_t Co = w->shape[0], k = w->shape[2];
  const int64_t Ho = conv_out(H, (int)k, (int)stride, (int)pad), Wo = conv_out(W, (int)k, (int)stride, (int)pad);
  if (H + 2 * pad < k || W + 2 * pad < k) return SL_ERR(SL_ERR_SHAPE, "feat_initial_conv2d: kernel larger than the padded input");
  sl_tensor *xc = NULL, *wc = NULL, *r = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, x, SL_DTYPE_F32));
  sl_status st = sl_tensor_contiguous_as(&wc, w, SL_DTYPE_F32);
  int64_t shp[4] = { B, Co, Ho, Wo };
  if (st == SL_OK) st = sl_tensor_empty(&r, SL_DTYPE_F32, 4, shp);
  if (st != SL_OK) { sl_tensor_release(xc); sl_tensor_release(wc); return st; }
  const float *xd = sl_tensor_data(xc), *wd = sl_tensor_data(wc);
  float *rd = sl_tensor_data(r);
  int failed = 0;
  #pragma omp parallel for schedule(dynamic, 1) num_threads(sl_num_threads())
  for (int64_t b = 0; b < B; b++) {
    float *col = malloc((size_t)(Ho * Wo * Ci * k * k) * sizeof(float) + 1);
    if (!col) {
      #pragma omp atomic write
      failed = 1;
      continue;
    }
    conv_raw(rd + b * Co * Ho * Wo, xd + b * Ci * H * W, (int)Ci, (int)H, (int)W, wd, (int)Co, (int)k,
             (int)stride, (int)pad, (int)Ho, (int)Wo, col);
    free(col);
  }
  sl_tensor_release(xc); sl_tensor_release(wc);
  if (failed) { sl_tensor_release(r); return SL_ERR(SL_ERR_OOM, "feat_initial_conv2d: out of memory"); }
  *out = r;
  return SL_OK;
}

sl_status sl_feat_initial_resize(sl_tensor **out, const sl_tensor *x, int64_t size) {
  *out = NULL;
  if (!x || x->ndim != 4) return SL_ERR(SL_ERR_SHAPE, "feat_initial_resize: expected x [B,C,H,W]");
  if (size < 1) return SL_ERR(SL_ERR_ARG, "feat_initial_resize: size must be >= 1, got %lld", (long long)size);
  const int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  if (H < 1 || W < 1) return SL_ERR(SL_ERR_SHAPE, "feat_initial_resize: empty grid");
  sl_tensor *xc = NULL, *r = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, x, SL_DTYPE_F32));
  int64_t shp[4] = { B, C, size, size };
  sl_status st = sl_tensor_empty(&r, SL_DTYPE_F32, 4, shp);
  if (st != SL_OK) { sl_tensor_release(xc); return st; }
  const float *xd = sl_tensor_data(xc);
  float *rd = sl_tensor_data(r);
  for (int64_t p = 0; p < B * C; p++) resize_plane(rd + p * size * size, xd + p * H * W, (int)H, (int)W, (int)size);
  sl_tensor_release(xc);
  *out = r;
  return SL_OK;
}
