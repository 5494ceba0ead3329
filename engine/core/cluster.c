/* cluster.c — category discovery kernels: column correlation, agglomerative linkage, maxclust
 * cuts and silhouette scores (sl_cluster.h; spec/vqvae.md §2).
 *
 * Design notes
 *  - Correlation: columns are centred in double, then one dgemm gives the cross products.  The
 *    number of columns D is a few hundred, N up to ~10^5 rows, so the GEMM dominates and double
 *    keeps |r| accurate near the 0.99 de-duplication threshold.
 *  - Linkage: the "generic" agglomerative algorithm over a full distance matrix with a cached
 *    nearest neighbour per active cluster.  After a merge only the rows whose neighbour was one
 *    of the merged clusters are rescanned, so typical cost is O(n²) (worst case O(n³)); n is the
 *    number of feature columns, so this is milliseconds.  For the reducible methods used here
 *    (Ward, average, complete, single) it merges the same pairs as SciPy's nearest-neighbour
 *    chain and emits them in increasing height, which is the order SciPy's linkage returns, with
 *    the same cluster numbering (n + row).  Ties go to the lowest index pair, deterministically.
 *  - Ward uses SciPy's Lance–Williams form on the distances themselves:
 *      d(k, i∪j) = sqrt(((n_k+n_i) d_ki² + (n_k+n_j) d_kj² − n_k d_ij²) / (n_k+n_i+n_j)),
 *    which is what the reference applies to the non-Euclidean 1 − |r| (spec §2.2, §9.10).
 *  - Flat labels are numbered by the smallest point index in each cluster (not SciPy's
 *    tree-walk order) so that they are canonical; the partition is SciPy's. */
#include "sl_cluster.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static const char *const link_names[SL_LINK_COUNT] = {"ward", "average", "complete", "single"};

const char *sl_linkage_name(sl_linkage m) { return (unsigned)m < SL_LINK_COUNT ? link_names[m] : "?"; }

int sl_linkage_from_name(const char *name, sl_linkage *out)
{
  for (int i = 0; i < SL_LINK_COUNT; i++)
    if (!strcmp(name, link_names[i])) { *out = (sl_linkage)i; return 0; }
  return -1;
}

/* ---- correlation ---- */

sl_status sl_cluster_corr(sl_tensor **out, const sl_tensor *X)
{
  char b[64];
  if (X->ndim != 2)
    return SL_ERR(SL_ERR_SHAPE, "corr: expected a 2-d [rows, columns] matrix, got shape %s",
                  sl_shape_str(b, sizeof b, X->ndim, X->shape));
  if (!sl_dtype_is_float(X->dtype))
    return SL_ERR(SL_ERR_DTYPE, "corr: expected a float32 or float64 matrix, got %s", sl_dtype_name(X->dtype));
  const int64_t N = X->shape[0], D = X->shape[1];
  if (N < 1) return SL_ERR(SL_ERR_SHAPE, "corr: the matrix has no rows");
  sl_tensor *xc = NULL, *r = NULL;
  SL_TRY(sl_tensor_contiguous_as(&xc, X, SL_DTYPE_F64));
  sl_status st = sl_tensor_clone(&r, xc);   /* a private, writable copy to centre in place */
  sl_tensor_release(xc);
  if (st != SL_OK) return st;
  const int64_t shp[2] = {D, D};
  sl_tensor *o = NULL;
  double *sd = sl_alloc((size_t)(D > 0 ? D : 1) * sizeof(double));
  if (!sd || (st = sl_tensor_empty(&o, SL_DTYPE_F64, 2, shp)) != SL_OK) {
    sl_free(sd, (size_t)(D > 0 ? D : 1) * sizeof(double));
    sl_tensor_release(r);
    return st != SL_OK ? st : SL_ERR(SL_ERR_OOM, "corr: out of memory");
  }
  double *x = sl_tensor_data(r), *c = sl_tensor_data(o);
  #pragma omp parallel for schedule(static) if (N * D > 65536)
  for (int64_t j = 0; j < D; j++) {
    double m = 0;
    for (int64_t i = 0; i < N; i++) m += x[i * D + j];
    m /= (double)N;
    double v = 0;
    for (int64_t i = 0; i < N; i++) { x[i * D + j] -= m; v += x[i * D + j] * x[i * D + j]; }
    sd[j] = sqrt(v);
  }
  if (D > 0)
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)D, (int)D, (int)N, 1.0, x, (int)D, x,
                (int)D, 0.0, c, (int)D);
  for (int64_t i = 0; i < D; i++)
    for (int64_t j = 0; j < D; j++) {
      double v;
      if (isnan(sd[i]) || isnan(sd[j])) v = NAN;
      else if (i == j) v = 1;
      else if (sd[i] <= 0 || sd[j] <= 0) v = 0;   /* constant column: no linear relation */
      else {
        v = c[i * D + j] / (sd[i] * sd[j]);
        if (v > 1) v = 1;
        if (v < -1) v = -1;
      }
      c[i * D + j] = v;
    }
  /* Symmetrise exactly (the GEMM's two triangles can differ in the last bit). */
  for (int64_t i = 0; i < D; i++)
    for (int64_t j = i + 1; j < D; j++) c[j * D + i] = c[i * D + j];
  sl_free(sd, (size_t)(D > 0 ? D : 1) * sizeof(double));
  sl_tensor_release(r);
  *out = o;
  return SL_OK;
}

sl_status sl_cluster_corr_distance(sl_tensor **out, const sl_tensor *X)
{
  SL_TRY(sl_cluster_corr(out, X));
  double *c = sl_tensor_data(*out);
  const int64_t D = (*out)->shape[0];
  for (int64_t i = 0; i < D; i++)
    for (int64_t j = 0; j < D; j++) c[i * D + j] = i == j ? 0.0 : 1.0 - fabs(c[i * D + j]);
  return SL_OK;
}

/* ---- linkage ---- */

static sl_status check_square(const sl_tensor *d, const char *op)
{
  char b[64];
  if (d->ndim != 2 || d->shape[0] != d->shape[1])
    return SL_ERR(SL_ERR_SHAPE, "%s: expected a square [n, n] distance matrix, got shape %s", op,
                  sl_shape_str(b, sizeof b, d->ndim, d->shape));
  if (!sl_dtype_is_float(d->dtype))
    return SL_ERR(SL_ERR_DTYPE, "%s: expected a float distance matrix, got %s", op, sl_dtype_name(d->dtype));
  return SL_OK;
}

static double lance_williams(sl_linkage m, double dki, double dkj, double dij, double nk, double ni, double nj)
{
  switch (m) {
    case SL_LINK_WARD: {
      const double t = ((nk + ni) * dki * dki + (nk + nj) * dkj * dkj - nk * dij * dij) / (nk + ni + nj);
      return sqrt(t > 0 ? t : 0);
    }
    case SL_LINK_AVERAGE: return (ni * dki + nj * dkj) / (ni + nj);
    case SL_LINK_COMPLETE: return dki > dkj ? dki : dkj;
    default: return dki < dkj ? dki : dkj;
  }
}

sl_status sl_cluster_linkage(sl_tensor **Z, const sl_tensor *dist, sl_linkage method)
{
  const char *op = "linkage";
  SL_TRY(check_square(dist, op));
  if ((unsigned)method >= SL_LINK_COUNT) return SL_ERR(SL_ERR_ARG, "%s: unknown method %d", op, (int)method);
  const int64_t n = dist->shape[0];
  if (n < 2) return SL_ERR(SL_ERR_SHAPE, "%s: need at least 2 points to cluster, got %lld", op, (long long)n);
  sl_tensor *dc = NULL, *w = NULL, *zo = NULL;
  SL_TRY(sl_tensor_contiguous_as(&dc, dist, SL_DTYPE_F64));
  sl_status st = sl_tensor_clone(&w, dc);
  sl_tensor_release(dc);
  if (st != SL_OK) return st;
  double *D = sl_tensor_data(w);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      const double v = D[i * n + j];
      if (!isfinite(v) || v < 0) {
        sl_tensor_release(w);
        return SL_ERR(SL_ERR_ARG, "%s: distances must be finite and >= 0, got %g at [%lld,%lld]", op, v,
                      (long long)i + 1, (long long)j + 1);
      }
      if (i < j && D[j * n + i] != v) {
        const double u = D[j * n + i];
        sl_tensor_release(w);
        return SL_ERR(SL_ERR_ARG, "%s: the distance matrix is not symmetric at [%lld,%lld] (%g vs %g)", op,
                      (long long)i + 1, (long long)j + 1, v, u);
      }
    }
  const int64_t zs[2] = {n - 1, 4};
  if ((st = sl_tensor_empty(&zo, SL_DTYPE_F64, 2, zs)) != SL_OK) { sl_tensor_release(w); return st; }
  double *z = sl_tensor_data(zo);
  int64_t *nn = sl_alloc((size_t)n * sizeof(int64_t)), *id = sl_alloc((size_t)n * sizeof(int64_t));
  double *nnd = sl_alloc((size_t)n * sizeof(double)), *sz = sl_alloc((size_t)n * sizeof(double));
  char *active = sl_alloc((size_t)n);
  if (!nn || !id || !nnd || !sz || !active) { st = SL_ERR(SL_ERR_OOM, "%s: out of memory", op); goto done; }
  for (int64_t i = 0; i < n; i++) { active[i] = 1; id[i] = i; sz[i] = 1; }
  /* Nearest active neighbour of row i (lowest index on ties). */
  #define RESCAN(i) do { \
    int64_t bj_ = -1; double bd_ = INFINITY; \
    for (int64_t j_ = 0; j_ < n; j_++) \
      if (j_ != (i) && active[j_] && D[(i) * n + j_] < bd_) { bd_ = D[(i) * n + j_]; bj_ = j_; } \
    nn[i] = bj_; nnd[i] = bd_; } while (0)
  for (int64_t i = 0; i < n; i++) RESCAN(i);
  for (int64_t step = 0; step < n - 1; step++) {
    int64_t a = -1;
    for (int64_t i = 0; i < n; i++)
      if (active[i] && (a < 0 || nnd[i] < nnd[a])) a = i;
    int64_t b = nn[a];
    const double h = nnd[a];
    if (b < a) { const int64_t t = a; a = b; b = t; }
    const int64_t ia = id[a], ib = id[b];
    z[step * 4 + 0] = (double)(ia < ib ? ia : ib);
    z[step * 4 + 1] = (double)(ia < ib ? ib : ia);
    z[step * 4 + 2] = h;
    z[step * 4 + 3] = sz[a] + sz[b];
    /* The merged cluster lives in slot a; slot b retires. */
    for (int64_t k = 0; k < n; k++) {
      if (!active[k] || k == a || k == b) continue;
      const double v = lance_williams(method, D[k * n + a], D[k * n + b], h, sz[k], sz[a], sz[b]);
      D[k * n + a] = D[a * n + k] = v;
    }
    active[b] = 0;
    sz[a] += sz[b];
    id[a] = n + step;
    for (int64_t k = 0; k < n; k++) {
      if (!active[k] || k == a) continue;
      if (nn[k] == a || nn[k] == b) RESCAN(k);
      else if (D[k * n + a] < nnd[k] || (D[k * n + a] == nnd[k] && a < nn[k])) { nn[k] = a; nnd[k] = D[k * n + a]; }
    }
    RESCAN(a);
  }
  #undef RESCAN
  st = SL_OK;
done:
  sl_free(nn, (size_t)n * sizeof(int64_t)); sl_free(id, (size_t)n * sizeof(int64_t));
  sl_free(nnd, (size_t)n * sizeof(double)); sl_free(sz, (size_t)n * sizeof(double));
  sl_free(active, (size_t)n);
  sl_tensor_release(w);
  if (st != SL_OK) { sl_tensor_release(zo); return st; }
  *Z = zo;
  return SL_OK;
}

/* ---- flat cut ---- */

static int64_t uf_find(int64_t *p, int64_t x)
{
  while (p[x] != x) { p[x] = p[p[x]]; x = p[x]; }
  return x;
}

sl_status sl_cluster_cut(sl_tensor **labels, const sl_tensor *Z, int64_t k)
{
  const char *op = "cut";
  char b[64];
  if (Z->ndim != 2 || Z->shape[1] != 4)
    return SL_ERR(SL_ERR_SHAPE, "%s: expected a linkage matrix [n-1, 4], got shape %s", op,
                  sl_shape_str(b, sizeof b, Z->ndim, Z->shape));
  const int64_t n = Z->shape[0] + 1;
  if (k < 1) return SL_ERR(SL_ERR_ARG, "%s: number of clusters must be >= 1, got %lld", op, (long long)k);
  sl_tensor *zc = NULL, *lo = NULL;
  SL_TRY(sl_tensor_contiguous_as(&zc, Z, SL_DTYPE_F64));
  const double *z = sl_tensor_data(zc);
  sl_status st = sl_tensor_empty(&lo, SL_DTYPE_I64, 1, &n);
  int64_t *par = sl_alloc((size_t)(2 * n) * sizeof(int64_t)), *map = sl_alloc((size_t)(2 * n) * sizeof(int64_t));
  if (st != SL_OK || !par || !map) {
    if (st == SL_OK) st = SL_ERR(SL_ERR_OOM, "%s: out of memory", op);
    goto done;
  }
  for (int64_t i = 0; i < 2 * n; i++) { par[i] = i; map[i] = -1; }
  const int64_t m = n - k;   /* merges needed for k clusters */
  const double hcut = m >= 1 ? z[(m - 1) * 4 + 2] : -INFINITY;
  for (int64_t r = 0; r < n - 1; r++) {
    if (r >= m && !(z[r * 4 + 2] <= hcut)) break;
    const int64_t x = (int64_t)z[r * 4 + 0], y = (int64_t)z[r * 4 + 1];
    if (x < 0 || y < 0 || x >= n + r || y >= n + r) {
      st = SL_ERR(SL_ERR_ARG, "%s: row %lld of the linkage matrix names clusters %lld and %lld, outside [0, %lld)",
                  op, (long long)r + 1, (long long)x, (long long)y, (long long)(n + r));
      goto done;
    }
    const int64_t rx = uf_find(par, x), ry = uf_find(par, y);
    par[rx] = n + r;
    par[ry] = n + r;
  }
  int64_t *lp = sl_tensor_data(lo), next = 0;
  for (int64_t i = 0; i < n; i++) {
    const int64_t r = uf_find(par, i);
    if (map[r] < 0) map[r] = next++;
    lp[i] = map[r];
  }
  st = SL_OK;
done:
  sl_free(par, (size_t)(2 * n) * sizeof(int64_t)); sl_free(map, (size_t)(2 * n) * sizeof(int64_t));
  sl_tensor_release(zc);
  if (st != SL_OK) { sl_tensor_release(lo); return st; }
  *labels = lo;
  return SL_OK;
}

/* ---- silhouette ---- */

sl_status sl_cluster_silhouette(double *score, sl_tensor **per_point, const sl_tensor *dist,
                                const sl_tensor *labels)
{
  const char *op = "silhouette";
  char b[64];
  SL_TRY(check_square(dist, op));
  const int64_t n = dist->shape[0];
  if (labels->ndim != 1 || labels->shape[0] != n)
    return SL_ERR(SL_ERR_SHAPE, "%s: labels must have shape [%lld] (one per point), got %s", op,
                  (long long)n, sl_shape_str(b, sizeof b, labels->ndim, labels->shape));
  if (sl_dtype_is_float(labels->dtype))
    return SL_ERR(SL_ERR_DTYPE, "%s: labels must be an integer tensor, got %s", op, sl_dtype_name(labels->dtype));
  sl_tensor *dc = NULL, *lc = NULL, *po = NULL;
  SL_TRY(sl_tensor_contiguous_as(&dc, dist, SL_DTYPE_F64));
  sl_status st = sl_tensor_contiguous_as(&lc, labels, SL_DTYPE_I64);
  if (st != SL_OK) { sl_tensor_release(dc); return st; }
  const double *D = sl_tensor_data(dc);
  const int64_t *l = sl_tensor_data(lc);
  int64_t nc = 0;
  for (int64_t i = 0; i < n; i++) {
    if (l[i] < 0) { st = SL_ERR(SL_ERR_ARG, "%s: label %lld of point %lld is negative", op, (long long)l[i], (long long)i + 1); goto done; }
    if (l[i] + 1 > nc) nc = l[i] + 1;
  }
  int64_t *cnt = sl_alloc_zeroed((size_t)(nc > 0 ? nc : 1) * sizeof(int64_t));
  if (!cnt) { st = SL_ERR(SL_ERR_OOM, "%s: out of memory", op); goto done; }
  int64_t distinct = 0;
  for (int64_t i = 0; i < n; i++) if (cnt[l[i]]++ == 0) distinct++;
  if (distinct < 2 || distinct > n - 1) {
    sl_free(cnt, (size_t)(nc > 0 ? nc : 1) * sizeof(int64_t));
    st = SL_ERR(SL_ERR_ARG, "%s: needs between 2 and n-1 = %lld clusters, got %lld", op, (long long)n - 1, (long long)distinct);
    goto done;
  }
  if ((st = sl_tensor_empty(&po, SL_DTYPE_F64, 1, &n)) != SL_OK) { sl_free(cnt, (size_t)nc * sizeof(int64_t)); goto done; }
  double *s = sl_tensor_data(po);
  #pragma omp parallel
  {
    double *sum = sl_alloc((size_t)nc * sizeof(double));
    #pragma omp for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      if (!sum) { s[i] = NAN; continue; }
      memset(sum, 0, (size_t)nc * sizeof(double));
      for (int64_t j = 0; j < n; j++) if (j != i) sum[l[j]] += D[i * n + j];
      if (cnt[l[i]] < 2) { s[i] = 0; continue; }
      const double a = sum[l[i]] / (double)(cnt[l[i]] - 1);
      double bmin = INFINITY;
      for (int64_t c = 0; c < nc; c++)
        if (c != l[i] && cnt[c] > 0 && sum[c] / (double)cnt[c] < bmin) bmin = sum[c] / (double)cnt[c];
      const double mx = a > bmin ? a : bmin;
      s[i] = mx > 0 ? (bmin - a) / mx : 0;
    }
    sl_free(sum, (size_t)nc * sizeof(double));
  }
  double tot = 0;
  for (int64_t i = 0; i < n; i++) tot += s[i];
  sl_free(cnt, (size_t)nc * sizeof(int64_t));
  if (isnan(tot)) { st = SL_ERR(SL_ERR_OOM, "%s: out of memory", op); goto done; }
  *score = tot / (double)n;
  st = SL_OK;
done:
  sl_tensor_release(dc); sl_tensor_release(lc);
  if (st != SL_OK) { sl_tensor_release(po); return st; }
  if (per_point) *per_point = po; else sl_tensor_release(po);
  return SL_OK;
}
