"""
===========================================
Quick start: hash, index, search and score
===========================================

A hasher turns float vectors into packed binary codes and
:class:`~sklearn_hash.HammingNeighbors` searches those codes exactly. Put in a
:class:`~sklearn.pipeline.Pipeline`, the two are one estimator: ``fit`` learns the codes
and indexes the database, ``predict`` returns the neighbours of queries and ``score``
their recall against the exact ground truth. This example runs that on the embedded SIFT
sample and draws the recall of the true nearest neighbour among the first R retrieved
codes.
"""

# %%
# The data
# --------
# 30,070 SIFT descriptors to index, 500 queries and the indices of each query's 100
# exact Euclidean nearest neighbours, shipped with the package.
from sklearn_hash.datasets import load_sift_skimage

data = load_sift_skimage()
print(data.base.shape, data.query.shape, data.ground_truth.shape)

# %%
# Hash and search step by step
# ----------------------------
# 64 bits make 8 bytes per vector, against 512 bytes of float32.
from sklearn_hash import LSH, HammingNeighbors

hasher = LSH(nbits=64, rotate=True, train_thresholds=True, random_state=0)
database_codes = hasher.fit_transform(data.base)
query_codes = hasher.transform(data.query)
print(database_codes.shape, database_codes.dtype)

index = HammingNeighbors(n_neighbors=10).fit(database_codes)
distances, indices = index.kneighbors(query_codes)
print("Hamming distances of the first query's neighbours:", distances[0])
print("their database indices:", indices[0])

# %%
# The same as one estimator
# -------------------------
# ``score`` is the 10-recall\@10: the fraction of each query's true 10 nearest
# neighbours found among the 10 retrieved.
from sklearn.pipeline import make_pipeline

from sklearn_hash import ITQ

searches = {
    "LSH, 64 bits": make_pipeline(
        LSH(nbits=64, rotate=True, train_thresholds=True, random_state=0),
        HammingNeighbors(n_neighbors=10),
    ),
    "ITQ, 64 bits": make_pipeline(
        ITQ(nbits=64, random_state=0), HammingNeighbors(n_neighbors=10)
    ),
}
for name, search in searches.items():
    search.fit(data.base)
    print(f"{name}: 10-recall@10 = {search.score(data.query, data.ground_truth):.3f}")

# %%
# How many candidates to re-rank
# ------------------------------
# Codes lose part of the geometry, so one usually retrieves R candidates by Hamming
# distance and re-ranks them by their true distance. The 1-recall\@R curve tells how
# large R must be for the true nearest neighbour to be among the candidates.
import matplotlib.pyplot as plt

from sklearn_hash.plot import RecallAtRDisplay

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for name, search in searches.items():
    RecallAtRDisplay.from_estimator(
        search, data.query, data.ground_truth, max_r=1000, name=name, ax=ax
    )
ax.set_title("True nearest neighbour among the first R codes")
ax.grid(True, which="both", alpha=0.3)
plt.show()
