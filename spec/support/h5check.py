"""h5check.py FILE — reads a file written by spec/hdf5_spec.lua ("h5py compatibility") with h5py
and checks what the user's guide and DESIGN.md rely on.  Prints one "FAIL: ..." line per problem
and "h5check: OK" when everything holds.  Run with /usr/bin/python3 (the one with h5py)."""
import sys

import h5py
import numpy as np

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


with h5py.File(sys.argv[1], "r") as f:
    # features/initial [5, 7, 42] float32, chunks (1, 7, 42), gzip 4 + shuffle, x = flat index / 2
    d = f["features/initial"]
    check(d.shape == (5, 7, 42), "initial shape %r" % (d.shape,))
    check(d.dtype == np.float32, "initial dtype %r" % d.dtype)
    check(d.chunks == (1, 7, 42), "initial chunks %r" % (d.chunks,))
    check(d.compression == "gzip", "initial compression %r" % d.compression)
    check(d.compression_opts == 4, "initial gzip level %r" % d.compression_opts)
    check(d.shuffle, "initial shuffle off")
    check(d.maxshape == (None, 7, 42), "initial maxshape %r" % (d.maxshape,))
    x = d[:]
    check(np.array_equal(x, (np.arange(5 * 7 * 42, dtype=np.float32) / 2).reshape(5, 7, 42)), "initial values")

    # the guide's snippet
    names = f["features/initial"].attrs["feature_names"]
    check(len(names) == 42, "feature_names length %d" % len(names))
    idx = list(names).index("ic_spatial_gradient_mean")
    check(idx == 3, "feature_names index %d" % idx)
    check(all(isinstance(n, str) for n in names), "feature_names not str")
    check(names[41] == "temp_°C", "feature_names non-ASCII %r" % names[41])

    # float16 storage
    t = f["outputs/trajectories"]
    check(t.dtype == np.float16, "trajectories dtype %r" % t.dtype)
    check(t.shape == (2, 3), "trajectories shape %r" % (t.shape,))
    want = np.array([[1 / 3, 0.1, -2.5], [65504, 2.0 ** -24, 0]], dtype=np.float16)
    check(np.array_equal(t[:], want), "trajectories values %r" % t[:])

    # strings dataset
    s = f["metadata/ic_types"]
    vals = list(s[:])
    check(s.shape == (3,), "ic_types shape %r" % (s.shape,))
    check(h5py.check_string_dtype(s.dtype) is not None, "ic_types not a string dtype")
    got = s.asstr()[:].tolist()
    check(got == ["gaussian_random_field", "multiscale_grf", "ëxotic"], "ic_types values %r" % got)
    check(isinstance(s.asstr()[0], str), "ic_types element not str")
    check(len(vals) == 3, "ic_types raw length")

    # other dtypes
    for name, dt in [("float64", np.float64), ("int32", np.int32), ("int64", np.int64), ("uint8", np.uint8)]:
        dd = f["dtypes/" + name]
        check(dd.dtype == dt, "%s dtype %r" % (name, dd.dtype))
        check(np.array_equal(dd[:], np.array([1, 2, 250], dtype=dt)), "%s values %r" % (name, dd[:]))

    # attributes of each kind
    a = f.attrs
    check(isinstance(a["version"], str) and a["version"] == "0.1.0", "version attr %r" % a["version"])
    check(a["seed"] == 42 and np.issubdtype(type(a["seed"]), np.integer), "seed attr %r" % a["seed"])
    check(a["dt"] == 0.25 and np.issubdtype(type(a["dt"]), np.floating), "dt attr %r" % a["dt"])
    check(list(a["grid"]) == [64, 64], "grid attr %r" % a["grid"])
    check(np.allclose(a["weights"], [0.5, 1.5]), "weights attr %r" % a["weights"])
    check(list(a["tags"]) == ["a", "b"], "tags attr %r" % a["tags"])
    check(f["metadata"].attrs["config"] == "x: 1\ny: [2, 3]\n", "config attr")

if failures:
    for msg in failures:
        print("FAIL: " + msg)
    sys.exit(1)
print("h5check: OK")
