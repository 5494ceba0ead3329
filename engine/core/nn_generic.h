/* nn_generic.h — the nn kernels on raw contiguous buffers, written once for `real` and included
 * twice by nn.c (real = float, then double), in the manner of torch7's generic/ files.
 *
 * Before inclusion nn.c defines: real, NNF(name) (name suffixed _f32/_f64), GEMM (sl_?gemm),
 * and the math functions R_SQRT, R_EXP, R_ERF, R_TANH, R_FABS.  Accumulations over a batch use
 * double whatever `real` is.  Thread-count independence: a parallel loop either writes disjoint
 * outputs (rows, columns, channels), or sums fixed-size blocks whose partials are added in block
 * order afterwards. */

/* ---- column sums: acc[j] += Σ_r g[r·cols + j] ----
 * Threads own disjoint column chunks and walk the rows in order, so each column is summed in the
 * same order whatever the thread count, and memory is still read row by row. */
static void NNF(colsum_acc)(real *acc, const real *g, int64_t rows, int64_t cols)
{
  const int64_t nchunk = (cols + NN_COLCHUNK - 1) / NN_COLCHUNK;
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (rows * cols >= NN_PAR_MIN)
  for (int64_t ch = 0; ch < nchunk; ch++) {
    const int64_t j0 = ch * NN_COLCHUNK;
    const int64_t nj = cols - j0 < NN_COLCHUNK ? cols - j0 : NN_COLCHUNK;
    double s[NN_COLCHUNK] = { 0 };
    for (int64_t r = 0; r < rows; r++) {
      const real *gr = g + r * cols + j0;
      for (int64_t j = 0; j < nj; j++) s[j] += gr[j];
    }
    for (int64_t j = 0; j < nj; j++) acc[j0 + j] += (real)s[j];
  }
}

/* ---- Linear ---- */
static void NNF(linear_fwd)(real *y, const real *x, const real *w, const real *b,
                            int64_t rows, int64_t in, int64_t out)
{
  if (b) {
    for (int64_t r = 0; r < rows; r++) memcpy(y + r * out, b, (size_t)out * sizeof(real));
  }
  /* y[rows,out] (+)= x[rows,in] · w[out,in]ᵀ; with in = 0 the wrapper leaves beta·y */
  GEMM(0, 1, rows, out, in, 1, x, in, w, in, b ? 1 : 0, y, out);
}

static void NNF(linear_bwd)(real *dx, real *dw, real *db, const real *g, const real *x,
                            const real *w, int64_t rows, int64_t in, int64_t out)
{
  if (dx) /* dx[rows,in] = g[rows,out] · w[out,in] */
    GEMM(0, 0, rows, in, out, 1, g, out, w, in, 0, dx, in);
  if (dw) /* dw[out,in] += gᵀ[out,rows] · x[rows,in] */
    GEMM(1, 0, out, in, rows, 1, g, out, x, in, 1, dw, in);
  if (db) NNF(colsum_acc)(db, g, rows, out);
}

/* ---- BlockLinear: group g maps input columns [ioff_g, ioff_g + in_g) to output columns
 * [ooff_g, ooff_g + out_g) with its own [out_g, in_g] block packed at woff_g.  Groups touch
 * disjoint outputs and disjoint weights, so they run in parallel and every sum keeps one order
 * whatever the thread count.  Blocks are small (the VQ-VAE's are 8×8), so plain loops beat a
 * GEMM call per block. */
static void NNF(block_linear_fwd)(real *y, const real *x, const real *w, const real *b, int64_t rows,
                                  int64_t in_total, int64_t out_total, int64_t ngroups,
                                  const int64_t *gin, const int64_t *gout, const int64_t *ioff,
                                  const int64_t *ooff, const int64_t *woff, int64_t work)
{
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (work >= NN_PAR_MIN)
  for (int64_t g = 0; g < ngroups; g++) {
    const int64_t ni = gin[g], no = gout[g];
    const real *wg = w + woff[g];
    for (int64_t r = 0; r < rows; r++) {
      const real *xr = x + r * in_total + ioff[g];
      real *yr = y + r * out_total + ooff[g];
      for (int64_t o = 0; o < no; o++) {
        real acc = b ? b[ooff[g] + o] : (real)0;
        const real *wo = wg + o * ni;
        for (int64_t i = 0; i < ni; i++) acc += xr[i] * wo[i];
        yr[o] = acc;
      }
    }
  }
}

static void NNF(block_linear_bwd)(real *dx, real *dw, real *db, const real *dy, const real *x,
                                  const real *w, int64_t rows, int64_t in_total, int64_t out_total,
                                  int64_t ngroups, const int64_t *gin, const int64_t *gout,
                                  const int64_t *ioff, const int64_t *ooff, const int64_t *woff,
                                  int64_t work)
{
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (work >= NN_PAR_MIN)
  for (int64_t g = 0; g < ngroups; g++) {
    const int64_t ni = gin[g], no = gout[g];
    const real *wg = w + woff[g];
    real *dwg = dw ? dw + woff[g] : NULL;
    for (int64_t r = 0; r < rows; r++) {
      const real *xr = x + r * in_total + ioff[g];
      const real *gr = dy + r * out_total + ooff[g];
      if (dx) {
        real *dxr = dx + r * in_total + ioff[g];
        for (int64_t i = 0; i < ni; i++) dxr[i] = 0;
        for (int64_t o = 0; o < no; o++) {
          const real go = gr[o];
          const real *wo = wg + o * ni;
          for (int64_t i = 0; i < ni; i++) dxr[i] += go * wo[i];
        }
      }
      if (dwg) {
        for (int64_t o = 0; o < no; o++) {
          const real go = gr[o];
          real *dwo = dwg + o * ni;
          for (int64_t i = 0; i < ni; i++) dwo[i] += go * xr[i];
        }
      }
      if (db) for (int64_t o = 0; o < no; o++) db[ooff[g] + o] += gr[o];
    }
  }
}

/* ---- activations ---- */
#define NN_INV_SQRT2 0.70710678118654752440
#define NN_INV_SQRT2PI 0.39894228040143267794

static void NNF(act_fwd)(real *y, const real *x, int64_t n, sl_nn_act act)
{
  switch (act) {
  case SL_NN_RELU:
    #pragma omp parallel for simd schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
    break;
  case SL_NN_GELU:
    #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = (real)0.5 * x[i] * (1 + R_ERF(x[i] * (real)NN_INV_SQRT2));
    break;
  case SL_NN_SILU:
    #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1 + R_EXP(-x[i]));
    break;
  case SL_NN_TANH:
    #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = R_TANH(x[i]);
    break;
  default: break;
  }
}

static void NNF(act_bwd)(real *dx, const real *g, const real *x, int64_t n, sl_nn_act act)
{
  switch (act) {
  case SL_NN_RELU:   /* derivative 0 at x = 0, like torch */
    #pragma omp parallel for simd schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? g[i] : 0;
    break;
  case SL_NN_GELU:   /* Φ(x) + x·φ(x) */
    #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
      const real cdf = (real)0.5 * (1 + R_ERF(x[i] * (real)NN_INV_SQRT2));
      const real pdf = (real)NN_INV_SQRT2PI * R_EXP((real)-0.5 * x[i] * x[i]);
      dx[i] = g[i] * (cdf + x[i] * pdf);
    }
    break;
  case SL_NN_SILU:   /* σ(x)·(1 + x·(1 − σ(x))) */
    #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
      const real s = 1 / (1 + R_EXP(-x[i]));
      dx[i] = g[i] * s * (1 + x[i] * (1 - s));
    }
    break;
  case SL_NN_TANH:
    #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) { const real t = R_TANH(x[i]); dx[i] = g[i] * (1 - t * t); }
    break;
  default: break;
  }
}

/* ---- LayerNorm (rows × F) ----
 * Two-pass statistics per row in double: the row is in cache, and the one-pass formula loses
 * precision when |mean| ≫ std. */
static void NNF(ln_fwd)(real *y, real *mean, real *rstd, const real *x, const real *w, const real *b,
                        int64_t rows, int64_t F, double eps)
{
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (rows * F >= NN_PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const real *xr = x + r * F;
    real *yr = y + r * F;
    double m = 0, v = 0;
    for (int64_t j = 0; j < F; j++) m += xr[j];
    m /= (double)F;
    for (int64_t j = 0; j < F; j++) { const double d = xr[j] - m; v += d * d; }
    v /= (double)F;
    const double rs = 1.0 / sqrt(v + eps);
    mean[r] = (real)m;
    rstd[r] = (real)rs;
    const real mr = (real)m, rr = (real)rs;
    for (int64_t j = 0; j < F; j++) {
      const real xh = (xr[j] - mr) * rr;
      yr[j] = w ? xh * w[j] + (b ? b[j] : 0) : xh + (b ? b[j] : 0);
    }
  }
}

static void NNF(ln_bwd)(real *dx, real *dw, real *db, const real *g, const real *x,
                        const real *mean, const real *rstd, const real *w, int64_t rows, int64_t F)
{
  /* dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),  ĝ = g·w */
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (rows * F >= NN_PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const real *xr = x + r * F, *gr = g + r * F;
    real *dxr = dx + r * F;
    const real mr = mean[r], rr = rstd[r];
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < F; j++) {
      const double gh = w ? (double)gr[j] * w[j] : gr[j];
      sg += gh;
      sgx += gh * (double)((xr[j] - mr) * rr);
    }
    const real a = (real)(sg / (double)F), c = (real)(sgx / (double)F);
    for (int64_t j = 0; j < F; j++) {
      const real gh = w ? gr[j] * w[j] : gr[j];
      const real xh = (xr[j] - mr) * rr;
      dxr[j] = rr * (gh - a - xh * c);
    }
  }
  if (!dw && !db) return;
  /* dw += Σ_rows g·x̂, db += Σ_rows g: column chunks, rows in order (see colsum_acc) */
  const int64_t nchunk = (F + NN_COLCHUNK - 1) / NN_COLCHUNK;
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (rows * F >= NN_PAR_MIN)
  for (int64_t ch = 0; ch < nchunk; ch++) {
    const int64_t j0 = ch * NN_COLCHUNK;
    const int64_t nj = F - j0 < NN_COLCHUNK ? F - j0 : NN_COLCHUNK;
    double sw[NN_COLCHUNK] = { 0 }, sb[NN_COLCHUNK] = { 0 };
    for (int64_t r = 0; r < rows; r++) {
      const real *xr = x + r * F + j0, *gr = g + r * F + j0;
      const real mr = mean[r], rr = rstd[r];
      for (int64_t j = 0; j < nj; j++) { sw[j] += (double)gr[j] * ((xr[j] - mr) * rr); sb[j] += gr[j]; }
    }
    for (int64_t j = 0; j < nj; j++) {
      if (dw) dw[j0 + j] += (real)sw[j];
      if (db) db[j0 + j] += (real)sb[j];
    }
  }
}

/* ---- BatchNorm over x viewed as [N, C, L]; one channel per loop iteration ---- */
static void NNF(bn_fwd)(real *y, real *smean, real *srstd, const real *x, const real *w, const real *b,
                        real *rmean, real *rvar, int64_t N, int64_t C, int64_t L,
                        int training, double momentum, double eps)
{
  const double n = (double)(N * L);
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (N * C * L >= NN_PAR_MIN)
  for (int64_t c = 0; c < C; c++) {
    double m, rs;
    if (training) {
      double s = 0, v = 0;
      for (int64_t i = 0; i < N; i++)
        for (int64_t l = 0; l < L; l++) s += x[(i * C + c) * L + l];
      m = s / n;
      for (int64_t i = 0; i < N; i++)
        for (int64_t l = 0; l < L; l++) { const double d = x[(i * C + c) * L + l] - m; v += d * d; }
      v /= n;
      rs = 1.0 / sqrt(v + eps);
      if (rmean) rmean[c] = (real)((1 - momentum) * rmean[c] + momentum * m);
      if (rvar) rvar[c] = (real)((1 - momentum) * rvar[c] + momentum * v * n / (n - 1));
    } else {
      m = rmean[c];
      rs = 1.0 / sqrt((double)rvar[c] + eps);
    }
    smean[c] = (real)m;
    srstd[c] = (real)rs;
    const real mr = (real)m, rr = (real)rs;
    const real sc = w ? w[c] * rr : rr, sh = b ? b[c] : 0;
    for (int64_t i = 0; i < N; i++)
      for (int64_t l = 0; l < L; l++) {
        const int64_t k = (i * C + c) * L + l;
        y[k] = (x[k] - mr) * sc + sh;
      }
  }
}

static void NNF(bn_bwd)(real *dx, real *dw, real *db, const real *g, const real *x,
                        const real *smean, const real *srstd, const real *w,
                        int64_t N, int64_t C, int64_t L, int training)
{
  const double n = (double)(N * L);
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (N * C * L >= NN_PAR_MIN)
  for (int64_t c = 0; c < C; c++) {
    const real mr = smean[c], rr = srstd[c];
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < N; i++)
      for (int64_t l = 0; l < L; l++) {
        const int64_t k = (i * C + c) * L + l;
        sg += g[k];
        sgx += (double)g[k] * ((x[k] - mr) * rr);
      }
    if (dw) dw[c] += (real)sgx;
    if (db) db[c] += (real)sg;
    if (!dx) continue;
    const real sc = w ? w[c] * rr : rr;
    /* training: dx = w·rstd·(g − Σg/n − x̂·Σ(g·x̂)/n); evaluation: the statistics are constants */
    const real a = training ? (real)(sg / n) : 0, cc = training ? (real)(sgx / n) : 0;
    for (int64_t i = 0; i < N; i++)
      for (int64_t l = 0; l < L; l++) {
        const int64_t k = (i * C + c) * L + l;
        dx[k] = sc * (g[k] - a - ((x[k] - mr) * rr) * cc);
      }
  }
}

/* ---- elementwise product (dropout backward, mask application) ---- */
static void NNF(mul)(real *y, const real *a, const real *b, int64_t n)
{
  #pragma omp parallel for simd schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}

/* ---- losses: per-block partial sums, added in block order ---- */
static double NNF(loss)(real *grad, const real *p, const real *t, int64_t n, sl_nn_loss_kind kind,
                        double delta, double gscale, double *partial)
{
  const int64_t nb = (n + NN_BLOCK - 1) / NN_BLOCK;
  const real dl = (real)delta, gs = (real)gscale;
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
  for (int64_t blk = 0; blk < nb; blk++) {
    const int64_t i1 = (blk + 1) * NN_BLOCK < n ? (blk + 1) * NN_BLOCK : n;
    double s = 0;
    for (int64_t i = blk * NN_BLOCK; i < i1; i++) {
      const real d = p[i] - t[i];
      if (kind == SL_NN_LOSS_MSE) {
        s += (double)d * d;
        if (grad) grad[i] = 2 * d * gs;
      } else {
        const real ad = R_FABS(d);
        if (ad < dl) { s += 0.5 * (double)d * d; if (grad) grad[i] = d * gs; }
        else { s += delta * ((double)ad - 0.5 * delta); if (grad) grad[i] = (d > 0 ? dl : -dl) * gs; }
      }
    }
    partial[blk] = s;
  }
  double s = 0;
  for (int64_t blk = 0; blk < nb; blk++) s += partial[blk];
  return s;
}

static double NNF(sumsq)(const real *x, int64_t n, double *partial)
{
  const int64_t nb = (n + NN_BLOCK - 1) / NN_BLOCK;
  #pragma omp parallel for schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
  for (int64_t blk = 0; blk < nb; blk++) {
    const int64_t i1 = (blk + 1) * NN_BLOCK < n ? (blk + 1) * NN_BLOCK : n;
    double s = 0;
    for (int64_t i = blk * NN_BLOCK; i < i1; i++) s += (double)x[i] * x[i];
    partial[blk] = s;
  }
  double s = 0;
  for (int64_t blk = 0; blk < nb; blk++) s += partial[blk];
  return s;
}

/* ---- Adam / AdamW, one fused pass over the flat buffers ---- */
static void NNF(adam)(real *p, const real *g, real *m, real *v, int64_t n, double lr, double b1,
                      double b2, double eps, double wd, int decoupled, int64_t step)
{
  const double bc1 = 1 - pow(b1, (double)step), bc2 = 1 - pow(b2, (double)step);
  const real step_size = (real)(lr / bc1), inv_sqrt_bc2 = (real)(1 / sqrt(bc2));
  /* 1 − β in double first: (1 − 0.999f) in float is off by 1e-5 relative */
  const real rb1 = (real)b1, rb2 = (real)b2, omb1 = (real)(1 - b1), omb2 = (real)(1 - b2), reps = (real)eps;
  const real decay = decoupled ? (real)(1 - lr * wd) : 1, l2 = decoupled ? 0 : (real)wd;
  #pragma omp parallel for simd schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    const real gi = g[i] + l2 * p[i];
    const real pi = p[i] * decay;
    const real mi = rb1 * m[i] + omb1 * gi;
    const real vi = rb2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (R_SQRT(vi) * inv_sqrt_bc2 + reps);
  }
}

static void NNF(scale)(real *x, int64_t n, double alpha)
{
  const real a = (real)alpha;
  #pragma omp parallel for simd schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
  for (int64_t i = 0; i < n; i++) x[i] *= a;
}

static void NNF(axpy)(real *y, double alpha, const real *x, int64_t n)
{
  const real a = (real)alpha;
  #pragma omp parallel for simd schedule(static) num_threads(sl_num_threads()) if (n >= NN_PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}
