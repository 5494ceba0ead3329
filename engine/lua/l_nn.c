/* l_nn.c — the nn kernels (sl_nn.h) for the Lua layers in lua/spinlock/nn/.
 *
 * Registered as the table `spinlock.core._nn` (so `sl._nn`): it is the layers' private kernel
 * interface, not the user API (that is `require "spinlock.nn"`).  Argument order follows the
 * core (outputs are return values; gradient accumulators are passed in and updated in place);
 * optional tensors are nil.  Dropout takes a Generator and advances it by the words it drew. */
#include "sl_lua.h"
#include "sl_lua_rng.h"
#include "sl_nn.h"

#include <math.h>
#include <string.h>

static sl_nn_act check_act(lua_State *L, int idx)
{
  const char *name = luaL_checkstring(L, idx);
  for (int a = 0; a < SL_NN_ACT_COUNT; a++)
    if (strcmp(name, sl_nn_act_name((sl_nn_act)a)) == 0) return (sl_nn_act)a;
  return (sl_nn_act)luaL_error(L, "activation: unknown kind '%s' (relu, gelu, silu, tanh)", name);
}

/* linear_forward(x, weight, bias|nil) → y */
static int l_linear_forward(lua_State *L)
{
  sl_tensor *y;
  SL_LUA_TRY(L, "linear", sl_nn_linear_forward(&y, sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2),
                                              sl_lua_opt_tensor(L, 3)));
  sl_lua_push_tensor(L, y);
  return 1;
}

/* linear_backward(grad_out, x, weight, grad_weight|nil, grad_bias|nil, want_grad_in) → grad_in|nil */
static int l_linear_backward(lua_State *L)
{
  sl_tensor *dx = NULL;
  const int want = lua_isnoneornil(L, 6) ? 1 : lua_toboolean(L, 6);
  SL_LUA_TRY(L, "linear_backward",
             sl_nn_linear_backward(want ? &dx : NULL, sl_lua_opt_tensor(L, 4), sl_lua_opt_tensor(L, 5),
                                   sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2),
                                   sl_lua_check_tensor(L, 3)));
  if (dx) sl_lua_push_tensor(L, dx); else lua_pushnil(L);
  return 1;
}

/* Group sizes from a Lua list of {in_size, out_size} at idx into two fresh arrays (freed by the
 * caller with free_groups); raises a Lua error on a malformed list. */
static int64_t check_groups(lua_State *L, int idx, int64_t **gin, int64_t **gout)
{
  luaL_checktype(L, idx, LUA_TTABLE);
  const int64_t n = (int64_t)lua_objlen(L, idx);
  if (n < 1) luaL_error(L, "block_linear: groups must be a non-empty list of {in_size, out_size}");
  int64_t *a = sl_alloc((size_t)n * sizeof(int64_t)), *b = sl_alloc((size_t)n * sizeof(int64_t));
  if (!a || !b) {
    sl_free(a, (size_t)n * sizeof(int64_t)); sl_free(b, (size_t)n * sizeof(int64_t));
    luaL_error(L, "block_linear: out of memory");
  }
  for (int64_t g = 0; g < n; g++) {
    lua_rawgeti(L, idx, (int)g + 1);
    int ok = lua_istable(L, -1);
    if (ok) {
      lua_rawgeti(L, -1, 1); lua_rawgeti(L, -2, 2);
      ok = lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TNUMBER;
      if (ok) {
        /* non-negative integers that a double holds exactly; NaN fails every comparison */
        const double vi = lua_tonumber(L, -2), vo = lua_tonumber(L, -1);
        ok = vi >= 0 && vo >= 0 && vi <= 9007199254740992.0 && vo <= 9007199254740992.0 &&
             vi == floor(vi) && vo == floor(vo);
        if (ok) { a[g] = (int64_t)vi; b[g] = (int64_t)vo; }
      }
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
    if (!ok) {
      sl_free(a, (size_t)n * sizeof(int64_t)); sl_free(b, (size_t)n * sizeof(int64_t));
      luaL_error(L, "block_linear: group %d must be {in_size, out_size} of non-negative integers", (int)g + 1);
    }
  }
  *gin = a; *gout = b;
  return n;
}

static void free_groups(int64_t n, int64_t *gin, int64_t *gout)
{
  sl_free(gin, (size_t)n * sizeof(int64_t)); sl_free(gout, (size_t)n * sizeof(int64_t));
}

/* block_linear_forward(x, weight, bias|nil, groups) → y */
static int l_block_linear_forward(lua_State *L)
{
  sl_tensor *x = sl_lua_check_tensor(L, 1), *w = sl_lua_check_tensor(L, 2), *b = sl_lua_opt_tensor(L, 3);
  int64_t *gin, *gout;
  const int64_t n = check_groups(L, 4, &gin, &gout);
  sl_tensor *y;
  sl_status st = sl_nn_block_linear_forward(&y, x, w, b, n, gin, gout);
  free_groups(n, gin, gout);
  SL_LUA_TRY(L, "block_linear", st);
  sl_lua_push_tensor(L, y);
  return 1;
}

/* block_linear_backward(grad_out, x, weight, grad_weight|nil, grad_bias|nil, groups, want_grad_in)
 * → grad_in|nil */
static int l_block_linear_backward(lua_State *L)
{
  sl_tensor *g = sl_lua_check_tensor(L, 1), *x = sl_lua_check_tensor(L, 2), *w = sl_lua_check_tensor(L, 3);
  sl_tensor *gw = sl_lua_opt_tensor(L, 4), *gb = sl_lua_opt_tensor(L, 5);
  const int want = lua_isnoneornil(L, 7) ? 1 : lua_toboolean(L, 7);
  int64_t *gin, *gout;
  const int64_t n = check_groups(L, 6, &gin, &gout);
  sl_tensor *dx = NULL;
  sl_status st = sl_nn_block_linear_backward(want ? &dx : NULL, gw, gb, g, x, w, n, gin, gout);
  free_groups(n, gin, gout);
  SL_LUA_TRY(L, "block_linear_backward", st);
  if (dx) sl_lua_push_tensor(L, dx); else lua_pushnil(L);
  return 1;
}

/* act_forward(kind, x) → y */
static int l_act_forward(lua_State *L)
{
  const sl_nn_act a = check_act(L, 1);
  sl_tensor *y;
  SL_LUA_TRY(L, sl_nn_act_name(a), sl_nn_act_forward(&y, sl_lua_check_tensor(L, 2), a));
  sl_lua_push_tensor(L, y);
  return 1;
}

/* act_backward(kind, grad_out, x) → grad_in */
static int l_act_backward(lua_State *L)
{
  const sl_nn_act a = check_act(L, 1);
  sl_tensor *dx;
  SL_LUA_TRY(L, sl_nn_act_name(a),
             sl_nn_act_backward(&dx, sl_lua_check_tensor(L, 2), sl_lua_check_tensor(L, 3), a));
  sl_lua_push_tensor(L, dx);
  return 1;
}

/* layernorm_forward(x, weight|nil, bias|nil, eps) → y, mean, rstd */
static int l_layernorm_forward(lua_State *L)
{
  sl_tensor *y, *m, *r;
  SL_LUA_TRY(L, "layer_norm",
             sl_nn_layernorm_forward(&y, &m, &r, sl_lua_check_tensor(L, 1), sl_lua_opt_tensor(L, 2),
                                     sl_lua_opt_tensor(L, 3), luaL_optnumber(L, 4, 1e-5)));
  sl_lua_push_tensor(L, y);
  sl_lua_push_tensor(L, m);
  sl_lua_push_tensor(L, r);
  return 3;
}

/* layernorm_backward(grad_out, x, mean, rstd, weight|nil, grad_weight|nil, grad_bias|nil) → grad_in */
static int l_layernorm_backward(lua_State *L)
{
  sl_tensor *dx;
  SL_LUA_TRY(L, "layer_norm_backward",
             sl_nn_layernorm_backward(&dx, sl_lua_opt_tensor(L, 6), sl_lua_opt_tensor(L, 7),
                                      sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2),
                                      sl_lua_check_tensor(L, 3), sl_lua_check_tensor(L, 4),
                                      sl_lua_opt_tensor(L, 5)));
  sl_lua_push_tensor(L, dx);
  return 1;
}

/* batchnorm_forward(x, weight|nil, bias|nil, running_mean|nil, running_var|nil, training,
 *                   momentum, eps) → y, save_mean, save_rstd */
static int l_batchnorm_forward(lua_State *L)
{
  sl_tensor *y, *m, *r;
  SL_LUA_TRY(L, "batch_norm",
             sl_nn_batchnorm_forward(&y, &m, &r, sl_lua_check_tensor(L, 1), sl_lua_opt_tensor(L, 2),
                                     sl_lua_opt_tensor(L, 3), sl_lua_opt_tensor(L, 4),
                                     sl_lua_opt_tensor(L, 5), lua_toboolean(L, 6),
                                     luaL_optnumber(L, 7, 0.1), luaL_optnumber(L, 8, 1e-5)));
  sl_lua_push_tensor(L, y);
  sl_lua_push_tensor(L, m);
  sl_lua_push_tensor(L, r);
  return 3;
}

/* batchnorm_backward(grad_out, x, save_mean, save_rstd, weight|nil, grad_weight|nil,
 *                    grad_bias|nil, training) → grad_in */
static int l_batchnorm_backward(lua_State *L)
{
  sl_tensor *dx;
  SL_LUA_TRY(L, "batch_norm_backward",
             sl_nn_batchnorm_backward(&dx, sl_lua_opt_tensor(L, 6), sl_lua_opt_tensor(L, 7),
                                      sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2),
                                      sl_lua_check_tensor(L, 3), sl_lua_check_tensor(L, 4),
                                      sl_lua_opt_tensor(L, 5), lua_toboolean(L, 8)));
  sl_lua_push_tensor(L, dx);
  return 1;
}

/* dropout_forward(x, p, generator) → y, mask; advances the generator */
static int l_dropout_forward(lua_State *L)
{
  const sl_tensor *x = sl_lua_check_tensor(L, 1);
  const double p = luaL_checknumber(L, 2);
  sl_generator *g = sl_lua_check_generator(L, 3);
  sl_tensor *y, *m;
  SL_LUA_TRY(L, "dropout", sl_nn_dropout_forward(&y, &m, x, p, g->stream, g->offset));
  sl_lua_generator_advance(g, sl_rng_fill_words(SL_RNG_BERNOULLI, x->dtype, sl_tensor_numel(x)));
  sl_lua_push_tensor(L, y);
  sl_lua_push_tensor(L, m);
  return 2;
}

/* dropout_backward(grad_out, mask) → grad_in */
static int l_dropout_backward(lua_State *L)
{
  sl_tensor *dx;
  SL_LUA_TRY(L, "dropout_backward",
             sl_nn_dropout_backward(&dx, sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2)));
  sl_lua_push_tensor(L, dx);
  return 1;
}

/* loss(kind "mse"|"huber", pred, target, delta, reduction "mean"|"sum", want_grad, scale)
 *   → loss (number), grad|nil */
static int l_loss(lua_State *L)
{
  const char *kind = luaL_checkstring(L, 1);
  sl_nn_loss_kind k;
  if (strcmp(kind, "mse") == 0) k = SL_NN_LOSS_MSE;
  else if (strcmp(kind, "huber") == 0) k = SL_NN_LOSS_HUBER;
  else return luaL_error(L, "loss: unknown kind '%s' (mse, huber)", kind);
  const char *red = luaL_optstring(L, 5, "mean");
  int mean;
  if (strcmp(red, "mean") == 0) mean = 1;
  else if (strcmp(red, "sum") == 0) mean = 0;
  else return luaL_error(L, "%s_loss: reduction must be 'mean' or 'sum', got '%s'", kind, red);
  const int want = lua_toboolean(L, 6);
  double loss;
  sl_tensor *g = NULL;
  SL_LUA_TRY(L, k == SL_NN_LOSS_MSE ? "mse_loss" : "huber_loss",
             sl_nn_loss(&loss, want ? &g : NULL, sl_lua_check_tensor(L, 2), sl_lua_check_tensor(L, 3), k,
                        luaL_optnumber(L, 4, 1.0), mean, luaL_optnumber(L, 7, 1.0)));
  lua_pushnumber(L, loss);
  if (g) sl_lua_push_tensor(L, g); else lua_pushnil(L);
  return 2;
}

/* adam_step(params, grads, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled, step) */
static int l_adam_step(lua_State *L)
{
  const double step = luaL_checknumber(L, 11);
  SL_LUA_TRY(L, "adam",
             sl_nn_adam_step(sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2), sl_lua_check_tensor(L, 3),
                             sl_lua_check_tensor(L, 4), luaL_checknumber(L, 5), luaL_checknumber(L, 6),
                             luaL_checknumber(L, 7), luaL_checknumber(L, 8), luaL_checknumber(L, 9),
                             lua_toboolean(L, 10), (int64_t)step));
  return 0;
}

static int l_sumsq(lua_State *L)
{
  double s;
  SL_LUA_TRY(L, "sumsq", sl_nn_sumsq(&s, sl_lua_check_tensor(L, 1)));
  lua_pushnumber(L, s);
  return 1;
}

/* scale_(t, alpha) → t */
static int l_scale_(lua_State *L)
{
  SL_LUA_TRY(L, "scale_", sl_nn_scale_(sl_lua_check_tensor(L, 1), luaL_checknumber(L, 2)));
  lua_settop(L, 1);
  return 1;
}

/* axpy_(y, alpha, x) → y   (y += alpha·x) */
static int l_axpy_(lua_State *L)
{
  SL_LUA_TRY(L, "axpy_", sl_nn_axpy_(sl_lua_check_tensor(L, 1), luaL_checknumber(L, 2),
                                     sl_lua_check_tensor(L, 3)));
  lua_settop(L, 1);
  return 1;
}

SL_LUA_MODULE(nn)
{
  static const luaL_Reg fns[] = {
    { "linear_forward", l_linear_forward },
    { "linear_backward", l_linear_backward },
    { "block_linear_forward", l_block_linear_forward },
    { "block_linear_backward", l_block_linear_backward },
    { "act_forward", l_act_forward },
    { "act_backward", l_act_backward },
    { "layernorm_forward", l_layernorm_forward },
    { "layernorm_backward", l_layernorm_backward },
    { "batchnorm_forward", l_batchnorm_forward },
    { "batchnorm_backward", l_batchnorm_backward },
    { "dropout_forward", l_dropout_forward },
    { "dropout_backward", l_dropout_backward },
    { "loss", l_loss },
    { "adam_step", l_adam_step },
    { "sumsq", l_sumsq },
    { "scale_", l_scale_ },
    { "axpy_", l_axpy_ },
    { NULL, NULL },
  };
  lua_newtable(L);
  sl_lua_set_functions(L, lua_gettop(L), fns);
  lua_setfield(L, core, "_nn");
  return 0;
}
