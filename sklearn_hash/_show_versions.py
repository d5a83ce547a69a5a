"""Report versions and the build of the search kernels (for bug reports)."""

import platform
import sys


def show_versions():
    """Print versions of sklearn_hash, its dependencies and its kernel build.

    The popcount path says which compiled distance loop the Hamming kernels
    use on this CPU (chosen at import, forced with
    ``sklearn_hash.neighbors._kernels.set_popcount_path`` in tests).

    Returns
    -------
    info : dict
        The printed values, by name.

    See Also
    --------
    sklearn.show_versions : The same report for scikit-learn, which this mirrors.

    Examples
    --------
    >>> from sklearn_hash import show_versions
    >>> info = show_versions()  # doctest: +SKIP
    """
    import numpy
    import scipy
    import sklearn
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    from ._version import __version__
    from .neighbors import _kernels

    info = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "sklearn_hash": __version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "popcount path": _kernels.popcount_path(),
        "openmp threads": _openmp_effective_n_threads(),
    }
    for name, value in info.items():
        print(f"{name:>16}: {value}")
    return info
