/* l_norm.c — Lua binding of sl_norm.h (float32, forward):
 *   sl.instance_norm(x, weight, bias, eps, act, out)      x [B,C,*]; weight/bias [C] or nil
 *   sl.group_norm(x, groups, weight, bias, eps, act, out)  C divisible by groups
 *   sl.layer_norm(x, normalized_ndim, weight, bias, eps)   weight/bias shaped as the last dims
 *   sl.dropout(x, p, uniform)     uniform: float32 in [0,1) with x's shape
 *   sl.dropout2d(x, p, uniform)   uniform: [B,C] (or [B,C,1,1]), one value per channel
 * eps defaults to 1e-5; act is "none" (default), "relu", "gelu" (exact erf), "silu" or "tanh",
 * fused into the normalisation pass; out (optional) is a contiguous float32 tensor of x's shape,
 * possibly x itself, to write into.  p is the drop probability (torch): kept where u < 1 - p,
 * survivors scaled by 1/(1-p). */
#include "sl_lua.h"
#include "sl_norm.h"

static sl_act opt_act(lua_State *L, int idx, const char *op) {
  if (lua_isnoneornil(L, idx)) return SL_ACT_NONE;
  const char *s = luaL_checkstring(L, idx);
  sl_act a;
  if (sl_act_from_name(s, &a) != 0)
    luaL_error(L, "%s: unknown activation '%s' (expected none, relu, gelu, silu or tanh)", op, s);
  return a;
}

static int push_result(lua_State *L, sl_tensor *fresh, int out_idx) {
  if (fresh) sl_lua_push_tensor(L, fresh);
  else lua_pushvalue(L, out_idx);
  return 1;
}

static int l_instance_norm(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *w = sl_lua_opt_tensor(L, 2), *b = sl_lua_opt_tensor(L, 3);
  double eps = luaL_optnumber(L, 4, 1e-5);
  sl_act act = opt_act(L, 5, "instance_norm");
  sl_tensor *out = sl_lua_opt_tensor(L, 6), *fresh = NULL;
  if (out) SL_LUA_TRY(L, "instance_norm", sl_norm_instance_into(out, x, w, b, eps, act));
  else SL_LUA_TRY(L, "instance_norm", sl_norm_instance(&fresh, x, w, b, eps, act));
  return push_result(L, fresh, 6);
}

static int l_group_norm(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  lua_Number g = luaL_checknumber(L, 2);
  sl_tensor *w = sl_lua_opt_tensor(L, 3), *b = sl_lua_opt_tensor(L, 4);
  double eps = luaL_optnumber(L, 5, 1e-5);
  sl_act act = opt_act(L, 6, "group_norm");
  sl_tensor *out = sl_lua_opt_tensor(L, 7), *fresh = NULL;
  if (g != (lua_Number)(int64_t)g || g < 1)
    return luaL_error(L, "group_norm: groups must be a positive integer, got %f", g);
  if (out) SL_LUA_TRY(L, "group_norm", sl_norm_group_into(out, x, (int64_t)g, w, b, eps, act));
  else SL_LUA_TRY(L, "group_norm", sl_norm_group(&fresh, x, (int64_t)g, w, b, eps, act));
  return push_result(L, fresh, 7);
}

static int l_layer_norm(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  int nd = (int)luaL_checkinteger(L, 2);
  sl_tensor *w = sl_lua_opt_tensor(L, 3), *b = sl_lua_opt_tensor(L, 4), *out = NULL;
  double eps = luaL_optnumber(L, 5, 1e-5);
  SL_LUA_TRY(L, "layer_norm", sl_norm_layer(&out, x, nd, w, b, eps));
  sl_lua_push_tensor(L, out);
  return 1;
}

static int l_dropout(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  double p = luaL_checknumber(L, 2);
  sl_tensor *u = sl_lua_check_tensor(L, 3), *out = NULL;
  SL_LUA_TRY(L, "dropout", sl_dropout(&out, x, p, u));
  sl_lua_push_tensor(L, out);
  return 1;
}

static int l_dropout2d(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  double p = luaL_checknumber(L, 2);
  sl_tensor *u = sl_lua_check_tensor(L, 3), *out = NULL;
  SL_LUA_TRY(L, "dropout2d", sl_dropout2d(&out, x, p, u));
  sl_lua_push_tensor(L, out);
  return 1;
}

SL_LUA_MODULE(norm) {
  const luaL_Reg fns[] = {{"instance_norm", l_instance_norm}, {"group_norm", l_group_norm},
                          {"layer_norm", l_layer_norm}, {"dropout", l_dropout}, {"dropout2d", l_dropout2d},
                          {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  return 0;
}
