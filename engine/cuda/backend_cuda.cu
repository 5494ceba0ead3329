/* backend_cuda.cu — the CUDA backend plugin (build/libspinlock_cuda.so).
 *
 * Loaded by engine/core/backend.c with dlopen; its only export is sl_backend_plugin_init,
 * which probes the driver and fills the sl_backend table (memory, copies, op slots).  The
 * plugin links the CUDA runtime statically (-lcudart_static) and is linked with -Wl,-z,defs,
 * so it cannot reach into the binary: messages and memory accounting go through the
 * sl_host_api the host passes in.
 *
 * Probing rule (notes/toolchain.md §6): *any* error from cudaGetDeviceCount means "no GPU" —
 * 35 (cudaErrorInsufficientDriver) on machines without a driver, 100 (cudaErrorNoDevice) with
 * a driver but no visible GPU.  The reason goes back to the host verbatim.
 *
 * Adding a kernel: write it in engine/cuda/<op>.cu with a host launcher of the same signature
 * as the op's sl_cpu_<op>, declare the launcher here and add a row to k_ops.  Nothing outside
 * engine/cuda/ changes except the op's dispatcher (sl_backend_resolve). */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "sl_backend.h"
}

static const sl_host_api *g_host;

#define CU_ERR(st, ...) g_host->error_set((st), __FILE__, __LINE__, __VA_ARGS__)

/* Turns a CUDA runtime error into a recorded sl_status naming the call that failed. */
static sl_status cu_check(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return SL_OK;
  return CU_ERR(e == cudaErrorMemoryAllocation ? SL_ERR_OOM : SL_ERR_DEVICE,
                "%s failed: CUDA error %d (%s): %s", what, (int)e, cudaGetErrorName(e),
                cudaGetErrorString(e));
}

/* ---- memory and copies ---- */

static int cu_device_count(void) {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

static void cu_device_name(int i, char *buf, size_t cap) {
  cudaDeviceProp p;
  if (cap == 0) return;
  if (cudaGetDeviceProperties(&p, i) == cudaSuccess) snprintf(buf, cap, "%s", p.name);
  else snprintf(buf, cap, "CUDA device %d", i);
}

static sl_status cu_alloc(void **out, size_t nbytes) {
  *out = NULL;
  if (nbytes == 0) nbytes = 1;  /* a valid, unique pointer even for empty tensors */
  cudaError_t e = cudaMalloc(out, nbytes);
  if (e != cudaSuccess) {
    cudaGetLastError();  /* clear the sticky-free error state of the runtime */
    return CU_ERR(SL_ERR_OOM, "cudaMalloc of %zu bytes failed: %s", nbytes, cudaGetErrorString(e));
  }
  g_host->account(SL_DEV_CUDA, (int64_t)nbytes);
  return SL_OK;
}

static void cu_free(void *p, size_t nbytes) {
  if (!p) return;
  cudaFree(p);
  g_host->account(SL_DEV_CUDA, -(int64_t)(nbytes ? nbytes : 1));
}

static sl_status cu_h2d(void *dst, const void *src, size_t n) {
  return cu_check(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice), "cudaMemcpy host->device");
}
static sl_status cu_d2h(void *dst, const void *src, size_t n) {
  return cu_check(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost), "cudaMemcpy device->host");
}
static sl_status cu_d2d(void *dst, const void *src, size_t n) {
  return cu_check(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToDevice), "cudaMemcpy device->device");
}
static sl_status cu_sync(void) {
  return cu_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

/* ---- ops ---- */

/* fill: the reference slot, also a smoke test that kernels launch.  Same signature as the
 * core's sl_tensor_fill(t, value); only contiguous float32 tensors (see fill_supports). */
__global__ void fill_f32_kernel(float *p, long long n, float v) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v;
}

static sl_status cu_fill(sl_tensor *t, double value) {
  long long n = (long long)g_host->tensor_numel(t);
  if (n == 0) return SL_OK;
  int threads = 256;
  long long blocks = (n + threads - 1) / threads;
  fill_f32_kernel<<<(unsigned)blocks, threads>>>((float *)g_host->tensor_data(t), n, (float)value);
  return cu_check(cudaGetLastError(), "fill kernel launch");
}

static int fill_supports(int nargs, const sl_tensor *const *args) {
  return nargs >= 1 && args[0]->dtype == SL_DTYPE_F32 && g_host->tensor_is_contiguous(args[0]);
}

static const sl_backend_op k_ops[] = {
  { "fill", (sl_backend_fn)cu_fill, fill_supports },
  { NULL, NULL, NULL },
};

/* ---- entry point ---- */

extern "C" __attribute__((visibility("default")))
sl_status sl_backend_plugin_init(const sl_host_api *host, sl_backend *be) {
  if (!host || host->abi != SL_BACKEND_ABI) return SL_ERR_INTERNAL;  /* cannot even report */
  g_host = host;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess)
    return CU_ERR(SL_ERR_DEVICE, "cudaGetDeviceCount failed: CUDA error %d (%s): %s", (int)e,
                  cudaGetErrorName(e), cudaGetErrorString(e));
  if (n <= 0) return CU_ERR(SL_ERR_DEVICE, "cudaGetDeviceCount reports no CUDA device");

  memset(be, 0, sizeof *be);
  be->abi = SL_BACKEND_ABI;
  be->name = "cuda";
  be->device = SL_DEV_CUDA;
  be->device_count = cu_device_count;
  be->device_name = cu_device_name;
  be->alloc = cu_alloc;
  be->free = cu_free;
  be->memcpy_h2d = cu_h2d;
  be->memcpy_d2h = cu_d2h;
  be->memcpy_d2d = cu_d2d;
  be->synchronize = cu_sync;
  be->ops = k_ops;
  return SL_OK;
}
