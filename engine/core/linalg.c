/* linalg.c — matmul / bmm through OpenBLAS cblas_?gemm.
 *
 * Design: every operand is described as a batch of matrices (batch shape + batch strides, and a
 * "matrix view": transpose flag + leading dimension).  A strided or transposed tensor whose last
 * two dims have one unit stride maps onto BLAS's trans/ld arguments directly; only operands
 * with no unit stride in the matrix dims are copied.  Broadcast batch dims have stride 0, so an
 * expanded operand costs nothing.
 *
 * When the right operand has no batch dims and the left one is a row-major stack of matrices,
 * the whole batch is folded into one tall GEMM (the Linear-layer case [B,T,in] @ [in,out]).
 * All GEMMs go through sl_sgemm/sl_dgemm, which keep OpenBLAS single-threaded and parallelise
 * over a fixed tiling of C with OpenMP (see gemm_tiled): results do not depend on the thread
 * count. */
#include "sl_linalg.h"

#include <cblas.h>
#include <pthread.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Provided by OpenBLAS (declared in its cblas.h on most builds; repeated here for others). */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);

/* ---- deterministic, OpenMP-tiled GEMM ----
 * OpenBLAS's own threading changes results with the thread count (measured: a 300x200x500
 * sgemm differs between 1 and 2 BLAS threads), and its spinning pool fights our OpenMP pool.
 * So BLAS always runs single-threaded here and we parallelise over a fixed grid of C tiles:
 * the tiling depends only on (m, n, k), each tile is one single-threaded BLAS call, hence the
 * same bits whatever the thread count.  Inside an enclosing parallel region (conv work items,
 * batched matmul) the same tiles run serially on the calling thread. */
#define GEMM_TILE_M   128
#define GEMM_MIN_TILE 128
#define GEMM_TILES    8      /* aim: enough tiles to balance a few cores */

static pthread_once_t g_blas_once = PTHREAD_ONCE_INIT;
static void blas_init(void) { openblas_set_num_threads(1); }

void sl_blas_init(void) { pthread_once(&g_blas_once, blas_init); }

static void gemm_tiling(int64_t m, int64_t n, int64_t k, int64_t *tm, int64_t *tn) {
  *tm = m; *tn = n;
  if ((double)m * n * k < 2e6) return;     /* ~ 128³: one call is cheaper than a parallel region */
  int64_t mt = 1;
  if (m > GEMM_TILE_M) { *tm = GEMM_TILE_M; mt = (m + GEMM_TILE_M - 1) / GEMM_TILE_M; }
  if (mt < GEMM_TILES) {
    int64_t want = (GEMM_TILES + mt - 1) / mt;
    int64_t w = (n + want - 1) / want;
    w = (w + 63) / 64 * 64;
    if (w < GEMM_MIN_TILE) w = GEMM_MIN_TILE;
    if (w < n) *tn = w;
  }
}

static void gemm_call(int dbl, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
                      const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc) {
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if (dbl)
    cblas_dgemm(CblasRowMajor, TA, TB, (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda,
                b, (blasint)ldb, beta, c, (blasint)ldc);
  else
    cblas_sgemm(CblasRowMajor, TA, TB, (blasint)m, (blasint)n, (blasint)k, (float)alpha, a, (blasint)lda,
                b, (blasint)ldb, (float)beta, c, (blasint)ldc);
}

static void gemm_tiled(int dbl, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
                       const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  size_t es = dbl ? sizeof(double) : sizeof(float);
  if (k <= 0) {  /* BLAS would only scale C; do it here so beta == 0 also clears NaNs */
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        if (dbl) { double *p = (double *)c + i * ldc + j; *p = beta == 0.0 ? 0.0 : beta * *p; }
        else { float *p = (float *)c + i * ldc + j; *p = beta == 0.0 ? 0.0f : (float)beta * *p; }
      }
    return;
  }
  pthread_once(&g_blas_once, blas_init);
  int64_t tm, tn;
  gemm_tiling(m, n, k, &tm, &tn);
  int64_t ntn = (n + tn - 1) / tn, items = ((m + tm - 1) / tm) * ntn;
  int nested = 0;
#ifdef _OPENMP
  nested = omp_in_parallel();
#endif
  int par = items > 1 && !nested;
  int prev = par ? sl_blas_set_threads(1) : 0;   /* in case a caller raised it */
  #pragma omp parallel for schedule(dynamic, 1) num_threads(sl_num_threads()) if (par)
  for (int64_t it = 0; it < items; it++) {
    int64_t i0 = (it / ntn) * tm, j0 = (it % ntn) * tn;
    int64_t mm = m - i0 < tm ? m - i0 : tm, nn = n - j0 < tn ? n - j0 : tn;
    const char *as = (const char *)a + (size_t)(ta ? i0 : i0 * lda) * es;
    const char *bs = (const char *)b + (size_t)(tb ? j0 * ldb : j0) * es;
    char *cs = (char *)c + (size_t)(i0 * ldc + j0) * es;
    gemm_call(dbl, ta, tb, mm, nn, k, alpha, as, lda, bs, ldb, beta, cs, ldc);
  }
  if (par) sl_blas_set_threads(prev);
}

void sl_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
              float beta, float *c, int64_t ldc) {
  gemm_tiled(0, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sl_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              double alpha, const double *a, int64_t lda, const double *b, int64_t ldb,
              double beta, double *c, int64_t ldc) {
  gemm_tiled(1, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sl_sgemm_serial(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) { gemm_tiled(0, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); return; }
  pthread_once(&g_blas_once, blas_init);
  gemm_call(0, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int sl_gemm_is_single_tile(int64_t m, int64_t n, int64_t k) {
  int64_t tm, tn;
  gemm_tiling(m, n, k, &tm, &tn);
  return tm >= m && tn >= n;
}

int sl_blas_get_threads(void) { return openblas_get_num_threads(); }

int sl_blas_set_threads(int n) {
  int prev = openblas_get_num_threads();
  if (n < 1) n = 1;
  if (n != prev) openblas_set_num_threads(n);
  return prev;
}

const char *sl_blas_corename(void) { return openblas_get_corename(); }

/* ---- tensor ops ---- */

/* One operand as a batch of [rows, cols] matrices. */
typedef struct {
  int      trans;          /* stored column-major: element (i,j) at i*1 + j*ld */
  int64_t  ld;
  int64_t  rows, cols;
  int      nbatch;         /* batch dims, right-aligned to the output batch shape */
  int64_t  bstride[SL_MAX_DIMS];
  const char *data;        /* element 0 */
} mat_desc;

/* Can BLAS read the last two dims of t as they are?  Sets trans/ld. */
static int blas_layout(const sl_tensor *t, int64_t rows, int64_t cols, int *trans, int64_t *ld) {
  int64_t s0 = t->stride[t->ndim - 2], s1 = t->stride[t->ndim - 1];
  if (cols == 1) s1 = 1;                         /* the stride of a size-1 dim is irrelevant */
  if (rows == 1) s0 = cols > 0 ? cols : 1;
  if (s1 == 1 && s0 >= (cols > 1 ? cols : 1)) { *trans = 0; *ld = s0; return 1; }
  if (rows == 1 && cols > 1 && s1 > 0) { *trans = 1; *ld = s1; return 1; } /* a strided row: [cols,1] column-major */
  if (s0 == 1 && s1 >= (rows > 1 ? rows : 1)) { *trans = 1; *ld = s1; return 1; }
  return 0;
}

static int64_t numel_of(int n, const int64_t *s) { int64_t p = 1; for (int i = 0; i < n; i++) p *= s[i]; return p; }

/* Brings t to dtype dt (keeping its strides when the dtype already matches) and to a BLAS-readable
 * layout; *hold receives the reference the caller must release. */
static sl_status prepare(sl_tensor **hold, const sl_tensor *t, sl_dtype dt, int64_t rows, int64_t cols) {
  int trans; int64_t ld;
  if (t->dtype == dt && (t->ndim < 2 || blas_layout(t, rows, cols, &trans, &ld))) {
    *hold = sl_tensor_retain((sl_tensor *)t);
    return SL_OK;
  }
  return sl_tensor_contiguous_as(hold, t, dt);
}

/* GEMM for one batch entry; a: [m,k], b: [k,n], c: [m,n] contiguous rows. */
static void gemm_one(sl_dtype dt, const mat_desc *A, const mat_desc *B, int64_t aoff, int64_t boff,
                     void *c, int64_t m, int64_t n, int64_t k) {
  if (dt == SL_DTYPE_F64)
    sl_dgemm(A->trans, B->trans, m, n, k, 1.0, (const double *)A->data + aoff, A->ld,
             (const double *)B->data + boff, B->ld, 0.0, (double *)c, n);
  else
    sl_sgemm(A->trans, B->trans, m, n, k, 1.0f, (const float *)A->data + aoff, A->ld,
             (const float *)B->data + boff, B->ld, 0.0f, (float *)c, n);
}

static sl_status matmul_impl(sl_tensor **out, const sl_tensor *a0, const sl_tensor *b0, const char *op) {
  char sa[96], sb[96];
  if (sl_tensor_device(a0) != SL_DEV_CPU || sl_tensor_device(b0) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_DEVICE, "%s: CPU tensors expected (got %s and %s)", op,
                  sl_device_name(sl_tensor_device(a0)), sl_device_name(sl_tensor_device(b0)));
  if (a0->ndim == 0 || b0->ndim == 0)
    return SL_ERR(SL_ERR_SHAPE, "%s: both arguments need at least 1 dimension, got shapes %s and %s", op,
                  sl_shape_str(sa, sizeof sa, a0->ndim, a0->shape), sl_shape_str(sb, sizeof sb, b0->ndim, b0->shape));
  sl_dtype dt = (a0->dtype == SL_DTYPE_F64 || b0->dtype == SL_DTYPE_F64) ? SL_DTYPE_F64 : SL_DTYPE_F32;

  /* Logical matrix shapes after promoting 1-D operands. */
  int a_vec = a0->ndim == 1, b_vec = b0->ndim == 1;
  int64_t m = a_vec ? 1 : a0->shape[a0->ndim - 2];
  int64_t k = a0->shape[a0->ndim - 1];
  int64_t kb = b_vec ? b0->shape[0] : b0->shape[b0->ndim - 2];
  int64_t n = b_vec ? 1 : b0->shape[b0->ndim - 1];
  if (k != kb)
    return SL_ERR(SL_ERR_SHAPE, "%s: shapes %s and %s are not aligned (inner dims %lld and %lld differ)", op,
                  sl_shape_str(sa, sizeof sa, a0->ndim, a0->shape), sl_shape_str(sb, sizeof sb, b0->ndim, b0->shape),
                  (long long)k, (long long)kb);
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
    return SL_ERR(SL_ERR_SHAPE, "%s: matrix dims above 2^31 are not supported (shapes %s and %s)", op,
                  sl_shape_str(sa, sizeof sa, a0->ndim, a0->shape), sl_shape_str(sb, sizeof sb, b0->ndim, b0->shape));

  /* Batch shapes and the broadcast output batch. */
  int na = a0->ndim > 2 ? a0->ndim - 2 : 0, nb = b0->ndim > 2 ? b0->ndim - 2 : 0;
  int nbo = 0; int64_t bshape[SL_MAX_DIMS];
  if (na || nb) {
    sl_status st = sl_broadcast_shapes(na, a0->shape, nb, b0->shape, &nbo, bshape, op);
    if (st != SL_OK)
      return SL_ERR(SL_ERR_SHAPE, "%s: batch dims of shapes %s and %s cannot be broadcast", op,
                    sl_shape_str(sa, sizeof sa, a0->ndim, a0->shape), sl_shape_str(sb, sizeof sb, b0->ndim, b0->shape));
  }

  /* Result shape: batch + [m] (unless a was 1-D) + [n] (unless b was 1-D). */
  int64_t oshape[SL_MAX_DIMS]; int ond = 0;
  for (int i = 0; i < nbo; i++) oshape[ond++] = bshape[i];
  if (!a_vec) oshape[ond++] = m;
  if (!b_vec) oshape[ond++] = n;
  if (ond > SL_MAX_DIMS) return SL_ERR(SL_ERR_SHAPE, "%s: result would have more than %d dims", op, SL_MAX_DIMS);

  sl_tensor *a = NULL, *b = NULL, *o = NULL;
  sl_status st;
  if ((st = prepare(&a, a0, dt, m, k)) != SL_OK) goto done;
  if ((st = prepare(&b, b0, dt, kb, n)) != SL_OK) goto done;
  if ((st = sl_tensor_empty(&o, dt, ond, oshape)) != SL_OK) goto done;

  mat_desc A = {0}, B = {0};
  size_t es = sl_dtype_size(dt);
  A.data = (const char *)sl_tensor_data(a); B.data = (const char *)sl_tensor_data(b);
  A.rows = m; A.cols = k; B.rows = k; B.cols = n;
  if (a_vec) { A.trans = 0; A.ld = k > 0 ? k : 1; if (a->stride[0] != 1 && k > 1) { A.trans = 1; A.ld = a->stride[0]; } }
  else blas_layout(a, m, k, &A.trans, &A.ld);
  if (b_vec) { B.trans = 0; B.ld = b->stride[0] > 0 ? b->stride[0] : 1; }   /* a column: element i at i*ld */
  else blas_layout(b, kb, n, &B.trans, &B.ld);
  /* A 1-D operand with stride 0 (expanded) has no BLAS layout: prepare() copied it only if the
   * 2-D test failed, so guard the vector cases here. */
  if ((a_vec && a->stride[0] == 0 && k > 1) || (b_vec && b->stride[0] == 0 && kb > 1)) {
    sl_tensor *t = NULL;
    if (a_vec && a->stride[0] == 0 && k > 1) {
      if ((st = sl_tensor_contiguous_as(&t, a, dt)) != SL_OK) goto done;
      sl_tensor_release(a); a = t; A.data = (const char *)sl_tensor_data(a); A.trans = 0; A.ld = k;
    }
    if (b_vec && b->stride[0] == 0 && kb > 1) {
      if ((st = sl_tensor_contiguous_as(&t, b, dt)) != SL_OK) goto done;
      sl_tensor_release(b); b = t; B.data = (const char *)sl_tensor_data(b); B.trans = 0; B.ld = 1;
    }
  }
  for (int i = 0; i < nbo; i++) {
    int ia = i - (nbo - na), ib = i - (nbo - nb);
    A.bstride[i] = (ia >= 0 && a->shape[ia] != 1) ? a->stride[ia] : 0;
    B.bstride[i] = (ib >= 0 && b->shape[ib] != 1) ? b->stride[ib] : 0;
  }
  int64_t nbatch = numel_of(nbo, bshape);
  if (nbatch == 0 || m == 0 || n == 0) goto done;
  char *odata = (char *)sl_tensor_data(o);

  /* Fold a row-major batch of A into one GEMM when B is shared by all batch entries. */
  int b_shared = 1;
  for (int i = 0; i < nbo; i++) if (B.bstride[i] != 0 && bshape[i] != 1) b_shared = 0;
  int a_foldable = !A.trans && nbo > 0;
  if (a_foldable) {   /* batch dims must step exactly over stacked rows */
    int64_t expect = m * A.ld;
    for (int i = nbo - 1; i >= 0; i--) {
      if (bshape[i] == 1) continue;
      if (A.bstride[i] != expect) { a_foldable = 0; break; }
      expect *= bshape[i];
    }
  }
  if (b_shared && (nbatch == 1 || a_foldable)) {
    gemm_one(dt, &A, &B, 0, 0, odata, m * nbatch, n, k);
    goto done;
  }

  /* General batch loop: matrices too small to be tiled run one per thread; bigger ones one
   * after the other, each tiled over the threads by sl_sgemm.  Either way each matrix is the
   * same sequence of BLAS calls, so the result does not depend on the thread count. */
  int tiny = nbatch >= 2 && sl_gemm_is_single_tile(m, n, k);
  int prev = tiny ? sl_blas_set_threads(1) : 0;
  #pragma omp parallel for schedule(static) if (tiny) num_threads(sl_num_threads())
  for (int64_t bi = 0; bi < nbatch; bi++) {
    int64_t rem = bi, aoff = 0, boff = 0;
    for (int d = nbo - 1; d >= 0; d--) {
      int64_t idx = rem % bshape[d]; rem /= bshape[d];
      aoff += idx * A.bstride[d]; boff += idx * B.bstride[d];
    }
    gemm_one(dt, &A, &B, aoff, boff, odata + (size_t)(bi * m * n) * es, m, n, k);
  }
  if (tiny) sl_blas_set_threads(prev);

done:
  sl_tensor_release(a); sl_tensor_release(b);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

sl_status sl_linalg_matmul(sl_tensor **out, const sl_tensor *a, const sl_tensor *b) {
  return matmul_impl(out, a, b, "matmul");
}

sl_status sl_linalg_bmm(sl_tensor **out, const sl_tensor *a, const sl_tensor *b) {
  char sa[96], sb[96];
  if (a->ndim != 3 || b->ndim != 3)
    return SL_ERR(SL_ERR_SHAPE, "bmm: expected two 3-D tensors [B,n,k] and [B,k,m], got shapes %s and %s",
                  sl_shape_str(sa, sizeof sa, a->ndim, a->shape), sl_shape_str(sb, sizeof sb, b->ndim, b->shape));
  if (a->shape[0] != b->shape[0] && a->shape[0] != 1 && b->shape[0] != 1)
    return SL_ERR(SL_ERR_SHAPE, "bmm: batch sizes differ: shapes %s and %s",
                  sl_shape_str(sa, sizeof sa, a->ndim, a->shape), sl_shape_str(sb, sizeof sb, b->ndim, b->shape));
  return matmul_impl(out, a, b, "bmm");
}
