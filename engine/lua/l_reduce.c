/* l_reduce.c — Lua binding of the reductions (sl_reduce.h): t:sum(), t:mean(), t:var(), ...
 *
 * Lua conventions:
 *  - dims are 1-based (negative from the end) and given as a number or a table of numbers;
 *    none (or nil) means every dim.
 *  - A reduction over every dim without keepdim returns a Lua number (torch7 style); otherwise a
 *    tensor, with the reduced dims dropped or (keepdim = true) kept as size 1.
 *  - Indices (argmax/argmin and the second result of min/max with a dim) are 1-based int64
 *    tensors, or a 1-based flat index number for whole-tensor argmax/argmin.  The core is 0-based.
 *
 * Every function is both a method (t:sum(...)) and a module function (sl.sum(t, ...)). */
#include "sl_lua.h"
#include "sl_reduce.h"

#include <math.h>
#include <string.h>

/* 1-based Lua dim d (negative from the end) → 0-based dim of t; raises with op, d and ndim. */
static int lua_dim(lua_State *L, lua_Number dn, const sl_tensor *t, const char *op)
{
  const int d = (int)dn;
  const int z = d > 0 ? d - 1 : d < 0 ? t->ndim + d : -1;
  if ((lua_Number)d != dn) luaL_error(L, "%s: dim must be an integer, got %f", op, dn);
  if (d == 0 || z < 0 || z >= t->ndim)
    luaL_error(L, "%s: dim %d out of range for a %d-d tensor (dims are 1-based, negative from the end)",
               op, d, (int)t->ndim);
  return z;
}

/* Reads the dims argument at idx into a core bitmask; returns 0 when none was given. */
static int check_dims(lua_State *L, int idx, const sl_tensor *t, uint32_t *mask, const char *op)
{
  *mask = 0;
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    *mask = 1u << lua_dim(L, lua_tonumber(L, idx), t, op);
    return 1;
  }
  if (!lua_istable(L, idx))
    luaL_error(L, "%s: dims must be a number or a table of numbers, got %s", op, luaL_typename(L, idx));
  const int n = (int)lua_objlen(L, idx);
  if (n == 0) luaL_error(L, "%s: empty dims table (leave dims out to reduce every dim)", op);
  for (int j = 1; j <= n; j++) {
    lua_rawgeti(L, idx, j);
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "%s: dims must be numbers, entry %d is %s", op, j, luaL_typename(L, -1));
    const lua_Number dn = lua_tonumber(L, -1);
    lua_pop(L, 1);
    const uint32_t bit = 1u << lua_dim(L, dn, t, op);
    if (*mask & bit) luaL_error(L, "%s: dim %d given twice", op, (int)dn);
    *mask |= bit;
  }
  return 1;
}

/* The core's 0-based int64 indices → 1-based, in place (idx is a fresh contiguous tensor). */
/* Shared body: dims at arg 2, keepdim at arg kidx, param for the core. */
static int reduce_common(lua_State *L, sl_reduce_op op, int kidx, double param)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  const char *name = sl_reduce_op_name(op);
  uint32_t mask;
  const int given = check_dims(L, 2, t, &mask, name);
  const int keepdim = lua_toboolean(L, kidx);
  if (!given && !keepdim) {
    double v;
    SL_LUA_TRY(L, name, sl_reduce_all(&v, t, op, param));
    lua_pushnumber(L, v);
    return 1;
  }
  sl_tensor *r;
  SL_LUA_TRY(L, name, sl_reduce(&r, t, op, mask, keepdim, param));
  sl_lua_push_tensor(L, r);
  return 1;
}

/* t:sum([dims] [, keepdim]) and friends */
static int l_sum(lua_State *L)       { return reduce_common(L, SL_REDUCE_SUM, 3, 0); }
static int l_mean(lua_State *L)      { return reduce_common(L, SL_REDUCE_MEAN, 3, 0); }
static int l_prod(lua_State *L)      { return reduce_common(L, SL_REDUCE_PROD, 3, 0); }
static int l_logsumexp(lua_State *L) { return reduce_common(L, SL_REDUCE_LOGSUMEXP, 3, 0); }
static int l_nansum(lua_State *L)    { return reduce_common(L, SL_REDUCE_NANSUM, 3, 0); }
static int l_nanmean(lua_State *L)   { return reduce_common(L, SL_REDUCE_NANMEAN, 3, 0); }
static int l_amax(lua_State *L)      { return reduce_common(L, SL_REDUCE_MAX, 3, 0); }
static int l_amin(lua_State *L)      { return reduce_common(L, SL_REDUCE_MIN, 3, 0); }

/* A table with only string keys (no array part) is an options table, not a dims list. */
static int is_opts_table(lua_State *L, int idx)
{
  if (!lua_istable(L, idx) || lua_objlen(L, idx) != 0) return 0;
  lua_pushnil(L);
  if (!lua_next(L, idx)) return 0;       /* {}: left to check_dims' "empty dims table" */
  lua_pop(L, 2);
  return 1;
}

/* t:var([dims] [, unbiased = true] [, keepdim]); also t:var(unbiased) like torch, and an
 * options table in place of the flags: t:var(dims, {unbiased = false, keepdim = true}) or
 * t:var({unbiased = false}). */
static int var_std(lua_State *L, sl_reduce_op op)
{
  const char *name = sl_reduce_op_name(op);
  if (lua_type(L, 2) == LUA_TBOOLEAN || is_opts_table(L, 2)) {   /* every dim */
    lua_pushnil(L);
    lua_insert(L, 2);
  }
  if (lua_istable(L, 3)) {
    if (!lua_isnone(L, 4))
      luaL_error(L, "%s: give the flags either as an options table or as arguments, not both", name);
    int unbiased = 1, keepdim = 0;
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      if (k && !strcmp(k, "unbiased")) unbiased = lua_toboolean(L, -1);
      else if (k && !strcmp(k, "keepdim")) keepdim = lua_toboolean(L, -1);
      else luaL_error(L, "%s: unknown option %s (the options are unbiased and keepdim)", name,
                      k ? lua_pushfstring(L, "'%s'", k) : luaL_typename(L, -2));
      lua_pop(L, 1);
    }
    lua_settop(L, 2);
    lua_pushboolean(L, unbiased);
    lua_pushboolean(L, keepdim);
  } else if (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TBOOLEAN)
    luaL_error(L, "%s: unbiased must be a boolean or an options table {unbiased=, keepdim=}, got %s", name,
               luaL_typename(L, 3));
  const int unbiased = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
  return reduce_common(L, op, 4, unbiased);
}
static int l_var(lua_State *L) { return var_std(L, SL_REDUCE_VAR); }
static int l_std(lua_State *L) { return var_std(L, SL_REDUCE_STD); }

/* t:norm([p = 2] [, dims] [, keepdim]); p may be a number, math.huge / "inf" or "fro" (= 2). */
static int l_norm(lua_State *L)
{
  sl_lua_check_tensor(L, 1);
  double p = 2;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *s = lua_tostring(L, 2);
    if (!strcmp(s, "inf")) p = INFINITY;
    else if (!strcmp(s, "fro")) p = 2;
    else return luaL_error(L, "norm: p must be a number, \"inf\" or \"fro\", got \"%s\"", s);
  } else if (!lua_isnoneornil(L, 2)) {
    p = luaL_checknumber(L, 2);
  }
  lua_settop(L, 4);
  lua_remove(L, 2);   /* dims now at 2, keepdim at 3 */
  return reduce_common(L, SL_REDUCE_NORM, 3, p);
}

/* t:max() → number; t:max(dim [, keepdim]) → values, indices; t:max({dims} [, keepdim]) → values */
static int minmax(lua_State *L, int is_max)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  const char *name = is_max ? "max" : "min";
  if (lua_type(L, 2) != LUA_TNUMBER) return reduce_common(L, is_max ? SL_REDUCE_MAX : SL_REDUCE_MIN, 3, 0);
  const int d = lua_dim(L, lua_tonumber(L, 2), t, name);
  sl_tensor *v, *i;
  SL_LUA_TRY(L, name, (is_max ? sl_reduce_max_dim : sl_reduce_min_dim)(&v, &i, t, d, lua_toboolean(L, 3)));
  sl_lua_shift_indices(i, 1);
  sl_lua_push_tensor(L, v);
  sl_lua_push_tensor(L, i);
  return 2;
}
static int l_max(lua_State *L) { return minmax(L, 1); }
static int l_min(lua_State *L) { return minmax(L, 0); }

/* t:argmax() → 1-based flat index; t:argmax(dim [, keepdim]) → int64 tensor of 1-based indices */
static int argext(lua_State *L, int is_max)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  const char *name = is_max ? "argmax" : "argmin";
  sl_status (*fn)(sl_tensor **, const sl_tensor *, int, int) = is_max ? sl_reduce_argmax : sl_reduce_argmin;
  const int keepdim = lua_toboolean(L, 3);
  const int d = lua_isnoneornil(L, 2) ? SL_ALL_DIMS : lua_dim(L, luaL_checknumber(L, 2), t, name);
  sl_tensor *r;
  SL_LUA_TRY(L, name, fn(&r, t, d, keepdim));
  sl_lua_shift_indices(r, 1);
  if (d == SL_ALL_DIMS && !keepdim) {
    lua_pushnumber(L, (lua_Number)*(int64_t *)sl_tensor_data(r));
    sl_tensor_release(r);
    return 1;
  }
  sl_lua_push_tensor(L, r);
  return 1;
}
static int l_argmax(lua_State *L) { return argext(L, 1); }
static int l_argmin(lua_State *L) { return argext(L, 0); }

SL_LUA_MODULE(reduce)
{
  const luaL_Reg fns[] = {
    {"sum", l_sum}, {"mean", l_mean}, {"var", l_var}, {"std", l_std}, {"min", l_min},
    {"max", l_max}, {"amin", l_amin}, {"amax", l_amax}, {"argmin", l_argmin},
    {"argmax", l_argmax}, {"prod", l_prod}, {"norm", l_norm}, {"logsumexp", l_logsumexp},
    {"nansum", l_nansum}, {"nanmean", l_nanmean}, {NULL, NULL}
  };
  sl_lua_add_tensor_methods(L, fns);
  sl_lua_set_functions(L, core, fns);
  return 0;
}
