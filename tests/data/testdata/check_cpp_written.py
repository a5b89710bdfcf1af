#!/usr/bin/python3
"""Checks, with numpy, the files NpzTest's NumpyReadsWhatWeWrite writes:
  check_cpp_written.py DIR   (exit 0 when numpy reads exactly the expected arrays)"""
import sys
import numpy as np

d = sys.argv[1]
a = np.arange(15, dtype=np.float32).reshape(3, 5) * np.float32(0.5) - np.float32(2)
step = np.array([0, -10**12, -2 * 10**12, 7], dtype=np.int64)
mask = np.array([False, True])
for name in ["stored.npz", "deflated.npz"]:
    z = np.load(f"{d}/{name}")
    assert z.files == ["h1.W", "step", "mask", "lr", "empty"], z.files
    assert z["h1.W"].dtype == np.float32 and np.array_equal(z["h1.W"], a)
    assert z["step"].dtype == np.int64 and np.array_equal(z["step"], step)
    assert z["mask"].dtype == np.bool_ and np.array_equal(z["mask"], mask)
    assert z["lr"].dtype == np.float64 and z["lr"].shape == () and z["lr"] == 3.25
    assert z["empty"].dtype == np.int32 and z["empty"].shape == (0, 2)
x = np.load(f"{d}/a.npy")
assert x.dtype == np.float32 and np.array_equal(x, a)
assert np.load(f"{d}/none.npz").files == []
print("numpy reads the C++-written files exactly")
