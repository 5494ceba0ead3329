/* l_linalg.c — Lua binding of sl_linalg.h:
 *   sl.matmul(a, b) / a:matmul(b)   torch.matmul semantics (1-D, 2-D, batched with broadcasting)
 *   sl.bmm(a, b)    / a:bmm(b)      3-D @ 3-D (a batch of 1 broadcasts)
 *   sl.blas_threads([n])            BLAS worker threads; with n sets them and returns the previous
 *   sl.blas_corename()              kernel set OpenBLAS picked ("Zen", "SkylakeX", "Prescott"…) */
#include "sl_lua.h"
#include "sl_linalg.h"

static int l_matmul(lua_State *L) {
  sl_tensor *a = sl_lua_check_tensor(L, 1), *b = sl_lua_check_tensor(L, 2), *out = NULL;
  SL_LUA_TRY(L, "matmul", sl_linalg_matmul(&out, a, b));
  sl_lua_push_tensor(L, out);
  return 1;
}

static int l_bmm(lua_State *L) {
  sl_tensor *a = sl_lua_check_tensor(L, 1), *b = sl_lua_check_tensor(L, 2), *out = NULL;
  SL_LUA_TRY(L, "bmm", sl_linalg_bmm(&out, a, b));
  sl_lua_push_tensor(L, out);
  return 1;
}

static int l_blas_threads(lua_State *L) {
  if (lua_isnoneornil(L, 1)) { lua_pushinteger(L, sl_blas_get_threads()); return 1; }
  int n = (int)luaL_checkinteger(L, 1);
  if (n < 1) return luaL_argerror(L, 1, "thread count must be >= 1");
  lua_pushinteger(L, sl_blas_set_threads(n));
  return 1;
}

static int l_blas_corename(lua_State *L) { lua_pushstring(L, sl_blas_corename()); return 1; }

SL_LUA_MODULE(linalg) {
  const luaL_Reg fns[] = {{"matmul", l_matmul}, {"bmm", l_bmm}, {"blas_threads", l_blas_threads},
                          {"blas_corename", l_blas_corename}, {NULL, NULL}};
  const luaL_Reg methods[] = {{"matmul", l_matmul}, {"bmm", l_bmm}, {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  sl_lua_add_tensor_methods(L, methods);
  sl_blas_init();   /* BLAS single-threaded from the start: results must not depend on call history */
  return 0;
}
