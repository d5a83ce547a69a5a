"""scikit-learn's common checks over every public estimator, from one table.

Model: scikit-learn's ``sklearn/tests/test_common.py`` with
``sklearn/utils/_test_common/instance_generator.py``: ``ESTIMATORS`` lists the
instances to check (small, fast, seeded settings), ``expected_failed_checks``
gives every check that cannot apply with its reason.

HammingNeighbors is strict as faiss is: it takes packed uint8 codes and
raises TypeError for anything else, so the checks that feed it float data
cannot apply; the same properties are re-tested on uint8 codes in
tests/test_hamming.py (pickle, idempotence, subset/order invariance,
n_features_in_, read-only memmaps, bad input). Each hasher is also checked
inside ``make_pipeline(hasher, HammingNeighbors())``, where float data is valid.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import DBSCAN
from sklearn.manifold import TSNE, Isomap
from sklearn.neighbors import KNeighborsTransformer
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from sklearn_hash import (
    ITQ,
    LSH,
    AsymmetricLinV,
    AsymmetricNeighbors,
    HammingNeighbors,
    NeuralProxyHash,
    PCAHashing,
    RerankNeighbors,
    SignHashing,
    SpectralHashing,
    pack_bits,
)

NPHASH_FAST = {
    "hidden_layer_sizes": (8,),
    "n_proxies": 20,
    "n_neighbors": 5,
    "batch_size": 16,
    "max_iter": 2,
    "early_stopping": False,
}
ASYMMETRIC_FAST = {"n_neighbors": 5, "n_epochs": 1, "max_iter": 1, "block_size": 60}

# random_state fixed everywhere: the checks cannot seed a step inside a Pipeline
HASHERS = [
    LSH(nbits=16),
    LSH(nbits=70, rotate=True, train_thresholds=True),
    ITQ(nbits=12, random_state=0),
    ITQ(nbits=70, n_iter=5, random_state=0),
    PCAHashing(nbits=3),
    SpectralHashing(nbits=12),
    SpectralHashing(nbits=70, n_components=1),
    SignHashing(),
    SignHashing(center=True),
    AsymmetricLinV(nbits=3, random_state=0, **ASYMMETRIC_FAST),
    NeuralProxyHash(nbits=12, random_state=0, **NPHASH_FAST),
    NeuralProxyHash(
        nbits=12, random_state=0, **{**NPHASH_FAST, "hidden_layer_sizes": ()}
    ),
]
PIPELINES = [
    make_pipeline(LSH(random_state=0), HammingNeighbors()),
    make_pipeline(ITQ(nbits=16, random_state=0), HammingNeighbors()),
    make_pipeline(PCAHashing(nbits=3), HammingNeighbors()),
    make_pipeline(SpectralHashing(nbits=16), HammingNeighbors()),
    make_pipeline(SignHashing(), HammingNeighbors()),
]
ESTIMATORS = [
    *HASHERS,
    HammingNeighbors(),
    HammingNeighbors(algorithm="mih"),
    HammingNeighbors(metric="jaccard"),
    HammingNeighbors(metric="jaccard", algorithm="brute"),
    RerankNeighbors(SignHashing()),
    RerankNeighbors(
        LSH(nbits=16, random_state=0), metric="euclidean", vector_dtype="int8"
    ),
    RerankNeighbors(ITQ(nbits=8, random_state=0), first_stage="asymmetric"),
    AsymmetricNeighbors(ITQ(nbits=12, random_state=0)),
    AsymmetricNeighbors(LSH(nbits=70, random_state=0), query_bits=None),
    AsymmetricNeighbors(SignHashing(), query_bits=1),
    *PIPELINES,
]

FLOAT_INPUT = (
    "the check feeds float data; HammingNeighbors accepts only packed uint8 codes "
    "(TypeError); the property is re-tested on codes in tests/test_hamming.py"
)
HAMMING_FLOAT_CHECKS = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]
ASYMMETRIC_FIT_TRANSFORM = (
    "fit_transform returns the learned database codes of the training set, "
    "transform the query codes: they differ by design (asymmetric hashing)"
)
FLOAT32_ROUNDOFF = (
    "decision_function returns the float32 network's outputs: BLAS round-off "
    "(about 1e-7 relative) depends on which rows share a matrix product, which the "
    "check's atol=1e-9 does not allow for (seen once in a full run); transform's "
    "signs pass the same check, and tests/test_decision_function.py checks the "
    "values row-wise with a float32 tolerance"
)
PIPELINE_STEPS = "known Pipeline limitation: fit replaces `steps` with fitted clones"
PIPELINE_SPARSE = (
    "Pipeline's sparse tag is the AND over its steps (documented as possibly wrong in "
    "sklearn/pipeline.py); the hasher consumes sparse input and HammingNeighbors only "
    "sees dense codes, so the pipeline accepts sparse data its tag denies"
)
SPARSE_TAG_CHECKS = (
    "check_estimator_sparse_tag",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
)


def _pipeline_failures(pipeline):
    failures = {
        "check_estimators_overwrite_params": PIPELINE_STEPS,
        "check_dont_overwrite_parameters": PIPELINE_STEPS,
    }
    first = pipeline.steps[0][1]
    if (
        first.__sklearn_tags__().input_tags.sparse
        and not pipeline.__sklearn_tags__().input_tags.sparse
    ):
        failures.update(dict.fromkeys(SPARSE_TAG_CHECKS, PIPELINE_SPARSE))
    return failures


def expected_failed_checks(estimator):
    """Every check that cannot apply to ``estimator``, with its reason."""
    if isinstance(estimator, HammingNeighbors):
        return dict.fromkeys(HAMMING_FLOAT_CHECKS, FLOAT_INPUT)
    if isinstance(estimator, AsymmetricLinV):
        return {
            "check_transformer_general": ASYMMETRIC_FIT_TRANSFORM,
            "check_transformer_data_not_an_array": ASYMMETRIC_FIT_TRANSFORM,
        }
    if isinstance(estimator, NeuralProxyHash):
        # non-strict: the checks pass in most runs
        return dict.fromkeys(
            (
                "check_methods_sample_order_invariance",
                "check_methods_subset_invariance",
            ),
            FLOAT32_ROUNDOFF,
        )
    if hasattr(estimator, "steps"):
        return _pipeline_failures(estimator)
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
@pytest.mark.filterwarnings("ignore:PCAHashing has only:UserWarning")
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator",
    [e for e in ESTIMATORS if not hasattr(e, "steps")],
    ids=lambda e: type(e).__name__,
)
def test_check_param_validation(estimator):
    # not part of parametrize_with_checks: scikit-learn runs it separately too
    check_param_validation(type(estimator).__name__, clone(estimator))


def _codes_without_ties(n=30, seed=0):
    """Thermometer codes of a Sidon set (Erdos-Turan: 2pi + (i^2 mod p), p prime):
    the Hamming distance of two codes is the difference of their values, and all
    pairwise differences are distinct, so k-NN sets agree under any tie rule."""
    p = 31
    values = np.array([2 * p * i + (i * i) % p for i in range(n)])
    bits = (np.arange(values.max() + 1) < values[:, None]).astype(np.uint8)
    return bits[np.random.default_rng(seed).permutation(n)]


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_graph_feeds_precomputed_consumers_as_kneighbors_transformer():
    """HammingNeighbors.fit_transform is a drop-in KNeighborsTransformer: the same
    sparse graph (Manhattan on 0/1 bits = Hamming), so TSNE, Isomap and DBSCAN with
    metric="precomputed" give the same results on either graph."""
    bits = _codes_without_ties()
    k = 5
    ours = HammingNeighbors(n_neighbors=k).fit_transform(pack_bits(bits))
    reference = KNeighborsTransformer(
        n_neighbors=k, metric="manhattan", mode="distance"
    ).fit_transform(bits.astype(np.float64))
    # same stored entries (each row's own explicit zero included), same distances
    np.testing.assert_array_equal(ours.indptr, reference.indptr)
    for i in range(ours.shape[0]):
        row = slice(ours.indptr[i], ours.indptr[i + 1])
        assert set(ours.indices[row]) == set(reference.indices[row])
    np.testing.assert_array_equal(ours.toarray(), reference.toarray())

    graphs = (ours.astype(np.float64), reference)
    dbscan = DBSCAN(eps=62, min_samples=2, metric="precomputed")
    labels = [dbscan.fit_predict(g) for g in graphs]
    np.testing.assert_array_equal(labels[0], labels[1])
    assert len(set(labels[0])) >= 3  # not vacuous: the chain splits at wide gaps

    isomap = Isomap(n_neighbors=k, n_components=1, metric="precomputed")
    embeddings = [isomap.fit_transform(g) for g in graphs]
    np.testing.assert_allclose(embeddings[0], embeddings[1])

    tsne = TSNE(
        metric="precomputed",
        init="random",
        perplexity=1.5,
        random_state=0,
        max_iter=250,
    )
    embeddings = [clone(tsne).fit_transform(g) for g in graphs]
    np.testing.assert_allclose(embeddings[0], embeddings[1], rtol=1e-5, atol=1e-6)
