/* sl_vq.h — vector-quantizer kernels (one codebook of K codes of width d).
 *
 * Layout: encoder outputs z [B, d], codebook e [K, d], EMA counts N [K], EMA sums m [K, d]
 * (float32), code indices int64 [B] (0-based; the Lua binding shows them 1-based).
 * The Lua class spinlock.vq (docs in lua/spinlock/vq.lua) strings these together; the maths
 * follows spec/vqvae.md §3.5–3.6 with the fixes of §9 (paper loss convention, dead-code reset
 * writes vector × count, reset only codes that were really unused).
 *
 * Determinism: nothing here depends on the thread count (per-row work is independent, sums
 * over rows are done serially in row order), and every random choice comes from a Philox
 * stream position given by the caller. */
#ifndef SL_VQ_H
#define SL_VQ_H

#include "sl_rng.h"

typedef enum { SL_VQ_L2 = 0, SL_VQ_COSINE = 1 } sl_vq_metric;

/* Nearest code per row.  L2: argmin ‖z‖² + ‖e‖² − 2 z·e (GEMM trick); cosine: argmax
 * z·e / (‖z‖‖e‖) (zero vectors count as norm 1).  Ties → lowest index.  idx: int64 [B];
 * score (may be NULL): float32 [B], the squared distance (L2) or the cosine similarity. */
sl_status sl_vq_assign(sl_tensor **idx, sl_tensor **score, const sl_tensor *z,
                       const sl_tensor *codebook, sl_vq_metric metric);

/* out [B, d] = codebook[idx]. */
sl_status sl_vq_lookup(sl_tensor **out, const sl_tensor *codebook, const sl_tensor *idx);

/* Mean squared error mean((z − e[idx])²) over all B·d elements (the commitment term before its
 * weight).  When grad_z is not NULL it receives (adds nothing, overwrites) the gradient of
 * `weight · mse` w.r.t. z: 2·weight·(z − e)/(B·d).  When grad_codebook ([K,d], may be NULL) is
 * given, the gradient of `cb_weight · mse` w.r.t. the codebook is *added* into it. */
sl_status sl_vq_commitment(double *mse, sl_tensor *grad_z, double weight,
                           sl_tensor *grad_codebook, double cb_weight,
                           const sl_tensor *z, const sl_tensor *codebook, const sl_tensor *idx);

/* EMA update (in place), spec §3.5:  c_k = #rows assigned to k, s_k = their sum;
 * N ← γN + (1−γ)c;  n = ΣN;  N ← (N + ε)/(n + Kε)·n;  m ← γm + (1−γ)s;  e_k ← m_k / N_k. */
sl_status sl_vq_ema_update(sl_tensor *codebook, sl_tensor *ema_count, sl_tensor *ema_sum,
                           const sl_tensor *z, const sl_tensor *idx, double decay, double eps);

/* Usage bookkeeping for one batch: counts [K] (float32, out, may be NULL) of the batch's
 * assignments; idle [K] (int64, in place, may be NULL): +1 for every code, 0 for the used ones.
 * Returns utilisation (fraction of codes used in the batch) and perplexity
 * exp(−Σ p_k ln p_k) with p_k = c_k / B (0 ln 0 = 0). */
sl_status sl_vq_usage(sl_tensor **counts, sl_tensor *idle, double *utilisation, double *perplexity,
                      const sl_tensor *idx, int64_t num_codes);

/* k-means++ seeding of codebook [K, d] from data [N, d] followed by `iters` Lloyd steps (a
 * cluster that loses all its points keeps its centre).  Draw j (j = 0..K−1) uses the float64
 * uniform at stream position offset + 2j; *words (may be NULL) gets the number of words used. */
sl_status sl_vq_kmeanspp(sl_tensor *codebook, const sl_tensor *data, int iters,
                         sl_rng_stream s, uint64_t offset, uint64_t *words);

/* Ring buffer of recent encoder outputs: ring [R, d]; *pos = next row to write (0-based),
 * *fill = valid rows.  Pushes the rows of z (only the last R when B > R). */
sl_status sl_vq_ring_push(sl_tensor *ring, int64_t *pos, int64_t *fill, const sl_tensor *z);

/* Dead-code reset.  Dead = codes with idle[k] ≥ dead_after (most idle first, ties → lower index),
 * at most max_reset of them.  Each gets a row of ring[0..fill) drawn uniformly with replacement
 * (float64 uniform at position offset + 2j for the j-th reset), its EMA count set to
 * max(median of the live codes' counts, 1) and its EMA sum to row × count (so the next EMA step
 * keeps the code where it was put), and idle[k] = 0.  ema_count / ema_sum may be NULL (no EMA).
 * *n_reset gets the number of codes reset; *words the words used. */
sl_status sl_vq_reset_dead(int64_t *n_reset, uint64_t *words, sl_tensor *codebook,
                           sl_tensor *ema_count, sl_tensor *ema_sum, sl_tensor *idle,
                           const sl_tensor *ring, int64_t fill, int64_t dead_after, int64_t max_reset,
                           sl_rng_stream s, uint64_t offset);

#endif
