#!/usr/bin/python3
"""Makes spec/fixtures/cluster_ref.h5: reference values for category discovery
(engine/core/cluster.c) from numpy + SciPy.  Developer-only (CI reads the committed file):

    apt-get install -y python3-scipy python3-h5py
    /usr/bin/python3 tools/ref/cluster_ref.py

Contents: a small feature matrix X [N, D] with correlated column groups; its correlation
distance 1 - |r| (numpy corrcoef); for linkage method m in {ward, average}: Z_<m>
(scipy.cluster.hierarchy.linkage on the condensed distances, i.e. Lance-Williams Ward on
1 - |r| exactly as the reference does) and, for k = 2..KMAX, the maxclust labels
labels_<m> [KMAX-1, D] (scipy's numbering) and the mean silhouette sil_<m> [KMAX-1]
(sklearn semantics written out in numpy: singleton clusters score 0).
"""
import h5py
import numpy as np
import scipy
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

KMAX = 6


def silhouette(dist, labels):
    n = len(labels)
    s = np.zeros(n)
    for i in range(n):
        own = labels == labels[i]
        if own.sum() < 2:
            continue
        a = dist[i, own & (np.arange(n) != i)].mean()
        b = min(dist[i, labels == c].mean() for c in np.unique(labels) if c != labels[i])
        s[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return s.mean()


def main():
    rng = np.random.default_rng(20261128)
    n, groups = 60, [4, 3, 3, 2]
    cols = []
    for g in groups:
        base = rng.standard_normal(n)
        for _ in range(g):
            cols.append(base * rng.uniform(0.5, 2.0) + rng.standard_normal(n) * rng.uniform(0.3, 1.2))
    cols.append(rng.standard_normal(n))          # an independent column
    X = np.stack(cols, axis=1)
    d = X.shape[1]
    r = np.corrcoef(X, rowvar=False)
    dist = 1.0 - np.abs(r)
    np.fill_diagonal(dist, 0.0)
    dist = (dist + dist.T) / 2
    with h5py.File("spec/fixtures/cluster_ref.h5", "w") as f:
        f.attrs["magic"] = "spinlock-fixture"
        f.attrs["version"] = 1
        f.attrs["generator"] = "tools/ref/cluster_ref.py (numpy %s, scipy %s)" % (np.__version__, scipy.__version__)
        f["X"] = X
        f["dist"] = dist
        f.attrs["kmax"] = KMAX
        for m in ("ward", "average"):
            Z = linkage(squareform(dist, checks=False), method=m)
            f["Z_" + m] = Z
            labs, sils = [], []
            for k in range(2, KMAX + 1):
                lab = fcluster(Z, k, criterion="maxclust")
                labs.append(lab)
                sils.append(silhouette(dist, lab))
            f["labels_" + m] = np.array(labs, dtype=np.int64)
            f["sil_" + m] = np.array(sils)
    print("wrote spec/fixtures/cluster_ref.h5: X", X.shape)


if __name__ == "__main__":
    main()
