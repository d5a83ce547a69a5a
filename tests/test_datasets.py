import sys

import numpy as np
import pytest

from sklearn_hash import pack_bits
from sklearn_hash.datasets import (
    load_ann_benchmarks,
    load_sift_skimage,
    load_vector_folder,
    read_bvecs,
    read_fvecs,
    read_ivecs,
    write_bvecs,
    write_fvecs,
    write_ivecs,
)


def test_embedded_sift_is_real_and_ground_truth_exact():
    data = load_sift_skimage()
    assert data.base.shape == (30070, 128) and data.query.shape == (500, 128)
    assert data.base.dtype == np.float32
    assert data.base.min() >= 0 and data.base.max() <= 255
    assert "public domain" in data.DESCR
    # recompute the exact neighbours of a few queries in float64
    q = data.query[:20].astype(np.float64)
    b = data.base.astype(np.float64)
    d = (q**2).sum(1)[:, None] - 2 * q @ b.T + (b**2).sum(1)[None]
    nearest = np.argsort(d, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(
        np.sort(d[np.arange(20)[:, None], nearest], axis=1),
        np.sort(d[np.arange(20)[:, None], data.ground_truth[:20, :10]], axis=1),
    )


@pytest.mark.parametrize(
    "write, read, X",
    [
        (
            write_fvecs,
            read_fvecs,
            np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32),
        ),
        (write_ivecs, read_ivecs, np.arange(12, dtype=np.int32).reshape(3, 4) - 5),
        (write_bvecs, read_bvecs, np.arange(30, dtype=np.uint8).reshape(5, 6)),
    ],
)
@pytest.mark.parametrize("mmap", [False, True])
def test_vecs_roundtrip(tmp_path, write, read, X, mmap):
    path = tmp_path / "x.vecs"
    write(path, X)
    assert path.stat().st_size == X.shape[0] * (4 + X.shape[1] * X.dtype.itemsize)
    got = read(path, mmap=mmap)
    assert got.dtype == X.dtype
    np.testing.assert_array_equal(got, X)


def test_fvecs_layout_is_dimension_then_values(tmp_path):
    path = tmp_path / "x.fvecs"
    write_fvecs(path, [[1.5, -2.0]])
    raw = path.read_bytes()
    assert np.frombuffer(raw[:4], "<i4")[0] == 2
    np.testing.assert_array_equal(np.frombuffer(raw[4:], "<f4"), [1.5, -2.0])


def test_vecs_bad_files(tmp_path):
    path = tmp_path / "bad.fvecs"
    path.write_bytes(np.array([3], "<i4").tobytes() + b"\0" * 5)
    with pytest.raises(ValueError, match="not a .fvecs file"):
        read_fvecs(path)
    mixed = tmp_path / "mixed.ivecs"
    mixed.write_bytes(np.array([2, 1, 2, 3, 4, 5], "<i4").tobytes())  # d=2 then d=3
    with pytest.raises(ValueError, match="different dimensions"):
        read_ivecs(mixed)
    with pytest.raises(ValueError, match="0..255"):
        write_bvecs(tmp_path / "b.bvecs", [[256]])
    with pytest.raises(ValueError, match="2-D"):
        write_fvecs(tmp_path / "c.fvecs", [1.0, 2.0])


def _write_ann_benchmarks(path, train, test, neighbors, distance):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.attrs["distance"] = distance
        f["train"], f["test"], f["neighbors"] = train, test, neighbors
        f["distances"] = np.zeros(neighbors.shape)


def test_ann_benchmarks_float_set(tmp_path):
    rng = np.random.default_rng(0)
    train, test = rng.random((20, 4)), rng.random((3, 4))
    path = tmp_path / "tiny-4-euclidean.hdf5"
    _write_ann_benchmarks(
        path, train, test, np.arange(6, dtype=np.int32).reshape(3, 2), "euclidean"
    )
    data = load_ann_benchmarks(path)
    assert data.base.dtype == np.float32 and data.base.shape == (20, 4)
    np.testing.assert_allclose(data.query, test.astype(np.float32))
    assert data.ground_truth.dtype == np.int64 and data.metric == "euclidean"
    assert data.nbits is None and data.distances.shape == (3, 2)


def test_ann_benchmarks_hamming_set_is_packed_little_endian(tmp_path):
    rng = np.random.default_rng(0)
    bits = rng.random((10, 12)) < 0.5
    path = tmp_path / "tiny-12-hamming.hdf5"
    _write_ann_benchmarks(
        path, bits, bits[:2], np.zeros((2, 1), dtype=np.int32), "hamming"
    )
    data = load_ann_benchmarks(path)
    assert (
        data.nbits == 12 and data.base.dtype == np.uint8 and data.base.shape == (10, 2)
    )
    np.testing.assert_array_equal(data.base, pack_bits(bits))
    # bit i in byte i // 8 at position i % 8
    assert (
        data.base[0, 0] & 1 == bits[0, 0] and (data.base[0, 1] >> 3) & 1 == bits[0, 11]
    )


def test_ann_benchmarks_errors(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "bad.hdf5"
    with h5py.File(path, "w") as f:
        f["train"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="no dataset test, neighbors"):
        load_ann_benchmarks(path)
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match="pip install h5py"):
        load_ann_benchmarks(path)


def test_vector_folder_npy_and_texmex_layouts(tmp_path):
    rng = np.random.default_rng(0)
    base, query = rng.integers(0, 256, (30, 8)), rng.integers(0, 256, (4, 8))
    npy = tmp_path / "npy"
    npy.mkdir()
    np.save(npy / "base.npy", base.astype(np.uint8))
    np.save(npy / "query.npy", query.astype(np.uint8))
    np.save(npy / "gt_l2_100.npy", np.zeros((4, 3), dtype=np.int32))
    np.save(npy / "labels_base.npy", np.arange(30))
    data = load_vector_folder(npy)
    assert data.base.dtype == np.float32 and data.learn is None
    assert data.ground_truth.dtype == np.int64 and data.labels_base.shape == (30,)
    texmex = tmp_path / "texmex"
    texmex.mkdir()
    write_bvecs(texmex / "sift_base.bvecs", base)
    write_fvecs(texmex / "sift_query.fvecs", query)
    write_fvecs(texmex / "sift_learn.fvecs", base[:10])
    write_ivecs(texmex / "sift_groundtruth.ivecs", [[1, 2]] * 4)
    data = load_vector_folder(texmex, dtype=np.float64)
    np.testing.assert_array_equal(data.base, base)
    assert data.query.dtype == np.float64 and data.learn.shape == (10, 8)
    assert data.ground_truth.tolist() == [[1, 2]] * 4
    assert "sift_groundtruth.ivecs" in data.DESCR


def test_vector_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="must be a folder"):
        load_vector_folder(tmp_path / "missing")
    np.save(tmp_path / "base.npy", np.zeros((3, 2)))
    with pytest.raises(ValueError, match="no query file"):
        load_vector_folder(tmp_path)
    np.save(tmp_path / "query.npy", np.zeros((3, 5)))
    with pytest.raises(ValueError, match="differ in dimension"):
        load_vector_folder(tmp_path)


@pytest.mark.data
def test_vector_folder_reads_the_shared_sets():
    from conftest import shared_data_dir

    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data not found")
    data = load_vector_folder(root / "sift-images")
    assert data.base.shape == (70345, 128) and data.learn.shape == (20000, 128)
    assert data.ground_truth.shape == (1000, 100)
