"""
=====================================================
Tuning NeuralProxyHash with GridSearchCV
=====================================================

:class:`~sklearn_hash.NeuralProxyHash` trains a small neural network so that the Hamming
similarities of the codes reproduce the cosine similarities of each query to its nearest
*proxies*, training points drawn at random at every step. Two of its parameters matter
most: ``beta``, the slope of the relaxed sign :math:`\\tanh(\\beta z)` through which the
network is trained, and ``n_proxies``, how many points each step compares against.

Tuning them is ordinary model selection once the search problem is cast as a split:
:func:`~sklearn_hash.model_selection.query_database_split` stacks database and queries
into one ``X``, with the queries' true neighbours as ``y`` and a single predefined split
(train = database, test = queries), and :func:`~sklearn_hash.metrics.make_recall_scorer`
scores each candidate by its recall. The training budget and the data are small here so
that the whole grid runs in seconds; the defaults (a linear network started at ITQ's
codes, 20,000 proxies, up to 1,000 steps with early stopping on a held-out tenth of the
training set) are meant for real training sets.
"""

# %%
# The split
# ---------
import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_hash import HammingNeighbors, NeuralProxyHash
from sklearn_hash.datasets import load_sift_skimage
from sklearn_hash.metrics import make_recall_scorer
from sklearn_hash.model_selection import query_database_split

data = load_sift_skimage()
X, y, cv = query_database_split(data.base[:5000], data.query[:200], n_neighbors=1)

# %%
# The grid
# --------
# ``beta=None`` is the paper's :math:`\\sqrt{\\text{nbits}}`. ``refit=False``: refitting
# on all of ``X`` would index the queries too. ``max_steps=40`` bounds each fit; early
# stopping is off so that every candidate trains on all of its database.
nbits = 32
search = make_pipeline(
    NeuralProxyHash(
        nbits=nbits,
        n_neighbors=50,
        batch_size=256,
        max_steps=40,
        early_stopping=False,
        random_state=0,
    ),
    HammingNeighbors(n_neighbors=10),
)
param_grid = {
    "neuralproxyhash__beta": [1.0, None, 20.0],
    "neuralproxyhash__n_proxies": [200, 1000],
}
grid = GridSearchCV(
    search,
    param_grid,
    scoring=make_recall_scorer(k=10, n_true=1),  # 1-recall@10
    cv=cv,
    refit=False,
).fit(X, y)
print("best:", grid.best_params_, f"1-recall@10 = {grid.best_score_:.3f}")

# %%
# Recall of each setting
# ----------------------
scores = {
    (params["neuralproxyhash__beta"], params["neuralproxyhash__n_proxies"]): score
    for params, score in zip(
        grid.cv_results_["params"], grid.cv_results_["mean_test_score"]
    )
}
for (beta, n_proxies), score in scores.items():
    print(f"beta={beta}, n_proxies={n_proxies}: 1-recall@10 = {score:.3f}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
labels = ["1", f"None = sqrt({nbits})", "20"]
for n_proxies in param_grid["neuralproxyhash__n_proxies"]:
    values = [scores[beta, n_proxies] for beta in param_grid["neuralproxyhash__beta"]]
    ax.plot(labels, values, marker="o", label=f"n_proxies = {n_proxies}")
ax.set_xlabel("beta")
ax.set_ylabel("1-recall@10")
ax.set_title(f"NeuralProxyHash, {nbits} bits, SIFT (5,000 database vectors)")
ax.grid(True, alpha=0.3)
ax.legend()
plt.show()
