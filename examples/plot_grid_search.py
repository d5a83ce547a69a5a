"""
==============================================================
Choosing a hasher and a code length with GridSearchCV
==============================================================

Which hasher, and how many bits, give the recall a search needs? This example
answers it the scikit-learn way on the embedded SIFT sample: a pipeline of a
hasher and :class:`~sklearn_hash.HammingNeighbors`, a query/database split
with exact ground truth from
:func:`~sklearn_hash.model_selection.query_database_split`, a recall scorer
from :func:`~sklearn_hash.metrics.make_recall_scorer`, and
:class:`~sklearn.model_selection.GridSearchCV` over the hasher and ``nbits``.
The winners are then compared with the package's Display classes: recall@R
against R, precision-recall of Hamming ranking, and recall against speed.
"""

# %%
# The search problem
# ------------------
# 10,000 database vectors and 200 queries of the embedded set (real SIFT
# descriptors). The split helper stacks them into one ``X``; ``y`` holds the
# exact Euclidean neighbours of each query (computed here, in blocks), and
# ``cv`` has a single split: train = database, test = queries.
#
# The hashers multiply small matrices; one BLAS thread avoids the threads
# contending for the cores, which on a small machine is many times faster.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from sklearn_hash import ITQ, LSH, HammingNeighbors
from sklearn_hash.datasets import load_sift_skimage
from sklearn_hash.metrics import make_recall_scorer
from sklearn_hash.model_selection import query_database_split

threadpool_limits(limits=1, user_api="blas")
data = load_sift_skimage()
database, queries = data.base[:10000], data.query[:200]
X, y, cv = query_database_split(database, queries, n_neighbors=10)
print(X.shape, y.shape)

# %%
# The grid search
# ---------------
# The scorer counts how many of the 10 true nearest neighbours are among the
# 100 retrieved codes (recall 10@100), a usual target when the short list is
# re-ranked with the float vectors afterwards. ``refit=False``: refitting
# would index the queries as well.
pipe = Pipeline(
    [("hasher", LSH(random_state=0)), ("index", HammingNeighbors(n_neighbors=100))]
)
param_grid = [
    {
        "hasher": [
            LSH(random_state=0),
            LSH(rotate=True, train_thresholds=True, random_state=0),
        ],
        "hasher__nbits": [16, 32, 64],
    },
    {"hasher": [ITQ(n_iter=20, random_state=0)], "hasher__nbits": [16, 32, 64]},
]
search = GridSearchCV(
    pipe, param_grid, cv=cv, refit=False, scoring=make_recall_scorer(k=100, n_true=10)
).fit(X, y)
results = search.cv_results_
for params, score, seconds in zip(
    results["params"], results["mean_test_score"], results["mean_score_time"]
):
    print(
        f"{params['hasher']!s:<55} {params['hasher__nbits']:>3} bits  "
        f"recall 10@100 = {score:.3f}  ({seconds:.2f} s to score)"
    )
print("best:", search.best_params_)

# %%
# More bits always help; at a given length the learned rotation (ITQ) and the
# trained thresholds help most on short codes.
#
# Looking closer at the best hasher
# ---------------------------------
# Refit the best hasher at each code length on the database and draw the
# recall of the true nearest neighbour among the top R, and the
# precision-recall curve of ranking the whole database by Hamming distance
# (one point per distance level: tied codes are retrieved together).
from sklearn.base import clone

from sklearn_hash.plot import (
    HammingPrecisionRecallDisplay,
    RecallAtRDisplay,
    RecallSpeedDisplay,
)

best = search.best_params_["hasher"]
fig, (ax_r, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
fitted = {}
for nbits in (16, 32, 64):
    fitted[nbits] = clone(pipe).set_params(hasher=clone(best).set_params(nbits=nbits))
    fitted[nbits].fit(database)
    RecallAtRDisplay.from_estimator(
        fitted[nbits],
        queries,
        y[len(database) :],
        max_r=500,
        name=f"{nbits} bits",
        ax=ax_r,
    )
    HammingPrecisionRecallDisplay.from_estimator(
        fitted[nbits], queries, y[len(database) :], name=f"{nbits} bits", ax=ax_pr
    )
ax_r.set_title(f"{type(best).__name__}: nearest neighbour in the top R")
ax_pr.set_title("Hamming ranking, relevant = 10 true neighbours")

# %%
# Tuning a learned hasher's own parameters
# ----------------------------------------
# The same split and scorer tune any parameter of the pipeline, e.g. the
# slope ``beta`` of the relaxed sign and the number of proxies of
# :class:`~sklearn_hash.NeuralProxyHash` (a small network and a few epochs
# here, on 3,000 database vectors, to keep the example fast).
from sklearn_hash import NeuralProxyHash

X_small, y_small, cv_small = query_database_split(
    database[:3000], queries[:100], n_neighbors=10
)
neural = Pipeline(
    [
        (
            "hasher",
            NeuralProxyHash(
                nbits=32,
                hidden_layer_sizes=(128,),
                n_neighbors=20,
                max_iter=10,
                random_state=0,
            ),
        ),
        ("index", HammingNeighbors(n_neighbors=50)),
    ]
)
neural_search = GridSearchCV(
    neural,
    {"hasher__beta": [1.0, 32**0.5], "hasher__n_proxies": [30, 300]},
    cv=cv_small,
    refit=False,
    scoring=make_recall_scorer(k=50, n_true=10),
).fit(X_small, y_small)
for params, score in zip(
    neural_search.cv_results_["params"], neural_search.cv_results_["mean_test_score"]
):
    print(params, f"recall 10@50 = {score:.3f}")
print("best:", neural_search.best_params_)

# %%
# A nearly linear relaxation (``beta = 1``) trains poorly; the paper's
# ``sqrt(nbits)`` does much better.
#
# Recall against speed
# --------------------
# Longer codes cost more per distance; the Hamming search stays fast. Each
# point is one code length of the best hasher.
display = RecallSpeedDisplay.from_estimator(
    list(fitted.values()),
    queries,
    y[len(database) :],
    scoring=make_recall_scorer(k=100, n_true=10),
    point_labels=[f"{b} bits" for b in fitted],
    recall_name="recall 10@100",
    name=type(best).__name__,
)
display.ax_.set_title("Recall against queries per second, one point per code length")
print(np.round(display.recall, 3), np.round(display.queries_per_second))
plt.show()
