/* l_conv.c — Lua binding of sl_conv.h:
 *   y, algo = sl.conv2d(x, w, bias_or_nil, opts)
 *     opts (all optional): padding = "zeros" | "circular", algo = "auto" | "im2col" | "fft" | "fftrow" | "winograd" | "direct",
 *     workspace = a ConvWorkspace (reused buffers and cached FFT weight spectra), out = a contiguous
 *     float32 [B,Cout,H,W] tensor to write into.  Returns the output and the algorithm used.
 *   ws = sl.conv2d_workspace()   ws:bytes(), ws:clear(), ws:free(), ws:set_fft_budget(bytes)
 *   dx, dw, db = sl.conv2d_backward(x, w, dy, opts)
 *     opts: padding, workspace, and input / weight / bias = false to skip that gradient (nil back)
 *   sl.conv2d_choose(B, cin, cout, h, w, k, padding, weights_cached) → algorithm name for auto
 * A workspace is freed by the GC or early with ws:free(). */
#include "sl_lua.h"
#include "sl_conv.h"

#include <string.h>

#define WS_MT "spinlock.ConvWorkspace"

typedef struct { sl_conv2d_ws *ws; } ws_ud;

static ws_ud *check_ws_ud(lua_State *L, int idx) {
  ws_ud *u = luaL_testudata_compat(L, idx, WS_MT);
  if (!u) luaL_argerror(L, idx, lua_pushfstring(L, "ConvWorkspace expected, got %s", luaL_typename(L, idx)));
  return u;
}

static sl_conv2d_ws *check_ws(lua_State *L, int idx) {
  ws_ud *u = check_ws_ud(L, idx);
  if (!u->ws) luaL_argerror(L, idx, "workspace was freed (ws:free()) and cannot be used");
  return u->ws;
}

static int l_ws_new(lua_State *L) {
  ws_ud *u = lua_newuserdata(L, sizeof *u);
  u->ws = NULL;
  luaL_getmetatable(L, WS_MT);
  lua_setmetatable(L, -2);
  if (!(u->ws = sl_conv2d_ws_new())) return luaL_error(L, "conv2d_workspace: out of memory");
  return 1;
}

static int l_ws_free(lua_State *L) {
  ws_ud *u = check_ws_ud(L, 1);
  sl_conv2d_ws_free(u->ws);
  u->ws = NULL;
  return 0;
}

static int l_ws_bytes(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_conv2d_ws_bytes(check_ws(L, 1))); return 1; }
static int l_ws_clear(lua_State *L) { sl_conv2d_ws_clear(check_ws(L, 1)); return 0; }
static int l_ws_budget(lua_State *L) {
  sl_conv2d_ws *ws = check_ws(L, 1);
  lua_Number b = luaL_checknumber(L, 2);
  if (b < 0) return luaL_argerror(L, 2, "budget must be >= 0 bytes");
  sl_conv2d_ws_set_fft_budget(ws, (size_t)b);
  return 0;
}
static int l_ws_tostring(lua_State *L) {
  ws_ud *u = check_ws_ud(L, 1);
  if (!u->ws) lua_pushstring(L, "ConvWorkspace(freed)");
  else lua_pushfstring(L, "ConvWorkspace(%d KiB)", (int)(sl_conv2d_ws_bytes(u->ws) >> 10));
  return 1;
}

static sl_conv_padding check_padding(lua_State *L, const char *s) {
  sl_conv_padding p;
  if (sl_conv_padding_from_name(s, &p) != 0)
    luaL_error(L, "conv2d: unknown padding '%s' (expected \"zeros\" or \"circular\")", s);
  return p;
}

static int l_conv2d(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *w = sl_lua_check_tensor(L, 2);
  sl_tensor *bias = sl_lua_opt_tensor(L, 3), *out = NULL;
  sl_conv_padding padding = SL_CONV_PAD_ZEROS;
  sl_conv_algo algo = SL_CONV_AUTO;
  sl_conv2d_ws *ws = NULL;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_getfield(L, 4, "padding");
    if (!lua_isnil(L, -1)) padding = check_padding(L, luaL_checkstring(L, -1));
    lua_getfield(L, 4, "algo");
    if (!lua_isnil(L, -1)) {
      const char *s = luaL_checkstring(L, -1);
      if (sl_conv_algo_from_name(s, &algo) != 0)
        return luaL_error(L, "conv2d: unknown algo '%s' (expected \"auto\", \"im2col\", \"fft\", \"fftrow\", \"winograd\" or \"direct\")", s);
    }
    lua_getfield(L, 4, "workspace");
    if (!lua_isnil(L, -1)) ws = check_ws(L, lua_gettop(L));
    lua_getfield(L, 4, "out");
    if (!lua_isnil(L, -1)) out = sl_lua_check_tensor(L, lua_gettop(L));
    lua_pop(L, 4);
  }
  if (algo == SL_CONV_AUTO) algo = sl_conv2d_resolve(x, w, padding, ws);
  if (out) {
    SL_LUA_TRY(L, "conv2d", sl_conv2d_into(out, x, w, bias, padding, algo, ws));
    lua_getfield(L, 4, "out");
  } else {
    SL_LUA_TRY(L, "conv2d", sl_conv2d(&out, x, w, bias, padding, algo, ws));
    sl_lua_push_tensor(L, out);
  }
  lua_pushstring(L, sl_conv_algo_name(algo));
  return 2;
}

/* dx, dw, db = sl.conv2d_backward(x, w, dy, {padding=, input=true, weight=true, bias=true,
 * workspace=}); a gradient switched off comes back as nil. */
static int l_conv2d_backward(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *w = sl_lua_check_tensor(L, 2), *dy = sl_lua_check_tensor(L, 3);
  sl_conv_padding padding = SL_CONV_PAD_ZEROS;
  sl_conv2d_ws *ws = NULL;
  int want[3] = {1, 1, 1};
  static const char *const names[3] = {"input", "weight", "bias"};
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_getfield(L, 4, "padding");
    if (!lua_isnil(L, -1)) padding = check_padding(L, luaL_checkstring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, 4, "workspace");
    if (!lua_isnil(L, -1)) ws = check_ws(L, lua_gettop(L));
    lua_pop(L, 1);
    for (int i = 0; i < 3; i++) {
      lua_getfield(L, 4, names[i]);
      if (!lua_isnil(L, -1)) want[i] = lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
  }
  sl_tensor *dx = NULL, *dw = NULL, *db = NULL;
  SL_LUA_TRY(L, "conv2d_backward", sl_conv2d_backward(want[0] ? &dx : NULL, want[1] ? &dw : NULL,
                                                      want[2] ? &db : NULL, x, w, dy, padding, ws));
  sl_tensor *res[3] = {dx, dw, db};
  for (int i = 0; i < 3; i++) {
    if (res[i]) sl_lua_push_tensor(L, res[i]);
    else lua_pushnil(L);
  }
  return 3;
}

static int l_choose(lua_State *L) {
  int64_t v[6];
  for (int i = 0; i < 6; i++) {
    v[i] = (int64_t)luaL_checknumber(L, i + 1);
    if (v[i] < 0) return luaL_argerror(L, i + 1, "sizes must be >= 0");
  }
  if (v[5] % 2 == 0) return luaL_argerror(L, 6, "kernel size must be odd");
  sl_conv_padding p = lua_isnoneornil(L, 7) ? SL_CONV_PAD_ZEROS : check_padding(L, luaL_checkstring(L, 7));
  int cached = lua_toboolean(L, 8);
  lua_pushstring(L, sl_conv_algo_name(sl_conv2d_choose(v[0], v[1], v[2], v[3], v[4], v[5], p, cached,
                                                       (size_t)256 << 20)));
  return 1;
}

SL_LUA_MODULE(conv) {
  luaL_newmetatable(L, WS_MT);
  const luaL_Reg meta[] = {{"__gc", l_ws_free}, {"__tostring", l_ws_tostring}, {NULL, NULL}};
  sl_lua_set_functions(L, -1, meta);
  lua_newtable(L);
  const luaL_Reg methods[] = {{"free", l_ws_free}, {"bytes", l_ws_bytes}, {"clear", l_ws_clear},
                              {"set_fft_budget", l_ws_budget}, {NULL, NULL}};
  sl_lua_set_functions(L, -1, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  const luaL_Reg fns[] = {{"conv2d", l_conv2d}, {"conv2d_backward", l_conv2d_backward},
                          {"conv2d_workspace", l_ws_new}, {"conv2d_choose", l_choose}, {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  return 0;
}
