/* rng.cu — Philox-4x32-10 fills on the device, reproducing engine/core/rng.c position for
 * position.
 *
 * Mapping (sl_rng.h): element i of a fill at `offset` uses stream position p = offset + i, i.e.
 * word p&3 of block p>>2, whose counter is (block_lo, block_hi, stream_hi0, stream_hi1) under the
 * key (seed_lo, seed_hi).  Normal values pair the words {p&~1, p|1} of one block (cos for even
 * p, sin for odd p); f64 uniform uses words offset+2i (high 21 bits) and offset+2i+1.  Each
 * thread recomputes the whole block for its element: Philox is ~40 integer ops, cheaper than
 * any cross-thread exchange, and it keeps the kernel trivially position-pure.
 *
 * Bit-exactness: the u32 words are identical by construction.  The word→number conversions use
 * the CPU's formulas with explicitly rounded operations (__dmul_rn, __dadd_rn, __fmul_rn: no
 * contraction into FMA), so uniform and bernoulli are identical to the CPU's whenever the CPU
 * compiler did not contract `lo + span*u` either (always for spans that are powers of two, e.g.
 * [0,1) and [-1,1)).  normal and laplace call CUDA's logf/sinf/cosf/log, which differ from
 * glibc's by an ulp or two: those agree to a few float ulp, not bit for bit (docs/cuda.md). */
#include <math.h>

#include "cu_common.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

struct rng_key { uint32_t k0, k1, h0, h1; };

/* The four words of block b (rng.c stream_block). */
__device__ static inline void philox_block(const rng_key &s, uint64_t b, uint32_t w[4]) {
  uint32_t x0 = (uint32_t)b, x1 = (uint32_t)(b >> 32), x2 = s.h0, x3 = s.h1;
  uint32_t k0 = s.k0, k1 = s.k1;
#pragma unroll
  for (int r = 0; r < 10; r++) {
    uint32_t lo0 = PHILOX_M0 * x0, hi0 = __umulhi(PHILOX_M0, x0);
    uint32_t lo1 = PHILOX_M1 * x2, hi1 = __umulhi(PHILOX_M1, x2);
    uint32_t y0 = hi1 ^ x1 ^ k0;
    uint32_t y2 = hi0 ^ x3 ^ k1;
    x1 = lo1;
    x3 = lo0;
    x0 = y0;
    x2 = y2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  w[0] = x0; w[1] = x1; w[2] = x2; w[3] = x3;
}

__device__ static inline uint32_t philox_word(const rng_key &s, uint64_t p) {
  uint32_t w[4];
  philox_block(s, p >> 2, w);
  return w[p & 3];
}

#define TWO_M24 (1.0 / 16777216.0)
#define TWO_M32 (1.0 / 4294967296.0)
#define TWO_M53 (1.0 / 9007199254740992.0)

__device__ static inline double u24(uint32_t w) { return __dmul_rn((double)(w >> 8), TWO_M24); }
__device__ static inline double u32_open(uint32_t w) { return __dmul_rn(__dadd_rn((double)w, 0.5), TWO_M32); }

struct rng_params {
  int    kind;
  double a, b;          /* uniform: lo, span; normal: mean, std; laplace: loc, scale; bernoulli: p */
  double hi;            /* uniform: exclusive bound (INFINITY when span = 0) */
  float  hi_f, below_hi_f;
  double below_hi_d;
};

/* Value of element at position p as the CPU computes it (f32 = 1: float32 output path). */
__device__ static inline double value_at(const rng_key &s, const rng_params &q, uint64_t p, int f32) {
  uint32_t w[4];
  philox_block(s, p >> 2, w);
  int k = (int)(p & 3);
  switch (q.kind) {
    case SL_RNG_UNIFORM:
      return __dadd_rn(q.a, __dmul_rn(q.b, u24(w[k])));
    case SL_RNG_NORMAL: {
      int k0 = k & ~1;
      if (f32) {
        float r = sqrtf(__fmul_rn(-2.0f, logf((float)u32_open(w[k0]))));
        float th = __fmul_rn(__fmul_rn(6.28318530717958648f, (float)(w[k0 + 1] >> 8)), (float)TWO_M24);
        float t = (k & 1) ? sinf(th) : cosf(th);
        return __dadd_rn(q.a, __dmul_rn(q.b, (double)__fmul_rn(r, t)));
      }
      double r = sqrt(__dmul_rn(-2.0, log(u32_open(w[k0]))));
      double th = __dmul_rn(__dmul_rn(6.283185307179586, (double)w[k0 + 1]), TWO_M32);
      double t = (k & 1) ? sin(th) : cos(th);
      return __dadd_rn(q.a, __dmul_rn(__dmul_rn(q.b, r), t));
    }
    case SL_RNG_LAPLACE: {
      double u = u32_open(w[k]);
      return u < 0.5 ? __dadd_rn(q.a, __dmul_rn(q.b, log(__dmul_rn(2.0, u))))
                     : __dsub_rn(q.a, __dmul_rn(q.b, log(__dmul_rn(2.0, __dsub_rn(1.0, u)))));
    }
    case SL_RNG_BERNOULLI:
      return u24(w[k]) < q.a ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

__global__ void rng_f32_kernel(float *o, int64_t n, rng_key s, rng_params q, uint64_t offset) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float x = (float)value_at(s, q, offset + (uint64_t)i, 1);
    if (q.kind == SL_RNG_UNIFORM && x >= q.hi_f) x = q.below_hi_f;
    o[i] = x;
  }
}

__global__ void rng_f64_kernel(double *o, int64_t n, rng_key s, rng_params q, uint64_t offset) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    double x;
    if (q.kind == SL_RNG_UNIFORM) {   /* 53 bits from two words (rng.c fill_range_f64u) */
      uint64_t p = offset + 2 * (uint64_t)i;
      uint32_t h = philox_word(s, p), l = philox_word(s, p + 1);
      uint64_t bits = ((uint64_t)(h >> 11) << 32) | l;
      x = __dadd_rn(q.a, __dmul_rn(q.b, __dmul_rn((double)bits, TWO_M53)));
      if (x >= q.hi) x = q.below_hi_d;
    } else {
      x = value_at(s, q, offset + (uint64_t)i, 0);
    }
    o[i] = x;
  }
}

__global__ void rng_u32_kernel(uint32_t *o, int64_t n, rng_key s, uint64_t offset) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    o[i] = philox_word(s, offset + (uint64_t)i);
}

static rng_key make_key(const uint32_t key[2], const uint32_t hi[2]) {
  rng_key k = { key[0], key[1], hi[0], hi[1] };
  return k;
}

sl_status cu_rng_fill(sl_tensor *t, int kind, const uint32_t key[2], const uint32_t hi[2], uint64_t offset,
                      double p1, double p2) {
  static const char *const names[] = { "uniform", "normal", "laplace", "bernoulli" };
  if (kind < 0 || kind >= SL_RNG_KIND_COUNT) return CU_ERR(SL_ERR_ARG, "rng (cuda): unknown distribution kind %d", kind);
  const char *name = names[kind];
  if ((t->dtype != SL_DTYPE_F32 && t->dtype != SL_DTYPE_F64) || !g_host->tensor_is_contiguous(t))
    return CU_ERR(SL_ERR_NOT_IMPL, "%s (cuda): needs a contiguous float32 or float64 tensor", name);
  /* Parameter checks mirror rng.c check_params. */
  if (kind == SL_RNG_UNIFORM && !(isfinite(p1) && isfinite(p2) && p2 >= p1))
    return CU_ERR(SL_ERR_ARG, "%s: need finite lo <= hi, got lo=%g hi=%g", name, p1, p2);
  if ((kind == SL_RNG_NORMAL || kind == SL_RNG_LAPLACE) && !(isfinite(p1) && isfinite(p2) && p2 >= 0))
    return CU_ERR(SL_ERR_ARG, "%s: need finite location and scale >= 0, got %g and %g", name, p1, p2);
  if (kind == SL_RNG_BERNOULLI && !(p1 >= 0 && p1 <= 1))
    return CU_ERR(SL_ERR_ARG, "%s: p must be in [0,1], got %g", name, p1);
  int64_t n = g_host->tensor_numel(t);
  if (n == 0) return SL_OK;
  rng_params q;
  memset(&q, 0, sizeof q);
  q.kind = kind;
  q.a = p1;
  q.b = p2;
  if (kind == SL_RNG_UNIFORM) {   /* rng.c make_job */
    q.b = p2 > p1 ? p2 - p1 : 0;
    q.hi = p2 > p1 ? p2 : INFINITY;
    q.hi_f = (float)q.hi;
    q.below_hi_f = nextafterf((float)p2, -INFINITY);
    q.below_hi_d = nextafter(p2, -INFINITY);
  }
  rng_key s = make_key(key, hi);
  unsigned nb = cu_blocks(n, 256);
  if (t->dtype == SL_DTYPE_F32) rng_f32_kernel<<<nb, 256>>>((float *)g_host->tensor_data(t), n, s, q, offset);
  else rng_f64_kernel<<<nb, 256>>>((double *)g_host->tensor_data(t), n, s, q, offset);
  return cu_launched(name);
}

sl_status cu_rng_u32(sl_tensor *t, const uint32_t key[2], const uint32_t hi[2], uint64_t offset) {
  if (t->dtype != SL_DTYPE_I32 || !g_host->tensor_is_contiguous(t))
    return CU_ERR(SL_ERR_NOT_IMPL, "rng_u32 (cuda): needs a contiguous int32 tensor");
  int64_t n = g_host->tensor_numel(t);
  if (n == 0) return SL_OK;
  rng_u32_kernel<<<cu_blocks(n, 256), 256>>>((uint32_t *)g_host->tensor_data(t), n, make_key(key, hi), offset);
  return cu_launched("rng_u32");
}
