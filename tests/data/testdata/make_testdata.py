#!/usr/bin/python3
"""Writes the NumPy reference files the data tests read (run with Debian's
python3-numpy: /usr/bin/python3 tests/data/testdata/make_testdata.py).
The outputs are committed, so the tests need no Python."""
import os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)

f32 = np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.5) - np.float32(1.0)
np.save("f32_2x3.npy", f32)
np.save("f64_5.npy", np.array([1.5, -2.25, 3e300, 0.0, -0.0], dtype=np.float64))
np.save("i32_2x2x2.npy", np.arange(8, dtype=np.int32).reshape(2, 2, 2) - 3)
np.save("i64_scalar.npy", np.array(-1234567890123, dtype=np.int64))
np.save("bool_3x2.npy", np.array([[True, False], [False, True], [True, True]]))
np.save("f32_0x4.npy", np.zeros((0, 4), dtype=np.float32))
# Rejected inputs.
np.save("fortran.npy", np.asfortranarray(f32))
np.save("bigendian.npy", f32.astype(">f4"))
np.save("object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
np.save("uint8.npy", np.arange(4, dtype=np.uint8))
# Archives: stored and deflated.
x = (np.arange(10, dtype=np.float32) / 4).reshape(5, 2)
y = np.array([0, 1, 2, 1, 0], dtype=np.int64)
np.savez("xy.npz", x=x, y=y)
np.savez_compressed("xy_compressed.npz", x=x, y=y)
np.savez("mismatch.npz", x=x, y=np.arange(4, dtype=np.int64))
