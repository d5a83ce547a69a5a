"""Run every gallery example (examples/plot_*.py), so a broken one fails the suite.

The documentation build runs them too (sphinx-gallery, ``abort_on_example_error``), but
it is not part of every test run. Each example runs in seconds on embedded or generated
data; matplotlib draws on the non-interactive Agg backend.

An example must not depend on the working directory: each runs from a fresh, empty
one and must leave it empty. sphinx-gallery runs examples in their own folder with
``__file__`` undefined, and an example that looks for files must then fall back on the
working directory. The one example that does (it looks for the evaluation data beside
the repository; a few seconds on the embedded data) also runs that way from ``/``.
Every example once more from ``/`` would double the time of these tests.
"""

import runpy
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py"))
DATA_EXAMPLE = EXAMPLES_DIR / "plot_binary_quantization.py"


@pytest.fixture
def pyplot():
    """matplotlib's pyplot on the Agg backend; figures closed afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_examples_found():
    assert EXAMPLES, f"no examples/plot_*.py under {EXAMPLES_DIR}"
    assert DATA_EXAMPLE in EXAMPLES


@pytest.mark.usefixtures("pyplot")
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(path), run_name="__main__")
    assert not list(tmp_path.iterdir()), "the example wrote to its working directory"


@pytest.mark.usefixtures("pyplot")
def test_example_runs_from_root_without_file(monkeypatch):
    """As sphinx-gallery runs it (no ``__file__``), from ``/``, data looked up there."""
    monkeypatch.chdir("/")
    monkeypatch.delenv("SKLEARN_HASH_DATA", raising=False)
    code = compile(DATA_EXAMPLE.read_text(), str(DATA_EXAMPLE), "exec")
    exec(code, {"__name__": "__main__"})
