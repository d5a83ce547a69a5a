"""sklearn_hash: learned binary codes and exact Hamming search, the scikit-learn way."""

from ._asymmetric import AsymmetricLinV
from ._bits import pack_bits, unpack_bits
from ._itq import ITQ, PCAHashing
from ._lsh import LSH
from ._neural import NeuralProxyHash
from ._show_versions import show_versions
from ._sign import SignHashing
from ._spectral import SpectralHashing
from ._version import __version__
from .neighbors import AsymmetricNeighbors, HammingNeighbors, RerankNeighbors

__all__ = [
    "AsymmetricLinV",
    "AsymmetricNeighbors",
    "ITQ",
    "LSH",
    "NeuralProxyHash",
    "HammingNeighbors",
    "PCAHashing",
    "RerankNeighbors",
    "SignHashing",
    "SpectralHashing",
    "__version__",
    "pack_bits",
    "show_versions",
    "unpack_bits",
]
