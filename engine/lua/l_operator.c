/* l_operator.c — Lua binding of sl_operator.h: the Operator userdata.
 *
 *   op = sl.operator_new(params, seed, op_index [, conv_algo])
 *        params: a mapped parameter table {num_layers=, base_channels=, kernel_size=, activation=,
 *        dropout_rate=, noise_type=, noise_scale=, noise_schedule=, schedule_period=,
 *        spatial_correlation=, normalization=, update_policy=, dt=, alpha=, grid_size=}; other
 *        keys are ignored here: operator.build (lua/spinlock/operator.lua) rejects them for
 *        direct calls and lets a validated config's extra sampled names through.
 *   op:config()            → table of the resolved configuration (names as strings)
 *   op:convs()             → { {role=, block=, sub=, cin=, cout=, k=, groups=, algo=, weight=, bias=}, ... }
 *                            weight/bias share the operator's storage (in-place changes are seen)
 *   op:param_count(), op:macs(), op:channels_last(), op:workspace_bytes(), op:seed(), op:index()
 *   op:noise_scale_at(step, horizon)
 *   op:horizon([h])        → the annealing horizon forward uses by default (sets it when h is given;
 *                            a rollout sets it to its own)
 *   op:forward_into(out, x, first_realization, step, horizon)       → out
 *   op:rollout_into(traj, ic, {realizations_per_batch=, horizon=, diverge_threshold=,
 *                   first_realization=})                               → { diverged_step per realization (-1: none) }
 *   op:free()              releases the weights and workspace early
 * lua/spinlock/operator.lua builds the documented API (operator.build, op:rollout, op:info, …)
 * on top, adding Lua methods to core._operator_methods. */
#include <math.h>
#include <string.h>
#include "sl_lua.h"
#include "sl_operator.h"

#define OP_MT "spinlock.Operator"

/* luaL_error prefixes the calling Lua line (lua/spinlock/operator.lua:NN), which is an internal
 * detail to the user: these messages already start with the op name. */
#define op_error(L, ...) (lua_pushfstring((L), __VA_ARGS__), lua_error(L))

typedef struct { sl_operator *op; } op_ud;

static op_ud *check_ud(lua_State *L, int idx) {
  op_ud *u = luaL_testudata_compat(L, idx, OP_MT);
  if (!u) luaL_argerror(L, idx, lua_pushfstring(L, "Operator expected, got %s", luaL_typename(L, idx)));
  return u;
}

static sl_operator *check_op(lua_State *L, int idx) {
  op_ud *u = check_ud(L, idx);
  if (!u->op) luaL_argerror(L, idx, "operator was freed (op:free()) and cannot be used");
  return u->op;
}

static uint64_t check_index(lua_State *L, int idx, const char *what) {
  double v = luaL_checknumber(L, idx);
  if (!(v >= 0 && v < 9007199254740992.0) || v != floor(v))
    op_error(L, "operator: %s must be an integer in [0, 2^53), got %f", what, v);
  return (uint64_t)v;
}

/* ---- parameter table → config ---- */

/* Pushes params[name]; returns 1 when present (not nil), leaving it on the stack either way. */
static int field(lua_State *L, int t, const char *name) {
  lua_getfield(L, t, name);
  return !lua_isnil(L, -1);
}

static double num_field(lua_State *L, int t, const char *name, double def, int *present) {
  double v = def;
  int has = field(L, t, name);
  if (has) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      op_error(L, "operator: parameter '%s' must be a number, got %s", name, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  if (present) *present = has;
  return v;
}

static int int_field(lua_State *L, int t, const char *name, int def) {
  double v = num_field(L, t, name, def, NULL);
  if (v != floor(v) || fabs(v) > 1e9) op_error(L, "operator: parameter '%s' must be an integer, got %f", name, v);
  return (int)v;
}

/* String choice via from_name; returns 1 when present. */
static int str_field(lua_State *L, int t, const char *name, int (*from)(const char *, void *), void *out,
                     const char *expected) {
  if (!field(L, t, name)) { lua_pop(L, 1); return 0; }
  if (lua_type(L, -1) != LUA_TSTRING)
    op_error(L, "operator: parameter '%s' must be a string (%s), got %s", name, expected, luaL_typename(L, -1));
  const char *s = lua_tostring(L, -1);
  if (from(s, out) != 0) op_error(L, "operator: unknown %s '%s' (expected %s)", name, s, expected);
  lua_pop(L, 1);
  return 1;
}

static int act_from(const char *s, void *o) {
  if (!strcmp(s, "swish")) { *(sl_act *)o = SL_ACT_SILU; return 0; }
  return sl_act_from_name(s, o);
}
static int norm_from(const char *s, void *o) { return sl_opnorm_from_name(s, o); }
static int noise_from(const char *s, void *o) { return sl_noise_kind_from_name(s, o); }
static int sched_from(const char *s, void *o) { return sl_noise_schedule_from_name(s, o); }
static int policy_from(const char *s, void *o) { return sl_policy_from_name(s, o); }

static void config_from_table(lua_State *L, int t, sl_operator_config *c) {
  luaL_checktype(L, t, LUA_TTABLE);
  sl_operator_config_default(c);
  c->num_layers = int_field(L, t, "num_layers", c->num_layers);
  c->base_channels = int_field(L, t, "base_channels", c->base_channels);
  c->kernel_size = int_field(L, t, "kernel_size", c->kernel_size);
  c->grid_size = int_field(L, t, "grid_size", c->grid_size);
  str_field(L, t, "activation", act_from, &c->activation, "relu, gelu, silu, swish, tanh or none");
  str_field(L, t, "normalization", norm_from, &c->normalization, "none, instance, batch, group or layer");
  c->dropout_rate = num_field(L, t, "dropout_rate", 0, NULL);
  /* The stochastic block exists iff both noise_type and noise_scale are given (spec §3.2). */
  sl_noise_kind kind = SL_NOISE_NONE;
  int has_kind = str_field(L, t, "noise_type", noise_from, &kind, "gaussian, laplace, multiplicative, dropout or none");
  int has_scale;
  c->noise_scale = num_field(L, t, "noise_scale", 0, &has_scale);
  c->noise_type = has_kind && has_scale ? kind : SL_NOISE_NONE;
  str_field(L, t, "noise_schedule", sched_from, &c->noise_schedule, "constant, annealing or periodic");
  c->schedule_period = num_field(L, t, "schedule_period", c->schedule_period, NULL);
  c->spatial_correlation = num_field(L, t, "spatial_correlation", 0, NULL);
  str_field(L, t, "update_policy", policy_from, &c->update_policy, "autoregressive, residual or convex");
  /* Reference convention: dt and alpha of 0 mean "absent". */
  double dt = num_field(L, t, "dt", 0, NULL), alpha = num_field(L, t, "alpha", 0, NULL);
  if (dt != 0) c->dt = dt;
  if (alpha != 0) c->alpha = alpha;
}

static int l_new(lua_State *L) {
  sl_operator_config c;
  config_from_table(L, 1, &c);
  uint64_t seed = check_index(L, 2, "seed"), index = check_index(L, 3, "op_index");
  if (!lua_isnoneornil(L, 4)) {
    const char *s = luaL_checkstring(L, 4);
    if (sl_conv_algo_from_name(s, &c.conv_algo) != 0)
      return op_error(L, "operator: unknown conv_algo '%s' (expected auto, im2col, fft, fftrow, winograd or direct)", s);
  }
  op_ud *u = lua_newuserdata(L, sizeof *u);
  u->op = NULL;
  luaL_getmetatable(L, OP_MT);
  lua_setmetatable(L, -2);
  SL_LUA_TRY(L, "operator", sl_operator_new(&u->op, &c, seed, index));
  return 1;
}

static int l_free(lua_State *L) {
  op_ud *u = check_ud(L, 1);
  sl_operator_free(u->op);
  u->op = NULL;
  return 0;
}

static int l_tostring(lua_State *L) {
  op_ud *u = check_ud(L, 1);
  if (!u->op) { lua_pushstring(L, "Operator(freed)"); return 1; }
  const sl_operator_config *c = sl_operator_config_of(u->op);
  lua_pushfstring(L, "Operator(n=%d, b=%d, k=%d, G=%d, %s, %s, noise %s, %s)", c->num_layers, c->base_channels,
                  c->kernel_size, c->grid_size, sl_act_name(c->activation), sl_opnorm_name(c->normalization),
                  sl_noise_kind_name(c->noise_type), sl_policy_name(c->update_policy));
  return 1;
}

static void set_num(lua_State *L, const char *k, double v) { lua_pushnumber(L, v); lua_setfield(L, -2, k); }
static void set_str(lua_State *L, const char *k, const char *v) { lua_pushstring(L, v); lua_setfield(L, -2, k); }

static int l_config(lua_State *L) {
  const sl_operator_config *c = sl_operator_config_of(check_op(L, 1));
  lua_createtable(L, 0, 16);
  set_num(L, "num_layers", c->num_layers); set_num(L, "base_channels", c->base_channels);
  set_num(L, "kernel_size", c->kernel_size); set_num(L, "grid_size", c->grid_size);
  set_str(L, "activation", sl_act_name(c->activation)); set_str(L, "normalization", sl_opnorm_name(c->normalization));
  set_num(L, "dropout_rate", c->dropout_rate);
  set_str(L, "noise_type", sl_noise_kind_name(c->noise_type)); set_num(L, "noise_scale", c->noise_scale);
  set_str(L, "noise_schedule", sl_noise_schedule_name(c->noise_schedule));
  set_num(L, "schedule_period", c->schedule_period); set_num(L, "spatial_correlation", c->spatial_correlation);
  set_str(L, "update_policy", sl_policy_name(c->update_policy)); set_num(L, "dt", c->dt); set_num(L, "alpha", c->alpha);
  set_str(L, "conv_algo", sl_conv_algo_name(c->conv_algo));
  return 1;
}

static int l_convs(lua_State *L) {
  sl_operator *op = check_op(L, 1);
  static const char *roles[] = { "block", "skip", "output" };
  int n = sl_operator_num_convs(op);
  lua_createtable(L, n, 0);
  for (int j = 0; j < n; j++) {
    sl_opconv_info ci;
    SL_LUA_TRY(L, "operator", sl_operator_conv(op, j, &ci));
    lua_createtable(L, 0, 10);
    set_str(L, "role", roles[ci.role]);
    set_num(L, "block", ci.block); set_num(L, "sub", ci.sub);
    set_num(L, "cin", (double)ci.cin); set_num(L, "cout", (double)ci.cout); set_num(L, "k", (double)ci.k);
    set_num(L, "groups", (double)ci.groups);
    set_str(L, "algo", sl_conv_algo_name(ci.algo));
    sl_lua_push_tensor(L, sl_tensor_retain(ci.weight)); lua_setfield(L, -2, "weight");
    if (ci.bias) { sl_lua_push_tensor(L, sl_tensor_retain(ci.bias)); lua_setfield(L, -2, "bias"); }
    lua_rawseti(L, -2, j + 1);
  }
  return 1;
}

static int l_param_count(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_operator_param_count(check_op(L, 1))); return 1; }
static int l_macs(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_operator_macs(check_op(L, 1))); return 1; }
static int l_clast(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_operator_channels_last(check_op(L, 1))); return 1; }
static int l_ws_bytes(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_operator_workspace_bytes(check_op(L, 1))); return 1; }
static int l_seed(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_operator_seed(check_op(L, 1))); return 1; }
static int l_index(lua_State *L) { lua_pushnumber(L, (lua_Number)sl_operator_index(check_op(L, 1))); return 1; }

static int l_horizon(lua_State *L) {
  sl_operator *op = check_op(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    double h = luaL_checknumber(L, 2);
    if (h < 0 || h != floor(h)) return op_error(L, "operator: horizon must be an integer >= 0, got %f", h);
    sl_operator_set_horizon(op, (int64_t)h);
  }
  lua_pushnumber(L, (lua_Number)sl_operator_horizon(op));
  return 1;
}

static int l_noise_scale_at(lua_State *L) {
  sl_operator *op = check_op(L, 1);
  int64_t step = (int64_t)luaL_checknumber(L, 2), horizon = (int64_t)luaL_optnumber(L, 3, 0);
  lua_pushnumber(L, sl_operator_noise_scale_at(op, step, horizon));
  return 1;
}

static int l_forward_into(lua_State *L) {
  sl_operator *op = check_op(L, 1);
  sl_tensor *out = sl_lua_check_tensor(L, 2), *x = sl_lua_check_tensor(L, 3);
  int64_t first = (int64_t)check_index(L, 4, "first realization");
  int64_t step = (int64_t)check_index(L, 5, "step");
  int64_t horizon = (int64_t)luaL_optnumber(L, 6, 0);
  SL_LUA_TRY(L, "operator forward", sl_operator_forward(op, out, x, first, step, horizon));
  lua_pushvalue(L, 2);
  return 1;
}

static double opt_num(lua_State *L, int t, const char *name, double def) {
  if (lua_isnoneornil(L, t)) return def;
  lua_getfield(L, t, name);
  double v = def;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) op_error(L, "rollout: option '%s' must be a number, got %s", name, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static int l_rollout_into(lua_State *L) {
  sl_operator *op = check_op(L, 1);
  sl_tensor *traj = sl_lua_check_tensor(L, 2), *ic = sl_lua_check_tensor(L, 3);
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  sl_rollout_opts o;
  sl_rollout_opts_default(&o);
  double rpb = opt_num(L, 4, "realizations_per_batch", 0), hz = opt_num(L, 4, "horizon", 0);
  double thr = opt_num(L, 4, "diverge_threshold", o.diverge_threshold), first = opt_num(L, 4, "first_realization", 0);
  if (rpb < 0 || rpb != floor(rpb)) return op_error(L, "rollout: realizations_per_batch must be a positive integer, got %f", rpb);
  if (hz < 0 || hz != floor(hz)) return op_error(L, "rollout: horizon must be a positive integer, got %f", hz);
  if (!(thr > 0)) return op_error(L, "rollout: diverge_threshold must be > 0, got %f", thr);
  if (first < 0 || first != floor(first)) return op_error(L, "rollout: first_realization must be an integer >= 0, got %f", first);
  o.realizations_per_batch = (int64_t)rpb; o.horizon = (int64_t)hz; o.diverge_threshold = thr;
  o.first_realization = (int64_t)first;
  int64_t M = traj->ndim >= 1 ? traj->shape[0] : 0;
  int64_t *ds = lua_newuserdata(L, (size_t)(M > 0 ? M : 1) * sizeof(int64_t));   /* freed by the GC */
  SL_LUA_TRY(L, "rollout", sl_operator_rollout(op, traj, ic, &o, ds));
  lua_createtable(L, (int)M, 0);
  for (int64_t m = 0; m < M; m++) { lua_pushnumber(L, (lua_Number)ds[m]); lua_rawseti(L, -2, (int)m + 1); }
  return 1;
}

SL_LUA_MODULE(operator) {
  luaL_newmetatable(L, OP_MT);
  const luaL_Reg meta[] = {{"__gc", l_free}, {"__tostring", l_tostring}, {NULL, NULL}};
  sl_lua_set_functions(L, -1, meta);
  lua_newtable(L);
  const luaL_Reg methods[] = {
    {"free", l_free}, {"config", l_config}, {"convs", l_convs}, {"param_count", l_param_count},
    {"macs", l_macs}, {"channels_last", l_clast}, {"workspace_bytes", l_ws_bytes}, {"seed", l_seed},
    {"index", l_index}, {"horizon", l_horizon}, {"noise_scale_at", l_noise_scale_at}, {"forward_into", l_forward_into},
    {"rollout_into", l_rollout_into}, {NULL, NULL}};
  sl_lua_set_functions(L, -1, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, core, "_operator_methods");   /* lua/spinlock/operator.lua adds its methods here */
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  const luaL_Reg fns[] = {{"operator_new", l_new}, {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  return 0;
}
