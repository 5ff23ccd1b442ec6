"""bhm.data: the GCSE data (mlmRev's Gcsemv) as shipped in data/gcsemv.csv.

The counts asserted here are those of data/README.md (taken from the R data
frame in Debian's r-cran-mlmrev 1.0-8-2, mlmRev 1.0-8).
"""

import shutil

import numpy as np
import pandas as pd
import pytest

from bhm.data import GCSE_COLUMNS, complete_course, data_dir, load_gcse


@pytest.fixture(scope="module")
def gcse():
    return load_gcse()


def test_shape_and_counts(gcse):
    assert gcse.shape == (1905, 5)
    assert list(gcse.columns) == list(GCSE_COLUMNS)
    assert gcse["school"].nunique() == 73
    assert gcse.isna().sum().to_dict() == {"school": 0, "student": 0, "gender": 0, "written": 202, "course": 180}
    assert gcse["gender"].value_counts().to_dict() == {"F": 1128, "M": 777}
    assert not gcse.duplicated(["school", "student"]).any()


def test_dtypes_and_order(gcse):
    for column in ("school", "student"):
        assert pd.api.types.is_string_dtype(gcse[column])
    assert isinstance(gcse["gender"].dtype, pd.CategoricalDtype)
    assert list(gcse["gender"].cat.categories) == ["M", "F"]
    assert gcse["written"].dtype == np.float64 and gcse["course"].dtype == np.float64
    # R's row order: the first rows of Gcsemv
    first = gcse.iloc[0]
    assert (first["school"], first["student"], first["gender"], first["written"]) == ("20920", "16", "M", 23.0)
    assert np.isnan(first["course"])
    assert gcse.iloc[1]["course"] == 71.2 and np.isnan(gcse.iloc[1]["written"])


def test_complete_course(gcse):
    complete = complete_course(gcse)
    assert complete.shape == (1725, 6)
    assert complete["course"].notna().all()
    assert complete["school"].nunique() == 73
    assert complete["female"].dtype == np.float64
    assert complete["female"].sum() == 1030
    assert ((complete["female"] == 1.0) == (complete["gender"] == "F")).all()
    assert list(complete.index) == list(range(1725))


def test_complete_course_bad_input():
    with pytest.raises(ValueError, match="'gender'"):
        complete_course(pd.DataFrame({"course": [1.0]}))
    with pytest.raises(ValueError, match="'M' or 'F'"):
        complete_course(pd.DataFrame({"course": [1.0], "gender": ["X"]}))


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_gcse(path)


def test_data_dir_override(tmp_path, monkeypatch):
    shutil.copy(data_dir() / "gcsemv.csv", tmp_path / "gcsemv.csv")
    monkeypatch.setenv("BHM_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    assert load_gcse().shape == (1905, 5)
    (tmp_path / "gcsemv.csv").unlink()
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_gcse()


def test_crlf_checkout_loads(tmp_path):
    text = (data_dir() / "gcsemv.csv").read_bytes()
    (tmp_path / "gcsemv.csv").write_bytes(text.replace(b"\n", b"\r\n"))
    assert load_gcse(tmp_path / "gcsemv.csv").equals(load_gcse())


def test_altered_file(tmp_path):
    lines = (data_dir() / "gcsemv.csv").read_text().splitlines(keepends=True)
    assert lines[3] == "20920,27,F,39,76.8\n"
    lines[3] = "20920,27,F,39,76.9\n"  # one digit changed
    (tmp_path / "gcsemv.csv").write_text("".join(lines))
    with pytest.raises(ValueError, match="checksum mismatch: expected sha256 .*, got .*the file was altered"):
        load_gcse(tmp_path / "gcsemv.csv")


def test_dropped_column(tmp_path):
    df = pd.read_csv(data_dir() / "gcsemv.csv", dtype=str, keep_default_na=False)
    df.drop(columns="written").to_csv(tmp_path / "gcsemv.csv", index=False)
    # the column check comes before the checksum, so the message names the column
    with pytest.raises(ValueError, match="missing column.*'written'"):
        load_gcse(tmp_path / "gcsemv.csv")
