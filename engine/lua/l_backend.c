/* l_backend.c — sl.backend_info(): which backends this process can use, and why not.
 *
 * Returns {cuda_available, devices, reason, plugin, device_names, blas_core}.  blas_core is
 * OpenBLAS's kernel family: on CPUs that OpenBLAS 0.3.21 misdetects it reads "Prescott" unless
 * main.c's start-up fix (OPENBLAS_CORETYPE re-exec) took effect, so it is worth showing. */
#include "sl_lua.h"
#include "../core/sl_backend.h"

char *openblas_get_corename(void);  /* from OpenBLAS (cblas.h drags in <complex.h>; see toolchain §7) */

static int l_backend_info(lua_State *L) {
  const sl_backend_status *st = sl_backend_get_status();
  lua_createtable(L, 0, 6);
  lua_pushboolean(L, st->cuda_available);
  lua_setfield(L, -2, "cuda_available");
  lua_pushinteger(L, st->devices);
  lua_setfield(L, -2, "devices");
  lua_pushstring(L, st->reason);
  lua_setfield(L, -2, "reason");
  lua_pushstring(L, st->plugin);
  lua_setfield(L, -2, "plugin");

  lua_createtable(L, st->devices, 0);
  const sl_backend *be = sl_backend_get(SL_DEV_CUDA);
  for (int i = 0; be && be->device_name && i < st->devices; i++) {
    char name[256];
    be->device_name(i, name, sizeof name);
    lua_pushstring(L, name);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "device_names");

  const char *core = openblas_get_corename();
  lua_pushstring(L, core ? core : "unknown");
  lua_setfield(L, -2, "blas_core");
  return 1;
}

SL_LUA_MODULE(backend) {
  static const luaL_Reg fns[] = {
    { "backend_info", l_backend_info },
    { NULL, NULL },
  };
  sl_lua_set_functions(L, core, fns);
  return 0;
}
