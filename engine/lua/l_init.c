/* l_init.c — builds the `spinlock.core` table: the tensor type first, then every binding module
 * found by the build (build/gen/sl_modules.h lists SL_LUA_MODULE definitions), in name order. */
#include "sl_lua.h"

int sl_lua_open_tensor_type(lua_State *L, int core);

#define SL_MODULE(name) int sl_lua_open_##name(lua_State *L, int core);
#include "sl_modules.h"
#undef SL_MODULE

int luaopen_spinlock_core(lua_State *L) {
  lua_newtable(L);
  int core = lua_gettop(L);
  sl_lua_open_tensor_type(L, core);
#define SL_MODULE(name) sl_lua_open_##name(L, core); lua_settop(L, core);
#include "sl_modules.h"
#undef SL_MODULE
  lua_pushstring(L, SL_VERSION);
  lua_setfield(L, core, "version");
  return 1;
}

void sl_lua_preload(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_spinlock_core);
  lua_setfield(L, -2, "spinlock.core");
  lua_pop(L, 2);
}
