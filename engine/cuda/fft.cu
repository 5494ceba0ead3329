/* fft.cu — batched 2-D real FFTs with cuFFT and a plan cache.
 *
 * rfft2: float32 [..., H, W] → interleaved complex [..., H, W/2+1, 2], unnormalised (numpy's
 * "backward" forward transform).  irfft2: the inverse, divided by H·W.  cuFFT's multi-dimensional
 * c2r overwrites its input, so irfft2 works on a scratch copy.  Plans are created once per
 * (direction, H, W, batch) and kept until sl.cuda_empty_cache(): creating one costs about a
 * millisecond and allocates its own work area, while a rollout repeats the same few shapes. */
#include <cufft.h>
#include <map>
#include <mutex>
#include <tuple>

#include "cu_common.cuh"

typedef std::tuple<int, long long, long long, long long> plan_key;
static std::map<plan_key, cufftHandle> g_plans;
static std::mutex g_plans_mu;

static sl_status fft_check(cufftResult r, const char *op, const char *call) {
  if (r == CUFFT_SUCCESS) return SL_OK;
  return CU_ERR(r == CUFFT_ALLOC_FAILED ? SL_ERR_OOM : SL_ERR_DEVICE, "%s (cuda): %s failed: cuFFT error %d", op, call, (int)r);
}

static sl_status get_plan(cufftHandle *out, int dir, int64_t H, int64_t W, int64_t batch, const char *op) {
  std::lock_guard<std::mutex> lock(g_plans_mu);
  plan_key k(dir, (long long)H, (long long)W, (long long)batch);
  auto it = g_plans.find(k);
  if (it != g_plans.end()) { *out = it->second; return SL_OK; }
  int n[2] = { (int)H, (int)W };
  cufftHandle p;
  SL_TRY(fft_check(cufftPlanMany(&p, 2, n, NULL, 1, 0, NULL, 1, 0, dir ? CUFFT_C2R : CUFFT_R2C, (int)batch), op,
                   "cufftPlanMany"));
  g_plans[k] = p;
  *out = p;
  return SL_OK;
}

void cu_fft_plans_clear(void) {
  std::lock_guard<std::mutex> lock(g_plans_mu);
  for (auto &kv : g_plans) cufftDestroy(kv.second);
  g_plans.clear();
}

__global__ void scale_kernel(float *p, int64_t n, float s) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    p[i] *= s;
}

sl_status cu_rfft2(sl_tensor **out, const sl_tensor *x) {
  *out = NULL;
  if (!cu_is_f32_contig(x) || x->ndim < 2)
    return CU_ERR(SL_ERR_NOT_IMPL, "rfft2 (cuda): needs a contiguous float32 tensor [..., H, W]");
  int64_t H = x->shape[x->ndim - 2], W = x->shape[x->ndim - 1];
  int64_t batch = (H > 0 && W > 0) ? g_host->tensor_numel(x) / (H * W) : 0;
  if (H > INT32_MAX || W > INT32_MAX || batch > INT32_MAX) return CU_ERR(SL_ERR_SHAPE, "rfft2 (cuda): sizes exceed cuFFT's limits");
  int64_t shape[SL_MAX_DIMS + 1];
  for (int i = 0; i < x->ndim; i++) shape[i] = x->shape[i];
  shape[x->ndim - 1] = W / 2 + 1;
  shape[x->ndim] = 2;
  if (x->ndim + 1 > SL_MAX_DIMS) return CU_ERR(SL_ERR_SHAPE, "rfft2 (cuda): too many dims");
  SL_TRY(cu_empty(out, SL_DTYPE_F32, x->ndim + 1, shape));
  if (batch == 0 || H == 0 || W == 0) return SL_OK;
  cufftHandle p;
  sl_status st = get_plan(&p, 0, H, W, batch, "rfft2");
  if (st == SL_OK)
    st = fft_check(cufftExecR2C(p, (cufftReal *)g_host->tensor_data(x), (cufftComplex *)g_host->tensor_data(*out)),
                   "rfft2", "cufftExecR2C");
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}

sl_status cu_irfft2(sl_tensor **out, const sl_tensor *X, int64_t w) {
  *out = NULL;
  if (!cu_is_f32_contig(X) || X->ndim < 3 || X->shape[X->ndim - 1] != 2)
    return CU_ERR(SL_ERR_NOT_IMPL, "irfft2 (cuda): needs a contiguous float32 complex tensor [..., H, W/2+1, 2]");
  int64_t H = X->shape[X->ndim - 3], nc = X->shape[X->ndim - 2];
  if (w <= 0) w = 2 * (nc - 1);
  if (w / 2 + 1 != nc)
    return CU_ERR(SL_ERR_SHAPE, "irfft2 (cuda): output width %lld needs %lld frequency bins, got %lld", (long long)w,
                  (long long)(w / 2 + 1), (long long)nc);
  int64_t batch = (H > 0 && nc > 0) ? g_host->tensor_numel(X) / (H * nc * 2) : 0;
  int64_t shape[SL_MAX_DIMS];
  for (int i = 0; i < X->ndim - 1; i++) shape[i] = X->shape[i];
  shape[X->ndim - 2] = w;
  SL_TRY(cu_empty(out, SL_DTYPE_F32, X->ndim - 1, shape));
  if (batch == 0 || H == 0 || w == 0) return SL_OK;
  size_t nbytes = (size_t)g_host->tensor_numel(X) * sizeof(float);
  void *scratch = NULL;
  sl_status st = cu_alloc(&scratch, nbytes);
  if (st == SL_OK) st = cu_check(cudaMemcpyAsync(scratch, g_host->tensor_data(X), nbytes, cudaMemcpyDeviceToDevice, 0),
                                 "irfft2 (cuda): scratch copy");
  cufftHandle p;
  if (st == SL_OK) st = get_plan(&p, 1, H, w, batch, "irfft2");
  float *o = (float *)g_host->tensor_data(*out);
  if (st == SL_OK) st = fft_check(cufftExecC2R(p, (cufftComplex *)scratch, (cufftReal *)o), "irfft2", "cufftExecC2R");
  if (st == SL_OK) {
    int64_t n = g_host->tensor_numel(*out);
    scale_kernel<<<cu_blocks(n, 256), 256>>>(o, n, (float)(1.0 / ((double)H * (double)w)));
    st = cu_launched("irfft2 (cuda): scale kernel");
  }
  if (scratch) cu_free(scratch, nbytes);
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}
