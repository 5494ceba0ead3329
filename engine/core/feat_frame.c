/* feat_frame.c — the per-frame feature kernel (see sl_feat_frame.h and the formula text in
 * feat_frame_catalog.c, which this file must follow column by column).
 *
 * Design:
 *  - One OpenMP task per frame (m, t).  A frame is computed entirely by one thread with its own
 *    scratch, in a fixed order, so the result does not depend on the thread count.
 *  - One pass over a channel gathers the moments; one stencil pass gives gradients and the
 *    Laplacian; one half-plane FFT (sl_fft_r2c, orthonormal, all C channels of the frame in one
 *    batch) feeds every spectral, distributional-spectral and physics feature.  Quantiles use a
 *    multi-rank quickselect instead of a sort (O(N) expected).
 *  - Everything the frequency grid determines (multiplicities, frequencies, bands, radial shells,
 *    the bins ordered by radial frequency for the roll-off) is computed once per call and shared
 *    read-only by the threads.
 *  - Accumulation is in double; values are stored as float32.
 *  - The half-plane spectrum counts each non-DC bin with its multiplicity m (2 for bins whose
 *    mirror is not stored, 1 in columns 0 and W/2), so spectral sums are full-plane sums and
 *    ratios are true fractions of the variance (the reference ignored the mirror bins and kept
 *    the DC bin, which made its ratios and peaks depend on the mean). */
#define _GNU_SOURCE   /* qsort_r */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sl_feat_frame.h"
#include "sl_fft.h"
#include "feat_uf.h"

/* Full-catalog column indices (the catalog order, checked against the table at run time). */
enum {
  F_MEAN = 0, F_VAR, F_STD, F_SKEW, F_KURT, F_MIN, F_MAX, F_RANGE, F_IQR, F_MAD,
  F_GMEAN, F_GSTD, F_GMAX, F_GXABS, F_GYABS, F_GANISO, F_LAPABS, F_LAPSTD, F_LAPENERGY,
  F_P5, F_P25, F_P50, F_P75, F_P95,
  F_BAND0 = 24,               /* 5 bands × (mean, max, std) */
  F_DOMX = 39, F_DOMY, F_PEAKRATIO, F_CENTX, F_CENTY, F_BANDWIDTH, F_LOW, F_MID, F_HIGH,
  F_FLAT, F_ROLLOFF, F_SANISO,
  F_CC0 = 51,                 /* 12 cross-channel columns */
  F_EIG1 = 51, F_EIG2, F_EIG3, F_EIGENT, F_LOGCOND, F_PART, F_CMEAN, F_CMAX, F_CMIN, F_CSTD,
  F_MIMEAN, F_MIMAX,
  F_HENT = 63, F_HPEAK, F_SENT, F_BIMOD, F_TAIL,
  F_NCOMP = 68, F_COMPMEAN, F_LARGEST, F_IFACE, F_EDGE,
  F_CORRLEN = 73, F_SFPEAK, F_SLOPE, F_GRADRATIO, F_MEANFRAC,
  F_AREA = 78, F_INTERIOR, F_DILATION, F_ISOPER,
  F_WAV1 = 82, F_WAVRES = 86,
  F_COUNT = 87
};

#define NBANDS 5
#define HIST_BINS 32
#define MI_BINS 16
#define WAV_LEVELS 4
#define QB 2048          /* quantile buckets */

/* Shared frequency-grid tables for one (H, W). */
typedef struct {
  int H, W, Wc, G;           /* G = min(H, W) */
  int64_t N, K;              /* N = H·W real cells, K = H·Wc half-plane bins */
  float  *m;                 /* multiplicity, 0 for DC */
  double *fx, *fy, *rho;     /* fy signed (fftfreq) */
  int    *band;              /* 0..NBANDS-1 or -1 */
  int    *shell;             /* 1..G/2 or 0 (outside) */
  int64_t *order;            /* non-DC bins by ascending rho */
  int64_t nnondc;
  int    nshell;
} geom;

/* Per-thread scratch. */
typedef struct {
  float  *F;                 /* [C, H, Wc, 2] */
  double *work;              /* 2N (quantile selection) */
  int64_t *qbuf;             /* 4·QB quantile bucket tables */
  double *G;                 /* N */
  uint8_t *b, *morph, *bins; /* N, 2N, C·N */
  int32_t *parent;           /* N */
  double *coarse;            /* N/4 + 1 */
  double *chan;              /* C · F_COUNT per-channel values */
  double *shellS, *shellW;   /* nshell + 1 */
  double *Sx, *Sy;           /* Wc, H */
  double *cmean, *cstd, *cmin, *cmax;  /* C */
  int    *cok, *cfin;        /* C: non-degenerate, finite */
} scratch;

/* ---- geometry ---- */
static int cmp_rho(const void *a, const void *b, void *ctx) {
  const geom *g = ctx;
  int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
  if (g->rho[i] < g->rho[j]) return -1;
  if (g->rho[i] > g->rho[j]) return 1;
  return (i > j) - (i < j);   /* stable: row-major order among equal radii */
}

static void geom_free(geom *g) {
  sl_free(g->m, g->K * sizeof(float));
  sl_free(g->fx, g->K * sizeof(double)); sl_free(g->fy, g->K * sizeof(double));
  sl_free(g->rho, g->K * sizeof(double));
  sl_free(g->band, g->K * sizeof(int)); sl_free(g->shell, g->K * sizeof(int));
  sl_free(g->order, g->K * sizeof(int64_t));
}

static sl_status geom_init(geom *g, int H, int W) {
  memset(g, 0, sizeof *g);
  g->H = H; g->W = W; g->Wc = W / 2 + 1; g->G = H < W ? H : W;
  g->N = (int64_t)H * W; g->K = (int64_t)H * g->Wc;
  g->nshell = g->G / 2;
  int64_t K = g->K;
  g->m = sl_alloc(K * sizeof(float));
  g->fx = sl_alloc(K * sizeof(double)); g->fy = sl_alloc(K * sizeof(double));
  g->rho = sl_alloc(K * sizeof(double));
  g->band = sl_alloc(K * sizeof(int)); g->shell = sl_alloc(K * sizeof(int));
  g->order = sl_alloc(K * sizeof(int64_t));
  if (!g->m || !g->fx || !g->fy || !g->rho || !g->band || !g->shell || !g->order) {
    geom_free(g);
    return SL_ERR(SL_ERR_OOM, "feat_frame: out of memory for the %dx%d frequency tables", H, W);
  }
  double rmax = 0;
  for (int ky = 0; ky < H; ky++)
    for (int kx = 0; kx < g->Wc; kx++) {
      int64_t k = (int64_t)ky * g->Wc + kx;
      int sy = ky <= (H - 1) / 2 ? ky : ky - H;           /* numpy fftfreq sign convention */
      g->fy[k] = (double)sy / H;
      g->fx[k] = (double)kx / W;
      g->rho[k] = sqrt(g->fx[k] * g->fx[k] + g->fy[k] * g->fy[k]);
      int selfcol = kx == 0 || (W % 2 == 0 && kx == W / 2);
      g->m[k] = k == 0 ? 0.0f : (selfcol ? 1.0f : 2.0f);
      if (g->rho[k] * g->G > rmax) rmax = g->rho[k] * g->G;
    }
  /* square-root spaced band edges (reference convention, cycles per grid), last band closed */
  double e[NBANDS + 1];
  for (int s = 0; s <= NBANDS; s++) {
    double t = sqrt(0.5) + (double)s / NBANDS * (sqrt(rmax) - sqrt(0.5));
    e[s] = t * t;
  }
  int64_t nn = 0;
  for (int64_t k = 0; k < K; k++) {
    double r = g->rho[k] * g->G;
    g->band[k] = -1;
    if (k != 0)
      for (int s = 0; s < NBANDS; s++)
        if (r >= e[s] && (r < e[s + 1] || (s == NBANDS - 1 && r <= rmax))) { g->band[k] = s; break; }
    int j = (int)floor(r + 0.5);
    g->shell[k] = (k != 0 && j >= 1 && j <= g->nshell) ? j : 0;
    if (k != 0) g->order[nn++] = k;
  }
  g->nnondc = nn;
  qsort_r(g->order, (size_t)nn, sizeof(int64_t), cmp_rho, g);   /* glibc qsort_r: reentrant */
  return SL_OK;
}

/* ---- scratch ---- */
#define SCRATCH_FIELDS(X) \
  X(F, float, (size_t)C * g->K * 2) X(work, double, 2 * g->N) X(qbuf, int64_t, 4 * QB) X(G, double, g->N) \
  X(b, uint8_t, g->N) X(morph, uint8_t, 2 * g->N) X(bins, uint8_t, (size_t)C * g->N) X(parent, int32_t, g->N) \
  X(coarse, double, g->N / 4 + 1) X(chan, double, (size_t)C * F_COUNT) \
  X(shellS, double, g->nshell + 1) X(shellW, double, g->nshell + 1) \
  X(Sx, double, g->Wc) X(Sy, double, g->H) \
  X(cmean, double, C) X(cstd, double, C) X(cmin, double, C) X(cmax, double, C) \
  X(cok, int, C) X(cfin, int, C)

static void scratch_free(scratch *s, const geom *g, int C) {
#define X(f, T, n) sl_free(s->f, (n) * sizeof(T));
  SCRATCH_FIELDS(X)
#undef X
}

static int scratch_init(scratch *s, const geom *g, int C) {
  memset(s, 0, sizeof *s);
  int ok = 1;
#define X(f, T, n) s->f = sl_alloc((n) * sizeof(T)); ok = ok && s->f;
  SCRATCH_FIELDS(X)
#undef X
  if (!ok) scratch_free(s, g, C);
  return ok;
}

/* ---- selection: after the call a[r[k]] is the r[k]-th smallest of a[lo..hi] for each k ----
 * r sorted ascending and inside [lo, hi].  Hoare partition around a median-of-three value. */
static void multiselect(double *a, int64_t lo, int64_t hi, const int64_t *r, int nr) {
  while (nr > 0 && hi > lo) {
    if (hi - lo < 16) {
      for (int64_t i = lo + 1; i <= hi; i++) {
        double v = a[i]; int64_t j = i - 1;
        while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
      }
      return;
    }
    int64_t mid = lo + (hi - lo) / 2;
    double x = a[lo], y = a[mid], z = a[hi];
    double piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < piv) i++;
      while (a[j] > piv) j--;
      if (i <= j) { double t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    /* a[lo..j] <= piv <= a[i..hi]; anything strictly between j and i equals piv */
    int nl = 0; while (nl < nr && r[nl] <= j) nl++;
    int nm = nl; while (nm < nr && r[nm] < i) nm++;
    if (nl > 0) multiselect(a, lo, j, r, nl);
    r += nm; nr -= nm; lo = i;
  }
}

static void add_ranks(int64_t *r, int *nr, int64_t n, double p) {
  int64_t lo = (int64_t)floor(p * (double)(n - 1));
  r[(*nr)++] = lo;
  if (lo + 1 < n) r[(*nr)++] = lo + 1;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Quantiles at ps[0..np) of the n values in a, all in [mn, mx] (a is reordered).
 * Bucket pass first: a QB-bucket histogram over [mn, mx] (the bucket index is monotone in the
 * value, so buckets are ordered) locates the bucket holding each needed rank; only those
 * buckets' values are moved to the front of `a` and selected there.  This replaces a branchy
 * quickselect over all n values (the hot spot of the spatial category) by one linear pass;
 * a bucket holding most values (heavy ties) degrades to the plain selection. */
static void quantiles(double *a, int64_t n, double mn, double mx, const double *ps, int np, double *out,
                      int64_t *qbuf) {
  int64_t r[16]; int nr = 0;
  for (int i = 0; i < np; i++) add_ranks(r, &nr, n, ps[i]);
  qsort(r, (size_t)nr, sizeof r[0], cmp_i64);
  int u = 0;
  for (int i = 0; i < nr; i++) if (u == 0 || r[i] != r[u - 1]) r[u++] = r[i];
  if (!(mx > mn)) {   /* all values equal */
    for (int i = 0; i < np; i++) out[i] = mn;
    return;
  }
  int64_t *cnt = qbuf, *start = qbuf + QB, *gpos = qbuf + 2 * QB, *fill = qbuf + 3 * QB;
  const double scale = QB / (mx - mn);
  memset(cnt, 0, QB * sizeof *cnt);
  for (int64_t i = 0; i < n; i++) {
    int64_t b = (int64_t)((a[i] - mn) * scale);
    cnt[b >= QB ? QB - 1 : b]++;
  }
  /* bucket of each rank and the rank's offset among the gathered values */
  uint8_t need[QB];
  memset(need, 0, sizeof need);
  int64_t acc = 0;
  for (int b = 0; b < QB; b++) { start[b] = acc; acc += cnt[b]; }
  int64_t rb[16];
  for (int k = 0, b = 0; k < u; k++) {
    while (start[b] + cnt[b] <= r[k]) b++;
    rb[k] = b; need[b] = 1;
  }
  int64_t ng = 0;
  for (int b = 0; b < QB; b++) if (need[b]) { gpos[b] = ng; ng += cnt[b]; }
  /* gather the needed buckets to the front (swap keeps a a permutation) */
  for (int b = 0; b < QB; b++) fill[b] = need[b] ? gpos[b] : 0;
  double *tmp = a + n;   /* caller provides n extra slots */
  for (int64_t i = 0; i < n; i++) {
    int64_t b = (int64_t)((a[i] - mn) * scale);
    if (b >= QB) b = QB - 1;
    if (need[b]) tmp[fill[b]++] = a[i];
  }
  int64_t rr[16];
  for (int k = 0; k < u; k++) rr[k] = gpos[rb[k]] + (r[k] - start[rb[k]]);
  /* select inside each gathered bucket; rr are sorted because buckets are ordered */
  int k0 = 0;
  while (k0 < u) {
    int k1 = k0;
    while (k1 < u && rb[k1] == rb[k0]) k1++;
    int64_t lo = gpos[rb[k0]], hi = lo + cnt[rb[k0]] - 1;
    multiselect(tmp, lo, hi, rr + k0, k1 - k0);
    k0 = k1;
  }
  for (int i = 0; i < np; i++) {
    double pos = ps[i] * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos);
    double t = pos - (double)lo;
    int klo = 0; while (r[klo] != lo) klo++;
    double vlo = tmp[rr[klo]];
    if (lo >= n - 1) { out[i] = vlo; continue; }
    double vhi = tmp[rr[klo + 1]];   /* rank lo+1 is the next entry of r */
    out[i] = vlo + t * (vhi - vlo);
  }
}

/* ---- per-channel features: v[0..F_COUNT) (cross-channel slots untouched) ---- */
static void channel_features(const geom *g, scratch *s, const float *u, const float *F,
                             unsigned mask, int c, double *v) {
  const int H = g->H, W = g->W;
  const int64_t N = g->N;
  const double NaN = NAN;
  for (int i = 0; i < F_COUNT; i++) v[i] = NaN;

  /* moments (two passes, double) */
  double sum = 0, mn = INFINITY, mx = -INFINITY, maxabs = 0;
  int finite = 1;
  for (int64_t i = 0; i < N; i++) {
    double x = u[i];
    if (!isfinite(x)) { finite = 0; break; }
    sum += x;
    if (x < mn) mn = x;
    if (x > mx) mx = x;
    if (fabs(x) > maxabs) maxabs = fabs(x);
  }
  s->cfin[c] = finite;
  s->cok[c] = 0;
  if (!finite) return;   /* a non-finite field: every per-channel value NaN */
  double mean = sum / (double)N, m2 = 0, m3 = 0, m4 = 0;
  for (int64_t i = 0; i < N; i++) {
    double d = u[i] - mean, d2 = d * d;
    m2 += d2; m3 += d2 * d; m4 += d2 * d2;
  }
  double pvar = m2 / (double)N, pstd = sqrt(pvar);
  int ok = maxabs > 0 && pstd > 1e-6 * maxabs;   /* not degenerate */
  s->cmean[c] = mean; s->cstd[c] = pstd; s->cmin[c] = mn; s->cmax[c] = mx; s->cok[c] = ok;
  double g1 = NaN, g2 = NaN;
  if (ok) {
    g1 = (m3 / (double)N) / (pvar * pstd);
    g2 = (m4 / (double)N) / (pvar * pvar) - 3.0;
  }

  if (mask & (1u << SL_FF_SPATIAL)) {
    v[F_MEAN] = mean;
    v[F_VAR] = m2 / (double)(N - 1);
    v[F_STD] = sqrt(v[F_VAR]);
    v[F_SKEW] = g1; v[F_KURT] = g2;
    v[F_MIN] = mn; v[F_MAX] = mx; v[F_RANGE] = mx - mn;
    static const double ps[5] = { 0.05, 0.25, 0.5, 0.75, 0.95 };
    double q[5];
    for (int64_t i = 0; i < N; i++) s->work[i] = u[i];
    quantiles(s->work, N, mn, mx, ps, 5, q, s->qbuf);
    v[F_P5] = q[0]; v[F_P25] = q[1]; v[F_P50] = q[2]; v[F_P75] = q[3]; v[F_P95] = q[4];
    v[F_IQR] = q[3] - q[1];
    double dmax = 0;
    for (int64_t i = 0; i < N; i++) { s->work[i] = fabs(u[i] - q[2]); if (s->work[i] > dmax) dmax = s->work[i]; }
    static const double half = 0.5;
    quantiles(s->work, N, 0.0, dmax, &half, 1, &v[F_MAD], s->qbuf);
  }

  /* gradient / Laplacian stencil pass (periodic) */
  double gsum = 0, gmax = 0, sax = 0, say = 0, g2sum = 0, ls = 0, labs = 0, l2 = 0;
  unsigned need_grad = (1u << SL_FF_SPATIAL) | (1u << SL_FF_STRUCTURAL) | (1u << SL_FF_PHYSICS);
  if (mask & need_grad) {
    for (int y = 0; y < H; y++) {
      const float *row = u + (int64_t)y * W;
      const float *up = u + (int64_t)(y == 0 ? H - 1 : y - 1) * W;
      const float *dn = u + (int64_t)(y == H - 1 ? 0 : y + 1) * W;
      for (int x = 0; x < W; x++) {
        int xl = x == 0 ? W - 1 : x - 1, xr = x == W - 1 ? 0 : x + 1;
        double dx = ((double)row[xr] - row[xl]) * 0.5;
        double dy = ((double)dn[x] - up[x]) * 0.5;
        double lap = (double)up[x] + dn[x] + row[xl] + row[xr] - 4.0 * row[x];
        double e = dx * dx + dy * dy, gm = sqrt(e);
        s->G[(int64_t)y * W + x] = gm;
        gsum += gm; if (gm > gmax) gmax = gm;
        sax += fabs(dx); say += fabs(dy); g2sum += e;
        ls += lap; labs += fabs(lap); l2 += lap * lap;
      }
    }
  }
  double gmean = gsum / (double)N, gvar = 0;
  if (mask & ((1u << SL_FF_SPATIAL) | (1u << SL_FF_STRUCTURAL))) {
    for (int64_t i = 0; i < N; i++) { double d = s->G[i] - gmean; gvar += d * d; }
    gvar /= (double)(N - 1);
  }
  if (mask & (1u << SL_FF_SPATIAL)) {
    v[F_GMEAN] = gmean; v[F_GSTD] = sqrt(gvar); v[F_GMAX] = gmax;
    v[F_GXABS] = sax / (double)N; v[F_GYABS] = say / (double)N;
    v[F_GANISO] = sax + say > 0 ? (sax - say) / (sax + say) : NaN;
    v[F_LAPABS] = labs / (double)N;
    v[F_LAPSTD] = sqrt(fmax(0.0, (l2 - ls * ls / (double)N) / (double)(N - 1)));
    v[F_LAPENERGY] = l2 / (double)N;
  }

  /* histogram-based distributional features */
  if (mask & (1u << SL_FF_DISTRIBUTIONAL)) {
    int64_t cnt[HIST_BINS] = { 0 };
    double span = mx - mn;
    for (int64_t i = 0; i < N; i++) {
      int bi = 0;
      if (span > 0) {
        double t = floor(HIST_BINS * ((u[i] - mn) / span));
        bi = t >= HIST_BINS - 1 ? HIST_BINS - 1 : (int)t;
      }
      cnt[bi]++;
    }
    double h = 0, pk = 0;
    for (int k = 0; k < HIST_BINS; k++) {
      double p = (double)cnt[k] / (double)N;
      if (p > 0) h -= p * log(p);
      if (p > pk) pk = p;
    }
    v[F_HENT] = h / log((double)HIST_BINS);
    v[F_HPEAK] = pk;
    if (ok) {
      double nn = (double)N;
      v[F_BIMOD] = (g1 * g1 + 1.0) / (g2 + 3.0 * (nn - 1) * (nn - 1) / ((nn - 2) * (nn - 3)));
      int64_t tail = 0;
      for (int64_t i = 0; i < N; i++) tail += fabs(u[i] - mean) > 3.0 * pstd;
      v[F_TAIL] = (double)tail / nn;
    }
  }

  /* spectral, spectral entropy and physics from the half-plane power */
  if (mask & ((1u << SL_FF_SPECTRAL) | (1u << SL_FF_DISTRIBUTIONAL) | (1u << SL_FF_PHYSICS))) {
    const int Wc = g->Wc;
    double bs[NBANDS] = { 0 }, bw[NBANDS] = { 0 }, bmax[NBANDS], bss[NBANDS] = { 0 };
    for (int b = 0; b < NBANDS; b++) bmax[b] = -INFINITY;
    double tot = 0, cx = 0, cy = 0, fx2 = 0, fy2 = 0, lo = 0, mi = 0, hi = 0, pkP = -1;
    int64_t pk = -1;
    for (int j = 0; j <= g->nshell; j++) { s->shellS[j] = 0; s->shellW[j] = 0; }
    for (int kx = 0; kx < Wc; kx++) s->Sx[kx] = 0;
    for (int ky = 0; ky < H; ky++) s->Sy[ky] = 0;
    for (int64_t k = 1; k < g->K; k++) {
      double re = F[2 * k], im = F[2 * k + 1], P = re * re + im * im, m = g->m[k];
      double mP = m * P, afy = fabs(g->fy[k]);
      tot += mP; cx += mP * g->fx[k]; cy += mP * afy;
      fx2 += mP * g->fx[k] * g->fx[k]; fy2 += mP * g->fy[k] * g->fy[k];
      double nu = g->rho[k] / 0.5;
      if (nu < 1.0 / 3.0) lo += mP; else if (nu < 2.0 / 3.0) mi += mP; else hi += mP;
      if (P > pkP) { pkP = P; pk = k; }
      int b = g->band[k];
      if (b >= 0) { bs[b] += mP; bw[b] += m; if (P > bmax[b]) bmax[b] = P; }
      int sh = g->shell[k];
      if (sh > 0) { s->shellS[sh] += mP; s->shellW[sh] += m; }
      s->Sx[k % Wc] += mP;
      s->Sy[k / Wc] += mP;
    }
    if (mask & (1u << SL_FF_SPECTRAL)) {
      for (int b = 0; b < NBANDS; b++) {
        if (bw[b] == 0) continue;
        double mean_b = bs[b] / bw[b];
        v[F_BAND0 + 3 * b] = mean_b;
        v[F_BAND0 + 3 * b + 1] = bmax[b];
      }
      for (int64_t k = 1; k < g->K; k++) {   /* second pass for the in-band spread */
        int b = g->band[k];
        if (b < 0) continue;
        double re = F[2 * k], im = F[2 * k + 1], d = re * re + im * im - bs[b] / bw[b];
        bss[b] += g->m[k] * d * d;
      }
      for (int b = 0; b < NBANDS; b++)
        if (bw[b] > 0) v[F_BAND0 + 3 * b + 2] = sqrt(bss[b] / bw[b]);
      if (ok && tot > 0) {
        int ky = (int)(pk / Wc), kx = (int)(pk % Wc);
        int selfconj = (kx == 0 || (W % 2 == 0 && kx == W / 2)) && (ky == 0 || (H % 2 == 0 && ky == H / 2));
        v[F_DOMX] = g->fx[pk]; v[F_DOMY] = fabs(g->fy[pk]);
        v[F_PEAKRATIO] = (selfconj ? 1.0 : 2.0) * pkP / tot;
        cx /= tot; cy /= tot;
        v[F_CENTX] = cx; v[F_CENTY] = cy;
        double bwv = 0, lsum = 0, msum = 0, meanP = tot / (double)(N - 1), eps = 1e-6 * meanP;
        for (int64_t k = 1; k < g->K; k++) {
          double re = F[2 * k], im = F[2 * k + 1], P = re * re + im * im, m = g->m[k];
          double dx = g->fx[k] - cx, dy = fabs(g->fy[k]) - cy;
          bwv += m * P * (dx * dx + dy * dy);
          lsum += m * log(P + eps); msum += m;
        }
        v[F_BANDWIDTH] = sqrt(bwv / tot);
        v[F_LOW] = lo / tot; v[F_MID] = mi / tot; v[F_HIGH] = hi / tot;
        v[F_FLAT] = exp(lsum / msum) / meanP;
        double cum = 0, thr = 0.85 * tot;
        for (int64_t i = 0; i < g->nnondc; i++) {
          int64_t k = g->order[i];
          double re = F[2 * k], im = F[2 * k + 1];
          cum += g->m[k] * (re * re + im * im);
          if (cum >= thr) { v[F_ROLLOFF] = g->rho[k]; break; }
        }
        v[F_SANISO] = fx2 + fy2 > 0 ? (fx2 - fy2) / (fx2 + fy2) : NaN;
      }
    }
    if ((mask & (1u << SL_FF_DISTRIBUTIONAL)) && ok && tot > 0) {
      double h = 0;
      for (int64_t k = 1; k < g->K; k++) {
        double re = F[2 * k], im = F[2 * k + 1], q = (re * re + im * im) / tot;
        if (q > 0) h -= g->m[k] * q * log(q);
      }
      v[F_SENT] = h / log((double)(N - 1));
    }
    if ((mask & (1u << SL_FF_PHYSICS)) && ok && tot > 0) {
      /* axis autocorrelations from the marginal spectra */
      double ell[2];
      for (int ax = 0; ax < 2; ax++) {
        int n = ax == 0 ? W : H, nk = ax == 0 ? Wc : H, dmax = n / 2;
        const double *S = ax == 0 ? s->Sx : s->Sy;
        const double thr = exp(-1.0);
        double prev = 1.0;
        ell[ax] = dmax;
        for (int d = 1; d <= dmax; d++) {
          double a = 0;
          for (int k = 0; k < nk; k++) a += S[k] * cos(2.0 * M_PI * (double)k * d / n);
          a /= tot;
          if (a < thr) { ell[ax] = (d - 1) + (prev - thr) / (prev - a); break; }
          prev = a;
        }
      }
      v[F_CORRLEN] = 0.5 * (ell[0] + ell[1]);
      /* radial shells: peak and power-law slope */
      int jbest = 0; double sbest = -1;
      double sx = 0, sy = 0, sxx = 0, sxy = 0; int np = 0;
      for (int j = 1; j <= g->nshell; j++) {
        if (s->shellW[j] == 0) continue;
        double S = s->shellS[j] / s->shellW[j];
        if (S > sbest) { sbest = S; jbest = j; }
      }
      /* shells below 1e-8 of the peak are float32 FFT round-off, not signal: left out */
      for (int j = 1; j <= g->nshell; j++) {
        if (s->shellW[j] == 0) continue;
        double S = s->shellS[j] / s->shellW[j];
        if (S >= 1e-8 * sbest && S > 0) {
          double X = log((double)j / g->G), Y = log(S);
          sx += X; sy += Y; sxx += X * X; sxy += X * Y; np++;
        }
      }
      if (jbest > 0) v[F_SFPEAK] = (double)jbest / g->G;
      if (np >= 3) {
        double den = sxx - sx * sx / np;
        if (den > 0) v[F_SLOPE] = (sxy - sx * sy / np) / den;
      }
    }
  }
  if ((mask & (1u << SL_FF_PHYSICS)) && ok) {
    v[F_GRADRATIO] = (g2sum / (double)N) / pvar;
  }
  if (mask & (1u << SL_FF_PHYSICS))
    v[F_MEANFRAC] = mean * mean + pvar > 0 ? mean * mean / (mean * mean + pvar) : NaN;

  /* structural + morphological on b = u > mean + 0.5·pstd */
  if (mask & ((1u << SL_FF_STRUCTURAL) | (1u << SL_FF_MORPHOLOGICAL))) {
    double thr = mean + 0.5 * pstd;
    int64_t area = 0, edges = 0;
    uint8_t *b = s->b;
    for (int64_t i = 0; i < N; i++) { b[i] = (double)u[i] > thr; area += b[i]; }
    for (int y = 0; y < H; y++) {
      int yd = y == H - 1 ? 0 : y + 1;
      for (int x = 0; x < W; x++) {
        int xr = x == W - 1 ? 0 : x + 1;
        uint8_t p = b[(int64_t)y * W + x];
        edges += p != b[(int64_t)y * W + xr];
        edges += p != b[(int64_t)yd * W + x];
      }
    }
    if (mask & (1u << SL_FF_STRUCTURAL)) {
      int32_t *par = s->parent;
      for (int64_t i = 0; i < N; i++) par[i] = (int32_t)i;
      for (int y = 0; y < H; y++) {
        int yd = y == H - 1 ? 0 : y + 1;
        for (int x = 0; x < W; x++) {
          int64_t i = (int64_t)y * W + x;
          if (!b[i]) continue;
          int64_t r = (int64_t)y * W + (x == W - 1 ? 0 : x + 1), d = (int64_t)yd * W + x;
          if (b[r]) uf_union(par, (int32_t)i, (int32_t)r);
          if (b[d]) uf_union(par, (int32_t)i, (int32_t)d);
        }
      }
      /* sizes accumulated on the roots, reusing work[] as a counter array */
      int64_t ncomp = 0; double largest = 0;
      for (int64_t i = 0; i < N; i++) s->work[i] = 0;
      for (int64_t i = 0; i < N; i++) if (b[i]) s->work[uf_find(par, (int32_t)i)] += 1;
      for (int64_t i = 0; i < N; i++)
        if (s->work[i] > 0) { ncomp++; if (s->work[i] > largest) largest = s->work[i]; }
      v[F_NCOMP] = (double)ncomp;
      if (area > 0) {
        v[F_COMPMEAN] = (double)area / (double)ncomp;
        v[F_LARGEST] = largest / (double)area;
      }
      v[F_IFACE] = (double)edges / (2.0 * (double)N);
      double gthr = gmean + sqrt(gvar);
      int64_t ne = 0;
      for (int64_t i = 0; i < N; i++) ne += s->G[i] > gthr;
      v[F_EDGE] = (double)ne / (double)N;
    }
    if (mask & (1u << SL_FF_MORPHOLOGICAL)) {
      v[F_AREA] = (double)area / (double)N;
      if (area > 0) {
        /* separable 3×3: horizontal and/or of each row, then vertical over three rows */
        uint8_t *ha = s->morph, *ho = s->morph + N;
        for (int y = 0; y < H; y++) {
          const uint8_t *br = b + (int64_t)y * W;
          for (int x = 0; x < W; x++) {
            uint8_t l = br[x == 0 ? W - 1 : x - 1], c0 = br[x], r = br[x == W - 1 ? 0 : x + 1];
            ha[(int64_t)y * W + x] = l & c0 & r;
            ho[(int64_t)y * W + x] = l | c0 | r;
          }
        }
        int64_t ner = 0, ndi = 0;
        for (int y = 0; y < H; y++) {
          const int64_t ru = (int64_t)(y == 0 ? H - 1 : y - 1) * W, rc = (int64_t)y * W,
                        rd = (int64_t)(y == H - 1 ? 0 : y + 1) * W;
          for (int x = 0; x < W; x++) {
            ner += ha[ru + x] & ha[rc + x] & ha[rd + x];
            ndi += ho[ru + x] | ho[rc + x] | ho[rd + x];
          }
        }
        v[F_INTERIOR] = (double)ner / (double)area;
        v[F_DILATION] = (double)ndi / (double)area;
      }
      if (edges > 0) v[F_ISOPER] = 4.0 * M_PI * (double)area / ((double)edges * (double)edges);
    }
  }

  /* multiscale: variance left after successive 2×2 block means */
  if ((mask & (1u << SL_FF_MULTISCALE)) && ok) {
    double V[WAV_LEVELS + 1];
    V[0] = pvar;
    int h = H, w = W;
    for (int l = 1; l <= WAV_LEVELS; l++) {
      int h2 = h / 2, w2 = w / 2;
      if (h2 < 1 || w2 < 1) { for (; l <= WAV_LEVELS; l++) V[l] = NaN; break; }
      double sm = 0;
      for (int y = 0; y < h2; y++)
        for (int x = 0; x < w2; x++) {
          double a;
          if (l == 1) {
            const float *r0 = u + (int64_t)(2 * y) * W + 2 * x, *r1 = r0 + W;
            a = 0.25 * ((double)r0[0] + r0[1] + r1[0] + r1[1]);
          } else {
            const double *r0 = s->coarse + (int64_t)(2 * y) * w + 2 * x, *r1 = r0 + w;
            a = 0.25 * (r0[0] + r0[1] + r1[0] + r1[1]);
          }
          s->coarse[(int64_t)y * w2 + x] = a;   /* in place: never overwrites an unread input */
          sm += a;
        }
      double mu = sm / ((double)h2 * w2), vv = 0;
      for (int64_t i = 0; i < (int64_t)h2 * w2; i++) { double d = s->coarse[i] - mu; vv += d * d; }
      V[l] = vv / ((double)h2 * w2);
      h = h2; w = w2;
    }
    for (int l = 1; l <= WAV_LEVELS; l++) v[F_WAV1 + l - 1] = (V[l - 1] - V[l]) / V[0];
    v[F_WAVRES] = V[WAV_LEVELS] / V[0];
  }
}

/* ---- cross-channel (per frame) ---- */
static void jacobi_eigen(double *A, int n, double *ev) {
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0;
    for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    if (off < 1e-30) break;
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) {
        double apq = A[p * n + q];
        if (fabs(apq) < 1e-300) continue;
        double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
        double cs = 1 / sqrt(t * t + 1), sn = t * cs;
        for (int k = 0; k < n; k++) {   /* A = Jᵀ A J */
          double akp = A[k * n + p], akq = A[k * n + q];
          A[k * n + p] = cs * akp - sn * akq; A[k * n + q] = sn * akp + cs * akq;
        }
        for (int k = 0; k < n; k++) {
          double apk = A[p * n + k], aqk = A[q * n + k];
          A[p * n + k] = cs * apk - sn * aqk; A[q * n + k] = sn * apk + cs * aqk;
        }
      }
  }
  for (int i = 0; i < n; i++) ev[i] = A[i * n + i];
  for (int i = 1; i < n; i++) {   /* descending */
    double x = ev[i]; int j = i - 1;
    while (j >= 0 && ev[j] < x) { ev[j + 1] = ev[j]; j--; }
    ev[j + 1] = x;
  }
}

#define CC_MAX 64   /* channels handled by the eigen-solver on the stack */

static void cross_features(const geom *g, scratch *s, const float *x, int C, double *v) {
  for (int i = F_CC0; i < F_CC0 + 12; i++) v[i] = NAN;
  if (C < 2) return;
  const int64_t N = g->N;
  int allfin = 1, allok = 1;
  for (int c = 0; c < C; c++) { allfin &= s->cfin[c]; allok &= s->cok[c]; }
  if (!allfin) return;
  int npair = C * (C - 1) / 2;
  /* mutual information on 16-bin min-max normalised channels (computable for constant ones) */
  for (int c = 0; c < C; c++) {
    const float *u = x + (int64_t)c * N;
    uint8_t *bn = s->bins + (int64_t)c * N;
    double mn = s->cmin[c], span = s->cmax[c] - mn;
    for (int64_t i = 0; i < N; i++) {
      int bi = 0;
      if (span > 0) {
        double t = floor(MI_BINS * ((u[i] - mn) / span));
        bi = t >= MI_BINS - 1 ? MI_BINS - 1 : (int)t;
      }
      bn[i] = (uint8_t)bi;
    }
  }
  double misum = 0, mimax = -INFINITY;
  for (int a = 0; a < C; a++)
    for (int b2 = a + 1; b2 < C; b2++) {
      int64_t joint[MI_BINS * MI_BINS] = { 0 }, pa[MI_BINS] = { 0 }, pb[MI_BINS] = { 0 };
      const uint8_t *ba = s->bins + (int64_t)a * N, *bb = s->bins + (int64_t)b2 * N;
      for (int64_t i = 0; i < N; i++) { joint[ba[i] * MI_BINS + bb[i]]++; pa[ba[i]]++; pb[bb[i]]++; }
      double mi = 0;
      for (int i = 0; i < MI_BINS; i++)
        for (int j = 0; j < MI_BINS; j++) {
          int64_t cnt = joint[i * MI_BINS + j];
          if (!cnt) continue;
          double p = (double)cnt / N;
          mi += p * log(p / (((double)pa[i] / N) * ((double)pb[j] / N)));
        }
      misum += mi; if (mi > mimax) mimax = mi;
    }
  v[F_MIMEAN] = misum / npair; v[F_MIMAX] = mimax;
  if (!allok || C > CC_MAX) return;   /* correlations undefined for a constant channel */
  double R[CC_MAX * CC_MAX], ev[CC_MAX];
  double csum = 0, cmax = -INFINITY, cmin = INFINITY;
  for (int a = 0; a < C; a++) {
    R[a * C + a] = 1.0;
    const float *ua = x + (int64_t)a * N;
    for (int b2 = a + 1; b2 < C; b2++) {
      const float *ub = x + (int64_t)b2 * N;
      double acc = 0, ma = s->cmean[a], mb = s->cmean[b2];
      for (int64_t i = 0; i < N; i++) acc += (ua[i] - ma) * (ub[i] - mb);
      double r = acc / ((double)N * s->cstd[a] * s->cstd[b2]);
      R[a * C + b2] = R[b2 * C + a] = r;
      csum += r; if (r > cmax) cmax = r; if (r < cmin) cmin = r;
    }
  }
  double cmean = csum / npair;
  v[F_CMEAN] = cmean; v[F_CMAX] = cmax; v[F_CMIN] = cmin;
  if (npair >= 2) {
    double ss = 0;
    for (int a = 0; a < C; a++)
      for (int b2 = a + 1; b2 < C; b2++) { double d = R[a * C + b2] - cmean; ss += d * d; }
    v[F_CSTD] = sqrt(ss / (npair - 1));
  }
  jacobi_eigen(R, C, ev);
  for (int k = 0; k < 3 && k < C; k++) v[F_EIG1 + k] = ev[k];
  double ent = 0, sl = 0, sl2 = 0;
  for (int k = 0; k < C; k++) {
    double l = ev[k] > 0 ? ev[k] : 0, p = l / C;
    if (p > 0) ent -= p * log(p);
    sl += ev[k]; sl2 += ev[k] * ev[k];
  }
  v[F_EIGENT] = ent / log((double)C);
  v[F_LOGCOND] = log10((ev[0] + 1e-6) / ((ev[C - 1] > 0 ? ev[C - 1] : 0) + 1e-6));
  v[F_PART] = sl * sl / sl2;
}

/* ---- driver ---- */
static const int CAT_COUNTS[SL_FF_NCAT] = { 24, 27, 12, 5, 5, 5, 4, 5 };

sl_status sl_feat_frame_compute(sl_tensor **out, const sl_tensor *traj, unsigned mask) {
  *out = NULL;
  char sbuf[128];
  if (!traj) return SL_ERR(SL_ERR_ARG, "feat_frame: traj is NULL");
  if (traj->ndim != 5)
    return SL_ERR(SL_ERR_SHAPE, "feat_frame: traj must be [M,T,C,H,W] (5 dims), got shape %s",
                  sl_shape_str(sbuf, sizeof sbuf, traj->ndim, traj->shape));
  if (sl_tensor_device(traj) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_DEVICE, "feat_frame: traj must be on the CPU, got %s",
                  sl_device_name(sl_tensor_device(traj)));
  if (!sl_dtype_is_float(traj->dtype))
    return SL_ERR(SL_ERR_DTYPE, "feat_frame: traj must be a float tensor, got %s", sl_dtype_name(traj->dtype));
  if (mask & ~SL_FF_ALL_CATEGORIES)
    return SL_ERR(SL_ERR_ARG, "feat_frame: category mask 0x%x has bits outside the %d categories", mask, SL_FF_NCAT);
  const int64_t Mr = traj->shape[0], T = traj->shape[1], C64 = traj->shape[2];
  const int64_t H64 = traj->shape[3], W64 = traj->shape[4];
  if (H64 < 4 || W64 < 4 || C64 < 1 || H64 > 65536 || W64 > 65536 || C64 > 4096 || H64 * W64 > INT32_MAX)
    return SL_ERR(SL_ERR_SHAPE, "feat_frame: traj [M,T,C,H,W] needs C >= 1 and 4 <= H, W <= 65536, got shape %s",
                  sl_shape_str(sbuf, sizeof sbuf, traj->ndim, traj->shape));
  int ncat; const sl_feat_frame_desc *cat = sl_feat_frame_catalog(&ncat);
  { /* the catalog and the kernel's column constants must agree */
    int cnt[SL_FF_NCAT] = { 0 };
    for (int i = 0; i < ncat; i++) cnt[cat[i].category]++;
    SL_ASSERT(ncat == F_COUNT);
    for (int c = 0; c < SL_FF_NCAT; c++) SL_ASSERT(cnt[c] == CAT_COUNTS[c]);
  }
  const int C = (int)C64, H = (int)H64, W = (int)W64;
  int cols[F_COUNT], nc = 0;   /* catalog columns of the enabled categories, in order */
  for (int i = 0; i < ncat; i++) if ((mask >> cat[i].category) & 1u) cols[nc++] = i;
  const int D = nc;
  int64_t oshape[3] = { Mr, T, D };
  SL_TRY(sl_tensor_empty(out, SL_DTYPE_F32, 3, oshape));
  if (Mr * T == 0 || D == 0) return SL_OK;

  sl_tensor *xc = NULL;
  sl_status st = sl_tensor_contiguous_as(&xc, traj, SL_DTYPE_F32);
  if (st != SL_OK) { sl_tensor_release(*out); *out = NULL; return st; }
  geom g;
  st = geom_init(&g, H, W);
  if (st != SL_OK) { sl_tensor_release(xc); sl_tensor_release(*out); *out = NULL; return st; }

  const float *xd = sl_tensor_data(xc);
  float *od = sl_tensor_data(*out);
  const int64_t nframes = Mr * T, fsz = (int64_t)C * H * W;
  const unsigned need_fft = mask & ((1u << SL_FF_SPECTRAL) | (1u << SL_FF_DISTRIBUTIONAL) | (1u << SL_FF_PHYSICS));
  int nt = sl_num_threads();
  if (nt > nframes) nt = (int)nframes;
  if (nt < 1) nt = 1;
  volatile int failed = 0;          /* SL_OOM or FFT failure in any thread */
  sl_status fail_st = SL_OK;
  char fail_msg[256] = "";

  #pragma omp parallel num_threads(nt)
  {
    scratch s;
    int have = scratch_init(&s, &g, C);
    if (!have) {
      #pragma omp critical(feat_frame_err)
      { failed = 1; fail_st = SL_ERR_OOM; snprintf(fail_msg, sizeof fail_msg, "out of memory for per-thread scratch (%dx%d, C=%d)", H, W, C); }
    }
    #pragma omp for schedule(dynamic, 1)
    for (int64_t f = 0; f < nframes; f++) {
      if (!have || failed) continue;
      const float *x = xd + f * fsz;
      if (need_fft) {
        int64_t n2[2] = { H, W };
        if (sl_fft_r2c(s.F, x, C, 2, n2, SL_FFT_ORTHO) != SL_OK) {
          #pragma omp critical(feat_frame_err)
          { failed = 1; fail_st = sl_error_status(); snprintf(fail_msg, sizeof fail_msg, "%s", sl_error_message()); }
          continue;
        }
      }
      double fv[F_COUNT];
      for (int c = 0; c < C; c++)
        channel_features(&g, &s, x + (int64_t)c * H * W, s.F + (int64_t)c * g.K * 2, mask, c,
                         s.chan + (int64_t)c * F_COUNT);
      /* Channel mean over the channels where the value is defined (as INITIAL does): one
       * channel with an empty threshold mask or a degenerate field must not blank the frame.
       * Non-finite input in any channel still makes every per-channel value NaN. */
      int allfin = 1;
      for (int c = 0; c < C; c++) allfin &= s.cfin[c];
      for (int i = 0; i < F_COUNT; i++) {
        double acc = 0;
        int n = 0;
        for (int c = 0; c < C; c++) {
          double v = s.chan[(int64_t)c * F_COUNT + i];
          if (isfinite(v)) { acc += v; n++; }
        }
        fv[i] = (allfin && n > 0) ? acc / n : NAN;
      }
      if (mask & (1u << SL_FF_CROSS_CHANNEL)) cross_features(&g, &s, x, C, fv);
      float *o = od + f * D;
      for (int j = 0; j < nc; j++) o[j] = (float)fv[cols[j]];
    }
    if (have) scratch_free(&s, &g, C);
  }
  geom_free(&g);
  sl_tensor_release(xc);
  if (failed) {
    sl_tensor_release(*out); *out = NULL;
    return SL_ERR(fail_st == SL_OK ? SL_ERR_INTERNAL : fail_st, "feat_frame: %s", fail_msg);
  }
  return SL_OK;
}
