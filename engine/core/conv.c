/* conv.c — conv2d forward: im2col+GEMM, row-FFT+GEMM, 2-D FFT (FFTW), Winograd F(4×4,3×3) and
 * direct, with a reusable workspace and a cost model choosing among them.
 *
 * All paths compute out[b,co,y,x] = bias[co] + Σ_ci Σ_dy,dx w[co,ci,dy+r,dx+r] · x̃[b,ci,y+dy,x+dx]
 * with r = k/2 and x̃ the zero- or circularly-padded input.
 *
 * im2col: for each image, a row tile of output pixels is expanded into a [Cin·k², rows·W]
 * patch matrix, then one sgemm [Cout, Cin·k²] @ [Cin·k², rows·W] writes straight into the
 * output (ldc = H·W).  (image, tile) items are spread over OpenMP threads, each with its own
 * patch buffer of at most COL_BUDGET bytes (a full patch matrix at 256 channels, k = 7, 128²
 * would be ~800 MB) and a single-threaded sgemm.  The tiling does not depend on the thread
 * count.
 *
 * fftrow: see conv_fftrow below (row FFTs + per-frequency complex GEMMs).
 *
 * winograd (3×3 only): see conv_winograd below (tile transforms + 36 GEMMs per tile chunk).
 *
 * FFT: circular padding is exact at the grid size (P,Q) = (H,W).  Zero padding needs a grid with
 * no wrap-around into the data: P ≥ H + r suffices (an output row reads input rows y-r..y+r, and
 * rows H..P-1 are zero), so we use the next even 2^a·3^b size ≥ max(H + r, k).  The kernel is
 * embedded flipped (tap dy at row -dy mod P), so the product of spectra is the correlation.
 * The spectra are kept in a chunked layout [chunk][row][re 8 | im 8] so that the mixing kernel
 * (for every frequency, Y[b,co] = Σ_ci W[co,ci]·X[b,ci]) streams each operand contiguously with
 * 8-wide vectors; chunks are independent, which is the OpenMP axis.  The 1/(P·Q) of the inverse
 * transform is folded into the cached weight spectra.
 *
 * Determinism: each output value is produced by one thread with a fixed summation order, so
 * results do not depend on the thread count (the GEMM is OpenBLAS's, deterministic for a given
 * thread count; it is called the same way whatever ours is). */
#include <fftw3.h>   /* before any header that pulls <complex.h> (toolchain note §7) */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "sl_conv.h"
#include "sl_linalg.h"

#define COL_BUDGET ((size_t)8 << 20)   /* per-thread im2col patch buffer */
#define FFT_BUDGET_DEFAULT ((size_t)256 << 20)
#define CH 8                         /* frequencies per chunk (one AVX vector) */

typedef float v8f __attribute__((vector_size(32)));

/* The calling thread's index in the current parallel region (0 without OpenMP): each parallel
 * loop below picks its per-thread scratch slice by it. */
static inline int thread_index(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/* ---- workspace ---- */

struct sl_conv2d_ws {
  float  *scratch; size_t scratch_bytes;
  /* FFT weight-spectrum cache, valid for (key) and the exact weights in wcopy. */
  float  *wspec;   size_t wspec_bytes;
  float  *wcopy;   size_t wcopy_bytes;
  int64_t key[6];  /* cout, cin, k, P, Q, padding */
  int     wvalid;
  size_t  fft_budget;
  /* Winograd transformed weights U [36][cout][cin], valid for wino_key and the weights in wino_w. */
  float  *wino_u;  size_t wino_u_bytes;
  float  *wino_w;  size_t wino_w_bytes;
  int64_t wino_key[2];
  int     wino_valid;
};

sl_conv2d_ws *sl_conv2d_ws_new(void) {
  sl_conv2d_ws *ws = calloc(1, sizeof *ws);
  if (ws) ws->fft_budget = FFT_BUDGET_DEFAULT;
  return ws;
}

void sl_conv2d_ws_clear(sl_conv2d_ws *ws) {
  if (!ws) return;
  sl_free(ws->scratch, ws->scratch_bytes); ws->scratch = NULL; ws->scratch_bytes = 0;
  sl_free(ws->wspec, ws->wspec_bytes);     ws->wspec = NULL;   ws->wspec_bytes = 0;
  sl_free(ws->wcopy, ws->wcopy_bytes);     ws->wcopy = NULL;   ws->wcopy_bytes = 0;
  ws->wvalid = 0;
  sl_free(ws->wino_u, ws->wino_u_bytes);   ws->wino_u = NULL;  ws->wino_u_bytes = 0;
  sl_free(ws->wino_w, ws->wino_w_bytes);   ws->wino_w = NULL;  ws->wino_w_bytes = 0;
  ws->wino_valid = 0;
}

void sl_conv2d_ws_free(sl_conv2d_ws *ws) {
  if (!ws) return;
  sl_conv2d_ws_clear(ws);
  free(ws);
}

size_t sl_conv2d_ws_bytes(const sl_conv2d_ws *ws) {
  return ws ? ws->scratch_bytes + ws->wspec_bytes + ws->wcopy_bytes + ws->wino_u_bytes + ws->wino_w_bytes : 0;
}

void sl_conv2d_ws_set_fft_budget(sl_conv2d_ws *ws, size_t bytes) { if (ws) ws->fft_budget = bytes; }

/* Grows a buffer to at least `bytes` (contents are not kept). */
static float *ws_buf(float **p, size_t *cap, size_t bytes) {
  if (*cap >= bytes) return *p;
  sl_free(*p, *cap);
  *p = sl_alloc(bytes);
  *cap = *p ? bytes : 0;
  return *p;
}

/* ---- names ---- */

const char *sl_conv_algo_name(sl_conv_algo a) {
  switch (a) {
    case SL_CONV_AUTO: return "auto";
    case SL_CONV_IM2COL: return "im2col";
    case SL_CONV_FFT: return "fft";
    case SL_CONV_DIRECT: return "direct";
    case SL_CONV_FFTROW: return "fftrow";
    case SL_CONV_WINOGRAD: return "winograd";
  }
  return "?";
}

int sl_conv_algo_from_name(const char *s, sl_conv_algo *out) {
  static const sl_conv_algo all[] = { SL_CONV_AUTO, SL_CONV_IM2COL, SL_CONV_FFT, SL_CONV_DIRECT, SL_CONV_FFTROW,
                                      SL_CONV_WINOGRAD };
  for (int i = 0; i < 6; i++) if (!strcmp(s, sl_conv_algo_name(all[i]))) { *out = all[i]; return 0; }
  return -1;
}

int sl_conv_padding_from_name(const char *s, sl_conv_padding *out) {
  if (!strcmp(s, "zeros")) { *out = SL_CONV_PAD_ZEROS; return 0; }
  if (!strcmp(s, "circular")) { *out = SL_CONV_PAD_CIRCULAR; return 0; }
  return -1;
}

/* ---- sizes and cost model ---- */

/* Smallest even 2^a·3^b >= n.  Odd lengths (135 = 3³·5) made FFTW_ESTIMATE's real transforms
 * 4-6x slower per element than 144 on our CPUs; 5 and 7 factors were no faster than 2·3 ones. */
static int64_t fast_size(int64_t n) {
  if (n < 2) n = 2;
  for (;; n++) {
    if (n % 2) continue;
    int64_t m = n;
    while (m % 2 == 0) m /= 2;
    while (m % 3 == 0) m /= 3;
    if (m == 1) return n;
  }
}

void sl_conv2d_fft_size(int64_t h, int64_t w, int64_t k, sl_conv_padding padding, int64_t *p, int64_t *q) {
  int64_t r = k / 2;
  if (padding == SL_CONV_PAD_CIRCULAR) { *p = h; *q = w; return; }
  *p = fast_size(h + r > k ? h + r : k);
  *q = fast_size(w + r > k ? w + r : k);
}

static size_t fft_wspec_bytes(int64_t cin, int64_t cout, int64_t p, int64_t q) {
  int64_t nf = p * (q / 2 + 1), nc = (nf + CH - 1) / CH;
  return (size_t)nc * (size_t)cout * (size_t)cin * 2 * CH * sizeof(float);
}

/* Cost model: estimated single-core seconds per algorithm (all paths parallelise alike over the
 * cores, so only the ranking matters).  Fitted on a 2-core AMD EPYC (Zen 3, AVX2; OpenBLAS
 * "Zen" sgemm ≈ 80 GFLOP/s per core) — measurements in docs/convolution.md:
 *  - GEMMs run at G·eff(M,K), eff = 1/(1 + 16/M + 16/K): small channel counts starve the kernel
 *    (G = 80 GFLOP/s for sgemm, 70 for cgemm);
 *  - im2col: 2·B·Cout·Cin·k²·H·W flops, GEMM M = Cout, K = Cin·k² (the patch fill is in G);
 *  - fftrow: k complex GEMMs per x-frequency (8 flops per complex MAC; a complex element is a
 *    2×2 real block, so eff(2·Cout, 2·Cin)) plus B·(Cin+Cout)·H row transforms of length Q
 *    (≈ C_ROW·Q·log2 Q s each, scatter included);
 *  - fft: B·(Cin+Cout) 2-D transforms (C_PLANE·PQ·log2 PQ s each) plus the mixing, bound by
 *    streaming the weight spectra (MIX_BW) or by its flops (MIX_RATE); + Cin·Cout weight
 *    transforms when the spectra are not cached in the workspace;
 *  - winograd (k = 3): 36 GEMMs of 2·Cout·Cin·tiles flops at eff(Cout, Cin), plus one transform
 *    per tile and channel (in and out, C_WTILE s each), tiles = B·⌈H/4⌉·⌈W/4⌉. */
#define G_RATE   80e9     /* sgemm per core */
#define GC_RATE  70e9     /* cgemm per core, in real flops (OpenBLAS's complex kernel is a bit slower) */
#define C_ROW    2.0e-10
#define C_PLANE  2.3e-10
#define MIX_BW   8e9
#define MIX_RATE 40e9
#define MARGIN   0.85
#define C_WTILE  4e-8     /* one 6×6 input or output tile transform of one channel (winograd) */

static double gemm_eff(double m, double k) { return 1.0 / (1.0 + 16.0 / m + 16.0 / k); }

sl_conv_algo sl_conv2d_choose(int64_t B, int64_t cin, int64_t cout, int64_t h, int64_t w, int64_t k,
                              sl_conv_padding padding, int weights_cached, size_t fft_budget) {
  if (k == 1 || cin == 0 || cout == 0 || B * h * w == 0) return SL_CONV_IM2COL;
  int64_t p, q;
  sl_conv2d_fft_size(h, w, k, padding, &p, &q);
  double r = (double)(k / 2), hw = (double)h * w, pq = (double)p * q, F = (double)(q / 2 + 1);
  double nf = (double)p * F;
  double t_im2col = 2.0 * B * cout * cin * k * k * hw / (G_RATE * gemm_eff(cout, (double)cin * k * k));
  double cols = (double)B * (h + 2 * r) - 2 * r;
  double t_fftrow = 8.0 * k * cout * cin * cols * F / (GC_RATE * gemm_eff(2.0 * cout, 2.0 * cin))
                  + (double)B * (cin + cout) * h * C_ROW * q * log2((double)q);
  double plane = C_PLANE * pq * log2(pq);
  double wbytes = (double)fft_wspec_bytes(cin, cout, p, q);
  double mix = wbytes / MIX_BW > 8.0 * B * cout * cin * nf / MIX_RATE ? wbytes / MIX_BW : 8.0 * B * cout * cin * nf / MIX_RATE;
  double t_fft = (double)B * (cin + cout) * plane + mix + (weights_cached ? 0.0 : (double)cin * cout * plane);
  if (k > 63) t_fftrow = INFINITY;
  if (fft_wspec_bytes(cin, cout, p, q) > fft_budget) t_fft = INFINITY;
  double tiles = (double)B * ((h + 3) / 4) * ((w + 3) / 4);
  double t_wino = k != 3 ? INFINITY
                : 72.0 * cout * cin * tiles / (G_RATE * gemm_eff(cout, cin)) + tiles * (cin + cout) * C_WTILE;
  /* The model is good to ~15%: switch away from plain im2col only when the gain is clear. */
  double best3 = t_im2col < t_fftrow ? t_im2col : t_fftrow;
  if (t_fft < best3) best3 = t_fft;
  if (t_wino < MARGIN * best3) return SL_CONV_WINOGRAD;
  double best_other = t_fftrow < t_im2col ? t_fftrow : t_im2col;
  if (t_fft < MARGIN * best_other) return SL_CONV_FFT;
  return t_fftrow < MARGIN * t_im2col ? SL_CONV_FFTROW : SL_CONV_IM2COL;
}

/* ---- direct ---- */

/* One output plane += w-tap-weighted shifts of one input plane, zero or circular padding. */
static void direct_plane(float *o, const float *in, const float *wk, int64_t H, int64_t W, int64_t k, int circ) {
  int64_t r = k / 2;
  for (int64_t ky = 0; ky < k; ky++) {
    for (int64_t y = 0; y < H; y++) {
      int64_t sy = y + ky - r;
      if (sy < 0 || sy >= H) { if (!circ) continue; sy = ((sy % H) + H) % H; }
      const float *irow = in + sy * W;
      float *orow = o + y * W;
      for (int64_t kx = 0; kx < k; kx++) {
        float wv = wk[ky * k + kx];
        int64_t dx = kx - r;
        int64_t x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W;   /* in-range x */
        if (x1 < x0) x1 = x0;
        for (int64_t x = x0; x < x1; x++) orow[x] += wv * irow[x + dx];
        if (circ)
          for (int64_t x = 0; x < W; x++) {
            if (x >= x0 && x < x1) { x = x1 - 1; continue; }
            int64_t sx = ((x + dx) % W + W) % W;
            orow[x] += wv * irow[sx];
          }
      }
    }
  }
}

static void conv_direct(float *out, const float *x, const float *w, const float *bias,
                        int64_t B, int64_t cin, int64_t cout, int64_t H, int64_t W, int64_t k, int circ) {
  int64_t hw = H * W;
  #pragma omp parallel for schedule(dynamic) num_threads(sl_num_threads())
  for (int64_t bc = 0; bc < B * cout; bc++) {
    int64_t b = bc / cout, co = bc % cout;
    float *o = out + bc * hw;
    float bv = bias ? bias[co] : 0.0f;
    for (int64_t i = 0; i < hw; i++) o[i] = bv;
    for (int64_t ci = 0; ci < cin; ci++)
      direct_plane(o, x + (b * cin + ci) * hw, w + (co * cin + ci) * k * k, H, W, k, circ);
  }
}

/* ---- im2col + GEMM ---- */

/* Fills col[K][rows*W] (K = cin*k*k) for output rows y0..y0+rows-1 of one image. */
static void im2col_rows(float *col, const float *img, int64_t cin, int64_t H, int64_t W, int64_t k,
                        int circ, int64_t y0, int64_t rows, int64_t kr0, int64_t kr1) {
  (void)cin;  /* rows kr0..kr1 already bound the channels; kept for the call sites' symmetry */
  int64_t r = k / 2, n = rows * W;
  for (int64_t kr = kr0; kr < kr1; kr++) {
    int64_t ci = kr / (k * k), ky = (kr / k) % k, kx = kr % k;
    int64_t dx = kx - r;
    float *dst = col + kr * n;
    const float *plane = img + ci * H * W;
    int64_t x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W;
    if (x1 < x0) x1 = x0;
    for (int64_t yy = 0; yy < rows; yy++) {
      float *d = dst + yy * W;
      int64_t sy = y0 + yy + ky - r;
      if (sy < 0 || sy >= H) {
        if (!circ) { memset(d, 0, (size_t)W * sizeof(float)); continue; }
        sy = ((sy % H) + H) % H;
      }
      const float *s = plane + sy * W;
      if (x1 > x0) memcpy(d + x0, s + x0 + dx, (size_t)(x1 - x0) * sizeof(float));
      for (int64_t xx = 0; xx < x0 && xx < W; xx++) d[xx] = circ ? s[((xx + dx) % W + W) % W] : 0.0f;
      for (int64_t xx = x1; xx < W; xx++) d[xx] = circ ? s[((xx + dx) % W + W) % W] : 0.0f;
    }
  }
}

/* Work is split into (image, row tile) items run by OpenMP threads, each filling its own patch
 * buffer and calling a single-threaded sgemm on it.  Parallelising one way only matters on
 * the pthread OpenBLAS: alternating OpenMP fills with multi-threaded GEMMs made the two spinning
 * thread pools fight for the cores (measured 26 ms instead of 0.4 ms for 3->16 at 64², and
 * ~60 instead of ~110 GFLOP/s at 64->128). */
static sl_status conv_im2col(float *out, const float *x, const float *w, const float *bias,
                             int64_t B, int64_t cin, int64_t cout, int64_t H, int64_t W, int64_t k, int circ,
                             sl_conv2d_ws *ws) {
  int64_t hw = H * W, K = cin * k * k;
  int patches = k > 1 && K > 0;   /* 1×1 (or no input channel): the GEMM reads the input itself */
  int nt = sl_num_threads();
  if (nt < 1) nt = 1;
  /* Tiles: at least 8 items in all (balance on a few cores), each patch buffer within
   * COL_BUDGET, GEMMs at least ~512 columns wide when the budget allows.  Independent of nt so
   * that every output element comes from the same GEMM shape whatever the thread count. */
  size_t row_bytes = (size_t)K * (size_t)W * sizeof(float);
  int64_t ntiles = (8 + B - 1) / B;
  if (patches) {
    int64_t need = (int64_t)(((size_t)H * row_bytes + COL_BUDGET - 1) / COL_BUDGET);
    if (need > ntiles) ntiles = need;
  }
  int64_t rows_min = (512 + W - 1) / W;
  if (patches && rows_min * row_bytes > COL_BUDGET) rows_min = 1;
  int64_t rows = (H + ntiles - 1) / ntiles;
  if (rows < rows_min) rows = rows_min;
  if (rows > H) rows = H;
  if (rows < 1) rows = 1;
  ntiles = (H + rows - 1) / rows;
  size_t per_thread = patches ? (((size_t)K * rows * W + 15) & ~(size_t)15) : 0;
  if (patches && !ws_buf(&ws->scratch, &ws->scratch_bytes, per_thread * nt * sizeof(float)))
    return SL_ERR(SL_ERR_OOM, "conv2d: cannot allocate %d patch buffers of %lld x %lld", nt,
                  (long long)K, (long long)(rows * W));
  float *scratch = ws->scratch;
  int prev = sl_blas_set_threads(1);
  #pragma omp parallel for schedule(dynamic) num_threads(nt)
  for (int64_t item = 0; item < B * ntiles; item++) {
    int t = thread_index();
    int64_t b = item / ntiles, y0 = (item % ntiles) * rows;
    int64_t nr = H - y0 < rows ? H - y0 : rows, n = nr * W;
    const float *img = x + b * cin * hw;
    const float *col = img + y0 * W;
    int64_t ldb = hw;
    if (patches) {
      float *buf = scratch + (size_t)t * per_thread;
      im2col_rows(buf, img, cin, H, W, k, circ, y0, nr, 0, K);
      col = buf; ldb = n;
    }
    float *c = out + b * cout * hw + y0 * W;
    if (bias)
      for (int64_t co = 0; co < cout; co++)
        for (int64_t i = 0; i < n; i++) c[co * hw + i] = bias[co];
    sl_sgemm_serial(0, 0, cout, n, K, 1.0f, w, K, col, ldb, bias ? 1.0f : 0.0f, c, hw);
  }
  sl_blas_set_threads(prev);
  return SL_OK;
}

/* ---- FFT ---- */

/* Plans are shared by all workspaces and never freed (a handful of grid sizes per process).
 * Planning is serialised by our lock; executing with fftwf_execute_dft_* on other arrays of the
 * same alignment is thread-safe. */
typedef struct { int kind; int64_t p, q; fftwf_plan r2c, c2r; } plan_entry;  /* kind 0: 2-D p×q; 1: one row of q */
static plan_entry g_plans[32];
static int g_nplans;
static pthread_mutex_t g_plan_lock = PTHREAD_MUTEX_INITIALIZER;

/* Other modules plan with FFTW too, under their own locks; FFTW's own hook makes every planner
 * call in the process serialised, whichever module makes it. */
static pthread_once_t g_fftw_once = PTHREAD_ONCE_INIT;
static void fftw_thread_safe(void) { fftwf_make_planner_thread_safe(); }

/* FFTW_ESTIMATE only: MEASURE picks algorithms by timing, so two runs could round differently. */
static const plan_entry *get_plans(int kind, int64_t p, int64_t q) {
  pthread_once(&g_fftw_once, fftw_thread_safe);
  pthread_mutex_lock(&g_plan_lock);
  const plan_entry *found = NULL;
  for (int i = 0; i < g_nplans; i++)
    if (g_plans[i].kind == kind && g_plans[i].p == p && g_plans[i].q == q) { found = &g_plans[i]; break; }
  if (!found && g_nplans < (int)(sizeof g_plans / sizeof g_plans[0])) {
    int64_t fq = q / 2 + 1, nf = p * fq;
    float *re = sl_alloc((size_t)p * q * sizeof(float));
    fftwf_complex *cx = sl_alloc((size_t)nf * sizeof(fftwf_complex));
    if (re && cx) {
      plan_entry *e = &g_plans[g_nplans];
      e->kind = kind; e->p = p; e->q = q;
      if (kind == 0) {
        e->r2c = fftwf_plan_dft_r2c_2d((int)p, (int)q, re, cx, FFTW_ESTIMATE);
        e->c2r = fftwf_plan_dft_c2r_2d((int)p, (int)q, cx, re, FFTW_ESTIMATE);
      } else {
        /* A single-row plan executed row by row: the batched (howmany) ESTIMATE plan was 2-3x
         * slower for q = 128.  Callers keep every row 64-byte aligned, as here. */
        e->r2c = fftwf_plan_dft_r2c_1d((int)q, re, cx, FFTW_ESTIMATE);
        e->c2r = fftwf_plan_dft_c2r_1d((int)q, cx, re, FFTW_ESTIMATE);
      }
      if (e->r2c && e->c2r) { found = e; g_nplans++; }
    }
    sl_free(re, (size_t)p * q * sizeof(float));
    sl_free(cx, (size_t)nf * sizeof(fftwf_complex));
  }
  pthread_mutex_unlock(&g_plan_lock);
  return found;
}

/* Scatter an interleaved spectrum (nf complex) into chunked rows: dst[c*stride + 0..7] = re,
 * dst[c*stride + 8..15] = im, scaled. */
static void spec_to_chunks(float *dst, int64_t stride, const float *cx, int64_t nf, float scale) {
  int64_t nc = (nf + CH - 1) / CH;
  for (int64_t c = 0; c < nc; c++) {
    float *d = dst + c * stride;
    for (int j = 0; j < CH; j++) {
      int64_t f = c * CH + j;
      d[j]      = f < nf ? scale * cx[2 * f] : 0.0f;
      d[CH + j] = f < nf ? scale * cx[2 * f + 1] : 0.0f;
    }
  }
}

static void chunks_to_spec(float *cx, const float *src, int64_t stride, int64_t nf) {
  int64_t nc = (nf + CH - 1) / CH;
  for (int64_t c = 0; c < nc; c++) {
    const float *s = src + c * stride;
    for (int j = 0; j < CH; j++) {
      int64_t f = c * CH + j;
      if (f < nf) { cx[2 * f] = s[j]; cx[2 * f + 1] = s[CH + j]; }
    }
  }
}

/* Mixing for one chunk and a block of NB images: y[b][co] = Σ_ci w[co][ci] · x[b][ci]. */
static inline __attribute__((always_inline))
void mix_block(float *yc, const float *wc, const float *xc, int64_t cin, int64_t cout, int64_t b0, int NB) {
  for (int64_t co = 0; co < cout; co++) {
    v8f ar[4] = {0}, ai[4] = {0};
    const float *wrow = wc + co * cin * 2 * CH;
    for (int64_t ci = 0; ci < cin; ci++) {
      v8f wr = *(const v8f *)(wrow + ci * 2 * CH), wi = *(const v8f *)(wrow + ci * 2 * CH + CH);
      #pragma GCC unroll 4
      for (int bb = 0; bb < NB; bb++) {
        const float *xp = xc + ((b0 + bb) * cin + ci) * 2 * CH;
        v8f xr = *(const v8f *)xp, xi = *(const v8f *)(xp + CH);
        ar[bb] += wr * xr - wi * xi;
        ai[bb] += wr * xi + wi * xr;
      }
    }
    #pragma GCC unroll 4
    for (int bb = 0; bb < NB; bb++) {
      float *yp = yc + ((b0 + bb) * cout + co) * 2 * CH;
      *(v8f *)yp = ar[bb]; *(v8f *)(yp + CH) = ai[bb];
    }
  }
}

static sl_status conv_fft(float *out, const float *x, const float *w, const float *bias,
                          int64_t B, int64_t cin, int64_t cout, int64_t H, int64_t W, int64_t k,
                          sl_conv_padding padding, sl_conv2d_ws *ws) {
  int circ = padding == SL_CONV_PAD_CIRCULAR;
  int64_t P, Q;
  sl_conv2d_fft_size(H, W, k, padding, &P, &Q);
  int64_t r = k / 2, nf = P * (Q / 2 + 1), nc = (nf + CH - 1) / CH, pq = P * Q;
  size_t wbytes = fft_wspec_bytes(cin, cout, P, Q);
  if (wbytes > ws->fft_budget)
    return SL_ERR(SL_ERR_OOM, "conv2d: the FFT path needs %.0f MiB of weight spectra for %lld->%lld channels "
                  "on a %lldx%lld grid, above the workspace budget of %.0f MiB (use algo=\"im2col\")",
                  wbytes / 1048576.0, (long long)cin, (long long)cout, (long long)P, (long long)Q,
                  ws->fft_budget / 1048576.0);
  const plan_entry *pl = get_plans(0, P, Q);
  if (!pl) return SL_ERR(SL_ERR_INTERNAL, "conv2d: FFTW could not plan a %lldx%lld transform", (long long)P, (long long)Q);

  int nt = sl_num_threads();
  if (nt < 1) nt = 1;
  /* Scratch: per-thread real plane + complex plane, then X and Y spectra in chunk layout. */
  size_t plane = ((size_t)pq + 15) & ~(size_t)15, cplane = ((size_t)nf * 2 + 15) & ~(size_t)15;
  size_t xs = (size_t)nc * B * cin * 2 * CH, ys = (size_t)nc * B * cout * 2 * CH;
  size_t need = ((size_t)nt * (plane + cplane) + xs + ys) * sizeof(float);
  if (!ws_buf(&ws->scratch, &ws->scratch_bytes, need))
    return SL_ERR(SL_ERR_OOM, "conv2d: cannot allocate %.0f MiB of FFT scratch", need / 1048576.0);
  float *thr = ws->scratch, *X = thr + (size_t)nt * (plane + cplane), *Y = X + xs;

  /* Weight spectra: reuse when the key and the exact weights match. */
  size_t wn = (size_t)cout * cin * k * k;
  int64_t key[6] = { cout, cin, k, P, Q, padding };
  int hit = ws->wvalid && !memcmp(key, ws->key, sizeof key) && ws->wcopy_bytes >= wn * sizeof(float)
            && !memcmp(ws->wcopy, w, wn * sizeof(float));
  if (!hit) {
    ws->wvalid = 0;
    if (!ws_buf(&ws->wspec, &ws->wspec_bytes, wbytes) || !ws_buf(&ws->wcopy, &ws->wcopy_bytes, wn * sizeof(float)))
      return SL_ERR(SL_ERR_OOM, "conv2d: cannot allocate %.0f MiB of FFT weight spectra", wbytes / 1048576.0);
    float *WS = ws->wspec;
    float scale = 1.0f / (float)pq;
    int64_t wstride = cout * cin * 2 * CH;   /* between chunks */
    #pragma omp parallel for schedule(dynamic, 4) num_threads(nt)
    for (int64_t pair = 0; pair < cout * cin; pair++) {
      int t = thread_index();
      float *re = thr + (size_t)t * (plane + cplane), *cx = re + plane;
      memset(re, 0, (size_t)pq * sizeof(float));
      const float *wk = w + pair * k * k;
      for (int64_t ky = 0; ky < k; ky++)
        for (int64_t kx = 0; kx < k; kx++) {
          int64_t py = ((-(ky - r)) % P + P) % P, px = ((-(kx - r)) % Q + Q) % Q;
          re[py * Q + px] += wk[ky * k + kx];   /* += : taps wrap onto each other when k > grid */
        }
      fftwf_execute_dft_r2c(pl->r2c, re, (fftwf_complex *)cx);
      spec_to_chunks(WS + pair * 2 * CH, wstride, cx, nf, scale);
    }
    memcpy(ws->key, key, sizeof key);
    memcpy(ws->wcopy, w, wn * sizeof(float));
    ws->wvalid = 1;
  }

  /* Input spectra. */
  int64_t hw = H * W, xstride = B * cin * 2 * CH, ystride = B * cout * 2 * CH;
  #pragma omp parallel for schedule(dynamic, 2) num_threads(nt)
  for (int64_t bc = 0; bc < B * cin; bc++) {
    int t = thread_index();
    float *re = thr + (size_t)t * (plane + cplane), *cx = re + plane;
    const float *src = x + bc * hw;
    if (circ) memcpy(re, src, (size_t)hw * sizeof(float));
    else {
      for (int64_t y = 0; y < H; y++) {
        memcpy(re + y * Q, src + y * W, (size_t)W * sizeof(float));
        memset(re + y * Q + W, 0, (size_t)(Q - W) * sizeof(float));
      }
      memset(re + H * Q, 0, (size_t)(P - H) * Q * sizeof(float));
    }
    fftwf_execute_dft_r2c(pl->r2c, re, (fftwf_complex *)cx);
    spec_to_chunks(X + bc * 2 * CH, xstride, cx, nf, 1.0f);
  }

  /* Channel mixing, chunk by chunk. */
  const float *WS = ws->wspec;
  int64_t wstride = cout * cin * 2 * CH;
  #pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t c = 0; c < nc; c++) {
    const float *wc = WS + c * wstride, *xc = X + c * xstride;
    float *yc = Y + c * ystride;
    int64_t b0 = 0;
    for (; b0 + 4 <= B; b0 += 4) mix_block(yc, wc, xc, cin, cout, b0, 4);
    switch (B - b0) {
      case 3: mix_block(yc, wc, xc, cin, cout, b0, 3); break;
      case 2: mix_block(yc, wc, xc, cin, cout, b0, 2); break;
      case 1: mix_block(yc, wc, xc, cin, cout, b0, 1); break;
      default: break;
    }
  }

  /* Inverse transforms; crop, add bias. */
  #pragma omp parallel for schedule(dynamic, 2) num_threads(nt)
  for (int64_t bc = 0; bc < B * cout; bc++) {
    int t = thread_index();
    float *re = thr + (size_t)t * (plane + cplane), *cx = re + plane;
    chunks_to_spec(cx, Y + bc * 2 * CH, ystride, nf);
    fftwf_execute_dft_c2r(pl->c2r, (fftwf_complex *)cx, re);
    float bv = bias ? bias[bc % cout] : 0.0f;
    float *dst = out + bc * hw;
    for (int64_t y = 0; y < H; y++)
      for (int64_t xx = 0; xx < W; xx++) dst[y * W + xx] = re[y * Q + xx] + bv;
  }
  return SL_OK;
}

/* ---- row FFT + complex GEMM ("fftrow") ----
 *
 * FFT along x only: a k×k correlation becomes, for every x-frequency f, a 1-D correlation along
 * y whose taps are complex [Cout×Cin] matrices A_f[ky] (the x-transform of kernel row ky):
 *     Ŷ_f[co, y] = Σ_ky Σ_ci A_f[ky][co,ci] · X̂_f[ci, y + ky - r].
 * Per frequency that is k complex GEMMs [Cout×Cin] @ [Cin × B·Hp] accumulated, where the images
 * are stacked along the columns with r padding rows each (Hp = H + 2r) so that tap ky is just a
 * column offset; the 2r columns between images are computed and ignored.  Multiply-adds drop
 * from k² to about 2k (complex MACs are 4 real, on half the x-frequencies), so ≈ k/2 fewer FLOPs
 * than im2col at GEMM efficiency, with no large cache: A_f is rebuilt per frequency from the
 * weights (k² MACs per (co,ci), a few % of the GEMM work when vectorised).  x-padding: circular is exact at Q = W;
 * zeros need Q ≥ W + r (same argument as the 2-D path).  The 1/Q of the inverse is folded into A_f.
 * OpenMP runs over frequencies with single-threaded BLAS (one way only, see conv_im2col). */
static sl_status conv_fftrow(float *out, const float *x, const float *w, const float *bias,
                             int64_t B, int64_t cin, int64_t cout, int64_t H, int64_t W, int64_t k,
                             sl_conv_padding padding, sl_conv2d_ws *ws) {
  if (k > 63) return SL_ERR(SL_ERR_NOT_IMPL, "conv2d: algo \"fftrow\" supports kernels up to 63, got %lld", (long long)k);
  int circ = padding == SL_CONV_PAD_CIRCULAR;
  int64_t r = k / 2, P_unused, Q;
  sl_conv2d_fft_size(H, W, k, padding, &P_unused, &Q);
  int64_t F = Q / 2 + 1, Hp = H + 2 * r, ncol = B * Hp;
  int64_t qs = (Q + 15) & ~(int64_t)15, fs = (F + 7) & ~(int64_t)7;   /* 64-byte aligned rows */
  const plan_entry *pl = get_plans(1, 1, Q);
  if (!pl) return SL_ERR(SL_ERR_INTERNAL, "conv2d: FFTW could not plan a row transform of %lld", (long long)Q);
  int nt = sl_num_threads();
  if (nt < 1) nt = 1;

  /* Layout (complex = 2 floats): T[f][ci][ncol], Y[f][co][ncol]; per thread a real plane
   * [H][Q] + complex plane [H][F] for the transforms, and A_f [k][cout][cin]. */
  size_t tsz = (size_t)F * cin * ncol * 2, ysz = (size_t)F * cout * ncol * 2;
  size_t rplane = (size_t)H * qs, cplane = (size_t)H * fs * 2;
  size_t asz = ((size_t)k * cout * cin * 2 + 15) & ~(size_t)15;
  size_t per_thread = rplane + cplane > asz ? rplane + cplane : asz;
  tsz = (tsz + 15) & ~(size_t)15;
  ysz = (ysz + 15) & ~(size_t)15;   /* keeps the per-thread planes 64-byte aligned for FFTW */
  size_t wtsz = ((size_t)k * k * cout * cin + 15) & ~(size_t)15;
  size_t need = (tsz + ysz + wtsz + (size_t)nt * per_thread) * sizeof(float);
  if (!ws_buf(&ws->scratch, &ws->scratch_bytes, need))
    return SL_ERR(SL_ERR_OOM, "conv2d: cannot allocate %.0f MiB of row-FFT scratch", need / 1048576.0);
  float *T = ws->scratch, *Y = T + tsz, *wt = Y + ysz, *thr = wt + wtsz;
  int64_t hw = H * W, n_oc = cout * cin;

  /* Weights as wt[ky][kx][co·ci] so the per-frequency taps are built by contiguous vector loops
   * (a scalar k-tap loop per (co,ci) cost as much as the GEMMs at 256 channels). */
  for (int64_t oc = 0; oc < n_oc; oc++)
    for (int64_t t = 0; t < k * k; t++) wt[t * n_oc + oc] = w[oc * k * k + t];

  /* 1. Row transforms of every input plane, scattered into T with the y padding rows. */
  #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (int64_t bc = 0; bc < B * cin; bc++) {
    int t = thread_index();
    float *re = thr + (size_t)t * per_thread, *cx = re + rplane;
    const float *src = x + bc * hw;
    for (int64_t y = 0; y < H; y++) {
      float *row = re + y * qs;
      memcpy(row, src + y * W, (size_t)W * sizeof(float));
      if (Q > W) memset(row + W, 0, (size_t)(Q - W) * sizeof(float));
      fftwf_execute_dft_r2c(pl->r2c, row, (fftwf_complex *)(cx + y * fs * 2));
    }
    int64_t b = bc / cin, ci = bc % cin;
    for (int64_t f = 0; f < F; f++) {
      float *dst = T + ((f * cin + ci) * ncol + b * Hp) * 2;
      for (int64_t yp = 0; yp < Hp; yp++) {
        int64_t sy = yp - r;
        if (sy < 0 || sy >= H) {
          if (!circ) { dst[2 * yp] = dst[2 * yp + 1] = 0.0f; continue; }
          sy = ((sy % H) + H) % H;
        }
        dst[2 * yp] = cx[(sy * fs + f) * 2];
        dst[2 * yp + 1] = cx[(sy * fs + f) * 2 + 1];
      }
    }
  }

  /* 2. Per frequency: build A_f, then k accumulated complex GEMMs. */
  int prev = sl_blas_set_threads(1);
  #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (int64_t f = 0; f < F; f++) {
    int t = thread_index();
    float *A = thr + (size_t)t * per_thread;
    /* twiddles of the flipped taps: tap kx sits at x = (r - kx) mod Q */
    float tw[2 * 64], scale = 1.0f / (float)Q;
    for (int64_t kx = 0; kx < k; kx++) {
      double ang = -6.283185307179586 * (double)f * (double)((((r - kx) % Q) + Q) % Q) / (double)Q;
      tw[2 * kx] = (float)cos(ang) * scale;
      tw[2 * kx + 1] = (float)sin(ang) * scale;
    }
    for (int64_t ky = 0; ky < k; ky++) {
      float *a = A + ky * n_oc * 2;
      memset(a, 0, (size_t)n_oc * 2 * sizeof(float));
      for (int64_t kx = 0; kx < k; kx++) {
        const float *wv = wt + (ky * k + kx) * n_oc;
        float tr = tw[2 * kx], ti = tw[2 * kx + 1];
        for (int64_t oc = 0; oc < n_oc; oc++) { a[2 * oc] += wv[oc] * tr; a[2 * oc + 1] += wv[oc] * ti; }
      }
    }
    const float one[2] = {1.0f, 0.0f}, zero[2] = {0.0f, 0.0f};
    float *Yf = Y + (size_t)f * cout * ncol * 2;
    const float *Tf = T + (size_t)f * cin * ncol * 2;
    for (int64_t ky = 0; ky < k; ky++)
      cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)cout, (blasint)(ncol - 2 * r), (blasint)cin,
                  one, A + ky * cout * cin * 2, (blasint)cin, Tf + ky * 2, (blasint)ncol,
                  ky ? one : zero, Yf, (blasint)ncol);
  }
  sl_blas_set_threads(prev);

  /* 3. Inverse row transforms per output plane; crop, add bias. */
  #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (int64_t bc = 0; bc < B * cout; bc++) {
    int t = thread_index();
    float *re = thr + (size_t)t * per_thread, *cx = re + rplane;
    int64_t b = bc / cout, co = bc % cout;
    for (int64_t f = 0; f < F; f++) {
      const float *s = Y + ((f * cout + co) * ncol + b * Hp) * 2;
      for (int64_t y = 0; y < H; y++) { cx[(y * fs + f) * 2] = s[2 * y]; cx[(y * fs + f) * 2 + 1] = s[2 * y + 1]; }
    }
    float bv = bias ? bias[co] : 0.0f;
    float *dst = out + bc * hw;
    for (int64_t y = 0; y < H; y++) {
      fftwf_execute_dft_c2r(pl->c2r, (fftwf_complex *)(cx + y * fs * 2), re);
      for (int64_t xx = 0; xx < W; xx++) dst[y * W + xx] = re[xx] + bv;
    }
  }
  return SL_OK;
}

/* ---- backward (im2col) ----
 *
 * With col[b] the [Cin·k², H·W] patch matrix of image b and dY[b] the [Cout, H·W] output grad:
 *   dW = Σ_b dY[b] @ col[b]ᵀ,   dcol[b] = Wᵀ @ dY[b] → dx[b] by col2im (the adjoint of im2col:
 *   every patch entry is added back to the input pixel it was copied from, dropped for zero
 *   padding, wrapped for circular),   db = Σ_{b,y,x} dY.
 * Images and row tiles are processed in a fixed order and every GEMM is the deterministic
 * sl_sgemm, so gradients do not depend on the thread count either. */

static sl_status check_args(const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias);

/* dx_img[ci] += col2im(dcol) for output rows y0..y0+rows-1; one OpenMP thread per input plane. */
static void col2im_rows(float *dx_img, const float *dcol, int64_t cin, int64_t H, int64_t W, int64_t k,
                        int circ, int64_t y0, int64_t rows) {
  int64_t r = k / 2, n = rows * W;
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (cin > 1 && cin * k * k * n > 32768)
  for (int64_t ci = 0; ci < cin; ci++) {
    float *plane = dx_img + ci * H * W;
    for (int64_t t = 0; t < k * k; t++) {
      int64_t ky = t / k, kx = t % k, dx = kx - r;
      const float *src = dcol + (ci * k * k + t) * n;
      int64_t x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W;
      if (x1 < x0) x1 = x0;
      for (int64_t yy = 0; yy < rows; yy++) {
        int64_t sy = y0 + yy + ky - r;
        if (sy < 0 || sy >= H) { if (!circ) continue; sy = ((sy % H) + H) % H; }
        float *d = plane + sy * W;
        const float *s_ = src + yy * W;
        for (int64_t xx = x0; xx < x1; xx++) d[xx + dx] += s_[xx];
        if (circ) {
          for (int64_t xx = 0; xx < x0 && xx < W; xx++) d[((xx + dx) % W + W) % W] += s_[xx];
          for (int64_t xx = x1; xx < W; xx++) d[((xx + dx) % W + W) % W] += s_[xx];
        }
      }
    }
  }
}

sl_status sl_conv2d_backward(sl_tensor **dx_out, sl_tensor **dw_out, sl_tensor **db_out,
                             const sl_tensor *x0, const sl_tensor *w0, const sl_tensor *dy0,
                             sl_conv_padding padding, sl_conv2d_ws *ws) {
  SL_TRY(check_args(x0, w0, NULL));
  int64_t B = x0->shape[0], cin = x0->shape[1], H = x0->shape[2], W = x0->shape[3];
  int64_t cout = w0->shape[0], k = w0->shape[2], hw = H * W, K = cin * k * k;
  int64_t oshape[4] = { B, cout, H, W };
  char sd[96], se[96], sx[96], sw[96];
  if (dy0->ndim != 4 || memcmp(dy0->shape, oshape, sizeof oshape) || dy0->dtype != SL_DTYPE_F32)
    return SL_ERR(SL_ERR_SHAPE, "conv2d_backward: output gradient must be float32 of shape %s (input %s, weight %s), got %s %s",
                  sl_shape_str(se, sizeof se, 4, oshape), sl_shape_str(sx, sizeof sx, 4, x0->shape),
                  sl_shape_str(sw, sizeof sw, 4, w0->shape), sl_dtype_name(dy0->dtype),
                  sl_shape_str(sd, sizeof sd, dy0->ndim, dy0->shape));
  if (padding == SL_CONV_PAD_CIRCULAR && (H == 0 || W == 0))
    return SL_ERR(SL_ERR_SHAPE, "conv2d_backward: circular padding needs a non-empty grid");
  int circ = padding == SL_CONV_PAD_CIRCULAR;
  sl_tensor *x = NULL, *w = NULL, *dy = NULL, *dx = NULL, *dw = NULL, *db = NULL;
  sl_conv2d_ws *tmp = NULL;
  sl_status st = SL_OK;
  if ((st = sl_tensor_contiguous_as(&dy, dy0, SL_DTYPE_F32)) != SL_OK) goto done;
  if (dw_out && (st = sl_tensor_contiguous_as(&x, x0, SL_DTYPE_F32)) != SL_OK) goto done;
  if (dx_out && (st = sl_tensor_contiguous_as(&w, w0, SL_DTYPE_F32)) != SL_OK) goto done;
  if (dx_out && (st = sl_tensor_zeros(&dx, SL_DTYPE_F32, 4, x0->shape)) != SL_OK) goto done;
  if (dw_out && (st = sl_tensor_zeros(&dw, SL_DTYPE_F32, 4, w0->shape)) != SL_OK) goto done;
  if (db_out && (st = sl_tensor_zeros(&db, SL_DTYPE_F32, 1, &cout)) != SL_OK) goto done;
  if (!ws && !(ws = tmp = sl_conv2d_ws_new())) { st = SL_ERR(SL_ERR_OOM, "conv2d_backward: cannot allocate a workspace"); goto done; }
  {
    const float *dyp = sl_tensor_data(dy);
    if (db) {
      float *dbp = sl_tensor_data(db);
      #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (cout > 1 && B * cout * hw > 65536)
      for (int64_t co = 0; co < cout; co++) {
        double acc = 0.0;
        for (int64_t b = 0; b < B; b++) {
          const float *g = dyp + (b * cout + co) * hw;
          double part[8] = {0};
          int64_t i = 0;
          for (; i + 8 <= hw; i += 8)
            for (int j = 0; j < 8; j++) part[j] += g[i + j];
          for (; i < hw; i++) part[0] += g[i];
          acc += ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
        }
        dbp[co] = (float)acc;
      }
    }
    if ((dx || dw) && K > 0 && B * hw > 0) {
      /* Row tiles: a patch (and patch-gradient) buffer of at most 2·COL_BUDGET. */
      size_t row_bytes = (size_t)K * W * sizeof(float);
      int64_t rows = row_bytes ? (int64_t)(2 * COL_BUDGET / row_bytes) : H;
      if (rows < 1) rows = 1;
      if (rows > H) rows = H;
      size_t colsz = ((size_t)K * rows * W + 15) & ~(size_t)15;
      if (!ws_buf(&ws->scratch, &ws->scratch_bytes, colsz * sizeof(float))) {
        st = SL_ERR(SL_ERR_OOM, "conv2d_backward: cannot allocate a %lld x %lld patch buffer", (long long)K, (long long)(rows * W));
        goto done;
      }
      float *col = ws->scratch;
      int nt = sl_num_threads();
      for (int64_t b = 0; b < B; b++) {
        const float *g = dyp + b * cout * hw;
        for (int64_t y0 = 0; y0 < H; y0 += rows) {
          int64_t nr = H - y0 < rows ? H - y0 : rows, n = nr * W;
          if (dw) {
            const float *img = (const float *)sl_tensor_data(x) + b * cin * hw;
            int64_t chunk = (K + 63) / 64;   /* fill in 64 fixed slices, OpenMP over them */
            #pragma omp parallel for schedule(dynamic) num_threads(nt) if (K * n > 32768)
            for (int64_t c = 0; c < 64; c++) {
              int64_t a = c * chunk, e = a + chunk < K ? a + chunk : K;
              if (a < e) im2col_rows(col, img, cin, H, W, k, circ, y0, nr, a, e);
            }
            sl_sgemm(0, 1, cout, K, n, 1.0f, g + y0 * W, hw, col, n, 1.0f, (float *)sl_tensor_data(dw), K);
          }
          if (dx) {
            sl_sgemm(1, 0, K, n, cout, 1.0f, sl_tensor_data(w), K, g + y0 * W, hw, 0.0f, col, n);
            col2im_rows((float *)sl_tensor_data(dx) + b * cin * hw, col, cin, H, W, k, circ, y0, nr);
          }
        }
      }
    }
  }
done:
  sl_tensor_release(x); sl_tensor_release(w); sl_tensor_release(dy);
  sl_conv2d_ws_free(tmp);
  if (st != SL_OK) { sl_tensor_release(dx); sl_tensor_release(dw); sl_tensor_release(db); return st; }
  if (dx_out) *dx_out = dx;
  if (dw_out) *dw_out = dw;
  if (db_out) *db_out = db;
  return SL_OK;
}

/* ---- Winograd F(4×4, 3×3) ----
 *
 * Each 4×4 output tile comes from a 6×6 input tile d: Y = Aᵀ[Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B)]A, with the
 * interpolation points 0, ±1, ±2, ∞ (the transforms below).  The elementwise product summed over
 * channels is 36 independent GEMMs U_e [Cout×Cin] @ V_e [Cin×tiles]: 36·Cin·Cout MACs per 16
 * outputs instead of 144·Cin·Cout for im2col.
 *
 * Work items are (image, chunk of WINO_CHUNK consecutive tiles in row-major tile order); the chunk
 * size depends only on the layer shape, so every output element meets the same transforms and
 * the same GEMM shape (sl_sgemm_serial, one BLAS call per item and e) whatever the batch size
 * or thread count: results are bit-identical across both.  The transformed weights U [36][Cout][Cin]
 * are cached in the workspace (computed in double) and validated against an exact weight copy. */
#define WINO_CHUNK 128                 /* tiles per item (GEMM width) */

static void wino_weights(float *u, const float *w, int64_t cin, int64_t cout) {
  for (int64_t co = 0; co < cout; co++)
    for (int64_t ci = 0; ci < cin; ci++) {
      const float *g = w + (co * cin + ci) * 9;
      double t[6][3], r[6][6];
      for (int j = 0; j < 3; j++) {   /* G g: columns */
        double g0 = g[0 * 3 + j], g1 = g[1 * 3 + j], g2 = g[2 * 3 + j];
        t[0][j] = g0 / 4; t[1][j] = -(g0 + g1 + g2) / 6; t[2][j] = -(g0 - g1 + g2) / 6;
        t[3][j] = g0 / 24 + g1 / 12 + g2 / 6; t[4][j] = g0 / 24 - g1 / 12 + g2 / 6; t[5][j] = g2;
      }
      for (int i = 0; i < 6; i++) {   /* (G g) Gᵀ: rows */
        double g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        r[i][0] = g0 / 4; r[i][1] = -(g0 + g1 + g2) / 6; r[i][2] = -(g0 - g1 + g2) / 6;
        r[i][3] = g0 / 24 + g1 / 12 + g2 / 6; r[i][4] = g0 / 24 - g1 / 12 + g2 / 6; r[i][5] = g2;
      }
      for (int e = 0; e < 36; e++) u[(e * cout + co) * cin + ci] = (float)r[e / 6][e % 6];
    }
}

/* Bᵀ z for a 6-vector, in place-free form. */
#define WINO_BT(o0, o1, o2, o3, o4, o5, z0, z1, z2, z3, z4, z5) do { \
    o0 = 4.0f * (z0) - 5.0f * (z2) + (z4);                     \
    o1 = -4.0f * ((z1) + (z2)) + (z3) + (z4);                   \
    o2 = 4.0f * ((z1) - (z2)) - (z3) + (z4);                    \
    o3 = 2.0f * ((z3) - (z1)) - (z2) + (z4);                    \
    o4 = 2.0f * ((z1) - (z3)) - (z2) + (z4);                    \
    o5 = 4.0f * (z1) - 5.0f * (z3) + (z5); } while (0)

/* V[e][ci][n] for the tiles t0..t0+nn-1 of one channel plane; rb is a 6-row scratch of width
 * 4·ntx+2 holding the padded input rows of one tile row. */
static void wino_input(float *v, int64_t ldv, const float *plane, int64_t H, int64_t W, int circ,
                       int64_t ntx, int64_t t0, int64_t nn, float *rb) {
  int64_t wp = 4 * ntx + 2, ty_loaded = -1;
  for (int64_t n = 0; n < nn; n++) {
    int64_t t = t0 + n, ty = t / ntx, tx = t % ntx;
    if (ty != ty_loaded) {
      for (int i = 0; i < 6; i++) {
        float *d = rb + i * wp;
        int64_t y = 4 * ty - 1 + i;
        if (y < 0 || y >= H) {
          if (!circ) { memset(d, 0, (size_t)wp * sizeof(float)); continue; }
          y = ((y % H) + H) % H;
        }
        const float *src = plane + y * W;
        for (int64_t xp = 0; xp < wp; xp++) {
          int64_t x = xp - 1;
          if (x >= 0 && x < W) d[xp] = src[x];
          else d[xp] = circ ? src[((x % W) + W) % W] : 0.0f;
        }
      }
      ty_loaded = ty;
    }
    float tm[6][6];
    const float *d = rb + 4 * tx;
    for (int j = 0; j < 6; j++)
      WINO_BT(tm[0][j], tm[1][j], tm[2][j], tm[3][j], tm[4][j], tm[5][j],
              d[0 * wp + j], d[1 * wp + j], d[2 * wp + j], d[3 * wp + j], d[4 * wp + j], d[5 * wp + j]);
    for (int i = 0; i < 6; i++) {
      float o0, o1, o2, o3, o4, o5;
      WINO_BT(o0, o1, o2, o3, o4, o5, tm[i][0], tm[i][1], tm[i][2], tm[i][3], tm[i][4], tm[i][5]);
      float *vv = v + (int64_t)(i * 6) * ldv + n;
      vv[0] = o0; vv[ldv] = o1; vv[2 * ldv] = o2; vv[3 * ldv] = o3; vv[4 * ldv] = o4; vv[5 * ldv] = o5;
    }
  }
}

#define WINO_AT(o0, o1, o2, o3, m0, m1, m2, m3, m4, m5) do { \
    float a_ = (m1) + (m2), b_ = (m1) - (m2), c_ = (m3) + (m4), d_ = (m3) - (m4); \
    o0 = (m0) + a_ + c_; o1 = b_ + 2.0f * d_; o2 = a_ + 4.0f * c_; o3 = b_ + 8.0f * d_ + (m5); } while (0)

/* Output tiles of one channel plane from M[e][n] (stride ldm between e), cropped to H×W. */
static void wino_output(float *o, const float *m, int64_t ldm, float bias, int64_t H, int64_t W,
                        int64_t ntx, int64_t t0, int64_t nn) {
  for (int64_t n = 0; n < nn; n++) {
    int64_t t = t0 + n, ty = t / ntx, tx = t % ntx;
    float tm[4][6], y[4][4];
    for (int j = 0; j < 6; j++) {
      const float *mm = m + j * ldm + n;
      WINO_AT(tm[0][j], tm[1][j], tm[2][j], tm[3][j], mm[0], mm[6 * ldm], mm[12 * ldm], mm[18 * ldm],
              mm[24 * ldm], mm[30 * ldm]);
    }
    for (int i = 0; i < 4; i++)
      WINO_AT(y[i][0], y[i][1], y[i][2], y[i][3], tm[i][0], tm[i][1], tm[i][2], tm[i][3], tm[i][4], tm[i][5]);
    int64_t y0 = 4 * ty, x0 = 4 * tx;
    int ny = H - y0 < 4 ? (int)(H - y0) : 4, nx = W - x0 < 4 ? (int)(W - x0) : 4;
    for (int i = 0; i < ny; i++)
      for (int j = 0; j < nx; j++) o[(y0 + i) * W + x0 + j] = y[i][j] + bias;
  }
}

static sl_status conv_winograd(float *out, const float *x, const float *w, const float *bias,
                               int64_t B, int64_t cin, int64_t cout, int64_t H, int64_t W, int64_t k, int circ,
                               sl_conv2d_ws *ws) {
  if (k != 3) return SL_ERR(SL_ERR_NOT_IMPL, "conv2d: algo \"winograd\" supports 3x3 kernels only, got k = %lld", (long long)k);
  size_t wbytes = (size_t)cout * cin * 9 * sizeof(float), ubytes = (size_t)36 * cout * cin * sizeof(float);
  if (!(ws->wino_valid && ws->wino_key[0] == cout && ws->wino_key[1] == cin && !memcmp(ws->wino_w, w, wbytes))) {
    ws->wino_valid = 0;
    if (!ws_buf(&ws->wino_u, &ws->wino_u_bytes, ubytes + sizeof(float)) ||
        !ws_buf(&ws->wino_w, &ws->wino_w_bytes, wbytes + sizeof(float)))
      return SL_ERR(SL_ERR_OOM, "conv2d: cannot allocate the winograd weights (%lld x %lld channels)",
                    (long long)cout, (long long)cin);
    wino_weights(ws->wino_u, w, cin, cout);
    memcpy(ws->wino_w, w, wbytes);
    ws->wino_key[0] = cout; ws->wino_key[1] = cin; ws->wino_valid = 1;
  }
  const float *u = ws->wino_u;
  int64_t ntx = (W + 3) / 4, nty = (H + 3) / 4, ntiles = ntx * nty, hw = H * W;
  int64_t chunk = ntiles < WINO_CHUNK ? ntiles : WINO_CHUNK;
  while (chunk > 16 && (size_t)36 * (cin + cout) * chunk * sizeof(float) > COL_BUDGET) chunk /= 2;
  int64_t nchunks = (ntiles + chunk - 1) / chunk;
  /* Stride between the 36 matrices, padded by a cache line: at power-of-two sizes the transforms'
   * 36 interleaved streams otherwise all map to the same cache sets. */
  int64_t sv = cin * chunk + 16, sm = cout * chunk + 16;
  size_t per = ((size_t)36 * (sv + sm) + 6 * (size_t)(4 * ntx + 2) + 15) & ~(size_t)15;
  int nt = sl_num_threads();
  if (nt < 1) nt = 1;
  if (!ws_buf(&ws->scratch, &ws->scratch_bytes, per * nt * sizeof(float)))
    return SL_ERR(SL_ERR_OOM, "conv2d: cannot allocate %d winograd buffers of %zu floats", nt, per);
  float *scratch = ws->scratch;
  int prev = sl_blas_set_threads(1);
  #pragma omp parallel for schedule(dynamic) num_threads(nt)
  for (int64_t item = 0; item < B * nchunks; item++) {
    int64_t b = item / nchunks, t0 = (item % nchunks) * chunk, nn = ntiles - t0 < chunk ? ntiles - t0 : chunk;
    float *v = scratch + (size_t)thread_index() * per, *m = v + (size_t)36 * sv;
    float *rb = m + (size_t)36 * sm;
    const float *img = x + b * cin * hw;
    for (int64_t ci = 0; ci < cin; ci++)
      wino_input(v + ci * chunk, sv, img + ci * hw, H, W, circ, ntx, t0, nn, rb);
    for (int e = 0; e < 36; e++)
      sl_sgemm_serial(0, 0, cout, nn, cin, 1.0f, u + (size_t)e * cout * cin, cin,
                      v + (size_t)e * sv, chunk, 0.0f, m + (size_t)e * sm, chunk);
    float *ob = out + b * cout * hw;
    for (int64_t co = 0; co < cout; co++)
      wino_output(ob + co * hw, m + co * chunk, sm, bias ? bias[co] : 0.0f, H, W, ntx, t0, nn);
  }
  sl_blas_set_threads(prev);
  return SL_OK;
}

/* ---- entry points ---- */

sl_conv_algo sl_conv2d_resolve(const sl_tensor *x, const sl_tensor *w, sl_conv_padding padding,
                               const sl_conv2d_ws *ws) {
  if (x->ndim != 4 || w->ndim != 4) return SL_CONV_IM2COL;
  int64_t B = x->shape[0], cin = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t cout = w->shape[0], k = w->shape[2], P, Q;
  sl_conv2d_fft_size(H, W, k, padding, &P, &Q);
  int64_t key[6] = { cout, cin, k, P, Q, padding };
  int cached = ws && ws->wvalid && !memcmp(key, ws->key, sizeof key);
  return sl_conv2d_choose(B, cin, cout, H, W, k, padding, cached, ws ? ws->fft_budget : FFT_BUDGET_DEFAULT);
}

static sl_status check_args(const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias) {
  char sx[96], sw[96], sb[96];
  sl_shape_str(sx, sizeof sx, x->ndim, x->shape);
  sl_shape_str(sw, sizeof sw, w->ndim, w->shape);
  if (sl_tensor_device(x) != SL_DEV_CPU || sl_tensor_device(w) != SL_DEV_CPU || (bias && sl_tensor_device(bias) != SL_DEV_CPU))
    return SL_ERR(SL_ERR_DEVICE, "conv2d: CPU tensors expected");
  if (x->ndim != 4)
    return SL_ERR(SL_ERR_SHAPE, "conv2d: input must be 4-D [B,Cin,H,W], got shape %s (weight %s)", sx, sw);
  if (w->ndim != 4)
    return SL_ERR(SL_ERR_SHAPE, "conv2d: weight must be 4-D [Cout,Cin,k,k], got shape %s (input %s)", sw, sx);
  if (x->dtype != SL_DTYPE_F32 || w->dtype != SL_DTYPE_F32 || (bias && bias->dtype != SL_DTYPE_F32))
    return SL_ERR(SL_ERR_DTYPE, "conv2d: float32 tensors expected, got input %s, weight %s%s%s",
                  sl_dtype_name(x->dtype), sl_dtype_name(w->dtype), bias ? ", bias " : "",
                  bias ? sl_dtype_name(bias->dtype) : "");
  /* An empty grid has no output pixels to define; saying so beats a confusing output-shape error. */
  if (x->shape[2] == 0 || x->shape[3] == 0)
    return SL_ERR(SL_ERR_SHAPE, "conv2d: input %s has an empty spatial dimension (H and W must be at least 1)", sx);
  if (w->shape[2] != w->shape[3] || w->shape[2] % 2 == 0)
    return SL_ERR(SL_ERR_SHAPE, "conv2d: weight must be [Cout,Cin,k,k] with odd k, got shape %s (input %s)", sw, sx);
  if (w->shape[1] != x->shape[1])
    return SL_ERR(SL_ERR_SHAPE, "conv2d: weight %s has %lld input channels but input %s has %lld",
                  sw, (long long)w->shape[1], sx, (long long)x->shape[1]);
  if (bias) {
    sl_shape_str(sb, sizeof sb, bias->ndim, bias->shape);
    if (bias->ndim != 1 || bias->shape[0] != w->shape[0])
      return SL_ERR(SL_ERR_SHAPE, "conv2d: bias must be [%lld] (Cout of weight %s), got shape %s",
                    (long long)w->shape[0], sw, sb);
  }
  return SL_OK;
}

sl_status sl_conv2d_into(sl_tensor *out, const sl_tensor *x0, const sl_tensor *w0, const sl_tensor *b0,
                         sl_conv_padding padding, sl_conv_algo algo, sl_conv2d_ws *ws) {
  SL_TRY(check_args(x0, w0, b0));
  int64_t B = x0->shape[0], cin = x0->shape[1], H = x0->shape[2], W = x0->shape[3];
  int64_t cout = w0->shape[0], k = w0->shape[2];
  int64_t oshape[4] = { B, cout, H, W };
  if (out->ndim != 4 || memcmp(out->shape, oshape, sizeof oshape) || out->dtype != SL_DTYPE_F32 ||
      !sl_tensor_is_contiguous(out)) {
    char so[96], se[96];
    return SL_ERR(SL_ERR_SHAPE, "conv2d: output must be a contiguous float32 tensor of shape %s, got %s %s",
                  sl_shape_str(se, sizeof se, 4, oshape), sl_dtype_name(out->dtype),
                  sl_shape_str(so, sizeof so, out->ndim, out->shape));
  }
  if (out->storage == x0->storage || out->storage == w0->storage || (b0 && out->storage == b0->storage))
    return SL_ERR(SL_ERR_ARG, "conv2d: the output must not share memory with the input, weight or bias");
  if (padding == SL_CONV_PAD_CIRCULAR && (H == 0 || W == 0))
    return SL_ERR(SL_ERR_SHAPE, "conv2d: circular padding needs a non-empty grid");
  if (B * cout * H * W == 0) return SL_OK;

  sl_tensor *x = NULL, *w = NULL, *b = NULL;
  sl_conv2d_ws *tmp = NULL;
  sl_status st = SL_OK;
  if ((st = sl_tensor_contiguous_as(&x, x0, SL_DTYPE_F32)) != SL_OK) goto done;
  if ((st = sl_tensor_contiguous_as(&w, w0, SL_DTYPE_F32)) != SL_OK) goto done;
  if (b0 && (st = sl_tensor_contiguous_as(&b, b0, SL_DTYPE_F32)) != SL_OK) goto done;
  if (!ws) {
    if (!(ws = tmp = sl_conv2d_ws_new())) { st = SL_ERR(SL_ERR_OOM, "conv2d: cannot allocate a workspace"); goto done; }
  }
  if (algo == SL_CONV_AUTO) algo = sl_conv2d_resolve(x0, w0, padding, ws);
  if (cin == 0 && algo != SL_CONV_DIRECT) algo = SL_CONV_IM2COL;   /* out = bias */
  float *o = sl_tensor_data(out);
  const float *xp = sl_tensor_data(x), *wp = sl_tensor_data(w), *bp = b ? sl_tensor_data(b) : NULL;
  int circ = padding == SL_CONV_PAD_CIRCULAR;
  switch (algo) {
    case SL_CONV_DIRECT: conv_direct(o, xp, wp, bp, B, cin, cout, H, W, k, circ); break;
    case SL_CONV_FFT:    st = conv_fft(o, xp, wp, bp, B, cin, cout, H, W, k, padding, ws); break;
    case SL_CONV_FFTROW: st = conv_fftrow(o, xp, wp, bp, B, cin, cout, H, W, k, padding, ws); break;
    case SL_CONV_WINOGRAD: st = conv_winograd(o, xp, wp, bp, B, cin, cout, H, W, k, circ, ws); break;
    default:             st = conv_im2col(o, xp, wp, bp, B, cin, cout, H, W, k, circ, ws); break;
  }
done:
  sl_tensor_release(x); sl_tensor_release(w); sl_tensor_release(b);
  sl_conv2d_ws_free(tmp);
  return st;
}

sl_status sl_conv2d(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias,
                    sl_conv_padding padding, sl_conv_algo algo, sl_conv2d_ws *ws) {
  SL_TRY(check_args(x, w, bias));
  int64_t shape[4] = { x->shape[0], w->shape[0], x->shape[2], x->shape[3] };
  sl_tensor *o = NULL;
  SL_TRY(sl_tensor_empty(&o, SL_DTYPE_F32, 4, shape));
  sl_status st = sl_conv2d_into(o, x, w, bias, padding, algo, ws);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}
