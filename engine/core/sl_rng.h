/* sl_rng.h — counter-based random numbers (Philox-4x32-10, Salmon et al. 2011).
 *
 * Determinism contract (DESIGN.md): a value depends only on (seed, stream id, position).  A
 * stream is a Philox key (from the seed) plus the two high counter words (from a 64-bit stream
 * id); the two low counter words are the block index, each block giving four 32-bit words.
 * Element i of any fill uses block (offset+i)/4 (normal: see rng.c), so results are identical
 * whatever the thread count, batch split or device. */
#ifndef SL_RNG_H
#define SL_RNG_H

#include "sl_base.h"

typedef struct { uint32_t key[2]; uint32_t hi[2]; } sl_rng_stream;

/* The raw bijection: out = Philox4x32-10(counter, key). */
void sl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

sl_rng_stream sl_rng_stream_make(uint64_t seed, uint64_t stream_id);
/* Mixes a purpose tag and up to three indices (operator, realization, step …) into a stream id
 * (SplitMix64 finaliser chain; distinct inputs give distinct ids with overwhelming probability). */
uint64_t sl_rng_stream_id(uint32_t purpose, uint64_t a, uint64_t b, uint64_t c);

/* Fills out[0..n) with stream positions [offset, offset+n). */
void sl_rng_u32(sl_rng_stream s, uint64_t offset, int64_t n, uint32_t *out);
void sl_rng_uniform_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float lo, float hi); /* [lo,hi) */
void sl_rng_normal_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float mean, float std);
void sl_rng_laplace_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float loc, float scale);
void sl_rng_bernoulli_f32(sl_rng_stream s, uint64_t offset, int64_t n, float *out, float p);  /* 1 with prob p */
/* Double-precision uniform in [0,1) from 53 random bits (for samplers and index draws). */
void sl_rng_uniform_f64(sl_rng_stream s, uint64_t offset, int64_t n, double *out);

#endif
