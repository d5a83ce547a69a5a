"""AsymmetricNeighbors: exact against a NumPy reference of the weighted Hamming
distance (quantized and float), ties by index, the X=None rule, errors, the
scikit-learn surface, and recall above Hamming search on the same codes."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV

from sklearn_hash import (
    ITQ,
    LSH,
    AsymmetricLinV,
    AsymmetricNeighbors,
    HammingNeighbors,
    RerankNeighbors,
    SignHashing,
    pack_bits,
    unpack_bits,
)
from sklearn_hash.datasets import load_sift_skimage
from sklearn_hash.metrics import make_recall_scorer
from sklearn_hash.model_selection import query_database_split
from sklearn_hash.neighbors import _asymmetric


def reference_lloyd(a, n_levels, n_iter=10):
    """One query's magnitudes over their maximum, each replaced by its
    Lloyd-Max level: start at the values of ranks floor((l + 1/2) K / L),
    nearest level by the midpoints (the lower on one), levels to the means
    weighted by
    exp(-a / median) (median, else mean, else 1), empty levels kept; loops."""
    K = len(a)
    scale = np.median(a) if np.median(a) > 0 else (a.mean() if a.mean() > 0 else 1.0)
    weight = np.exp(-a / scale)
    levels = np.sort(a)[
        [min(int((j + 0.5) * K / n_levels), K - 1) for j in range(n_levels)]
    ]
    for it in range(n_iter + 1):
        midpoints = [(levels[j] + levels[j + 1]) / 2 for j in range(n_levels - 1)]
        nearest = np.array([sum(x > mid for mid in midpoints) for x in a])
        if it == n_iter:
            return levels[nearest]
        for level in range(n_levels):
            if (nearest == level).any():
                cell = nearest == level
                levels[level] = (weight[cell] * a[cell]).sum() / weight[cell].sum()


def reference_weights(magnitude, query_bits, quantizer):
    """Integer weights 2 m + 1 of each query and the step, by the Notes."""
    n_planes = query_bits
    if quantizer == "lloyd" and query_bits > 1:
        top = magnitude.max(axis=1, keepdims=True)
        top[top == 0] = 1
        magnitude = (
            np.array(
                [reference_lloyd(a, 2 ** (query_bits - 1)) for a in magnitude / top]
            )
            * top
        )
        # two planes more, capped at the lookup-table kernels' 6
        n_planes = max(query_bits, min(query_bits + 2, 6))
    levels = 2 ** (n_planes - 1)
    step = magnitude.max(axis=1) / levels
    weights = np.ones_like(magnitude)
    for q in range(len(magnitude)):
        if step[q] > 0:
            m = np.minimum(np.floor(magnitude[q] / step[q]), levels - 1)
            weights[q] = 2 * m + 1
    return weights, step


def reference_scores(values, bits, query_bits, quantizer="uniform"):
    """Distances (n_queries, n_codes) by the formulas of the Notes, in float64:
    integer scores times half the step, or the float weighted Hamming distance."""
    values = np.asarray(values, dtype=np.float64)
    disagree = bits[None, :, :] != (values > 0)[:, None, :]
    magnitude = np.abs(values)
    if query_bits is None:
        return (disagree * magnitude[:, None, :]).sum(axis=2), None
    weights, step = reference_weights(magnitude, query_bits, quantizer)
    scores = (disagree * weights[:, None, :]).sum(axis=2)
    return scores * step[:, None] / 2, scores


def reference_kneighbors(values, bits, query_bits, k, quantizer="uniform"):
    distances, scores = reference_scores(values, bits, query_bits, quantizer)
    keys = distances if scores is None else scores
    order = np.array([np.lexsort((np.arange(len(row)), row))[:k] for row in keys])
    return np.take_along_axis(distances, order, axis=1), order


class FixedValues(BaseEstimator):
    """A 'hasher' whose decision values are the input's first nbits columns."""

    def __init__(self, nbits=8):
        self.nbits = nbits

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def decision_function(self, X):
        return np.asarray(X, dtype=np.float64)[:, : self.nbits]

    def transform(self, X):
        return pack_bits(self.decision_function(X) > 0)

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)


def _tied_data(n_db, nbits, n_distinct, rng, dyadic=False):
    """Database rows drawn from a few distinct vectors (many exact ties)."""
    pool = rng.standard_normal((n_distinct, nbits))
    if dyadic:  # multiples of 1/8: float32 sums of them are exact
        pool = np.round(pool * 8) / 8
    return pool[rng.integers(0, n_distinct, n_db)]


@pytest.mark.parametrize("quantizer", ["uniform", "lloyd"])
@pytest.mark.parametrize("query_bits", [1, 2, 4, 6, 8])
@pytest.mark.parametrize("nbits", [5, 64, 100, 128, 384])
def test_quantized_search_equals_reference(query_bits, nbits, quantizer):
    rng = np.random.default_rng(nbits + query_bits)
    database = _tied_data(300, nbits, 40, rng)
    queries = rng.standard_normal((23, nbits))
    queries[0, : nbits // 2] *= 20  # a heavy tail
    search = AsymmetricNeighbors(
        FixedValues(nbits),
        n_neighbors=17,
        query_bits=query_bits,
        query_quantizer=quantizer,
    ).fit(database)
    distances, indices = search.kneighbors(queries)
    want_d, want_i = reference_kneighbors(
        queries, database > 0, query_bits, 17, quantizer
    )
    np.testing.assert_array_equal(indices, want_i)
    np.testing.assert_allclose(distances, want_d, rtol=1e-6)


@pytest.mark.parametrize("n_levels", [1, 2, 8, 16])
def test_lloyd_levels_match_the_loop_reference(n_levels):
    rng = np.random.default_rng(n_levels)
    magnitude = np.abs(rng.standard_t(2, size=(12, 40)))
    magnitude[1] = 0.5  # all equal
    magnitude[2, :30] = 0.0  # mostly zero
    magnitude[3] = np.round(magnitude[3], 1)  # repeated values
    got = _asymmetric.lloyd_levels(magnitude, n_levels)
    want = np.array([reference_lloyd(a, n_levels) for a in magnitude])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    for a, levels in zip(magnitude, got):
        assert len(np.unique(levels)) <= n_levels
        # every value is at its nearest level among those in use
        used = np.unique(levels)
        assert np.allclose(np.abs(a - levels), np.abs(a[:, None] - used).min(1))


def test_lloyd_quantizer_planes():
    values = np.random.default_rng(3).standard_normal((4, 70))
    values[3] = 0.0
    planes_of = [(1, 1), (2, 4), (3, 5), (4, 6), (5, 6), (6, 6), (7, 7), (8, 8)]
    for query_bits, n_planes in planes_of:
        planes, step = _asymmetric.quantize_queries(values, query_bits, "lloyd")
        assert planes.shape[1] == n_planes
        assert step[3] == 0 and not planes[3].any()
        magnitude = sum(
            unpack_bits(np.ascontiguousarray(planes[:, p, :9]), 70).astype(int)
            << (p - 1)
            for p in range(1, n_planes)
        )
        if query_bits > 1:
            # at most 2**(query_bits - 1) magnitude levels per query
            assert max(len(np.unique(m)) for m in magnitude) <= 2 ** (query_bits - 1)
    uniform = _asymmetric.quantize_queries(values, 1, "uniform")
    lloyd = _asymmetric.quantize_queries(values, 1, "lloyd")
    np.testing.assert_array_equal(uniform[0], lloyd[0])


def test_lloyd_levels_keep_recall_on_heavy_tailed_queries():
    """Queries with a few large magnitudes: Lloyd-Max levels rank closer to the
    float query than uniform levels (the reason for the default)."""
    rng = np.random.default_rng(5)
    nbits = 64
    database = rng.standard_normal((3000, nbits))
    queries = rng.standard_t(2, size=(200, nbits))
    exact = AsymmetricNeighbors(FixedValues(nbits), n_neighbors=10, query_bits=None)
    truth = exact.fit(database).kneighbors(queries, return_distance=False)
    overlap = {}
    for quantizer in ("uniform", "lloyd"):
        search = AsymmetricNeighbors(
            FixedValues(nbits), n_neighbors=10, query_quantizer=quantizer
        )
        found = search.fit(database).kneighbors(queries, return_distance=False)
        overlap[quantizer] = np.mean(
            [len(np.intersect1d(a, b)) / 10 for a, b in zip(found, truth)]
        )
    assert overlap["lloyd"] > overlap["uniform"] + 0.02, overlap


@pytest.mark.parametrize("nbits", [7, 64, 200])
def test_float_search_equals_reference_with_exact_sums(nbits):
    rng = np.random.default_rng(nbits)
    database = _tied_data(250, nbits, 30, rng, dyadic=True)
    # multiples of 1/8 below 4 in magnitude, and a 4: the values divided by
    # their largest magnitude stay dyadic, so float32 sums of them are exact
    queries = np.clip(np.round(rng.standard_normal((9, nbits)) * 8) / 8, -3.875, 3.875)
    queries[:, 0] = 4.0
    queries[0] = database[3]  # distance exactly 0 to every copy of row 3
    queries[0, 0] = 4.0 if database[3, 0] > 0 else -4.0
    search = AsymmetricNeighbors(FixedValues(nbits), n_neighbors=40, query_bits=None)
    distances, indices = search.fit(database).kneighbors(queries)
    want_d, want_i = reference_kneighbors(queries, database > 0, None, 40)
    np.testing.assert_array_equal(indices, want_i)
    np.testing.assert_array_equal(distances, want_d)
    assert distances[0, 0] == 0


@pytest.mark.parametrize("scale", [1e-45, 1e-30, 1e30, 1e37])
def test_float_and_quantized_search_at_extreme_scales(scale):
    """The float tables are built on each query's values divided by their largest
    magnitude: neither overflow to inf nor underflow to 0 loses the ranking."""
    rng = np.random.default_rng(11)
    database = rng.standard_normal((300, 64))
    queries = rng.standard_normal((5, 64))
    for query_bits in (None, 4):
        search = AsymmetricNeighbors(
            FixedValues(64), n_neighbors=8, query_bits=query_bits
        )
        search.fit(database)
        want_d, want_i = search.kneighbors(queries)
        got_d, got_i = search.kneighbors(queries * scale)
        np.testing.assert_array_equal(got_i, want_i)
        np.testing.assert_allclose(got_d, want_d * scale, rtol=1e-5)
        assert np.isfinite(got_d).all() and (got_i < 300).all()


def test_one_query_bit_is_hamming_search():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 20))
    hasher = ITQ(nbits=24, random_state=0).fit(X)
    asym = AsymmetricNeighbors(FrozenEstimator(hasher), n_neighbors=12, query_bits=1)
    distances, indices = asym.fit(X).kneighbors(X[:30])
    ham_d, ham_i = (
        HammingNeighbors(n_neighbors=12)
        .fit(hasher.transform(X))
        .kneighbors(hasher.transform(X[:30]))
    )
    np.testing.assert_array_equal(indices, ham_i)
    half_step = np.abs(hasher.decision_function(X[:30])).max(axis=1) / 2
    np.testing.assert_allclose(distances, ham_d * half_step[:, None], rtol=1e-6)


def test_quantize_queries_planes_and_step():
    values = np.array([[0.5, -2.0, 0.0, 1.9, -0.01], [0.0, 0.0, 0.0, 0.0, 0.0]])
    planes, step = _asymmetric.quantize_queries(values, 3)
    np.testing.assert_array_equal(step, [0.5, 0.0])
    signs = unpack_bits(np.ascontiguousarray(planes[:, 0, :1]), 5)
    np.testing.assert_array_equal(signs[0], [1, 0, 0, 1, 0])
    magnitude = sum(
        unpack_bits(np.ascontiguousarray(planes[:, p, :1]), 5).astype(int) << (p - 1)
        for p in (1, 2)
    )
    # floor(|v| / 0.5), the top level capped at 2**2 - 1
    np.testing.assert_array_equal(magnitude[0], [1, 3, 0, 3, 0])
    assert not magnitude[1].any() and not planes[:, :, 1:].any()


def test_all_zero_query_gives_zero_distances_in_hamming_order():
    rng = np.random.default_rng(1)
    database = rng.standard_normal((50, 16))
    search = AsymmetricNeighbors(FixedValues(16), n_neighbors=5).fit(database)
    distances, indices = search.kneighbors(np.zeros((1, 16)))
    assert not distances.any()
    bits = database > 0
    np.testing.assert_array_equal(
        indices[0], np.lexsort((np.arange(50), bits.sum(1)))[:5]
    )


def test_blocks_and_threads_do_not_change_results(monkeypatch):
    """Query blocks of the estimator (several per call), the kernels' blocks of
    32 queries split across 2 threads, and database chunks (2,500 codes: more
    than one) give the results of one thread and one block."""
    rng = np.random.default_rng(2)
    database = _tied_data(2500, 96, 60, rng)
    queries = rng.standard_normal((150, 96))
    for query_bits in (4, None):
        search = AsymmetricNeighbors(FixedValues(96), query_bits=query_bits, n_jobs=1)
        want = search.fit(database).kneighbors(queries)
        monkeypatch.setattr(_asymmetric, "_PLANE_BLOCK", 70)
        monkeypatch.setattr(_asymmetric, "_TABLE_BLOCK", 3)
        got = search.set_params(n_jobs=2).kneighbors(queries)
        monkeypatch.undo()
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
        # and one query at a time (the single-query kernels)
        single = [search.kneighbors(queries[i : i + 1]) for i in range(0, 150, 37)]
        for i, (d, j) in zip(range(0, 150, 37), single):
            np.testing.assert_array_equal(j[0], want[1][i])
            np.testing.assert_array_equal(d[0], want[0][i])


def test_x_none_excludes_each_point_with_hamming_distances():
    rng = np.random.default_rng(3)
    X = _tied_data(120, 32, 25, rng)
    search = AsymmetricNeighbors(FixedValues(32), n_neighbors=6).fit(X)
    distances, indices = search.kneighbors()
    codes = pack_bits(X > 0)
    ham_d, ham_i = HammingNeighbors(n_neighbors=6).fit(codes).kneighbors()
    np.testing.assert_array_equal(indices, ham_i)
    np.testing.assert_array_equal(distances, ham_d)
    assert not (indices == np.arange(120)[:, None]).any()


def test_asymmetric_beats_hamming_on_the_same_codes():
    """The embedded SIFT sample, ITQ at 32 bits: 1-recall@10 measured 0.46
    (asymmetric, 4 query bits) against 0.33 (Hamming) at seed 0, and 0.43-0.45
    against 0.29-0.31 at seeds 1 and 2."""
    data = load_sift_skimage()
    hasher = ITQ(nbits=32, random_state=0).fit(data.base)
    truth = data.ground_truth[:, :1]
    hamming = (
        HammingNeighbors(n_neighbors=10)
        .fit(hasher.transform(data.base))
        .score(hasher.transform(data.query), truth)
    )
    asym = AsymmetricNeighbors(FrozenEstimator(hasher)).fit(data.base)
    assert asym.score(data.query, truth) >= hamming + 0.08
    exact = asym.set_params(query_bits=None).score(data.query, truth)
    assert abs(asym.set_params(query_bits=4).score(data.query, truth) - exact) < 0.03


def test_frozen_hasher_is_used_as_is_and_asymmetric_linv_codes():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 10))
    hasher = LSH(nbits=16, random_state=0).fit(X)
    frozen = FrozenEstimator(hasher)
    search = AsymmetricNeighbors(frozen).fit(X[:150])
    assert search.hasher_ is frozen
    np.testing.assert_array_equal(search.codes_, hasher.transform(X[:150]))
    assert search.index_nbytes_ == 150 * 2 and search.n_bits_ == 16

    linv = AsymmetricLinV(
        nbits=8, n_neighbors=5, n_epochs=1, max_iter=1, block_size=60, random_state=0
    )
    search = AsymmetricNeighbors(linv, n_neighbors=3).fit(X)
    np.testing.assert_array_equal(search.codes_, clone(linv).fit_transform(X))
    assert search.predict(X[:5]).shape == (5, 3)


def test_pickle_round_trip_and_predict_score():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 12))
    search = AsymmetricNeighbors(ITQ(nbits=16, random_state=0), n_neighbors=4).fit(X)
    again = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(again.predict(X[:20]), search.predict(X[:20]))
    truth = search.predict(X[:20])
    assert search.score(X[:20], truth) == 1.0
    assert search.score(X[:20], truth[:, :1]) == 1.0


def test_grid_search_over_query_bits_and_hasher_parameters():
    data = load_sift_skimage()
    X, y, cv = query_database_split(data.base[:3000], data.query[:60], n_neighbors=10)
    search = GridSearchCV(
        AsymmetricNeighbors(ITQ(random_state=0)),
        {"query_bits": [1, 4, None], "hasher__nbits": [16, 32]},
        cv=cv,
        scoring=make_recall_scorer(k=10, n_true=1),
        refit=False,
    ).fit(X, y)
    scores = dict(
        zip(
            map(str, search.cv_results_["params"]),
            search.cv_results_["mean_test_score"],
        )
    )
    assert search.best_params_["hasher__nbits"] == 32
    assert search.best_params_["query_bits"] in (4, None)
    # query_bits=1 is the Hamming search: the asymmetric settings beat it
    one = scores[str({"hasher__nbits": 32, "query_bits": 1})]
    assert scores[str({"hasher__nbits": 32, "query_bits": 4})] > one


@pytest.mark.parametrize("query_bits", [0, 9, 2.5, "4"])
def test_bad_query_bits(query_bits):
    with pytest.raises(ValueError, match="query_bits"):
        AsymmetricNeighbors(SignHashing(), query_bits=query_bits).fit(np.ones((5, 3)))


def test_hasher_without_decision_function():
    with pytest.raises((TypeError, ValueError), match="hasher"):
        AsymmetricNeighbors(HammingNeighbors()).fit(np.ones((5, 3)))
    with pytest.raises(TypeError, match="decision_function"):
        RerankNeighbors(HammingNeighbors(), first_stage="asymmetric").fit(
            np.ones((5, 3))
        )


def test_bad_queries_and_shapes():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((40, 8))
    with pytest.raises(NotFittedError):
        AsymmetricNeighbors(SignHashing()).kneighbors(X)
    search = AsymmetricNeighbors(SignHashing(), n_neighbors=3).fit(X)
    bad = X[:2].copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        search.kneighbors(bad)
    bad[0, 1] = np.inf
    with pytest.raises(ValueError, match="infinity|inf"):
        search.kneighbors(bad)
    with pytest.raises(ValueError, match="features"):
        search.kneighbors(X[:2, :5])
    with pytest.raises(ValueError, match="n_neighbors"):
        search.kneighbors(X[:2], n_neighbors=41)
    with pytest.raises(ValueError, match="n_neighbors"):
        search.kneighbors(n_neighbors=40)
    with pytest.raises(ValueError, match="n_neighbors"):
        search.kneighbors(X[:2], n_neighbors=0)
    # a hasher whose decision values overflow to infinity
    huge = AsymmetricNeighbors(FixedValues(8), n_neighbors=2).fit(X)
    huge.hasher_ = FrozenEstimator(_Scaled(1e308).fit(X))
    with pytest.raises(ValueError, match="infinite"), np.errstate(over="ignore"):
        huge.kneighbors(X[:2] * 10)
    # codes whose width does not match the decision values
    with pytest.raises(ValueError, match="bytes"):
        AsymmetricNeighbors(_WrongWidth()).fit(X)


class _Scaled(FixedValues):
    def __init__(self, scale=1.0, nbits=8):
        self.scale = scale
        self.nbits = nbits

    def decision_function(self, X):
        return super().decision_function(X) * self.scale


class _WrongWidth(FixedValues):
    def transform(self, X):
        return np.zeros((len(X), 3), dtype=np.uint8)


class _Returns(FixedValues):
    """A 'hasher' whose decision_function returns ``make(values)``."""

    def __init__(self, make=None, nbits=8):
        self.make = make
        self.nbits = nbits

    def decision_function(self, X):
        return self.make(super().decision_function(X))

    def transform(self, X):
        return pack_bits(super().decision_function(X) > 0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda v: v[:, 0], "shape"),
        (lambda v: v.astype(object), "real numbers"),
        (lambda v: v + 1j, "real numbers"),
        (lambda v: v[:, :, None], "shape"),
    ],
)
def test_malformed_decision_values_are_rejected_at_fit_and_search(make, match):
    X = np.random.default_rng(8).standard_normal((20, 8))
    with pytest.raises(ValueError, match=match):
        AsymmetricNeighbors(_Returns(make)).fit(X)
    search = AsymmetricNeighbors(_Returns(lambda v: v)).fit(X)
    search.hasher_ = _Returns(make).fit(X)
    with pytest.raises(ValueError, match=match):
        search.kneighbors(X[:2])


def test_a_list_of_decision_values_is_taken_as_an_array():
    X = np.random.default_rng(8).standard_normal((20, 8))
    got = AsymmetricNeighbors(_Returns(lambda v: v.tolist()), n_neighbors=3).fit(X)
    want = AsymmetricNeighbors(FixedValues(), n_neighbors=3).fit(X)
    np.testing.assert_array_equal(got.kneighbors(X[:4])[1], want.kneighbors(X[:4])[1])


def test_codes_with_padding_bits_set_are_rejected():
    class DirtyPadding(FixedValues):
        def transform(self, X):
            codes = super().transform(X)
            codes[0] |= 0x80
            return codes

    with pytest.raises(ValueError, match="padding"):
        AsymmetricNeighbors(DirtyPadding(nbits=5)).fit(np.ones((2, 5)))
    # full bytes have no padding: the same bit is then a real bit
    AsymmetricNeighbors(DirtyPadding(nbits=8), n_neighbors=1).fit(np.ones((2, 8)))


def test_codes_too_wide_for_int32_scores_are_rejected(monkeypatch):
    monkeypatch.setattr(_asymmetric, "_MAX_BITS", 16)
    X = np.ones((3, 17))
    with pytest.raises(ValueError, match="too wide"):
        AsymmetricNeighbors(FixedValues(17)).fit(X)
    AsymmetricNeighbors(FixedValues(16), n_neighbors=1).fit(X)
    assert _asymmetric._MAX_BITS < 2**31 // 255 + 1


def test_query_values_whose_sum_overflows_are_rejected():
    X = np.random.default_rng(9).uniform(-1, 1, (20, 8))
    search = AsymmetricNeighbors(_Scaled(1e308), n_neighbors=2).fit(X)
    queries = np.full((2, 8), 1.5)
    with pytest.raises(ValueError, match="overflows"):
        search.kneighbors(queries)
    search.kneighbors(queries / 100)  # a sum of 8 values of 1.5e306 is finite


def test_wide_codes_are_searched_in_smaller_query_blocks():
    X = np.random.default_rng(10).standard_normal((30, 8192))
    search = AsymmetricNeighbors(FixedValues(8192), n_neighbors=2).fit(X)
    assert search._query_block() == 512
    assert search.set_params(query_bits=None)._query_block() == 6
    narrow = AsymmetricNeighbors(FixedValues(128)).fit(X)
    assert narrow._query_block() == _asymmetric._PLANE_BLOCK


@pytest.mark.parametrize(
    "params",
    [
        {"query_bits": 0},
        {"query_bits": 2.5},
        {"query_bits": True},
        {"query_quantizer": "bogus"},
        {"n_jobs": 0},
        {"n_jobs": 1.5},
    ],
)
def test_search_parameters_are_checked_at_fit_and_after_set_params(params):
    X = np.random.default_rng(11).standard_normal((30, 8))
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        AsymmetricNeighbors(SignHashing(), **params).fit(X)
    search = AsymmetricNeighbors(SignHashing(), n_neighbors=2).fit(X)
    with pytest.raises(ValueError, match=name):
        search.set_params(**params).kneighbors(X[:2])


def test_n_jobs_zero_is_rejected_by_every_search():
    X = np.random.default_rng(12).standard_normal((30, 8))
    codes = SignHashing().fit_transform(X)
    for search, data in [
        (HammingNeighbors(n_jobs=0), codes),
        (RerankNeighbors(SignHashing(), n_candidates=10, n_jobs=0), X),
    ]:
        with pytest.raises(ValueError, match="n_jobs"):
            search.fit(data)


def test_rerank_asymmetric_first_stage():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((600, 24)).astype(np.float32)
    queries = X[:40] + 0.3 * rng.standard_normal((40, 24)).astype(np.float32)
    exact = RerankNeighbors(SignHashing(), n_candidates=600).fit(X)
    asym = RerankNeighbors(SignHashing(), n_candidates=600, first_stage="asymmetric")
    # every vector a candidate: both stages give the exact search
    for a, b in zip(asym.fit(X).kneighbors(queries), exact.kneighbors(queries)):
        np.testing.assert_array_equal(a, b)
    # with few candidates: the re-scored set is the asymmetric top n_candidates
    # (uniform query levels: the first stage's speed matters more than order)
    asym.set_params(n_candidates=30, n_neighbors=5).fit(X)
    candidates = AsymmetricNeighbors(
        SignHashing(), n_neighbors=30, query_quantizer="uniform"
    ).fit(X)
    pool = candidates.predict(queries)
    got = asym.predict(queries)
    assert all(set(g) <= set(p) for g, p in zip(got, pool))
    # X=None: Hamming candidates among the database codes either way, self
    # excluded (only codes and vectors are stored: no query values to score)
    own = asym.kneighbors(n_neighbors=3)
    hamming = clone(asym).set_params(first_stage="hamming").fit(X)
    for a, b in zip(own, hamming.kneighbors(n_neighbors=3)):
        np.testing.assert_array_equal(a, b)
    assert not (own[1] == np.arange(600)[:, None]).any()
