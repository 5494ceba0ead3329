/* l_feat_traj.c — Lua access to the per-trajectory feature kernel (engine/core/sl_feat_traj.h).
 *
 *   sl.feat_traj(traj [M,T,C,H,W], cfg?)          → Tensor [M, D] float32
 *   sl.feat_traj_catalog(cfg?)                    → { {name=, category=, formula=, meaning=}, … }
 *   sl.feat_traj_sens_probes(x, seed, op_index, eps{}, scales{}) → Tensor [1+#eps+#scales, C,H,W]
 *   sl.feat_traj_sens_reduce(probes, outputs, eps{}, scales{})   → { lipschitz…, gain…, r2, sat, comp }
 *
 * cfg is a flat table of the kernel's keys (lua/spinlock/features/trajectory.lua translates the
 * user-facing `features.trajectory` section into it); an unknown key is an error, so a typo never
 * silently falls back to a default. */
#include "sl_lua.h"
#include "sl_feat_traj.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Integer and boolean config keys: Lua name → int field of the config (booleans stored as 0/1). */
static const struct { const char *key; size_t off; int boolean; } INT_FIELDS[] = {
  {"autocorr_max_lag", offsetof(sl_feat_traj_config, autocorr_max_lag), 0},
  {"pacf_max_lag", offsetof(sl_feat_traj_config, pacf_max_lag), 0},
  {"max_lag_correlation", offsetof(sl_feat_traj_config, max_lag_correlation), 0},
  {"max_lag_prediction", offsetof(sl_feat_traj_config, max_lag_prediction), 0},
  {"num_scales", offsetof(sl_feat_traj_config, num_scales), 0},
  {"entropy_num_bins", offsetof(sl_feat_traj_config, entropy_num_bins), 0},
  {"nonlinear_stride", offsetof(sl_feat_traj_config, nl_stride), 0},
  {"rqa_dim", offsetof(sl_feat_traj_config, rqa_dim), 0},
  {"corrdim_dim", offsetof(sl_feat_traj_config, corrdim_dim), 0},
  {"perm_dim", offsetof(sl_feat_traj_config, perm_dim), 0},
  {"temporal", offsetof(sl_feat_traj_config, temporal), 1},
  {"causality", offsetof(sl_feat_traj_config, causality), 1},
  {"invariant_drift", offsetof(sl_feat_traj_config, invariant_drift), 1},
  {"nonlinear", offsetof(sl_feat_traj_config, nonlinear), 1},
  {"include_pacf", offsetof(sl_feat_traj_config, include_pacf), 1},
  {"include_permutation_entropy", offsetof(sl_feat_traj_config, include_perm_entropy), 1},
};

static int int_field(const char *k) {
  for (size_t i = 0; i < sizeof INT_FIELDS / sizeof INT_FIELDS[0]; i++)
    if (!strcmp(k, INT_FIELDS[i].key)) return (int)i;
  return -1;
}

/* Reads the config table at idx (nil = defaults) into *c; raises on unknown keys or bad types. */
static void check_cfg(lua_State *L, int idx, sl_feat_traj_config *c, const char *fn) {
  sl_feat_traj_config_default(c);
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "%s: config keys must be strings", fn);
    const char *k = lua_tostring(L, -2);
    const int f = int_field(k);
    if (f >= 0 && INT_FIELDS[f].boolean) {
      if (!lua_isboolean(L, -1)) luaL_error(L, "%s: config key '%s' must be a boolean, got %s", fn, k, luaL_typename(L, -1));
      *(int *)((char *)c + INT_FIELDS[f].off) = lua_toboolean(L, -1);
    } else if (f >= 0) {
      double v = lua_tonumber(L, -1);
      if (lua_type(L, -1) != LUA_TNUMBER || v != floor(v) || fabs(v) > 1e9)
        luaL_error(L, "%s: config key '%s' must be an integer, got %s", fn, k, lua_tostring(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
      *(int *)((char *)c + INT_FIELDS[f].off) = (int)v;
    } else if (!strcmp(k, "gaussian_sigma") || !strcmp(k, "rqa_threshold")) {
      if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "%s: config key '%s' must be a number, got %s", fn, k, luaL_typename(L, -1));
      if (k[0] == 'g') c->gaussian_sigma = lua_tonumber(L, -1); else c->rqa_threshold = lua_tonumber(L, -1);
    } else if (!strcmp(k, "series")) {
      const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
      if (!strcmp(s, "std")) c->series = SL_FEAT_TRAJ_SERIES_STD;
      else if (!strcmp(s, "mean")) c->series = SL_FEAT_TRAJ_SERIES_MEAN;
      else luaL_error(L, "%s: config key 'series' must be \"std\" or \"mean\", got %s", fn, lua_tostring(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
    } else if (!strcmp(k, "rolling_fractions")) {
      if (!lua_istable(L, -1)) luaL_error(L, "%s: config key 'rolling_fractions' must be a list of numbers", fn);
      int n = (int)lua_objlen(L, -1);
      if (n > SL_FEAT_TRAJ_MAX_ROLL) luaL_error(L, "%s: at most %d rolling_fractions, got %d", fn, SL_FEAT_TRAJ_MAX_ROLL, n);
      for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "%s: rolling_fractions[%d] must be a number", fn, i);
        c->rolling_fractions[i - 1] = lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
      c->n_rolling = n;
    } else {
      luaL_error(L, "%s: unknown config key '%s'", fn, k);
    }
    lua_pop(L, 1);
  }
  if (sl_feat_traj_config_check(c) != SL_OK) sl_lua_raise(L, fn);
}

static int l_feat_traj(lua_State *L) {
  sl_tensor *t = sl_lua_check_tensor(L, 1);
  sl_feat_traj_config c;
  check_cfg(L, 2, &c, "feat_traj");
  sl_tensor *out = NULL;
  SL_LUA_TRY(L, "feat_traj", sl_feat_traj_compute(&out, t, &c));
  sl_lua_push_tensor(L, out);
  return 1;
}

static int l_catalog(lua_State *L) {
  sl_feat_traj_config c;
  check_cfg(L, 1, &c, "feat_traj");
  sl_feat_traj_entry *e = NULL;
  int n = 0;
  SL_LUA_TRY(L, "feat_traj", sl_feat_traj_catalog(&e, &n, &c));
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    sl_lua_push_catalog_entry(L, e[i].name, e[i].category, e[i].formula, e[i].meaning);
    lua_rawseti(L, -2, i + 1);
  }
  sl_feat_traj_catalog_free(e, n);
  return 1;
}

static int read_list(lua_State *L, int idx, double *v, int max, const char *what) {
  luaL_checktype(L, idx, LUA_TTABLE);
  int n = (int)lua_objlen(L, idx);
  if (n > max) return luaL_error(L, "sensitivity: at most %d %s, got %d", max, what, n);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) != LUA_TNUMBER) return luaL_error(L, "sensitivity: %s[%d] must be a number", what, i);
    v[i - 1] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return n;
}

static int l_probes(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  double seed = luaL_checknumber(L, 2), op = luaL_checknumber(L, 3);
  if (seed < 0 || seed != floor(seed) || seed > 9007199254740992.0) return luaL_error(L, "sensitivity: seed must be an integer in 0..2^53, got %g", seed);
  if (op < 0 || op != floor(op) || op > 9007199254740992.0) return luaL_error(L, "sensitivity: op_index must be an integer in 0..2^53, got %g", op);
  double eps[32], al[32];
  int ne = read_list(L, 4, eps, 32, "epsilons"), na = read_list(L, 5, al, 32, "gain scales");
  sl_tensor *out = NULL;
  SL_LUA_TRY(L, "sensitivity", sl_feat_traj_sens_probes(&out, x, (uint64_t)seed, (uint64_t)op, eps, ne, al, na));
  sl_lua_push_tensor(L, out);
  return 1;
}

static int l_reduce(lua_State *L) {
  sl_tensor *p = sl_lua_check_tensor(L, 1), *o = sl_lua_check_tensor(L, 2);
  double eps[32], al[32], f[32 + 32 + 3];
  int ne = read_list(L, 3, eps, 32, "epsilons"), na = read_list(L, 4, al, 32, "gain scales");
  SL_LUA_TRY(L, "sensitivity", sl_feat_traj_sens_reduce(f, p, o, ne, al, na));
  lua_createtable(L, ne + na + 3, 0);
  for (int i = 0; i < ne + na + 3; i++) { lua_pushnumber(L, f[i]); lua_rawseti(L, -2, i + 1); }
  return 1;
}

SL_LUA_MODULE(feat_traj) {
  const luaL_Reg fns[] = {{"feat_traj", l_feat_traj}, {"feat_traj_catalog", l_catalog},
                          {"feat_traj_sens_probes", l_probes}, {"feat_traj_sens_reduce", l_reduce},
                          {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  return 0;
}
