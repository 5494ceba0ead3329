/* l_sort.c — Lua binding of sort, argsort, topk, quantile, median, cumsum, cumprod, histc and
 * bincount (sl_sort.h).
 *
 * Lua conventions: dims are 1-based (negative from the end; default -1 = last for sort-like
 * ops); returned indices are 1-based int64 tensors (the core's are 0-based).  Whole-tensor
 * median/quantile with a single q return Lua numbers, like the full reductions of l_reduce.c.
 * Every function is both a method and a module function (t:sort(), sl.sort(t)). */
#include "sl_lua.h"
#include "sl_sort.h"

/* Optional 1-based dim argument → 0-based, def when absent (def may be SL_ALL_DIMS). */
static int opt_dim(lua_State *L, int idx, const sl_tensor *t, int def)
{
  return lua_isnoneornil(L, idx) ? def : sl_lua_check_dim(L, idx, t);
}

/* Pushes values and (1-based) indices. */
static int push_pair(lua_State *L, sl_tensor *v, sl_tensor *i)
{
  sl_lua_shift_indices(i, 1);
  sl_lua_push_tensor(L, v);
  sl_lua_push_tensor(L, i);
  return 2;
}

/* t:sort([dim = -1] [, descending = false]) → values, indices; t:sort(true) sorts the last dim
 * descending. */
static int l_sort(lua_State *L)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  if (lua_type(L, 2) == LUA_TBOOLEAN) { lua_pushnil(L); lua_insert(L, 2); }
  const int d = opt_dim(L, 2, t, -1);
  sl_tensor *v, *i;
  SL_LUA_TRY(L, "sort", sl_sort(&v, &i, t, d, lua_toboolean(L, 3)));
  return push_pair(L, v, i);
}

/* t:argsort([dim = -1] [, descending = false]) → indices */
static int l_argsort(lua_State *L)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  if (lua_type(L, 2) == LUA_TBOOLEAN) { lua_pushnil(L); lua_insert(L, 2); }
  const int d = opt_dim(L, 2, t, -1);
  sl_tensor *i;
  SL_LUA_TRY(L, "argsort", sl_argsort(&i, t, d, lua_toboolean(L, 3)));
  sl_lua_shift_indices(i, 1);
  sl_lua_push_tensor(L, i);
  return 1;
}

/* t:topk(k [, dim = -1] [, largest = true] [, sorted = true]) → values, indices */
static int l_topk(lua_State *L)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  const lua_Number k = luaL_checknumber(L, 2);
  if (k != (lua_Number)(int64_t)k) return luaL_error(L, "topk: k must be an integer, got %f", k);
  const int d = opt_dim(L, 3, t, -1);
  const int largest = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
  sl_tensor *v, *i;
  SL_LUA_TRY(L, "topk", sl_topk(&v, &i, t, (int64_t)k, d, largest, 1));
  return push_pair(L, v, i);
}

/* t:quantile(q [, dim] [, keepdim]): q is a number, a table of numbers or a 1-d tensor.  A single
 * q over the whole tensor gives a number; a list of q adds a leading dim of that size. */
static int l_quantile(lua_State *L)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  double qbuf[64], *q = qbuf;
  int nq = 0, scalar = 0;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    qbuf[0] = lua_tonumber(L, 2);
    nq = scalar = 1;
  } else if (lua_istable(L, 2) || sl_lua_is_tensor(L, 2)) {
    const sl_tensor *qt = lua_istable(L, 2) ? NULL : sl_lua_check_tensor(L, 2);
    if (qt && sl_tensor_device(qt) != SL_DEV_CPU) return luaL_error(L, "quantile: q must be a CPU tensor");
    if (qt && qt->ndim > 1) return luaL_error(L, "quantile: q must be a number, a table or a 1-d tensor, got a %d-d tensor", (int)qt->ndim);
    const int64_t n = qt ? sl_tensor_numel(qt) : (int64_t)lua_objlen(L, 2);
    if (n < 1) return luaL_error(L, "quantile: q is empty");
    if (n > 64) q = lua_newuserdata(L, (size_t)n * sizeof(double));   /* freed by the GC */
    for (int64_t j = 0; j < n; j++) {
      if (qt) q[j] = sl_tensor_get_linear(qt, j);
      else {
        lua_rawgeti(L, 2, (int)j + 1);
        if (lua_type(L, -1) != LUA_TNUMBER) return luaL_error(L, "quantile: q entry %d is %s, expected a number", (int)j + 1, luaL_typename(L, -1));
        q[j] = lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
    }
    nq = (int)n;
  } else {
    return luaL_error(L, "quantile: q must be a number, a table or a 1-d tensor, got %s", luaL_typename(L, 2));
  }
  const int d = opt_dim(L, 3, t, SL_ALL_DIMS);
  const int keepdim = lua_toboolean(L, 4);
  sl_tensor *r;
  SL_LUA_TRY(L, "quantile", sl_quantile(&r, t, nq, q, scalar, d, keepdim));
  if (scalar && d == SL_ALL_DIMS && !keepdim) {
    lua_pushnumber(L, sl_tensor_get_linear(r, 0));
    sl_tensor_release(r);
    return 1;
  }
  sl_lua_push_tensor(L, r);
  return 1;
}

/* t:median() → number (lower median); t:median(dim [, keepdim]) → values, indices */
static int l_median(lua_State *L)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  if (lua_isnoneornil(L, 2)) {
    sl_tensor *v;
    SL_LUA_TRY(L, "median", sl_median(&v, NULL, t, SL_ALL_DIMS, lua_toboolean(L, 3)));
    if (lua_toboolean(L, 3)) { sl_lua_push_tensor(L, v); return 1; }
    lua_pushnumber(L, sl_tensor_get_linear(v, 0));
    sl_tensor_release(v);
    return 1;
  }
  const int d = sl_lua_check_dim(L, 2, t);
  sl_tensor *v, *i;
  SL_LUA_TRY(L, "median", sl_median(&v, &i, t, d, lua_toboolean(L, 3)));
  return push_pair(L, v, i);
}

/* t:cumsum(dim) / t:cumprod(dim); dim may be left out for 1-d tensors. */
static int scan(lua_State *L, int prod)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  const char *op = prod ? "cumprod" : "cumsum";
  if (lua_isnoneornil(L, 2) && t->ndim != 1)
    return luaL_error(L, "%s: dim is required for a %d-d tensor", op, (int)t->ndim);
  const int d = opt_dim(L, 2, t, 0);
  sl_tensor *r;
  SL_LUA_TRY(L, op, (prod ? sl_cumprod : sl_cumsum)(&r, t, d));
  sl_lua_push_tensor(L, r);
  return 1;
}
static int l_cumsum(lua_State *L) { return scan(L, 0); }
static int l_cumprod(lua_State *L) { return scan(L, 1); }

/* sl.histc(t [, bins = 100] [, min = 0] [, max = 0]) → counts [bins] (min == max: data range) */
static int l_histc(lua_State *L)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  const lua_Number bins = luaL_optnumber(L, 2, 100);
  if (bins != (lua_Number)(int64_t)bins) return luaL_error(L, "histc: bins must be an integer, got %f", bins);
  sl_tensor *r;
  SL_LUA_TRY(L, "histc", sl_histc(&r, t, (int64_t)bins, luaL_optnumber(L, 3, 0), luaL_optnumber(L, 4, 0)));
  sl_lua_push_tensor(L, r);
  return 1;
}

/* sl.bincount(t [, weights] [, minlength = 0]) → counts per value 0..max(t) (index v + 1 in Lua) */
static int l_bincount(lua_State *L)
{
  const sl_tensor *t = sl_lua_check_tensor(L, 1);
  const sl_tensor *w = sl_lua_opt_tensor(L, 2);
  sl_tensor *r;
  SL_LUA_TRY(L, "bincount", sl_bincount(&r, t, w, (int64_t)luaL_optnumber(L, 3, 0)));
  sl_lua_push_tensor(L, r);
  return 1;
}

SL_LUA_MODULE(sort)
{
  const luaL_Reg fns[] = {
    {"sort", l_sort}, {"argsort", l_argsort}, {"topk", l_topk}, {"quantile", l_quantile},
    {"median", l_median}, {"cumsum", l_cumsum}, {"cumprod", l_cumprod}, {"histc", l_histc},
    {"bincount", l_bincount}, {NULL, NULL}
  };
  sl_lua_add_tensor_methods(L, fns);
  sl_lua_set_functions(L, core, fns);
  return 0;
}
