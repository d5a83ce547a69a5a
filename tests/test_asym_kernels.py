"""Asymmetric bit-plane kernels (``_asym_kernels``) against NumPy references.

Every path and lookup-table variant this CPU has is forced and checked for
every plane count at many widths, as scores and as k-NN results with many
ties. The AVX-512 kernels, which this CPU may lack, are compiled against
SIMDe's portable intrinsics (``tests/asym_emulation.c``) and checked the same
way.
"""

import ctypes
from pathlib import Path

import numpy as np
import pytest
from conftest import build_emulation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_hash import unpack_bits
from sklearn_hash.neighbors import _asym_kernels as ak

PATHS = [p for p in ak.PATHS if ak.asym_path_available(p)]
LUT_PATHS = [p for p in PATHS if p.endswith(" lut")]
# odd widths, every vector step and tail, and the specialised 8/16/32/48/64/96
WIDTHS = [
    1,
    2,
    3,
    5,
    7,
    8,
    9,
    12,
    15,
    16,
    17,
    24,
    31,
    32,
    33,
    40,
    47,
    48,
    49,
    63,
    64,
    65,
    72,
    96,
    100,
    127,
    128,
    130,
    200,
]
PLANES = range(1, ak.MAX_PLANES + 1)
HERE = Path(__file__).parent
NEIGHBORS = HERE.parent / "sklearn_hash" / "neighbors"


@pytest.fixture
def auto_path():
    """Leave the kernels on the automatic per-width choice afterwards."""
    try:
        yield
    finally:
        ak.set_asym_path("auto")


def random_planes(rng, n_queries, n_planes, nb):
    planes = np.zeros((n_queries, n_planes, ak.plane_stride(nb)), dtype=np.uint8)
    planes[:, :, :nb] = rng.integers(0, 256, size=(n_queries, n_planes, nb))
    return planes


def reference_scores(planes, db):
    """sum_i (2 m_i + 1) [b_i != s_i] over every bit of the nb bytes."""
    nb = db.shape[1]
    bits = unpack_bits(db, 8 * nb).astype(np.int64)
    signs = [
        unpack_bits(np.ascontiguousarray(q[0, :nb])[None], 8 * nb)[0] for q in planes
    ]
    weights = [
        1
        + 2
        * sum(
            unpack_bits(np.ascontiguousarray(q[p, :nb])[None], 8 * nb)[0].astype(
                np.int64
            )
            << (p - 1)
            for p in range(1, planes.shape[1])
        )
        for q in planes
    ]
    return np.array([((bits != s) * w).sum(axis=1) for s, w in zip(signs, weights)])


def reference_kneighbors(scores, k):
    """The k smallest (score, index) of each row, ties by the smaller index."""
    order = [np.lexsort((np.arange(len(row)), row))[:k] for row in scores]
    return np.array([s[o] for s, o in zip(scores, order)]), np.array(order)


def kneighbors(planes, db, k, n_threads=1):
    nb = db.shape[1]
    scores = np.empty((len(planes), k), dtype=np.int32)
    indices = np.empty((len(planes), k), dtype=np.int64)
    scratch = np.empty((n_threads, ak.chunk_rows(nb)), dtype=np.int32)
    ak.planes_kneighbors(planes, db, scores, indices, scratch, n_threads)
    return scores, indices


def tied_codes(rng, n, nb, distinct=12):
    """n codes drawn from a few distinct ones: ties everywhere."""
    return rng.integers(0, 256, size=(distinct, nb), dtype=np.uint8)[
        rng.integers(0, distinct, size=n)
    ]


@pytest.mark.parametrize("path", PATHS)
def test_every_path_scores_like_the_formula(path):
    rng = np.random.default_rng(0)
    for nb in WIDTHS:
        # 150 codes: two 64-code blocks and a part; one code an exact match
        db = rng.integers(0, 256, size=(150, nb), dtype=np.uint8)
        for n_planes in PLANES:
            planes = random_planes(rng, 2, n_planes, nb)
            db[7] = planes[0, 0, :nb]
            if path in LUT_PATHS and not ak.lut_fits(n_planes, nb):
                with pytest.raises(ValueError, match="cannot score"):
                    ak._path_scores(path, planes, db)
                continue
            got = ak._path_scores(path, planes, db)
            np.testing.assert_array_equal(
                got,
                reference_scores(planes, db),
                err_msg=f"{path} {nb} bytes P={n_planes}",
            )
            assert got[0, 7] == 0


def test_lut_fits_where_scores_fit_16_bits():
    for nb in (1, 16, 48, 130, 131, 546, 547):
        for n_planes in PLANES:
            fits = n_planes <= 6 and 8 * nb * (2**n_planes - 1) <= 65535
            assert ak.lut_fits(n_planes, nb) == fits


@pytest.mark.parametrize("path", PATHS)
def test_every_path_passes_the_self_test(path):
    assert ak._self_test(path)


@pytest.mark.parametrize("forced", ["auto"] + PATHS)
def test_kneighbors_match_the_reference_with_ties(forced, auto_path):
    ak.set_asym_path(forced)
    rng = np.random.default_rng(1)
    # 2500 codes: not a multiple of the chunks (1024 codes for 16 bytes) or
    # blocks (64); 37 queries: blocks of 32 and 5, and 3 (the row path)
    for nb, n_planes in [(16, 4), (48, 1), (13, 2), (2, 6), (16, 7), (100, 8)]:
        db = tied_codes(rng, 2500, nb)
        planes = random_planes(rng, 37, n_planes, nb)
        planes[0, 0, :nb] = db[100]  # a score-0 code, tied 200 times
        ref = reference_scores(planes, db)
        for k, n_q in [(1, 37), (10, 37), (10, 3), (1100, 21)]:
            want = reference_kneighbors(ref[:n_q], k)
            got = kneighbors(planes[:n_q], db, k)
            np.testing.assert_array_equal(got[0], want[0], err_msg=f"{forced} {nb} {k}")
            np.testing.assert_array_equal(got[1], want[1], err_msg=f"{forced} {nb} {k}")


def test_kneighbors_k_equals_n_and_threads(auto_path):
    rng = np.random.default_rng(2)
    db = tied_codes(rng, 300, 48, distinct=5)
    planes = random_planes(rng, 40, 4, 48)
    ref = reference_scores(planes, db)
    for forced in ["auto"] + LUT_PATHS:
        ak.set_asym_path(forced)
        for k, threads in [(300, 1), (300, 2), (5, 2)]:
            want = reference_kneighbors(ref, k)
            got = kneighbors(planes, db, k, threads)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nb=st.integers(1, 70),
    n_planes=st.integers(1, 8),
    n_db=st.integers(1, 400),
    n_q=st.integers(1, 20),
    distinct=st.integers(1, 6),
    k=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_fuzz_kneighbors(nb, n_planes, n_db, n_q, distinct, k, seed):
    rng = np.random.default_rng(seed)
    db = tied_codes(rng, n_db, nb, distinct)
    planes = random_planes(rng, n_q, n_planes, nb)
    k = min(k, n_db)
    want = reference_kneighbors(reference_scores(planes, db), k)
    got = kneighbors(planes, db, k)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("path", PATHS)
def test_forcing_a_path_applies_to_every_width(path, auto_path):
    assert ak.set_asym_path(path) == path
    assert ak.forced_asym_path() == path
    for nb in (8, 16, 48, 300):
        assert ak.asym_path(nb) == path
        assert ak.asym_path_how(nb) == "forced"
    assert ak.set_asym_path("auto") == "auto"
    assert ak.forced_asym_path() == "auto"


def test_unknown_path_raises():
    with pytest.raises(ValueError, match="not available"):
        ak.set_asym_path("avx1024")
    assert ak.forced_asym_path() == "auto"


def test_measured_choice_is_the_fastest(auto_path):
    ak._reset_choices()
    for nb in (8, 16, 48, 96, 200):
        chosen = ak.asym_path(nb)
        timings = ak.asym_path_timings(nb)
        assert ak.asym_path_how(nb) in ("measured", "only path")
        if ak.asym_path_how(nb) == "measured":
            # lookup-table variants are timed where 4-plane scores fit
            expected = {p for p in PATHS if p not in LUT_PATHS or ak.lut_fits(4, nb)}
            assert set(timings) == expected
            assert timings[chosen] == min(timings.values())


def test_wide_codes_share_a_choice_but_not_its_tables(auto_path):
    # codes over 128 bytes share one cached choice: a lookup-table variant
    # measured at 200 bytes cannot hold 4-plane scores of 600-byte codes, whose
    # queries then go through the width's fastest row path
    ak._reset_choices()
    ak.asym_path(200)
    rng = np.random.default_rng(7)
    db = tied_codes(rng, 300, 600)
    planes = random_planes(rng, 20, 4, 600)
    assert not ak.lut_fits(4, 600)
    want = reference_kneighbors(reference_scores(planes, db), 6)
    got = kneighbors(planes, db, 6)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_bad_shapes_raise():
    db = np.zeros((10, 16), dtype=np.uint8)
    scores = np.empty((2, 3), dtype=np.int32)
    indices = np.empty((2, 3), dtype=np.int64)
    scratch = np.empty((1, ak.chunk_rows(16)), dtype=np.int32)
    for shape in [(2, 4, 32), (2, 0, 64), (2, ak.MAX_PLANES + 1, 64)]:
        with pytest.raises(ValueError):
            ak.planes_kneighbors(
                np.zeros(shape, np.uint8), db, scores, indices, scratch, 1
            )
    planes = np.zeros((2, 4, ak.plane_stride(16)), dtype=np.uint8)
    with pytest.raises(ValueError, match="scratch"):
        ak.planes_kneighbors(planes, db, scores, indices, scratch[:, :10], 1)
    with pytest.raises(ValueError, match="exceeds"):
        ak.planes_kneighbors(planes, db[:2], scores, indices, scratch, 1)
    with pytest.raises(ValueError, match="n_bytes"):
        ak.asym_path(0)


def test_lut_kneighbors_matches_numpy_with_dyadic_values():
    rng = np.random.default_rng(3)
    nb, k = 5, 7
    db = tied_codes(rng, 400, nb, distinct=30)
    # multiples of 1/8: every partial sum exact in float32, so ties are exact
    luts = (rng.integers(-16, 17, size=(9, nb, 256)) / 8).astype(np.float32)
    scores = np.empty((9, k), dtype=np.float32)
    indices = np.empty((9, k), dtype=np.int64)
    ak.lut_kneighbors(luts, db, scores, indices, 2)
    full = luts[:, np.arange(nb), db].sum(axis=2)  # (9, 400), exact
    want = reference_kneighbors(full, k)
    np.testing.assert_array_equal(scores, want[0])
    np.testing.assert_array_equal(indices, want[1])
    with pytest.raises(ValueError, match="tables of"):
        ak.lut_kneighbors(np.ascontiguousarray(luts[:, :4]), db, scores, indices, 1)


# -- every path, AVX-512 included, under SIMDe emulation --------------------------


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """The kernels of _asym.h built against SIMDe, loaded with ctypes."""
    lib = build_emulation(tmp_path_factory, "asym_emulation.c")
    p, i64, s = ctypes.c_void_p, ctypes.c_int64, ctypes.c_char_p
    lib.emu_has_path.argtypes = [s]
    lib.emu_self_test.argtypes = [s]
    lib.emu_is_lut.argtypes = [s]
    lib.emu_scores.argtypes = [s, p, ctypes.c_int, p, i64, i64, p]
    lib.emu_scan.argtypes = [s, p, ctypes.c_int, ctypes.c_int, p, i64, i64, p, p, p]
    return lib


EMULATED = [
    "avx512",
    "avx512bw lut",
    "avx2 lut",
    "avx2",
    "popcnt",
    "generic lut",
    "generic",
]


def padded(a):
    """a's bytes followed by 64 spare ones: SIMDe's masked loads read whole
    vectors where the hardware reads only the masked words."""
    out = np.zeros(a.size + 64, dtype=np.uint8)
    out[: a.size] = a.ravel()
    return out


def emu_scores(lib, path, planes, db):
    out = np.zeros((len(planes), len(db)), dtype=np.int32)
    codes = padded(db)
    for i, q in enumerate(planes):
        q = np.ascontiguousarray(q)
        assert lib.emu_scores(
            path.encode(),
            q.ctypes.data,
            q.shape[0],
            codes.ctypes.data,
            len(db),
            db.shape[1],
            out[i].ctypes.data,
        )
    return out


def emu_scan(lib, path, planes, db, bounds):
    """Per query the (offsets, scores) a fused scan of the chunk db keeps."""
    n = len(db)
    codes = padded(db)
    planes = np.ascontiguousarray(planes)
    bounds = np.asarray(bounds, dtype=np.int32)
    counts = np.zeros(len(planes), dtype=np.int32)
    found = np.zeros((len(planes), 2 * n), dtype=np.int32)
    assert lib.emu_scan(
        path.encode(),
        planes.ctypes.data,
        len(planes),
        planes.shape[1],
        codes.ctypes.data,
        n,
        db.shape[1],
        bounds.ctypes.data,
        counts.ctypes.data,
        found.ctypes.data,
    )
    return [(f[: 2 * c : 2], f[1 : 2 * c : 2]) for f, c in zip(found, counts)]


@pytest.mark.parametrize("path", EMULATED)
def test_emulated_path_passes_the_self_test(emulated, path):
    assert emulated.emu_has_path(path.encode())
    assert emulated.emu_self_test(path.encode())


@pytest.mark.parametrize("path", EMULATED)
def test_emulated_scores_match_the_formula(emulated, path):
    rng = np.random.default_rng(4)
    lut = emulated.emu_is_lut(path.encode())
    for nb in [1, 3, 7, 8, 12, 16, 17, 24, 33, 48, 64, 72, 96, 100, 130]:
        db = rng.integers(0, 256, size=(70, nb), dtype=np.uint8)
        for n_planes in PLANES:
            if lut and not ak.lut_fits(n_planes, nb):
                continue
            planes = random_planes(rng, 2, n_planes, nb)
            np.testing.assert_array_equal(
                emu_scores(emulated, path, planes, db),
                reference_scores(planes, db),
                err_msg=f"{path} {nb} P={n_planes}",
            )


@pytest.mark.parametrize("path", [p for p in EMULATED if p.endswith(" lut")])
def test_emulated_fused_scans_keep_exactly_the_codes_below_each_bound(emulated, path):
    rng = np.random.default_rng(5)
    for nb, n_planes in [(16, 4), (48, 4), (8, 1), (13, 3), (96, 5), (24, 6)]:
        db = tied_codes(rng, 201, nb, distinct=20)
        planes = random_planes(rng, 5, n_planes, nb)
        ref = reference_scores(planes, db)
        bounds = [0, int(np.median(ref[1])), int(ref[2].max()) + 1, 2**31 - 1, 1]
        for (cand, scores), row, bound in zip(
            emu_scan(emulated, path, planes, db, bounds), ref, bounds
        ):
            np.testing.assert_array_equal(cand, np.flatnonzero(row < bound))
            np.testing.assert_array_equal(scores, row[cand])


@pytest.mark.parametrize("path", ["avx512bw lut", "avx2 lut"])
def test_emulated_chunked_knn_scan_matches_reference(emulated, path):
    # the scan of planes_kneighbors in Python: per chunk, the pairs below each
    # query's bound at the chunk's start, each offered again to its heap
    rng = np.random.default_rng(6)
    nb, k, chunk = 16, 9, 128
    db = tied_codes(rng, 700, nb, distinct=15)
    planes = random_planes(rng, 6, 4, nb)
    ref = reference_scores(planes, db)
    best = [[] for _ in planes]
    for start in range(0, len(db), chunk):
        part = np.ascontiguousarray(db[start : start + chunk])
        bounds = [b[-1][0] if len(b) == k else 2**31 - 1 for b in best]
        for b, (cand, scores) in zip(
            best, emu_scan(emulated, path, planes, part, bounds)
        ):
            for j, s in zip(cand, scores):
                if len(b) < k or (s, start + j) < b[-1]:
                    b.append((int(s), start + int(j)))
                    b.sort()
                    del b[k:]
    want = reference_kneighbors(ref, k)
    np.testing.assert_array_equal([[s for s, _ in b] for b in best], want[0])
    np.testing.assert_array_equal([[i for _, i in b] for b in best], want[1])
