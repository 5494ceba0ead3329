/* l_tensor.c — the Tensor userdata: creation, metadata, views, copies, element access.
 *
 * Lua conventions (1-based dims and indices, torch7 style) are converted here; the core stays
 * 0-based.  Arithmetic metamethods and math ops live in their own binding modules, which add
 * entries to the metatable / method table registered below. */
#include "sl_lua.h"

#include <string.h>

typedef struct { sl_tensor *t; } tensor_ud;

static sl_tensor *self(lua_State *L) { return sl_lua_check_tensor(L, 1); }

/* Pushes a fresh tensor result or raises. */
#define PUSH_RESULT(L, op, call) do { sl_tensor *r_ = NULL; sl_status st_ = (call); \
    if (st_ != SL_OK) { return sl_lua_raise(L, op); } \
    sl_lua_push_tensor(L, r_); return 1; } while (0)

/* ------------------------------------------------------------ creation from Lua tables */

/* Walks a nested table to find its shape (checking it is rectangular). */
static int table_shape(lua_State *L, int idx, int depth, int64_t *shape, int *ndim) {
  int n = (int)lua_objlen(L, idx);
  if (depth >= SL_MAX_DIMS) return luaL_error(L, "tensor: nested tables deeper than 8 levels");
  if (depth == *ndim) { shape[depth] = n; (*ndim)++; }
  else if (shape[depth] != n)
    return luaL_error(L, "tensor: ragged nested table (dimension %d has lengths %d and %d)", depth + 1, (int)shape[depth], n);
  if (n > 0) {
    lua_rawgeti(L, idx, 1);
    int is_table = lua_istable(L, -1);
    lua_pop(L, 1);
    if (is_table) {
      for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        if (!lua_istable(L, -1)) return luaL_error(L, "tensor: ragged nested table (mixed numbers and tables at depth %d)", depth + 1);
        table_shape(L, lua_gettop(L), depth + 1, shape, ndim);
        lua_pop(L, 1);
      }
    } else if (depth + 1 < *ndim) {
      return luaL_error(L, "tensor: ragged nested table (mixed numbers and tables at depth %d)", depth + 1);
    }
  }
  return 0;
}

static void table_fill(lua_State *L, int idx, int depth, int ndim, sl_tensor *t, int64_t *pos) {
  int n = (int)lua_objlen(L, idx);
  void *data = sl_tensor_data(t);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (depth == ndim - 1) {
      if (lua_type(L, -1) == LUA_TBOOLEAN) sl_store_f64(data, t->dtype, (*pos)++, lua_toboolean(L, -1));
      else if (lua_type(L, -1) == LUA_TNUMBER) sl_store_f64(data, t->dtype, (*pos)++, lua_tonumber(L, -1));
      else { sl_tensor_release(t); luaL_error(L, "tensor: expected a number at depth %d, got %s", depth + 1, luaL_typename(L, -1)); }
    } else table_fill(L, lua_gettop(L), depth + 1, ndim, t, pos);
    lua_pop(L, 1);
  }
}

/* sl.tensor(table_or_number [, dtype]) */
static int l_tensor(lua_State *L) {
  sl_dtype dt = sl_lua_opt_dtype(L, 2, SL_DTYPE_F32);
  sl_tensor *t;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    SL_LUA_TRY(L, "tensor", sl_tensor_full(&t, dt, 0, NULL, lua_tonumber(L, 1)));
  } else if (sl_lua_is_tensor(L, 1)) {
    SL_LUA_TRY(L, "tensor", sl_tensor_to_dtype(&t, sl_lua_check_tensor(L, 1), lua_isnoneornil(L, 2) ? sl_lua_check_tensor(L, 1)->dtype : dt));
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    int64_t shape[SL_MAX_DIMS]; int ndim = 0;
    table_shape(L, 1, 0, shape, &ndim);
    SL_LUA_TRY(L, "tensor", sl_tensor_empty(&t, dt, ndim, shape));
    int64_t pos = 0;
    table_fill(L, 1, 0, ndim, t, &pos);
  }
  sl_lua_push_tensor(L, t);
  return 1;
}

/* Trailing optional dtype argument after a shape given as numbers or a table. */
static int shape_and_dtype(lua_State *L, int idx, int64_t *shape, sl_dtype *dt) {
  int ndim = sl_lua_check_shape(L, idx, shape);
  int next = lua_istable(L, idx) ? idx + 1 : idx + ndim;
  *dt = sl_lua_opt_dtype(L, next, SL_DTYPE_F32);
  return ndim;
}

static int l_zeros(lua_State *L) {
  int64_t shape[SL_MAX_DIMS]; sl_dtype dt;
  int nd = shape_and_dtype(L, 1, shape, &dt);
  PUSH_RESULT(L, "zeros", sl_tensor_zeros(&r_, dt, nd, shape));
}
static int l_ones(lua_State *L) {
  int64_t shape[SL_MAX_DIMS]; sl_dtype dt;
  int nd = shape_and_dtype(L, 1, shape, &dt);
  PUSH_RESULT(L, "ones", sl_tensor_full(&r_, dt, nd, shape, 1.0));
}
static int l_empty(lua_State *L) {
  int64_t shape[SL_MAX_DIMS]; sl_dtype dt;
  int nd = shape_and_dtype(L, 1, shape, &dt);
  PUSH_RESULT(L, "empty", sl_tensor_empty(&r_, dt, nd, shape));
}
/* sl.full(shape_table, value [, dtype]) */
static int l_full(lua_State *L) {
  int64_t shape[SL_MAX_DIMS];
  luaL_checktype(L, 1, LUA_TTABLE);
  int nd = sl_lua_check_shape(L, 1, shape);
  double v = luaL_checknumber(L, 2);
  sl_dtype dt = sl_lua_opt_dtype(L, 3, SL_DTYPE_F32);
  PUSH_RESULT(L, "full", sl_tensor_full(&r_, dt, nd, shape, v));
}
/* sl.arange(stop) | sl.arange(start, stop [, step [, dtype]]) — stop exclusive like numpy. */
static int l_arange(lua_State *L) {
  double start = 0, stop, step = 1;
  int di;
  if (lua_type(L, 2) != LUA_TNUMBER) { stop = luaL_checknumber(L, 1); di = 2; }
  else {
    start = luaL_checknumber(L, 1); stop = luaL_checknumber(L, 2);
    if (lua_type(L, 3) == LUA_TNUMBER) { step = lua_tonumber(L, 3); di = 4; } else di = 3;
  }
  sl_dtype dt = sl_lua_opt_dtype(L, di, SL_DTYPE_F32);
  PUSH_RESULT(L, "arange", sl_tensor_arange(&r_, dt, start, stop, step));
}
static int l_linspace(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  int64_t n = (int64_t)luaL_checknumber(L, 3);
  sl_dtype dt = sl_lua_opt_dtype(L, 4, SL_DTYPE_F32);
  PUSH_RESULT(L, "linspace", sl_tensor_linspace(&r_, dt, a, b, n));
}
/* sl.from_ptr(ptr, shape, dtype [, copy]) — wraps (or copies, when copy ~= false) foreign
 * memory.  ptr is a lightuserdata (t:ptr()) or an address as a number; FFI cdata (pointers,
 * arrays) is turned into its address by the Lua wrapper in lua/spinlock/init.lua, because from
 * C lua_topointer() on a cdata gives the cdata object's own address, not the pointer it holds.
 * A wrapped tensor does not own the memory: the caller must keep it alive while it is used. */
static int l_from_ptr(lua_State *L) {
  const void *p = NULL;
  if (lua_type(L, 1) == LUA_TLIGHTUSERDATA) p = lua_touserdata(L, 1);
  else if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_Number a = lua_tonumber(L, 1);
    if (a < 0 || a != (lua_Number)(uintptr_t)a)
      return luaL_argerror(L, 1, lua_pushfstring(L, "address must be a non-negative integer, got %f", a));
    p = (const void *)(uintptr_t)a;
  } else
    return luaL_argerror(L, 1, lua_pushfstring(L, "pointer (lightuserdata, FFI cdata or address) expected, got %s",
                                               luaL_typename(L, 1)));
  if (!p) return luaL_argerror(L, 1, "non-NULL pointer expected, got NULL");
  int64_t shape[SL_MAX_DIMS];
  luaL_checktype(L, 2, LUA_TTABLE);
  int nd = sl_lua_check_shape(L, 2, shape);
  sl_dtype dt = sl_lua_opt_dtype(L, 3, SL_DTYPE_F32);
  int copy = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
  if (copy) PUSH_RESULT(L, "from_ptr", sl_tensor_from_buffer(&r_, dt, nd, shape, p));
  PUSH_RESULT(L, "from_ptr", sl_tensor_wrap(&r_, dt, nd, shape, (void *)p, NULL, NULL));
}

static int l_is_tensor(lua_State *L) { lua_pushboolean(L, sl_lua_is_tensor(L, 1)); return 1; }

static int l_memory_info(lua_State *L) {
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, (lua_Number)sl_live_bytes(SL_DEV_CPU)); lua_setfield(L, -2, "cpu_bytes");
  lua_pushnumber(L, (lua_Number)sl_live_bytes(SL_DEV_CUDA)); lua_setfield(L, -2, "cuda_bytes");
  lua_pushnumber(L, (lua_Number)sl_live_tensors()); lua_setfield(L, -2, "tensors");
  return 1;
}
static int l_set_num_threads(lua_State *L) { sl_set_num_threads((int)luaL_checkinteger(L, 1)); return 0; }
static int l_num_threads(lua_State *L) { lua_pushinteger(L, sl_num_threads()); return 1; }

/* ------------------------------------------------------------ metadata */

static int m_shape(lua_State *L) {
  sl_tensor *t = self(L);
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) { lua_pushnumber(L, (lua_Number)t->shape[i]); lua_rawseti(L, -2, i + 1); }
  return 1;
}
static int m_stride(lua_State *L) {
  sl_tensor *t = self(L);
  if (!lua_isnoneornil(L, 2)) { lua_pushnumber(L, (lua_Number)t->stride[sl_lua_check_dim(L, 2, t)]); return 1; }
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) { lua_pushnumber(L, (lua_Number)t->stride[i]); lua_rawseti(L, -2, i + 1); }
  return 1;
}
static int m_size(lua_State *L) {
  sl_tensor *t = self(L);
  if (lua_isnoneornil(L, 2)) return m_shape(L);
  lua_pushnumber(L, (lua_Number)t->shape[sl_lua_check_dim(L, 2, t)]);
  return 1;
}
static int m_dim(lua_State *L) { lua_pushinteger(L, self(L)->ndim); return 1; }
static int m_numel(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_tensor_numel(self(L))); return 1; }
static int m_dtype(lua_State *L) { lua_pushstring(L, sl_dtype_name(self(L)->dtype)); return 1; }
static int m_device(lua_State *L) { lua_pushstring(L, sl_device_name(sl_tensor_device(self(L)))); return 1; }
static int m_is_contiguous(lua_State *L) { lua_pushboolean(L, sl_tensor_is_contiguous(self(L))); return 1; }
static int m_nbytes(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_tensor_nbytes(self(L))); return 1; }
static int m_ptr(lua_State *L) { lua_pushlightuserdata(L, sl_tensor_data(self(L))); return 1; }
static int m_free(lua_State *L) { sl_lua_check_tensor(L, 1); sl_lua_free_tensor(L, 1); return 0; }
/* t:is_freed(): true after t:free() (every other method raises on a freed tensor). */
static int m_is_freed(lua_State *L) {
  tensor_ud *ud = luaL_testudata_compat(L, 1, SL_TENSOR_MT);
  if (!ud) return luaL_typerror(L, 1, "tensor");
  lua_pushboolean(L, ud->t == NULL);
  return 1;
}
static int m_shares_storage(lua_State *L) {
  lua_pushboolean(L, self(L)->storage == sl_lua_check_tensor(L, 2)->storage);
  return 1;
}

/* ------------------------------------------------------------ element access */

/* Reads 1-based indices from args start..; returns count. */
static int read_index(lua_State *L, const sl_tensor *t, int start, int64_t *idx) {
  int n = lua_gettop(L) - start + 1;
  if (n != t->ndim) luaL_error(L, "expected %d indices for a %d-d tensor, got %d", t->ndim, t->ndim, n);
  for (int i = 0; i < n; i++) {
    int64_t v = (int64_t)luaL_checknumber(L, start + i);
    if (v < 0) v += t->shape[i] + 1;
    if (v < 1 || v > t->shape[i])
      luaL_error(L, "index %d out of range for dimension %d of size %d", (int)lua_tonumber(L, start + i), i + 1, (int)t->shape[i]);
    idx[i] = v - 1;
  }
  return n;
}
static int m_get(lua_State *L) {
  sl_tensor *t = self(L); int64_t idx[SL_MAX_DIMS];
  read_index(L, t, 2, idx);
  lua_pushnumber(L, sl_tensor_get(t, idx));
  return 1;
}
/* t:set(value, i, j, ...) */
static int m_set(lua_State *L) {
  sl_tensor *t = self(L); int64_t idx[SL_MAX_DIMS];
  double v = luaL_checknumber(L, 2);
  read_index(L, t, 3, idx);
  sl_tensor_set(t, idx, v);
  lua_settop(L, 1);
  return 1;
}
static int m_item(lua_State *L) {
  sl_tensor *t = self(L);
  if (sl_tensor_numel(t) != 1) return luaL_error(L, "item: tensor has %d elements, expected exactly 1", (int)sl_tensor_numel(t));
  lua_pushnumber(L, sl_tensor_get_linear(t, 0));
  return 1;
}

static void push_values(lua_State *L, const sl_tensor *t, int d, int64_t off) {
  const void *data = t->storage->data;
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    if (d == t->ndim - 1) lua_pushnumber(L, sl_load_f64(data, t->dtype, off + i * t->stride[d]));
    else push_values(L, t, d + 1, off + i * t->stride[d]);
    lua_rawseti(L, -2, (int)i + 1);
  }
}
static int m_totable(lua_State *L) {
  sl_tensor *t = self(L);
  if (t->ndim == 0) { lua_pushnumber(L, sl_tensor_get_linear(t, 0)); return 1; }
  push_values(L, t, 0, t->offset);
  return 1;
}
/* Flat Lua array of all values in row-major order (handy in specs and scripts). */
static int m_tolist(lua_State *L) {
  sl_tensor *t = self(L);
  int64_t n = sl_tensor_numel(t);
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) { lua_pushnumber(L, sl_tensor_get_linear(t, i)); lua_rawseti(L, -2, (int)i + 1); }
  return 1;
}

/* ------------------------------------------------------------ views */

static int m_narrow(lua_State *L) {
  sl_tensor *t = self(L);
  int d = sl_lua_check_dim(L, 2, t);
  int64_t start = (int64_t)luaL_checknumber(L, 3), len = (int64_t)luaL_checknumber(L, 4);
  PUSH_RESULT(L, "narrow", sl_tensor_narrow(&r_, t, d, start - 1, len));
}
static int m_select(lua_State *L) {
  sl_tensor *t = self(L);
  int d = sl_lua_check_dim(L, 2, t);
  int64_t i = (int64_t)luaL_checknumber(L, 3);
  if (i < 0) i += t->shape[d] + 1;
  PUSH_RESULT(L, "select", sl_tensor_select(&r_, t, d, i - 1));
}
/* t:sub(dim, first, last) — inclusive 1-based range (negative counts from the end). */
static int m_sub(lua_State *L) {
  sl_tensor *t = self(L);
  int d = sl_lua_check_dim(L, 2, t);
  int64_t n = t->shape[d];
  int64_t a = (int64_t)luaL_checknumber(L, 3), b = (int64_t)luaL_optnumber(L, 4, (lua_Number)n);
  if (a < 0) a += n + 1;
  if (b < 0) b += n + 1;
  if (a < 1 || b > n || b < a - 1)
    return luaL_error(L, "sub: range %d..%d is outside dimension %d of size %d", (int)a, (int)b, d + 1, (int)n);
  PUSH_RESULT(L, "sub", sl_tensor_narrow(&r_, t, d, a - 1, b - a + 1));
}
/* t:slice(dim, first, last, step) — inclusive 1-based first..last with a positive step. */
static int m_slice(lua_State *L) {
  sl_tensor *t = self(L);
  int d = sl_lua_check_dim(L, 2, t);
  int64_t n = t->shape[d];
  int64_t a = (int64_t)luaL_optnumber(L, 3, 1), b = (int64_t)luaL_optnumber(L, 4, (lua_Number)n);
  int64_t step = (int64_t)luaL_optnumber(L, 5, 1);
  if (a < 0) a += n + 1;
  if (b < 0) b += n + 1;
  PUSH_RESULT(L, "slice", sl_tensor_slice(&r_, t, d, a - 1, b, step));
}
static int m_transpose(lua_State *L) {
  sl_tensor *t = self(L);
  int a, b;
  if (lua_isnoneornil(L, 2)) {
    if (t->ndim != 2) return luaL_error(L, "transpose: without dims the tensor must be 2-d, got %d-d", t->ndim);
    a = 0; b = 1;
  } else { a = sl_lua_check_dim(L, 2, t); b = sl_lua_check_dim(L, 3, t); }
  PUSH_RESULT(L, "transpose", sl_tensor_transpose(&r_, t, a, b));
}
static int m_permute(lua_State *L) {
  sl_tensor *t = self(L);
  int perm[SL_MAX_DIMS];
  int from_table = lua_istable(L, 2);
  int n = from_table ? (int)lua_objlen(L, 2) : lua_gettop(L) - 1;
  if (n != t->ndim) return luaL_error(L, "permute: expected %d dims for a %d-d tensor, got %d", t->ndim, t->ndim, n);
  for (int i = 0; i < n; i++) {
    int d;
    if (from_table) { lua_rawgeti(L, 2, i + 1); d = (int)lua_tonumber(L, -1); lua_pop(L, 1); }
    else d = (int)luaL_checkinteger(L, 2 + i);
    int z = d > 0 ? d - 1 : d < 0 ? t->ndim + d : -1;
    if (z < 0 || z >= t->ndim) return luaL_error(L, "permute: dimension %d out of range for a %d-d tensor", d, t->ndim);
    perm[i] = z;
  }
  PUSH_RESULT(L, "permute", sl_tensor_permute(&r_, t, perm));
}
static int m_view(lua_State *L) {
  sl_tensor *t = self(L); int64_t shape[SL_MAX_DIMS];
  int nd = sl_lua_check_shape(L, 2, shape);
  PUSH_RESULT(L, "view", sl_tensor_view(&r_, t, nd, shape));
}
static int m_reshape(lua_State *L) {
  sl_tensor *t = self(L); int64_t shape[SL_MAX_DIMS];
  int nd = sl_lua_check_shape(L, 2, shape);
  PUSH_RESULT(L, "reshape", sl_tensor_reshape(&r_, t, nd, shape));
}
static int m_flatten(lua_State *L) {
  sl_tensor *t = self(L); int64_t n = -1;
  PUSH_RESULT(L, "flatten", sl_tensor_reshape(&r_, t, 1, &n));
}
static int m_expand(lua_State *L) {
  sl_tensor *t = self(L); int64_t shape[SL_MAX_DIMS];
  int nd = sl_lua_check_shape(L, 2, shape);
  PUSH_RESULT(L, "expand", sl_tensor_expand(&r_, t, nd, shape));
}
static int m_expand_as(lua_State *L) {
  sl_tensor *t = self(L), *o = sl_lua_check_tensor(L, 2);
  PUSH_RESULT(L, "expand_as", sl_tensor_expand(&r_, t, o->ndim, o->shape));
}
static int m_squeeze(lua_State *L) {
  sl_tensor *t = self(L);
  int d = lua_isnoneornil(L, 2) ? SL_ALL_DIMS : sl_lua_check_dim(L, 2, t);
  PUSH_RESULT(L, "squeeze", sl_tensor_squeeze(&r_, t, d));
}
static int m_unsqueeze(lua_State *L) {
  sl_tensor *t = self(L);
  int d = (int)luaL_checkinteger(L, 2);
  /* 1-based insert position in the result (1..ndim+1); negative counts from the end. */
  int z = d > 0 ? d - 1 : d < 0 ? t->ndim + 1 + d : -1;
  if (d == 0) return luaL_error(L, "unsqueeze: dims are 1-based, got 0");
  PUSH_RESULT(L, "unsqueeze", sl_tensor_unsqueeze(&r_, t, z));
}

/* ------------------------------------------------------------ copies and conversion */

static int m_contiguous(lua_State *L) { PUSH_RESULT(L, "contiguous", sl_tensor_contiguous(&r_, self(L))); }
static int m_clone(lua_State *L) { PUSH_RESULT(L, "clone", sl_tensor_clone(&r_, self(L))); }
static int m_to(lua_State *L) {
  sl_tensor *t = self(L);
  sl_dtype dt = sl_lua_opt_dtype(L, 2, t->dtype);
  PUSH_RESULT(L, "to", sl_tensor_contiguous_as(&r_, t, dt));
}
#define CONVERT(NAME, DT) static int m_##NAME(lua_State *L) { \
  sl_tensor *t = self(L); if (t->dtype == DT) { lua_settop(L, 1); return 1; } \
  PUSH_RESULT(L, #NAME, sl_tensor_to_dtype(&r_, t, DT)); }
CONVERT(float, SL_DTYPE_F32)
CONVERT(double, SL_DTYPE_F64)
CONVERT(int, SL_DTYPE_I32)
CONVERT(long, SL_DTYPE_I64)
CONVERT(byte, SL_DTYPE_U8)

static int m_copy(lua_State *L) {
  sl_tensor *t = self(L), *s = sl_lua_check_tensor(L, 2);
  SL_LUA_TRY(L, "copy", sl_tensor_copy(t, s));
  lua_settop(L, 1);
  return 1;
}
static int m_fill(lua_State *L) {
  sl_tensor *t = self(L);
  SL_LUA_TRY(L, "fill", sl_tensor_fill(t, luaL_checknumber(L, 2)));
  lua_settop(L, 1);
  return 1;
}

/* ------------------------------------------------------------ metamethods */

static int mm_gc(lua_State *L) {
  tensor_ud *ud = lua_touserdata(L, 1);
  if (ud && ud->t) { sl_tensor_release(ud->t); ud->t = NULL; }
  return 0;
}
static int mm_len(lua_State *L) {
  sl_tensor *t = self(L);
  lua_pushnumber(L, t->ndim ? (lua_Number)t->shape[0] : 0);
  return 1;
}
/* Index keys.  t[i] (a number) indexes dim 1; t[{i, j, ...}] indexes the leading dims at once
 * (1-based, negative from the end): as many indices as dims give an element, fewer give the
 * view with those dims selected away.  Reads the key at kidx into idx (0-based); returns its
 * length.  Any other non-string key is an error, so a typo cannot silently give nil. */
static int read_key(lua_State *L, const sl_tensor *t, int kidx, int64_t *idx) {
  int n = 1;
  if (t->ndim == 0 && (lua_type(L, kidx) == LUA_TNUMBER || lua_istable(L, kidx)))
    return luaL_error(L, "cannot index a 0-d tensor (use t:item())");
  if (lua_type(L, kidx) == LUA_TNUMBER) idx[0] = 0;
  else if (lua_istable(L, kidx)) {
    n = (int)lua_objlen(L, kidx);
    if (n < 1 || n > t->ndim)
      return luaL_error(L, "index: table index must hold 1 to %d numbers for a %d-d tensor, got %d",
                        t->ndim, t->ndim, n);
  } else
    return luaL_error(L, "index: tensor index must be a number or a table of numbers {i, j, ...}, got %s",
                      luaL_typename(L, kidx));
  for (int d = 0; d < n; d++) {
    lua_Number x;
    if (lua_type(L, kidx) == LUA_TNUMBER) x = lua_tonumber(L, kidx);
    else {
      lua_rawgeti(L, kidx, d + 1);
      if (lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "index: entry %d of the index table is %s, expected a number", d + 1, luaL_typename(L, -1));
      x = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    int64_t i = (int64_t)x;
    if (i < 0) i += t->shape[d] + 1;
    if (i < 1 || i > t->shape[d])
      return luaL_error(L, "index %d out of range for dimension %d of size %d", (int)x, d + 1, (int)t->shape[d]);
    idx[d] = i - 1;
  }
  return n;
}
/* View of t with the first n dims selected at idx (n < ndim). */
static sl_status select_leading(sl_tensor **out, sl_tensor *t, int n, const int64_t *idx) {
  sl_tensor *v = t;
  sl_tensor_retain(t);
  for (int d = 0; d < n; d++) {
    sl_tensor *w;
    sl_status st = sl_tensor_select(&w, v, 0, idx[d]);
    sl_tensor_release(v);
    if (st != SL_OK) return st;
    v = w;
  }
  *out = v;
  return SL_OK;
}
/* t[i] / t[{i, j, ...}]: an element or a view (above); string keys: methods (nil if none). */
static int mm_index(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING) {
    sl_tensor *t = self(L);
    int64_t idx[SL_MAX_DIMS];
    int n = read_key(L, t, 2, idx);
    if (n == t->ndim) { lua_pushnumber(L, sl_tensor_get(t, idx)); return 1; }
    PUSH_RESULT(L, "index", select_leading(&r_, t, n, idx));
  }
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}
/* t[i] = number | tensor, t[{i, j, ...}] = number | tensor */
static int mm_newindex(lua_State *L) {
  sl_tensor *t = self(L);
  if (lua_type(L, 2) == LUA_TSTRING) return luaL_error(L, "tensor fields cannot be assigned (key '%s')", lua_tostring(L, 2));
  int64_t idx[SL_MAX_DIMS];
  int n = read_key(L, t, 2, idx);
  if (n == t->ndim && lua_type(L, 3) == LUA_TNUMBER) { sl_tensor_set(t, idx, lua_tonumber(L, 3)); return 0; }
  const sl_tensor *src = lua_type(L, 3) == LUA_TNUMBER ? NULL : sl_lua_check_tensor(L, 3);
  sl_tensor *row;
  SL_LUA_TRY(L, "index", select_leading(&row, t, n, idx));
  sl_status st = src ? sl_tensor_copy(row, src) : sl_tensor_fill(row, lua_tonumber(L, 3));
  sl_tensor_release(row);
  if (st != SL_OK) return sl_lua_raise(L, "index");
  return 0;
}
/* Plain fallback; lua/spinlock/init.lua installs the pretty printer over it. */
static int mm_tostring(lua_State *L) {
  tensor_ud *ud = lua_touserdata(L, 1);
  if (!ud->t) { lua_pushstring(L, "Tensor(freed)"); return 1; }
  char b[160];
  lua_pushfstring(L, "Tensor(%s, %s)", sl_dtype_name(ud->t->dtype), sl_shape_str(b, sizeof b, ud->t->ndim, ud->t->shape));
  return 1;
}

static const luaL_Reg methods[] = {
  {"shape", m_shape}, {"size", m_size}, {"stride", m_stride}, {"dim", m_dim}, {"numel", m_numel},
  {"nelement", m_numel}, {"dtype", m_dtype}, {"device", m_device}, {"is_contiguous", m_is_contiguous},
  {"nbytes", m_nbytes}, {"ptr", m_ptr}, {"free", m_free}, {"is_freed", m_is_freed}, {"shares_storage", m_shares_storage},
  {"get", m_get}, {"set", m_set}, {"item", m_item}, {"totable", m_totable}, {"tolist", m_tolist},
  {"narrow", m_narrow}, {"select", m_select}, {"sub", m_sub}, {"slice", m_slice},
  {"transpose", m_transpose}, {"t", m_transpose}, {"permute", m_permute}, {"view", m_view},
  {"reshape", m_reshape}, {"flatten", m_flatten}, {"expand", m_expand}, {"expand_as", m_expand_as},
  {"squeeze", m_squeeze}, {"unsqueeze", m_unsqueeze}, {"contiguous", m_contiguous}, {"clone", m_clone},
  {"to", m_to}, {"float", m_float}, {"double", m_double}, {"int", m_int}, {"long", m_long},
  {"byte", m_byte}, {"copy", m_copy}, {"fill", m_fill}, {"fill_", m_fill},
  {NULL, NULL}};

static const luaL_Reg functions[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones}, {"empty", l_empty}, {"full", l_full},
  {"arange", l_arange}, {"linspace", l_linspace}, {"from_ptr", l_from_ptr}, {"is_tensor", l_is_tensor},
  {"memory_info", l_memory_info}, {"set_num_threads", l_set_num_threads}, {"num_threads", l_num_threads},
  {NULL, NULL}};

/* Opened first (l_init.c) so other modules can extend the metatable. */
int sl_lua_open_tensor_type(lua_State *L, int core) {
  luaL_newmetatable(L, SL_TENSOR_MT);
  lua_newtable(L);
  sl_lua_set_functions(L, -1, methods);
  lua_setfield(L, -2, "__methods");
  const luaL_Reg meta[] = {{"__gc", mm_gc}, {"__len", mm_len}, {"__index", mm_index},
                           {"__newindex", mm_newindex}, {"__tostring", mm_tostring}, {NULL, NULL}};
  sl_lua_set_functions(L, -1, meta);
  lua_pushstring(L, "Tensor");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  sl_lua_set_functions(L, core, functions);
  /* Expose the metatable so Lua code can add methods (sl.Tensor.methods). */
  luaL_getmetatable(L, SL_TENSOR_MT);
  lua_setfield(L, core, "_tensor_mt");
  return 0;
}
