"""
=====================================================
Encoding, exact search and GridSearchCV on Dask
=====================================================

When the codes outgrow one machine, :mod:`sklearn_hash.dask` runs the same
work on a :mod:`dask.distributed` cluster: a fitted hasher encodes a dask array
chunk by chunk (:func:`sklearn_hash.dask.transform`),
:class:`~sklearn_hash.dask.DaskHammingNeighbors` keeps one exact index per
chunk on the workers and merges their answers into exactly the single-process
result, and :class:`~sklearn.model_selection.GridSearchCV` spreads its fits
over the workers through joblib's ``"dask"`` backend.

The cluster here is a :class:`~distributed.LocalCluster` of two workers run
as threads of this process (``processes=False``), so the example starts in
about a second; a real deployment passes the scheduler's address to
:class:`~distributed.Client` instead and nothing else changes.
"""

# %%
# Start a cluster
# ---------------
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_hash import ITQ, LSH, HammingNeighbors
from sklearn_hash.dask import DaskHammingNeighbors, transform
from sklearn_hash.datasets import load_sift_skimage
from sklearn_hash.metrics import make_recall_scorer
from sklearn_hash.model_selection import query_database_split

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
)
client = Client(cluster)

# %%
# Encode a dask array blockwise
# -----------------------------
# 16,000 SIFT vectors of the embedded sample become a dask array of four row
# chunks (a real collection would be read by dask from storage, e.g.
# ``da.from_zarr``, rather than from memory). ITQ is fitted on a sample, as
# one would on a large collection; ``transform`` then builds a lazy array of
# 64-bit codes, one task per chunk.
data = load_sift_skimage()
base = data.base[:16000]
vectors = da.from_array(base, chunks=(4000, 128))
hasher = ITQ(nbits=64, random_state=0).fit(base[::10])
codes = transform(hasher, vectors)
print(codes)

# %%
# Sharded exact search
# --------------------
# ``fit`` builds one :class:`~sklearn_hash.HammingNeighbors` per chunk on the
# workers (the codes are computed there and never come back); ``kneighbors``
# asks every shard for its top 10 and merges the lists by (distance, index).
# The answer is that of one index over all the codes, ties included.
nn = DaskHammingNeighbors(n_neighbors=10).fit(codes)
query_codes = hasher.transform(data.query)
distances, indices = nn.kneighbors(query_codes)
single = HammingNeighbors(n_neighbors=10).fit(hasher.transform(base))
expected = single.kneighbors(query_codes)
print("shards start at rows", nn.shard_offsets_[:-1])
print("identical to one HammingNeighbors:", np.array_equal(indices, expected[1]))

# %%
# Model selection on the cluster
# ------------------------------
# A pipeline of a hasher and :class:`~sklearn_hash.HammingNeighbors` is tuned
# as usual; under ``parallel_backend("dask")`` each candidate's fit and score
# runs as a task on the workers.
X, y, cv = query_database_split(data.base[:5000], data.query[:100], n_neighbors=10)
search = GridSearchCV(
    make_pipeline(LSH(random_state=0), HammingNeighbors(n_neighbors=10)),
    {"lsh__nbits": [16, 32, 64, 128]},
    cv=cv,
    scoring=make_recall_scorer(k=10),
    refit=False,
    n_jobs=-1,
)
with parallel_backend("dask"):
    search.fit(X, y)

nbits = search.cv_results_["param_lsh__nbits"].data.astype(int)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(nbits, search.cv_results_["mean_test_score"], marker="o")
ax.set_xscale("log", base=2)
ax.set_xticks(nbits, [str(b) for b in nbits])
ax.set_xlabel("LSH code length (bits)")
ax.set_ylabel("10-recall@10")
ax.set_title("GridSearchCV on a dask cluster")
fig.tight_layout()

# %%
# Stop the cluster
# ----------------
client.close()
cluster.close()
