import numpy as np
import pytest
from conftest import run_python
from sklearn.pipeline import make_pipeline

from sklearn_hash import LSH, HammingNeighbors, pack_bits
from sklearn_hash.metrics import (
    hamming_mean_average_precision,
    hamming_precision_recall_curve,
    make_recall_scorer,
    recall_at_r_curve,
)
from sklearn_hash.metrics._base import _hamming_distances
from sklearn_hash.plot import (
    HammingPrecisionRecallDisplay,
    RecallAtRDisplay,
    RecallSpeedDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
# pyplot only after the skip (no matplotlib -> skip) and after choosing the backend
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    database = rng.standard_normal((400, 12)).astype(np.float32)
    queries = database[:30] + 0.1 * rng.standard_normal((30, 12)).astype(np.float32)
    d = ((queries[:, None] - database[None]) ** 2).sum(axis=2)
    truth = np.argsort(d, axis=1, kind="stable")[:, :20]
    pipes = [
        make_pipeline(
            LSH(nbits=nbits, random_state=0), HammingNeighbors(n_neighbors=10)
        ).fit(database)
        for nbits in (8, 32)
    ]
    return pipes, queries, truth


def test_importing_plot_does_not_import_matplotlib():
    code = "import sys, sklearn_hash.plot; print('matplotlib' in sys.modules)"
    out = run_python(code)
    assert out.stdout.strip() == "False"


def test_recall_at_r_display_from_estimator(fitted):
    pipes, queries, truth = fitted
    display = RecallAtRDisplay.from_estimator(pipes[1], queries, truth, max_r=50)
    codes = pipes[1][0].transform(queries)
    retrieved = pipes[1][-1].kneighbors(codes, n_neighbors=50, return_distance=False)
    np.testing.assert_allclose(display.recall, recall_at_r_curve(truth, retrieved)[1])
    assert display.name == "LSH"
    assert (
        display.ax_.get_xscale() == "log" and display.ax_.get_ylabel() == "1-recall@R"
    )
    assert display.figure_ is display.ax_.figure
    np.testing.assert_allclose(display.line_.get_ydata(), display.recall)


def test_recall_at_r_display_multiple_curves_on_one_axes(fitted):
    pipes, queries, truth = fitted
    _, ax = plt.subplots()
    for pipe, name in zip(pipes, ["8 bits", "32 bits"]):
        RecallAtRDisplay.from_estimator(
            pipe, queries, truth, name=name, ax=ax, n_true=5
        )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["8 bits", "32 bits"]
    display = RecallAtRDisplay(
        [np.arange(1, 4)] * 2, [[0.1, 0.2, 0.3], [0.2, 0.3, 0.4]], name=["a", "b"]
    ).plot(curve_kwargs=[{"color": "r"}, {"c": "k"}])
    assert len(display.line_) == 2 and display.line_[1].get_color() == "k"
    with pytest.raises(ValueError, match="one entry per curve"):
        RecallAtRDisplay(
            [np.arange(1, 4)] * 2, [[0.1, 0.2, 0.3]] * 2, name=["a", "b", "c"]
        ).plot()


def test_precision_recall_display_from_estimator_matches_metrics(fitted):
    pipes, queries, truth = fitted
    display = HammingPrecisionRecallDisplay.from_estimator(
        pipes[0], queries, truth, n_relevant=10
    )
    codes = pipes[0][0].transform(queries)
    distances = _hamming_distances(codes, pipes[0][-1].codes_)
    relevant = np.zeros(distances.shape, dtype=bool)
    relevant[np.arange(len(truth))[:, None], truth[:, :10]] = True
    precision, recall, _ = hamming_precision_recall_curve(relevant, distances)
    np.testing.assert_allclose(display.precision, precision)
    np.testing.assert_allclose(display.recall, recall)
    assert display.average_precision == pytest.approx(
        hamming_mean_average_precision(relevant, distances)
    )
    assert "mAP = " in display.ax_.get_legend().get_texts()[0].get_text()
    assert display.ax_.get_xlabel() == "Recall"


def test_precision_recall_display_from_codes_without_pipeline():
    codes = pack_bits([[0, 0, 0], [1, 0, 0], [1, 1, 1]])
    index = HammingNeighbors().fit(codes)
    display = HammingPrecisionRecallDisplay.from_estimator(
        index,
        pack_bits([[0, 0, 0]]),
        [[1]],
        compute_average_precision=False,
        name="codes",
    )
    assert display.average_precision is None
    np.testing.assert_allclose(display.recall, [0.0, 1.0, 1.0])
    np.testing.assert_allclose(display.precision, [0.0, 0.5, 1 / 3])


def test_precision_recall_display_several_curves_with_their_map():
    display = HammingPrecisionRecallDisplay(
        [np.array([1.0, 0.5]), np.array([0.8, 0.4])],
        [np.array([0.5, 1.0])] * 2,
        average_precision=[0.75, 0.6],
        name=["a", "b"],
    ).plot()
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == [
        "a (mAP = 0.750)",
        "b (mAP = 0.600)",
    ]
    with pytest.raises(ValueError, match="one value per curve"):
        HammingPrecisionRecallDisplay(
            [np.array([1.0])] * 2,
            [np.array([1.0])] * 2,
            average_precision=[0.5, 0.5, 0.5],
        ).plot()


def test_recall_speed_display(fitted):
    pipes, queries, truth = fitted
    display = RecallSpeedDisplay.from_estimator(
        pipes,
        queries,
        truth[:, :10],
        scoring=make_recall_scorer(k=10),
        n_repeats=1,
        point_labels=["8", "32"],
        recall_name="10-recall@10",
    )
    assert display.recall[1] > display.recall[0]
    assert np.all(display.queries_per_second > 0)
    assert (
        display.ax_.get_yscale() == "log" and display.ax_.get_xlabel() == "10-recall@10"
    )
    assert [t.get_text() for t in display.ax_.texts] == ["8", "32"]
    assert display.name == "LSH"


def test_plot_writes_a_png(tmp_path, fitted):
    pipes, queries, truth = fitted
    fig, axes = plt.subplots(1, 2)
    RecallAtRDisplay.from_estimator(pipes[0], queries, truth, ax=axes[0])
    HammingPrecisionRecallDisplay.from_estimator(pipes[0], queries, truth, ax=axes[1])
    fig.savefig(tmp_path / "out.png")
    assert (tmp_path / "out.png").stat().st_size > 1000


def test_from_estimator_needs_a_search_estimator(fitted):
    _, queries, truth = fitted
    with pytest.raises(TypeError, match="HammingNeighbors"):
        RecallAtRDisplay.from_estimator(LSH(nbits=8).fit(queries), queries, truth)
