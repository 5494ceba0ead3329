"""dataset_check.py FILE — the CI file-compatibility check of generated datasets: runs the user's
guide section-3 snippet (seed/getting-started.md, "Understanding Feature Semantics") unchanged
except for the file path, then checks the layout of docs/dataset-format.md with h5py.  Prints
"FAIL: ..." per problem and "dataset_check: OK" at the end.  Run with /usr/bin/python3."""
import sys
import warnings

import h5py
import numpy as np

path = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


warnings.simplefilter("ignore")  # corrcoef of constant columns on tiny files

# ---- the guide's snippet (section 3), path adapted ------------------------------------------
with h5py.File(path, "r") as f:
    initial_features = f["features/initial"][:]      # [N, M, 42]
    arch_features = f["features/architecture"][:]    # [N, 21+]
    summary_features = f["features/summary"][:]      # [N, 420-520]
    temporal_features = f["features/temporal"][:]    # [N, M, T, D]

    # Feature metadata
    initial_names = f["features/initial"].attrs["feature_names"]
    summary_names = f["features/summary"].attrs["feature_names"]

spatial_gradient_idx = list(initial_names).index("ic_spatial_gradient_mean")
spatial_gradients = initial_features[:, :, spatial_gradient_idx].mean(axis=1)
high_gradient_ops = np.where(spatial_gradients > np.percentile(spatial_gradients, 90))[0]

noise_scale_idx = 0  # First parameter in architecture features
noise_scales = arch_features[:, noise_scale_idx]
entropy_idx = [i for i, name in enumerate(summary_names) if "entropy" in name][0]
summary_entropy = summary_features[:, entropy_idx]
correlation = np.corrcoef(noise_scales, summary_entropy)[0, 1]

spectral_peak_indices = [i for i, name in enumerate(summary_names)
                         if "spectral" in name and "peak" in name]
spectral_strength = summary_features[:, spectral_peak_indices].max(axis=1)
periodic_ops = np.where(spectral_strength > np.percentile(spectral_strength, 80))[0]

variance_trajectory = temporal_features[:, :, :, 0]
mean_variance_trajectory = variance_trajectory.mean(axis=1)
early_variance = mean_variance_trajectory[:, :50].mean(axis=1)
late_variance = mean_variance_trajectory[:, -50:].mean(axis=1)
variance_growth = (late_variance - early_variance) / (early_variance + 1e-8)

# ---- layout checks ----------------------------------------------------------------------------
with h5py.File(path, "r") as f:
    md = f["metadata"]
    a = md.attrs
    N = int(a["num_operators"])
    M = int(a["num_realizations"])
    T = int(a["num_timesteps"])
    G = int(a["grid_size"])
    check(a["format"] == "spinlock-operators", "format attr %r" % a["format"])
    check(isinstance(a["config"], str) and a["config"].startswith("{"), "config attr not JSON text")
    check(isinstance(a["config_yaml"], str), "config_yaml attr not str")
    check(int(a["complete"]) == 1, "complete attr %r" % a["complete"])
    check(int(a["rows_done"]) == N, "rows_done %r" % a["rows_done"])
    check(np.issubdtype(type(a["seed"]), np.integer), "seed attr type %r" % type(a["seed"]))
    P = f["parameters/params"].shape[1]
    check(f["parameters/params"].dtype == np.float32, "params dtype")
    check(f["parameters/params"].shape == (N, P), "params shape")
    p = f["parameters/params"][:]
    check(((p >= 0) & (p < 1)).all(), "params outside [0,1)")
    check(f["parameters/mapped"].dtype == np.float64, "mapped dtype")
    names = list(f["parameters/params"].attrs["names"])
    check(len(names) == P and all(isinstance(n, str) for n in names), "params names")
    check(f["inputs/fields"].shape == (N, 3, G, G), "fields shape %r" % (f["inputs/fields"].shape,))
    if "outputs/trajectories" in f:
        t = f["outputs/trajectories"]
        check(t.shape == (N, M, T, 3, G, G), "trajectories shape %r" % (t.shape,))
        check(np.array_equal(t[:, :, 0].astype(np.float32),
                             np.repeat(f["inputs/fields"][:][:, None], M, axis=1).astype(t.dtype).astype(np.float32)),
              "frame 0 is not the IC")
    for fam in ("initial", "architecture", "summary", "temporal"):
        d = f["features/" + fam]
        fn = d.attrs["feature_names"]
        check(d.dtype == np.float32, "%s dtype" % fam)
        check(d.shape[0] == N and len(fn) == d.shape[-1], "%s names vs shape" % fam)
        check(d.compression == "gzip" and d.shuffle, "%s not gzip+shuffle" % fam)
    check(initial_features.shape[:2] == (N, M), "initial shape %r" % (initial_features.shape,))
    check(temporal_features.shape[:3] == (N, M, T), "temporal shape %r" % (temporal_features.shape,))
    for s in ("ic_types", "evolution_policies", "noise_regimes"):
        v = md[s].asstr()[:]
        check(len(v) == N and all(isinstance(x, str) and x for x in v), "%s values %r" % (s, v))
    check(set(md["noise_regimes"].asstr()[:]) <= {"low", "medium", "high"}, "noise regimes")
    check(list(md["grid_sizes"][:]) == [G] * N, "grid_sizes")
    check(set(md["status"][:].tolist()) <= {1, 2}, "status %r" % md["status"][:])
    check(md["diverged_step"].shape == (N, M), "diverged_step shape")
    check(list(md["operator_index"][:]) == list(range(int(a["first_operator"]), int(a["first_operator"]) + N)),
          "operator_index")

if failures:
    for msg in failures:
        print("FAIL: " + msg)
    sys.exit(1)
print("dataset_check: OK (%d operators, correlation %.3f, %d high-gradient, %d periodic)"
      % (N, correlation if correlation == correlation else 0.0, len(high_gradient_ops), len(periodic_ops)))
