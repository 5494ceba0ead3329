/* sl_conv.h — 2-D convolution (cross-correlation, as torch.nn.Conv2d) on the CPU.
 *
 * Input x [B, Cin, H, W], weight [Cout, Cin, k, k] with odd k, stride 1, "same" output
 * [B, Cout, H, W], zero or circular padding of k/2 on each side, optional bias [Cout].
 * float32 only.
 *
 * Algorithms (see docs/convolution.md for where each wins on our CPUs):
 *  - SL_CONV_IM2COL: patches → one GEMM per image row-tile (1×1 is a plain GEMM, no patches);
 *  - SL_CONV_FFTROW: FFT along x only, then per x-frequency k complex GEMMs along y
 *                    ([Cout×Cin] @ [Cin × B·(H+2r)]): ≈ k/2 fewer FLOPs than im2col, no cache;
 *  - SL_CONV_FFT:    FFTW r2c of the padded input and weights, per-frequency channel mixing
 *                    (a complex [Cout×Cin] @ [Cin×B] product per frequency), c2r; fastest at
 *                    k ≥ 5 when a workspace keeps the weight spectra, but those are large;
 *  - SL_CONV_WINOGRAD: 3×3 only, F(4×4,3×3): per 6×6 input tile a transform, 36 GEMMs
 *                    [Cout×Cin] @ [Cin×tiles], an output transform; ¼ of im2col's multiplies;
 *                    transformed weights cached in the workspace;
 *  - SL_CONV_DIRECT: a plain loop nest; the reference, and fast enough for tiny problems;
 *  - SL_CONV_AUTO:   picks by a cost model (sl_conv2d_choose).
 *
 * Workspace: a sl_conv2d_ws keeps scratch buffers and, for the FFT path, the transformed
 * weights.  Reusing one workspace per layer across the steps of a rollout avoids a malloc per
 * call and (FFT) the weight transforms: the cache is validated against an exact copy of the
 * weights, so changing the weights in place can never give stale results.  Passing ws = NULL
 * uses a temporary workspace for the call.  A workspace must not be used by two threads at once. */
#ifndef SL_CONV_H
#define SL_CONV_H

#include "sl_tensor.h"

typedef enum { SL_CONV_PAD_ZEROS = 0, SL_CONV_PAD_CIRCULAR = 1 } sl_conv_padding;
typedef enum { SL_CONV_AUTO = 0, SL_CONV_IM2COL, SL_CONV_FFT, SL_CONV_DIRECT, SL_CONV_FFTROW,
               SL_CONV_WINOGRAD } sl_conv_algo;

typedef struct sl_conv2d_ws sl_conv2d_ws;

sl_conv2d_ws *sl_conv2d_ws_new(void);            /* NULL on allocation failure */
void          sl_conv2d_ws_free(sl_conv2d_ws *ws); /* NULL-safe */
/* Bytes currently held (scratch + cached weight spectra). */
size_t        sl_conv2d_ws_bytes(const sl_conv2d_ws *ws);
/* Drops the cached buffers, keeps the object. */
void          sl_conv2d_ws_clear(sl_conv2d_ws *ws);
/* Largest weight-spectrum cache the FFT path may build (default 256 MiB); beyond it auto never
 * picks FFT and an explicit FFT request fails with SL_ERR_OOM and a message. */
void          sl_conv2d_ws_set_fft_budget(sl_conv2d_ws *ws, size_t bytes);

/* out = conv2d(x, w) + bias; out is a new [B,Cout,H,W] float32 tensor.  bias may be NULL. */
sl_status sl_conv2d(sl_tensor **out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias,
                    sl_conv_padding padding, sl_conv_algo algo, sl_conv2d_ws *ws);
/* Same, writing into an existing contiguous float32 tensor of shape [B,Cout,H,W] (must not
 * overlap x). */
sl_status sl_conv2d_into(sl_tensor *out, const sl_tensor *x, const sl_tensor *w, const sl_tensor *bias,
                         sl_conv_padding padding, sl_conv_algo algo, sl_conv2d_ws *ws);

/* Gradients of y = conv2d(x, w) + bias given dy = dL/dy [B,Cout,H,W] (im2col + GEMM):
 * dx [B,Cin,H,W], dw [Cout,Cin,k,k], db [Cout] — new tensors; pass NULL for any not wanted
 * (x is only read for dw, w only for dx).  Deterministic like the forward. */
sl_status sl_conv2d_backward(sl_tensor **dx, sl_tensor **dw, sl_tensor **db,
                             const sl_tensor *x, const sl_tensor *w, const sl_tensor *dy,
                             sl_conv_padding padding, sl_conv2d_ws *ws);

/* The algorithm SL_CONV_AUTO would use; weights_cached != 0 when the FFT weight spectra are
 * already in the workspace (then only the input/output transforms and the mixing count). */
sl_conv_algo sl_conv2d_choose(int64_t B, int64_t cin, int64_t cout, int64_t h, int64_t w, int64_t k,
                              sl_conv_padding padding, int weights_cached, size_t fft_budget);

/* What SL_CONV_AUTO resolves to for these arguments and workspace (ws may be NULL). */
sl_conv_algo sl_conv2d_resolve(const sl_tensor *x, const sl_tensor *w, sl_conv_padding padding,
                               const sl_conv2d_ws *ws);

const char *sl_conv_algo_name(sl_conv_algo a);                /* "auto", "im2col", "fft", "direct" */
int         sl_conv_algo_from_name(const char *s, sl_conv_algo *out);      /* 0 = ok */
int         sl_conv_padding_from_name(const char *s, sl_conv_padding *out); /* "zeros"|"circular" */

/* FFT sizes the FFT path uses for an h×w grid (exposed for the docs/bench). */
void sl_conv2d_fft_size(int64_t h, int64_t w, int64_t k, sl_conv_padding padding, int64_t *p, int64_t *q);

#endif
