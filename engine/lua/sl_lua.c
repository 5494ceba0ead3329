/* sl_lua.c — helpers shared by every binding: tensor userdata checks, error raising, argument
 * parsing (dtype, shape, dims).  Userdata hold one reference to an sl_tensor; a freed tensor
 * (t:free()) keeps its userdata with a NULL pointer so later use raises a clear error. */
#include "sl_lua.h"

#include <string.h>

typedef struct { sl_tensor *t; } tensor_ud;

int sl_lua_is_tensor(lua_State *L, int idx) {
  return luaL_testudata_compat(L, idx, SL_TENSOR_MT) != NULL;
}

void *luaL_testudata_compat(lua_State *L, int idx, const char *mt) {
  void *p = lua_touserdata(L, idx);
  if (!p || !lua_getmetatable(L, idx)) return NULL;
  luaL_getmetatable(L, mt);
  int same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}

sl_tensor *sl_lua_check_tensor(lua_State *L, int idx) {
  tensor_ud *ud = luaL_testudata_compat(L, idx, SL_TENSOR_MT);
  if (!ud) {
    const char *got = luaL_typename(L, idx);
    luaL_argerror(L, idx, lua_pushfstring(L, "Tensor expected, got %s", got));
  }
  if (!ud->t) luaL_argerror(L, idx, "tensor was freed (t:free()) and cannot be used");
  return ud->t;
}

sl_tensor *sl_lua_opt_tensor(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : sl_lua_check_tensor(L, idx);
}

void sl_lua_push_tensor(lua_State *L, sl_tensor *t) {
  tensor_ud *ud = lua_newuserdata(L, sizeof *ud);
  ud->t = t;
  luaL_getmetatable(L, SL_TENSOR_MT);
  lua_setmetatable(L, -2);
  /* Tensor memory lives outside the Lua heap; nudge the collector in proportion so big
   * temporaries in loops do not pile up before the GC notices them. */
  size_t kb = sl_tensor_nbytes(t) >> 10;
  if (kb > 64) lua_gc(L, LUA_GCSTEP, (int)(kb > 1 << 20 ? 1 << 20 : kb) / 8);
}

/* Detaches and releases the tensor of the userdata at idx (t:free()). */
void sl_lua_free_tensor(lua_State *L, int idx) {
  tensor_ud *ud = luaL_testudata_compat(L, idx, SL_TENSOR_MT);
  if (ud && ud->t) { sl_tensor_release(ud->t); ud->t = NULL; }
}

void sl_lua_push_catalog_entry(lua_State *L, const char *name, const char *category,
                               const char *formula, const char *meaning)
{
  lua_createtable(L, 0, 4);
  lua_pushstring(L, name); lua_setfield(L, -2, "name");
  lua_pushstring(L, category); lua_setfield(L, -2, "category");
  lua_pushstring(L, formula); lua_setfield(L, -2, "formula");
  lua_pushstring(L, meaning); lua_setfield(L, -2, "meaning");
}

void sl_lua_shift_indices(sl_tensor *idx, int64_t delta)
{
  int64_t *p = sl_tensor_data(idx);
  const int64_t n = sl_tensor_numel(idx);
  for (int64_t i = 0; i < n; i++) p[i] += delta;
}

int sl_lua_raise(lua_State *L, const char *op) {
  const char *msg = sl_error_message();
  /* Core messages usually start with the op name already; avoid "add: add: ...". */
  size_t n = op ? strlen(op) : 0;
  if (op && strncmp(msg, op, n) == 0 && msg[n] == ':') lua_pushstring(L, msg);
  else if (op) lua_pushfstring(L, "%s: %s", op, msg);
  else lua_pushstring(L, msg);
  if (getenv("SPINLOCK_DEBUG")) {
    lua_pushfstring(L, " [%s]", sl_error_location());
    lua_concat(L, 2);
  }
  sl_error_clear();
  return lua_error(L);
}

void sl_lua_set_functions(lua_State *L, int tbl, const luaL_Reg *fns) {
  tbl = tbl < 0 ? lua_gettop(L) + tbl + 1 : tbl;
  for (; fns->name; fns++) {
    lua_pushcfunction(L, fns->func);
    lua_setfield(L, tbl, fns->name);
  }
}

void sl_lua_add_tensor_methods(lua_State *L, const luaL_Reg *fns) {
  luaL_getmetatable(L, SL_TENSOR_MT);
  lua_getfield(L, -1, "__methods");
  sl_lua_set_functions(L, -1, fns);
  lua_pop(L, 2);
}

sl_dtype sl_lua_opt_dtype(lua_State *L, int idx, sl_dtype def) {
  if (lua_isnoneornil(L, idx)) return def;
  const char *name = luaL_checkstring(L, idx);
  sl_dtype dt;
  if (sl_dtype_from_name(name, &dt) != 0)
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown dtype '%s' (expected float32, float64, int32, int64 or uint8)", name));
  return dt;
}

int sl_lua_check_shape(lua_State *L, int idx, int64_t *shape) {
  int n = 0;
  if (lua_istable(L, idx)) {
    n = (int)lua_objlen(L, idx);
    if (n > SL_MAX_DIMS) luaL_argerror(L, idx, "too many dimensions (at most 8)");
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, idx, i + 1);
      if (!lua_isnumber(L, -1)) luaL_argerror(L, idx, "shape entries must be numbers");
      shape[i] = (int64_t)lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    return n;
  }
  int top = lua_gettop(L);
  for (int i = idx; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
    if (n >= SL_MAX_DIMS) luaL_argerror(L, i, "too many dimensions (at most 8)");
    shape[n++] = (int64_t)lua_tonumber(L, i);
  }
  return n;
}

int sl_lua_check_dim(lua_State *L, int idx, const sl_tensor *t) {
  int d = (int)luaL_checkinteger(L, idx);
  int z = d > 0 ? d - 1 : d < 0 ? t->ndim + d : -1;
  if (d == 0 || z < 0 || z >= t->ndim)
    luaL_argerror(L, idx, lua_pushfstring(L, "dimension %d out of range for a %d-d tensor (dims are 1-based, negative from the end)", d, (int)t->ndim));
  return z;
}

sl_tensor *sl_lua_to_tensor(lua_State *L, int idx, sl_dtype dt) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    sl_tensor *t;
    if (sl_tensor_full(&t, dt, 0, NULL, lua_tonumber(L, idx)) != SL_OK) sl_lua_raise(L, "tensor");
    sl_lua_push_tensor(L, t);
    lua_replace(L, idx);
    return t;
  }
  return sl_lua_check_tensor(L, idx);
}
