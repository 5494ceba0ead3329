/* sl_fft.h — FFTs on the CPU (FFTW, single precision).
 *
 * Complex data is interleaved float32 (re, im).  At tensor level a complex tensor is a float32
 * tensor whose last dim has size 2, like torch.view_as_real; "complex dims" are its dims without
 * that trailing 2, and `dim` arguments of complex tensors count complex dims (negative from the
 * end: -1 = last complex dim).
 *
 * Normalisation follows numpy: SL_FFT_BACKWARD (default) leaves the forward transform unscaled
 * and divides the inverse by n (the product of the transformed sizes); SL_FFT_ORTHO scales both
 * by 1/sqrt(n); SL_FFT_FORWARD divides the forward by n and leaves the inverse unscaled.
 *
 * Results do not depend on the thread count: every transform of a batch is computed by the same
 * single-threaded FFTW plan; OpenMP only distributes the batch.  Plans are cached (keyed by
 * transform kind, sizes, strides, batch layout and alignment) behind a mutex, so all functions
 * here may be called from several threads at once. */
#ifndef SL_FFT_H
#define SL_FFT_H

#include "sl_tensor.h"

typedef enum { SL_FFT_BACKWARD = 0, SL_FFT_ORTHO, SL_FFT_FORWARD } sl_fft_norm;

/* "backward", "ortho", "forward" (NULL = backward) → norm; SL_ERR_ARG naming `op` otherwise. */
sl_status sl_fft_norm_parse(const char *name, sl_fft_norm *out, const char *op);

/* ---- raw contiguous buffers (for convolution, initial conditions, spectral features) ----
 * Batched transforms over the last `rank` (1..3) dims; n[0..rank) are the real-space sizes and
 * the last one is halved in the spectrum: nc = n[rank-1]/2 + 1.  Buffers are contiguous and
 * must not overlap.
 *   r2c:  in  real    [batch, n0, ..., n_last]      → out complex [batch, n0, ..., nc]
 *   c2r:  in  complex [batch, n0, ..., nc]          → out real    [batch, n0, ..., n_last]
 *         `in` is DESTROYED (FFTW's multi-dim c2r works in place); pass a scratch copy.
 *         The imaginary parts of the self-conjugate bins are ignored, as in numpy.irfftn.
 *   c2c:  in  complex [batch, n0, ..., n_last]      → out complex, same shape; `in` preserved.
 * Complex counts are complex numbers (2 floats each). */
sl_status sl_fft_r2c(float *out, const float *in, int64_t batch, int rank, const int64_t *n,
                     sl_fft_norm norm);
sl_status sl_fft_c2r(float *out, float *in, int64_t batch, int rank, const int64_t *n,
                     sl_fft_norm norm);
sl_status sl_fft_c2c(float *out, const float *in, int64_t batch, int rank, const int64_t *n,
                     int inverse, sl_fft_norm norm);

/* ---- tensors (CPU; any dtype and strides in, new contiguous float32 out) ---- */
/* Real → complex along dim (0-based, negative from the end): dim size n becomes n/2+1. */
sl_status sl_fft_rfft(sl_tensor **out, const sl_tensor *x, int dim, sl_fft_norm norm);
/* Complex → real along complex dim `dim`, output size n (n <= 0: 2*(m-1) from the input size m).
 * Uses the first n/2+1 input bins, zero-padding when the input has fewer (numpy.irfft). */
sl_status sl_fft_irfft(sl_tensor **out, const sl_tensor *x, int dim, int64_t n, sl_fft_norm norm);
/* Complex ↔ complex along complex dim `dim`. */
sl_status sl_fft_fft(sl_tensor **out, const sl_tensor *x, int dim, int inverse, sl_fft_norm norm);
/* 2-D over the last two (real) dims, batched over the leading ones: [..., H, W] → [..., H, W/2+1, 2]. */
sl_status sl_fft_rfft2(sl_tensor **out, const sl_tensor *x, sl_fft_norm norm);
/* Inverse of rfft2 with output size [h, w] (h <= 0: the input's H; w <= 0: 2*(Wc-1)).  Input bins
 * are cropped or zero-padded to [h, w/2+1] (numpy.fft.irfft2 with s=(h,w)). */
sl_status sl_fft_irfft2(sl_tensor **out, const sl_tensor *x, int64_t h, int64_t w, sl_fft_norm norm);
/* 2-D complex ↔ complex over the last two complex dims: [..., H, W, 2] → [..., H, W, 2]. */
sl_status sl_fft_fft2(sl_tensor **out, const sl_tensor *x, int inverse, sl_fft_norm norm);

/* Sample frequencies (numpy.fft.fftfreq / rfftfreq): fftfreq(8, 1) = [0,1,2,3,-4,-3,-2,-1]/8,
 * rfftfreq(8, 1) = [0,1,2,3,4]/8.  n >= 1, d != 0; dt float32 or float64. */
sl_status sl_fft_fftfreq(sl_tensor **out, int64_t n, double d, sl_dtype dt);
sl_status sl_fft_rfftfreq(sl_tensor **out, int64_t n, double d, sl_dtype dt);

/* Number of cached plans (for tests), and destruction of all of them (at exit; not concurrently
 * with running transforms). */
int  sl_fft_plan_count(void);
void sl_fft_cleanup(void);

#endif
