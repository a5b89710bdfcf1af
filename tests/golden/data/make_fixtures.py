#!/usr/bin/env python3
"""Writes the data files of the golden data-error tests into a directory.

    make_fixtures.py OUT_DIR

Plain Python (struct, gzip, zipfile): no NumPy. Every file is small and
made the same way each time, so the byte and line numbers in the expected
messages are stable. Good files first (the bad ones are each one mistake
away from a good one):

  images.idx / labels.idx    12 images of 4x4 and their labels (0..9), IDX
  images.idx.gz / labels.idx.gz  the same, gzipped
  iris.csv                   sklearn's layout: "6,4,a,b,c" then 6 rows
  table.csv                  a header "f0,f1,f2,f3,label" then 6 rows
  x.npy / y.npy              f32[6, 4] and i64[6]
  data.npz                   x and label as above
"""
import gzip
import io
import os
import struct
import sys
import zipfile

ROWS, COLS, COUNT = 4, 4, 12


def idx_images(count=COUNT, magic=0x00000803, records=None):
    records = count if records is None else records
    body = bytes((i * 7 + p * 13) % 256 for i in range(records) for p in range(ROWS * COLS))
    return struct.pack(">IIII", magic, count, ROWS, COLS) + body


def idx_labels(labels, magic=0x00000801, count=None):
    return struct.pack(">II", magic, len(labels) if count is None else count) + bytes(labels)


LABELS = [i % 10 for i in range(COUNT)]


def gz(data):
    # mtime=0: the same bytes on every run.
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as f:
        f.write(data)
    return out.getvalue()


def npy(descr, shape, payload, header_override=None):
    header = header_override
    if header is None:
        header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (
            descr, "(%s)" % "".join("%d," % d for d in shape) if len(shape) == 1 else str(tuple(shape)))
    header = header.encode("latin1")
    pad = 64 - (10 + len(header) + 1) % 64
    header += b" " * (pad % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def i64(values):
    return struct.pack("<%dq" % len(values), *values)


X = [float(r) + c / 10.0 for r in range(6) for c in range(4)]
Y = [0, 1, 2, 0, 1, 2]


def npz(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
    return out.getvalue()


def csv_rows(rows):
    return "".join(",".join(str(c) for c in r) + "\n" for r in rows)


IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2, 0], [4.9, 3.0, 1.4, 0.2, 0], [7.0, 3.2, 4.7, 1.4, 1],
             [6.4, 3.2, 4.5, 1.5, 1], [6.3, 3.3, 6.0, 2.5, 2], [5.8, 2.7, 5.1, 1.9, 2]]


def fixtures():
    files = {}
    good_images, good_labels = idx_images(), idx_labels(LABELS)
    files["images.idx"] = good_images
    files["labels.idx"] = good_labels
    files["images.idx.gz"] = gz(good_images)
    files["labels.idx.gz"] = gz(good_labels)
    # IDX mistakes.
    files["bad_magic-images.idx"] = idx_images(magic=0x12345678)
    files["swapped-images.idx"] = good_labels  # a label file where images belong
    files["truncated-images.idx"] = good_images[:len(good_images) - 10]
    files["short_header-images.idx"] = good_images[:10]
    files["trailing-images.idx"] = good_images + b"\0\0\0"
    files["out_of_range-labels.idx"] = idx_labels(LABELS[:5] + [12] + LABELS[6:])
    files["fewer-labels.idx"] = idx_labels(LABELS[:11])
    files["empty.idx"] = b""
    zipped = gz(good_images)
    files["truncated-images.idx.gz"] = zipped[:len(zipped) // 2]
    corrupt = bytearray(zipped)
    corrupt[12:20] = b"\xff" * 8
    files["corrupt-images.idx.gz"] = bytes(corrupt)
    # CSV mistakes.
    files["iris.csv"] = "6,4,setosa,versicolor,virginica\n" + csv_rows(IRIS_ROWS)
    rows = [list(r) for r in IRIS_ROWS]
    files["wrong_columns.csv"] = "6,4,setosa,versicolor,virginica\n" + csv_rows(rows[:3] + [rows[3][:3]] + rows[4:])
    bad = [list(r) for r in IRIS_ROWS]
    bad[4][4] = 3
    files["label_out_of_range.csv"] = "6,4,setosa,versicolor,virginica\n" + csv_rows(bad)
    bad = [list(r) for r in IRIS_ROWS]
    bad[2][1] = "3.2x"
    files["non_numeric.csv"] = "6,4,setosa,versicolor,virginica\n" + csv_rows(bad)
    files["row_count.csv"] = "7,4,setosa,versicolor,virginica\n" + csv_rows(IRIS_ROWS)
    files["empty.csv"] = ""
    files["table.csv"] = "f0,f1,f2,f3,label\n" + csv_rows(IRIS_ROWS)
    files["table_extra_column.csv"] = "f0,f1,f2,f3,label\n" + csv_rows(IRIS_ROWS[:2]) + \
        csv_rows([IRIS_ROWS[2] + [9]]) + csv_rows(IRIS_ROWS[3:])
    # NumPy mistakes.
    files["x.npy"] = npy("<f4", (6, 4), f32(X))
    files["y.npy"] = npy("<i8", (6,), i64(Y))
    files["bad_magic.npy"] = b"\x93NUMPX\x01\x00" + npy("<f4", (6, 4), f32(X))[8:]
    files["bad_header.npy"] = npy("<f4", (6, 4), f32(X), header_override="{'descr': '<f4', 'fortran_order': False}")
    files["garbled_header.npy"] = npy("<f4", (6, 4), f32(X), header_override="{'descr': '<f4', 'shape': (6, 4")
    files["bad_dtype.npy"] = npy("<c16", (6, 4), f32(X) * 4)
    files["truncated.npy"] = npy("<f4", (6, 4), f32(X))[:-8]
    files["truncated_header.npy"] = npy("<f4", (6, 4), f32(X))[:40]
    files["data.npz"] = npz([("x", files["x.npy"]), ("label", files["y.npy"])])
    files["missing_field.npz"] = npz([("x", files["x.npy"]), ("labels", files["y.npy"])])
    files["count_mismatch.npz"] = npz([("x", files["x.npy"]), ("label", npy("<i8", (5,), i64(Y[:5])))])
    files["bad_member.npz"] = npz([("x", files["bad_magic.npy"]), ("label", files["y.npy"])])
    good_npz = files["data.npz"]
    files["truncated.npz"] = good_npz[:len(good_npz) // 2]
    files["not_a_zip.npz"] = files["x.npy"]  # np.save output under an .npz name
    files["label_out_of_range.npz"] = npz([("x", files["x.npy"]), ("label", npy("<i8", (6,), i64([0, 1, 2, 7, 1, 2])))])
    return files


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in fixtures().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
    os.makedirs(os.path.join(out, "a_directory.idx"), exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
