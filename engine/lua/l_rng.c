/* l_rng.c — Lua access to the Philox streams: the Generator object and sl.philox.
 *
 *   local g = sl.Generator{seed=42, purpose=1, a=op_index, b=realization, c=step}
 *   g:normal({8,64,64}, 0, 1)      -- new float32 tensor; g:normal_(t, 0, 1) fills t in place
 *
 * A generator is (seed, stream id, offset).  The stream id is built in C from small integers
 * (sl_rng_stream_id), so no 64-bit quantity ever has to survive a Lua double; offsets are exact
 * up to 2^53 words.  Every draw starts at the current offset and advances it by the words used,
 * rounded up to a whole Philox block (4 words), so the values of a draw depend only on the
 * generator's identity and the draws before it — never on thread count or tensor layout. */
#include <math.h>
#include <string.h>
#include "sl_lua_rng.h"

#define MAX_EXACT 9007199254740992.0   /* 2^53: largest range where doubles hold every integer */

sl_generator *sl_lua_check_generator(lua_State *L, int idx) {
  sl_generator *g = luaL_testudata_compat(L, idx, SL_GENERATOR_MT);
  if (!g) luaL_argerror(L, idx, lua_pushfstring(L, "Generator expected, got %s", luaL_typename(L, idx)));
  return g;
}

/* A non-negative integer-valued number <= max at idx (or field `name` for messages). */
static uint64_t check_uint(lua_State *L, int idx, const char *name, double max) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    return (uint64_t)luaL_error(L, "Generator: %s must be an integer, got %s", name, luaL_typename(L, idx));
  double v = lua_tonumber(L, idx);
  if (!(v >= 0 && v <= max && v == floor(v)))
    return (uint64_t)luaL_error(L, "Generator: %s must be an integer in [0, %.0f], got %f", name, max, v);
  return (uint64_t)v;
}

static uint64_t opt_field(lua_State *L, int tbl, const char *name, double max) {
  lua_getfield(L, tbl, name);
  uint64_t v = lua_isnil(L, -1) ? 0 : check_uint(L, -1, name, max);
  lua_pop(L, 1);
  return v;
}

/* sl.Generator(seed) or sl.Generator{seed=, purpose=, a=, b=, c=, offset=} */
static int l_generator(lua_State *L) {
  uint64_t seed, purpose = 0, a = 0, b = 0, c = 0, offset = 0;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "seed");
    if (lua_isnil(L, -1)) return luaL_error(L, "Generator: seed is required");
    seed = check_uint(L, -1, "seed", MAX_EXACT);
    lua_pop(L, 1);
    purpose = opt_field(L, 1, "purpose", 4294967295.0);
    a = opt_field(L, 1, "a", MAX_EXACT);
    b = opt_field(L, 1, "b", MAX_EXACT);
    c = opt_field(L, 1, "c", MAX_EXACT);
    offset = opt_field(L, 1, "offset", MAX_EXACT);
  } else {
    seed = check_uint(L, 1, "seed", MAX_EXACT);
  }
  sl_generator *g = lua_newuserdata(L, sizeof *g);
  g->seed = seed;
  g->stream_id = sl_rng_stream_id((uint32_t)purpose, a, b, c);
  g->stream = sl_rng_stream_make(seed, g->stream_id);
  g->offset = offset;
  luaL_getmetatable(L, SL_GENERATOR_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* Shape from a number or a table at idx. */
static int check_shape_arg(lua_State *L, int idx, int64_t *shape) {
  if (lua_type(L, idx) == LUA_TNUMBER) { shape[0] = (int64_t)lua_tonumber(L, idx); return 1; }
  if (!lua_istable(L, idx)) luaL_argerror(L, idx, "shape (number or table of sizes) expected");
  return sl_lua_check_shape(L, idx, shape);
}

/* Default parameters per kind. */
static const double defaults[SL_RNG_KIND_COUNT][2] = { { 0, 1 }, { 0, 1 }, { 0, 1 }, { 0.5, 0 } };

static int fill_and_advance(lua_State *L, sl_generator *g, sl_tensor *t, sl_rng_kind kind, int pidx) {
  double p1 = luaL_optnumber(L, pidx, defaults[kind][0]);
  double p2 = kind == SL_RNG_BERNOULLI ? 0 : luaL_optnumber(L, pidx + 1, defaults[kind][1]);
  SL_LUA_TRY(L, sl_rng_kind_name(kind), sl_rng_fill(t, kind, g->stream, g->offset, p1, p2));
  g->offset += sl_rng_fill_words(kind, t->dtype, sl_tensor_numel(t));
  return 0;
}

/* g:<kind>(shape, p1, p2, dtype) → new tensor (bernoulli: g:bernoulli(shape, p, dtype)). */
static int draw_new(lua_State *L, sl_rng_kind kind) {
  sl_generator *g = sl_lua_check_generator(L, 1);
  lua_settop(L, 5);   /* fixed argument slots: the result is pushed above them */
  int64_t shape[SL_MAX_DIMS];
  int nd = check_shape_arg(L, 2, shape);
  int didx = kind == SL_RNG_BERNOULLI ? 4 : 5;
  sl_dtype dt = sl_lua_opt_dtype(L, didx, SL_DTYPE_F32);
  if (dt != SL_DTYPE_F32 && dt != SL_DTYPE_F64)
    luaL_argerror(L, didx, lua_pushfstring(L, "%s: dtype must be float32 or float64, got %s",
                                           sl_rng_kind_name(kind), sl_dtype_name(dt)));
  sl_tensor *t = NULL;
  SL_LUA_TRY(L, sl_rng_kind_name(kind), sl_tensor_empty(&t, dt, nd, shape));
  sl_lua_push_tensor(L, t);   /* owned by Lua from here: an error below cannot leak it */
  fill_and_advance(L, g, t, kind, 3);
  return 1;
}

/* g:<kind>_(t, p1, p2) → t, filled in place. */
static int draw_inplace(lua_State *L, sl_rng_kind kind) {
  sl_generator *g = sl_lua_check_generator(L, 1);
  sl_tensor *t = sl_lua_check_tensor(L, 2);
  fill_and_advance(L, g, t, kind, 3);
  lua_settop(L, 2);
  return 1;
}

static int g_uniform(lua_State *L)    { return draw_new(L, SL_RNG_UNIFORM); }
static int g_normal(lua_State *L)     { return draw_new(L, SL_RNG_NORMAL); }
static int g_laplace(lua_State *L)    { return draw_new(L, SL_RNG_LAPLACE); }
static int g_bernoulli(lua_State *L)  { return draw_new(L, SL_RNG_BERNOULLI); }
static int g_uniform_(lua_State *L)   { return draw_inplace(L, SL_RNG_UNIFORM); }
static int g_normal_(lua_State *L)    { return draw_inplace(L, SL_RNG_NORMAL); }
static int g_laplace_(lua_State *L)   { return draw_inplace(L, SL_RNG_LAPLACE); }
static int g_bernoulli_(lua_State *L) { return draw_inplace(L, SL_RNG_BERNOULLI); }

/* g:random() → one double in [0,1) with 53 random bits (for Lua-side samplers). */
static int g_random(lua_State *L) {
  sl_generator *g = sl_lua_check_generator(L, 1);
  double x;
  sl_rng_uniform_f64(g->stream, g->offset, 1, &x);
  sl_lua_generator_advance(g, 2);
  lua_pushnumber(L, x);
  return 1;
}

static int g_offset(lua_State *L) {
  lua_pushnumber(L, (lua_Number)sl_lua_check_generator(L, 1)->offset);
  return 1;
}

static int g_seek(lua_State *L) {
  sl_generator *g = sl_lua_check_generator(L, 1);
  g->offset = check_uint(L, 2, "offset", MAX_EXACT);
  lua_settop(L, 1);
  return 1;
}

/* g:clone() → an independent generator at the same stream and offset. */
static int g_clone(lua_State *L) {
  sl_generator *g = sl_lua_check_generator(L, 1);
  sl_generator *c = lua_newuserdata(L, sizeof *c);
  *c = *g;
  luaL_getmetatable(L, SL_GENERATOR_MT);
  lua_setmetatable(L, -2);
  return 1;
}

static int g_tostring(lua_State *L) {
  sl_generator *g = sl_lua_check_generator(L, 1);
  char buf[128];
  snprintf(buf, sizeof buf, "Generator(seed=%llu, stream=0x%016llx, offset=%llu)", (unsigned long long)g->seed,
           (unsigned long long)g->stream_id, (unsigned long long)g->offset);
  lua_pushstring(L, buf);
  return 1;
}

/* sl.philox({c0,c1,c2,c3}, {k0,k1}) → four numbers: the raw Philox-4x32-10 bijection. */
static int l_philox(lua_State *L) {
  uint32_t ctr[4], key[2], out[4];
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  for (int i = 0; i < 6; i++) {
    int tbl = i < 4 ? 1 : 2, k = i < 4 ? i + 1 : i - 3;
    lua_rawgeti(L, tbl, k);
    double v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(v >= 0 && v <= 4294967295.0 && v == floor(v)))
      return luaL_error(L, "philox: %s[%d] must be an integer in [0, 2^32), got %s",
                        tbl == 1 ? "counter" : "key", k, lua_tostring(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
    if (i < 4) ctr[i] = (uint32_t)v; else key[i - 4] = (uint32_t)v;
    lua_pop(L, 1);
  }
  sl_philox4x32_10(ctr, key, out);
  for (int i = 0; i < 4; i++) lua_pushnumber(L, (lua_Number)out[i]);
  return 4;
}

SL_LUA_MODULE(rng) {
  const luaL_Reg methods[] = {
    {"uniform", g_uniform}, {"normal", g_normal}, {"laplace", g_laplace}, {"bernoulli", g_bernoulli},
    {"uniform_", g_uniform_}, {"normal_", g_normal_}, {"laplace_", g_laplace_}, {"bernoulli_", g_bernoulli_},
    {"random", g_random}, {"offset", g_offset}, {"seek", g_seek}, {"clone", g_clone}, {NULL, NULL}};
  luaL_newmetatable(L, SL_GENERATOR_MT);
  int mt = lua_gettop(L);
  lua_newtable(L);
  sl_lua_set_functions(L, -1, methods);
  lua_setfield(L, mt, "__index");
  lua_pushcfunction(L, g_tostring);
  lua_setfield(L, mt, "__tostring");
  lua_pop(L, 1);

  const luaL_Reg fns[] = {{"Generator", l_generator}, {"philox", l_philox}, {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  return 0;
}
