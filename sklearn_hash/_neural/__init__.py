"""NeuralProxyHash (NPhash) and its NumPy network: layers, loss, optimiser."""

from ._nphash import NeuralProxyHash

__all__ = ["NeuralProxyHash"]
