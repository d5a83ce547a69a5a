"""Which modules are public: one rule, read by the docs build and the docstring test.

As in scikit-learn (``sklearn.utils.discovery``), a module is public unless a
part of its dotted path starts with an underscore: the package itself and its
subpackages ``datasets``, ``metrics``, ``model_selection``, ``neighbors``,
``plot``, ... A public module's ``__all__`` is its public API; doc/api.rst must
list every name in it.
"""

import pkgutil


def public_modules():
    """Dotted names of the public modules: the package and its public subpackages."""
    import sklearn_hash

    subpackages = sorted(
        info.name
        for info in pkgutil.iter_modules(sklearn_hash.__path__)
        if info.ispkg and not info.name.startswith("_")
    )
    return ["sklearn_hash"] + [f"sklearn_hash.{name}" for name in subpackages]
