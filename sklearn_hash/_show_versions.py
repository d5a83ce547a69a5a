"""Report versions and the build of the search kernels (for bug reports)."""

import platform
import sys


def show_versions():
    """Print versions of sklearn_hash, its dependencies and its kernel build.

    The popcount path says which compiled distance loop the Hamming kernels
    use on this CPU: ``auto`` when each code width uses the path measured
    fastest for it, or the one path forced for every width (environment
    variable ``SKLEARN_HASH_POPCOUNT_PATH``, or
    ``sklearn_hash.neighbors._kernels.set_popcount_path`` in tests). The
    per-width line gives, for 64 to 512 bits and any other width searched so
    far, the path in use for a batch of queries (``blocked`` when the path
    rearranges each database chunk for them) and for single queries, and how
    each was chosen (``measured``, ``forced`` or ``only path``); reporting it
    measures those widths if they were not yet (a few milliseconds). The
    asymmetric path line does the same for the kernels of
    :class:`~sklearn_hash.AsymmetricNeighbors` (forced by
    ``SKLEARN_HASH_ASYM_PATH``), for 64 to 768 bits. The Tanimoto lines name
    the AND-popcount path of ``HammingNeighbors(metric="jaccard")`` for
    1024- and 2048-bit fingerprints (forced by ``SKLEARN_HASH_TANIMOTO_PATH``)
    and the variant its sparse layout runs.

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

    from ._compat import _openmp_effective_n_threads
    from ._version import __version__
    from .neighbors import _asym_kernels, _kernels, _tanimoto_kernels

    info = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpu": cpu_description(),
        "sklearn_hash": __version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "popcount path": _kernels.popcount_path(),
        "popcount path by width": _paths_by_width(_kernels),
        "asymmetric path": _asym_kernels.forced_asym_path(),
        "asymmetric by width": _asym_paths_by_width(_asym_kernels),
        "tanimoto path": _tanimoto_kernels.forced_tanimoto_path(),
        "tanimoto by width": "; ".join(
            f"{8 * n} bits: {_tanimoto_kernels.tanimoto_path(n)}" for n in (128, 256)
        ),
        "tanimoto sparse": _tanimoto_kernels.sparse_variant() or "none",
        "openmp threads": _openmp_effective_n_threads(),
    }
    for name, value in info.items():
        print(f"{name:>16}: {value}")
    return info


# the CPU features the kernels' paths depend on
_SIMD_FLAGS = ("popcnt", "bmi2", "avx2", "avx512f", "avx512bw", "avx512_vpopcntdq")


def cpu_description():
    """CPU model and the SIMD flags the kernels use, e.g. 'AMD EPYC (family 23,
    model 49); popcnt bmi2 avx2; no avx512_vpopcntdq' (Linux: /proc/cpuinfo;
    elsewhere what :mod:`platform` knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            fields = dict(
                line.split(":", 1)
                for line in f.read().split("\n\n")[0].splitlines()
                if ":" in line
            )
    except OSError:
        return platform.processor() or platform.machine()
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    model = fields.get("model name", platform.machine())
    family = f"family {fields.get('cpu family', '?')}, model {fields.get('model', '?')}"
    have = " ".join(flag for flag in _SIMD_FLAGS if flag in flags)
    missing = " ".join(flag for flag in _SIMD_FLAGS if flag not in flags)
    return f"{model} ({family}); {have}" + (f"; no {missing}" if missing else "")


def _asym_paths_by_width(kernels):
    """'64 bits: avx2 lut (measured); ...' for the common widths (measured now
    if not yet)."""
    parts = []
    for n_bytes in (8, 16, 32, 48, 64, 96):
        path = kernels.asym_path(n_bytes)
        parts.append(f"{8 * n_bytes} bits: {path} ({kernels.asym_path_how(n_bytes)})")
    return "; ".join(parts)


def _paths_by_width(kernels):
    """'64 bits: avx512 blocked (batch, measured) / avx512 (single, measured);
    ...' for the common widths and those searched."""
    for n_bytes in (8, 16, 32, 64):
        for mode in kernels.MODES:  # measure the common widths if not yet
            kernels.popcount_path(n_bytes, mode)
    parts = []
    for n_bytes, modes in kernels.width_paths().items():
        bits = (
            f"{8 * n_bytes}"
            if isinstance(n_bytes, int)
            else "wider than 1024"
            + (", not a multiple of 64," if "odd" in n_bytes else "")
        )
        choices = " / ".join(
            f"{path} ({mode}, {how})" for mode, (path, how) in modes.items()
        )
        parts.append(f"{bits} bits: {choices}")
    return "; ".join(parts)
