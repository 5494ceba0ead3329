/* l_feat_frame.c — Lua access to the per-frame feature kernel (sl_feat_frame.h).
 *
 *   sl.feat_frame(traj [M,T,C,H,W], categories)  → [M,T,D] float32
 *       categories: nil (all) or a list of category names {"spatial", "spectral", …}
 *   sl.feat_frame_catalog(categories)             → { {name=, category=, formula=, meaning=}, … }
 *   sl.feat_frame_categories()                    → { {name=, count=}, … } in column order
 * The Lua module spinlock.features.frame wraps these with the config handling. */
#include <string.h>
#include "sl_lua.h"
#include "../core/sl_feat_frame.h"

/* Category list at idx (nil = all) → bit mask; raises on an unknown name. */
static unsigned check_mask(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return SL_FF_ALL_CATEGORIES;
  luaL_checktype(L, idx, LUA_TTABLE);
  unsigned mask = 0;
  int n = (int)lua_objlen(L, idx);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    const char *name = lua_tostring(L, -1);
    int c = name ? sl_feat_frame_category_from_name(name) : -1;
    if (c < 0) {
      luaL_Buffer b; luaL_buffinit(L, &b);
      for (int k = 0; k < SL_FF_NCAT; k++) {
        if (k) luaL_addstring(&b, ", ");
        luaL_addstring(&b, sl_feat_frame_category_name(k));
      }
      luaL_pushresult(&b);
      return (unsigned)luaL_error(L, "feat_frame: unknown category '%s' (expected one of %s)",
                                  name ? name : luaL_typename(L, -2), lua_tostring(L, -1));
    }
    mask |= 1u << c;
    lua_pop(L, 1);
  }
  return mask;
}

static int l_feat_frame(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  unsigned mask = check_mask(L, 2);
  SL_LUA_TRY(L, "feat_frame", sl_feat_frame_compute(&r, x, mask));
  sl_lua_push_tensor(L, r);
  return 1;
}

static int l_feat_frame_catalog(lua_State *L) {
  unsigned mask = check_mask(L, 1);
  int n; const sl_feat_frame_desc *d = sl_feat_frame_catalog(&n);
  lua_createtable(L, n, 0);
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (!((mask >> d[i].category) & 1u)) continue;
    sl_lua_push_catalog_entry(L, d[i].name, sl_feat_frame_category_name(d[i].category), d[i].formula,
                              d[i].meaning);
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

static int l_feat_frame_categories(lua_State *L) {
  lua_createtable(L, SL_FF_NCAT, 0);
  for (int c = 0; c < SL_FF_NCAT; c++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, sl_feat_frame_category_name(c)); lua_setfield(L, -2, "name");
    lua_pushinteger(L, sl_feat_frame_width(1u << c)); lua_setfield(L, -2, "count");
    lua_rawseti(L, -2, c + 1);
  }
  return 1;
}

SL_LUA_MODULE(feat_frame) {
  static const luaL_Reg fns[] = {
    { "feat_frame", l_feat_frame },
    { "feat_frame_catalog", l_feat_frame_catalog },
    { "feat_frame_categories", l_feat_frame_categories },
    { NULL, NULL }
  };
  sl_lua_set_functions(L, core, fns);
  return 0;
}
