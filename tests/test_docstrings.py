"""Every public docstring passes numpydoc's validation; every public name is documented.

Model: scikit-learn's ``sklearn/tests/test_docstrings.py``. Public names are the
``__all__`` of the public modules; for classes, the public methods and properties that
this package defines (those inherited from scikit-learn are scikit-learn's to validate).

Checks ignored everywhere, as scikit-learn does:

- GL01, GL02: where the docstring text starts and ends relative to the quotes.
- RT02: a Returns entry is ``name : type`` (numpydoc wants the type alone when one
  value is returned; scikit-learn and this package name it).

Checks ignored for methods and properties only, as scikit-learn does: ES01 (extended
summary), SA01 (See Also), EX01 (Examples); a class's docstring carries those.

References sections are written where a paper or a file format exists, not required
everywhere (a rule forcing one on every name produced filler citations).
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

from sklearn_hash._discovery import public_modules

PUBLIC_MODULES = public_modules()
# modules of an optional extra: checked when their dependencies are installed
OPTIONAL_MODULES = {"sklearn_hash.dask"}
API_RST = Path(__file__).resolve().parents[1] / "doc" / "api.rst"

IGNORED_CHECKS = {"GL01", "GL02", "RT02"}
IGNORED_CHECKS_FOR_MEMBERS = {"ES01", "SA01", "EX01"}


def _public_names():
    for module_name in PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            if module_name in OPTIONAL_MODULES:
                continue
            raise
        for name in module.__all__:
            if not name.startswith("__"):
                yield module_name, name, getattr(module, name)


def _own_members(klass):
    """Public methods and properties defined in sklearn_hash, not inherited ones."""
    for name in sorted(dir(klass)):
        if name.startswith("_"):
            continue
        attribute = inspect.getattr_static(klass, name)
        function = attribute.fget if isinstance(attribute, property) else attribute
        function = getattr(function, "__func__", function)
        if getattr(function, "__module__", "").startswith("sklearn_hash"):
            yield name


def _docstring_targets():
    for module_name, name, obj in _public_names():
        yield f"{module_name}.{name}", "object"
        if inspect.isclass(obj):
            for member in _own_members(obj):
                yield f"{module_name}.{name}.{member}", "member"


TARGETS = sorted(set(_docstring_targets()))


def _errors(import_path, kind):
    from numpydoc.validate import validate

    result = validate(import_path)
    ignored = IGNORED_CHECKS | (
        IGNORED_CHECKS_FOR_MEMBERS if kind == "member" else set()
    )
    errors = [
        (code, message) for code, message in result["errors"] if code not in ignored
    ]
    return errors


@pytest.mark.parametrize(
    "import_path, kind",
    [pytest.param(path, kind, id=path) for path, kind in TARGETS],
)
def test_docstring(import_path, kind):
    pytest.importorskip("numpydoc", minversion="1.6")
    errors = _errors(import_path, kind)
    assert not errors, f"{import_path}:\n" + "\n".join(
        f"  {code}: {message}" for code, message in errors
    )


def test_api_reference_lists_every_public_name():
    """doc/api.rst's autosummary lists name every public class and function."""
    listed = set(
        re.findall(
            r"^\s{3,}(\w+)\s*$", API_RST.read_text(encoding="utf-8"), re.MULTILINE
        )
    )
    missing = [f"{m}.{n}" for m, n, _ in _public_names() if n not in listed]
    assert not missing, f"add to doc/api.rst: {missing}"
