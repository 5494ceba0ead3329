/* sl_rng.h — counter-based random numbers (Philox-4x32-10, Salmon et al. 2011).
 *
 * Determinism contract (DESIGN.md): a value depends only on (seed, stream id, position).  A
 * stream is a Philox key (the 64-bit seed) plus the two high counter words (a 64-bit stream id);
 * the two low counter words are the block index, each block giving four 32-bit words.  Position
 * p of a stream is word p%4 of block p/4.  Every fill maps element i to fixed positions, so the
 * results are identical whatever the thread count, batch split or device:
 *
 *   u32, uniform_f32, laplace, bernoulli   element i uses word offset+i
 *   normal                                  element i is one half of a Box–Muller pair built from
 *                                           the two words {p & ~1, p | 1} (p = offset+i) of one
 *                                           block: cos for even p, sin for odd p
 *   uniform_f64                             element i uses words offset+2i (high 21 bits) and
 *                                           offset+2i+1 (low 32 bits)
 *
 * Hence filling [0,n) equals filling [0,k) at offset o and [k,n) at offset o+k (o+2k for f64).
 * The raw functions run OpenMP over blocks for large n (threads: sl_num_threads()). */
#ifndef SL_RNG_H
#define SL_RNG_H

#include "sl_tensor.h"

typedef struct { uint32_t key[2]; uint32_t hi[2]; } sl_rng_stream;

typedef enum {
  SL_RNG_UNIFORM = 0,   /* p1 = lo, p2 = hi:  [lo, hi) */
  SL_RNG_NORMAL,        /* p1 = mean, p2 = std (>= 0) */
  SL_RNG_LAPLACE,       /* p1 = loc, p2 = scale (>= 0); variance 2 scale^2 */
  SL_RNG_BERNOULLI,     /* p1 = p in [0,1]: 1 with probability p, else 0 */
  SL_RNG_KIND_COUNT
} sl_rng_kind;

/* The raw bijection: out = Philox4x32-10(counter, key). */
void sl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

sl_rng_stream sl_rng_stream_make(uint64_t seed, uint64_t stream_id);
/* Mixes a purpose tag and up to three indices (operator, realization, step …) into a stream id
 * (SplitMix64 finaliser chain; distinct inputs give distinct ids with overwhelming probability). */
uint64_t sl_rng_stream_id(uint32_t purpose, uint64_t a, uint64_t b, uint64_t c);

/* Fills out[0..n) with stream positions [offset, offset+n) (mapping: see above). */
void sl_rng_u32(sl_rng_stream s, uint64_t offset, int64_t n, uint32_t *out);
/* [lo,hi) from the 24 high bits of each word; never returns hi (lo when hi <= lo). */
void sl_rng_uniform_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float lo, float hi);
void sl_rng_normal_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float mean, float std);
void sl_rng_laplace_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float loc, float scale);
void sl_rng_bernoulli_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float p);
/* Double-precision uniform in [0,1) from 53 random bits (samplers, index draws); 2 words each. */
void sl_rng_uniform_f64(sl_rng_stream s, uint64_t offset, int64_t n, double *out);
/* Double-precision normal / laplace / bernoulli (same words as the f32 versions, computed and
 * stored in double). */
void sl_rng_normal_f64(sl_rng_stream s, uint64_t offset, int64_t n, double *out, double mean, double std);
void sl_rng_laplace_f64(sl_rng_stream s, uint64_t offset, int64_t n, double *out, double loc, double scale);
void sl_rng_bernoulli_f64(sl_rng_stream s, uint64_t offset, int64_t n, double *out, double p);

/* Tensor fill (float32 or float64, any strides): element i in row-major order gets the value of
 * the raw fill at position offset+i (f64 uniform: offset+2i).  Checks the parameters
 * ("normal: std must be >= 0, got -1"). */
sl_status sl_rng_fill(sl_tensor *t, sl_rng_kind kind, sl_rng_stream s, uint64_t offset,
                      double p1, double p2);
/* Stream words a fill of n elements of dtype dt consumes, rounded up to a whole block (4), so
 * that consecutive draws of a generator never share a block. */
uint64_t sl_rng_fill_words(sl_rng_kind kind, sl_dtype dt, int64_t n);
const char *sl_rng_kind_name(sl_rng_kind kind);

#endif
