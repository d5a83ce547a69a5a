"""Shared fixtures: the real vector sets of ../shared/data, when present.

The folder is found from SKLEARN_HASH_DATA, else ``../shared/data`` beside the
repository root; tests that need it are skipped cleanly when it is absent
(a user's clone has no ``../shared``).
"""

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir():
    env = os.environ.get("SKLEARN_HASH_DATA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture
def shared_data():
    """Loader of one set of ../shared/data: ``shared_data("sift-ngt5k")``."""
    root = shared_data_dir()
    if root is None:
        pytest.skip(
            "../shared/data not found (set SKLEARN_HASH_DATA to run data tests)"
        )

    def load(name):
        folder = root / name
        if not folder.is_dir():
            pytest.skip(f"{folder} not found")
        out = {p.stem: np.load(p) for p in folder.glob("*.npy")}
        for key in ("base", "query", "learn"):
            if key in out:
                out[key] = out[key].astype(np.float32)
        return out

    return load
