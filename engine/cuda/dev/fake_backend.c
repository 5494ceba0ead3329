/* fake_backend.c — a stand-in "cuda" backend in host memory, for testing the device plumbing
 * on machines without a GPU (make fakecuda; spec/cuda_spec.lua via `make test-fakecuda`).
 *
 * It implements the same backend table and op slots as the real plugin (engine/cuda/), but its
 * "device memory" is malloc'ed host memory and each op slot runs the CPU kernel on a CPU view of
 * that memory.  So it exercises everything around the CUDA kernels — tensor.c's device hooks,
 * device.c's copies and staging, l_device.c's dispatch, argument handling, permutes, offsets
 * and RNG bookkeeping — with the CPU's own numbers, while proving nothing about the kernels
 * themselves.  Unlike the real plugin it is linked against the binary's exported symbols (the
 * binary is linked with -Wl,-E), which is fine for a test tool.  Never installed or shipped. */
#include <stdlib.h>
#include <string.h>

#include "sl_backend.h"
#include "sl_device.h"
#include "sl_conv.h"
#include "sl_elementwise.h"
#include "sl_fft.h"
#include "sl_linalg.h"
#include "sl_norm.h"
#include "sl_reduce.h"
#include "sl_rng.h"

static const sl_host_api *H;
static int64_t g_in_use;

static int fk_count(void) { return 1; }
static void fk_name(int i, char *buf, size_t cap) { (void)i; snprintf(buf, cap, "fake CUDA (host memory, test only)"); }
static sl_status fk_alloc(void **out, size_t n) {
  *out = malloc(n ? n : 1);
  if (!*out) return H->error_set(SL_ERR_OOM, __FILE__, __LINE__, "fake cuda: out of memory");
  __atomic_add_fetch(&g_in_use, (int64_t)n, __ATOMIC_RELAXED);
  H->account(SL_DEV_CUDA, (int64_t)n);
  return SL_OK;
}
static void fk_free(void *p, size_t n) {
  free(p);
  __atomic_sub_fetch(&g_in_use, (int64_t)n, __ATOMIC_RELAXED);
  H->account(SL_DEV_CUDA, -(int64_t)n);
}
static sl_status fk_cpy(void *d, const void *s, size_t n) { memmove(d, s, n); return SL_OK; }
static sl_status fk_zero(void *d, size_t n) { memset(d, 0, n); return SL_OK; }
static sl_status fk_sync(void) { return SL_OK; }
static void fk_stats(int64_t *in_use, int64_t *cached) { *in_use = g_in_use; *cached = 0; }
static void fk_empty(void) {}

/* A CPU tensor viewing t's memory with t's layout. */
static sl_tensor *view(const sl_tensor *t) {
  size_t es = sl_dtype_size(t->dtype);
  int64_t nel = (int64_t)(t->storage->nbytes / es);
  sl_tensor *h = NULL;
  if (sl_tensor_wrap(&h, t->dtype, 1, &nel, t->storage->data, NULL, NULL) != SL_OK) abort();
  h->offset = t->offset;
  h->ndim = t->ndim;
  for (int i = 0; i < t->ndim; i++) { h->shape[i] = t->shape[i]; h->stride[i] = t->stride[i]; }
  return h;
}

/* A fresh device tensor with the values of CPU tensor c (released). */
static sl_status to_dev(sl_tensor **out, sl_tensor *c, sl_status st) {
  *out = NULL;
  if (st != SL_OK) return st;
  st = sl_tensor_to_device(out, c, SL_DEV_CUDA);
  sl_tensor_release(c);
  return st;
}

static sl_status fk_fill(sl_tensor *t, double v) { sl_tensor *h = view(t); sl_status st = sl_tensor_fill(h, v); sl_tensor_release(h); return st; }
static sl_status fk_copy(sl_tensor *d, const sl_tensor *s) {
  sl_tensor *hd = view(d), *hs = view(s);
  sl_status st = sl_tensor_copy(hd, hs);
  sl_tensor_release(hd); sl_tensor_release(hs);
  return st;
}
static sl_status fk_binary(sl_tensor **out, int op, const sl_tensor *a, double sa, const sl_tensor *b, double sb) {
  sl_tensor *ha = a ? view(a) : NULL, *hb = b ? view(b) : NULL, *r = NULL;
  sl_status st = sl_op_binary(&r, (sl_binop)op, ha ? sl_operand_tensor(ha) : sl_operand_scalar(sa),
                              hb ? sl_operand_tensor(hb) : sl_operand_scalar(sb));
  sl_tensor_release(ha); sl_tensor_release(hb);
  return to_dev(out, r, st);
}
static sl_status fk_unary(sl_tensor **out, int op, const sl_tensor *x) {
  sl_tensor *hx = view(x), *r = NULL;
  sl_status st = sl_op_unary(&r, (sl_unop)op, hx);
  sl_tensor_release(hx);
  return to_dev(out, r, st);
}
static sl_status fk_reduce_last(sl_tensor **out, const sl_tensor *x, int op, int64_t inner, double param,
                                int out_ndim, const int64_t *out_shape) {
  sl_tensor *hx = view(x), *rows = NULL, *r = NULL, *rr = NULL;
  int64_t shape[2] = { sl_tensor_numel(x) / inner, inner };
  sl_status st = sl_tensor_reshape(&rows, hx, 2, shape);
  if (st == SL_OK) st = sl_reduce(&r, rows, (sl_reduce_op)op, 2u, 0, param);
  if (st == SL_OK) st = sl_tensor_reshape(&rr, r, out_ndim, out_shape);
  sl_tensor_release(hx); sl_tensor_release(rows); sl_tensor_release(r);
  return to_dev(out, rr, st);
}
static sl_status fk_matmul(sl_tensor **out, const sl_tensor *a, const sl_tensor *b) {
  sl_tensor *ha = view(a), *hb = view(b), *r = NULL;
  sl_status st = sl_linalg_matmul(&r, ha, hb);
  sl_tensor_release(ha); sl_tensor_release(hb);
  return to_dev(out, r, st);
}
static void fk_tf32(int on) { (void)on; }
static sl_status fk_rng_fill(sl_tensor *t, int kind, const uint32_t key[2], const uint32_t hi[2], uint64_t offset,
                             double p1, double p2) {
  sl_rng_stream s = { { key[0], key[1] }, { hi[0], hi[1] } };
  sl_tensor *h = view(t);
  sl_status st = sl_rng_fill(h, (sl_rng_kind)kind, s, offset, p1, p2);
  sl_tensor_release(h);
  return st;
}
static sl_status fk_rng_u32(sl_tensor *t, const uint32_t key[2], const uint32_t hi[2], uint64_t offset) {
  sl_rng_stream s = { { key[0], key[1] }, { hi[0], hi[1] } };
  sl_rng_u32(s, offset, sl_tensor_numel(t), H->tensor_data(t));
  return SL_OK;
}
static sl_status fk_rfft2(sl_tensor **out, const sl_tensor *x) {
  sl_tensor *hx = view(x), *r = NULL;
  sl_status st = sl_fft_rfft2(&r, hx, SL_FFT_BACKWARD);
  sl_tensor_release(hx);
  return to_dev(out, r, st);
}
static sl_status fk_irfft2(sl_tensor **out, const sl_tensor *x, int64_t w) {
  sl_tensor *hx = view(x), *r = NULL;
  sl_status st = sl_fft_irfft2(&r, hx, 0, w, SL_FFT_BACKWARD);
  sl_tensor_release(hx);
  return to_dev(out, r, st);
}
static sl_status fk_norm(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *b, double eps, int act) {
  sl_tensor *hx = view(x), *hw = w ? view(w) : NULL, *hb = b ? view(b) : NULL, *r = NULL;
  sl_status st = sl_norm_instance(&r, hx, hw, hb, eps, (sl_act)act);
  sl_tensor_release(hx); sl_tensor_release(hw); sl_tensor_release(hb);
  return to_dev(out, r, st);
}
static sl_status fk_conv(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias, int circular) {
  sl_tensor *hx = view(x), *hw = view(w), *hb = bias ? view(bias) : NULL, *r = NULL;
  sl_status st = sl_conv2d(&r, hx, hw, hb, circular ? SL_CONV_PAD_CIRCULAR : SL_CONV_PAD_ZEROS, SL_CONV_IM2COL, NULL);
  sl_tensor_release(hx); sl_tensor_release(hw); sl_tensor_release(hb);
  return to_dev(out, r, st);
}

static int f32_contig(int n, const sl_tensor *const *a) {
  for (int i = 0; i < n; i++) if (a[i] && (a[i]->dtype != SL_DTYPE_F32 || !sl_tensor_is_contiguous(a[i]))) return 0;
  return 1;
}

static const sl_backend_op k_ops[] = {
  { "fill", (sl_backend_fn)fk_fill, f32_contig },
  { "copy", (sl_backend_fn)fk_copy, NULL },
  { "binary", (sl_backend_fn)fk_binary, NULL },
  { "unary", (sl_backend_fn)fk_unary, NULL },
  { "reduce_last", (sl_backend_fn)fk_reduce_last, f32_contig },
  { "matmul", (sl_backend_fn)fk_matmul, f32_contig },
  { "set_tf32", (sl_backend_fn)fk_tf32, NULL },
  { "rng_fill", (sl_backend_fn)fk_rng_fill, NULL },
  { "rng_u32", (sl_backend_fn)fk_rng_u32, NULL },
  { "rfft2", (sl_backend_fn)fk_rfft2, f32_contig },
  { "irfft2", (sl_backend_fn)fk_irfft2, f32_contig },
  { "instance_norm_act", (sl_backend_fn)fk_norm, f32_contig },
  { "conv2d", (sl_backend_fn)fk_conv, f32_contig },
  { NULL, NULL, NULL },
};

__attribute__((visibility("default")))
sl_status sl_backend_plugin_init(const sl_host_api *host, sl_backend *be) {
  if (!host || host->abi != SL_BACKEND_ABI) return SL_ERR_INTERNAL;
  H = host;
  memset(be, 0, sizeof *be);
  be->abi = SL_BACKEND_ABI;
  be->name = "cuda";
  be->device = SL_DEV_CUDA;
  be->device_count = fk_count;
  be->device_name = fk_name;
  be->alloc = fk_alloc;
  be->free = fk_free;
  be->memcpy_h2d = fk_cpy;
  be->memcpy_d2h = fk_cpy;
  be->memcpy_d2d = fk_cpy;
  be->synchronize = fk_sync;
  be->memset_zero = fk_zero;
  be->memory_stats = fk_stats;
  be->empty_cache = fk_empty;
  be->ops = k_ops;
  return SL_OK;
}
