/* sl_device.h — device-aware tensor storage and copies, and the signatures of the CUDA op slots.
 *
 * device.c is the only core file that touches device memory.  tensor.c calls into it through
 * two small hooks: sl_tensor_empty_on(.., SL_DEV_CUDA) allocates through sl_device_storage_alloc,
 * and sl_tensor_copy hands any copy that involves a non-CPU tensor to sl_device_copy.
 *
 * The op slots below are what the CUDA plugin registers (engine/cuda/, see docs/cuda.md).  The
 * slot names are the strings given to sl_backend_find_op / sl_backend_resolve; each typedef is
 * the signature the slot's fn is cast to.  All kernels take device tensors only and return a
 * device tensor; dtype and layout limits are checked by the slot's `supports` function and
 * again, with a message, inside the kernel. */
#ifndef SL_DEVICE_H
#define SL_DEVICE_H

#include "sl_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- storage and copies (device.c) ---- */

/* Device memory for a new storage: sets s->data, s->release and s->release_ctx. */
sl_status sl_device_storage_alloc(sl_storage *s, size_t nbytes, sl_device dev);
/* dst[...] = src[...] when either tensor lives on a non-CPU device (same contract as
 * sl_tensor_copy: src broadcasts to dst's shape, dtype conversion allowed).  Contiguous
 * same-dtype copies are one memcpy; same-device strided float copies run the plugin's "copy"
 * kernel; anything else is staged through host memory (correct, slow). */
sl_status sl_device_copy(sl_tensor *dst, const sl_tensor *src);
/* A tensor with t's values on device dev: t itself (retained) when it already lives there,
 * else a contiguous copy. */
sl_status sl_tensor_to_device(sl_tensor **out, const sl_tensor *t, sl_device dev);
/* sl_tensor_fill for a device tensor. */
sl_status sl_device_fill(sl_tensor *t, double v);
/* One element at storage offset off (elements), through a tiny host<->device copy: for
 * sl_tensor_get / set (printing, totable, t[i]); slow by design, never for hot paths.  A failed
 * copy reads as NaN / is dropped, since the callers cannot return a status. */
double sl_device_load(const sl_tensor *t, int64_t off);
void   sl_device_store(sl_tensor *t, int64_t off, double v);

/* ---- op slot signatures (engine/cuda/) ---- */

/* "fill": contiguous float32 tensor set to value. */
typedef sl_status (*sl_cuda_fill_fn)(sl_tensor *t, double value);
/* "copy": dst = src, same device, same shape, same dtype (element size 1, 4 or 8), any strides. */
typedef sl_status (*sl_cuda_copy_fn)(sl_tensor *dst, const sl_tensor *src);
/* "binary": float32 a ⊕ b with numpy broadcasting; a or b NULL means the scalar sa / sb.
 * op is an sl_binop (sl_elementwise.h); comparisons and logical ops return uint8. */
typedef sl_status (*sl_cuda_binary_fn)(sl_tensor **out, int op, const sl_tensor *a, double sa,
                                       const sl_tensor *b, double sb);
/* "unary": float32 op(x), op an sl_unop; isnan/isinf/isfinite/logical_not return uint8. */
typedef sl_status (*sl_cuda_unary_fn)(sl_tensor **out, int op, const sl_tensor *x);
/* "reduce_last": x contiguous float32 seen as [numel/inner, inner]; out has shape
 * out_shape[0..out_ndim) with numel/inner elements.  op is an sl_reduce_op among SUM MEAN VAR
 * STD MIN MAX; param as in sl_reduce (VAR/STD: 1 = unbiased).  Sums use a double accumulator. */
typedef sl_status (*sl_cuda_reduce_last_fn)(sl_tensor **out, const sl_tensor *x, int op, int64_t inner,
                                            double param, int out_ndim, const int64_t *out_shape);
/* "matmul": contiguous float32 [m,k]x[k,n] or batched [b,m,k]x[b,k,n] (cuBLAS). */
typedef sl_status (*sl_cuda_matmul_fn)(sl_tensor **out, const sl_tensor *a, const sl_tensor *b);
/* "set_tf32": allow (1) or forbid (0, default) TF32 tensor-core math in matmul and conv. */
typedef void (*sl_cuda_set_tf32_fn)(int on);
/* "rng_fill": contiguous float32/float64 tensor, kind an sl_rng_kind; stream words as in
 * sl_rng_stream (key[2], hi[2]); the same positions as sl_rng_fill (sl_rng.h). */
typedef sl_status (*sl_cuda_rng_fill_fn)(sl_tensor *t, int kind, const uint32_t key[2], const uint32_t hi[2],
                                         uint64_t offset, double p1, double p2);
/* "rng_u32": raw words of positions [offset, offset+n) into a contiguous int32 tensor (bits). */
typedef sl_status (*sl_cuda_rng_u32_fn)(sl_tensor *t, const uint32_t key[2], const uint32_t hi[2],
                                        uint64_t offset);
/* "rfft2" / "irfft2": batched 2-D real transforms over the last two dims of a contiguous
 * float32 tensor [..., H, W] <-> interleaved complex [..., H, W/2+1, 2] (cuFFT, plans cached).
 * Unnormalised forward; irfft2 divides by H*W and needs W given (the complex side loses it). */
typedef sl_status (*sl_cuda_rfft2_fn)(sl_tensor **out, const sl_tensor *x);
typedef sl_status (*sl_cuda_irfft2_fn)(sl_tensor **out, const sl_tensor *x, int64_t w);
/* "instance_norm_act": torch instance norm of contiguous float32 [N,C,*] (biased variance) with
 * optional weight/bias [C] (NULL = 1 / 0), then activation act (an sl_act of sl_norm.h). */
typedef sl_status (*sl_cuda_instance_norm_act_fn)(sl_tensor **out, const sl_tensor *x, const sl_tensor *w,
                                                  const sl_tensor *b, double eps, int act);
/* "conv2d": the project's convolution (sl_conv.h): x [B,Cin,H,W], w [Cout,Cin,k,k] with odd k,
 * stride 1, "same" output, zero (circular = 0) or circular (1) padding, bias [Cout] or NULL;
 * contiguous float32; im2col + cuBLAS GEMM in batch chunks. */
typedef sl_status (*sl_cuda_conv2d_fn)(sl_tensor **out, const sl_tensor *x, const sl_tensor *w,
                                       const sl_tensor *bias, int circular);

#ifdef __cplusplus
}
#endif

#endif
