/* reduce.cu — float32 reductions over the trailing `inner` elements of each row of a contiguous
 * tensor (sum, mean, var, std, min, max), the shape every reduction reduces to once the caller
 * has permuted the reduced dims to the end (engine/lua/l_device.c does that on the device).
 *
 * One block per row (grid-stride over rows), 256 threads striding over the row, then a
 * shared-memory tree.  Sums accumulate in double like the CPU (sl_reduce.h), and var/std take
 * two passes (mean, then squared deviations) so that large offsets do not cancel.  The order of
 * additions differs from the CPU's fixed blocks, so results agree to double rounding, i.e.
 * exactly after the final cast to float in nearly all cases.  min/max treat NaN as the extreme
 * value (result NaN), like the CPU. */
#include "cu_common.cuh"

#define RED_THREADS 256

__device__ static double block_sum(double v, double *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = RED_THREADS / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();          /* sh is reused by the next call */
  return r;
}

/* NaN-propagating min (is_max = 0) or max. */
__device__ static inline float pick(float a, float b, int is_max) {
  if (a != a) return a;
  if (b != b) return b;
  return is_max ? (a > b ? a : b) : (a < b ? a : b);
}

__global__ void reduce_rows_kernel(float *out, const float *x, int64_t rows, int64_t inner, int op, double param) {
  __shared__ double sh[RED_THREADS];
  __shared__ float shf[RED_THREADS];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *p = x + r * inner;
    if (op == SL_REDUCE_MIN || op == SL_REDUCE_MAX) {
      int is_max = op == SL_REDUCE_MAX;
      float acc = is_max ? -INFINITY : INFINITY;
      for (int64_t i = threadIdx.x; i < inner; i += RED_THREADS) acc = pick(acc, p[i], is_max);
      shf[threadIdx.x] = acc;
      __syncthreads();
      for (int s = RED_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) shf[threadIdx.x] = pick(shf[threadIdx.x], shf[threadIdx.x + s], is_max);
        __syncthreads();
      }
      if (threadIdx.x == 0) out[r] = shf[0];
      __syncthreads();
      continue;
    }
    double s = 0;
    for (int64_t i = threadIdx.x; i < inner; i += RED_THREADS) s += (double)p[i];
    s = block_sum(s, sh);
    if (op == SL_REDUCE_SUM) { if (threadIdx.x == 0) out[r] = (float)s; continue; }
    double mean = s / (double)inner;
    if (op == SL_REDUCE_MEAN) { if (threadIdx.x == 0) out[r] = (float)mean; continue; }
    double q = 0;
    for (int64_t i = threadIdx.x; i < inner; i += RED_THREADS) { double d = (double)p[i] - mean; q += d * d; }
    q = block_sum(q, sh);
    double den = (double)inner - (param != 0 ? 1.0 : 0.0);
    double var = den > 0 ? q / den : NAN;
    if (threadIdx.x == 0) out[r] = (float)(op == SL_REDUCE_STD ? sqrt(var) : var);
  }
}

sl_status cu_reduce_last(sl_tensor **out, const sl_tensor *x, int op, int64_t inner, double param,
                         int out_ndim, const int64_t *out_shape) {
  *out = NULL;
  static const char *const names[] = { "sum", "mean", "var", "std", "min", "max" };
  if (op < SL_REDUCE_SUM || op > SL_REDUCE_MAX)
    return CU_ERR(SL_ERR_NOT_IMPL, "reduce (cuda): only sum, mean, var, std, min and max are implemented (op %d)", op);
  const char *name = names[op];
  if (!cu_is_f32_contig(x)) return CU_ERR(SL_ERR_NOT_IMPL, "%s (cuda): needs a contiguous float32 tensor", name);
  int64_t n = g_host->tensor_numel(x);
  if (inner <= 0 || n % inner != 0)
    return CU_ERR(SL_ERR_ARG, "%s (cuda): %lld elements do not split into rows of %lld", name, (long long)n, (long long)inner);
  if ((op == SL_REDUCE_MIN || op == SL_REDUCE_MAX) && inner == 0)
    return CU_ERR(SL_ERR_ARG, "%s (cuda): empty reduction", name);
  int64_t rows = n / inner;
  SL_TRY(cu_empty(out, SL_DTYPE_F32, out_ndim, out_shape));
  if (g_host->tensor_numel(*out) != rows) {
    g_host->tensor_release(*out); *out = NULL;
    return CU_ERR(SL_ERR_SHAPE, "%s (cuda): output shape holds the wrong number of rows", name);
  }
  if (rows == 0) return SL_OK;
  unsigned blocks = (unsigned)(rows < 65535LL * 16 ? rows : 65535LL * 16);
  reduce_rows_kernel<<<blocks, RED_THREADS>>>((float *)g_host->tensor_data(*out), (const float *)g_host->tensor_data(x),
                                              rows, inner, op, param);
  sl_status st = cu_launched(name);
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}
