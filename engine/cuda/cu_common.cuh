/* cu_common.cuh — what every translation unit of the CUDA plugin shares: the host API handle,
 * error helpers, strided-operand descriptors and the launch geometry.
 *
 * Streams: every kernel, cuBLAS and cuFFT call uses the legacy default stream (0).  That stream
 * is ordered with all blocking work, so the caching allocator can hand a freed block to the next
 * tensor without events, and cudaMemcpy (synchronous) needs no extra sync.  One stream per
 * worker thread is the next step (docs/cuda.md); it needs per-stream free lists first. */
#ifndef CU_COMMON_CUH
#define CU_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>

extern "C" {
#include "sl_backend.h"
#include "sl_device.h"
#include "sl_elementwise.h"
#include "sl_reduce.h"
#include "sl_rng.h"
}

extern const sl_host_api *g_host;

#define CU_ERR(st, ...) g_host->error_set((st), __FILE__, __LINE__, __VA_ARGS__)

/* A CUDA runtime error as an sl_status whose message names the op and carries CUDA's own text. */
sl_status cu_check(cudaError_t e, const char *what);
/* The launch just issued (cudaGetLastError), checked and named. */
static inline sl_status cu_launched(const char *what) { return cu_check(cudaGetLastError(), what); }

/* Grid size for n elements in blocks of `threads`, capped (kernels use grid-stride loops). */
static inline unsigned cu_blocks(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535LL * 16) b = 65535LL * 16;
  return (unsigned)b;
}

/* Up to three strided operands over one shape (output first), passed to kernels by value. */
struct cu_strided {
  int     ndim;
  int64_t shape[SL_MAX_DIMS];
  int64_t stride[3][SL_MAX_DIMS];
  int64_t offset[3];
};

/* Element offsets of row-major linear index i for each operand. */
__device__ static inline void cu_offsets(const cu_strided &d, int64_t i, int nops, int64_t *off) {
  for (int k = 0; k < nops; k++) off[k] = d.offset[k];
  for (int dd = d.ndim - 1; dd >= 0; dd--) {
    int64_t n = d.shape[dd];
    int64_t q = i / n, r = i - q * n;
    for (int k = 0; k < nops; k++) off[k] += r * d.stride[k][dd];
    i = q;
  }
}

/* Output tensor on the device (message set by the host on failure). */
static inline sl_status cu_empty(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape) {
  return g_host->tensor_empty_on(out, dt, ndim, shape, SL_DEV_CUDA);
}

/* Bytes per element (sl_dtype_size lives in the binary, out of the plugin's reach). */
static inline size_t cu_dtype_size(sl_dtype dt) {
  switch (dt) {
    case SL_DTYPE_F32: case SL_DTYPE_I32: return 4;
    case SL_DTYPE_F64: case SL_DTYPE_I64: return 8;
    case SL_DTYPE_U8: return 1;
    default: return 0;
  }
}

static inline int cu_is_f32_contig(const sl_tensor *t) {
  return t && t->dtype == SL_DTYPE_F32 && g_host->tensor_is_contiguous(t);
}

/* The caching allocator (backend_cuda.cu), also for kernel scratch buffers. */
sl_status cu_alloc(void **out, size_t nbytes);
void      cu_free(void *p, size_t nbytes);

/* cuBLAS handle (created on first use, bound to the default stream) and the TF32 switch. */
struct cublasContext;
sl_status cu_blas_handle(struct cublasContext **h, const char *op);
extern int g_allow_tf32;

/* Op launchers registered in backend_cuda.cu's table (signatures: sl_device.h). */
sl_status cu_fill(sl_tensor *t, double value);
int       cu_fill_supports(int nargs, const sl_tensor *const *args);
sl_status cu_copy(sl_tensor *dst, const sl_tensor *src);
int       cu_copy_supports(int nargs, const sl_tensor *const *args);
sl_status cu_binary(sl_tensor **out, int op, const sl_tensor *a, double sa, const sl_tensor *b, double sb);
sl_status cu_unary(sl_tensor **out, int op, const sl_tensor *x);
sl_status cu_reduce_last(sl_tensor **out, const sl_tensor *x, int op, int64_t inner, double param,
                         int out_ndim, const int64_t *out_shape);
sl_status cu_matmul(sl_tensor **out, const sl_tensor *a, const sl_tensor *b);
void      cu_set_tf32(int on);
sl_status cu_rng_fill(sl_tensor *t, int kind, const uint32_t key[2], const uint32_t hi[2], uint64_t offset,
                      double p1, double p2);
sl_status cu_rng_u32(sl_tensor *t, const uint32_t key[2], const uint32_t hi[2], uint64_t offset);
sl_status cu_rfft2(sl_tensor **out, const sl_tensor *x);
sl_status cu_irfft2(sl_tensor **out, const sl_tensor *x, int64_t w);
sl_status cu_instance_norm_act(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *b,
                               double eps, int act);
sl_status cu_conv2d(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias, int circular);
void      cu_fft_plans_clear(void);

/* float32 unary math with the CPU's expressions (elementwise.c); op an sl_unop, -1 = identity.
 * Shared by the unary kernel and the fused norm+activation kernel.  Predicates return 0/1. */
static __device__ __forceinline__ float cu_unary_apply(int op, float x) {
  switch (op) {
    case SL_UN_ABS: return fabsf(x);
    case SL_UN_NEG: return -x;
    case SL_UN_EXP: return expf(x);
    case SL_UN_LOG: return logf(x);
    case SL_UN_LOG1P: return log1pf(x);
    case SL_UN_EXPM1: return expm1f(x);
    case SL_UN_SQRT: return sqrtf(x);
    case SL_UN_RSQRT: return 1.0f / sqrtf(x);
    case SL_UN_SQUARE: return x * x;
    case SL_UN_SIN: return sinf(x);
    case SL_UN_COS: return cosf(x);
    case SL_UN_TAN: return tanf(x);
    case SL_UN_TANH: return tanhf(x);
    case SL_UN_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case SL_UN_ERF: return erff(x);
    case SL_UN_RELU: return x < 0 ? 0.0f : x;
    case SL_UN_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case SL_UN_SILU: return x / (1.0f + expf(-x));
    case SL_UN_SOFTPLUS: return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x)));
    case SL_UN_SIGN: return x > 0 ? 1.0f : (x < 0 ? -1.0f : x);
    case SL_UN_FLOOR: return floorf(x);
    case SL_UN_CEIL: return ceilf(x);
    case SL_UN_ROUND: return rintf(x);
    case SL_UN_TRUNC: return truncf(x);
    case SL_UN_RECIPROCAL: return 1.0f / x;
    case SL_UN_ISNAN: return isnan(x) ? 1.0f : 0.0f;
    case SL_UN_ISINF: return isinf(x) ? 1.0f : 0.0f;
    case SL_UN_ISFINITE: return isfinite(x) ? 1.0f : 0.0f;
    case SL_UN_NOT: return x == 0 ? 1.0f : 0.0f;
    default: return x;
  }
}

#endif
