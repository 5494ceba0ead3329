/* l_elementwise.c — Lua bindings for elementwise math (core: engine/core/elementwise.c).
 *
 * Module functions (sl.X) and Tensor methods (t:X) share one implementation per kind of op; the
 * op code travels as an upvalue, so the tables below are the whole list of names.
 *
 *   sl.add(a, b [, alpha] [, out])   a + alpha*b      t:add(b [, alpha])     also sl.sub / sl.subtract
 *   sl.mul div pow minimum maximum atan2 fmod (a, b [, out])                 t:mul(b) …
 *   sl.eq ne lt le gt ge logical_and logical_or (a, b [, out]) → uint8 0/1   t:gt(0) …
 *   sl.abs … sl.logical_not (x [, out])                                      t:exp() …
 *   sl.clamp(x, lo, hi [, out]) (lo or hi may be nil)                        t:clamp(lo, hi)
 *   sl.where(cond, a, b [, out])  cond by truthiness (nonzero/NaN = true)    x:where(cond, y)
 *   sl.nan_to_num(x [, nan=0] [, posinf] [, neginf] [, out])                 t:nan_to_num(…)
 *   in place (return self):  t:add_(y [, alpha])  t:sub_(y [, alpha])  t:mul_(y)  t:div_(y)
 *                            t:clamp_(lo, hi)     (t:fill_(v) is the tensor module's)
 *   metamethods: + - * / ^ and unary minus, numbers on either side (2 - t).
 *
 * a and b may each be a tensor or a number (a number takes the tensor's dtype, see
 * sl_elementwise.h); with two numbers the result is a number computed in double.  `t:sub` stays
 * the tensor module's range view (torch7), so the subtraction method is t:subtract.  There is no
 * __eq: Lua only calls it for two userdata and coerces the result to a boolean. */
#include "sl_lua.h"
#include "sl_elementwise.h"

#include <float.h>
#include <math.h>

/* Tensor or number at idx. */
static sl_operand check_operand(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) return sl_operand_scalar(lua_tonumber(L, idx));
  if (!sl_lua_is_tensor(L, idx))
    luaL_argerror(L, idx, lua_pushfstring(L, "Tensor or number expected, got %s",
                                          luaL_typename(L, idx)));
  return sl_operand_tensor(sl_lua_check_tensor(L, idx));
}

/* Optional number at idx: *ptr = NULL when nil/none, else points at *store holding it. */
static void opt_number(lua_State *L, int idx, const double **ptr, double *store) {
  *ptr = NULL;
  if (lua_isnoneornil(L, idx)) return;
  *store = luaL_checknumber(L, idx);
  *ptr = store;
}

/* Result of a core call producing a new tensor, or the out argument at out_idx. */
static int push_result(lua_State *L, const char *name, sl_status st, sl_tensor *r, int out_idx) {
  if (st != SL_OK) return sl_lua_raise(L, name);
  if (out_idx) lua_pushvalue(L, out_idx);
  else sl_lua_push_tensor(L, r);
  return 1;
}

/* a op b [, out]; with_out = 0 for metamethods (their extra argument is not an output). */
static int binary(lua_State *L, sl_binop op, int with_out) {
  const char *name = sl_binop_name(op);
  sl_operand a = check_operand(L, 1), b = check_operand(L, 2);
  if (!a.t && !b.t) { lua_pushnumber(L, sl_binop_apply(op, a.s, b.s)); return 1; }
  sl_tensor *out = with_out ? sl_lua_opt_tensor(L, 3) : NULL, *r = NULL;
  sl_status st = out ? sl_op_binary_into(out, op, a, b) : sl_op_binary(&r, op, a, b);
  return push_result(L, name, st, r, out ? 3 : 0);
}

static int l_binary(lua_State *L) { return binary(L, (sl_binop)lua_tointeger(L, lua_upvalueindex(1)), 1); }
static int mm_binary(lua_State *L) { return binary(L, (sl_binop)lua_tointeger(L, lua_upvalueindex(1)), 0); }

/* a + sign*alpha*b [, out] (sign = -1 for sub).  Arguments: a, b [, alpha] [, out]. */
static int l_addsub(lua_State *L) {
  int sub = (int)lua_tointeger(L, lua_upvalueindex(1));
  sl_binop op = sub ? SL_BIN_SUB : SL_BIN_ADD;
  const char *name = sub ? "sub" : "add";
  sl_operand a = check_operand(L, 1), b = check_operand(L, 2);
  int has_alpha = lua_type(L, 3) == LUA_TNUMBER, out_idx = has_alpha ? 4 : 3;
  double alpha = has_alpha ? lua_tonumber(L, 3) : 1.0;
  sl_tensor *out = sl_lua_opt_tensor(L, out_idx), *r = NULL;
  if (has_alpha && !b.t) { b.s *= alpha; has_alpha = 0; }
  if (!a.t && !b.t) { lua_pushnumber(L, sl_binop_apply(op, a.s, b.s)); return 1; }
  sl_status st;
  if (!has_alpha) {
    st = out ? sl_op_binary_into(out, op, a, b) : sl_op_binary(&r, op, a, b);
  } else if (a.t) {
    double al = sub ? -alpha : alpha;
    st = out ? sl_op_add_scaled_into(out, a.t, al, b.t) : sl_op_add_scaled(&r, a.t, al, b.t);
  } else {   /* number ± alpha*tensor */
    sl_tensor *scaled = NULL;
    st = sl_op_binary(&scaled, SL_BIN_MUL, b, sl_operand_scalar(alpha));
    if (st == SL_OK) {
      sl_operand s = sl_operand_tensor(scaled);
      st = out ? sl_op_binary_into(out, op, a, s) : sl_op_binary(&r, op, a, s);
    }
    sl_tensor_release(scaled);
  }
  return push_result(L, name, st, r, out ? out_idx : 0);
}

/* x:add_(y [, alpha]), x:sub_(y [, alpha]), x:mul_(y), x:div_(y): write into x, return x. */
static int m_inplace(lua_State *L) {
  sl_binop op = (sl_binop)lua_tointeger(L, lua_upvalueindex(1));
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  sl_operand y = check_operand(L, 2);
  sl_status st;
  if ((op == SL_BIN_ADD || op == SL_BIN_SUB) && !lua_isnoneornil(L, 3)) {
    double alpha = luaL_checknumber(L, 3);
    if (y.t) {
      st = sl_op_add_scaled_into(x, x, op == SL_BIN_SUB ? -alpha : alpha, y.t);
    } else {
      y.s *= alpha;
      st = sl_op_binary_into(x, op, sl_operand_tensor(x), y);
    }
  } else {
    st = sl_op_binary_into(x, op, sl_operand_tensor(x), y);
  }
  if (st != SL_OK) return sl_lua_raise(L, sl_binop_name(op));
  lua_settop(L, 1);
  return 1;
}

/* unary(x [, out]); a number gives a number. */
static int unary(lua_State *L, sl_unop op, int with_out) {
  const char *name = sl_unop_name(op);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_pushnumber(L, sl_unop_apply(op, lua_tonumber(L, 1)));
    return 1;
  }
  const sl_tensor *x = check_operand(L, 1).t;
  sl_tensor *out = with_out ? sl_lua_opt_tensor(L, 2) : NULL, *r = NULL;
  sl_status st = out ? sl_op_unary_into(out, op, x) : sl_op_unary(&r, op, x);
  return push_result(L, name, st, r, out ? 2 : 0);
}

static int l_unary(lua_State *L) { return unary(L, (sl_unop)lua_tointeger(L, lua_upvalueindex(1)), 1); }
static int mm_unm(lua_State *L) { return unary(L, SL_UN_NEG, 0); }

/* clamp(x, lo, hi [, out]) and x:clamp_(lo, hi). */
static int clamp(lua_State *L, int inplace) {
  const char *name = inplace ? "clamp_" : "clamp";
  double slo, shi;
  const double *lo, *hi;
  opt_number(L, 2, &lo, &slo);
  opt_number(L, 3, &hi, &shi);
  if (!lo && !hi) return luaL_error(L, "%s: give at least one of lo and hi (the other may be nil)", name);
  if (!inplace && lua_type(L, 1) == LUA_TNUMBER) {
    double v = lua_tonumber(L, 1);
    if (lo && v < *lo) v = *lo;
    if (hi && v > *hi) v = *hi;
    lua_pushnumber(L, v);
    return 1;
  }
  sl_tensor *x = sl_lua_check_tensor(L, 1);
  sl_tensor *out = inplace ? x : sl_lua_opt_tensor(L, 4), *r = NULL;
  sl_status st = out ? sl_op_clamp_into(out, x, lo, hi) : sl_op_clamp(&r, x, lo, hi);
  return push_result(L, name, st, r, inplace ? 1 : out ? 4 : 0);
}
static int l_clamp(lua_State *L) { return clamp(L, 0); }
static int m_clamp_(lua_State *L) { return clamp(L, 1); }

/* nan_to_num(x [, nan] [, posinf] [, neginf] [, out]) */
static int l_nan_to_num(lua_State *L) {
  double nan = luaL_optnumber(L, 2, 0.0), sp, sn;
  const double *posinf, *neginf;
  opt_number(L, 3, &posinf, &sp);
  opt_number(L, 4, &neginf, &sn);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    double v = lua_tonumber(L, 1);
    if (isnan(v)) v = nan;
    else if (isinf(v)) v = v > 0 ? (posinf ? *posinf : DBL_MAX) : (neginf ? *neginf : -DBL_MAX);
    lua_pushnumber(L, v);
    return 1;
  }
  sl_tensor *x = sl_lua_check_tensor(L, 1), *out = sl_lua_opt_tensor(L, 5), *r = NULL;
  sl_status st = out ? sl_op_nan_to_num_into(out, x, nan, posinf, neginf)
                     : sl_op_nan_to_num(&r, x, nan, posinf, neginf);
  return push_result(L, "nan_to_num", st, r, out ? 5 : 0);
}

/* sl.where(cond, a, b [, out]) */
static int l_where(lua_State *L) {
  sl_tensor *c = sl_lua_check_tensor(L, 1);
  sl_operand a = check_operand(L, 2), b = check_operand(L, 3);
  sl_tensor *out = sl_lua_opt_tensor(L, 4), *r = NULL;
  sl_status st = out ? sl_op_where_into(out, c, a, b) : sl_op_where(&r, c, a, b);
  return push_result(L, "where", st, r, out ? 4 : 0);
}

/* x:where(cond, y) = where(cond, x, y), as torch's Tensor.where. */
static int m_where(lua_State *L) {
  sl_operand x = sl_operand_tensor(sl_lua_check_tensor(L, 1));
  sl_tensor *c = sl_lua_check_tensor(L, 2), *r = NULL;
  sl_operand y = check_operand(L, 3);
  sl_status st = sl_op_where(&r, c, x, y);
  return push_result(L, "where", st, r, 0);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct { const char *name; int code; } named_op;

/* Binary ops as both sl.name and t:name (add/sub are registered separately for alpha). */
static const named_op BINARY[] = {
  {"mul", SL_BIN_MUL}, {"div", SL_BIN_DIV}, {"pow", SL_BIN_POW},
  {"minimum", SL_BIN_MINIMUM}, {"maximum", SL_BIN_MAXIMUM}, {"atan2", SL_BIN_ATAN2},
  {"fmod", SL_BIN_FMOD}, {"eq", SL_BIN_EQ}, {"ne", SL_BIN_NE}, {"lt", SL_BIN_LT},
  {"le", SL_BIN_LE}, {"gt", SL_BIN_GT}, {"ge", SL_BIN_GE}, {"logical_and", SL_BIN_AND},
  {"logical_or", SL_BIN_OR}, {NULL, 0}};

static const named_op METAMETHODS[] = {
  {"__add", SL_BIN_ADD}, {"__sub", SL_BIN_SUB}, {"__mul", SL_BIN_MUL}, {"__div", SL_BIN_DIV},
  {"__pow", SL_BIN_POW}, {NULL, 0}};

static const named_op INPLACE[] = {
  {"add_", SL_BIN_ADD}, {"sub_", SL_BIN_SUB}, {"mul_", SL_BIN_MUL}, {"div_", SL_BIN_DIV},
  {NULL, 0}};

/* Sets tbl[name] = fn with upvalue code. */
static void set_closure(lua_State *L, int tbl, const char *name, lua_CFunction fn, int code) {
  lua_pushinteger(L, code);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, tbl, name);
}

SL_LUA_MODULE(elementwise) {
  luaL_getmetatable(L, SL_TENSOR_MT);
  int mt = lua_gettop(L);
  lua_getfield(L, mt, "__methods");
  int methods = lua_gettop(L);

  for (const named_op *o = BINARY; o->name; o++) {
    set_closure(L, core, o->name, l_binary, o->code);
    set_closure(L, methods, o->name, l_binary, o->code);
  }
  set_closure(L, core, "add", l_addsub, 0);
  set_closure(L, methods, "add", l_addsub, 0);
  set_closure(L, core, "sub", l_addsub, 1);
  set_closure(L, core, "subtract", l_addsub, 1);
  set_closure(L, methods, "subtract", l_addsub, 1);
  for (int op = 0; op < SL_UN_COUNT; op++) {
    set_closure(L, core, sl_unop_name((sl_unop)op), l_unary, op);
    set_closure(L, methods, sl_unop_name((sl_unop)op), l_unary, op);
  }
  for (const named_op *o = INPLACE; o->name; o++) set_closure(L, methods, o->name, m_inplace, o->code);
  for (const named_op *o = METAMETHODS; o->name; o++) set_closure(L, mt, o->name, mm_binary, o->code);

  const luaL_Reg fns[] = {{"clamp", l_clamp}, {"nan_to_num", l_nan_to_num}, {"where", l_where},
                          {NULL, NULL}};
  sl_lua_set_functions(L, core, fns);
  const luaL_Reg meths[] = {{"clamp", l_clamp}, {"clamp_", m_clamp_}, {"nan_to_num", l_nan_to_num},
                            {"where", m_where}, {NULL, NULL}};
  sl_lua_set_functions(L, methods, meths);
  lua_pushcfunction(L, mm_unm);
  lua_setfield(L, mt, "__unm");
  return 0;
}
