/* l_device.c — devices from Lua: moving tensors (t:cuda(), t:cpu(), t:to("cuda")), the default
 * device, CUDA memory and switches, and dispatch of ops on CUDA tensors to the plugin's kernels.
 *
 *   t:cuda()  t:cpu()  t:to("cuda"|"cpu"|dtype)  t:device() → "cpu"|"cuda"  t:is_cuda()
 *   sl.set_default_device("cuda"|"cpu")  sl.get_default_device()  sl.cuda_available()
 *   sl.cuda_synchronize()  sl.cuda_memory() → {allocated, cached, tensor_bytes}
 *   sl.cuda_empty_cache()  sl.cuda_tf32(on)  sl.cuda_rng_u32(generator, n) → int32 words (tests)
 *
 * Dispatch.  The CPU bindings call CPU kernels directly and refuse device tensors (their core
 * functions check the device).  Rather than editing every binding, this module wraps the
 * functions that have a CUDA kernel: the wrapper looks at the arguments and, when one is a CUDA
 * tensor, runs the CUDA path here; otherwise it calls the original binding unchanged.  Wrappers
 * are installed only when the CUDA backend is available, so a CPU-only process runs exactly
 * the code it ran before.  The module is named zz_device so that it opens after every other
 * binding module (the build opens them in name order) and finds their functions in place.
 *
 * On CUDA the wrapped ops take float32 tensors and the common argument forms (no out=, alpha,
 * or indices); anything else raises "<op>: ... not supported on cuda" rather than silently
 * moving data.  Default device "cuda" makes the tensor constructors (zeros, ones, empty, full,
 * tensor, arange, linspace) and generator draws return CUDA tensors. */
#include "sl_lua.h"
#include "sl_lua_rng.h"
#include "../core/sl_backend.h"
#include "../core/sl_device.h"
#include "../core/sl_elementwise.h"
#include "../core/sl_norm.h"
#include "../core/sl_reduce.h"
#include "../core/sl_rng.h"
#include "../core/sl_conv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static sl_device g_default = SL_DEV_CPU;

static const sl_backend *cuda_or_raise(lua_State *L, const char *op) {
  const sl_backend *be = sl_backend_get(SL_DEV_CUDA);
  if (!be) luaL_error(L, "%s: CUDA is not available (%s)", op, sl_backend_get_status()->reason);
  return be;
}

/* The CUDA op slot `name`, or raises. */
static sl_backend_fn cuda_op(lua_State *L, const char *name, const char *op) {
  cuda_or_raise(L, op);
  const sl_backend_op *o = sl_backend_find_op(SL_DEV_CUDA, name);
  if (!o) luaL_error(L, "%s: the CUDA plugin has no '%s' kernel (plugin older than this binary?)", op, name);
  return o->fn;
}

static int parse_device(lua_State *L, int idx, sl_device *d) {
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  const char *s = lua_tostring(L, idx);
  if (!strcmp(s, "cuda") || !strncmp(s, "cuda:", 5)) { *d = SL_DEV_CUDA; return 1; }
  if (!strcmp(s, "cpu")) { *d = SL_DEV_CPU; return 1; }
  return 0;
}

static int push_moved(lua_State *L, int idx, sl_device dev, const char *op) {
  sl_tensor *t = sl_lua_check_tensor(L, idx), *r = NULL;
  if (dev == SL_DEV_CUDA) cuda_or_raise(L, op);
  SL_LUA_TRY(L, op, sl_tensor_to_device(&r, t, dev));
  sl_lua_push_tensor(L, r);
  return 1;
}

static int m_cuda(lua_State *L) { return push_moved(L, 1, SL_DEV_CUDA, "cuda"); }
static int m_cpu(lua_State *L) { return push_moved(L, 1, SL_DEV_CPU, "cpu"); }
static int m_is_cuda(lua_State *L) { lua_pushboolean(L, sl_tensor_device(sl_lua_check_tensor(L, 1)) == SL_DEV_CUDA); return 1; }

/* Calls the function this closure wraps (upvalue 1) with the same arguments, returning all its
 * results. */
static int call_original(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* t:to("cuda") / t:to("cpu") move; anything else (a dtype) goes to the original t:to. */
static int m_to(lua_State *L) {
  sl_device d;
  if (parse_device(L, 2, &d)) return push_moved(L, 1, d, "to");
  return call_original(L);
}

static int l_set_default_device(lua_State *L) {
  sl_device d;
  if (!parse_device(L, 1, &d))
    return luaL_error(L, "set_default_device: expected \"cpu\" or \"cuda\", got %s",
                      lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : luaL_typename(L, 1));
  if (d == SL_DEV_CUDA) cuda_or_raise(L, "set_default_device");
  g_default = d;
  return 0;
}
static int l_get_default_device(lua_State *L) { lua_pushstring(L, sl_device_name(g_default)); return 1; }
static int l_cuda_available(lua_State *L) { lua_pushboolean(L, sl_backend_get(SL_DEV_CUDA) != NULL); return 1; }

static int l_cuda_synchronize(lua_State *L) {
  const sl_backend *be = cuda_or_raise(L, "cuda_synchronize");
  SL_LUA_TRY(L, "cuda_synchronize", be->synchronize());
  return 0;
}

static int l_cuda_memory(lua_State *L) {
  const sl_backend *be = sl_backend_get(SL_DEV_CUDA);
  int64_t in_use = 0, cached = 0;
  if (be && be->memory_stats) be->memory_stats(&in_use, &cached);
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, (lua_Number)in_use); lua_setfield(L, -2, "allocated");
  lua_pushnumber(L, (lua_Number)cached); lua_setfield(L, -2, "cached");
  lua_pushnumber(L, (lua_Number)sl_live_bytes(SL_DEV_CUDA)); lua_setfield(L, -2, "tensor_bytes");
  return 1;
}

static int l_cuda_empty_cache(lua_State *L) {
  const sl_backend *be = sl_backend_get(SL_DEV_CUDA);
  if (be && be->empty_cache) be->empty_cache();
  (void)L;
  return 0;
}

static int l_cuda_tf32(lua_State *L) {
  sl_cuda_set_tf32_fn f = (sl_cuda_set_tf32_fn)cuda_op(L, "set_tf32", "cuda_tf32");
  f(lua_toboolean(L, 1));
  return 0;
}

/* sl.cuda_rng_u32(g, n): n raw words of g's stream from g's offset, as a CUDA int32 tensor
 * (bit patterns); g is not advanced.  For the parity specs. */
static int l_cuda_rng_u32(lua_State *L) {
  sl_generator *g = sl_lua_check_generator(L, 1);
  int64_t n = (int64_t)luaL_checkinteger(L, 2);
  sl_cuda_rng_u32_fn f = (sl_cuda_rng_u32_fn)cuda_op(L, "rng_u32", "cuda_rng_u32");
  sl_tensor *t = NULL;
  SL_LUA_TRY(L, "cuda_rng_u32", sl_tensor_empty_on(&t, SL_DTYPE_I32, 1, &n, SL_DEV_CUDA));
  sl_lua_push_tensor(L, t);
  SL_LUA_TRY(L, "cuda_rng_u32", f(t, g->stream.key, g->stream.hi, g->offset));
  return 1;
}

/* ------------------------------------------------------------------ dispatch */

enum { H_BIN, H_UN, H_RED, H_MATMUL, H_CONV, H_NORM, H_RFFT2, H_IRFFT2, H_CREATE, H_RNG_NEW, H_RNG_FILL };

static int is_cuda_arg(lua_State *L, int i) {
  if (!sl_lua_is_tensor(L, i)) return 0;
  return sl_tensor_device(sl_lua_check_tensor(L, i)) == SL_DEV_CUDA;
}

static int any_cuda(lua_State *L) {
  int top = lua_gettop(L);
  for (int i = 1; i <= top; i++) if (is_cuda_arg(L, i)) return 1;
  return 0;
}

/* A CUDA float32 tensor argument, or raises naming the op. */
static sl_tensor *cuda_f32(lua_State *L, int idx, const char *op) {
  sl_tensor *t = sl_lua_check_tensor(L, idx);
  if (sl_tensor_device(t) != SL_DEV_CUDA)
    luaL_error(L, "%s: argument %d is on %s but another argument is on cuda; move them to one device first",
               op, idx, sl_device_name(sl_tensor_device(t)));
  if (t->dtype != SL_DTYPE_F32)
    luaL_error(L, "%s: only float32 tensors are supported on cuda, argument %d is %s", op, idx, sl_dtype_name(t->dtype));
  return t;
}

static void no_extra_args(lua_State *L, int from, const char *op) {
  for (int i = from; i <= lua_gettop(L); i++)
    if (!lua_isnil(L, i)) luaL_error(L, "%s: argument %d (out=, alpha, options) is not supported on cuda", op, i);
}

/* SL_LUA_TRY for functions that do not return int (sl_lua_raise never returns). */
#define RAISE_IF(L, op, expr) do { if ((expr) != SL_OK) sl_lua_raise((L), (op)); } while (0)

/* Contiguous version of a device tensor (the copy kernel), pushed to keep it alive. */
static sl_tensor *push_contig(lua_State *L, sl_tensor *t, const char *op) {
  sl_tensor *c = NULL;
  RAISE_IF(L, op, sl_tensor_contiguous(&c, t));
  sl_lua_push_tensor(L, c);
  return c;
}

static int h_binary(lua_State *L, int op) {
  const char *name = sl_binop_name((sl_binop)op);
  no_extra_args(L, 3, name);
  sl_tensor *a = lua_type(L, 1) == LUA_TNUMBER ? NULL : cuda_f32(L, 1, name);
  sl_tensor *b = lua_type(L, 2) == LUA_TNUMBER ? NULL : cuda_f32(L, 2, name);
  double sa = a ? 0 : lua_tonumber(L, 1), sb = b ? 0 : lua_tonumber(L, 2);
  sl_cuda_binary_fn f = (sl_cuda_binary_fn)cuda_op(L, "binary", name);
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, name, f(&r, op, a, sa, b, sb));
  sl_lua_push_tensor(L, r);
  return 1;
}

static int h_unary(lua_State *L, int op) {
  const char *name = sl_unop_name((sl_unop)op);
  no_extra_args(L, 2, name);
  sl_tensor *x = cuda_f32(L, 1, name);
  sl_cuda_unary_fn f = (sl_cuda_unary_fn)cuda_op(L, "unary", name);
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, name, f(&r, op, x));
  sl_lua_push_tensor(L, r);
  return 1;
}

/* t:sum([dims] [, keepdim]), t:var([dims] [, unbiased] [, keepdim]) …: the reduced dims are
 * permuted to the end, made contiguous, and reduced as rows. */
/* The handlers below push temporaries (contiguous copies) on the stack, so each first fixes the
 * argument slots with lua_settop: optional arguments are then read from the right index. */
static int h_reduce(lua_State *L, int op) {
  const char *name = sl_reduce_op_name((sl_reduce_op)op);
  lua_settop(L, 4);
  sl_tensor *t = cuda_f32(L, 1, name);
  int varlike = op == SL_REDUCE_VAR || op == SL_REDUCE_STD;
  if (varlike && lua_type(L, 2) == LUA_TBOOLEAN) { lua_pushnil(L); lua_insert(L, 2); }
  double param = varlike ? (lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3)) : 0;
  int keepdim = lua_toboolean(L, varlike ? 4 : 3);
  if ((op == SL_REDUCE_MIN || op == SL_REDUCE_MAX) && lua_type(L, 2) == LUA_TNUMBER &&
      strcmp(lua_tostring(L, lua_upvalueindex(4)), "amin") && strcmp(lua_tostring(L, lua_upvalueindex(4)), "amax"))
    return luaL_error(L, "%s(dim) returns indices, which is not implemented on cuda; use amin/amax or a {dim} table", name);
  uint32_t mask = 0;
  int given = 0;
  if (!lua_isnoneornil(L, 2)) {
    int n = lua_type(L, 2) == LUA_TNUMBER ? 1 : (lua_istable(L, 2) ? (int)lua_objlen(L, 2) : -1);
    if (n <= 0) return luaL_error(L, "%s: dims must be a number or a non-empty table of numbers", name);
    int dims[SL_MAX_DIMS + 1];
    for (int j = 0; j < n && j <= SL_MAX_DIMS; j++) {
      if (lua_type(L, 2) == LUA_TNUMBER) lua_pushvalue(L, 2); else lua_rawgeti(L, 2, j + 1);
      int d = (int)luaL_checkinteger(L, -1);
      lua_pop(L, 1);
      dims[j] = d > 0 ? d - 1 : d;   /* core: 0-based, negative from the end */
    }
    SL_LUA_TRY(L, name, sl_reduce_dims_mask(t, n > SL_MAX_DIMS ? SL_MAX_DIMS : n, dims, &mask, name));
    given = 1;
  }
  if (!given) mask = t->ndim ? (uint32_t)((1u << t->ndim) - 1) : 0;
  int perm[SL_MAX_DIMS], np = 0;
  int64_t inner = 1, out_shape[SL_MAX_DIMS];
  int out_nd = 0;
  for (int d = 0; d < t->ndim; d++) if (!(mask >> d & 1)) perm[np++] = d;
  for (int d = 0; d < t->ndim; d++) if (mask >> d & 1) { perm[np++] = d; inner *= t->shape[d]; }
  for (int d = 0; d < t->ndim; d++) {
    if (!(mask >> d & 1)) out_shape[out_nd++] = t->shape[d];
    else if (keepdim) out_shape[out_nd++] = 1;
  }
  sl_tensor *p = NULL;
  SL_LUA_TRY(L, name, sl_tensor_permute(&p, t, perm));
  sl_lua_push_tensor(L, p);
  sl_tensor *c = push_contig(L, p, name);
  sl_cuda_reduce_last_fn f = (sl_cuda_reduce_last_fn)cuda_op(L, "reduce_last", name);
  sl_tensor *r = NULL;
  if (inner == 0) return luaL_error(L, "%s: empty reduction on cuda is not supported", name);
  SL_LUA_TRY(L, name, f(&r, c, op, inner, param, out_nd, out_shape));
  if (!given && !keepdim) {   /* whole-tensor reduction → a Lua number, as on the CPU */
    double v = sl_tensor_get_linear(r, 0);
    sl_tensor_release(r);
    lua_pushnumber(L, v);
    return 1;
  }
  sl_lua_push_tensor(L, r);
  return 1;
}

static int h_matmul(lua_State *L) {
  no_extra_args(L, 3, "matmul");
  lua_settop(L, 2);
  sl_tensor *a = push_contig(L, cuda_f32(L, 1, "matmul"), "matmul");
  sl_tensor *b = push_contig(L, cuda_f32(L, 2, "matmul"), "matmul");
  sl_cuda_matmul_fn f = (sl_cuda_matmul_fn)cuda_op(L, "matmul", "matmul");
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, "matmul", f(&r, a, b));
  sl_lua_push_tensor(L, r);
  return 1;
}

/* sl.conv2d(x, w, bias, {padding=}) → out, "im2col_cuda" (other options are CPU-only). */
static int h_conv(lua_State *L) {
  lua_settop(L, 4);
  sl_tensor *x = push_contig(L, cuda_f32(L, 1, "conv2d"), "conv2d");
  sl_tensor *w = push_contig(L, cuda_f32(L, 2, "conv2d"), "conv2d");
  sl_tensor *bias = lua_isnoneornil(L, 3) ? NULL : push_contig(L, cuda_f32(L, 3, "conv2d"), "conv2d");
  int circular = 0;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_getfield(L, 4, "padding");
    if (!lua_isnil(L, -1)) {
      sl_conv_padding p;
      if (sl_conv_padding_from_name(luaL_checkstring(L, -1), &p) != 0)
        return luaL_error(L, "conv2d: unknown padding '%s' (expected \"zeros\" or \"circular\")", lua_tostring(L, -1));
      circular = p == SL_CONV_PAD_CIRCULAR;
    }
    lua_getfield(L, 4, "out");
    if (!lua_isnil(L, -1)) return luaL_error(L, "conv2d: out= is not supported on cuda");
    lua_pop(L, 2);
  }
  sl_cuda_conv2d_fn f = (sl_cuda_conv2d_fn)cuda_op(L, "conv2d", "conv2d");
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, "conv2d", f(&r, x, w, bias, circular));
  sl_lua_push_tensor(L, r);
  lua_pushstring(L, "im2col_cuda");
  return 2;
}

/* sl.instance_norm(x, weight, bias, eps, act) */
static int h_norm(lua_State *L) {
  no_extra_args(L, 6, "instance_norm");
  lua_settop(L, 5);
  sl_tensor *x = push_contig(L, cuda_f32(L, 1, "instance_norm"), "instance_norm");
  sl_tensor *w = lua_isnoneornil(L, 2) ? NULL : push_contig(L, cuda_f32(L, 2, "instance_norm"), "instance_norm");
  sl_tensor *b = lua_isnoneornil(L, 3) ? NULL : push_contig(L, cuda_f32(L, 3, "instance_norm"), "instance_norm");
  double eps = luaL_optnumber(L, 4, 1e-5);
  sl_act act = SL_ACT_NONE;
  if (!lua_isnoneornil(L, 5) && sl_act_from_name(luaL_checkstring(L, 5), &act) != 0)
    return luaL_error(L, "instance_norm: unknown activation '%s' (expected none, relu, gelu, silu or tanh)", lua_tostring(L, 5));
  sl_cuda_instance_norm_act_fn f = (sl_cuda_instance_norm_act_fn)cuda_op(L, "instance_norm_act", "instance_norm");
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, "instance_norm", f(&r, x, w, b, eps, (int)act));
  sl_lua_push_tensor(L, r);
  return 1;
}

/* Scales a fresh device result in place by s (FFT norms other than "backward"). */
static void scale_result(lua_State *L, sl_tensor **r, double s, const char *op) {
  if (s == 1) return;
  sl_cuda_binary_fn f = (sl_cuda_binary_fn)cuda_op(L, "binary", op);
  sl_tensor *y = NULL;
  sl_status st = f(&y, SL_BIN_MUL, *r, 0, NULL, s);
  sl_tensor_release(*r);
  *r = y;
  if (st != SL_OK) sl_lua_raise(L, op);
}

static double norm_factor(lua_State *L, int idx, double n, int inverse, const char *op) {
  const char *s = lua_isnoneornil(L, idx) ? "backward" : luaL_checkstring(L, idx);
  if (!strcmp(s, "backward")) return 1;
  if (!strcmp(s, "ortho")) return inverse ? sqrt(n) : 1 / sqrt(n);    /* inverse kernel already divided by n */
  if (!strcmp(s, "forward")) return inverse ? n : 1 / n;
  luaL_error(L, "%s: norm must be \"backward\", \"ortho\" or \"forward\", got '%s'", op, s);
  return 1;
}

static int h_rfft2(lua_State *L) {
  lua_settop(L, 2);
  sl_tensor *x = push_contig(L, cuda_f32(L, 1, "rfft2"), "rfft2");
  if (x->ndim < 2) return luaL_error(L, "rfft2: need at least 2 dims, got %d", x->ndim);
  double n = (double)x->shape[x->ndim - 2] * (double)x->shape[x->ndim - 1];
  double s = norm_factor(L, 2, n, 0, "rfft2");
  sl_cuda_rfft2_fn f = (sl_cuda_rfft2_fn)cuda_op(L, "rfft2", "rfft2");
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, "rfft2", f(&r, x));
  scale_result(L, &r, s, "rfft2");
  sl_lua_push_tensor(L, r);
  return 1;
}

/* X:irfft2([{h, w}] [, norm]) */
static int h_irfft2(lua_State *L) {
  lua_settop(L, 3);
  sl_tensor *X = push_contig(L, cuda_f32(L, 1, "irfft2"), "irfft2");
  if (X->ndim < 3) return luaL_error(L, "irfft2: expected a complex tensor [..., H, W/2+1, 2]");
  int64_t w = 0;
  if (lua_istable(L, 2)) {
    lua_rawgeti(L, 2, 1);
    int64_t h = (int64_t)luaL_checkinteger(L, -1);
    lua_rawgeti(L, 2, 2);
    w = (int64_t)luaL_checkinteger(L, -1);
    lua_pop(L, 2);
    if (h != X->shape[X->ndim - 3]) return luaL_error(L, "irfft2: output height %d differs from the input's %d on cuda",
                                                      (int)h, (int)X->shape[X->ndim - 3]);
  }
  int64_t wo = w > 0 ? w : 2 * (X->shape[X->ndim - 2] - 1);
  double s = norm_factor(L, 3, (double)X->shape[X->ndim - 3] * (double)wo, 1, "irfft2");
  sl_cuda_irfft2_fn f = (sl_cuda_irfft2_fn)cuda_op(L, "irfft2", "irfft2");
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, "irfft2", f(&r, X, w));
  scale_result(L, &r, s, "irfft2");
  sl_lua_push_tensor(L, r);
  return 1;
}

/* Generator draws on CUDA: same positions and offset bookkeeping as l_rng.c. */
static void rng_fill_cuda(lua_State *L, sl_generator *g, sl_tensor *t, int kind, int pidx) {
  static const double defaults[SL_RNG_KIND_COUNT][2] = { { 0, 1 }, { 0, 1 }, { 0, 1 }, { 0.5, 0 } };
  const char *name = sl_rng_kind_name((sl_rng_kind)kind);
  double p1 = luaL_optnumber(L, pidx, defaults[kind][0]);
  double p2 = kind == SL_RNG_BERNOULLI ? 0 : luaL_optnumber(L, pidx + 1, defaults[kind][1]);
  sl_cuda_rng_fill_fn f = (sl_cuda_rng_fill_fn)cuda_op(L, "rng_fill", name);
  if (sl_tensor_is_contiguous(t)) {
    RAISE_IF(L, name, f(t, kind, g->stream.key, g->stream.hi, g->offset, p1, p2));
  } else {   /* row-major order of a contiguous temporary, then scattered (as rng.c) */
    sl_tensor *tmp = NULL;
    RAISE_IF(L, name, sl_tensor_empty_on(&tmp, t->dtype, t->ndim, t->shape, SL_DEV_CUDA));
    sl_lua_push_tensor(L, tmp);
    RAISE_IF(L, name, f(tmp, kind, g->stream.key, g->stream.hi, g->offset, p1, p2));
    RAISE_IF(L, name, sl_tensor_copy(t, tmp));
    lua_pop(L, 1);
  }
  g->offset += sl_rng_fill_words((sl_rng_kind)kind, t->dtype, sl_tensor_numel(t));
}

static int h_rng_fill(lua_State *L, int kind) {   /* g:normal_(t, p1, p2) */
  sl_generator *g = sl_lua_check_generator(L, 1);
  sl_tensor *t = sl_lua_check_tensor(L, 2);
  rng_fill_cuda(L, g, t, kind, 3);
  lua_settop(L, 2);
  return 1;
}

static int h_rng_new(lua_State *L, int kind) {    /* g:normal(shape, p1, p2, dtype) */
  sl_generator *g = sl_lua_check_generator(L, 1);
  lua_settop(L, 5);
  int64_t shape[SL_MAX_DIMS];
  int nd;
  if (lua_type(L, 2) == LUA_TNUMBER) { shape[0] = (int64_t)lua_tonumber(L, 2); nd = 1; }
  else if (lua_istable(L, 2)) nd = sl_lua_check_shape(L, 2, shape);
  else return luaL_argerror(L, 2, "shape (number or table of sizes) expected");
  int didx = kind == SL_RNG_BERNOULLI ? 4 : 5;
  sl_dtype dt = sl_lua_opt_dtype(L, didx, SL_DTYPE_F32);
  if (dt != SL_DTYPE_F32 && dt != SL_DTYPE_F64)
    return luaL_error(L, "%s: dtype must be float32 or float64", sl_rng_kind_name((sl_rng_kind)kind));
  sl_tensor *t = NULL;
  SL_LUA_TRY(L, sl_rng_kind_name((sl_rng_kind)kind), sl_tensor_empty_on(&t, dt, nd, shape, SL_DEV_CUDA));
  sl_lua_push_tensor(L, t);
  rng_fill_cuda(L, g, t, kind, 3);
  return 1;
}

/* Upvalues: 1 original function, 2 handler kind, 3 op code, 4 name. */
static int dispatch(lua_State *L) {
  int kind = (int)lua_tointeger(L, lua_upvalueindex(2)), code = (int)lua_tointeger(L, lua_upvalueindex(3));
  if (kind == H_CREATE) {   /* constructors: build on the CPU, then move when the default is cuda */
    int n = call_original(L);
    if (g_default == SL_DEV_CUDA && n >= 1 && sl_lua_is_tensor(L, -n)) {
      int idx = lua_gettop(L) - n + 1;
      push_moved(L, idx, SL_DEV_CUDA, lua_tostring(L, lua_upvalueindex(4)));
      lua_replace(L, idx);
    }
    return n;
  }
  if (kind == H_RNG_NEW) return g_default == SL_DEV_CUDA ? h_rng_new(L, code) : call_original(L);
  if (kind == H_RNG_FILL) return is_cuda_arg(L, 2) ? h_rng_fill(L, code) : call_original(L);
  if (!any_cuda(L)) return call_original(L);
  switch (kind) {
    case H_BIN: return h_binary(L, code);
    case H_UN: return h_unary(L, code);
    case H_RED: return h_reduce(L, code);
    case H_MATMUL: return h_matmul(L);
    case H_CONV: return h_conv(L);
    case H_NORM: return h_norm(L);
    case H_RFFT2: return h_rfft2(L);
    case H_IRFFT2: return h_irfft2(L);
    default: return call_original(L);
  }
}

/* Replaces tbl[name] (when it is a function) by a dispatching closure. */
static void wrap(lua_State *L, int tbl, const char *name, int kind, int code) {
  lua_getfield(L, tbl, name);
  if (!lua_isfunction(L, -1)) { lua_pop(L, 1); return; }
  lua_pushinteger(L, kind);
  lua_pushinteger(L, code);
  lua_pushstring(L, name);
  lua_pushcclosure(L, dispatch, 4);
  lua_setfield(L, tbl, name);
}

/* Wraps name in the core table and the Tensor methods (metamethods are wrapped one by one). */
static void wrap_all(lua_State *L, int core, int methods, const char *name, int kind, int code) {
  wrap(L, core, name, kind, code);
  wrap(L, methods, name, kind, code);
}

static void install_dispatch(lua_State *L, int core) {
  luaL_getmetatable(L, SL_TENSOR_MT);
  int mt = lua_gettop(L);
  lua_getfield(L, mt, "__methods");
  int methods = lua_gettop(L);
  for (int op = 0; op < SL_BIN_COUNT; op++) wrap_all(L, core, methods, sl_binop_name((sl_binop)op), H_BIN, op);
  static const struct { const char *name; int op; } meta[] = {
    { "__add", SL_BIN_ADD }, { "__sub", SL_BIN_SUB }, { "__mul", SL_BIN_MUL }, { "__div", SL_BIN_DIV }, { "__pow", SL_BIN_POW } };
  for (size_t i = 0; i < sizeof meta / sizeof *meta; i++) wrap(L, mt, meta[i].name, H_BIN, meta[i].op);
  for (int op = 0; op < SL_UN_COUNT; op++) wrap_all(L, core, methods, sl_unop_name((sl_unop)op), H_UN, op);
  static const struct { const char *name; int op; } red[] = {
    { "sum", SL_REDUCE_SUM }, { "mean", SL_REDUCE_MEAN }, { "var", SL_REDUCE_VAR }, { "std", SL_REDUCE_STD },
    { "min", SL_REDUCE_MIN }, { "max", SL_REDUCE_MAX }, { "amin", SL_REDUCE_MIN }, { "amax", SL_REDUCE_MAX } };
  for (size_t i = 0; i < sizeof red / sizeof *red; i++) wrap_all(L, core, methods, red[i].name, H_RED, red[i].op);
  wrap_all(L, core, methods, "matmul", H_MATMUL, 0);
  wrap_all(L, core, methods, "conv2d", H_CONV, 0);
  wrap_all(L, core, methods, "instance_norm", H_NORM, 0);
  wrap_all(L, core, methods, "rfft2", H_RFFT2, 0);
  wrap_all(L, core, methods, "irfft2", H_IRFFT2, 0);
  static const char *const creators[] = { "tensor", "zeros", "ones", "empty", "full", "arange", "linspace" };
  for (size_t i = 0; i < sizeof creators / sizeof *creators; i++) wrap(L, core, creators[i], H_CREATE, 0);
  lua_pop(L, 2);

  luaL_getmetatable(L, SL_GENERATOR_MT);
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "__index");
    if (lua_istable(L, -1)) {
      int gm = lua_gettop(L);
      for (int k = 0; k < SL_RNG_KIND_COUNT; k++) {
        const char *kind = sl_rng_kind_name((sl_rng_kind)k);
        char inplace[32];
        snprintf(inplace, sizeof inplace, "%s_", kind);
        wrap(L, gm, kind, H_RNG_NEW, k);
        wrap(L, gm, inplace, H_RNG_FILL, k);
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* Opens after every other module (name order): see the note at the top. */
SL_LUA_MODULE(zz_device) {
  static const luaL_Reg fns[] = {
    { "set_default_device", l_set_default_device }, { "get_default_device", l_get_default_device },
    { "cuda_available", l_cuda_available }, { "cuda_synchronize", l_cuda_synchronize },
    { "cuda_memory", l_cuda_memory }, { "cuda_empty_cache", l_cuda_empty_cache }, { "cuda_tf32", l_cuda_tf32 },
    { "cuda_rng_u32", l_cuda_rng_u32 }, { NULL, NULL },
  };
  sl_lua_set_functions(L, core, fns);
  static const luaL_Reg methods[] = {
    { "cuda", m_cuda }, { "cpu", m_cpu }, { "is_cuda", m_is_cuda }, { NULL, NULL },
  };
  sl_lua_add_tensor_methods(L, methods);

  /* t:to keeps its dtype meaning and learns device names. */
  luaL_getmetatable(L, SL_TENSOR_MT);
  lua_getfield(L, -1, "__methods");
  lua_getfield(L, -1, "to");
  if (lua_isfunction(L, -1)) {
    lua_pushcclosure(L, m_to, 1);
    lua_setfield(L, -2, "to");
  } else {
    lua_pop(L, 1);
  }
  lua_pop(L, 2);

  if (sl_backend_get(SL_DEV_CUDA)) install_dispatch(L, core);
  return 0;
}
