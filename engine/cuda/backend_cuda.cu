/* backend_cuda.cu — the CUDA backend plugin (build/libspinlock_cuda.so): entry point, caching
 * allocator, copies and the op table.
 *
 * Loaded by engine/core/backend.c with dlopen; its only export is sl_backend_plugin_init,
 * which probes the driver and fills the sl_backend table (memory, copies, op slots).  The
 * plugin links the CUDA runtime statically (-lcudart_static) and is linked with -Wl,-z,defs,
 * so it cannot reach into the binary: messages, memory accounting and tensor creation go
 * through the sl_host_api the host passes in.
 *
 * Probing rule (notes/toolchain.md §6): *any* error from cudaGetDeviceCount means "no GPU" —
 * 35 (cudaErrorInsufficientDriver) on machines without a driver, 100 (cudaErrorNoDevice) with
 * a driver but no visible GPU.  The reason goes back to the host verbatim.
 *
 * Caching allocator: cudaMalloc/cudaFree synchronise the device and cost tens of microseconds,
 * far more than the small kernels of a rollout step, so freed blocks are parked in per-size free
 * lists and reused.  Sizes are rounded (512 B granules below 1 MiB, 1 MiB granules up to 64 MiB,
 * 16 MiB above) so that nearby sizes share lists.  All work runs on the legacy default stream
 * (cu_common.cuh), which orders a block's reuse after its previous kernels without events.  On
 * an allocation failure the cache is returned to the driver and the allocation retried once.
 * The host's per-device counter (sl.memory_info().cuda_bytes) counts bytes held by tensors;
 * the cached bytes are reported separately (sl.cuda_memory()).
 *
 * Adding a kernel: write it in engine/cuda/<op>.cu with a launcher whose signature is declared
 * in engine/core/sl_device.h, declare it in cu_common.cuh and add a row to k_ops. */
#include <map>
#include <mutex>
#include <vector>
#include <stdio.h>
#include <string.h>

#include "cu_common.cuh"

const sl_host_api *g_host;

sl_status cu_check(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return SL_OK;
  return CU_ERR(e == cudaErrorMemoryAllocation ? SL_ERR_OOM : SL_ERR_DEVICE,
                "%s failed: CUDA error %d (%s): %s", what, (int)e, cudaGetErrorName(e),
                cudaGetErrorString(e));
}

/* ---- devices ---- */

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

/* ---- caching allocator ---- */

static std::mutex g_cache_mu;
static std::map<size_t, std::vector<void *>> g_cache;   /* rounded size -> free blocks */
static int64_t g_cached_bytes, g_in_use_bytes;

static size_t round_size(size_t n) {
  const size_t KiB = 1024, MiB = 1024 * KiB;
  size_t g = n < MiB ? 512 : (n < 64 * MiB ? MiB : 16 * MiB);
  return (n + g - 1) / g * g;
}

static void cache_release_all_locked(void) {
  for (auto &kv : g_cache)
    for (void *p : kv.second) cudaFree(p);
  g_cache.clear();
  g_cached_bytes = 0;
}

sl_status cu_alloc(void **out, size_t nbytes) {
  *out = NULL;
  size_t sz = round_size(nbytes ? nbytes : 1);
  std::lock_guard<std::mutex> lock(g_cache_mu);
  auto it = g_cache.find(sz);
  if (it != g_cache.end() && !it->second.empty()) {
    *out = it->second.back();
    it->second.pop_back();
    g_cached_bytes -= (int64_t)sz;
  } else {
    cudaError_t e = cudaMalloc(out, sz);
    if (e != cudaSuccess) {
      cudaGetLastError();                 /* allocation errors are not sticky: clear and retry */
      cache_release_all_locked();
      e = cudaMalloc(out, sz);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      *out = NULL;
      size_t fr = 0, tot = 0;
      cudaMemGetInfo(&fr, &tot);
      return CU_ERR(SL_ERR_OOM, "cudaMalloc of %zu bytes failed: CUDA error %d (%s): %s "
                    "(device: %.1f of %.1f MiB free; free tensors with t:free() or collectgarbage())",
                    sz, (int)e, cudaGetErrorName(e), cudaGetErrorString(e), fr / 1048576.0, tot / 1048576.0);
    }
  }
  g_in_use_bytes += (int64_t)sz;
  g_host->account(SL_DEV_CUDA, (int64_t)nbytes);
  return SL_OK;
}

void cu_free(void *p, size_t nbytes) {
  if (!p) return;
  size_t sz = round_size(nbytes ? nbytes : 1);
  {
    std::lock_guard<std::mutex> lock(g_cache_mu);
    g_cache[sz].push_back(p);
    g_cached_bytes += (int64_t)sz;
    g_in_use_bytes -= (int64_t)sz;
  }
  g_host->account(SL_DEV_CUDA, -(int64_t)nbytes);
}

static void cu_memory_stats(int64_t *in_use, int64_t *cached) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  if (in_use) *in_use = g_in_use_bytes;
  if (cached) *cached = g_cached_bytes;
}

static void cu_empty_cache(void) {
  cudaDeviceSynchronize();
  std::lock_guard<std::mutex> lock(g_cache_mu);
  cache_release_all_locked();
  cu_fft_plans_clear();
}

/* ---- copies ---- */

static sl_status cu_h2d(void *dst, const void *src, size_t n) {
  return cu_check(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice), "copy host->cuda (cudaMemcpy)");
}
static sl_status cu_d2h(void *dst, const void *src, size_t n) {
  return cu_check(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost), "copy cuda->host (cudaMemcpy)");
}
static sl_status cu_d2d(void *dst, const void *src, size_t n) {
  return cu_check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, 0), "copy cuda->cuda (cudaMemcpyAsync)");
}
static sl_status cu_memset0(void *dst, size_t n) {
  return cu_check(cudaMemsetAsync(dst, 0, n, 0), "zero fill (cudaMemsetAsync)");
}
static sl_status cu_sync(void) {
  return cu_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

/* ---- op table ---- */

static int all_f32_contig(int nargs, const sl_tensor *const *args) {
  for (int i = 0; i < nargs; i++)
    if (args[i] && !cu_is_f32_contig(args[i])) return 0;
  return 1;
}
static int all_f32(int nargs, const sl_tensor *const *args) {
  for (int i = 0; i < nargs; i++)
    if (args[i] && args[i]->dtype != SL_DTYPE_F32) return 0;
  return 1;
}

static const sl_backend_op k_ops[] = {
  { "fill", (sl_backend_fn)cu_fill, cu_fill_supports },
  { "copy", (sl_backend_fn)cu_copy, cu_copy_supports },
  { "binary", (sl_backend_fn)cu_binary, all_f32 },
  { "unary", (sl_backend_fn)cu_unary, all_f32 },
  { "reduce_last", (sl_backend_fn)cu_reduce_last, all_f32_contig },
  { "matmul", (sl_backend_fn)cu_matmul, all_f32_contig },
  { "set_tf32", (sl_backend_fn)cu_set_tf32, NULL },
  { "rng_fill", (sl_backend_fn)cu_rng_fill, NULL },
  { "rng_u32", (sl_backend_fn)cu_rng_u32, NULL },
  { "rfft2", (sl_backend_fn)cu_rfft2, all_f32_contig },
  { "irfft2", (sl_backend_fn)cu_irfft2, all_f32_contig },
  { "instance_norm_act", (sl_backend_fn)cu_instance_norm_act, all_f32_contig },
  { "conv2d", (sl_backend_fn)cu_conv2d, all_f32_contig },
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
  be->memset_zero = cu_memset0;
  be->memory_stats = cu_memory_stats;
  be->empty_cache = cu_empty_cache;
  be->ops = k_ops;
  return SL_OK;
}
