/* device.c — tensors on non-CPU devices: storage allocation, copies between devices, fills and
 * single-element access (see sl_device.h).
 *
 * Design: the core never dereferences device memory.  Everything here goes through the backend
 * table (sl_backend.h): alloc/free, the three memcpy directions and the plugin's "copy"/"fill"
 * op slots.  Whatever has no direct device path is *staged*: the device storage is downloaded
 * whole into a host buffer that is viewed with the tensor's own offset and strides, the CPU copy
 * routine does the work, and (for a device destination) the storage is uploaded back.  Staging
 * the whole storage, not only the view, is what keeps partial views correct (a narrow() of a
 * device tensor written through staging must not clobber its neighbours).  It is slow and meant
 * for rare paths (dtype conversion, printing); kernels get contiguous device tensors. */
#include "sl_device.h"
#include "sl_backend.h"

#include <math.h>
#include <string.h>

static void device_release(void *ctx, void *data, size_t nbytes) {
  const sl_backend *be = ctx;
  be->free(data, nbytes);
}

static sl_status need_backend(const sl_backend **be, sl_device dev, const char *op) {
  *be = sl_backend_get(dev);
  if (!*be)
    return SL_ERR(SL_ERR_DEVICE, "%s: device %s is not available (%s)", op, sl_device_name(dev),
                  sl_backend_get_status()->reason);
  return SL_OK;
}

sl_status sl_device_storage_alloc(sl_storage *s, size_t nbytes, sl_device dev) {
  const sl_backend *be;
  SL_TRY(need_backend(&be, dev, "tensor"));
  void *p = NULL;
  SL_TRY(be->alloc(&p, nbytes));
  s->data = p;
  s->release = device_release;
  s->release_ctx = (void *)be;
  return SL_OK;
}

static void host_free_release(void *ctx, void *data, size_t nbytes) { (void)ctx; sl_free(data, nbytes); }

/* A CPU tensor viewing a host copy of t's whole storage with t's offset, shape and strides. */
static sl_status stage_down(sl_tensor **out, const sl_tensor *t) {
  *out = NULL;
  const sl_backend *be;
  SL_TRY(need_backend(&be, sl_tensor_device(t), "copy"));
  size_t es = sl_dtype_size(t->dtype);
  int64_t nel = (int64_t)(t->storage->nbytes / es);
  void *buf = sl_alloc(nel ? (size_t)nel * es : 1);
  if (!buf) return SL_ERR(SL_ERR_OOM, "copy: out of host memory staging %zu bytes", t->storage->nbytes);
  sl_status st = t->storage->nbytes ? be->memcpy_d2h(buf, t->storage->data, t->storage->nbytes) : SL_OK;
  if (st == SL_OK) st = sl_tensor_wrap(out, t->dtype, 1, &nel, buf, host_free_release, NULL);
  if (st != SL_OK) { sl_free(buf, nel ? (size_t)nel * es : 1); return st; }
  /* wrap() made a fresh header of our own: turn it into t's view of the staged storage. */
  sl_tensor *h = *out;
  h->storage->nbytes = nel ? (size_t)nel * es : 1;
  h->offset = t->offset;
  h->ndim = t->ndim;
  for (int i = 0; i < t->ndim; i++) { h->shape[i] = t->shape[i]; h->stride[i] = t->stride[i]; }
  return SL_OK;
}

static sl_status stage_up(const sl_tensor *t, const sl_tensor *h) {
  const sl_backend *be;
  SL_TRY(need_backend(&be, sl_tensor_device(t), "copy"));
  return t->storage->nbytes ? be->memcpy_h2d(t->storage->data, h->storage->data, t->storage->nbytes) : SL_OK;
}

static sl_status check_fits(const sl_tensor *dst, const sl_tensor *src) {
  int n; int64_t shape[SL_MAX_DIMS];
  SL_TRY(sl_broadcast_shapes(dst->ndim, dst->shape, src->ndim, src->shape, &n, shape, "copy"));
  if (n != dst->ndim || !(n == 0 || memcmp(shape, dst->shape, (size_t)n * sizeof(int64_t)) == 0)) {
    char a[128], b[128];
    return SL_ERR(SL_ERR_SHAPE, "copy: source of shape %s does not fit destination of shape %s",
                  sl_shape_str(a, sizeof a, src->ndim, src->shape), sl_shape_str(b, sizeof b, dst->ndim, dst->shape));
  }
  return SL_OK;
}

sl_status sl_device_copy(sl_tensor *dst, const sl_tensor *src) {
  SL_TRY(check_fits(dst, src));
  int64_t numel = sl_tensor_numel(dst);
  if (numel == 0) return SL_OK;
  sl_device dd = sl_tensor_device(dst), sd = sl_tensor_device(src);
  const sl_backend *be;
  SL_TRY(need_backend(&be, dd != SL_DEV_CPU ? dd : sd, "copy"));
  if (dd != SL_DEV_CPU && sd != SL_DEV_CPU && dd != sd)
    return SL_ERR(SL_ERR_DEVICE, "copy: cannot copy between %s and %s directly", sl_device_name(sd), sl_device_name(dd));

  /* One memcpy when the layouts match. */
  if (dst->dtype == src->dtype && sl_tensor_is_contiguous(dst) && sl_tensor_is_contiguous(src) &&
      sl_tensor_numel(src) == numel) {
    size_t n = (size_t)numel * sl_dtype_size(dst->dtype);
    if (dd == SL_DEV_CPU) return be->memcpy_d2h(sl_tensor_data(dst), sl_tensor_data(src), n);
    if (sd == SL_DEV_CPU) return be->memcpy_h2d(sl_tensor_data(dst), sl_tensor_data(src), n);
    return be->memcpy_d2d(sl_tensor_data(dst), sl_tensor_data(src), n);
  }

  /* Same device, same dtype, any strides or broadcast: the plugin's strided copy kernel. */
  if (dd == sd && dst->dtype == src->dtype) {
    const sl_backend_op *op = sl_backend_find_op(dd, "copy");
    if (op) {
      sl_tensor *e = NULL;
      SL_TRY(sl_tensor_expand(&e, src, dst->ndim, dst->shape));
      const sl_tensor *args[2] = { dst, e };
      sl_status st = (!op->supports || op->supports(2, args)) ? ((sl_cuda_copy_fn)op->fn)(dst, e) : SL_ERR_NOT_IMPL;
      sl_tensor_release(e);
      if (st != SL_ERR_NOT_IMPL) return st;
      sl_error_clear();
    }
  }

  /* Staged through host memory. */
  sl_tensor *hs = NULL, *hd = NULL;
  sl_status st = SL_OK;
  if (sd != SL_DEV_CPU) st = stage_down(&hs, src);
  else hs = sl_tensor_retain((sl_tensor *)src);
  if (st != SL_OK) return st;
  if (dd == SL_DEV_CPU) {
    st = sl_tensor_copy(dst, hs);
  } else {
    st = stage_down(&hd, dst);
    if (st == SL_OK) st = sl_tensor_copy(hd, hs);
    if (st == SL_OK) st = stage_up(dst, hd);
  }
  sl_tensor_release(hs);
  sl_tensor_release(hd);
  return st;
}

sl_status sl_tensor_to_device(sl_tensor **out, const sl_tensor *t, sl_device dev) {
  *out = NULL;
  if (sl_tensor_device(t) == dev) { *out = sl_tensor_retain((sl_tensor *)t); return SL_OK; }
  SL_TRY(sl_tensor_empty_on(out, t->dtype, t->ndim, t->shape, dev));
  sl_status st = sl_device_copy(*out, t);
  if (st != SL_OK) { sl_tensor_release(*out); *out = NULL; }
  return st;
}

sl_status sl_device_fill(sl_tensor *t, double v) {
  const sl_backend *be;
  SL_TRY(need_backend(&be, sl_tensor_device(t), "fill"));
  int64_t n = sl_tensor_numel(t);
  if (n == 0) return SL_OK;
  int contig = sl_tensor_is_contiguous(t);
  /* Zero bits are zero in every dtype. */
  if (contig && v == 0 && !signbit(v)) return be->memset_zero(sl_tensor_data(t), (size_t)n * sl_dtype_size(t->dtype));
  const sl_backend_op *op = sl_backend_find_op(sl_tensor_device(t), "fill");
  const sl_tensor *args[1] = { t };
  if (op && (!op->supports || op->supports(1, args))) return ((sl_cuda_fill_fn)op->fn)(t, v);
  /* Other dtypes / strided: a filled host tensor copied over (one value, any layout). */
  sl_tensor *h = NULL;
  SL_TRY(sl_tensor_empty(&h, t->dtype, 0, NULL));
  sl_status st = sl_tensor_fill(h, v);
  if (st == SL_OK) st = sl_device_copy(t, h);
  sl_tensor_release(h);
  return st;
}

double sl_device_load(const sl_tensor *t, int64_t off) {
  const sl_backend *be = sl_backend_get(sl_tensor_device(t));
  size_t es = sl_dtype_size(t->dtype);
  unsigned char buf[8];
  if (!be || be->memcpy_d2h(buf, (const char *)t->storage->data + off * (int64_t)es, es) != SL_OK) return NAN;
  return sl_load_f64(buf, t->dtype, 0);
}

void sl_device_store(sl_tensor *t, int64_t off, double v) {
  const sl_backend *be = sl_backend_get(sl_tensor_device(t));
  size_t es = sl_dtype_size(t->dtype);
  unsigned char buf[8];
  if (!be) return;
  sl_store_f64(buf, t->dtype, 0, v);
  (void)be->memcpy_h2d((char *)t->storage->data + off * (int64_t)es, buf, es);
}
