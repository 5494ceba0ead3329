/* l_fft.c — Lua access to the FFTs (sl_fft.h).  Complex tensors are float32 [..., 2] (re, im).
 *
 *   sl.rfft(x, dim, norm)        sl.irfft(X, n, dim, norm)     dim default -1
 *   sl.fft(X, dim, norm)         sl.ifft(X, dim, norm)
 *   sl.rfft2(x, norm)            sl.irfft2(X, s, norm)         s = {h, w} (optional)
 *   sl.fft2(X, norm)             sl.ifft2(X, norm)
 *   sl.fftfreq(n, d, dtype)      sl.rfftfreq(n, d, dtype)      d default 1, dtype float32
 * Each transform is also a tensor method (x:rfft2(), X:irfft2({h, w}), …).  norm is
 * "backward" (default), "ortho" or "forward".  For complex tensors `dim` counts complex dims
 * (the trailing 2 is not a dim there): 1-based, negative from the end. */
#include "sl_lua.h"
#include "../core/sl_fft.h"

static sl_fft_norm opt_norm(lua_State *L, int idx, const char *op) {
  sl_fft_norm norm;
  if (!lua_isnoneornil(L, idx) && lua_type(L, idx) != LUA_TSTRING)
    luaL_argerror(L, idx, lua_pushfstring(L, "norm must be a string, got %s", luaL_typename(L, idx)));
  SL_LUA_TRY(L, op, sl_fft_norm_parse(lua_tostring(L, idx), &norm, op));
  return norm;
}

/* 1-based Lua dim (negative from the end) over nd dims → 0-based. */
static int opt_fft_dim(lua_State *L, int idx, int nd, const char *op) {
  int d = (int)luaL_optinteger(L, idx, -1);
  int z = d > 0 ? d - 1 : nd + d;
  if (d == 0 || z < 0 || z >= nd)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s: dim %d out of range for %d dim(s) (1-based, negative from the end)",
                                          op, d, nd));
  return z;
}

/* Number of complex dims of x, or -1 when x is not complex-shaped (the core then reports it). */
static int complex_dims(const sl_tensor *x) {
  return x->ndim >= 2 && x->shape[x->ndim - 1] == 2 ? x->ndim - 1 : -1;
}

static int push_result(lua_State *L, sl_tensor *r) { sl_lua_push_tensor(L, r); return 1; }

static int l_rfft(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  int d = x->ndim > 0 ? opt_fft_dim(L, 2, x->ndim, "rfft") : -1;
  sl_fft_norm norm = opt_norm(L, 3, "rfft");
  SL_LUA_TRY(L, "rfft", sl_fft_rfft(&r, x, d, norm));
  return push_result(L, r);
}

static int l_irfft(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  int64_t n = lua_isnoneornil(L, 2) ? 0 : (int64_t)luaL_checkinteger(L, 2);
  if (!lua_isnoneornil(L, 2) && n < 1) luaL_argerror(L, 2, "irfft: output size n must be >= 1");
  int ncd = complex_dims(x);
  int d = ncd > 0 ? opt_fft_dim(L, 3, ncd, "irfft") : -1;
  sl_fft_norm norm = opt_norm(L, 4, "irfft");
  SL_LUA_TRY(L, "irfft", sl_fft_irfft(&r, x, d, n, norm));
  return push_result(L, r);
}

static int c2c_1d(lua_State *L, int inverse) {
  const char *op = inverse ? "ifft" : "fft";
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  int ncd = complex_dims(x);
  int d = ncd > 0 ? opt_fft_dim(L, 2, ncd, op) : -1;
  sl_fft_norm norm = opt_norm(L, 3, op);
  SL_LUA_TRY(L, op, sl_fft_fft(&r, x, d, inverse, norm));
  return push_result(L, r);
}
static int l_fft(lua_State *L)  { return c2c_1d(L, 0); }
static int l_ifft(lua_State *L) { return c2c_1d(L, 1); }

static int l_rfft2(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  sl_fft_norm norm = opt_norm(L, 2, "rfft2");
  SL_LUA_TRY(L, "rfft2", sl_fft_rfft2(&r, x, norm));
  return push_result(L, r);
}

static int l_irfft2(lua_State *L) {
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  int64_t hw[2] = { 0, 0 };
  if (!lua_isnoneornil(L, 2)) {
    if (!lua_istable(L, 2) || lua_objlen(L, 2) != 2)
      luaL_argerror(L, 2, "irfft2: output size must be a table {h, w}");
    for (int i = 0; i < 2; i++) {
      lua_rawgeti(L, 2, i + 1);
      if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < 1)
        luaL_argerror(L, 2, "irfft2: output sizes {h, w} must be integers >= 1");
      hw[i] = (int64_t)lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
  }
  sl_fft_norm norm = opt_norm(L, 3, "irfft2");
  SL_LUA_TRY(L, "irfft2", sl_fft_irfft2(&r, x, hw[0], hw[1], norm));
  return push_result(L, r);
}

static int c2c_2d(lua_State *L, int inverse) {
  const char *op = inverse ? "ifft2" : "fft2";
  sl_tensor *x = sl_lua_check_tensor(L, 1), *r = NULL;
  sl_fft_norm norm = opt_norm(L, 2, op);
  SL_LUA_TRY(L, op, sl_fft_fft2(&r, x, inverse, norm));
  return push_result(L, r);
}
static int l_fft2(lua_State *L)  { return c2c_2d(L, 0); }
static int l_ifft2(lua_State *L) { return c2c_2d(L, 1); }

static int freq(lua_State *L, int half) {
  const char *op = half ? "rfftfreq" : "fftfreq";
  int64_t n = (int64_t)luaL_checkinteger(L, 1);
  double d = luaL_optnumber(L, 2, 1.0);
  sl_dtype dt = sl_lua_opt_dtype(L, 3, SL_DTYPE_F32);
  sl_tensor *r = NULL;
  SL_LUA_TRY(L, op, half ? sl_fft_rfftfreq(&r, n, d, dt) : sl_fft_fftfreq(&r, n, d, dt));
  return push_result(L, r);
}
static int l_fftfreq(lua_State *L)  { return freq(L, 0); }
static int l_rfftfreq(lua_State *L) { return freq(L, 1); }

static int l_plan_count(lua_State *L) { lua_pushinteger(L, sl_fft_plan_count()); return 1; }

SL_LUA_MODULE(fft) {
  const luaL_Reg transforms[] = {
    {"rfft", l_rfft}, {"irfft", l_irfft}, {"fft", l_fft}, {"ifft", l_ifft},
    {"rfft2", l_rfft2}, {"irfft2", l_irfft2}, {"fft2", l_fft2}, {"ifft2", l_ifft2}, {NULL, NULL}};
  const luaL_Reg others[] = {
    {"fftfreq", l_fftfreq}, {"rfftfreq", l_rfftfreq}, {"fft_plan_count", l_plan_count}, {NULL, NULL}};
  sl_lua_set_functions(L, core, transforms);
  sl_lua_set_functions(L, core, others);
  sl_lua_add_tensor_methods(L, transforms);
  return 0;
}
