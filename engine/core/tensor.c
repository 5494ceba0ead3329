/* tensor.c — tensor creation, lifetime, strided views and copies.
 *
 * Design: an sl_tensor is a small heap object (shape/stride/offset) holding one reference to an
 * sl_storage.  Views never copy; `reshape` copies only when the strides cannot express the new
 * shape.  Copies go through one routine (sl_tensor_copy) that handles broadcasting, dtype
 * conversion and arbitrary strides, with a memcpy fast path for matching contiguous layouts. */
#include "sl_tensor.h"
#include "sl_device.h"   /* device hooks (CUDA helper): device memory lives in device.c */

#include <math.h>
#include <string.h>

void sl__tensor_count(int delta);   /* base.c */

/* ---------------------------------------------------------------- lifetime */

sl_tensor *sl_tensor_retain(sl_tensor *t) {
  if (t) __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
  return t;
}

static void storage_release(sl_storage *s) {
  if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  if (s->release) s->release(s->release_ctx, s->data, s->nbytes);
  else sl_free(s->data, s->nbytes);
  free(s);
}

void sl_tensor_release(sl_tensor *t) {
  if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  storage_release(t->storage);
  sl__tensor_count(-1);
  free(t);
}

static sl_status check_shape(int ndim, const int64_t *shape, const char *op, int64_t *numel) {
  if (ndim < 0 || ndim > SL_MAX_DIMS)
    return SL_ERR(SL_ERR_ARG, "%s: %d dimensions requested, at most %d are supported", op, ndim, SL_MAX_DIMS);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return SL_ERR(SL_ERR_ARG, "%s: negative size %lld in dimension %d", op, (long long)shape[i], i + 1);
    if (shape[i] && n > INT64_MAX / shape[i]) return SL_ERR(SL_ERR_ARG, "%s: shape too large", op);
    n *= shape[i];
  }
  *numel = n;
  return SL_OK;
}

/* A tensor header viewing `s` (takes a new reference to s). */
static sl_status header_new(sl_tensor **out, sl_storage *s, sl_dtype dt, int ndim, const int64_t *shape,
                            const int64_t *stride, int64_t offset) {
  sl_tensor *t = calloc(1, sizeof *t);
  if (!t) return SL_ERR(SL_ERR_OOM, "out of memory allocating a tensor header");
  t->storage = s;
  __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED);
  t->offset = offset;
  t->ndim = ndim;
  t->dtype = dt;
  t->refcount = 1;
  for (int i = 0; i < ndim; i++) { t->shape[i] = shape[i]; t->stride[i] = stride[i]; }
  sl__tensor_count(1);
  *out = t;
  return SL_OK;
}

void sl_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) { stride[i] = s; s *= shape[i] > 0 ? shape[i] : 1; }
}

/* ---------------------------------------------------------------- creation */

sl_status sl_tensor_empty_on(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, sl_device dev) {
  *out = NULL;
  if ((unsigned)dt >= SL_DTYPE_COUNT) return SL_ERR(SL_ERR_DTYPE, "unknown dtype %d", (int)dt);
  int64_t numel;
  SL_TRY(check_shape(ndim, shape, "tensor", &numel));
  size_t nbytes = (size_t)numel * sl_dtype_size(dt);
  sl_storage *s = calloc(1, sizeof *s);
  if (!s) return SL_ERR(SL_ERR_OOM, "out of memory allocating tensor storage");
  if (dev != SL_DEV_CPU) {   /* device hook: the backend allocates and sets s->release */
    sl_status dst = sl_device_storage_alloc(s, nbytes, dev);
    if (dst != SL_OK) { free(s); return dst; }
    s->nbytes = nbytes;
    s->device = dev;
    int64_t dstride[SL_MAX_DIMS];
    sl_contiguous_strides(ndim, shape, dstride);
    dst = header_new(out, s, dt, ndim, shape, dstride, 0);
    if (dst != SL_OK) { s->release(s->release_ctx, s->data, nbytes); free(s); }
    return dst;
  }
  s->data = sl_alloc(nbytes);
  if (!s->data) {
    free(s);
    char b[128];
    return SL_ERR(SL_ERR_OOM, "out of memory allocating a %s tensor of shape %s (%.1f MiB)",
                  sl_dtype_name(dt), sl_shape_str(b, sizeof b, ndim, shape), nbytes / 1048576.0);
  }
  s->nbytes = nbytes;
  s->device = dev;
  int64_t stride[SL_MAX_DIMS];
  sl_contiguous_strides(ndim, shape, stride);
  sl_status st = header_new(out, s, dt, ndim, shape, stride, 0);
  if (st != SL_OK) { sl_free(s->data, nbytes); free(s); }
  return st;
}

sl_status sl_tensor_empty(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape) {
  return sl_tensor_empty_on(out, dt, ndim, shape, SL_DEV_CPU);
}

sl_status sl_tensor_zeros(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape) {
  SL_TRY(sl_tensor_empty(out, dt, ndim, shape));
  memset((*out)->storage->data, 0, (*out)->storage->nbytes);
  return SL_OK;
}

sl_status sl_tensor_full(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, double value) {
  SL_TRY(sl_tensor_empty(out, dt, ndim, shape));
  return sl_tensor_fill(*out, value);
}

sl_status sl_tensor_empty_like(sl_tensor **out, const sl_tensor *t) {
  return sl_tensor_empty_on(out, t->dtype, t->ndim, t->shape, sl_tensor_device(t));
}

sl_status sl_tensor_arange(sl_tensor **out, sl_dtype dt, double start, double stop, double step) {
  *out = NULL;
  if (step == 0 || !isfinite(start) || !isfinite(stop) || !isfinite(step))
    return SL_ERR(SL_ERR_ARG, "arange: step must be non-zero and bounds finite (got %g, %g, %g)", start, stop, step);
  double span = (stop - start) / step;
  int64_t n = span > 0 ? (int64_t)ceil(span - 1e-12) : 0;
  SL_TRY(sl_tensor_empty(out, dt, 1, &n));
  void *d = sl_tensor_data(*out);
  for (int64_t i = 0; i < n; i++) sl_store_f64(d, dt, i, start + (double)i * step);
  return SL_OK;
}

sl_status sl_tensor_linspace(sl_tensor **out, sl_dtype dt, double start, double stop, int64_t n) {
  *out = NULL;
  if (n < 0) return SL_ERR(SL_ERR_ARG, "linspace: number of points must be >= 0, got %lld", (long long)n);
  SL_TRY(sl_tensor_empty(out, dt, 1, &n));
  void *d = sl_tensor_data(*out);
  double step = n > 1 ? (stop - start) / (double)(n - 1) : 0;
  for (int64_t i = 0; i < n; i++)   /* exact endpoints, like numpy */
    sl_store_f64(d, dt, i, i == n - 1 && n > 1 ? stop : start + (double)i * step);
  return SL_OK;
}

sl_status sl_tensor_from_buffer(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, const void *src) {
  SL_TRY(sl_tensor_empty(out, dt, ndim, shape));
  memcpy((*out)->storage->data, src, (*out)->storage->nbytes);
  return SL_OK;
}

void sl__noop_release(void *ctx, void *data, size_t n);

sl_status sl_tensor_wrap(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, void *data,
                         void (*release)(void *, void *, size_t), void *ctx) {
  *out = NULL;
  int64_t numel;
  SL_TRY(check_shape(ndim, shape, "wrap", &numel));
  if (!data && numel) return SL_ERR(SL_ERR_ARG, "wrap: NULL data pointer for %lld elements", (long long)numel);
  sl_storage *s = calloc(1, sizeof *s);
  if (!s) return SL_ERR(SL_ERR_OOM, "out of memory");
  s->data = data;
  s->nbytes = (size_t)numel * sl_dtype_size(dt);
  s->device = SL_DEV_CPU;
  /* Foreign memory without an owner (FFI) is never freed by us: a no-op release marks that. */
  s->release = release ? release : sl__noop_release;
  s->release_ctx = ctx;
  int64_t stride[SL_MAX_DIMS];
  sl_contiguous_strides(ndim, shape, stride);
  sl_status st = header_new(out, s, dt, ndim, shape, stride, 0);
  if (st != SL_OK) free(s);
  return st;
}
void sl__noop_release(void *ctx, void *data, size_t n) { (void)ctx; (void)data; (void)n; }

/* ---------------------------------------------------------------- queries */

int64_t sl_tensor_numel(const sl_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

int sl_tensor_is_contiguous(const sl_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] == 1) continue;          /* size-1 dims may carry any stride */
    if (t->stride[i] != s) return 0;
    s *= t->shape[i];
  }
  return 1;
}

void *sl_tensor_data(const sl_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)sl_dtype_size(t->dtype);
}

size_t sl_tensor_nbytes(const sl_tensor *t) { return (size_t)sl_tensor_numel(t) * sl_dtype_size(t->dtype); }

int sl_tensor_same_shape(const sl_tensor *a, const sl_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++) if (a->shape[i] != b->shape[i]) return 0;
  return 1;
}

sl_status sl_tensor_check_dim(const sl_tensor *t, int dim, int *out, const char *op) {
  int d = dim < 0 ? dim + t->ndim : dim;
  if (d < 0 || d >= t->ndim)
    return SL_ERR(SL_ERR_ARG, "%s: dimension %d out of range for a %d-d tensor", op, dim, t->ndim);
  *out = d;
  return SL_OK;
}

void sl_store_f64(void *data, sl_dtype dt, int64_t off, double v) {
  switch (dt) {
    case SL_DTYPE_F32: ((float *)data)[off] = (float)v; break;
    case SL_DTYPE_F64: ((double *)data)[off] = v; break;
    /* Integer stores truncate toward zero like C casts; NaN/out-of-range become 0/saturate
     * instead of invoking undefined behaviour. */
    case SL_DTYPE_I32: ((int32_t *)data)[off] = isnan(v) ? 0 : v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v; break;
    case SL_DTYPE_I64: ((int64_t *)data)[off] = isnan(v) ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v; break;
    case SL_DTYPE_U8:  ((uint8_t *)data)[off] = isnan(v) || v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v; break;
    default: break;
  }
}

static int64_t offset_of(const sl_tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  for (int i = 0; i < t->ndim; i++) off += idx[i] * t->stride[i];
  return off;
}

double sl_tensor_get(const sl_tensor *t, const int64_t *idx) {
  if (t->storage->device != SL_DEV_CPU) return sl_device_load(t, offset_of(t, idx));   /* device hook */
  return sl_load_f64(t->storage->data, t->dtype, offset_of(t, idx));
}

void sl_tensor_set(sl_tensor *t, const int64_t *idx, double v) {
  if (t->storage->device != SL_DEV_CPU) { sl_device_store(t, offset_of(t, idx), v); return; }   /* device hook */
  sl_store_f64(t->storage->data, t->dtype, offset_of(t, idx), v);
}

double sl_tensor_get_linear(const sl_tensor *t, int64_t i) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    int64_t n = t->shape[d];
    off += (i % n) * t->stride[d];
    i /= n;
  }
  if (t->storage->device != SL_DEV_CPU) return sl_device_load(t, off);   /* device hook */
  return sl_load_f64(t->storage->data, t->dtype, off);
}

/* ---------------------------------------------------------------- views */

static sl_status view_of(sl_tensor **out, const sl_tensor *t, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset) {
  return header_new(out, t->storage, t->dtype, ndim, shape, stride, offset);
}

sl_status sl_tensor_narrow(sl_tensor **out, const sl_tensor *t, int dim, int64_t start, int64_t length) {
  *out = NULL;
  int d;
  SL_TRY(sl_tensor_check_dim(t, dim, &d, "narrow"));
  if (start < 0 || length < 0 || start + length > t->shape[d])
    return SL_ERR(SL_ERR_ARG, "narrow: range [%lld, %lld) is outside dimension %d of size %lld",
                  (long long)start, (long long)(start + length), d + 1, (long long)t->shape[d]);
  int64_t shape[SL_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[d] = length;
  return view_of(out, t, t->ndim, shape, t->stride, t->offset + start * t->stride[d]);
}

sl_status sl_tensor_select(sl_tensor **out, const sl_tensor *t, int dim, int64_t index) {
  *out = NULL;
  int d;
  SL_TRY(sl_tensor_check_dim(t, dim, &d, "select"));
  if (index < 0 || index >= t->shape[d])
    return SL_ERR(SL_ERR_ARG, "select: index %lld is out of range for dimension %d of size %lld",
                  (long long)index, d + 1, (long long)t->shape[d]);
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++)
    if (i != d) { shape[n] = t->shape[i]; stride[n] = t->stride[i]; n++; }
  return view_of(out, t, n, shape, stride, t->offset + index * t->stride[d]);
}

sl_status sl_tensor_slice(sl_tensor **out, const sl_tensor *t, int dim, int64_t start, int64_t stop, int64_t step) {
  *out = NULL;
  int d;
  SL_TRY(sl_tensor_check_dim(t, dim, &d, "slice"));
  if (step <= 0) return SL_ERR(SL_ERR_ARG, "slice: step must be positive, got %lld", (long long)step);
  int64_t n = t->shape[d];
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (stop > n) stop = n;
  int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  memcpy(stride, t->stride, sizeof stride);
  shape[d] = len;
  stride[d] = t->stride[d] * step;
  return view_of(out, t, t->ndim, shape, stride, t->offset + (len ? start * t->stride[d] : 0));
}

sl_status sl_tensor_transpose(sl_tensor **out, const sl_tensor *t, int d0, int d1) {
  *out = NULL;
  int a, b;
  SL_TRY(sl_tensor_check_dim(t, d0, &a, "transpose"));
  SL_TRY(sl_tensor_check_dim(t, d1, &b, "transpose"));
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  memcpy(stride, t->stride, sizeof stride);
  shape[a] = t->shape[b]; shape[b] = t->shape[a];
  stride[a] = t->stride[b]; stride[b] = t->stride[a];
  return view_of(out, t, t->ndim, shape, stride, t->offset);
}

sl_status sl_tensor_permute(sl_tensor **out, const sl_tensor *t, const int *perm) {
  *out = NULL;
  int seen[SL_MAX_DIMS] = {0};
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) {
    int p;
    SL_TRY(sl_tensor_check_dim(t, perm[i], &p, "permute"));
    if (seen[p]) return SL_ERR(SL_ERR_ARG, "permute: dimension %d appears twice", p + 1);
    seen[p] = 1;
    shape[i] = t->shape[p];
    stride[i] = t->stride[p];
  }
  return view_of(out, t, t->ndim, shape, stride, t->offset);
}

/* Resolves a single -1 entry and checks the element count. */
static sl_status infer_shape(const sl_tensor *t, int ndim, const int64_t *in, int64_t *shape, const char *op) {
  if (ndim > SL_MAX_DIMS) return SL_ERR(SL_ERR_ARG, "%s: at most %d dimensions", op, SL_MAX_DIMS);
  int infer = -1;
  int64_t known = 1, numel = sl_tensor_numel(t);
  for (int i = 0; i < ndim; i++) {
    shape[i] = in[i];
    if (in[i] == -1) {
      if (infer >= 0) return SL_ERR(SL_ERR_ARG, "%s: only one dimension can be -1", op);
      infer = i;
    } else if (in[i] < 0) {
      return SL_ERR(SL_ERR_ARG, "%s: invalid size %lld", op, (long long)in[i]);
    } else known *= in[i];
  }
  if (infer >= 0) {
    if (known == 0 || numel % known) goto mismatch;
    shape[infer] = numel / known;
  } else if (known != numel) goto mismatch;
  return SL_OK;
mismatch:;
  char a[128], b[128];
  return SL_ERR(SL_ERR_SHAPE, "%s: cannot reshape a tensor of shape %s (%lld elements) into %s", op,
                sl_shape_str(a, sizeof a, t->ndim, t->shape), (long long)numel, sl_shape_str(b, sizeof b, ndim, in));
}

/* Computes strides for viewing t with `shape` without copying (torch's algorithm: the new shape
 * must split/merge only runs of dims that are contiguous with each other). Returns 0 if impossible. */
static int view_strides(const sl_tensor *t, int ndim, const int64_t *shape, int64_t *stride) {
  int64_t numel = sl_tensor_numel(t);
  if (numel == 0) { sl_contiguous_strides(ndim, shape, stride); return 1; }
  int view_d = ndim - 1;
  int64_t chunk_base_stride = t->ndim ? t->stride[t->ndim - 1] : 1;
  int64_t tensor_numel = 1, view_numel = 1;
  for (int td = t->ndim - 1; td >= 0; td--) {
    tensor_numel *= t->shape[td];
    if (td == 0 || (t->shape[td - 1] != 1 && t->stride[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        stride[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return 0;
      if (td > 0) { chunk_base_stride = t->stride[td - 1]; tensor_numel = 1; view_numel = 1; }
    }
  }
  return view_d == -1;
}

sl_status sl_tensor_view(sl_tensor **out, const sl_tensor *t, int ndim, const int64_t *in) {
  *out = NULL;
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  SL_TRY(infer_shape(t, ndim, in, shape, "view"));
  if (!view_strides(t, ndim, shape, stride)) {
    char a[128], b[128];
    return SL_ERR(SL_ERR_SHAPE, "view: a tensor of shape %s with these strides cannot be viewed as %s without a copy (use reshape)",
                  sl_shape_str(a, sizeof a, t->ndim, t->shape), sl_shape_str(b, sizeof b, ndim, shape));
  }
  return view_of(out, t, ndim, shape, stride, t->offset);
}

sl_status sl_tensor_reshape(sl_tensor **out, const sl_tensor *t, int ndim, const int64_t *in) {
  *out = NULL;
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  SL_TRY(infer_shape(t, ndim, in, shape, "reshape"));
  if (view_strides(t, ndim, shape, stride)) return view_of(out, t, ndim, shape, stride, t->offset);
  sl_tensor *c;
  SL_TRY(sl_tensor_clone(&c, t));
  sl_contiguous_strides(ndim, shape, stride);
  sl_status st = view_of(out, c, ndim, shape, stride, 0);
  sl_tensor_release(c);
  return st;
}

sl_status sl_tensor_expand(sl_tensor **out, const sl_tensor *t, int ndim, const int64_t *shape) {
  *out = NULL;
  char a[128], b[128];
  if (ndim < t->ndim || ndim > SL_MAX_DIMS)
    return SL_ERR(SL_ERR_SHAPE, "expand: cannot expand shape %s to %s", sl_shape_str(a, sizeof a, t->ndim, t->shape),
                  sl_shape_str(b, sizeof b, ndim, shape));
  int64_t nshape[SL_MAX_DIMS], nstride[SL_MAX_DIMS];
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - lead;
    int64_t want = shape[i];
    if (j < 0) { nshape[i] = want; nstride[i] = 0; if (want < 0) goto bad; continue; }
    if (want == -1) want = t->shape[j];
    if (t->shape[j] == want) { nshape[i] = want; nstride[i] = t->stride[j]; }
    else if (t->shape[j] == 1 && want >= 0) { nshape[i] = want; nstride[i] = 0; }
    else goto bad;
  }
  return view_of(out, t, ndim, nshape, nstride, t->offset);
bad:
  return SL_ERR(SL_ERR_SHAPE, "expand: cannot expand shape %s to %s", sl_shape_str(a, sizeof a, t->ndim, t->shape),
                sl_shape_str(b, sizeof b, ndim, shape));
}

sl_status sl_tensor_squeeze(sl_tensor **out, const sl_tensor *t, int dim) {
  *out = NULL;
  int d = -1;
  if (dim != SL_ALL_DIMS) SL_TRY(sl_tensor_check_dim(t, dim, &d, "squeeze"));
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++) {
    int drop = t->shape[i] == 1 && (d < 0 || i == d);
    if (!drop) { shape[n] = t->shape[i]; stride[n] = t->stride[i]; n++; }
  }
  return view_of(out, t, n, shape, stride, t->offset);
}

sl_status sl_tensor_unsqueeze(sl_tensor **out, const sl_tensor *t, int dim) {
  *out = NULL;
  int d = dim < 0 ? dim + t->ndim + 1 : dim;
  if (d < 0 || d > t->ndim || t->ndim >= SL_MAX_DIMS)
    return SL_ERR(SL_ERR_ARG, "unsqueeze: dimension %d out of range for a %d-d tensor", dim, t->ndim);
  int64_t shape[SL_MAX_DIMS], stride[SL_MAX_DIMS];
  for (int i = 0, j = 0; i <= t->ndim; i++) {
    if (i == d) { shape[i] = 1; stride[i] = j < t->ndim ? t->shape[j] * t->stride[j] : 1; continue; }
    shape[i] = t->shape[j]; stride[i] = t->stride[j]; j++;
  }
  return view_of(out, t, t->ndim + 1, shape, stride, t->offset);
}

/* ---------------------------------------------------------------- broadcasting and iteration */

sl_status sl_broadcast_shapes(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out, const char *op) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int64_t x = i < n - na ? 1 : a[i - (n - na)];
    int64_t y = i < n - nb ? 1 : b[i - (n - nb)];
    if (x != y && x != 1 && y != 1) {
      char sa[128], sb[128];
      return SL_ERR(SL_ERR_SHAPE, "%s: shapes %s and %s cannot be broadcast together (dimension %d: %lld vs %lld)",
                    op ? op : "broadcast", sl_shape_str(sa, sizeof sa, na, a), sl_shape_str(sb, sizeof sb, nb, b),
                    i + 1, (long long)x, (long long)y);
    }
    out[i] = x == 1 ? y : x;
  }
  *nout = n;
  return SL_OK;
}

void sl_iter_init(sl_iter *it, int ndim, const int64_t *shape, int nops, const sl_tensor *const *ops) {
  it->ndim = ndim;
  it->nops = nops;
  for (int d = 0; d < ndim; d++) { it->shape[d] = shape[d]; it->idx[d] = 0; }
  for (int k = 0; k < nops; k++) {
    const sl_tensor *t = ops[k];
    int lead = ndim - t->ndim;     /* operands are right-aligned (broadcast): missing dims stride 0 */
    for (int d = 0; d < ndim; d++) {
      int j = d - lead;
      it->stride[k][d] = (j < 0 || t->shape[j] == 1) ? 0 : t->stride[j];
    }
    it->off[k] = t->offset;
  }
}

/* ---------------------------------------------------------------- copies */

sl_status sl_tensor_fill(sl_tensor *t, double v) {
  if (sl_tensor_device(t) != SL_DEV_CPU) return sl_device_fill(t, v);   /* device hook */
  int64_t n = sl_tensor_numel(t);
  if (sl_tensor_is_contiguous(t)) {
    void *d = sl_tensor_data(t);
    if (t->dtype == SL_DTYPE_F32) { float f = (float)v; float *p = d; for (int64_t i = 0; i < n; i++) p[i] = f; }
    else if (v == 0) memset(d, 0, (size_t)n * sl_dtype_size(t->dtype));
    else for (int64_t i = 0; i < n; i++) sl_store_f64(d, t->dtype, i, v);
    return SL_OK;
  }
  if (n == 0) return SL_OK;
  sl_iter it;
  const sl_tensor *ops[1] = {t};
  sl_iter_init(&it, t->ndim, t->shape, 1, ops);
  do sl_store_f64(t->storage->data, t->dtype, it.off[0], v); while (sl_iter_next(&it));
  return SL_OK;
}

#define COPY_CASE(TD, TS) \
  do { TD *d = (TD *)dst->storage->data; const TS *s = (const TS *)src->storage->data; \
       do d[it.off[0]] = (TD)s[it.off[1]]; while (sl_iter_next(&it)); } while (0)

sl_status sl_tensor_copy(sl_tensor *dst, const sl_tensor *src) {
  if (sl_tensor_device(dst) != SL_DEV_CPU || sl_tensor_device(src) != SL_DEV_CPU)
    return sl_device_copy(dst, src);   /* device hook: host<->device and device<->device copies */
  /* src must broadcast to dst's shape exactly. */
  int n; int64_t shape[SL_MAX_DIMS];
  SL_TRY(sl_broadcast_shapes(dst->ndim, dst->shape, src->ndim, src->shape, &n, shape, "copy"));
  if (n != dst->ndim || !(n == 0 || memcmp(shape, dst->shape, n * sizeof(int64_t)) == 0)) {
    char a[128], b[128];
    return SL_ERR(SL_ERR_SHAPE, "copy: source of shape %s does not fit destination of shape %s",
                  sl_shape_str(a, sizeof a, src->ndim, src->shape), sl_shape_str(b, sizeof b, dst->ndim, dst->shape));
  }
  int64_t numel = sl_tensor_numel(dst);
  if (numel == 0) return SL_OK;
  if (dst->dtype == src->dtype && sl_tensor_is_contiguous(dst) && sl_tensor_is_contiguous(src) &&
      sl_tensor_numel(src) == numel) {
    memmove(sl_tensor_data(dst), sl_tensor_data(src), (size_t)numel * sl_dtype_size(dst->dtype));
    return SL_OK;
  }
  sl_iter it;
  const sl_tensor *ops[2] = {dst, src};
  sl_iter_init(&it, dst->ndim, dst->shape, 2, ops);
  if (dst->dtype == SL_DTYPE_F32 && src->dtype == SL_DTYPE_F32) COPY_CASE(float, float);
  else if (dst->dtype == SL_DTYPE_F32 && src->dtype == SL_DTYPE_F64) COPY_CASE(float, double);
  else if (dst->dtype == SL_DTYPE_F64 && src->dtype == SL_DTYPE_F32) COPY_CASE(double, float);
  else if (dst->dtype == SL_DTYPE_F64 && src->dtype == SL_DTYPE_F64) COPY_CASE(double, double);
  else {
    do sl_store_f64(dst->storage->data, dst->dtype, it.off[0],
                    sl_load_f64(src->storage->data, src->dtype, it.off[1]));
    while (sl_iter_next(&it));
  }
  return SL_OK;
}

sl_status sl_tensor_to_dtype(sl_tensor **out, const sl_tensor *t, sl_dtype dt) {
  SL_TRY(sl_tensor_empty_on(out, dt, t->ndim, t->shape, sl_tensor_device(t)));
  sl_status st = sl_tensor_copy(*out, t);
  if (st != SL_OK) { sl_tensor_release(*out); *out = NULL; }
  return st;
}

sl_status sl_tensor_clone(sl_tensor **out, const sl_tensor *t) { return sl_tensor_to_dtype(out, t, t->dtype); }

sl_status sl_tensor_contiguous(sl_tensor **out, const sl_tensor *t) {
  if (sl_tensor_is_contiguous(t)) { *out = sl_tensor_retain((sl_tensor *)t); return SL_OK; }
  return sl_tensor_clone(out, t);
}

sl_status sl_tensor_contiguous_as(sl_tensor **out, const sl_tensor *t, sl_dtype dt) {
  if (t->dtype == dt && sl_tensor_is_contiguous(t)) { *out = sl_tensor_retain((sl_tensor *)t); return SL_OK; }
  return sl_tensor_to_dtype(out, t, dt);
}
