"""Tests of the package's shared pieces: input checks (bhm._validation), folders (bhm._paths), the runner (bhm.runs)."""

import concurrent.futures as cf
import json

import numpy as np
import pytest

from bhm import _paths, _validation, runs


# ----------------------------------------------------------------- seeds and checks
def test_one_seed_policy():
    assert _validation.rng(3).integers(100) == np.random.default_rng(3).integers(100)
    generator = np.random.default_rng(1)
    assert _validation.rng(generator) is generator            # a stream threads through several calls
    with pytest.raises(ValueError, match="seed is required"):
        _validation.rng(None)
    for bad in (-1, 1.5, True, "1", [1, 2]):
        with pytest.raises(ValueError, match="seed must be an int >= 0 or a numpy.random.Generator"):
            _validation.rng(bad)


@pytest.mark.parametrize(("value", "ok"), [(0, True), (np.int64(5), True), (2**31 - 1, True), (2**31, False),
                                           (-1, False), (1.0, False), (True, False), (None, False)])
def test_stan_seed(value, ok):
    if ok:
        assert _validation.stan_seed(value) == int(value)
    else:
        with pytest.raises(ValueError, match=r"seed must be a whole number in \[0, 2\*\*31\)"):
            _validation.stan_seed(value)


def test_whole_positive_finite():
    assert _validation.whole_number(np.int32(4), "n", 1) == 4
    for bad in (0, 2.0, True, "3"):
        with pytest.raises(ValueError, match="n must be a whole number >= 1"):
            _validation.whole_number(bad, "n", 1)
    assert _validation.positive("2.5", "sigma") == 2.5
    for bad in (0, -1, np.inf, np.nan, True, "x", None):
        with pytest.raises(ValueError, match="sigma must be a positive, finite number"):
            _validation.positive(bad, "sigma")
    assert _validation.finite(-3, "mu") == -3.0
    for bad in (np.inf, np.nan, False, "x", None):
        with pytest.raises(ValueError, match="mu must be a finite number"):
            _validation.finite(bad, "mu")
    assert _validation.real(np.float64(1.0)) and _validation.real(np.array(2)) and not _validation.real(True)


def test_finite_1d():
    values = np.array([1, 2])
    checked = _validation.finite_1d(values, "x0")
    assert checked.dtype == float and checked.tolist() == [1.0, 2.0]
    checked[0] = 5.0
    assert values[0] == 1                                      # a copy: the caller may change it
    assert _validation.finite_1d((3, -1.5), "x0").tolist() == [3.0, -1.5]
    for bad, problem in [("abc", "x0 must be a 1-D array of numbers; got str"),
                         (object(), "x0 must be a 1-D array of numbers; got object"),
                         (2.0, r"x0 must be a 1-D array, not empty; got shape \(\)"),
                         ([], r"x0 must be a 1-D array, not empty; got shape \(0,\)"),
                         ([[1.0, 2.0]], r"x0 must be a 1-D array, not empty; got shape \(1, 2\)"),
                         ([1.0, np.inf, np.nan], r"x0 must be finite; 2 of its 3 values are NaN or infinite "
                                                 r"\(the first at index 1\)")]:
        with pytest.raises(ValueError, match=f"^{problem}$"):
            _validation.finite_1d(bad, "x0")


# ----------------------------------------------------------------- folders
def test_project_folders(monkeypatch, tmp_path):
    root = _paths.project_root()
    assert (root / "pyproject.toml").is_file()
    for name in ("stan", "data", "book"):
        assert _paths.project_dir(name) == root / name and (root / name).is_dir()
    monkeypatch.setenv("BHM_BOOK_DIR", str(tmp_path))
    assert _paths.project_dir("book") == tmp_path
    with pytest.raises(ValueError, match="name must be one of"):
        _paths.project_dir("src")
    monkeypatch.setenv("BHM_BUILD_DIR", str(tmp_path / "build"))
    assert _paths.build_dir() == tmp_path / "build"


def test_an_installed_copy_finds_the_clone_it_runs_in(monkeypatch, tmp_path):
    """Not imported from a checkout: the nearest folder up from the working directory with bhm's pyproject."""
    clone = tmp_path / "clone"
    (clone / "stan").mkdir(parents=True)
    (clone / "pyproject.toml").write_text('[project]\nname = "bhm"\n')
    (clone / "book" / "sub").mkdir(parents=True)
    monkeypatch.setattr(_paths, "_CHECKOUT", tmp_path / "site-packages")
    monkeypatch.chdir(clone / "book" / "sub")
    assert _paths.project_dir("stan") == clone / "stan"
    monkeypatch.chdir(tmp_path)
    assert _paths.project_dir("stan") == tmp_path / "stan"       # no clone: ./stan, which the caller reports


# ----------------------------------------------------------------- the runner
def square(x):
    if x < 0:
        raise ValueError("negative")
    return {"x": x, "square": x * x}


def result_path(out, x):
    return out / f"{x:03d}.json"


def test_run_tasks_resumes_writes_whole_files_and_loads_rows(tmp_path):
    (tmp_path / ".tmp-left-by-a-kill.json").write_text("{")
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        first = runs.run_tasks(tmp_path, [(x,) for x in range(3)], square, result_path, executor=pool,
                               progress=False)
        again = runs.run_tasks(tmp_path, [(x,) for x in range(5)], square, result_path, executor=pool,
                               progress=False)
    assert (first["done"], first["skipped"]) == (3, 0) and (again["done"], again["skipped"]) == (2, 3)
    assert not list(tmp_path.glob(".tmp-*"))
    assert json.loads((tmp_path / "004.json").read_text()) == {"x": 4, "square": 16}
    rows = runs.load_rows(tmp_path, "[0-9]*.json", ["x"])
    assert rows["square"].tolist() == [0, 1, 4, 9, 16]
    with pytest.raises(ValueError, match="no squares under"):
        runs.load_rows(tmp_path / "empty", "*.json", ["x"], what="squares")


def test_a_failing_task_keeps_what_was_stored(tmp_path):
    with cf.ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(ValueError, match="negative"):
        runs.run_tasks(tmp_path, [(1,), (-1,), (2,)], square, result_path, executor=pool, progress=False)
    assert (tmp_path / "001.json").is_file()
