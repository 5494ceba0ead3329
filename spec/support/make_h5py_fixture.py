"""Developer-only: writes spec/fixtures/h5py_written.h5, a small file made by h5py (the other
direction of the compatibility check: what h5py writes, spinlock must read).
Run: /usr/bin/python3 spec/support/make_h5py_fixture.py"""
import os

import h5py
import numpy as np

path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "h5py_written.h5")
with h5py.File(path, "w") as f:
    f.attrs["title"] = "made by h5py"                      # vlen str scalar
    f.attrs["count"] = np.int16(-7)
    f.attrs["ratio"] = np.float32(0.5)
    f.attrs["fixed"] = np.bytes_("abc")                    # fixed-length string
    f.attrs["fixed_list"] = np.array([b"x", b"yz"])        # fixed-length string array
    f.attrs["flag"] = True                                 # enum (bool): read as 0/1
    g = f.create_group("data")
    g.create_dataset("i16", data=np.array([[-3, 4], [5, -32768]], dtype=np.int16))
    g.create_dataset("u16", data=np.array([65535, 1], dtype=np.uint16))
    g.create_dataset("f16", data=np.array([1 / 3, -2.5, 65504], dtype=np.float16))
    g.create_dataset("gz", data=np.arange(12, dtype=np.float64).reshape(3, 4),
                     chunks=(1, 4), compression="gzip", compression_opts=6, shuffle=True)
    g.create_dataset("names", data=["α", "beta"], dtype=h5py.string_dtype())
    g.create_dataset("fixed_names", data=np.array([b"ab", b"c"]))
    g.create_dataset("scalar", data=3.25)
    g.create_dataset("mask", data=np.array([True, False, True]))      # enum (bool)
    g["soft"] = h5py.SoftLink("/data/gz")
    g["dangling"] = h5py.SoftLink("/nowhere")
