"""
===========================================================================
Nearest-neighbour QSAR: predicting logP from fingerprints with GridSearchCV
===========================================================================

A k-nearest-neighbour regression on fingerprints is the simplest QSAR model:
a molecule's property is predicted from those of its most similar molecules,
similarity being Tanimoto's. :class:`~sklearn_hash.HammingNeighbors` with
``metric="jaccard"`` computes the sparse k-NN graph (its ``transform``, as
scikit-learn's :class:`~sklearn.neighbors.KNeighborsTransformer`), and
:class:`~sklearn.neighbors.KNeighborsRegressor` with ``metric="precomputed"``
reads the prediction off it, in one :class:`~sklearn.pipeline.Pipeline` that
:class:`~sklearn.model_selection.GridSearchCV` tunes.

The molecules are MOSES's (``SKLEARN_HASH_DATA`` or
``../shared/data/moses-morgan`` beside the repository, RDKit Morgan
fingerprints of radius 2 and 2048 bits) and the property their Crippen logP,
computed here with RDKit from their SMILES. RDKit is optional (``pip install
rdkit``): without it, or without the data, the example runs on generated
fingerprints whose property is a sum of per-bit contributions plus noise, the
form of Crippen's atom-contribution model.
"""

# %%
# Fingerprints and the property
# -----------------------------
import gzip
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline

from sklearn_hash import HammingNeighbors, pack_bits

try:
    from rdkit import Chem, RDLogger
    from rdkit.Chem import Crippen, rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
except ImportError:
    Chem = None

try:
    examples_dir = Path(__file__).resolve().parent
except NameError:  # sphinx-gallery runs each example in its own folder
    examples_dir = Path.cwd().resolve()
folder = (
    Path(
        os.environ.get("SKLEARN_HASH_DATA")
        or examples_dir.parent.parent / "shared" / "data"
    )
    / "moses-morgan"
)
n_molecules = 10_000
if Chem is not None and (folder / "base.npy").is_file():
    fingerprints = np.load(folder / "base.npy")[:n_molecules]
    with gzip.open(folder / "base_smiles.txt.gz", "rt") as f:
        smiles = [next(f).strip() for _ in range(n_molecules)]
    logp = np.array([Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in smiles])
    source = "MOSES, Crippen logP (RDKit)"
else:
    rng = np.random.default_rng(0)
    scaffolds = rng.random((300, 2048)) < 30 / 2048
    bits = scaffolds[rng.integers(0, 300, n_molecules)]
    bits ^= rng.random(bits.shape) < 8 / 2048
    contributions = rng.normal(0, 0.3, 2048)
    logp = bits @ contributions + rng.normal(0, 0.3, n_molecules)
    fingerprints = pack_bits(bits)
    source = "generated, additive property"
print(
    f"{len(fingerprints)} molecules ({source}); "
    f"logP {logp.mean():.2f} +- {logp.std():.2f}"
)

X_train, X_test, y_train, y_test = train_test_split(
    fingerprints, logp, test_size=0.2, random_state=0
)

# %%
# One pipeline, tuned by cross-validation
# ---------------------------------------
# The graph holds the 30 nearest training molecules of each molecule (31 with
# itself during fit, as KNeighborsTransformer does); the regressor uses the k
# nearest of them, uniformly or weighted by the inverse distance.
model = make_pipeline(
    HammingNeighbors(n_neighbors=30, metric="jaccard"),
    KNeighborsRegressor(metric="precomputed"),
)
grid = GridSearchCV(
    model,
    {
        "kneighborsregressor__n_neighbors": [1, 3, 5, 10, 20, 30],
        "kneighborsregressor__weights": ["uniform", "distance"],
    },
    cv=3,
    scoring="r2",
).fit(X_train, y_train)
print("best:", grid.best_params_, f"cross-validated R2 {grid.best_score_:.3f}")
print(f"held-out R2 {grid.score(X_test, y_test):.3f}")

# %%
# Cross-validated R2 against k
# ----------------------------
results = grid.cv_results_
fig, ax = plt.subplots(figsize=(6, 3.5))
for weights in ("uniform", "distance"):
    rows = [
        i
        for i, params in enumerate(results["params"])
        if params["kneighborsregressor__weights"] == weights
    ]
    ax.plot(
        [results["params"][i]["kneighborsregressor__n_neighbors"] for i in rows],
        results["mean_test_score"][rows],
        "o-",
        label=f"weights={weights!r}",
    )
ax.set_xlabel("k (nearest molecules by Tanimoto)")
ax.set_ylabel("cross-validated R2")
ax.set_title(f"k-NN regression of logP ({source})")
ax.legend()
fig.tight_layout()

# %%
# New molecules from SMILES
# -------------------------
# With RDKit, new molecules are fingerprinted exactly as the database was
# (packed little bit order: bit ``i`` in byte ``i // 8`` at position ``i % 8``,
# NumPy's ``packbits(..., bitorder="little")``) and predicted, or searched.
if Chem is not None and source.startswith("MOSES"):
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    new = ["CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"]  # aspirin, caffeine
    bits = np.array(
        [generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in new]
    )
    codes = np.packbits(bits.astype(bool), axis=1, bitorder="little")
    predicted = grid.best_estimator_.predict(codes)
    distances, indices = grid.best_estimator_[0].kneighbors(codes, n_neighbors=1)
    for s, p, d in zip(new, predicted, distances[:, 0]):
        print(
            f"{s}: predicted logP {p:.2f}; "
            f"nearest training molecule at similarity {1 - d:.2f}"
        )
plt.show()
