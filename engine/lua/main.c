/* main.c — the `spinlock` binary (minimal placeholder; the CLI work replaces it).
 * Embeds LuaJIT, preloads spinlock.core, points package.path at lua/ next to the binary's
 * source tree, and runs `spinlock run FILE args…`, `spinlock -e CODE`, or recipes/<cmd>.lua. */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void sl_lua_preload(lua_State *L);

static int traceback(lua_State *L) {
  if (!lua_isstring(L, 1)) return 1;
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

static int report(lua_State *L, int status) {
  if (status && !lua_isnil(L, -1)) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "spinlock: %s\n", msg ? msg : "(error object is not a string)");
  }
  return status;
}

int main(int argc, char **argv) {
  char exe[PATH_MAX], root[PATH_MAX + 8];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  snprintf(root, sizeof root, "%s/..", dirname(exe));   /* build/spinlock → source root */

  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  sl_lua_preload(L);
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;", root, root);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);

  const char *script = NULL, *code = NULL;
  char recipe[PATH_MAX + 64];
  int first = 2;
  if (argc >= 3 && strcmp(argv[1], "run") == 0) { script = argv[2]; first = 3; }
  else if (argc >= 3 && strcmp(argv[1], "-e") == 0) { code = argv[2]; first = 3; }
  else if (argc >= 2) { snprintf(recipe, sizeof recipe, "%s/recipes/%s.lua", root, argv[1]); script = recipe; }
  else { fprintf(stderr, "usage: spinlock run FILE [args] | -e CODE | <command> [args]\n"); return 1; }

  lua_createtable(L, argc, 0);
  lua_pushstring(L, script ? script : "-e");
  lua_rawseti(L, -2, 0);
  for (int i = first; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i - first + 1); }
  lua_setglobal(L, "arg");

  lua_pushcfunction(L, traceback);
  int st = code ? luaL_loadbuffer(L, code, strlen(code), "=(command line)") : luaL_loadfile(L, script);
  if (st == 0) {
    int nargs = 0;
    for (int i = first; i < argc; i++, nargs++) lua_pushstring(L, argv[i]);
    st = lua_pcall(L, nargs, 0, 1);
  }
  report(L, st);
  lua_close(L);
  return st ? 1 : 0;
}
