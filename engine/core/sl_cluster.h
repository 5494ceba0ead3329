/* sl_cluster.h — feature-category discovery: column correlations, agglomerative clustering
 * (SciPy-compatible linkage matrices), flat cuts into at most k clusters and silhouette scores.
 * spec/vqvae.md §2; lua/spinlock/categories.lua drives these.  All outputs are float64 or
 * int64 and deterministic (ties are broken by the lower index). */
#ifndef SL_CLUSTER_H
#define SL_CLUSTER_H

#include "sl_tensor.h"

typedef enum {
  SL_LINK_WARD = 0,     /* Lance–Williams Ward update on the given distances (SciPy 'ward') */
  SL_LINK_AVERAGE,      /* UPGMA */
  SL_LINK_COMPLETE,
  SL_LINK_SINGLE,
  SL_LINK_COUNT
} sl_linkage;

const char *sl_linkage_name(sl_linkage m);
int sl_linkage_from_name(const char *name, sl_linkage *out);   /* 0 = ok */

/* Pearson correlation between the columns of X [N, D] (any float dtype/strides): float64 [D, D].
 * Population moments in double; a constant column correlates 0 with every other column and 1
 * with itself; a column holding NaN gives NaN entries.  Uses one dgemm of the centred data. */
sl_status sl_cluster_corr(sl_tensor **out, const sl_tensor *X);

/* d_ij = 1 − |r_ij| over the columns of X, diagonal exactly 0: float64 [D, D]. */
sl_status sl_cluster_corr_distance(sl_tensor **out, const sl_tensor *X);

/* Agglomerative clustering of n points from a symmetric [n, n] distance matrix.  Z: float64
 * [n−1, 4] in SciPy's format: row i merges clusters Z[i,0] < Z[i,1] (ids < n are points, id n+j
 * is the cluster made at row j) at height Z[i,2], giving Z[i,3] points.  Rows come in merge
 * order; at each step the closest pair merges (ties: lowest first index, then lowest second). */
sl_status sl_cluster_linkage(sl_tensor **Z, const sl_tensor *dist, sl_linkage method);

/* Flat clusters with at most k members' groups ("maxclust"): applies every merge whose height is
 * at most that of merge n−k (so equal heights may give fewer than k clusters).  labels: int64
 * [n], 0-based, numbered in order of each cluster's smallest point index. */
sl_status sl_cluster_cut(sl_tensor **labels, const sl_tensor *Z, int64_t k);

/* Mean silhouette coefficient of `labels` (int [n], any non-negative values) under the
 * precomputed distance matrix (sklearn semantics: points in singleton clusters score 0).
 * per_point (may be NULL): float64 [n].  Needs 2 ≤ #clusters ≤ n − 1. */
sl_status sl_cluster_silhouette(double *score, sl_tensor **per_point, const sl_tensor *dist,
                                const sl_tensor *labels);

#endif
