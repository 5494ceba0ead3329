/* sl_nn.h — neural-network kernels: the arithmetic behind the Lua layers of spinlock.nn.
 *
 * The layers themselves (parameters, train/eval state, composition) live in Lua
 * (lua/spinlock/nn/); every loop over elements is here.  Conventions (STYLE.md §7):
 *
 *  - outputs first, then inputs, parameters and buffers, then sizes and scalars;
 *  - `_forward` / `_backward` pairs; a backward ACCUMULATES parameter gradients
 *    (grad_weight += ...), so gradients of a shared layer or of several batches add up, and
 *    returns a fresh grad_in;
 *  - new results come back through `sl_tensor **` (the caller owns one reference); gradient
 *    accumulators are existing tensors that must be contiguous, of the exact parameter shape and
 *    of the input's dtype (they are views into the one flat gradient buffer of a model);
 *  - float32 and float64 only, never mixed within one call (float64 exists for the
 *    finite-difference gradient specs); inputs may be strided (copied to contiguous first);
 *  - sums over the batch (bias and norm-weight gradients, batch statistics, losses) run in a
 *    fixed order with double accumulators, so results never depend on the thread count.
 *
 * Shapes: `x [..., F]` means any number of leading dims, flattened to rows × F. */
#ifndef SL_NN_H
#define SL_NN_H

#include "sl_tensor.h"
#include "sl_rng.h"

/* ---- Linear: out = x · weightᵀ + bias (PyTorch layout: weight [out_features, in_features]) ----
 * x [..., in], weight [out, in], bias [out] or NULL → out [..., out].  One GEMM, with the bias
 * written first and the product added onto it (beta = 1): the "fused" bias. */
sl_status sl_nn_linear_forward(sl_tensor **out, const sl_tensor *x, const sl_tensor *weight,
                               const sl_tensor *bias);
/* grad_in = grad_out · weight (skipped when grad_in is NULL); grad_weight += grad_outᵀ · x;
 * grad_bias += column sums of grad_out (either accumulator may be NULL). */
sl_status sl_nn_linear_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                const sl_tensor *grad_out, const sl_tensor *x, const sl_tensor *weight);

/* ---- BlockLinear: a block-diagonal linear map with packed blocks ----
 * The input's last dim is split into groups of sizes in_sizes[g], the output's into out_sizes[g];
 * output group g = input group g · W_gᵀ + b_g, where W_g [out_g, in_g] is stored row-major in the
 * 1-d weight, one block after the other (numel = Σ out_g·in_g); bias [Σ out_g] or NULL.
 * x [rows, Σ in_g] → out [rows, Σ out_g]. */
sl_status sl_nn_block_linear_forward(sl_tensor **out, const sl_tensor *x, const sl_tensor *weight,
                                     const sl_tensor *bias, int64_t ngroups, const int64_t *in_sizes,
                                     const int64_t *out_sizes);
/* grad_in (skipped when NULL) = the transpose map of grad_out; grad_weight += the blocks of
 * grad_outᵀ·x; grad_bias += column sums of grad_out (either accumulator may be NULL). */
sl_status sl_nn_block_linear_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                      const sl_tensor *grad_out, const sl_tensor *x, const sl_tensor *weight,
                                      int64_t ngroups, const int64_t *in_sizes, const int64_t *out_sizes);

/* ---- pointwise activations (any shape) ---- */
typedef enum {
  SL_NN_RELU = 0,
  SL_NN_GELU,      /* exact: x·Φ(x) = 0.5·x·(1 + erf(x/√2)) */
  SL_NN_SILU,      /* x·σ(x) */
  SL_NN_TANH,
  SL_NN_ACT_COUNT
} sl_nn_act;
const char *sl_nn_act_name(sl_nn_act act);
sl_status sl_nn_act_forward(sl_tensor **out, const sl_tensor *x, sl_nn_act act);
/* grad_in = grad_out · act'(x)  (x is the forward input). */
sl_status sl_nn_act_backward(sl_tensor **grad_in, const sl_tensor *grad_out, const sl_tensor *x,
                             sl_nn_act act);

/* ---- LayerNorm over the last dim ----
 * x [..., F]; weight, bias [F] or NULL (no affine).  mean and rstd (1/sqrt(var + eps), biased
 * variance) come back as [rows] tensors of x's dtype for the backward pass. */
sl_status sl_nn_layernorm_forward(sl_tensor **out, sl_tensor **mean, sl_tensor **rstd,
                                  const sl_tensor *x, const sl_tensor *weight, const sl_tensor *bias,
                                  double eps);
sl_status sl_nn_layernorm_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                   const sl_tensor *grad_out, const sl_tensor *x,
                                   const sl_tensor *mean, const sl_tensor *rstd,
                                   const sl_tensor *weight);

/* ---- BatchNorm1d over x [N, C] or [N, C, L] (statistics per channel C over N·L values) ----
 * training: normalise with the batch mean and biased variance and, when running_mean/var are
 * given, update them in place: r ← (1 − momentum)·r + momentum·batch, the variance unbiased
 * (n/(n−1)), like torch.  Needs more than one value per channel.
 * evaluation: normalise with running_mean/var (required).
 * save_mean / save_rstd [C] are what the backward pass needs (batch or running statistics). */
sl_status sl_nn_batchnorm_forward(sl_tensor **out, sl_tensor **save_mean, sl_tensor **save_rstd,
                                  const sl_tensor *x, const sl_tensor *weight, const sl_tensor *bias,
                                  sl_tensor *running_mean, sl_tensor *running_var,
                                  int training, double momentum, double eps);
/* training = 1: gradient through the batch statistics; 0: the statistics are constants. */
sl_status sl_nn_batchnorm_backward(sl_tensor **grad_in, sl_tensor *grad_weight, sl_tensor *grad_bias,
                                   const sl_tensor *grad_out, const sl_tensor *x,
                                   const sl_tensor *save_mean, const sl_tensor *save_rstd,
                                   const sl_tensor *weight, int training);

/* ---- Dropout (inverted: kept values scaled by 1/(1−p)) ----
 * The mask (same shape and dtype as x, values 0 or 1/(1−p)) is a Bernoulli(1−p) fill of the
 * Philox stream s at `offset`: element i uses word offset+i (sl_rng.h), so it is the same for
 * any thread count.  The caller advances its generator by sl_rng_fill_words(SL_RNG_BERNOULLI,
 * dtype, numel).  p in [0, 1]; p = 1 gives an all-zero mask. */
sl_status sl_nn_dropout_forward(sl_tensor **out, sl_tensor **mask, const sl_tensor *x, double p,
                                sl_rng_stream s, uint64_t offset);
/* grad_in = grad_out · mask. */
sl_status sl_nn_dropout_backward(sl_tensor **grad_in, const sl_tensor *grad_out, const sl_tensor *mask);

/* ---- losses between pred and target of the same shape ----
 * MSE: (p − t)²;  Huber (torch HuberLoss): 0.5·d² if |d| < delta else delta·(|d| − 0.5·delta).
 * mean = 1 divides by numel (torch reduction "mean"), 0 sums.  *loss is always computed;
 * grad (dloss/dpred, scaled by `scale`, e.g. a loss weight) only when grad is not NULL. */
typedef enum { SL_NN_LOSS_MSE = 0, SL_NN_LOSS_HUBER } sl_nn_loss_kind;
sl_status sl_nn_loss(double *loss, sl_tensor **grad, const sl_tensor *pred, const sl_tensor *target,
                     sl_nn_loss_kind kind, double delta, int mean, double scale);

/* ---- optimiser arithmetic on flat buffers (all contiguous, same shape and dtype) ----
 * One Adam step t (1-based) in torch's form:
 *   decoupled (AdamW): p ← p·(1 − lr·wd);   otherwise (Adam, L2): g ← g + wd·p
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   p ← p − lr/(1 − β1ᵗ) · m / (sqrt(v)/sqrt(1 − β2ᵗ) + eps) */
sl_status sl_nn_adam_step(sl_tensor *param, const sl_tensor *grad, sl_tensor *exp_avg,
                          sl_tensor *exp_avg_sq, double lr, double beta1, double beta2, double eps,
                          double weight_decay, int decoupled, int64_t step);
/* Sum of squares of all elements (fixed-order double accumulation); for clipping by norm. */
sl_status sl_nn_sumsq(double *out, const sl_tensor *t);
/* In place: t ← alpha·t (any strides, float32/float64). */
sl_status sl_nn_scale_(sl_tensor *t, double alpha);
/* In place: y ← y + alpha·x, same shape (x may be strided, any float dtype); the residual add. */
sl_status sl_nn_axpy_(sl_tensor *y, double alpha, const sl_tensor *x);

#endif
