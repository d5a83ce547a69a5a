import io

import numpy as np
import pytest

from sklearn_hash._cli import main


def test_main_job_prints_a_row_per_method_and_nbits():
    out = io.StringIO()
    rows = main(
        ["--methods", "lsh", "lsh-rot-thr", "--nbits", "16", "64", "-k", "10"], out=out
    )
    text = out.getvalue()
    assert "1-R@10" in text and "search q/s" in text
    # each hasher's row, then its codes searched asymmetrically (4 query bits)
    assert [(r["method"], r["nbits"]) for r in rows] == [
        ("lsh", 16),
        ("lsh+asym4", 16),
        ("lsh", 64),
        ("lsh+asym4", 64),
        ("lsh-rot-thr", 16),
        ("lsh-rot-thr+asym4", 16),
        ("lsh-rot-thr", 64),
        ("lsh-rot-thr+asym4", 64),
    ]
    for r in rows:
        assert 0 <= r["k-R@k"] <= r["1-R@k"] <= 1
    # more bits, better recall (0.21 -> 0.49 measured for lsh-rot-thr 16 -> 64)
    assert rows[6]["1-R@k"] > rows[4]["1-R@k"] + 0.1
    # unbinarized queries, better recall (0.49 -> 0.64 at 64 bits)
    assert rows[7]["1-R@k"] > rows[6]["1-R@k"] + 0.05
    assert "name+asymB rows" in text


def test_main_job_asymmetric_rows_on_request():
    rows = main(
        ["--methods", "itq", "--nbits", "32", "--asymmetric", "float", "2", "-q"],
        out=io.StringIO(),
    )
    assert [r["method"] for r in rows] == ["itq", "itq+asymfloat", "itq+asym2"]
    rows = main(["--methods", "itq", "--nbits", "32", "--asymmetric", "-q"], out=None)
    assert [r["method"] for r in rows] == ["itq"]
    with pytest.raises(SystemExit):
        main(["--asymmetric", "9"])


def test_main_job_rejects_bad_options(capsys):
    with pytest.raises(SystemExit):
        main(["--nbits", "0"])
    assert "positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--methods", "nope"])


def test_help_explains_data_methods_and_slow_ones(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for words in (
        "--data",
        "FOLDER",
        "FILE.npy",
        "--plot",
        "1-R@K",
        "--n-train",
        "* itq ",
        "  nphash ",
        "* = in the default run",
    ):
        assert words in text


def test_registry_default_methods_are_importable_hashers():
    from sklearn_hash._cli import _method_factories

    for description, factory, default in _method_factories().values():
        hasher = factory(16, 0)
        assert hasher.nbits == 16 and description and isinstance(default, bool)
    # too slow for the default run
    assert (
        not _method_factories()["nphash"][2] and not _method_factories()["asym-linv"][2]
    )


@pytest.fixture
def vector_folder(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 16))
    points = centres[rng.integers(0, 20, 2300)] + 0.3 * rng.standard_normal((2300, 16))
    np.save(tmp_path / "base.npy", points[:2000].astype(np.float32))
    np.save(tmp_path / "query.npy", points[2000:2100].astype(np.float32))
    np.save(tmp_path / "learn.npy", points[2100:].astype(np.float32))
    return tmp_path


def test_folder_without_ground_truth_learn_set_map_and_plot(
    vector_folder, tmp_path, capsys
):
    out = io.StringIO()
    png = tmp_path / "figure.png"
    rows = main(
        [
            "--data",
            str(vector_folder),
            "--methods",
            "lsh",
            "pca",
            "--nbits",
            "8",
            "16",
            "-k",
            "5",
            "--n-queries",
            "50",
            "--map",
            "--plot",
            str(png),
        ],
        out=out,
    )
    text = out.getvalue()
    assert "fitted on 200 learn vectors" in text and "query (50, 16)" in text
    assert "mAP" in text and f"figure written to {png}" in text
    assert png.stat().st_size > 10000
    # mAP of the Hamming ranking: the hashers' rows have it
    assert all(0 <= r["mAP"] <= 1 for r in rows if "+asym" not in r["method"])
    err = capsys.readouterr().err
    assert "computing the exact euclidean ground truth of 50 queries" in err
    assert "[4/4] pca, 16 bits" in err


def test_npy_file_is_split_into_queries_and_base(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((600, 8)).astype(np.float32))
    out = io.StringIO()
    rows = main(
        [
            "--data",
            str(tmp_path / "x.npy"),
            "--methods",
            "lsh",
            "--nbits",
            "16",
            "--n-queries",
            "40",
            "--metric",
            "cosine",
            "--quiet",
        ],
        out=out,
    )
    assert "base (560, 8), query (40, 8)" in out.getvalue()
    assert [r["method"] for r in rows] == ["lsh", "lsh+asym4"]
    assert capsys.readouterr().err == ""


def test_bad_data_paths(tmp_path):
    with pytest.raises(SystemExit, match="not 'embedded'"):
        main(["--data", str(tmp_path / "x.txt"), "--methods", "lsh"])
    with pytest.raises(SystemExit, match="no learn set"):
        main(["--train", "learn", "--methods", "lsh", "--nbits", "8", "-q"])


class _AsymmetricStub:
    """Query codes from transform, database codes (all ones) from encode_database."""

    def __init__(self):
        self.calls = []

    def fit(self, X, y=None):
        self.calls.append("fit")
        return self

    def transform(self, X):
        return np.zeros((len(X), 1), dtype=np.uint8)

    def encode_database(self, X):
        self.calls.append("encode_database")
        return np.full((len(X), 1), 255, dtype=np.uint8)

    def fit_transform(self, X, y=None):
        self.calls.append("fit_transform")
        return self.encode_database(X)


@pytest.mark.parametrize(
    "train_is_base, calls",
    [(True, ["fit_transform", "encode_database"]), (False, ["fit", "encode_database"])],
)
def test_asymmetric_hashers_encode_the_base_as_database(train_is_base, calls):
    from sklearn.utils import Bunch

    from sklearn_hash.metrics._evaluate import evaluate_hasher

    base = np.zeros((20, 3))
    data = Bunch(
        base=base,
        query=np.zeros((4, 3)),
        train=base if train_is_base else base[:5],
        ground_truth=np.tile(np.arange(10), (4, 1)),
    )
    stub = _AsymmetricStub()
    row = evaluate_hasher(stub, data, k=5, with_map=True)
    assert stub.calls == calls
    assert 0 <= row["1-R@k"] <= 1 and 0 <= row["mAP"] <= 1


def test_ann_benchmarks_file_keeps_its_angular_ground_truth(tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    train, test = rng.standard_normal((300, 8)), rng.standard_normal((20, 8))
    from sklearn_hash.model_selection import exact_neighbors

    with h5py.File(tmp_path / "tiny-8-angular.hdf5", "w") as f:
        f.attrs["distance"] = "angular"
        f["train"], f["test"] = train, test
        f["neighbors"] = exact_neighbors(train, test, n_neighbors=10, metric="cosine")
    rows = main(
        [
            "--data",
            str(tmp_path / "tiny-8-angular.hdf5"),
            "--methods",
            "lsh",
            "--nbits",
            "64",
            "-k",
            "10",
        ],
        out=io.StringIO(),
    )
    assert "ground truth" not in capsys.readouterr().err  # the file's own is used
    assert rows[0]["1-R@k"] > 0.5
    with h5py.File(tmp_path / "bits.hdf5", "w") as f:
        f.attrs["distance"] = "hamming"
        f["train"], f["test"] = np.ones((5, 8), bool), np.ones((2, 8), bool)
        f["neighbors"] = np.zeros((2, 1), dtype=int)
    with pytest.raises(SystemExit, match="binary codes already"):
        main(["--data", str(tmp_path / "bits.hdf5")])


def test_one_table_format_aligns_header_hasher_and_rerank_rows():
    from sklearn_hash._cli import _format_line, _table_columns

    columns = _table_columns(k=10, label_width=16, with_map=True)
    header = _format_line(columns)
    hasher = {
        "method": "itq",
        "nbits": 64,
        "1-R@k": 0.5,
        "k-R@k": 0.25,
        "mAP": 0.4,
        "fit s": 1.5,
        "encode s": 0.03,
        "search q/s": 12345.6,
    }
    # a re-ranked row has neither mAP nor encode time
    rerank = {**hasher, "method": "itq+rr100", "mAP": None, "encode s": None}
    lines = [header, _format_line(columns, hasher), _format_line(columns, rerank)]
    assert header.split() == [
        "method",
        "nbits",
        "1-R@10",
        "10-R@10",
        "mAP",
        "fit",
        "s",
        "encode",
        "s",
        "search",
        "q/s",
    ]
    assert len({len(line) for line in lines}) == 1
    # every right-aligned column ends at the same character in every line
    for title in ("nbits", "10-R@10", "mAP", "encode s", "search q/s"):
        end = header.index(title) + len(title)
        assert all(
            line[end - 1] != " " and line[end : end + 1] in ("", " ") for line in lines
        )
    assert lines[1].split()[2:] == [
        "0.500",
        "0.250",
        "0.400",
        "1.500",
        "0.030",
        "12346",
    ]
    assert lines[2].split()[4:7] == ["-", "1.500", "-"]
    no_map = _table_columns(k=5, label_width=14, with_map=False)
    assert "mAP" not in _format_line(no_map)
    assert _format_line(no_map, rerank).split()[-3:] == ["1.500", "-", "12346"]


def test_evaluation_set_of_a_npy_file(tmp_path):
    from sklearn_hash.datasets._evaluation_set import load_evaluation_set
    from sklearn_hash.model_selection import exact_neighbors

    X = np.random.default_rng(0).standard_normal((300, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    data = load_evaluation_set(
        str(tmp_path / "x.npy"), n_queries=20, n_neighbors=5, n_train=50, random_state=1
    )
    assert data.query.shape == (20, 4) and data.base.shape == (280, 4)
    # the split is a partition of the rows
    rows = {tuple(r) for r in np.vstack([data.base, data.query])}
    assert rows == {tuple(r) for r in X}
    assert data.metric == "euclidean" and data.ground_truth.shape == (20, 100)
    np.testing.assert_array_equal(
        data.ground_truth, exact_neighbors(data.base, data.query, n_neighbors=100)
    )
    assert data.train.shape == (50, 4) and data.train_name == "50 random base vectors"
    assert {tuple(r) for r in data.train} <= {tuple(r) for r in data.base}
    np.save(tmp_path / "flat.npy", X[:, 0])
    with pytest.raises(ValueError, match="expected a 2-D"):
        load_evaluation_set(str(tmp_path / "flat.npy"))
    with pytest.raises(ValueError, match="too few"):
        load_evaluation_set(str(tmp_path / "x.npy"), n_queries=299)
