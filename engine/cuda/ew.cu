/* ew.cu — elementwise kernels: fill, strided copy, float32 binary ops with broadcasting and
 * scalars, float32 unary math.
 *
 * One generic kernel per family walks the output in row-major order with a grid-stride loop and
 * maps each linear index to the operands' element offsets (cu_offsets), so contiguous, strided,
 * transposed and broadcast (stride 0) operands all take the same path.  The expressions are the
 * CPU's (engine/core/elementwise.c) in float32; CUDA's expf/logf/sinf… differ from glibc's by
 * up to a couple of ulp, hence the per-op tolerances in spec/cuda_spec.lua. */
#include "cu_common.cuh"

/* ---- fill ---- */

__global__ void fill_f32_kernel(float *p, int64_t n, float v) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    p[i] = v;
}

sl_status cu_fill(sl_tensor *t, double value) {
  int64_t n = g_host->tensor_numel(t);
  if (n == 0) return SL_OK;
  fill_f32_kernel<<<cu_blocks(n, 256), 256>>>((float *)g_host->tensor_data(t), n, (float)value);
  return cu_launched("fill kernel");
}

int cu_fill_supports(int nargs, const sl_tensor *const *args) {
  return nargs >= 1 && cu_is_f32_contig(args[0]);
}

/* ---- strided copy (same dtype) ---- */

template <typename T>
__global__ void copy_kernel(T *dst, const T *src, cu_strided d, int64_t n) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[2];
    cu_offsets(d, i, 2, off);
    dst[off[0]] = src[off[1]];
  }
}

static void describe(cu_strided *d, int ndim, const int64_t *shape, int nops, const sl_tensor *const *ops) {
  memset(d, 0, sizeof *d);
  d->ndim = ndim;
  for (int i = 0; i < ndim; i++) d->shape[i] = shape[i];
  for (int k = 0; k < nops; k++) {
    const sl_tensor *t = ops[k];
    if (!t) continue;                       /* scalar operand: all strides 0 */
    int lead = ndim - t->ndim;              /* right-aligned broadcasting */
    for (int i = 0; i < t->ndim; i++)
      d->stride[k][lead + i] = t->shape[i] == 1 ? 0 : t->stride[i];
  }
}

sl_status cu_copy(sl_tensor *dst, const sl_tensor *src) {
  int64_t n = g_host->tensor_numel(dst);
  if (n == 0) return SL_OK;
  if (dst->dtype != src->dtype || dst->ndim != src->ndim)
    return CU_ERR(SL_ERR_ARG, "copy (cuda): dtype and rank must match (got %d/%d dims)", dst->ndim, src->ndim);
  cu_strided d;
  const sl_tensor *ops[2] = { dst, src };
  describe(&d, dst->ndim, dst->shape, 2, ops);
  void *o = g_host->tensor_data(dst);
  const void *s = g_host->tensor_data(src);
  unsigned nb = cu_blocks(n, 256);
  switch (cu_dtype_size(dst->dtype)) {
    case 1: copy_kernel<uint8_t><<<nb, 256>>>((uint8_t *)o, (const uint8_t *)s, d, n); break;
    case 4: copy_kernel<uint32_t><<<nb, 256>>>((uint32_t *)o, (const uint32_t *)s, d, n); break;
    case 8: copy_kernel<uint64_t><<<nb, 256>>>((uint64_t *)o, (const uint64_t *)s, d, n); break;
    default: return CU_ERR(SL_ERR_DTYPE, "copy (cuda): unsupported dtype %d", (int)dst->dtype);
  }
  return cu_launched("copy kernel");
}

int cu_copy_supports(int nargs, const sl_tensor *const *args) {
  return nargs == 2 && args[0]->dtype == args[1]->dtype && args[0]->ndim == args[1]->ndim;
}

/* ---- binary ---- */

/* Op names for messages (the host's sl_binop_name is out of the plugin's reach). */
static const char *const k_bin_names[SL_BIN_COUNT] = {
  "add", "sub", "mul", "div", "pow", "minimum", "maximum", "atan2", "fmod",
  "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or" };
static const char *const k_un_names[SL_UN_COUNT] = {
  "abs", "neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "sin", "cos", "tan", "tanh",
  "sigmoid", "erf", "relu", "gelu", "silu", "softplus", "sign", "floor", "ceil", "round", "trunc",
  "reciprocal", "isnan", "isinf", "isfinite", "logical_not" };

static __device__ __forceinline__ float bin_f(int op, float x, float y) {
  switch (op) {
    case SL_BIN_ADD: return x + y;
    case SL_BIN_SUB: return x - y;
    case SL_BIN_MUL: return x * y;
    case SL_BIN_DIV: return x / y;
    case SL_BIN_POW: return powf(x, y);
    case SL_BIN_MINIMUM: return (x < y || x != x) ? x : y;
    case SL_BIN_MAXIMUM: return (x > y || x != x) ? x : y;
    case SL_BIN_ATAN2: return atan2f(x, y);
    case SL_BIN_FMOD: return fmodf(x, y);
    case SL_BIN_EQ: return x == y;
    case SL_BIN_NE: return x != y;
    case SL_BIN_LT: return x < y;
    case SL_BIN_LE: return x <= y;
    case SL_BIN_GT: return x > y;
    case SL_BIN_GE: return x >= y;
    case SL_BIN_AND: return (x != 0) & (y != 0);
    case SL_BIN_OR: return (x != 0) | (y != 0);
    default: return 0;
  }
}

/* a/b NULL = scalar sa/sb.  Contiguous same-shape operands skip the index arithmetic. */
template <typename TO>
__global__ void binary_kernel(TO *o, int op, const float *a, float sa, const float *b, float sb,
                              cu_strided d, int64_t n, int flat) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float x, y;
    if (flat) {
      x = a ? a[i] : sa;
      y = b ? b[i] : sb;
    } else {
      int64_t off[3];
      cu_offsets(d, i, 3, off);
      x = a ? a[off[1]] : sa;
      y = b ? b[off[2]] : sb;
    }
    o[i] = (TO)bin_f(op, x, y);
  }
}

static int bin_is_bool(int op) { return op >= SL_BIN_EQ && op <= SL_BIN_OR; }

/* numpy broadcasting of two shapes (either may be absent = scalar). */
static sl_status bshape(const sl_tensor *a, const sl_tensor *b, int *nd, int64_t *shape, const char *op) {
  int na = a ? a->ndim : 0, nb = b ? b->ndim : 0;
  *nd = na > nb ? na : nb;
  for (int i = 0; i < *nd; i++) {
    int ia = i - (*nd - na), ib = i - (*nd - nb);
    int64_t sa = ia >= 0 ? a->shape[ia] : 1, sb = ib >= 0 ? b->shape[ib] : 1;
    if (sa != sb && sa != 1 && sb != 1)
      return CU_ERR(SL_ERR_SHAPE, "%s: shapes do not broadcast (dimension %d: %lld vs %lld)", op, i + 1,
                    (long long)sa, (long long)sb);
    shape[i] = sa == 1 ? sb : sa;
  }
  return SL_OK;
}

static int flat_like(const sl_tensor *t, int nd, const int64_t *shape) {
  if (!t) return 1;
  if (t->ndim != nd || !g_host->tensor_is_contiguous(t)) return 0;
  for (int i = 0; i < nd; i++) if (t->shape[i] != shape[i]) return 0;
  return 1;
}

sl_status cu_binary(sl_tensor **out, int op, const sl_tensor *a, double sa, const sl_tensor *b, double sb) {
  *out = NULL;
  if (op < 0 || op >= SL_BIN_COUNT) return CU_ERR(SL_ERR_ARG, "binary (cuda): unknown op %d", op);
  const char *name = k_bin_names[op];
  if (!a && !b) return CU_ERR(SL_ERR_ARG, "%s (cuda): at least one operand must be a tensor", name);
  if ((a && a->dtype != SL_DTYPE_F32) || (b && b->dtype != SL_DTYPE_F32))
    return CU_ERR(SL_ERR_NOT_IMPL, "%s (cuda): only float32 tensors are supported", name);
  int nd; int64_t shape[SL_MAX_DIMS];
  SL_TRY(bshape(a, b, &nd, shape, name));
  SL_TRY(cu_empty(out, bin_is_bool(op) ? SL_DTYPE_U8 : SL_DTYPE_F32, nd, shape));
  int64_t n = g_host->tensor_numel(*out);
  if (n == 0) return SL_OK;
  cu_strided d;
  const sl_tensor *ops[3] = { *out, a, b };
  describe(&d, nd, shape, 3, ops);
  int flat = flat_like(a, nd, shape) && flat_like(b, nd, shape);
  const float *pa = a ? (const float *)g_host->tensor_data(a) : NULL;
  const float *pb = b ? (const float *)g_host->tensor_data(b) : NULL;
  unsigned nb = cu_blocks(n, 256);
  if (bin_is_bool(op))
    binary_kernel<uint8_t><<<nb, 256>>>((uint8_t *)g_host->tensor_data(*out), op, pa, (float)sa, pb, (float)sb, d, n, flat);
  else
    binary_kernel<float><<<nb, 256>>>((float *)g_host->tensor_data(*out), op, pa, (float)sa, pb, (float)sb, d, n, flat);
  sl_status st = cu_launched(name);
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}

/* ---- unary ---- */

template <typename TO>
__global__ void unary_kernel(TO *o, int op, const float *x, cu_strided d, int64_t n, int flat) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float v;
    if (flat) v = x[i];
    else { int64_t off[2]; cu_offsets(d, i, 2, off); v = x[off[1]]; }
    o[i] = (TO)cu_unary_apply(op, v);
  }
}

static int un_is_bool(int op) { return op == SL_UN_ISNAN || op == SL_UN_ISINF || op == SL_UN_ISFINITE || op == SL_UN_NOT; }

sl_status cu_unary(sl_tensor **out, int op, const sl_tensor *x) {
  *out = NULL;
  if (op < 0 || op >= SL_UN_COUNT) return CU_ERR(SL_ERR_ARG, "unary (cuda): unknown op %d", op);
  const char *name = k_un_names[op];
  if (x->dtype != SL_DTYPE_F32) return CU_ERR(SL_ERR_NOT_IMPL, "%s (cuda): only float32 tensors are supported", name);
  SL_TRY(cu_empty(out, un_is_bool(op) ? SL_DTYPE_U8 : SL_DTYPE_F32, x->ndim, x->shape));
  int64_t n = g_host->tensor_numel(*out);
  if (n == 0) return SL_OK;
  cu_strided d;
  const sl_tensor *ops[2] = { *out, x };
  describe(&d, x->ndim, x->shape, 2, ops);
  int flat = g_host->tensor_is_contiguous(x);
  const float *px = (const float *)g_host->tensor_data(x);
  unsigned nb = cu_blocks(n, 256);
  if (un_is_bool(op)) unary_kernel<uint8_t><<<nb, 256>>>((uint8_t *)g_host->tensor_data(*out), op, px, d, n, flat);
  else unary_kernel<float><<<nb, 256>>>((float *)g_host->tensor_data(*out), op, px, d, n, flat);
  sl_status st = cu_launched(name);
  if (st != SL_OK) { g_host->tensor_release(*out); *out = NULL; }
  return st;
}
