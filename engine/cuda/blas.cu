/* blas.cu — cuBLAS matmul and the im2col + GEMM convolution.
 *
 * Row-major products go to column-major cuBLAS as the transposed product: C = A·B (row-major)
 * is Cᵀ = Bᵀ·Aᵀ (column-major), i.e. sgemm(N, N, n, m, k, B, A) with no data movement.
 *
 * TF32: off by default (float32 results comparable with the CPU to ~1e-6 relative); sl.cuda_tf32(true)
 * switches matmul and conv to tensor-core TF32 (10-bit mantissa inputs, ~1e-3 relative), the
 * usual trade for rollouts.
 *
 * conv2d: per batch chunk, im2col writes col[b, c·k·k, H·W] (zero or circular padding), then one
 * strided-batched GEMM per chunk computes out[b] = W[Cout, Cin·k·k] · col[b].  The chunk size
 * keeps col under 256 MiB.  Bias is added by a small kernel afterwards. */
#include <cublas_v2.h>
#include <mutex>

#include "cu_common.cuh"

int g_allow_tf32 = 0;
static cublasHandle_t g_blas;
static std::mutex g_blas_mu;

static const char *blas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
  }
}

static sl_status blas_check(cublasStatus_t s, const char *op, const char *call) {
  if (s == CUBLAS_STATUS_SUCCESS) return SL_OK;
  return CU_ERR(s == CUBLAS_STATUS_ALLOC_FAILED ? SL_ERR_OOM : SL_ERR_DEVICE, "%s (cuda): %s failed: %s (%d)",
                op, call, blas_status_name(s), (int)s);
}

sl_status cu_blas_handle(struct cublasContext **h, const char *op) {
  std::lock_guard<std::mutex> lock(g_blas_mu);
  if (!g_blas) SL_TRY(blas_check(cublasCreate(&g_blas), op, "cublasCreate"));
  SL_TRY(blas_check(cublasSetMathMode(g_blas, g_allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                    op, "cublasSetMathMode"));
  *h = g_blas;
  return SL_OK;
}

void cu_set_tf32(int on) { g_allow_tf32 = on != 0; }

/* ---- matmul ---- */

sl_status cu_matmul(sl_tensor **out, const sl_tensor *a, const sl_tensor *b) {
  *out = NULL;
  if (!cu_is_f32_contig(a) || !cu_is_f32_contig(b))
    return CU_ERR(SL_ERR_NOT_IMPL, "matmul (cuda): needs contiguous float32 tensors");
  if (a->ndim < 2 || a->ndim > 3 || b->ndim < 2 || b->ndim > 3 || (a->ndim == 2 && b->ndim == 3))
    return CU_ERR(SL_ERR_SHAPE, "matmul (cuda): expected [m,k]x[k,n], [b,m,k]x[b,k,n] or [b,m,k]x[k,n], got %d-d x %d-d",
                  a->ndim, b->ndim);
  int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1];
  int64_t k2 = b->shape[b->ndim - 2], n = b->shape[b->ndim - 1];
  int64_t batch = a->ndim == 3 ? a->shape[0] : 1;
  if (k != k2) return CU_ERR(SL_ERR_SHAPE, "matmul (cuda): inner sizes differ (%lld vs %lld)", (long long)k, (long long)k2);
  if (b->ndim == 3 && b->shape[0] != batch)
    return CU_ERR(SL_ERR_SHAPE, "matmul (cuda): batch sizes differ (%lld vs %lld)", (long long)batch, (long long)b->shape[0]);
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || batch > INT32_MAX)
    return CU_ERR(SL_ERR_SHAPE, "matmul (cuda): a dimension exceeds cuBLAS's 32-bit limit");
  int64_t shape[3] = { batch, m, n };
  SL_TRY(cu_empty(out, SL_DTYPE_F32, a->ndim, a->ndim == 3 ? shape : shape + 1));
  if (m == 0 || n == 0 || batch == 0) return SL_OK;
  float *c = (float *)g_host->tensor_data(*out);
  if (k == 0) {   /* empty sum */
    sl_status st = cu_check(cudaMemsetAsync(c, 0, (size_t)(batch * m * n) * sizeof(float), 0), "matmul (cuda): zero fill");
    if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
    return st;
  }
  cublasHandle_t h;
  sl_status st = cu_blas_handle(&h, "matmul");
  const float one = 1.0f, zero = 0.0f;
  const float *pa = (const float *)g_host->tensor_data(a), *pb = (const float *)g_host->tensor_data(b);
  if (st == SL_OK) {
    if (batch == 1)
      st = blas_check(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)n, (int)m, (int)k, &one, pb, (int)n, pa, (int)k,
                                  &zero, c, (int)n), "matmul", "cublasSgemm");
    else
      st = blas_check(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)n, (int)m, (int)k, &one,
                                                pb, (int)n, b->ndim == 3 ? k * n : 0, pa, (int)k, m * k, &zero,
                                                c, (int)n, m * n, (int)batch),
                      "matmul", "cublasSgemmStridedBatched");
  }
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}

/* ---- conv2d ---- */

/* col[(b·C + c)·K·K + i·K + j][y·W + x] = x[b, c, y + i - r, x + j - r] (r = K/2), padded. */
__global__ void im2col_kernel(float *col, const float *x, int64_t nb, int64_t C, int64_t H, int64_t W, int K,
                              int circular) {
  int64_t L = H * W, total = nb * C * K * K * L;
  int r = K / 2;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t p = t % L, row = t / L;
    int j = (int)(row % K), i = (int)((row / K) % K);
    int64_t bc = row / ((int64_t)K * K);           /* b·C + c */
    int64_t y = p / W + i - r, xx = p % W + j - r;
    float v = 0.0f;
    if (circular) {
      y = ((y % H) + H) % H;
      xx = ((xx % W) + W) % W;
      v = x[(bc * H + y) * W + xx];
    } else if (y >= 0 && y < H && xx >= 0 && xx < W) {
      v = x[(bc * H + y) * W + xx];
    }
    col[t] = v;
  }
}

__global__ void add_bias_kernel(float *o, const float *bias, int64_t nb, int64_t Co, int64_t L) {
  int64_t total = nb * Co * L;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x)
    o[t] += bias[(t / L) % Co];
}

sl_status cu_conv2d(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias, int circular) {
  *out = NULL;
  if (!cu_is_f32_contig(x) || !cu_is_f32_contig(w) || (bias && !cu_is_f32_contig(bias)))
    return CU_ERR(SL_ERR_NOT_IMPL, "conv2d (cuda): needs contiguous float32 tensors");
  if (x->ndim != 4 || w->ndim != 4)
    return CU_ERR(SL_ERR_SHAPE, "conv2d (cuda): expected x [B,Cin,H,W] and weight [Cout,Cin,k,k], got %d-d and %d-d",
                  x->ndim, w->ndim);
  int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  int64_t Co = w->shape[0], K = w->shape[2];
  if (w->shape[1] != C || w->shape[3] != K || K % 2 == 0)
    return CU_ERR(SL_ERR_SHAPE, "conv2d (cuda): weight must be [Cout,%lld,k,k] with odd k, got [%lld,%lld,%lld,%lld]",
                  (long long)C, (long long)w->shape[0], (long long)w->shape[1], (long long)w->shape[2], (long long)w->shape[3]);
  if (bias && (bias->ndim != 1 || bias->shape[0] != Co))
    return CU_ERR(SL_ERR_SHAPE, "conv2d (cuda): bias must be [%lld]", (long long)Co);
  int64_t L = H * W, KK = C * K * K;
  if (L > INT32_MAX || KK > INT32_MAX || Co > INT32_MAX)
    return CU_ERR(SL_ERR_SHAPE, "conv2d (cuda): problem exceeds cuBLAS's 32-bit sizes");
  int64_t shape[4] = { B, Co, H, W };
  SL_TRY(cu_empty(out, SL_DTYPE_F32, 4, shape));
  if (B == 0 || Co == 0 || L == 0) return SL_OK;

  /* Batch chunk whose columns fit in 256 MiB (at least one image). */
  int64_t per_image = KK * L * (int64_t)sizeof(float);
  int64_t chunk = (256LL << 20) / (per_image > 0 ? per_image : 1);
  if (chunk < 1) chunk = 1;
  if (chunk > B) chunk = B;
  float *col = NULL;
  sl_status st = cu_alloc((void **)&col, (size_t)(chunk * per_image));
  cublasHandle_t h = NULL;
  if (st == SL_OK) st = cu_blas_handle(&h, "conv2d");
  const float one = 1.0f, zero = 0.0f;
  const float *px = (const float *)g_host->tensor_data(x), *pw = (const float *)g_host->tensor_data(w);
  float *po = (float *)g_host->tensor_data(*out);
  for (int64_t b0 = 0; st == SL_OK && b0 < B; b0 += chunk) {
    int64_t nb = B - b0 < chunk ? B - b0 : chunk;
    im2col_kernel<<<cu_blocks(nb * KK * L, 256), 256>>>(col, px + b0 * C * L, nb, C, H, W, (int)K, circular);
    st = cu_launched("conv2d (cuda): im2col kernel");
    /* Column-major view: out_bᵀ [L, Co] = col_bᵀ [L, KK] · Wᵀ [KK, Co]. */
    if (st == SL_OK)
      st = blas_check(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)L, (int)Co, (int)KK, &one,
                                                col, (int)L, KK * L, pw, (int)KK, 0, &zero,
                                                po + b0 * Co * L, (int)L, Co * L, (int)nb),
                      "conv2d", "cublasSgemmStridedBatched");
  }
  if (st == SL_OK && bias) {
    add_bias_kernel<<<cu_blocks(B * Co * L, 256), 256>>>(po, (const float *)g_host->tensor_data(bias), B, Co, L);
    st = cu_launched("conv2d (cuda): bias kernel");
  }
  if (col) cu_free(col, (size_t)(chunk * per_image));   /* stream-ordered reuse: see cu_common.cuh */
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}
