"""Exact search in Hamming space over packed binary codes, asymmetric search and
re-ranking."""

from ._asymmetric import AsymmetricNeighbors
from ._environment import apply_environment
from ._hamming import HammingNeighbors
from ._rerank import RerankNeighbors

apply_environment()

__all__ = ["AsymmetricNeighbors", "HammingNeighbors", "RerankNeighbors"]
