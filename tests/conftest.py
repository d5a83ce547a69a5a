"""Shared fixtures: the real vector sets of ../shared/data, when present.

The folder is found from SKLEARN_HASH_DATA, else ``../shared/data`` beside the
repository root; tests that need it are skipped cleanly when it is absent
(a user's clone has no ``../shared``).
"""

import ctypes
import os
import shutil
import subprocess
import sys
import sysconfig
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


def run_python(code, **env):
    """Run ``code`` in a fresh interpreter, ``env`` added to the environment;
    the completed process (text stdout and stderr; a failure raises)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )


def _c_compiler():
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")


def build_emulation(tmp_path_factory, source):
    """Build ``tests/<source>`` (a harness including a kernel header with
    SH_EMULATE_AVX512) against SIMDe's portable intrinsics and load it with
    ctypes, so every path, AVX-512 included, runs on any CPU. Skips without
    SIMDe or a C compiler; fails if the harness does not compile."""
    simde_py = pytest.importorskip(
        "simde_py", reason="SIMDe headers (pip install simde-py)"
    )
    cc = _c_compiler()
    if cc is None or sys.platform == "win32":
        pytest.skip("no C compiler for the SIMDe harness")
    lib_path = tmp_path_factory.mktemp("emu") / f"lib{Path(source).stem}.so"
    cmd = [
        cc,
        "-O1",
        "-w",
        "-shared",
        "-fPIC",
        f"-I{simde_py.get_include()}",
        f"-I{REPO_ROOT / 'sklearn_hash' / 'neighbors'}",
        str(REPO_ROOT / "tests" / source),
        "-o",
        str(lib_path),
    ]
    build = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"SIMDe harness does not compile:\n{build.stderr[-3000:]}")
    return ctypes.CDLL(str(lib_path))
