/* l_feat_initial.c — Lua access to the INITIAL feature kernels (sl_feat_initial.h).
 *
 *   sl.feat_initial_manual(ic [B,C,H,W])          → [B,14] float32
 *   sl.feat_initial_cnn(ic [B,C,H,W], size=64)    → [B,28] float32
 *   sl.feat_initial_catalog()                     → { {name=, category=, formula=, meaning=}, … } (42)
 *   sl.feat_initial_conv2d(x, w, stride, pad)     → strided zero-padded convolution (test hook)
 *   sl.feat_initial_resize(x, size)               → the CNN's input resampling (test hook)
 * The Lua module spinlock.features.initial wraps these with the config handling. */
#include "sl_lua.h"
#include "../core/sl_feat_initial.h"

static int l_manual(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  SL_LUA_TRY(L, "feat_initial_manual", sl_feat_initial_manual(&r, x));
  sl_lua_push_tensor(L, r);
  return 1;
}

static int l_cnn(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  int64_t size = (int64_t)luaL_optinteger(L, 2, SL_FI_CNN_DEFAULT_SIZE);
  SL_LUA_TRY(L, "feat_initial_cnn", sl_feat_initial_cnn(&r, x, size));
  sl_lua_push_tensor(L, r);
  return 1;
}

static int l_catalog(lua_State *L) {
  int n;
  const sl_feat_initial_desc *d = sl_feat_initial_catalog(&n);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    sl_lua_push_catalog_entry(L, d[i].name, d[i].category, d[i].formula, d[i].meaning);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int l_conv2d(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *w = sl_lua_check_tensor(L, 2), *r = NULL;
  int64_t stride = (int64_t)luaL_optinteger(L, 3, 1), pad = (int64_t)luaL_optinteger(L, 4, 0);
  SL_LUA_TRY(L, "feat_initial_conv2d", sl_feat_initial_conv2d(&r, x, w, stride, pad));
  sl_lua_push_tensor(L, r);
  return 1;
}

static int l_resize(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  int64_t size = (int64_t)luaL_checkinteger(L, 2);
  SL_LUA_TRY(L, "feat_initial_resize", sl_feat_initial_resize(&r, x, size));
  sl_lua_push_tensor(L, r);
  return 1;
}

SL_LUA_MODULE(feat_initial) {
  static const luaL_Reg fns[] = {
    { "feat_initial_manual", l_manual },
    { "feat_initial_cnn", l_cnn },
    { "feat_initial_catalog", l_catalog },
    { "feat_initial_conv2d", l_conv2d },
    { "feat_initial_resize", l_resize },
    { NULL, NULL }
  };
  sl_lua_set_functions(L, core, fns);
  return 0;
}
