/* sl_operator.h — the stochastic CNN operators of spec/generation.md §3 and their rollouts (§5).
 *
 * An operator is built from a mapped parameter set (sl_operator_config) plus (seed, operator
 * index).  Architecture, with b = base_channels, k = kernel_size, n = num_layers:
 *
 *   input   ConvBlock(3 → b)
 *   hidden  i = 0..n-1, out_i = b·2^min(i,2): ConvBlock(cur → out_i) if n <= 3, else
 *           ResidualBlock(cur → out_i) = ConvBlock(cur → out_i) → ConvBlock(out_i → out_i)
 *           + skip (identity, or a 1×1 conv without bias when cur != out_i)
 *   noise   stochastic block on the C_last channels (absent when noise_type is NONE)
 *   output  1×1 conv C_last → 3 with bias
 *
 *   ConvBlock = k×k conv (zero padding, bias only with normalization NONE) → norm → activation
 *               → channel dropout (dropout_rate > 0)
 *
 * Weights: U(-1/√fan_in, 1/√fan_in) (PyTorch's default), conv j (in build order, see
 * sl_operator_conv_info) from the Philox stream (WEIGHTS, operator index, j): weight at offset
 * 0, bias at the next whole block.  So weights depend only on (seed, operator index, config).
 *
 * Randomness during a rollout (docs/operators.md): the noise of realization m at step t comes
 * from stream (NOISE, op, m, t) at offset 0; the channel-dropout masks from (DROPOUT, op, m, t),
 * one word per channel, each dropout site at its own offset.  Step t is the application that
 * produces frame t (t = 1..T-1).  Realizations are therefore independent, and the result does
 * not depend on how many realizations run in one batch nor on the thread count.
 *
 * Not thread-safe: an operator owns one workspace (activation buffers and per-layer conv
 * workspaces, grown to the largest batch seen and reused by every step). */
#ifndef SL_OPERATOR_H
#define SL_OPERATOR_H

#include "sl_tensor.h"
#include "sl_conv.h"
#include "sl_norm.h"

typedef enum { SL_OPNORM_NONE = 0, SL_OPNORM_INSTANCE, SL_OPNORM_BATCH, SL_OPNORM_GROUP, SL_OPNORM_LAYER,
               SL_OPNORM_COUNT } sl_opnorm;
typedef enum { SL_NOISE_NONE = 0, SL_NOISE_GAUSSIAN, SL_NOISE_LAPLACE, SL_NOISE_MULTIPLICATIVE, SL_NOISE_DROPOUT,
               SL_NOISE_COUNT } sl_noise_kind;
typedef enum { SL_SCHED_CONSTANT = 0, SL_SCHED_ANNEALING, SL_SCHED_PERIODIC, SL_SCHED_COUNT } sl_noise_schedule;
typedef enum { SL_POLICY_AUTOREGRESSIVE = 0, SL_POLICY_RESIDUAL, SL_POLICY_CONVEX, SL_POLICY_COUNT } sl_policy;

typedef struct {
  int               num_layers;          /* n >= 1 */
  int               base_channels;       /* b >= 1 */
  int               kernel_size;         /* odd k >= 1 */
  int               grid_size;           /* G >= 1 */
  sl_act            activation;
  sl_opnorm         normalization;
  double            dropout_rate;        /* channel dropout in every ConvBlock, [0,1) */
  sl_noise_kind     noise_type;
  double            noise_scale;         /* s >= 0 (dropout kind: drop probability) */
  sl_noise_schedule noise_schedule;
  double            schedule_period;     /* periodic schedule period in steps, > 0 */
  double            spatial_correlation; /* ρ >= 0, as a fraction of the grid side */
  sl_policy         update_policy;
  double            dt;                  /* residual step, > 0 */
  double            alpha;               /* convex persistence weight, [0,1] */
  sl_conv_algo      conv_algo;           /* AUTO: per layer by the conv cost model, fixed at build */
} sl_operator_config;

typedef struct sl_operator sl_operator;

/* Defaults: n 3, b 32, k 3, G 64, gelu, instance norm, no dropout, no noise (scale 0), constant
 * schedule, period 100, ρ 0, residual, dt 0.01, α 0.5, conv algo auto. */
void      sl_operator_config_default(sl_operator_config *c);
/* SL_ERR_ARG naming the parameter, the expected range and the value found. */
sl_status sl_operator_config_check(const sl_operator_config *c);

const char *sl_opnorm_name(sl_opnorm v);            /* "none","instance","batch","group","layer" */
int         sl_opnorm_from_name(const char *s, sl_opnorm *out);          /* 0 = ok */
const char *sl_noise_kind_name(sl_noise_kind v);    /* "none","gaussian","laplace","multiplicative","dropout" */
int         sl_noise_kind_from_name(const char *s, sl_noise_kind *out);
const char *sl_noise_schedule_name(sl_noise_schedule v);                 /* "constant","annealing","periodic" */
int         sl_noise_schedule_from_name(const char *s, sl_noise_schedule *out);
const char *sl_policy_name(sl_policy v);            /* "autoregressive","residual","convex" */
int         sl_policy_from_name(const char *s, sl_policy *out);

sl_status sl_operator_new(sl_operator **out, const sl_operator_config *c, uint64_t seed, uint64_t op_index);
void      sl_operator_free(sl_operator *op);   /* NULL-safe */

const sl_operator_config *sl_operator_config_of(const sl_operator *op);
uint64_t  sl_operator_seed(const sl_operator *op);
uint64_t  sl_operator_index(const sl_operator *op);

/* The convolutions in build order (index j of the WEIGHTS stream). */
typedef enum { SL_OPCONV_BLOCK = 0, SL_OPCONV_SKIP, SL_OPCONV_OUTPUT } sl_opconv_role;
typedef struct {
  sl_opconv_role role;    /* ConvBlock conv (norm/act/dropout follow), residual 1×1 skip, output 1×1 */
  int            block;   /* -1 input block, 0..n-1 hidden block, n output layer */
  int            sub;     /* 0/1: first/second conv of a residual block (0 otherwise) */
  int64_t        cin, cout, k, groups;   /* groups: norm groups (group/layer norm), else 0 */
  sl_conv_algo   algo;    /* algorithm used in forward passes */
  sl_tensor     *weight;  /* [cout,cin,k,k], owned by the operator (borrowed; may be changed in place) */
  sl_tensor     *bias;    /* [cout] or NULL */
} sl_opconv_info;
int       sl_operator_num_convs(const sl_operator *op);
sl_status sl_operator_conv(const sl_operator *op, int j, sl_opconv_info *info);
int64_t   sl_operator_param_count(const sl_operator *op); /* weights + biases + norm affine (2C per norm) */
int64_t   sl_operator_macs(const sl_operator *op);        /* conv multiply-adds per realization-step at G */
int64_t   sl_operator_channels_last(const sl_operator *op);
size_t    sl_operator_workspace_bytes(const sl_operator *op);

/* Noise scale at step t of a rollout with `horizon` steps (annealing: s·(1 - min(t/horizon, 1));
 * periodic: s·(1 + ½ sin(2πt/period))). */
double    sl_operator_noise_scale_at(const sl_operator *op, int64_t step, int64_t horizon);

/* The annealing horizon a forward call uses when it passes none: 0 until set here or by a
 * rollout (which sets it to the horizon it used, T-1 by default). */
void      sl_operator_set_horizon(sl_operator *op, int64_t horizon);
int64_t   sl_operator_horizon(const sl_operator *op);

/* out = F(x): x [R,3,G,G] (any float32 layout), out a contiguous float32 [R,3,G,G] tensor (may
 * be x).  Row i is realization first_realization + i at step `step` (its noise and dropout
 * streams).  horizon: the annealing schedule's step count; <= 0 uses sl_operator_horizon (an
 * annealing operator without any horizon is an error). */
sl_status sl_operator_forward(sl_operator *op, sl_tensor *out, const sl_tensor *x, int64_t first_realization,
                              int64_t step, int64_t horizon);

typedef struct {
  int64_t realizations_per_batch;  /* <= 0: all M at once */
  int64_t horizon;                 /* <= 0: T - 1 */
  double  diverge_threshold;       /* a state with |x| > threshold (or NaN/Inf) diverged; <= 0: 1e6 */
  int64_t first_realization;       /* realization index of trajectory row 0 (default 0) */
} sl_rollout_opts;
void sl_rollout_opts_default(sl_rollout_opts *o);

/* Rolls the operator out: traj is a contiguous float32 [M,T,3,G,G] tensor to fill, ic [3,G,G]
 * (shared by all realizations) or [M,3,G,G].  Frame 0 = the IC; frame t = policy(frame t-1,
 * F(frame t-1)) with the noise of step t.  diverged_step[m] (M entries) receives the first step
 * whose state has a NaN/Inf or |x| > threshold, or -1; such a realization stops there, its
 * later frames are NaN, and the others continue. */
sl_status sl_operator_rollout(sl_operator *op, sl_tensor *traj, const sl_tensor *ic, const sl_rollout_opts *opts,
                              int64_t *diverged_step);

#endif
