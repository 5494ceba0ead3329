/* l_sys.c — small process helpers the Lua library needs and plain LuaJIT lacks.
 *
 *   sl.wall_time()       monotonic wall-clock seconds (os.clock is CPU time, which runs
 *                        N times too fast under N OpenMP threads and is useless for rates/ETAs)
 *   sl.isatty(stream)    whether io.stdout / io.stderr / io.stdin (or a file descriptor
 *                        number) is a terminal; the progress bar redraws in place only then */
#define _POSIX_C_SOURCE 200809L
#include "sl_lua.h"
#include <lualib.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int l_wall_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  return 1;
}

static int l_isatty(lua_State *L) {
  int fd;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    fd = (int)lua_tointeger(L, 1);
  } else {
    FILE **fp = (FILE **)luaL_checkudata(L, 1, LUA_FILEHANDLE);
    if (!*fp) return luaL_argerror(L, 1, "file is closed");
    fd = fileno(*fp);
  }
  lua_pushboolean(L, isatty(fd));
  return 1;
}

SL_LUA_MODULE(sys) {
  static const luaL_Reg fns[] = {
    { "wall_time", l_wall_time },
    { "isatty", l_isatty },
    { NULL, NULL },
  };
  sl_lua_set_functions(L, core, fns);
  return 0;
}
