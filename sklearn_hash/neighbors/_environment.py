"""Kernel paths forced by environment variables, read once when
:mod:`sklearn_hash.neighbors` is imported (e.g. ``SKLEARN_HASH_TANIMOTO_PATH=avx2``
to time the AVX2 kernel on an AVX-512 CPU). An unavailable path is ignored
with a warning. The kernels themselves import nothing of ours."""

import os
import warnings

from . import _asym_kernels, _kernels, _tanimoto_kernels

# variable, the kernels' setter, the values that mean "measure per width"
_FORCED_PATHS = (
    ("SKLEARN_HASH_POPCOUNT_PATH", _kernels.set_popcount_path, ("best",)),
    ("SKLEARN_HASH_ASYM_PATH", _asym_kernels.set_asym_path, ("auto", "best")),
    ("SKLEARN_HASH_TANIMOTO_PATH", _tanimoto_kernels.set_tanimoto_path, ("auto",)),
)


def apply_environment():
    """Force the path each variable names for every code width."""
    for variable, set_path, measured in _FORCED_PATHS:
        forced = os.environ.get(variable)
        if forced and forced not in measured:
            try:
                set_path(forced)
            except ValueError as exc:
                warnings.warn(
                    f"{variable} ignored: {exc}", RuntimeWarning, stacklevel=2
                )
