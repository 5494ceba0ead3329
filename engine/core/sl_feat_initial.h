/* sl_feat_initial.h — INITIAL features of initial conditions: 14 hand-made features and a
 * 28-dimensional CNN embedding (spec/features.md §2, with the defects of §9 items 28–31 fixed).
 *
 * Input ic [B, C, H, W] (any dtype and strides; B = operators or realizations, C channels).
 *  - Manual features are computed per channel and averaged over the channels whose value is
 *    finite (NaN only when no channel gives one); [B, 14] float32.
 *  - The CNN embedding takes all C channels at once: each channel is resampled to S×S, then
 *    standardised (zero mean, unit variance, per sample and channel), and run through a small
 *    residual network ("resnet3") whose weights come from a fixed Philox seed, with BatchNorm in
 *    inference mode at its default statistics.  Every sample is computed on its own, so a row
 *    never depends on the rest of the batch; [B, 28] float32.
 * H, W >= 8 (the local-entropy patches are 8×8).  Results do not depend on the thread count. */
#ifndef SL_FEAT_INITIAL_H
#define SL_FEAT_INITIAL_H

#include "sl_tensor.h"

#define SL_FI_NMANUAL 14
#define SL_FI_NCNN 28
/* The CNN weights' Philox seed.  Part of the dataset format: embeddings are comparable across
 * datasets only because every dataset uses these same weights.  Never change it. */
#define SL_FI_CNN_SEED 0x53504C4B434E4E31ull   /* "SPLKCNN1" */
#define SL_FI_CNN_DEFAULT_SIZE 64

typedef struct {
  const char *name;
  const char *category;  /* spatial, spectral, information, morphological, cnn_learned */
  const char *formula;   /* exact definition (docs) */
  const char *meaning;   /* what a high value says */
} sl_feat_initial_desc;

/* The full catalog (14 manual then 28 CNN entries); *n receives its length (42). */
const sl_feat_initial_desc *sl_feat_initial_catalog(int *n);

/* ic [B,C,H,W] → *out [B,14] float32. */
sl_status sl_feat_initial_manual(sl_tensor **out, const sl_tensor *ic);
/* ic [B,C,H,W] → *out [B,28] float32; size = S, the side the input is resampled to (16..512). */
sl_status sl_feat_initial_cnn(sl_tensor **out, const sl_tensor *ic, int64_t size);

/* The strided convolution the CNN uses, exposed for tests: x [B,Cin,H,W], w [Cout,Cin,k,k],
 * zero padding `pad` on each side, stride s >= 1, no bias → [B,Cout,Ho,Wo] with
 * Ho = (H + 2 pad - k)/s + 1 (floor). */
sl_status sl_feat_initial_conv2d(sl_tensor **out, const sl_tensor *x, const sl_tensor *w,
                                 int64_t stride, int64_t pad);
/* The resampling the CNN input uses, exposed for tests: x [B,C,H,W] → [B,C,S,S] (identity when
 * H = W = S; block mean when S divides H and W; bilinear with half-pixel centres otherwise). */
sl_status sl_feat_initial_resize(sl_tensor **out, const sl_tensor *x, int64_t size);

#endif
