"""Asymmetric binary hashing (Neyshabur et al., NIPS 2013), split as ``_neural/`` is.

- ``_linv.py``: the estimator :class:`~sklearn_hash.AsymmetricLinV` (fit loop,
  encoding of queries and of new database items);
- ``_objective.py``: the pair loss, the gain of a bit flip, the sampled loss
  and threshold, the closed-form database bit;
- ``_solvers.py``: the row solvers that fit one query (or database) hyperplane;
- ``_graphs.py``: the neighbour relations learned, on the shared exact search.
"""

from ._linv import AsymmetricLinV

__all__ = ["AsymmetricLinV"]
