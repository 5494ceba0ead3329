/* sl_elementwise.h — elementwise tensor math: binary ops with numpy broadcasting, comparisons,
 * logical ops, unary math, clamp, where and nan_to_num.
 *
 * Operands.  A binary op takes two sl_operand values: a tensor, or a plain number ("scalar").
 * At least one must be a tensor.  A scalar is *weak*, as a Python number is in torch: it takes
 * the tensor's dtype instead of promoting it (float32 tensor * 0.1 stays float32).  An integer
 * tensor meets a non-integral scalar (2.5, NaN, ±inf) → the op is done in float32.
 *
 * Type promotion between two tensors: float64 if either is float64, else float32 if either is
 * float32, else int64 if either is int64, else int32 if either is int32, else uint8.  Then:
 *   add sub mul pow fmod  uint8 ⊕ uint8 computes (and returns) int32, so 200+100 is 300;
 *   div atan2             integer inputs compute in float32 (true division, as torch and numpy);
 *   minimum maximum       the promoted dtype (uint8 stays uint8);
 *   eq ne lt le gt ge, logical_and logical_or → uint8 (0/1), compared in the promoted dtype;
 *                         an integer tensor against a scalar its dtype cannot hold exactly is
 *                         compared in float64, so u8:gt(-1) and i32:lt(0.5) are right.
 * Integer arithmetic wraps (two's complement) and never traps: integer pow with a negative
 * exponent gives the truncated result (0 unless the base is ±1); integer fmod by 0 gives 0 (numpy).
 * A 0-d tensor is an ordinary tensor (it promotes); only sl_operand scalars are weak.
 *
 * Unary ops: float-valued ones (exp log … gelu reciprocal) turn integer input into float32;
 * abs neg square sign relu floor ceil round trunc keep the dtype (uint8 neg wraps);
 * isnan isinf isfinite logical_not return uint8.  round is half-to-even; sign(±0) = ±0 and
 * sign(NaN) = NaN; gelu is the exact erf form 0.5·x·(1+erf(x/√2)).
 *
 * Outputs.  `sl_op_X(sl_tensor **out, ...)` returns a new contiguous tensor.  `sl_op_X_into(out,
 * ...)` writes into an existing tensor whose shape must equal the broadcast result shape; out may
 * be one of the inputs (in place: x:add_(y) is sl_op_binary_into(x, ADD, x, y)).  An input that
 * partly overlaps out in memory is copied first, so results never depend on traversal order.
 * When out's dtype differs from the result dtype the op is computed in out's dtype (float32 out
 * += float64 y computes in float32; uint8 out wraps); a float result into an integer out is an
 * error (SL_ERR_DTYPE), as in torch.  out may not have broadcast (stride 0) dimensions.
 *
 * Threads: large ops split into tiles across OpenMP threads; every element is computed by the
 * same expression whatever the split, so results do not depend on the thread count.
 * CPU tensors only for now (SL_ERR_NOT_IMPL names the device otherwise). */
#ifndef SL_ELEMENTWISE_H
#define SL_ELEMENTWISE_H

#include "sl_tensor.h"

typedef enum {
  SL_BIN_ADD, SL_BIN_SUB, SL_BIN_MUL, SL_BIN_DIV, SL_BIN_POW,
  SL_BIN_MINIMUM, SL_BIN_MAXIMUM, SL_BIN_ATAN2, SL_BIN_FMOD,
  SL_BIN_EQ, SL_BIN_NE, SL_BIN_LT, SL_BIN_LE, SL_BIN_GT, SL_BIN_GE,
  SL_BIN_AND, SL_BIN_OR,
  SL_BIN_COUNT
} sl_binop;

typedef enum {
  SL_UN_ABS, SL_UN_NEG, SL_UN_EXP, SL_UN_LOG, SL_UN_LOG1P, SL_UN_EXPM1, SL_UN_SQRT, SL_UN_RSQRT,
  SL_UN_SQUARE, SL_UN_SIN, SL_UN_COS, SL_UN_TAN, SL_UN_TANH, SL_UN_SIGMOID, SL_UN_ERF,
  SL_UN_RELU, SL_UN_GELU, SL_UN_SILU, SL_UN_SOFTPLUS, SL_UN_SIGN, SL_UN_FLOOR, SL_UN_CEIL,
  SL_UN_ROUND, SL_UN_TRUNC, SL_UN_RECIPROCAL, SL_UN_ISNAN, SL_UN_ISINF, SL_UN_ISFINITE,
  SL_UN_NOT,
  SL_UN_COUNT
} sl_unop;

/* A tensor (t != NULL) or a weak scalar s (t == NULL). */
typedef struct { const sl_tensor *t; double s; } sl_operand;
static inline sl_operand sl_operand_tensor(const sl_tensor *t) { sl_operand o = { t, 0.0 }; return o; }
static inline sl_operand sl_operand_scalar(double s) { sl_operand o = { NULL, s }; return o; }

/* Lua-facing names: "add" "sub" "mul" "div" "pow" "minimum" "maximum" "atan2" "fmod" "eq" …
 * "logical_and" "logical_or"; "abs" … "isfinite" "logical_not". */
const char *sl_binop_name(sl_binop op);
const char *sl_unop_name(sl_unop op);

sl_status sl_op_binary(sl_tensor **out, sl_binop op, sl_operand a, sl_operand b);
sl_status sl_op_binary_into(sl_tensor *out, sl_binop op, sl_operand a, sl_operand b);

/* a + alpha·b (torch's add(a, b, alpha=…)); b broadcasts.  With integer tensors alpha must be
 * integral.  The _into form with out == a is the axpy update of optimizers. */
sl_status sl_op_add_scaled(sl_tensor **out, const sl_tensor *a, double alpha, const sl_tensor *b);
sl_status sl_op_add_scaled_into(sl_tensor *out, const sl_tensor *a, double alpha, const sl_tensor *b);

sl_status sl_op_unary(sl_tensor **out, sl_unop op, const sl_tensor *x);
sl_status sl_op_unary_into(sl_tensor *out, sl_unop op, const sl_tensor *x);

/* min(max(x, lo), hi); lo or hi NULL = no bound; NaN stays NaN; lo > hi gives hi everywhere.
 * Integer tensors keep their dtype: the bounds become ceil(lo) and floor(hi), which is exact. */
sl_status sl_op_clamp(sl_tensor **out, const sl_tensor *x, const double *lo, const double *hi);
sl_status sl_op_clamp_into(sl_tensor *out, const sl_tensor *x, const double *lo, const double *hi);

/* cond ? a : b, broadcasting all three.  cond is read by truthiness: nonzero (NaN included) is
 * true, so any dtype works.  Result dtype: as for a binary op of a and b (two scalars: float32). */
sl_status sl_op_where(sl_tensor **out, const sl_tensor *cond, sl_operand a, sl_operand b);
sl_status sl_op_where_into(sl_tensor *out, const sl_tensor *cond, sl_operand a, sl_operand b);

/* NaN → nan, +inf → posinf, -inf → neginf; posinf/neginf NULL = the largest / lowest finite
 * value of x's dtype.  Integer tensors are copied unchanged. */
sl_status sl_op_nan_to_num(sl_tensor **out, const sl_tensor *x, double nan,
                           const double *posinf, const double *neginf);
sl_status sl_op_nan_to_num_into(sl_tensor *out, const sl_tensor *x, double nan,
                                const double *posinf, const double *neginf);

/* The same ops on plain doubles (float64 semantics; comparisons give 0 or 1).  For bindings that
 * accept numbers, e.g. sl.exp(1). */
double sl_binop_apply(sl_binop op, double a, double b);
double sl_unop_apply(sl_unop op, double x);

#endif
