/* ic_internal.h — shared machinery of the IC generators (not a public header).
 *
 * Random draws: every generator reads one Philox stream through a cursor that counts 32-bit
 * words.  Only sl_rng_u32 is used and all conversions (uniform, Box–Muller normal) happen here,
 * so the mapping from stream position to value is fixed by this file alone and every draw
 * takes its own words: no two draws ever share randomness, whatever their kind. */
#ifndef SL_IC_INTERNAL_H
#define SL_IC_INTERNAL_H

#include <math.h>
#include "sl_ic.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct sl_ic_rng {
  sl_rng_stream s;
  uint64_t      pos;   /* next unused 32-bit word of the stream */
};

uint32_t ic_u32(sl_ic_rng *r);
double   ic_unif(sl_ic_rng *r);                        /* uniform in the open interval (0,1) */
double   ic_uniform(sl_ic_rng *r, double lo, double hi);
double   ic_normal(sl_ic_rng *r);                      /* N(0,1) */
int      ic_randint(sl_ic_rng *r, int n);              /* uniform in 0..n-1 */
void     ic_normals(sl_ic_rng *r, float *out, int64_t n);   /* n independent N(0,1) */
void     ic_uniforms(sl_ic_rng *r, float *out, int64_t n);  /* n independent U(0,1) */

/* Spectral synthesis.  P(k) gives the power at wavenumber magnitude k (cycles per domain);
 * the DC term is always removed.  The result is a stationary Gaussian field, periodic on the
 * grid, rescaled to zero mean and unit variance (transforms through sl_fft). */
typedef double (*ic_spectrum_fn)(double k, const void *ctx);
sl_status ic_spectral_field(float *out, int G, ic_spectrum_fn P, const void *ctx, sl_ic_rng *r);
/* Unit-variance GRF with Gaussian covariance exp(-d²/(2ℓ²)), ℓ = length_scale·G pixels. */
sl_status ic_grf_unit(float *out, int G, double length_scale, sl_ic_rng *r);
/* ch[G*G] += amp · ic_grf_unit(length_scale) (no-op when amp == 0). */
sl_status ic_add_grf(float *ch, int G, double length_scale, double amp, sl_ic_rng *r);
/* Gaussian power spectrum of ic_grf_unit, unnormalised (shared with multiscale_grf). */
double    ic_gauss_spectrum(double k, double length_scale);

/* Channel planes of a [3,G,G] buffer. */
#define PLANE(G) ((int64_t)(G) * (G))
void ic_copy_ch0(float *out, int G);   /* channels 1.. become copies of channel 0 */

/* Per-channel statistics and rescaling. */
int  ic_standardize(float *x, int64_t n, double variance);   /* 0 when x is constant (set to 0) */
void ic_minmax_to(float *x, int64_t n, double lo, double hi); /* constant x → lo */
void ic_scale_maxabs(float *x, int64_t n);                    /* divide by max |x| (if > 0) */

/* Scratch buffers for generators (tracked allocator). */
float *ic_buf(int64_t n);            /* zero-filled, NULL on failure */
void   ic_buf_free(float *p, int64_t n);
#define IC_OOM(name) SL_ERR(SL_ERR_OOM, "%s: out of memory for scratch buffers", (name))

/* Parameter-table shorthands (defaults and bounds of each generator's schema). */
#define IC_NUM(nm, d, l, h, dc) \
  { .name = nm, .kind = SL_IC_NUMBER, .lo = l, .hi = h, .ndef = 1, .def = { d }, .doc = dc }
#define IC_NULLNUM(nm, l, h, dc) \
  { .name = nm, .kind = SL_IC_NUMBER, .lo = l, .hi = h, .nullable = 1, .ndef = 0, .doc = dc }
#define IC_INT(nm, d, l, h, dc) \
  { .name = nm, .kind = SL_IC_INTEGER, .lo = l, .hi = h, .ndef = 1, .def = { d }, .doc = dc }
#define IC_CHOICE(nm, d, opts, dc) \
  { .name = nm, .kind = SL_IC_CHOICE, .ndef = 1, .def = { d }, .options = opts, .doc = dc }
#define IC_RANGE(nm, a, b, l, h, dc) \
  { .name = nm, .kind = SL_IC_RANGE, .lo = l, .hi = h, .ndef = 2, .def = { a, b }, .doc = dc }
#define IC_NULLRANGE(nm, l, h, dc) \
  { .name = nm, .kind = SL_IC_RANGE, .lo = l, .hi = h, .nullable = 1, .ndef = 0, .doc = dc }
#define IC_VARIANCE IC_NUM("variance", 1.0, 1e-8, 1e8, "target variance of each channel")

/* Generator tables (ic_baseline.c, ic_domain*.c). */
extern const sl_ic_generator sl_ic_baseline[];
extern const int             sl_ic_baseline_count;
extern const sl_ic_generator sl_ic_domain[];
extern const int             sl_ic_domain_count;

#endif
