"""Popcount paths and their per-width dispatch, against the NumPy reference.

Every path the CPU has is forced and checked for every width class, plain and
fused (k-NN rejection) rows. The AVX-512 kernels, which this CPU may lack, are
compiled against SIMDe's portable intrinsics (``tests/kernel_emulation.c``)
and checked the same way, including a full k-NN scan through the fused rows.
"""

import ctypes
import heapq
from pathlib import Path

import numpy as np
import pytest
from conftest import build_emulation, run_python

from sklearn_hash import HammingNeighbors
from sklearn_hash._bits import hamming_kneighbors_reference

# the dense NumPy distances of evaluation (unpacked bits, one matrix product):
# independent of the popcount kernels; _bits.hamming_distances_reference,
# which this file used, was folded into it by the metrics merge
from sklearn_hash.metrics._base import _hamming_distances as hamming_distances_reference
from sklearn_hash.neighbors import _kernels

PATHS = [p for p in _kernels.PATHS if _kernels.popcount_path_available(p)]
# every width class some path specialises, with tails of every kind (48 and 96:
# 384- and 768-bit sign codes of text embeddings; 80: a 16-byte AVX2 tail)
WIDTHS = [1, 3, 4, 7, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 96, 128, 136, 200]
HERE = Path(__file__).parent
NEIGHBORS = HERE.parent / "sklearn_hash" / "neighbors"


@pytest.fixture
def auto_dispatch():
    """Leave the kernels on the automatic per-width choice afterwards."""
    yield
    _kernels._enable_slow_path(False)
    _kernels.set_popcount_path("best")


def expected_below(full, bound):
    """What a fused k-NN row returns: distances below bound, others -1."""
    return np.where(full < bound, full, -1)


def bounds_for(full):
    """Bounds that keep nothing, about half, and everything."""
    return [0, int(np.median(full)), int(full.max()) + 1]


@pytest.mark.parametrize("path", PATHS)
def test_every_path_matches_reference_at_every_width(path, auto_dispatch):
    rng = np.random.default_rng(0)
    for nb in WIDTHS:
        db = rng.integers(0, 256, size=(77, nb), dtype=np.uint8)
        db[5] = db[0]  # a zero distance
        q = np.vstack([db[:1], rng.integers(0, 256, size=(3, nb), dtype=np.uint8)])
        full = hamming_distances_reference(q, db)
        np.testing.assert_array_equal(_kernels._path_distances(path, q, db), full)
        # the fused rows, on the chunk as stored and on its blocked layout
        layouts = [False] + [True] * _kernels.path_blocks(path, nb)
        for bound in bounds_for(full):
            for blocked in layouts:
                got = _kernels._path_distances(path, q, db, bound, blocked)
                np.testing.assert_array_equal(
                    got, expected_below(full, bound), err_msg=f"{nb} {blocked}"
                )
    assert _kernels.popcount_path() == "auto"  # the helper restores the dispatch


def test_blocked_layouts_exist_where_documented():
    # every multiple of 8 bytes from 16 on, for avx512 only; never a tail width
    for nb in WIDTHS:
        for path in PATHS:
            expected = path == "avx512" and nb >= 16 and nb % 8 == 0
            assert _kernels.path_blocks(path, nb) == expected
    with pytest.raises(ValueError, match="no blocked k-NN row"):
        db = np.zeros((3, 12), dtype=np.uint8)
        _kernels._path_distances("avx512", db, db, 5, True)


def variants(mode, nb):
    """The variants the dispatch measures for nb-byte codes in a mode."""
    blocked = [
        f"{p} blocked" for p in PATHS if mode == "batch" and _kernels.path_blocks(p, nb)
    ]
    return set(PATHS) | set(blocked)


@pytest.mark.parametrize("mode", _kernels.MODES)
def test_measured_choice_is_the_fastest_usable_path(mode, auto_dispatch):
    _kernels._reset_choices()
    for nb in (8, 16, 32, 64, 24, 48, 96, 200, 130):
        chosen = _kernels.popcount_path(nb, mode)
        timings = _kernels.path_timings(nb, mode)
        key = nb if nb <= 128 else ">128" if nb % 8 == 0 else ">128 odd"
        measured = len(variants(mode, nb)) > 1
        assert _kernels.width_paths()[key][mode] == (
            chosen,
            "measured" if measured else "only path",
        )
        if measured:
            assert set(timings) == variants(mode, nb)
            assert timings[chosen] == min(timings.values())


def test_wide_widths_share_a_choice_only_with_their_layout(auto_dispatch):
    # codes wider than 128 bytes share a cached choice; one that blocks its
    # chunks (136 bytes) must not be reused for a width that cannot (130)
    _kernels._reset_choices()
    rng = np.random.default_rng(3)
    for nb in (136, 130, 256):
        db = rng.integers(0, 256, size=(300, nb), dtype=np.uint8)
        q = rng.integers(0, 256, size=(40, nb), dtype=np.uint8)
        nn = HammingNeighbors(n_neighbors=5, algorithm="brute", n_jobs=1).fit(db)
        d, i = nn.kneighbors(q)
        rd, ri = hamming_kneighbors_reference(q, db, 5)
        np.testing.assert_array_equal(d, rd, err_msg=f"{nb}")
        np.testing.assert_array_equal(i, ri, err_msg=f"{nb}")
    assert "blocked" not in _kernels.popcount_path(130)
    assert set(_kernels.width_paths()) >= {">128", ">128 odd"}


def test_bad_mode_raises():
    with pytest.raises(ValueError, match="mode must be one of"):
        _kernels.popcount_path(8, "many")


def test_chooser_never_picks_an_injected_slow_path(auto_dispatch):
    # "slow" comes first in the path table (where a flag-order dispatch would
    # take it), passes the self-test, and computes the right distances 4 times
    _kernels._enable_slow_path(True)
    assert _kernels.popcount_path_available("slow") and _kernels._self_test("slow")
    rng = np.random.default_rng(1)
    for nb in (8, 16, 32, 64, 24):
        for mode in _kernels.MODES:
            chosen = _kernels.popcount_path(nb, mode)
            timings = _kernels.path_timings(nb, mode)
            assert chosen != "slow"
            assert "slow" in timings and timings["slow"] > timings[chosen]
        db = rng.integers(0, 256, size=(300, nb), dtype=np.uint8)
        # 9 queries: one at a time; 40: a batch of 32, then 8
        ref = hamming_kneighbors_reference(db[:40], db, 7)
        for forced in ("slow", "best"):
            _kernels.set_popcount_path(forced)
            nn = HammingNeighbors(n_neighbors=7).fit(db)
            for n_q in (9, 40):
                d, i = nn.kneighbors(db[:n_q])
                np.testing.assert_array_equal(d, ref[0][:n_q])
                np.testing.assert_array_equal(i, ref[1][:n_q])


@pytest.mark.parametrize("path", PATHS)
def test_forcing_a_path_applies_to_every_width(path, auto_dispatch):
    assert _kernels.set_popcount_path(path) == path
    for nb in (8, 16, 32, 64, 40, 300):
        # a forced path scans blocked chunks in a batch where it can
        blocked = " blocked" if _kernels.path_blocks(path, nb) else ""
        assert _kernels.popcount_path(nb) == path + blocked
        assert _kernels.popcount_path(nb, "single") == path
    assert all(
        how == "forced"
        for modes in _kernels.width_paths().values()
        for _, how in modes.values()
    )
    assert _kernels.set_popcount_path("best") == "auto"
    assert _kernels.popcount_path() == "auto"


def test_bad_width_raises():
    with pytest.raises(ValueError, match="n_bytes must be a positive int"):
        _kernels.popcount_path(0)


def test_environment_variable_forces_every_width():
    code = (
        "from sklearn_hash.neighbors import _kernels as k; "
        "print(k.popcount_path(), k.popcount_path(8), k.popcount_path(64), "
        "k.width_paths()[8]['batch'][1])"
    )
    out = run_python(code, SKLEARN_HASH_POPCOUNT_PATH="generic")
    assert out.stdout.split() == ["generic", "generic", "generic", "forced"]


def test_show_versions_reports_the_path_of_every_width(capsys):
    from sklearn_hash import show_versions

    info = show_versions()
    per_width = info["popcount path by width"]
    for nb in (8, 16, 32, 64):
        assert f"{8 * nb} bits: {_kernels.popcount_path(nb)} (batch, " in per_width
        assert f"{_kernels.popcount_path(nb, 'single')} (single, " in per_width
    assert "measured" in per_width or "forced" in per_width or "only path" in per_width
    assert "popcount path by width" in capsys.readouterr().out


# -- AVX-512 (and every other path) under SIMDe emulation ---------------------------


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """The kernels of _popcount.h built against SIMDe, loaded with ctypes."""
    lib = build_emulation(tmp_path_factory, "kernel_emulation.c")
    p, i64 = ctypes.c_void_p, ctypes.c_int64
    lib.emu_row.argtypes = [ctypes.c_char_p, p, p, i64, i64, p]
    lib.emu_below.argtypes = [ctypes.c_char_p, p, p, i64, i64, ctypes.c_int32, p, p]
    lib.emu_below.restype = i64
    lib.emu_below_blocked.argtypes = lib.emu_below.argtypes + [p]
    lib.emu_below_blocked.restype = i64
    lib.emu_path_blocks.argtypes = [ctypes.c_char_p, i64]
    return lib


def padded(codes):
    """The codes followed by 64 spare bytes: SIMDe's masked loads read whole
    vectors where the hardware's read only the masked words."""
    out = np.zeros(codes.size + 64, dtype=np.uint8)
    out[: codes.size] = codes.ravel()
    return out


def emu_row(lib, path, q, db):
    out = np.empty(len(db), dtype=np.int32)
    codes = padded(db)
    assert lib.emu_row(
        path.encode(),
        q.ctypes.data,
        codes.ctypes.data,
        len(db),
        db.shape[1],
        out.ctypes.data,
    )
    return out


def emu_below(lib, path, q, db, bound, blocked=False):
    """(offsets, their distances) of the fused row (on the path's blocked
    layout of db with ``blocked``), checked to be increasing."""
    dist = np.empty(len(db), dtype=np.int32)
    cand = np.empty(len(db), dtype=np.int32)
    codes = padded(db)
    args = [
        path.encode(),
        q.ctypes.data,
        codes.ctypes.data,
        len(db),
        db.shape[1],
        bound,
        dist.ctypes.data,
        cand.ctypes.data,
    ]
    if blocked:
        blocks = np.zeros(db.size // 8 + 1, dtype=np.uint64)
        c = lib.emu_below_blocked(*args, blocks.ctypes.data)
    else:
        c = lib.emu_below(*args)
    assert 0 <= c <= len(db)
    cand = cand[:c]
    assert (np.diff(cand) > 0).all()
    return cand, dist[cand]


EMULATED = ["avx512", "avx2", "popcnt", "generic"]


@pytest.mark.parametrize("path", EMULATED)
def test_emulated_path_passes_the_self_test(emulated, path):
    assert emulated.emu_has_path(path.encode())
    assert emulated.emu_self_test(path.encode())


@pytest.mark.parametrize("path", EMULATED)
def test_emulated_rows_match_reference_at_every_width(emulated, path):
    rng = np.random.default_rng(2)
    for nb in WIDTHS:
        # 8 * 12 + 5 codes: full steps of every unrolling and a tail
        db = rng.integers(0, 256, size=(101, nb), dtype=np.uint8)
        q = rng.integers(0, 256, size=(3, nb), dtype=np.uint8)
        full = hamming_distances_reference(q, db)
        for i in range(len(q)):
            np.testing.assert_array_equal(
                emu_row(emulated, path, q[i], db), full[i], err_msg=f"{path} {nb}"
            )
            for bound in bounds_for(full[i]):
                # the emulated build has every path: its own blocked layouts
                has_blocks = emulated.emu_path_blocks(path.encode(), nb)
                for blocked in [False] + [True] * has_blocks:
                    cand, dist = emu_below(emulated, path, q[i], db, bound, blocked)
                    np.testing.assert_array_equal(cand, np.flatnonzero(full[i] < bound))
                    np.testing.assert_array_equal(dist, full[i][cand])


def emulated_kneighbors(lib, path, queries, db, k, chunk, blocked=False):
    """The k-NN scan of _kernels.pyx in Python, over the emulated fused rows
    (on blocked chunks with ``blocked``): per chunk, candidates below the
    heap's max at the chunk's start, each offered again against the current
    max (ties keep the smaller index)."""
    nb = db.shape[1]
    out_d, out_i = [], []
    for q in queries:
        heap = [(-(8 * nb + 1), -(2**62))] * k  # sentinels: max-heap of (-d, -index)
        for start in range(0, len(db), chunk):
            part = np.ascontiguousarray(db[start : start + chunk])
            cand, dist = emu_below(lib, path, q, part, -heap[0][0], blocked)
            for j, d in zip(cand, dist):
                if d < -heap[0][0]:
                    heapq.heapreplace(heap, (-int(d), -(start + int(j))))
        best = sorted((-d, -i) for d, i in heap)
        out_d.append([d for d, _ in best])
        out_i.append([i for _, i in best])
    return np.array(out_d), np.array(out_i)


SCAN_WIDTHS = [8, 16, 32, 64, 24, 128, 48, 96]


@pytest.mark.parametrize(
    "path, blocked, nb",
    [(path, False, nb) for path in ("avx512", "avx2") for nb in SCAN_WIDTHS]
    + [("avx512", True, nb) for nb in SCAN_WIDTHS if nb >= 16 and nb % 8 == 0],
)
def test_emulated_fused_knn_scan_matches_reference(emulated, path, blocked, nb):
    rng = np.random.default_rng(nb)
    # few distinct codes: ties everywhere, the exact (distance, index) order matters
    distinct = rng.integers(0, 256, size=(40, nb), dtype=np.uint8)
    db = distinct[rng.integers(0, 40, size=500)]
    queries = np.vstack([db[:2], rng.integers(0, 256, size=(3, nb), dtype=np.uint8)])
    for k in (1, 5, 33):
        got = emulated_kneighbors(
            emulated, path, queries, db, k, chunk=61, blocked=blocked
        )
        ref = hamming_kneighbors_reference(queries, db, k)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
