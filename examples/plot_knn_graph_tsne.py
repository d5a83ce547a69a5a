"""
=====================================================
A Hamming k-NN graph for t-SNE and Isomap
=====================================================

Like scikit-learn's :class:`~sklearn.neighbors.KNeighborsTransformer`,
:class:`~sklearn_hash.HammingNeighbors` is a transformer whose output is a sparse k-NN
graph of distances. Estimators that accept ``metric="precomputed"`` can then work on
binary codes, with the neighbour search done by popcount kernels instead of float
distances. This example embeds scikit-learn's hand-written digits with
:class:`~sklearn.manifold.TSNE` and :class:`~sklearn.manifold.Isomap` from the Hamming
k-NN graph of 64-bit ITQ codes, in one pipeline each (t-SNE with a short optimisation,
to keep the example fast).
"""

# %%
# The pipelines
# -------------
# t-SNE with perplexity 10 needs at least ``3 * 10 + 1`` neighbours in the graph.
# ``HammingNeighbors.transform`` computes ``n_neighbors + 1`` neighbours, since each
# point is its own nearest one, as scikit-learn's transformers do.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE, Isomap
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_hash import ITQ, HammingNeighbors

X, y = load_digits(return_X_y=True)

tsne = make_pipeline(
    StandardScaler(),
    ITQ(nbits=64, random_state=0),
    HammingNeighbors(n_neighbors=31),
    TSNE(
        metric="precomputed", perplexity=10, init="random", max_iter=300, random_state=0
    ),
)
isomap = make_pipeline(
    StandardScaler(),
    ITQ(nbits=64, random_state=0),
    HammingNeighbors(n_neighbors=10),
    Isomap(metric="precomputed", n_neighbors=10),
)
embeddings = {
    "t-SNE on the Hamming k-NN graph": tsne.fit_transform(X),
    "Isomap on the Hamming k-NN graph": isomap.fit_transform(X),
}

# %%
# What the graph looks like
# -------------------------
# A CSR matrix of integer Hamming distances (as float64), ``n_neighbors + 1`` entries
# per row, explicit zeros kept for a point and its identical codes.
graph = tsne[:3].fit_transform(X)
print(type(graph).__name__, graph.shape, graph.nnz // graph.shape[0], "entries per row")

# %%
# The embeddings, coloured by digit
# ---------------------------------
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
for ax, (title, embedding) in zip(axes, embeddings.items()):
    points = ax.scatter(embedding[:, 0], embedding[:, 1], c=y, cmap="tab10", s=6)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(points, ax=axes, label="digit", ticks=range(10))
plt.show()
