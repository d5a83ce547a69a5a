"""Exact search in Hamming space over packed binary codes, and re-ranking."""

from ._hamming import HammingNeighbors
from ._rerank import RerankNeighbors

__all__ = ["HammingNeighbors", "RerankNeighbors"]
