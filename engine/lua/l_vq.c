/* l_vq.c — Lua binding of the vector-quantizer kernels (sl_vq.h) as spinlock.core._vq.
 *
 * These are the raw kernels; lua/spinlock/vq.lua builds the VectorQuantizer class on them.
 * Code indices cross this boundary 1-based (int64 tensors), like every index in Lua; random
 * draws come from a Generator (sl.Generator) whose offset is advanced by the words used. */
#include "sl_lua.h"
#include "sl_lua_rng.h"
#include "sl_vq.h"

#include <string.h>

/* 1-based Lua index tensor → 0-based int64 copy (caller releases). */
static sl_tensor *to_zero_based(lua_State *L, int arg)
{
  const sl_tensor *t = sl_lua_check_tensor(L, arg);
  if (sl_dtype_is_float(t->dtype))
    luaL_argerror(L, arg, lua_pushfstring(L, "code indices must be an integer tensor, got %s",
                                          sl_dtype_name(t->dtype)));
  sl_tensor *c;   /* a private int64 copy (to_dtype always copies) */
  if (sl_tensor_to_dtype(&c, t, SL_DTYPE_I64) != SL_OK) { sl_lua_raise(L, "vq"); return NULL; }
  sl_lua_shift_indices(c, -1);
  return c;
}

static sl_vq_metric check_metric(lua_State *L, int arg)
{
  const char *m = luaL_optstring(L, arg, "l2");
  if (!strcmp(m, "l2") || !strcmp(m, "euclidean")) return SL_VQ_L2;
  if (!strcmp(m, "cosine")) return SL_VQ_COSINE;
  luaL_argerror(L, arg, lua_pushfstring(L, "metric must be \"l2\" or \"cosine\", got \"%s\"", m));
  return SL_VQ_L2;
}

/* assign(z, codebook [, metric="l2"]) → idx (int64 [B], 1-based), score (float32 [B]) */
static int l_assign(lua_State *L)
{
  const sl_tensor *z = sl_lua_check_tensor(L, 1), *cb = sl_lua_check_tensor(L, 2);
  const sl_vq_metric m = check_metric(L, 3);
  sl_tensor *idx, *score;
  SL_LUA_TRY(L, "vq assign", sl_vq_assign(&idx, &score, z, cb, m));
  sl_lua_shift_indices(idx, 1);
  sl_lua_push_tensor(L, idx);
  sl_lua_push_tensor(L, score);
  return 2;
}

/* lookup(codebook, idx) → [B, d] */
static int l_lookup(lua_State *L)
{
  const sl_tensor *cb = sl_lua_check_tensor(L, 1);
  sl_tensor *idx = to_zero_based(L, 2), *out;
  sl_status st = sl_vq_lookup(&out, cb, idx);
  sl_tensor_release(idx);
  SL_LUA_TRY(L, "vq lookup", st);
  sl_lua_push_tensor(L, out);
  return 1;
}

/* commitment(z, codebook, idx [, weight=1 [, grad_codebook [, cb_weight=1]]]) → mse, grad_z */
static int l_commitment(lua_State *L)
{
  const sl_tensor *z = sl_lua_check_tensor(L, 1), *cb = sl_lua_check_tensor(L, 2);
  const double w = luaL_optnumber(L, 4, 1.0);
  sl_tensor *gcb = sl_lua_opt_tensor(L, 5);
  const double cw = luaL_optnumber(L, 6, 1.0);
  sl_tensor *idx = to_zero_based(L, 3), *gz = NULL;
  sl_status st = SL_OK;
  if (z->ndim == 2) st = sl_tensor_empty(&gz, SL_DTYPE_F32, 2, z->shape);
  double mse = 0;
  if (st == SL_OK) st = sl_vq_commitment(&mse, gz, w, gcb, cw, z, cb, idx);
  sl_tensor_release(idx);
  if (st != SL_OK) { sl_tensor_release(gz); return sl_lua_raise(L, "vq commitment"); }
  lua_pushnumber(L, mse);
  sl_lua_push_tensor(L, gz);
  return 2;
}

/* ema_update(codebook, ema_count, ema_sum, z, idx, decay, eps) — in place */
static int l_ema_update(lua_State *L)
{
  sl_tensor *cb = sl_lua_check_tensor(L, 1), *n = sl_lua_check_tensor(L, 2), *m = sl_lua_check_tensor(L, 3);
  const sl_tensor *z = sl_lua_check_tensor(L, 4);
  const double decay = luaL_checknumber(L, 6), eps = luaL_checknumber(L, 7);
  sl_tensor *idx = to_zero_based(L, 5);
  sl_status st = sl_vq_ema_update(cb, n, m, z, idx, decay, eps);
  sl_tensor_release(idx);
  SL_LUA_TRY(L, "vq ema_update", st);
  return 0;
}

/* usage(idx, K [, idle]) → counts (float32 [K]), utilisation, perplexity */
static int l_usage(lua_State *L)
{
  const int64_t K = (int64_t)luaL_checknumber(L, 2);
  sl_tensor *idle = sl_lua_opt_tensor(L, 3);
  sl_tensor *idx = to_zero_based(L, 1), *counts;
  double u, p;
  sl_status st = sl_vq_usage(&counts, idle, &u, &p, idx, K);
  sl_tensor_release(idx);
  SL_LUA_TRY(L, "vq usage", st);
  sl_lua_push_tensor(L, counts);
  lua_pushnumber(L, u);
  lua_pushnumber(L, p);
  return 3;
}

/* kmeanspp(codebook, data, iters, generator) — fills codebook in place */
static int l_kmeanspp(lua_State *L)
{
  sl_tensor *cb = sl_lua_check_tensor(L, 1);
  const sl_tensor *x = sl_lua_check_tensor(L, 2);
  const int iters = (int)luaL_optinteger(L, 3, 0);
  sl_generator *g = sl_lua_check_generator(L, 4);
  uint64_t words = 0;
  SL_LUA_TRY(L, "vq kmeans++", sl_vq_kmeanspp(cb, x, iters, g->stream, g->offset, &words));
  sl_lua_generator_advance(g, words);
  return 0;
}

/* ring_push(ring, pos, fill, z) → pos, fill   (pos is 0-based: a ring cursor, not an index) */
static int l_ring_push(lua_State *L)
{
  sl_tensor *ring = sl_lua_check_tensor(L, 1);
  int64_t pos = (int64_t)luaL_checknumber(L, 2), fill = (int64_t)luaL_checknumber(L, 3);
  const sl_tensor *z = sl_lua_check_tensor(L, 4);
  SL_LUA_TRY(L, "vq ring_push", sl_vq_ring_push(ring, &pos, &fill, z));
  lua_pushnumber(L, (lua_Number)pos);
  lua_pushnumber(L, (lua_Number)fill);
  return 2;
}

/* reset_dead(codebook, ema_count|nil, ema_sum|nil, idle, ring, fill, dead_after, max_reset, gen) → n */
static int l_reset_dead(lua_State *L)
{
  sl_tensor *cb = sl_lua_check_tensor(L, 1), *n = sl_lua_opt_tensor(L, 2), *m = sl_lua_opt_tensor(L, 3);
  sl_tensor *idle = sl_lua_check_tensor(L, 4);
  const sl_tensor *ring = sl_lua_check_tensor(L, 5);
  const int64_t fill = (int64_t)luaL_checknumber(L, 6), after = (int64_t)luaL_checknumber(L, 7),
                maxr = (int64_t)luaL_checknumber(L, 8);
  sl_generator *g = sl_lua_check_generator(L, 9);
  int64_t nr = 0;
  uint64_t words = 0;
  SL_LUA_TRY(L, "vq reset_dead",
             sl_vq_reset_dead(&nr, &words, cb, n, m, idle, ring, fill, after, maxr, g->stream, g->offset));
  sl_lua_generator_advance(g, words);
  lua_pushnumber(L, (lua_Number)nr);
  return 1;
}

SL_LUA_MODULE(vq)
{
  const luaL_Reg fns[] = {
    {"assign", l_assign}, {"lookup", l_lookup}, {"commitment", l_commitment},
    {"ema_update", l_ema_update}, {"usage", l_usage}, {"kmeanspp", l_kmeanspp},
    {"ring_push", l_ring_push}, {"reset_dead", l_reset_dead}, {NULL, NULL}};
  lua_newtable(L);
  sl_lua_set_functions(L, lua_gettop(L), fns);
  lua_setfield(L, core, "_vq");
  return 0;
}
