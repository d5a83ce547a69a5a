"""Hamming candidates re-scored exactly with the original vectors."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import N_JOBS_CONSTRAINT
from .._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _openmp_effective_n_threads,
)
from .._neighbors_exact import l2_normalize_rows
from ._asymmetric import AsymmetricNeighbors
from ._hamming import HammingNeighbors, check_n_neighbors
from ._rescore import rescore_kneighbors
from ._stages import (
    NeighborsPredictScoreMixin,
    check_search_params,
    checked_codes,
    decision_width,
    fit_hasher,
    without_self,
)

# float32 values quantized to int8 at once by fit: 2**21 are 8 MiB.
_QUANTIZE_BUDGET = 1 << 21
# Candidate indices (queries x candidates, int64) held at once: 32 MiB.
_CANDIDATE_BUDGET = 1 << 22
# int8 vectors use the symmetric range [-127, 127], so that 0 stays exactly 0.
_INT8_MAX = 127


class RerankNeighbors(NeighborsPredictScoreMixin, BaseEstimator):
    """Nearest neighbours by binary-code candidates re-scored with the original vectors.

    The two-stage search used with binary quantization of embeddings: a
    hasher encodes the database, :class:`HammingNeighbors` (or, with
    ``first_stage="asymmetric"``, :class:`AsymmetricNeighbors`) finds the
    ``n_candidates`` nearest codes of each query, and those candidates are
    re-scored exactly in the float metric with the stored vectors, which
    returns the ``n_neighbors`` best. Codes make the first stage cheap (one
    popcount per 64 bits); the second touches only ``n_candidates`` vectors
    per query, so recall comes close to exact search at a fraction of its
    cost. This is faiss's ``IndexRefine`` (with ``k_factor = n_candidates /
    n_neighbors``) and the re-scoring step of sentence-transformers' binary
    quantization.

    ``predict`` returns neighbour indices and ``score`` their recall, as
    :class:`HammingNeighbors`, so ``GridSearchCV`` on a
    :func:`~sklearn_hash.model_selection.query_database_split` tunes
    ``n_candidates`` and the hasher's parameters (``hasher__center``, ...).

    Parameters
    ----------
    hasher : estimator with ``fit`` and ``transform``
        Encodes vectors as packed uint8 codes (any hasher of this package,
        or a :class:`~sklearn.pipeline.Pipeline` ending in one). It is cloned
        and fitted on the database by ``fit`` (database codes from its
        ``fit_transform``, which for an asymmetric hasher such as
        :class:`AsymmetricLinV` are its learned database codes). To use an
        already fitted hasher, wrap it in
        :class:`sklearn.frozen.FrozenEstimator`: it is then used as is, and
        the database is encoded by its ``encode_database`` method where it
        has one, else by ``transform``. Queries are encoded by ``transform``
        for the Hamming first stage, scored through ``decision_function`` for
        the asymmetric one.
    n_neighbors : int, default=10
        Number of neighbours returned by ``kneighbors`` and ``predict``
        unless given in the call.
    n_candidates : int, default=100
        Hamming candidates re-scored per query, at least ``n_neighbors``.
        Values at or above the database size re-score every vector, which
        is exact search.
    metric : {"cosine", "euclidean", "dot"}, default="cosine"
        Metric of the re-scoring: cosine distance ``1 - cos(q, x)``,
        Euclidean distance, or ``"dot"``, the negated inner product
        ``-q.x`` (maximum inner product search, returned ascending).
    vector_dtype : {"float32", "int8"}, default="float32"
        Storage of the database vectors: float32, or int8 with one scale per
        dimension (4x smaller; see Notes).
    first_stage : {"hamming", "asymmetric"}, default="hamming"
        How candidates are found: Hamming distance between the query's code
        and the database codes, or the asymmetric distance of the query's
        real values (:class:`AsymmetricNeighbors` with ``query_bits=4`` and
        ``query_quantizer="uniform"``), which ranks the true neighbours
        higher, so fewer candidates reach the same recall; it needs a hasher
        with ``decision_function``. Uniform query levels, not the Lloyd-Max
        levels of :class:`AsymmetricNeighbors`' default: the candidates are
        re-scored exactly, so only which ones are found matters, and uniform
        levels find as many (10-recall@10 0.956 against 0.959 behind 40
        candidates on MiniLM embeddings) several times faster on small
        databases, where the per-query Lloyd-Max iterations dominate.
        ``kneighbors(X=None)`` has no query values to score (only codes and
        vectors are stored): its candidates are Hamming ones either way.
    n_jobs : int, default=None
        Threads for both stages, with the semantics of scikit-learn's
        OpenMP-based estimators: ``None`` uses every available core, as
        limited by ``OMP_NUM_THREADS`` or :mod:`threadpoolctl`; negative
        values count back from the number of cores.

    Attributes
    ----------
    hasher_ : estimator
        The fitted hasher (a clone of ``hasher``, or ``hasher`` itself when it
        is a :class:`~sklearn.frozen.FrozenEstimator`).
    index_ : HammingNeighbors or AsymmetricNeighbors
        Index of the database codes (the first stage).
    vectors_ : ndarray of shape (n_samples_fit, n_features), dtype float32 or int8
        Stored database vectors; L2-normalised first for ``metric="cosine"``;
        for int8, the vectors divided by ``scale_`` and rounded.
    scale_ : ndarray of shape (n_features,), dtype float32
        Per-dimension scale of the int8 vectors (ones for float32): the
        stored vector is ``vectors_ * scale_``.
    n_samples_fit_ : int
        Number of database vectors.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    SignHashing : Binary quantization, the usual first stage.
    HammingNeighbors : The Hamming search alone.
    AsymmetricNeighbors : The asymmetric search alone.
    sklearn.neighbors.NearestNeighbors : Exact search over all vectors.

    Notes
    -----
    For a query :math:`q`, let :math:`C(q)` be its ``n_candidates`` nearest
    database codes in Hamming (or asymmetric) distance, ties by the smaller
    index. The
    result is the ``n_neighbors`` smallest :math:`(d(q, x_j), j)`,
    :math:`j \\in C(q)`, in lexicographic order: ties in the metric are
    broken by the smaller index. It is exact whenever the true neighbours
    are among the candidates, always when ``n_candidates >= n_samples_fit``.
    Distances are computed in float32, one candidate at a time, from the
    stored vectors, so equal stored vectors give equal distances.

    int8 storage: with :math:`s_i = \\max_j |x_{ji}| / 127` over the
    database (after normalisation for cosine; 1 for an all-zero dimension),
    the stored value is :math:`\\operatorname{round}(x_{ji} / s_i)`; queries
    are not quantized (asymmetric distance), and the re-scoring uses
    :math:`q^\\top \\operatorname{diag}(s) c_j` for the inner product. The
    rounding error is at most :math:`s_i / 2` per coordinate.

    Memory: the codes (``ceil(nbits / 8)`` bytes per vector) plus the
    vectors (``4 d`` bytes for float32, ``d`` for int8). Queries are
    processed in chunks, so whatever the number of queries the working
    memory is about 32 MiB of candidate indices. The re-scoring (a compiled
    kernel, ``n_jobs`` threads over the queries) reads each candidate's
    stored row in place, with no gathered copy, and keeps each query's best
    ``n_neighbors`` in a bounded heap.

    ``kneighbors(X=None)`` searches the database against itself, each point
    excluded from its own result (scikit-learn's rule); the candidates are
    then found among the database codes, so for an asymmetric hasher they
    compare database codes with database codes.

    References
    ----------
    .. [1] H. Jégou, R. Tavenard, M. Douze, L. Amsaleg, "Searching in one
       billion vectors: re-rank with source coding", ICASSP 2011 (re-ranking
       of compressed-domain candidates; faiss's ``IndexRefine``).
    .. [2] A. Shakir, T. Aarsen, S. Lee, "Binary and Scalar Embedding
       Quantization for Significantly Faster & Cheaper Retrieval", Hugging
       Face blog, 2024 (binary quantization with rescoring).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hash import RerankNeighbors, SignHashing
    >>> rng = np.random.RandomState(0)
    >>> database = rng.standard_normal((1000, 32))
    >>> queries = database[:3] + 0.01 * rng.standard_normal((3, 32))
    >>> search = RerankNeighbors(SignHashing(), n_neighbors=2, n_candidates=20)
    >>> search.fit(database).predict(queries)[:, 0]
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        "hasher": [HasMethods(["fit", "transform"])],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"cosine", "euclidean", "dot"})],
        "vector_dtype": [StrOptions({"float32", "int8"})],
        "first_stage": [StrOptions({"hamming", "asymmetric"})],
        "n_jobs": N_JOBS_CONSTRAINT,
    }
    # fixed by fit (the stored vectors and the first stage depend on them)
    _fit_params = ("metric", "vector_dtype", "first_stage")

    def __init__(
        self,
        hasher,
        *,
        n_neighbors=10,
        n_candidates=100,
        metric="cosine",
        vector_dtype="float32",
        first_stage="hamming",
        n_jobs=None,
    ):
        self.hasher = hasher
        self.n_neighbors = n_neighbors
        self.n_candidates = n_candidates
        self.metric = metric
        self.vector_dtype = vector_dtype
        self.first_stage = first_stage
        self.n_jobs = n_jobs

    # the hasher's own parameters are validated by its fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the hasher, index the database codes and store the vectors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Database vectors.
        y : None
            Ignored (accepted so that ``GridSearchCV`` can pass its ``y``).

        Returns
        -------
        self : RerankNeighbors
            The fitted search.
        """
        if self.n_candidates < self.n_neighbors:
            raise ValueError(
                f"n_candidates must be at least n_neighbors, got n_candidates="
                f"{self.n_candidates} < n_neighbors={self.n_neighbors}"
            )
        if self.first_stage == "asymmetric" and not hasattr(
            self.hasher, "decision_function"
        ):
            raise TypeError(
                "first_stage='asymmetric' scores the hasher's decision_function, "
                f"which {type(self.hasher).__name__} does not have"
            )
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        self.hasher_, codes = fit_hasher(self.hasher, X)
        # the index's default k is the candidates' count: "auto" measures
        # its engine for that k at fit
        first_k = max(1, min(self.n_candidates, len(X) - 1))
        if self.first_stage == "hamming":
            self.index_ = HammingNeighbors(n_neighbors=first_k, n_jobs=self.n_jobs)
            self.index_.fit(codes)
        else:
            self.index_ = AsymmetricNeighbors._from_fitted(
                self.hasher_,
                codes,
                decision_width(self.hasher_, X),
                n_neighbors=first_k,
                # candidates are re-scored exactly: their order matters less
                # than the first stage's speed (see first_stage)
                query_quantizer="uniform",
                n_jobs=self.n_jobs,
            )
        self.n_samples_fit_ = len(X)
        self._store_vectors(X)
        self._fitted_with = {name: getattr(self, name) for name in self._fit_params}
        return self

    def _check_search_params(self):
        """The parameters a search reads, checked again: ``set_params`` may have
        changed them since fit."""
        check_search_params(self, ("n_candidates", "n_jobs", *self._fit_params))
        changed = [
            name
            for name, value in self._fitted_with.items()
            if getattr(self, name) != value
        ]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} changed since fit, and fit stored the vectors "
                "and built the first stage by them: call fit again"
            )

    def _store_vectors(self, X):
        """vectors_ and scale_ from the validated database X."""
        vectors = self._prepared(X)
        if self.vector_dtype == "float32":
            self.vectors_ = vectors
            self.scale_ = np.ones(X.shape[1], dtype=np.float32)
            return
        absmax = np.abs(vectors).max(axis=0)
        self.scale_ = np.where(absmax > 0, absmax / _INT8_MAX, 1).astype(np.float32)
        self.vectors_ = np.empty(vectors.shape, dtype=np.int8)
        # block by rows so the division never doubles the float32 copy
        rows = max(1, _QUANTIZE_BUDGET // X.shape[1])
        for start in range(0, len(vectors), rows):
            block = np.rint(vectors[start : start + rows] / self.scale_)
            self.vectors_[start : start + rows] = np.clip(block, -_INT8_MAX, _INT8_MAX)

    def _prepared(self, X):
        """Vectors as the metric compares them: float32, unit rows for cosine."""
        if self.metric == "cosine":
            with np.errstate(over="ignore", under="ignore"):
                X32 = np.asarray(X, dtype=np.float32)
            if X.dtype == np.float64:
                # rows that float32 cannot hold are normalised before the cast
                f32 = np.finfo(np.float32)
                top = np.abs(X).max(axis=1)
                odd = (top > f32.max) | ((top > 0) & (top < f32.tiny))
                if odd.any():
                    X32[odd] = l2_normalize_rows(X[odd])
            return np.ascontiguousarray(l2_normalize_rows(X32))
        # distances are float32: |x - y|^2 and x.y must not overflow
        limit = np.sqrt(np.finfo(np.float32).max / (4 * X.shape[1]))
        largest = np.abs(X).max(initial=0.0)
        if largest > limit:
            raise ValueError(
                f"the {self.metric} distances are computed in float32, so with "
                f"{X.shape[1]} features |X| must stay below {limit:.3g}; got "
                f"{largest:.3g}: rescale the vectors"
            )
        return np.ascontiguousarray(X, dtype=np.float32)

    # -- search ------------------------------------------------------------------
    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest database vectors of each query, via Hamming candidates.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query vectors. ``None`` queries the database vectors themselves,
            each one excluded from its own result (scikit-learn's rule).
        n_neighbors : int, default=None
            Number of neighbours, at most ``n_candidates``; defaults to the
            constructor's value.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors), dtype float32
            Distances in the metric, ascending (``-q.x`` for ``"dot"``).
            Only if ``return_distance``.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Database indices, ordered by (distance, index).
        """
        check_is_fitted(self)
        self._check_search_params()
        k = check_n_neighbors(
            n_neighbors, self.n_neighbors, self.n_samples_fit_, X is None
        )
        if k > self.n_candidates:
            raise ValueError(
                f"n_neighbors={k} exceeds n_candidates={self.n_candidates}: only "
                "the candidates are re-scored; raise n_candidates"
            )
        available = self.n_samples_fit_ - (X is None)
        n_candidates = min(self.n_candidates, available)
        if X is not None:
            X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
            queries = self._prepared(X)
        n_queries = self.n_samples_fit_ if X is None else len(X)
        distances = np.empty((n_queries, k), dtype=np.float32)
        indices = np.empty((n_queries, k), dtype=np.int64)
        chunk = max(1, min(n_queries, _CANDIDATE_BUDGET // n_candidates))
        for start in range(0, n_queries, chunk):
            rows = slice(start, start + chunk)
            if X is None:  # the stored vectors, dequantized chunk by chunk
                candidates = self._own_candidates(rows, n_candidates)
                chunk_queries = self.vectors_[rows].astype(np.float32) * self.scale_
            else:
                candidates = self._candidates(X[rows], n_candidates)
                chunk_queries = queries[rows]
            distances[rows], indices[rows] = self._rescore(chunk_queries, candidates, k)
        return (distances, indices) if return_distance else indices

    def _candidates(self, X, n_candidates):
        """First-stage candidates of the query vectors X."""
        if self.first_stage == "hamming":
            X = checked_codes(self.hasher_.transform(X), len(X), self.hasher)
        return self.index_.kneighbors(
            X, n_neighbors=n_candidates, return_distance=False
        )

    def _own_candidates(self, rows, n_candidates):
        """Candidates of the database codes in ``rows``, each excluded from its
        own (HammingNeighbors' X=None rule): the first stage compares database
        codes with database codes, so both stages give Hamming candidates."""
        own = np.arange(self.n_samples_fit_)[rows]
        codes = self.index_.codes_[rows]
        if self.first_stage == "hamming":
            found = self.index_.kneighbors(
                codes, n_neighbors=n_candidates + 1, return_distance=False
            )
        else:
            found = self.index_._code_kneighbors(codes, n_candidates + 1)[1]
        return without_self(own, found)[0]

    def _rescore(self, queries, candidates, k):
        """Exact (distance, index) top-k of each query among its candidates."""
        n_q = len(candidates)
        distances = np.empty((n_q, k), dtype=np.float32)
        indices = np.empty((n_q, k), dtype=np.int64)
        n_threads = max(1, min(_openmp_effective_n_threads(self.n_jobs), n_q))
        rescore_kneighbors(
            self.vectors_,
            self.scale_,
            np.ascontiguousarray(queries, dtype=np.float32),
            np.ascontiguousarray(candidates, dtype=np.int64),
            self.metric,
            distances,
            indices,
            np.empty((n_threads, self.vectors_.shape[1]), dtype=np.float32),
        )
        return distances, indices

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
