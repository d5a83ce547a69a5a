"""
==========================================
LSH for a learned metric
==========================================

Random-hyperplane :class:`~sklearn_hash.LSH` preserves the geometry it is given. Jain,
Kulis and Grauman (2008) hash a *learned* metric instead: first learn a linear map
:math:`L` under which same-class points are close, then hash :math:`L x`. In
scikit-learn this is a :class:`~sklearn.pipeline.Pipeline` of
:class:`~sklearn.neighbors.NeighborhoodComponentsAnalysis` and
:class:`~sklearn_hash.LSH`.

On the hand-written digits, the database is a training split with labels and the queries
are held out. We measure the precision of the k nearest codes: the fraction that share
the query's class, for plain LSH on standardised pixels and for LSH after NCA.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_hash import LSH, HammingNeighbors

X, y = load_digits(return_X_y=True)
X_database, X_query, y_database, y_query = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# Two search pipelines
# --------------------
# NCA is supervised: ``fit`` passes the labels on to it through the pipeline, while LSH
# and HammingNeighbors ignore them.
nbits, max_k = 32, 50
searches = {
    "LSH on pixels": make_pipeline(
        StandardScaler(),
        LSH(nbits=nbits, random_state=0),
        HammingNeighbors(n_neighbors=max_k),
    ),
    "NCA + LSH (learned metric)": make_pipeline(
        StandardScaler(),
        NeighborhoodComponentsAnalysis(n_components=32, max_iter=30, random_state=0),
        LSH(nbits=nbits, random_state=0),
        HammingNeighbors(n_neighbors=max_k),
    ),
}

k_values = np.arange(1, max_k + 1)
precision = {}
for name, search in searches.items():
    search.fit(X_database, y_database)
    neighbors = search.predict(X_query)
    same_class = y_database[neighbors] == y_query[:, None]
    precision[name] = same_class.cumsum(axis=1).mean(axis=0) / k_values
    print(f"{name}: precision@10 = {precision[name][9]:.3f}")

# %%
# Precision of the k nearest codes
# --------------------------------
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for name, values in precision.items():
    ax.plot(k_values, values, label=name)
ax.set_xlabel("k (codes retrieved)")
ax.set_ylabel("fraction of the same class")
ax.set_title(f"Digits, {nbits}-bit codes")
ax.set_ylim(0, 1)
ax.grid(True, alpha=0.3)
ax.legend()
plt.show()
