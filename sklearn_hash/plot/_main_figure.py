"""The figure of ``python -m sklearn_hash --plot``: it draws rows measured elsewhere.

The rows come from :mod:`sklearn_hash.metrics._evaluate` (``keep_for_plot``);
only the recall@R curve is derived here, by the metrics function.
"""

from .._compat import check_matplotlib_support
from ..metrics import recall_at_r_curve
from ._precision_recall import HammingPrecisionRecallDisplay
from ._recall_curve import RecallAtRDisplay
from ._recall_speed import RecallSpeedDisplay


def _draw_code_length(fig, grid, col, nbits, rows, data, methods, colors):
    """Recall@R (top) and Hamming precision-recall (middle) at one code length."""
    ax_r, ax_pr = fig.add_subplot(grid[0, col]), fig.add_subplot(grid[1, col])
    for method in methods:
        row = next(r for r in rows if r["method"] == method and r["nbits"] == nbits)
        r_values, recall = recall_at_r_curve(data.ground_truth, row["retrieved"])
        RecallAtRDisplay(r_values, recall, name=method).plot(
            ax=ax_r, curve_kwargs={"color": colors[method]}
        )
        HammingPrecisionRecallDisplay(
            row["precision"],
            row["recall"],
            average_precision=row.get("mAP"),
            name=method,
        ).plot(ax=ax_pr, curve_kwargs={"color": colors[method]})
    ax_r.set_title(f"{nbits} bits: true nearest neighbour in the top R")
    ax_pr.set_title(
        f"{nbits} bits: Hamming ranking, relevant = "
        f"{data.ground_truth.shape[1]} true NN",
        fontsize="medium",
    )


def write_main_job_figure(rows, data, path, *, methods, nbits, k, n_jobs=None):
    """Write the figure: one column per code length, a speed panel under them.

    Parameters
    ----------
    rows : list of dict
        One per (method, nbits), with ``retrieved``, ``precision``,
        ``recall``, ``1-R@k``, ``search q/s`` and optionally ``mAP``.
    data : Bunch
        ``ground_truth``, ``base``, ``query``, ``name`` and ``train_name``.
    path : str or path-like
        Output file (.png, .pdf, .svg).
    methods, nbits : list
        The methods (curves) and code lengths (columns), in order.
    k : int
        Neighbours retrieved per query (the recall axis of the speed panel).
    n_jobs : int, default=None
        Search threads, for the speed panel's title.
    """
    check_matplotlib_support("python -m sklearn_hash --plot")
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    nbits_list = list(dict.fromkeys(nbits))
    methods = list(dict.fromkeys(methods))
    colors = {m: colormaps["tab10"](i % 10) for i, m in enumerate(methods)}
    n_cols = len(nbits_list)
    # a Figure without pyplot: no global backend or figure state is touched
    fig = Figure(figsize=(4.6 * max(n_cols, 2), 13), layout="constrained")
    grid = fig.add_gridspec(3, n_cols)
    for col, n in enumerate(nbits_list):
        _draw_code_length(fig, grid, col, n, rows, data, methods, colors)
    ax_speed = fig.add_subplot(grid[2, :])
    for method in methods:
        mrows = [r for r in rows if r["method"] == method]
        RecallSpeedDisplay(
            [r["1-R@k"] for r in mrows],
            [r["search q/s"] for r in mrows],
            name=method,
            point_labels=[f"{r['nbits']} b" for r in mrows],
            recall_name=f"1-recall@{k}",
        ).plot(ax=ax_speed, curve_kwargs={"color": colors[method]})
    ax_speed.set_title(
        f"search speed against 1-recall@{k} "
        f"(points: code lengths; {n_jobs or 'all'} threads)"
    )
    fig.suptitle(
        f"{data.name}: {len(data.base):,} base vectors, {len(data.query):,} "
        f"queries;\nhashers fitted on {data.train_name}"
    )
    fig.savefig(path, dpi=110)
