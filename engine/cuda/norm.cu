/* norm.cu — instance norm fused with the activation (the rollout's per-layer tail).
 *
 * x [N, C, *] contiguous float32: one block per (n, c) row; mean and biased variance by two
 * passes with double accumulators (as the CPU, engine/core/norm.c, up to summation order), then
 * one pass writing act((x - mean) * rstd * w[c] + b[c]).  The activation codes are sl_act
 * (sl_norm.h) mapped onto the shared float32 unary math (cu_unary_apply). */
#include "cu_common.cuh"

extern "C" {
#include "sl_norm.h"
}

#define NORM_THREADS 256

__device__ static double norm_block_sum(double v, double *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = NORM_THREADS / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();
  return r;
}

__global__ void instance_norm_act_kernel(float *o, const float *x, const float *w, const float *b, int64_t rows,
                                         int64_t C, int64_t inner, double eps, int unop) {
  __shared__ double sh[NORM_THREADS];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *p = x + r * inner;
    float *q = o + r * inner;
    double s = 0;
    for (int64_t i = threadIdx.x; i < inner; i += NORM_THREADS) s += (double)p[i];
    double mean = norm_block_sum(s, sh) / (double)inner;
    double v = 0;
    for (int64_t i = threadIdx.x; i < inner; i += NORM_THREADS) { double d = (double)p[i] - mean; v += d * d; }
    double var = norm_block_sum(v, sh) / (double)inner;
    int64_t c = r % C;
    float scale = (float)(1.0 / sqrt(var + eps)) * (w ? w[c] : 1.0f);
    float shift = b ? b[c] : 0.0f;
    float m = (float)mean;
    for (int64_t i = threadIdx.x; i < inner; i += NORM_THREADS)
      q[i] = cu_unary_apply(unop, (p[i] - m) * scale + shift);
  }
}

sl_status cu_instance_norm_act(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *b,
                               double eps, int act) {
  *out = NULL;
  static const int act_to_unop[SL_ACT_COUNT] = { -1, SL_UN_RELU, SL_UN_GELU, SL_UN_SILU, SL_UN_TANH };
  if (act < 0 || act >= SL_ACT_COUNT) return CU_ERR(SL_ERR_ARG, "instance_norm (cuda): unknown activation %d", act);
  if (!cu_is_f32_contig(x) || (w && !cu_is_f32_contig(w)) || (b && !cu_is_f32_contig(b)))
    return CU_ERR(SL_ERR_NOT_IMPL, "instance_norm (cuda): needs contiguous float32 tensors");
  if (x->ndim < 3) return CU_ERR(SL_ERR_SHAPE, "instance_norm (cuda): expected x [N,C,*] with spatial dims, got %d-d", x->ndim);
  int64_t C = x->shape[1];
  if ((w && g_host->tensor_numel(w) != C) || (b && g_host->tensor_numel(b) != C))
    return CU_ERR(SL_ERR_SHAPE, "instance_norm (cuda): weight and bias must have %lld elements", (long long)C);
  if (!(eps >= 0)) return CU_ERR(SL_ERR_ARG, "instance_norm (cuda): eps must be >= 0, got %g", eps);
  int64_t rows = x->shape[0] * C, n = g_host->tensor_numel(x);
  SL_TRY(cu_empty(out, SL_DTYPE_F32, x->ndim, x->shape));
  if (n == 0) return SL_OK;
  int64_t inner = n / rows;
  unsigned blocks = (unsigned)(rows < 65535LL * 16 ? rows : 65535LL * 16);
  instance_norm_act_kernel<<<blocks, NORM_THREADS>>>((float *)g_host->tensor_data(*out), (const float *)g_host->tensor_data(x),
                                                     w ? (const float *)g_host->tensor_data(w) : NULL,
                                                     b ? (const float *)g_host->tensor_data(b) : NULL, rows, C, inner,
                                                     eps, act_to_unop[act]);
  sl_status st = cu_launched("instance_norm (cuda)");
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}
