/* l_signal.c — Lua access to cooperative interruption:
 *   sl.signals_install(), sl.signals_uninstall(), sl.interrupted() → false | "SIGINT" | "SIGTERM",
 *   sl.clear_interrupt(). */
#include "sl_lua.h"
#include "sl_signal.h"

#include <signal.h>

static int l_install(lua_State *L) { (void)L; sl_signal_install(); return 0; }
static int l_uninstall(lua_State *L) { (void)L; sl_signal_uninstall(); return 0; }
static int l_interrupted(lua_State *L) {
  int s = sl_signal_pending();
  if (!s) lua_pushboolean(L, 0);
  else lua_pushstring(L, s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : "signal");
  return 1;
}
static int l_clear(lua_State *L) { (void)L; sl_signal_clear(); return 0; }

SL_LUA_MODULE(signal) {
  const luaL_Reg fns[] = {{"signals_install", l_install}, {"signals_uninstall", l_uninstall},
                          {"interrupted", l_interrupted}, {"clear_interrupt", l_clear}, {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  return 0;
}
