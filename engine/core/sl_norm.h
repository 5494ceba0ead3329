/* sl_norm.h — normalisation layers, dropout and the fused norm+activation of the rollout path.
 *
 * Forward only, float32, torch semantics: statistics are the mean and the *biased* variance
 * (divide by n) over the normalised elements, y = (x - mean) / sqrt(var + eps) * weight + bias.
 *  - instance norm: per sample, per channel, over the spatial dims of x [B, C, *];
 *  - group norm:    per sample, per group of C/G channels (and their spatial dims);
 *  - layer norm:    over the last `nd` dims, with elementwise weight/bias of that shape.
 * weight and bias are optional (NULL = 1 and 0).  An activation can be fused into the same
 * pass (instance/group norm).  The `_into` forms write into a contiguous float32 tensor of x's
 * shape, which may be x itself (in place).
 *
 * Dropout takes its randomness from a caller-provided uniform [0,1) float32 tensor so the RNG
 * stream stays with the caller: an element (or, for dropout2d, a whole [b,c] channel) is kept
 * when u < 1 - p, and survivors are scaled by 1 / (1 - p).  p = 1 gives zeros. */
#ifndef SL_NORM_H
#define SL_NORM_H

#include "sl_tensor.h"

typedef enum { SL_ACT_NONE = 0, SL_ACT_RELU, SL_ACT_GELU, SL_ACT_SILU, SL_ACT_TANH, SL_ACT_COUNT } sl_act;

const char *sl_act_name(sl_act a);                       /* "none", "relu", "gelu", "silu", "tanh" */
int         sl_act_from_name(const char *s, sl_act *out); /* 0 = ok; gelu is the exact (erf) form */
/* y[i] = act(y[i]) in place (for callers that need an activation outside a fused norm). */
void        sl_act_apply_f32(float *y, int64_t n, sl_act act);

sl_status sl_norm_instance(sl_tensor **out, const sl_tensor *x, const sl_tensor *weight,
                           const sl_tensor *bias, double eps, sl_act act);
sl_status sl_norm_instance_into(sl_tensor *out, const sl_tensor *x, const sl_tensor *weight,
                                const sl_tensor *bias, double eps, sl_act act);
sl_status sl_norm_group(sl_tensor **out, const sl_tensor *x, int64_t groups, const sl_tensor *weight,
                        const sl_tensor *bias, double eps, sl_act act);
sl_status sl_norm_group_into(sl_tensor *out, const sl_tensor *x, int64_t groups, const sl_tensor *weight,
                             const sl_tensor *bias, double eps, sl_act act);
sl_status sl_norm_layer(sl_tensor **out, const sl_tensor *x, int nd, const sl_tensor *weight,
                        const sl_tensor *bias, double eps);

/* p = drop probability in [0,1]; uniform has x's shape (dropout) or [B,C] / [B,C,1,…] (dropout2d). */
sl_status sl_dropout(sl_tensor **out, const sl_tensor *x, double p, const sl_tensor *uniform);
sl_status sl_dropout2d(sl_tensor **out, const sl_tensor *x, double p, const sl_tensor *uniform);

#endif
