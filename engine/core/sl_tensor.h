/* sl_tensor.h — the n-d tensor: reference-counted storage plus a strided view onto it.
 *
 * A tensor is (storage, offset, shape, stride, dtype).  Views (narrow, select, slice, transpose,
 * permute, view/reshape, expand, squeeze/unsqueeze) create a new sl_tensor sharing the storage;
 * strides are in elements and may be 0 (broadcast).  Both sl_tensor and sl_storage are
 * reference-counted: a Lua userdata owns exactly one reference to its sl_tensor.
 *
 * Conventions: outputs first.  Functions returning a new tensor take `sl_tensor **out` and set it
 * to a tensor holding one reference that the caller owns.  Kernels that can write into an
 * existing buffer take `sl_tensor *out` explicitly. */
#ifndef SL_TENSOR_H
#define SL_TENSOR_H

#include "sl_base.h"

typedef struct sl_storage {
  void     *data;
  size_t    nbytes;
  int       refcount;
  sl_device device;
  /* Who frees data: NULL = the tracked allocator; otherwise called with (ctx, data).
   * Wrapped foreign memory (FFI) uses a no-op release and keeps no ownership. */
  void    (*release)(void *ctx, void *data, size_t nbytes);
  void     *release_ctx;
} sl_storage;

typedef struct sl_tensor {
  sl_storage *storage;
  int64_t     offset;                /* in elements, into storage */
  int32_t     ndim;
  sl_dtype    dtype;
  int64_t     shape[SL_MAX_DIMS];
  int64_t     stride[SL_MAX_DIMS];   /* in elements */
  int         refcount;
} sl_tensor;

/* ---- lifetime ---- */
sl_tensor *sl_tensor_retain(sl_tensor *t);
void       sl_tensor_release(sl_tensor *t);   /* NULL-safe */

/* ---- creation (CPU unless the device variant is used) ---- */
sl_status sl_tensor_empty(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape);
sl_status sl_tensor_empty_on(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, sl_device dev);
sl_status sl_tensor_zeros(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape);
sl_status sl_tensor_full(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, double value);
sl_status sl_tensor_empty_like(sl_tensor **out, const sl_tensor *t);
sl_status sl_tensor_arange(sl_tensor **out, sl_dtype dt, double start, double stop, double step);
sl_status sl_tensor_linspace(sl_tensor **out, sl_dtype dt, double start, double stop, int64_t n);
/* Copies n = prod(shape) elements of type dt from src. */
sl_status sl_tensor_from_buffer(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, const void *src);
/* Wraps foreign memory without copying; release (may be NULL) is called when the storage dies. */
sl_status sl_tensor_wrap(sl_tensor **out, sl_dtype dt, int ndim, const int64_t *shape, void *data,
                         void (*release)(void *ctx, void *data, size_t nbytes), void *ctx);

/* ---- queries ---- */
int64_t sl_tensor_numel(const sl_tensor *t);
int     sl_tensor_is_contiguous(const sl_tensor *t);
void   *sl_tensor_data(const sl_tensor *t);   /* address of element 0 (storage + offset) */
static inline sl_device sl_tensor_device(const sl_tensor *t) { return t->storage->device; }
size_t  sl_tensor_nbytes(const sl_tensor *t); /* numel * elsize */
int     sl_tensor_same_shape(const sl_tensor *a, const sl_tensor *b);
/* Normalises a possibly negative dim (-1 = last); SL_ERR_ARG with message if out of range. */
sl_status sl_tensor_check_dim(const sl_tensor *t, int dim, int *out, const char *op);
/* Element access by multi-index (slow; for bindings, printing and tests). */
double  sl_tensor_get(const sl_tensor *t, const int64_t *idx);
void    sl_tensor_set(sl_tensor *t, const int64_t *idx, double v);
/* Element at row-major linear position i (handles strides). */
double  sl_tensor_get_linear(const sl_tensor *t, int64_t i);

/* ---- views (share storage) ---- */
sl_status sl_tensor_narrow(sl_tensor **out, const sl_tensor *t, int dim, int64_t start, int64_t length);
sl_status sl_tensor_select(sl_tensor **out, const sl_tensor *t, int dim, int64_t index);
sl_status sl_tensor_slice(sl_tensor **out, const sl_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
sl_status sl_tensor_transpose(sl_tensor **out, const sl_tensor *t, int d0, int d1);
sl_status sl_tensor_permute(sl_tensor **out, const sl_tensor *t, const int *perm);
/* view: no copy, fails if the strides do not allow it.  reshape: view if possible, else copy.
 * One entry of shape may be -1 (inferred). */
sl_status sl_tensor_view(sl_tensor **out, const sl_tensor *t, int ndim, const int64_t *shape);
sl_status sl_tensor_reshape(sl_tensor **out, const sl_tensor *t, int ndim, const int64_t *shape);
sl_status sl_tensor_expand(sl_tensor **out, const sl_tensor *t, int ndim, const int64_t *shape);
sl_status sl_tensor_squeeze(sl_tensor **out, const sl_tensor *t, int dim);   /* dim = SL_ALL_DIMS: all size-1 */
sl_status sl_tensor_unsqueeze(sl_tensor **out, const sl_tensor *t, int dim);
#define SL_ALL_DIMS (-1000)

/* ---- copies ---- */
/* dst[...] = src[...] with broadcasting of src to dst's shape and dtype conversion. */
sl_status sl_tensor_copy(sl_tensor *dst, const sl_tensor *src);
sl_status sl_tensor_clone(sl_tensor **out, const sl_tensor *t);
/* Returns t itself (retained) when already contiguous, else a contiguous copy. */
sl_status sl_tensor_contiguous(sl_tensor **out, const sl_tensor *t);
sl_status sl_tensor_to_dtype(sl_tensor **out, const sl_tensor *t, sl_dtype dt);
/* Contiguous tensor of dtype dt with t's values: t itself (retained) when it already is one.
 * The usual first step of a kernel that works on flat buffers. */
sl_status sl_tensor_contiguous_as(sl_tensor **out, const sl_tensor *t, sl_dtype dt);
sl_status sl_tensor_fill(sl_tensor *t, double value);

/* ---- shapes ---- */
/* Broadcast two shapes (numpy rules). On failure the message names both shapes and `op`. */
sl_status sl_broadcast_shapes(int na, const int64_t *a, int nb, const int64_t *b,
                              int *nout, int64_t *out, const char *op);
/* Contiguous row-major strides for shape. */
void sl_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* ---- strided iteration: visits all elements of `shape` in row-major order, tracking an
 * element offset for each of up to 4 operands with their own strides. ---- */
typedef struct {
  int     ndim, nops;
  int64_t shape[SL_MAX_DIMS];
  int64_t idx[SL_MAX_DIMS];
  int64_t stride[4][SL_MAX_DIMS];
  int64_t off[4];
} sl_iter;
void sl_iter_init(sl_iter *it, int ndim, const int64_t *shape, int nops, const sl_tensor *const *ops);
/* Advance to the next element; returns 0 when done. */
static inline int sl_iter_next(sl_iter *it) {
  for (int d = it->ndim - 1; d >= 0; d--) {
    if (++it->idx[d] < it->shape[d]) {
      for (int k = 0; k < it->nops; k++) it->off[k] += it->stride[k][d];
      return 1;
    }
    for (int k = 0; k < it->nops; k++) it->off[k] -= it->stride[k][d] * (it->shape[d] - 1);
    it->idx[d] = 0;
  }
  return 0;
}

/* Reads element at offset `off` (elements from data) of dtype dt as double / writes it. */
static inline double sl_load_f64(const void *data, sl_dtype dt, int64_t off) {
  switch (dt) {
    case SL_DTYPE_F32: return ((const float *)data)[off];
    case SL_DTYPE_F64: return ((const double *)data)[off];
    case SL_DTYPE_I32: return ((const int32_t *)data)[off];
    case SL_DTYPE_I64: return (double)((const int64_t *)data)[off];
    case SL_DTYPE_U8:  return ((const uint8_t *)data)[off];
    default: return 0;
  }
}
void sl_store_f64(void *data, sl_dtype dt, int64_t off, double v);

#endif
