/* l_cluster.c — Lua binding of category discovery (sl_cluster.h) and the column helpers used by
 * feature cleaning (sl_colstats.h), as spinlock.core._cluster.
 *
 * Indices: labels and column indices are 1-based on the Lua side.  The linkage matrix keeps
 * SciPy's layout and numbering (cluster ids 0-based, id n+j for the cluster formed at row j), so
 * it can be compared with scipy.cluster.hierarchy.linkage directly. */
#include "sl_lua.h"
#include "sl_cluster.h"
#include "sl_colstats.h"

static int l_corr(lua_State *L)
{
  sl_tensor *out;
  SL_LUA_TRY(L, "corr", sl_cluster_corr(&out, sl_lua_check_tensor(L, 1)));
  sl_lua_push_tensor(L, out);
  return 1;
}

static int l_corr_distance(lua_State *L)
{
  sl_tensor *out;
  SL_LUA_TRY(L, "corr_distance", sl_cluster_corr_distance(&out, sl_lua_check_tensor(L, 1)));
  sl_lua_push_tensor(L, out);
  return 1;
}

/* linkage(dist [, method="ward"]) → Z float64 [n-1, 4] */
static int l_linkage(lua_State *L)
{
  const sl_tensor *d = sl_lua_check_tensor(L, 1);
  const char *name = luaL_optstring(L, 2, "ward");
  sl_linkage m;
  if (sl_linkage_from_name(name, &m))
    return luaL_argerror(L, 2, lua_pushfstring(L, "linkage method must be \"ward\", \"average\", "
                                                  "\"complete\" or \"single\", got \"%s\"", name));
  sl_tensor *z;
  SL_LUA_TRY(L, "linkage", sl_cluster_linkage(&z, d, m));
  sl_lua_push_tensor(L, z);
  return 1;
}

/* cut(Z, k) → labels int64 [n], 1-based, numbered by smallest member */
static int l_cut(lua_State *L)
{
  const sl_tensor *z = sl_lua_check_tensor(L, 1);
  const int64_t k = (int64_t)luaL_checknumber(L, 2);
  sl_tensor *lab;
  SL_LUA_TRY(L, "cut", sl_cluster_cut(&lab, z, k));
  sl_lua_shift_indices(lab, 1);
  sl_lua_push_tensor(L, lab);
  return 1;
}

/* silhouette(dist, labels) → mean score, per-point float64 [n]  (labels: any integers >= 1) */
static int l_silhouette(lua_State *L)
{
  const sl_tensor *d = sl_lua_check_tensor(L, 1), *lab = sl_lua_check_tensor(L, 2);
  sl_tensor *l0;
  SL_LUA_TRY(L, "silhouette", sl_tensor_to_dtype(&l0, lab, SL_DTYPE_I64));
  sl_lua_shift_indices(l0, -1);
  double s;
  sl_tensor *pp = NULL;
  sl_status st = sl_cluster_silhouette(&s, &pp, d, l0);
  sl_tensor_release(l0);
  SL_LUA_TRY(L, "silhouette", st);
  lua_pushnumber(L, s);
  sl_lua_push_tensor(L, pp);
  return 2;
}

/* nanquantile(X, q) → float64 [D] for a number q, [nq, D] for a table of q */
static int l_nanquantile(lua_State *L)
{
  const sl_tensor *x = sl_lua_check_tensor(L, 1);
  double q[64];
  int nq = 0, scalar = lua_type(L, 2) == LUA_TNUMBER;
  if (scalar) q[nq++] = lua_tonumber(L, 2);
  else {
    luaL_checktype(L, 2, LUA_TTABLE);
    const int n = (int)lua_objlen(L, 2);
    if (n > 64) return luaL_argerror(L, 2, "at most 64 quantiles at once");
    for (int i = 1; i <= n; i++) { lua_rawgeti(L, 2, i); q[nq++] = luaL_checknumber(L, -1); lua_pop(L, 1); }
  }
  sl_tensor *o;
  SL_LUA_TRY(L, "nanquantile", sl_cols_nanquantile(&o, x, nq, q));
  if (scalar) {
    sl_tensor *v;
    sl_status st = sl_tensor_select(&v, o, 0, 0);
    sl_tensor_release(o);
    SL_LUA_TRY(L, "nanquantile", st);
    o = v;
  }
  sl_lua_push_tensor(L, o);
  return 1;
}

/* select_columns(X, idx) — idx: table of 1-based column numbers or an integer tensor of them */
static int l_select_columns(lua_State *L)
{
  const sl_tensor *x = sl_lua_check_tensor(L, 1);
  sl_tensor *idx;
  if (lua_istable(L, 2)) {
    const int64_t n = (int64_t)lua_objlen(L, 2);
    SL_LUA_TRY(L, "select_columns", sl_tensor_empty(&idx, SL_DTYPE_I64, 1, &n));
    int64_t *p = sl_tensor_data(idx);
    for (int64_t i = 0; i < n; i++) {
      lua_rawgeti(L, 2, (int)i + 1);
      p[i] = (int64_t)lua_tonumber(L, -1) - 1;
      lua_pop(L, 1);
    }
  } else {
    const sl_tensor *t = sl_lua_check_tensor(L, 2);
    if (sl_dtype_is_float(t->dtype)) return luaL_argerror(L, 2, "column indices must be integers");
    SL_LUA_TRY(L, "select_columns", sl_tensor_to_dtype(&idx, t, SL_DTYPE_I64));
    sl_lua_shift_indices(idx, -1);
  }
  sl_tensor *o;
  sl_status st = sl_cols_select(&o, x, idx);
  sl_tensor_release(idx);
  SL_LUA_TRY(L, "select_columns", st);
  sl_lua_push_tensor(L, o);
  return 1;
}

SL_LUA_MODULE(cluster)
{
  const luaL_Reg fns[] = {
    {"corr", l_corr}, {"corr_distance", l_corr_distance}, {"linkage", l_linkage}, {"cut", l_cut},
    {"silhouette", l_silhouette}, {"nanquantile", l_nanquantile}, {"select_columns", l_select_columns},
    {NULL, NULL}};
  lua_newtable(L);
  sl_lua_set_functions(L, lua_gettop(L), fns);
  lua_setfield(L, core, "_cluster");
  return 0;
}
