"""Tests of the rule that says which modules are public (_discovery.py)."""

from sklearn_hash._discovery import public_modules


def test_public_modules_are_the_subpackages_without_underscore():
    modules = public_modules()
    assert modules[0] == "sklearn_hash"
    assert {"sklearn_hash.metrics", "sklearn_hash.plot"} <= set(modules)
    assert not any(name.split(".")[-1].startswith("_") for name in modules)
