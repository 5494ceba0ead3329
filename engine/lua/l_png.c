/* l_png.c — Lua binding of sl_png.h:
 *   sl.png_colorize(field [, opts]) → uint8 [H*s, W*s, 3]
 *       opts: colormap ("viridis" | "coolwarm"/"diverging" | "gray"), vmin, vmax (default: the
 *       finite min/max of the field), scale (pixel replication, default 1)
 *   sl.png_write(path, image [, opts]) — image uint8 [H,W] / [H,W,3] / [H,W,4] is written as is;
 *       a 2-D non-uint8 field is colorized first with opts (as above)
 *   sl.colormap(name) → uint8 [256, 3] table */
#include "sl_lua.h"
#include "sl_png.h"

#include <math.h>

typedef struct { sl_png_cmap cm; double vmin, vmax; int scale; } colorize_opts;

static void read_opts(lua_State *L, int idx, colorize_opts *o, const char *op)
{
  o->cm = SL_CMAP_VIRIDIS; o->vmin = NAN; o->vmax = NAN; o->scale = 1;
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_getfield(L, idx, "colormap");
  if (!lua_isnil(L, -1)) {
    const char *name = lua_tostring(L, -1);
    if (!name || sl_png_cmap_lookup(&o->cm, name) != SL_OK) sl_lua_raise(L, op);
  }
  lua_pop(L, 1);
  lua_getfield(L, idx, "vmin");
  if (!lua_isnil(L, -1)) o->vmin = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, idx, "vmax");
  if (!lua_isnil(L, -1)) o->vmax = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, idx, "scale");
  if (!lua_isnil(L, -1)) {
    const lua_Number s = luaL_checknumber(L, -1);
    if (s != floor(s) || s < 1 || s > 64) luaL_error(L, "%s: scale must be an integer in 1..64, got %f", op, s);
    o->scale = (int)s;
  }
  lua_pop(L, 1);
}

static int l_png_colorize(lua_State *L)
{
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  colorize_opts o;
  read_opts(L, 2, &o, "png_colorize");
  sl_tensor *img = NULL;
  SL_LUA_TRY(L, "png_colorize", sl_png_colorize(&img, x, o.vmin, o.vmax, o.cm, o.scale));
  sl_lua_push_tensor(L, img);
  return 1;
}

static int l_png_write(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  sl_tensor *x = sl_lua_check_tensor(L, 2);
  if (x->dtype == SL_DTYPE_U8) {
    SL_LUA_TRY(L, "png_write", sl_png_write(path, x));
    return 0;
  }
  colorize_opts o;
  read_opts(L, 3, &o, "png_write");
  sl_tensor *img = NULL;
  SL_LUA_TRY(L, "png_write", sl_png_colorize(&img, x, o.vmin, o.vmax, o.cm, o.scale));
  const sl_status st = sl_png_write(path, img);
  sl_tensor_release(img);
  SL_LUA_TRY(L, "png_write", st);
  return 0;
}

static int l_colormap(lua_State *L)
{
  sl_png_cmap cm;
  SL_LUA_TRY(L, "colormap", sl_png_cmap_lookup(&cm, luaL_optstring(L, 1, "viridis")));
  const int64_t shape[2] = { 256, 3 };
  sl_tensor *t = NULL;
  SL_LUA_TRY(L, "colormap", sl_tensor_from_buffer(&t, SL_DTYPE_U8, 2, shape, sl_png_cmap_table(cm)));
  sl_lua_push_tensor(L, t);
  return 1;
}

SL_LUA_MODULE(png) {
  const luaL_Reg fns[] = { { "png_colorize", l_png_colorize }, { "png_write", l_png_write },
                           { "colormap", l_colormap }, { NULL, NULL } };
  sl_lua_set_functions(L, core, fns);
  return 0;
}
