"""Exact search in Hamming space over packed binary codes, asymmetric search and
re-ranking."""

from ._asymmetric import AsymmetricNeighbors
from ._hamming import HammingNeighbors
from ._rerank import RerankNeighbors

__all__ = ["AsymmetricNeighbors", "HammingNeighbors", "RerankNeighbors"]
