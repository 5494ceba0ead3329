/* l_ic.c — Lua access to the initial-condition generators (engine/core/sl_ic.h).
 *
 *   sl.ic_generators()                               → { {name, doc, standardized, params = {...}}, ... }
 *   sl.ic_check(gen, params)                         → true, or raises naming the IC and the key
 *   sl.ic_generate(out, gen, params, seed, op_index) → out   (out: float32 [3,G,G])
 *   sl.ic_generate_batch(out, specs, keys, seed, op_indices) → out
 *        out [n,3,G,G]; keys[i] names an entry of specs = { key = {generator = gen, params = {...}} }
 *   sl.ic_choose(weights, seed, op_index)            → 1-based index drawn from the IC-type stream
 *
 * `params` is a table {key = value}: a number, a list of numbers, an option name, a list of option
 * names, or false for null (the generator then draws the value).  Seeds and operator indices are
 * integers in [0, 2^53); the operator index enters the Philox stream id as given. */
#include <string.h>
#include "sl_lua.h"
#include "sl_ic.h"

#define LIC_MAX_BATCH_KEYS 256

static uint64_t check_index(lua_State *L, int idx, const char *what) {
  const double v = luaL_checknumber(L, idx);
  if (!(v >= 0 && v < 9007199254740992.0) || v != (double)(uint64_t)v)
    luaL_error(L, "%s must be an integer in [0, 2^53), got %f", what, v);
  return (uint64_t)v;
}

static int check_generator(lua_State *L, int idx) {
  const char *name = luaL_checkstring(L, idx);
  int id;
  if (sl_ic_lookup(name, &id) != SL_OK) sl_lua_raise(L, "ic");
  return id;
}

/* Converts the params table at idx into p (defaults first).  Raises on bad keys or values. */
static void params_from_table(lua_State *L, int idx, int gen, sl_ic_params *p) {
  sl_ic_params_default(p, gen);
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  const char *gname = sl_ic_get(gen)->name;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "%s: parameter names must be strings", gname);
    const char *key = lua_tostring(L, -2);
    sl_status st;
    if (lua_type(L, -1) == LUA_TNUMBER) {
      const double v = lua_tonumber(L, -1);
      st = sl_ic_params_set(p, key, 1, &v);
    } else if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
      st = sl_ic_params_set(p, key, 0, NULL);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      const char *s = lua_tostring(L, -1);
      st = sl_ic_params_set_options(p, key, 1, &s);
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      const int n = (int)lua_objlen(L, -1);
      if (n > SL_IC_MAX_LIST) luaL_error(L, "%s: parameter '%s' has %d values (at most %d)", gname, key, n, SL_IC_MAX_LIST);
      double v[SL_IC_MAX_LIST];
      const char *s[SL_IC_MAX_LIST];
      int nnum = 0, nstr = 0;
      for (int i = 0; i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        if (lua_type(L, -1) == LUA_TNUMBER) v[nnum++] = lua_tonumber(L, -1);
        else if (lua_type(L, -1) == LUA_TSTRING) s[nstr++] = lua_tostring(L, -1);   /* kept alive by the table */
        lua_pop(L, 1);
      }
      if (nnum + nstr != n || (nnum && nstr) || n == 0)
        luaL_error(L, "%s: parameter '%s' must be a non-empty list of numbers or of option names", gname, key);
      st = nnum ? sl_ic_params_set(p, key, n, v) : sl_ic_params_set_options(p, key, n, s);
    } else {
      luaL_error(L, "%s: parameter '%s' has unsupported type %s", gname, key, luaL_typename(L, -1));
      st = SL_ERR_ARG;
    }
    if (st != SL_OK) sl_lua_raise(L, "ic");
    lua_pop(L, 1);
  }
}

static int l_check(lua_State *L) {
  const int gen = check_generator(L, 1);
  sl_ic_params p;
  params_from_table(L, 2, gen, &p);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_generate(lua_State *L) {
  sl_tensor *out = sl_lua_check_tensor(L, 1);
  const int gen = check_generator(L, 2);
  sl_ic_params p;
  params_from_table(L, 3, gen, &p);
  const uint64_t seed = check_index(L, 4, "ic_generate: seed");
  const uint64_t op = check_index(L, 5, "ic_generate: operator index");
  SL_LUA_TRY(L, "ic_generate", sl_ic_generate(out, &p, seed, op));
  lua_pushvalue(L, 1);
  return 1;
}

/* Parameters are converted once per distinct key; rows point at them. */
static int l_generate_batch(lua_State *L) {
  sl_tensor *out = sl_lua_check_tensor(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  const uint64_t seed = check_index(L, 4, "ic_generate_batch: seed");
  luaL_checktype(L, 5, LUA_TTABLE);
  const int n = (int)lua_objlen(L, 3);
  if ((int)lua_objlen(L, 5) != n)
    luaL_error(L, "ic_generate_batch: %d keys but %d operator indices", n, (int)lua_objlen(L, 5));
  /* Scratch lives in a userdata so a Lua error below cannot leak it. */
  const size_t bytes = sizeof(sl_ic_params) * LIC_MAX_BATCH_KEYS +
                       (sizeof(const sl_ic_params *) + sizeof(uint64_t)) * (size_t)(n ? n : 1);
  sl_ic_params *uniq = lua_newuserdata(L, bytes);
  const sl_ic_params **rows = (const sl_ic_params **)(uniq + LIC_MAX_BATCH_KEYS);
  uint64_t *ops = (uint64_t *)(rows + (n ? n : 1));
  lua_newtable(L);                     /* key → slot in uniq */
  const int slots = lua_gettop(L);
  int nuniq = 0;
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 3, i + 1);
    const char *key = lua_tostring(L, -1);
    if (!key) luaL_error(L, "ic_generate_batch: keys[%d] must be a string", i + 1);
    lua_pushvalue(L, -1);
    lua_rawget(L, slots);
    int slot;
    if (lua_isnil(L, -1)) {
      if (nuniq == LIC_MAX_BATCH_KEYS) luaL_error(L, "ic_generate_batch: more than %d distinct ICs in one batch", LIC_MAX_BATCH_KEYS);
      lua_pop(L, 1);
      lua_getfield(L, 2, key);
      if (!lua_istable(L, -1)) luaL_error(L, "ic_generate_batch: specs has no entry for '%s'", key);
      const int spec = lua_gettop(L);
      lua_getfield(L, spec, "generator");
      const int gen = check_generator(L, -1);
      lua_getfield(L, spec, "params");
      params_from_table(L, lua_gettop(L), gen, &uniq[nuniq]);
      lua_settop(L, spec - 1);         /* back to the key */
      lua_pushvalue(L, -1);
      lua_pushinteger(L, nuniq);
      lua_rawset(L, slots);
      slot = nuniq++;
    } else {
      slot = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    rows[i] = &uniq[slot];
    lua_rawgeti(L, 5, i + 1);
    ops[i] = check_index(L, -1, "ic_generate_batch: operator index");
    lua_pop(L, 1);
  }
  SL_LUA_TRY(L, "ic_generate_batch", sl_ic_generate_batch(out, n, rows, seed, ops));
  lua_pushvalue(L, 1);
  return 1;
}

static int l_choose(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const int n = (int)lua_objlen(L, 1);
  const uint64_t seed = check_index(L, 2, "ic_choose: seed");
  const uint64_t op = check_index(L, 3, "ic_choose: operator index");
  double *w = lua_newuserdata(L, sizeof(double) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "ic_choose: weights[%d] must be a number", i + 1);
    w[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  int k;
  SL_LUA_TRY(L, "ic_choose", sl_ic_choose(&k, n, w, seed, op));
  lua_pushinteger(L, k + 1);
  return 1;
}

static const char *kind_str(sl_ic_kind k) {
  static const char *names[] = { "number", "integer", "choice", "choices", "list", "range" };
  return names[k];
}

/* Pushes the default of p: a number, a list, an option name or list of names, or nil. */
static void push_default(lua_State *L, const sl_ic_param *p) {
  char buf[64];
  if (p->ndef == 0) { lua_pushnil(L); return; }
  if (p->kind == SL_IC_NUMBER || p->kind == SL_IC_INTEGER) { lua_pushnumber(L, p->def[0]); return; }
  if (p->kind == SL_IC_CHOICE) { lua_pushstring(L, sl_ic_option_name(p, (int)p->def[0], buf, sizeof buf)); return; }
  lua_createtable(L, p->ndef, 0);
  for (int i = 0; i < p->ndef; i++) {
    if (p->kind == SL_IC_CHOICES) lua_pushstring(L, sl_ic_option_name(p, (int)p->def[i], buf, sizeof buf));
    else lua_pushnumber(L, p->def[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static int l_generators(lua_State *L) {
  char buf[64];
  lua_createtable(L, sl_ic_count(), 0);
  for (int id = 0; id < sl_ic_count(); id++) {
    const sl_ic_generator *g = sl_ic_get(id);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, g->name); lua_setfield(L, -2, "name");
    lua_pushstring(L, g->doc); lua_setfield(L, -2, "doc");
    lua_pushboolean(L, g->standardized); lua_setfield(L, -2, "standardized");
    lua_createtable(L, g->nparams, 0);
    for (int i = 0; i < g->nparams; i++) {
      const sl_ic_param *p = &g->params[i];
      lua_createtable(L, 0, 8);
      lua_pushstring(L, p->name); lua_setfield(L, -2, "name");
      lua_pushstring(L, kind_str(p->kind)); lua_setfield(L, -2, "kind");
      push_default(L, p); lua_setfield(L, -2, "default");
      lua_pushboolean(L, p->nullable); lua_setfield(L, -2, "nullable");
      lua_pushstring(L, p->doc); lua_setfield(L, -2, "doc");
      if (p->options) {
        lua_newtable(L);
        for (int o = 0; sl_ic_option_name(p, o, buf, sizeof buf); o++) {
          lua_pushstring(L, buf);
          lua_rawseti(L, -2, o + 1);
        }
        lua_setfield(L, -2, "options");
      } else {
        lua_pushnumber(L, p->lo); lua_setfield(L, -2, "min");
        lua_pushnumber(L, p->hi); lua_setfield(L, -2, "max");
      }
      lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "params");
    lua_rawseti(L, -2, id + 1);
  }
  return 1;
}

SL_LUA_MODULE(ic) {
  const luaL_Reg fns[] = {
    { "ic_generators", l_generators }, { "ic_check", l_check }, { "ic_generate", l_generate },
    { "ic_generate_batch", l_generate_batch }, { "ic_choose", l_choose }, { NULL, NULL } };
  sl_lua_set_functions(L, core, fns);
  return 0;
}
