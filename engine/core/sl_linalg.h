/* sl_linalg.h — matrix products on the CPU through OpenBLAS.
 *
 * Two levels:
 *  - raw row-major GEMM wrappers on pointers (sl_sgemm / sl_dgemm) for other kernels (conv,
 *    Linear layers), plus control of the BLAS thread count;
 *  - tensor ops with torch semantics: sl_linalg_matmul (1-D/2-D/N-D, batch dims broadcast) and
 *    sl_linalg_bmm (3-D @ 3-D).
 *
 * Threading: Debian's OpenBLAS is the pthread build, whose threading changes results with the
 * thread count and whose spinning pool fights OpenMP's.  sl_sgemm/sl_dgemm therefore keep BLAS at
 * one thread and parallelise themselves with OpenMP over a fixed tiling of C (same bits for any
 * thread count).  They may be called inside an OpenMP parallel region (the tiles then run on the
 * calling thread).  Code calling cblas_* directly must not do so with more than one BLAS thread
 * from inside a parallel region: wrap the region in sl_blas_set_threads(1) … restore. */
#ifndef SL_LINALG_H
#define SL_LINALG_H

#include "sl_tensor.h"

/* C[m,n] = alpha * op(A)[m,k] @ op(B)[k,n] + beta * C, all row-major.  trans_a / trans_b != 0
 * means the stored matrix is the transpose (A stored [k,m] with leading dimension lda).
 * Leading dimensions are in elements.  Sizes must fit in int (checked by the tensor ops; raw
 * callers are trusted).  beta == 0 ignores the previous contents of C (NaN-safe). */
void sl_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
              float beta, float *c, int64_t ldc);
void sl_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              double alpha, const double *a, int64_t lda, const double *b, int64_t ldb,
              double beta, double *c, int64_t ldc);

/* One BLAS call on the calling thread, no tiling: for kernels that split the work themselves
 * into items whose shapes do not depend on the thread count (BLAS must be at one thread, which
 * is the state after any sl_?gemm call; call it inside your own parallel region). */
void sl_sgemm_serial(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                     float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc);

/* Puts OpenBLAS at one thread once per process (sl_?gemm do it on first use; the Lua module
 * does it at start-up so that code calling cblas_* directly sees the same state from the start). */
void sl_blas_init(void);

/* True when sl_sgemm would run this shape as a single BLAS call (no OpenMP inside); callers
 * batching many such GEMMs parallelise over the batch instead. */
int sl_gemm_is_single_tile(int64_t m, int64_t n, int64_t k);

/* OpenBLAS worker threads (global to the process; 1 once a sl_?gemm ran).  set returns the previous value so callers can
 * restore it: `int prev = sl_blas_set_threads(1); ...omp region...; sl_blas_set_threads(prev);` */
int  sl_blas_get_threads(void);
int  sl_blas_set_threads(int n);
/* Name of the kernel set OpenBLAS selected for this CPU ("Zen", "SkylakeX", "Prescott" …). */
const char *sl_blas_corename(void);

/* torch.matmul: 1-D@1-D → 0-d dot; 2-D@2-D; 1-D operands are promoted to a row (left) or a
 * column (right) and the added dim is removed from the result; N-D operands are batches of
 * matrices whose leading dims broadcast.  Result dtype: float64 if either input is float64,
 * else float32 (integer inputs are converted).  Strided/transposed operands whose last two
 * dims have a unit stride are passed to BLAS without a copy. */
sl_status sl_linalg_matmul(sl_tensor **out, const sl_tensor *a, const sl_tensor *b);
/* torch.bmm, except that a batch size of 1 on either side broadcasts: a [B,n,k] @ b [B,k,m]. */
sl_status sl_linalg_bmm(sl_tensor **out, const sl_tensor *a, const sl_tensor *b);

#endif
