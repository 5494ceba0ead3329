/* fft.c — batched real and complex FFTs through FFTW (single precision), with a plan cache.
 *
 * Every transform here is described the same way, as an FFTW "guru" problem: `rank` transformed
 * dims (size, input stride, output stride) plus batch loops (count, strides).  That one
 * description covers rfft along any dim of a contiguous tensor, 2-D transforms batched over
 * leading dims, and the raw-buffer entry points, without transposing anything.
 *
 * Design decisions:
 *  - Determinism.  The outermost batch loop is executed by us (OpenMP over its index); the plan
 *    covers one iteration of it (the transform plus any inner batch loops).  FFTW's own threads
 *    are not used: a plan made for a different thread count may pick a different algorithm and
 *    round differently, while this way each transform is computed by the same plan whatever
 *    the thread count.  (For a single huge transform that forgoes some speed; our workloads are
 *    batches of modest grids.)
 *  - Plan cache.  FFTW planning is not thread-safe but new-array execution is, so plans are
 *    looked up and created under one mutex and executed outside it.  The key is the whole
 *    problem (kind, dims, strides, inner loops) plus whether every pointer we will pass is
 *    SIMD-aligned; misaligned layouts get an FFTW_UNALIGNED plan, which new-array execute
 *    requires.  Plans are made with FFTW_ESTIMATE, which never reads or writes the arrays, so
 *    planning on the caller's buffers is safe.
 *  - c2r destroys its input in FFTW (multi-dim c2r has no preserving algorithm).  The tensor
 *    API copies into a scratch buffer anyway (it is also where cropping/zero-padding to the
 *    requested size happens); the raw API documents that its input is consumed.
 *  - Normalisation is a separate scaling pass over the output (numpy "backward"/"ortho"/"forward").
 */
#include <fftw3.h>   /* before anything that could pull in cblas.h/complex.h (toolchain pitfall 9) */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include "sl_fft.h"

typedef enum { K_R2C = 0, K_C2R, K_C2C_FWD, K_C2C_BWD } fft_kind;
static const char *const kind_names[] = { "r2c", "c2r", "c2c forward", "c2c backward" };

typedef struct { int64_t n, is, os; } fft_dim;   /* strides in elements of the in/out type */

/* Plan identity: no padding (int32 fields come in an even count), so memcmp is exact. */
typedef struct {
  int32_t kind, rank, nloop, aligned;
  fft_dim dims[SL_MAX_DIMS];
  fft_dim loops[SL_MAX_DIMS];   /* inner batch loops, part of the plan */
} plan_key;

typedef struct {
  plan_key key;
  int      has_outer;           /* outer batch loop, run by us */
  fft_dim  outer;
  double   nlogical;            /* product of the transformed sizes */
} fft_problem;

typedef struct { plan_key key; fftwf_plan plan; } plan_entry;

static pthread_mutex_t g_plan_lock = PTHREAD_MUTEX_INITIALIZER;
static plan_entry *g_plans;
static int g_nplans, g_cap;

/* Work (output floats) below which a batch runs on the calling thread. */
#define FFT_PAR_MIN 32768

sl_status sl_fft_norm_parse(const char *name, sl_fft_norm *out, const char *op) {
  if (!name || !strcmp(name, "backward")) *out = SL_FFT_BACKWARD;
  else if (!strcmp(name, "ortho")) *out = SL_FFT_ORTHO;
  else if (!strcmp(name, "forward")) *out = SL_FFT_FORWARD;
  else return SL_ERR(SL_ERR_ARG, "%s: norm must be \"backward\", \"ortho\" or \"forward\", got \"%s\"", op, name);
  return SL_OK;
}

/* ---- problem description ---- */

/* Transform dims tdims[0..ntd) (ascending) of an ndim-dim layout; nshape holds the logical
 * (real-space) sizes, in_shape/out_shape the array shapes in elements of the in/out type (they
 * differ only in the halved last transform dim).  Arrays are contiguous.  Batch dims of size 1
 * are dropped and adjacent batch dims merged where their strides allow, so e.g. [B,C,H,W]
 * rfft2 becomes one outer loop of B*C transforms. */
static void build_problem(fft_problem *p, fft_kind kind, int ndim, const int64_t *nshape,
                          const int64_t *in_shape, const int64_t *out_shape, int ntd, const int *tdims) {
  int64_t is[SL_MAX_DIMS], os[SL_MAX_DIMS];
  fft_dim loops[SL_MAX_DIMS];
  int is_td[SL_MAX_DIMS] = { 0 }, nloop = 0;
  memset(p, 0, sizeof *p);
  sl_contiguous_strides(ndim, in_shape, is);
  sl_contiguous_strides(ndim, out_shape, os);
  p->key.kind = kind;
  p->key.rank = ntd;
  p->nlogical = 1;
  for (int i = 0; i < ntd; i++) {
    int d = tdims[i];
    is_td[d] = 1;
    p->key.dims[i] = (fft_dim){ nshape[d], is[d], os[d] };
    p->nlogical *= (double)nshape[d];
  }
  for (int d = 0; d < ndim; d++) {
    if (is_td[d] || in_shape[d] == 1) continue;
    fft_dim cur = { in_shape[d], is[d], os[d] };
    if (nloop > 0 && loops[nloop - 1].is == cur.n * cur.is && loops[nloop - 1].os == cur.n * cur.os)
      loops[nloop - 1] = (fft_dim){ loops[nloop - 1].n * cur.n, cur.is, cur.os };
    else
      loops[nloop++] = cur;
  }
  if (nloop > 0) {
    p->has_outer = 1;
    p->outer = loops[0];
    for (int i = 1; i < nloop; i++) p->key.loops[i - 1] = loops[i];
    p->key.nloop = nloop - 1;
  }
}

static sl_status get_plan(const plan_key *k, void *in, void *out, fftwf_plan *res, const char *op) {
  sl_status st = SL_OK;
  pthread_mutex_lock(&g_plan_lock);
  for (int i = 0; i < g_nplans; i++)
    if (!memcmp(&g_plans[i].key, k, sizeof *k)) { *res = g_plans[i].plan; goto done; }
  if (g_nplans == g_cap) {
    int cap = g_cap ? 2 * g_cap : 16;
    plan_entry *np = realloc(g_plans, (size_t)cap * sizeof *np);
    if (!np) { st = SL_ERR(SL_ERR_OOM, "%s: out of memory growing the FFT plan cache", op); goto done; }
    g_plans = np; g_cap = cap;
  }
  fftwf_iodim64 dims[SL_MAX_DIMS], loops[SL_MAX_DIMS];
  for (int i = 0; i < k->rank; i++) dims[i] = (fftwf_iodim64){ k->dims[i].n, k->dims[i].is, k->dims[i].os };
  for (int i = 0; i < k->nloop; i++) loops[i] = (fftwf_iodim64){ k->loops[i].n, k->loops[i].is, k->loops[i].os };
  unsigned flags = FFTW_ESTIMATE | (k->aligned ? 0 : FFTW_UNALIGNED);
  fftwf_plan plan = NULL;
  switch ((fft_kind)k->kind) {
    case K_R2C:
      plan = fftwf_plan_guru64_dft_r2c(k->rank, dims, k->nloop, loops, in, out, flags);
      break;
    case K_C2R:
      plan = fftwf_plan_guru64_dft_c2r(k->rank, dims, k->nloop, loops, in, out, flags | FFTW_DESTROY_INPUT);
      break;
    case K_C2C_FWD: case K_C2C_BWD:
      plan = fftwf_plan_guru64_dft(k->rank, dims, k->nloop, loops, in, out,
                                   k->kind == K_C2C_FWD ? FFTW_FORWARD : FFTW_BACKWARD, flags);
      break;
  }
  if (!plan) {
    st = SL_ERR(SL_ERR_INTERNAL, "%s: FFTW could not plan a rank-%d %s transform (first size %lld)",
                op, k->rank, kind_names[k->kind], (long long)k->dims[0].n);
    goto done;
  }
  g_plans[g_nplans].key = *k;
  g_plans[g_nplans].plan = plan;
  g_nplans++;
  *res = plan;
done:
  pthread_mutex_unlock(&g_plan_lock);
  return st;
}

static void scale_buffer(float *x, int64_t n, float s) {
  int nt = sl_num_threads();
  #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1 && n >= FFT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) x[i] *= s;
}

/* Executes problem p from in to out (out holds out_floats floats) and normalises. */
static sl_status fft_run(fft_problem *p, void *in, void *out, int64_t out_floats, sl_fft_norm norm,
                         const char *op) {
  fft_kind kind = (fft_kind)p->key.kind;
  size_t ein = kind == K_R2C ? sizeof(float) : 2 * sizeof(float);
  size_t eout = kind == K_C2R ? sizeof(float) : 2 * sizeof(float);
  int64_t nouter = p->has_outer ? p->outer.n : 1;
  ptrdiff_t in_step = (ptrdiff_t)(p->outer.is * (int64_t)ein), out_step = (ptrdiff_t)(p->outer.os * (int64_t)eout);
  /* Every pointer handed to the plan must have the alignment it was planned with. */
  int aligned = fftwf_alignment_of(in) == 0 && fftwf_alignment_of(out) == 0;
  if (nouter > 1)
    aligned = aligned && fftwf_alignment_of((float *)((char *)in + in_step)) == 0 &&
              fftwf_alignment_of((float *)((char *)out + out_step)) == 0;
  p->key.aligned = aligned;
  fftwf_plan plan;
  SL_TRY(get_plan(&p->key, in, out, &plan, op));

  int nt = sl_num_threads();
  #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1 && nouter > 1 && out_floats >= FFT_PAR_MIN)
  for (int64_t b = 0; b < nouter; b++) {
    char *i = (char *)in + b * in_step, *o = (char *)out + b * out_step;
    switch (kind) {
      case K_R2C: fftwf_execute_dft_r2c(plan, (float *)i, (fftwf_complex *)o); break;
      case K_C2R: fftwf_execute_dft_c2r(plan, (fftwf_complex *)i, (float *)o); break;
      default:    fftwf_execute_dft(plan, (fftwf_complex *)i, (fftwf_complex *)o); break;
    }
  }

  int inverse = kind == K_C2R || kind == K_C2C_BWD;
  double s = 1.0;
  if (norm == SL_FFT_ORTHO) s = 1.0 / sqrt(p->nlogical);
  else if ((norm == SL_FFT_BACKWARD) == inverse) s = 1.0 / p->nlogical;
  if (s != 1.0) scale_buffer(out, out_floats, (float)s);
  return SL_OK;
}

/* ---- raw buffers ---- */

static sl_status raw_shapes(int64_t batch, int rank, const int64_t *n, int64_t *real, int64_t *half,
                            int *tdims, int64_t *nreal, int64_t *nhalf, const char *op) {
  if (rank < 1 || rank > 3) return SL_ERR(SL_ERR_ARG, "%s: rank must be 1, 2 or 3, got %d", op, rank);
  if (batch < 0) return SL_ERR(SL_ERR_ARG, "%s: batch must be >= 0, got %lld", op, (long long)batch);
  real[0] = half[0] = batch;
  *nreal = *nhalf = batch;
  for (int i = 0; i < rank; i++) {
    if (n[i] < 1) return SL_ERR(SL_ERR_ARG, "%s: transform sizes must be >= 1, got %lld in dim %d",
                                op, (long long)n[i], i);
    real[i + 1] = half[i + 1] = n[i];
    tdims[i] = i + 1;
  }
  half[rank] = n[rank - 1] / 2 + 1;
  for (int i = 1; i <= rank; i++) { *nreal *= real[i]; *nhalf *= half[i]; }
  return SL_OK;
}

sl_status sl_fft_r2c(float *out, const float *in, int64_t batch, int rank, const int64_t *n, sl_fft_norm norm) {
  int64_t real[4], half[4], nreal, nhalf; int tdims[3]; fft_problem p;
  SL_TRY(raw_shapes(batch, rank, n, real, half, tdims, &nreal, &nhalf, "fft_r2c"));
  if (nreal == 0) return SL_OK;
  build_problem(&p, K_R2C, rank + 1, real, real, half, rank, tdims);
  return fft_run(&p, (void *)in, out, 2 * nhalf, norm, "fft_r2c");
}

sl_status sl_fft_c2r(float *out, float *in, int64_t batch, int rank, const int64_t *n, sl_fft_norm norm) {
  int64_t real[4], half[4], nreal, nhalf; int tdims[3]; fft_problem p;
  SL_TRY(raw_shapes(batch, rank, n, real, half, tdims, &nreal, &nhalf, "fft_c2r"));
  if (nreal == 0) return SL_OK;
  build_problem(&p, K_C2R, rank + 1, real, half, real, rank, tdims);
  return fft_run(&p, in, out, nreal, norm, "fft_c2r");
}

sl_status sl_fft_c2c(float *out, const float *in, int64_t batch, int rank, const int64_t *n, int inverse,
                     sl_fft_norm norm) {
  int64_t real[4], half[4], nreal, nhalf; int tdims[3]; fft_problem p;
  SL_TRY(raw_shapes(batch, rank, n, real, half, tdims, &nreal, &nhalf, "fft_c2c"));
  if (nreal == 0) return SL_OK;
  build_problem(&p, inverse ? K_C2C_BWD : K_C2C_FWD, rank + 1, real, real, real, rank, tdims);
  return fft_run(&p, (void *)in, out, 2 * nreal, norm, "fft_c2c");
}

/* ---- tensors ---- */

static sl_status check_cpu(const sl_tensor *x, const char *op) {
  if (sl_tensor_device(x) != SL_DEV_CPU)
    return SL_ERR(SL_ERR_NOT_IMPL, "%s: only CPU tensors are supported here, got a %s tensor", op,
                  sl_device_name(sl_tensor_device(x)));
  return SL_OK;
}

/* Complex tensor with at least min_cdims complex dims; returns their count. */
static sl_status check_complex(const sl_tensor *x, int min_cdims, const char *op, int *ncd) {
  char buf[128];
  SL_TRY(check_cpu(x, op));
  if (x->ndim < min_cdims + 1 || x->shape[x->ndim - 1] != 2)
    return SL_ERR(SL_ERR_SHAPE, "%s: expected a complex tensor (trailing dim of size 2 holding re, im) "
                  "with at least %d complex dim%s, got shape %s", op, min_cdims, min_cdims > 1 ? "s" : "",
                  sl_shape_str(buf, sizeof buf, x->ndim, x->shape));
  *ncd = x->ndim - 1;
  return SL_OK;
}

static sl_status norm_dim(int dim, int nd, const char *op, int *out) {
  int d = dim < 0 ? dim + nd : dim;
  if (d < 0 || d >= nd)
    return SL_ERR(SL_ERR_ARG, "%s: dim %d out of range for %d dim%s", op, dim, nd, nd == 1 ? "" : "s");
  *out = d;
  return SL_OK;
}

static sl_status check_sizes(const sl_tensor *x, int ntd, const int *tdims, const char *op) {
  char buf[128];
  for (int i = 0; i < ntd; i++)
    if (x->shape[tdims[i]] < 1)
      return SL_ERR(SL_ERR_SHAPE, "%s: cannot transform dim %d of size 0 (input shape %s)", op, tdims[i],
                    sl_shape_str(buf, sizeof buf, x->ndim, x->shape));
  return SL_OK;
}

/* Real x → complex; the last of tdims is halved. */
static sl_status rfft_tensor(sl_tensor **out, const sl_tensor *x, int ntd, const int *tdims, sl_fft_norm norm,
                             const char *op) {
  int nd = x->ndim;
  SL_TRY(check_cpu(x, op));
  SL_TRY(check_sizes(x, ntd, tdims, op));
  if (nd + 1 > SL_MAX_DIMS)
    return SL_ERR(SL_ERR_SHAPE, "%s: the complex result would need %d dims (max %d)", op, nd + 1, SL_MAX_DIMS);
  int64_t oshape[SL_MAX_DIMS];
  memcpy(oshape, x->shape, (size_t)nd * sizeof *oshape);
  oshape[tdims[ntd - 1]] = x->shape[tdims[ntd - 1]] / 2 + 1;
  oshape[nd] = 2;
  sl_tensor *xc = NULL, *o = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, x, SL_DTYPE_F32));
  sl_status st = sl_tensor_empty(&o, SL_DTYPE_F32, nd + 1, oshape);
  if (st == SL_OK && sl_tensor_numel(o) > 0) {
    fft_problem p;
    build_problem(&p, K_R2C, nd, x->shape, x->shape, oshape, ntd, tdims);
    st = fft_run(&p, sl_tensor_data(xc), sl_tensor_data(o), sl_tensor_numel(o), norm, op);
  }
  sl_tensor_release(xc);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

/* Complex x → real with logical sizes nsz[i] along complex dims tdims[i]. */
static sl_status irfft_tensor(sl_tensor **out, const sl_tensor *x, int ncd, int ntd, const int *tdims,
                              const int64_t *nsz, sl_fft_norm norm, const char *op) {
  int64_t rshape[SL_MAX_DIMS], cshape[SL_MAX_DIMS];
  SL_TRY(check_sizes(x, ntd, tdims, op));
  memcpy(rshape, x->shape, (size_t)ncd * sizeof *rshape);
  for (int i = 0; i < ntd; i++) {
    if (nsz[i] < 1)
      return SL_ERR(SL_ERR_ARG, "%s: output size must be >= 1, got %lld", op, (long long)nsz[i]);
    rshape[tdims[i]] = nsz[i];
  }
  memcpy(cshape, rshape, (size_t)ncd * sizeof *cshape);
  cshape[tdims[ntd - 1]] = nsz[ntd - 1] / 2 + 1;
  cshape[ncd] = 2;

  /* Scratch spectrum [cshape, 2]: the input's bins cropped or zero-padded to the needed count. */
  sl_tensor *scratch = NULL, *sv = NULL, *xv = NULL, *o = NULL;
  SL_TRY(sl_tensor_zeros(&scratch, SL_DTYPE_F32, ncd + 1, cshape));
  sl_status st = SL_OK;
  sv = sl_tensor_retain(scratch);
  xv = sl_tensor_retain((sl_tensor *)x);
  for (int i = 0; i < ntd && st == SL_OK; i++) {
    int d = tdims[i];
    int64_t len = x->shape[d] < cshape[d] ? x->shape[d] : cshape[d];
    sl_tensor *a = NULL, *b = NULL;
    st = sl_tensor_narrow(&a, sv, d, 0, len);
    if (st == SL_OK) st = sl_tensor_narrow(&b, xv, d, 0, len);
    sl_tensor_release(sv); sl_tensor_release(xv);
    sv = a; xv = b;
  }
  if (st == SL_OK) st = sl_tensor_copy(sv, xv);
  sl_tensor_release(sv); sl_tensor_release(xv);
  if (st == SL_OK) st = sl_tensor_empty(&o, SL_DTYPE_F32, ncd, rshape);
  if (st == SL_OK && sl_tensor_numel(o) > 0) {
    fft_problem p;
    build_problem(&p, K_C2R, ncd, rshape, cshape, rshape, ntd, tdims);
    st = fft_run(&p, sl_tensor_data(scratch), sl_tensor_data(o), sl_tensor_numel(o), norm, op);
  }
  sl_tensor_release(scratch);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

static sl_status c2c_tensor(sl_tensor **out, const sl_tensor *x, int ncd, int ntd, const int *tdims,
                            int inverse, sl_fft_norm norm, const char *op) {
  SL_TRY(check_sizes(x, ntd, tdims, op));
  sl_tensor *xc = NULL, *o = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, x, SL_DTYPE_F32));
  sl_status st = sl_tensor_empty(&o, SL_DTYPE_F32, x->ndim, x->shape);
  if (st == SL_OK && sl_tensor_numel(o) > 0) {
    fft_problem p;
    build_problem(&p, inverse ? K_C2C_BWD : K_C2C_FWD, ncd, x->shape, x->shape, x->shape, ntd, tdims);
    st = fft_run(&p, sl_tensor_data(xc), sl_tensor_data(o), sl_tensor_numel(o), norm, op);
  }
  sl_tensor_release(xc);
  if (st != SL_OK) { sl_tensor_release(o); return st; }
  *out = o;
  return SL_OK;
}

sl_status sl_fft_rfft(sl_tensor **out, const sl_tensor *x, int dim, sl_fft_norm norm) {
  int d = 0;
  if (x->ndim < 1) return SL_ERR(SL_ERR_SHAPE, "rfft: input must have at least 1 dim, got a scalar");
  SL_TRY(norm_dim(dim, x->ndim, "rfft", &d));
  return rfft_tensor(out, x, 1, &d, norm, "rfft");
}

sl_status sl_fft_irfft(sl_tensor **out, const sl_tensor *x, int dim, int64_t n, sl_fft_norm norm) {
  int ncd = 0, d = 0;
  SL_TRY(check_complex(x, 1, "irfft", &ncd));
  SL_TRY(norm_dim(dim, ncd, "irfft", &d));
  if (n <= 0) n = 2 * (x->shape[d] - 1);
  if (n < 1)
    return SL_ERR(SL_ERR_SHAPE, "irfft: cannot infer the output size from %lld input bin(s); pass n",
                  (long long)x->shape[d]);
  return irfft_tensor(out, x, ncd, 1, &d, &n, norm, "irfft");
}

sl_status sl_fft_fft(sl_tensor **out, const sl_tensor *x, int dim, int inverse, sl_fft_norm norm) {
  const char *op = inverse ? "ifft" : "fft";
  int ncd = 0, d = 0;
  SL_TRY(check_complex(x, 1, op, &ncd));
  SL_TRY(norm_dim(dim, ncd, op, &d));
  return c2c_tensor(out, x, ncd, 1, &d, inverse, norm, op);
}

sl_status sl_fft_rfft2(sl_tensor **out, const sl_tensor *x, sl_fft_norm norm) {
  char buf[128];
  if (x->ndim < 2)
    return SL_ERR(SL_ERR_SHAPE, "rfft2: input must have at least 2 dims [..., H, W], got shape %s",
                  sl_shape_str(buf, sizeof buf, x->ndim, x->shape));
  int tdims[2] = { x->ndim - 2, x->ndim - 1 };
  return rfft_tensor(out, x, 2, tdims, norm, "rfft2");
}

sl_status sl_fft_irfft2(sl_tensor **out, const sl_tensor *x, int64_t h, int64_t w, sl_fft_norm norm) {
  int ncd = 0;
  SL_TRY(check_complex(x, 2, "irfft2", &ncd));
  int tdims[2] = { ncd - 2, ncd - 1 };
  int64_t nsz[2] = { h > 0 ? h : x->shape[ncd - 2], w > 0 ? w : 2 * (x->shape[ncd - 1] - 1) };
  if (nsz[1] < 1)
    return SL_ERR(SL_ERR_SHAPE, "irfft2: cannot infer the output width from %lld input bin(s); pass the size",
                  (long long)x->shape[ncd - 1]);
  return irfft_tensor(out, x, ncd, 2, tdims, nsz, norm, "irfft2");
}

sl_status sl_fft_fft2(sl_tensor **out, const sl_tensor *x, int inverse, sl_fft_norm norm) {
  const char *op = inverse ? "ifft2" : "fft2";
  int ncd = 0;
  SL_TRY(check_complex(x, 2, op, &ncd));
  int tdims[2] = { ncd - 2, ncd - 1 };
  return c2c_tensor(out, x, ncd, 2, tdims, inverse, norm, op);
}

/* numpy's formula exactly: integer bin index times 1/(n*d). */
static sl_status freq_tensor(sl_tensor **out, int64_t n, double d, sl_dtype dt, int half, const char *op) {
  if (n < 1) return SL_ERR(SL_ERR_ARG, "%s: n must be >= 1, got %lld", op, (long long)n);
  if (d == 0 || !isfinite(d)) return SL_ERR(SL_ERR_ARG, "%s: sample spacing d must be finite and non-zero, got %g", op, d);
  if (dt != SL_DTYPE_F32 && dt != SL_DTYPE_F64)
    return SL_ERR(SL_ERR_DTYPE, "%s: dtype must be float32 or float64, got %s", op, sl_dtype_name(dt));
  int64_t len = half ? n / 2 + 1 : n, npos = (n - 1) / 2 + 1;
  sl_tensor *o = NULL;
  SL_TRY(sl_tensor_empty(&o, dt, 1, &len));
  double val = 1.0 / ((double)n * d);
  void *data = sl_tensor_data(o);
  for (int64_t i = 0; i < len; i++) {
    int64_t k = (half || i < npos) ? i : i - n;
    sl_store_f64(data, dt, i, (double)k * val);
  }
  *out = o;
  return SL_OK;
}

sl_status sl_fft_fftfreq(sl_tensor **out, int64_t n, double d, sl_dtype dt) {
  return freq_tensor(out, n, d, dt, 0, "fftfreq");
}

sl_status sl_fft_rfftfreq(sl_tensor **out, int64_t n, double d, sl_dtype dt) {
  return freq_tensor(out, n, d, dt, 1, "rfftfreq");
}

int sl_fft_plan_count(void) {
  pthread_mutex_lock(&g_plan_lock);
  int n = g_nplans;
  pthread_mutex_unlock(&g_plan_lock);
  return n;
}

void sl_fft_cleanup(void) {
  pthread_mutex_lock(&g_plan_lock);
  for (int i = 0; i < g_nplans; i++) fftwf_destroy_plan(g_plans[i].plan);
  free(g_plans);
  g_plans = NULL;
  g_nplans = g_cap = 0;
  fftwf_cleanup();
  pthread_mutex_unlock(&g_plan_lock);
}
