"""Resumable batches of independent jobs: one JSON file per finished job.

Chapter 5's study (:mod:`bhm.study`) and chapter 7's calibration
(:mod:`bhm.sbc`) run thousands of small fits. Both go through
:func:`run_tasks`, which

* **resumes**: a task whose result file exists is skipped, so the same call
  after an interruption runs only what is missing;
* **writes atomically** (:func:`write_atomically`): a result file is either
  whole or absent, whatever kills the run (a leftover ``.tmp-*`` file is
  removed at the next start);
* runs on **any** ``concurrent.futures`` **Executor**: a local process pool by
  default (:func:`default_executor`), or e.g.
  ``distributed.Client().get_executor()``;
* shows a **tqdm** progress bar with an estimate of the time left.

:func:`load_rows` reads the stored rows back as one DataFrame.

The Stan fits capture file descriptors 1 and 2 while they run
(:mod:`bhm.stan`), which is global to a process: give :func:`run_tasks` a
process-based executor, or a thread pool of one worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

__all__ = ["default_executor", "load_rows", "run_tasks", "write_atomically"]


def write_atomically(path, row: dict) -> None:
    """Write ``row`` as JSON to ``path``, so that the file is either absent or whole.

    Parameters
    ----------
    path : path-like
        The result file; its folder is created if missing.
    row : dict
        JSON-serialisable.

    Raises
    ------
    OSError
        The folder cannot be created or the file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(row, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)  # atomic: the file is either absent or whole


def default_executor(max_workers: int | None = None) -> cf.ProcessPoolExecutor:
    """A pool of ``max_workers`` fresh processes (default: one per core).

    Started with ``spawn``, not ``fork``: a parent that already ran Stan (a
    notebook) holds an event loop and threads, which a forked child must not
    inherit.

    Parameters
    ----------
    max_workers : int, optional
        Worker processes; by default ``os.cpu_count()``.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
    """
    return cf.ProcessPoolExecutor(max_workers=max_workers or os.cpu_count(), mp_context=mp.get_context("spawn"))


def run_tasks(out, tasks: list[tuple], fn: Callable[..., dict], result_path: Callable[..., Path], *,
              executor: cf.Executor | None = None, max_workers: int | None = None, progress: bool = True,
              desc: str = "run") -> dict:
    """Run ``fn(*task)`` for every task whose result file is missing; store each result as it finishes.

    Parameters
    ----------
    out : path-like
        Results folder.
    tasks : list of tuple
        Arguments of ``fn``, one tuple per task.
    fn : callable
        A module-level function (it is pickled to the workers) returning a
        JSON-serialisable dict: the task's row.
    result_path : callable
        ``result_path(out, *task)``: the result file of a task, inside ``out``.
    executor : concurrent.futures.Executor, optional
        Where tasks run. Default: :func:`default_executor` with
        ``max_workers`` processes, shut down at the end. A caller's executor
        is left running.
    max_workers : int, optional
        Processes of the default executor (default: one per core).
    progress : bool
        Show a tqdm progress bar with an estimate of the time left.
    desc : str
        Label of the progress bar.

    Returns
    -------
    dict
        ``done`` (tasks run now), ``skipped`` (found in ``out``) and
        ``seconds`` (wall time).

    Raises
    ------
    Exception
        Whatever a task raised; the tasks not started are cancelled, and every
        result stored before stays.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    for stale in out.rglob(".tmp-*"):  # a write cut short by a kill: never a result
        stale.unlink()
    todo = [task for task in tasks if not result_path(out, *task).exists()]
    skipped = len(tasks) - len(todo)
    start = time.perf_counter()
    own = executor is None
    pool = default_executor(max_workers) if own else executor
    bar = tqdm(total=len(todo), disable=not progress or not todo, unit="fit", desc=desc)
    futures = {}
    try:
        futures = {pool.submit(fn, *task): task for task in todo}
        for future in cf.as_completed(futures):
            write_atomically(result_path(out, *futures[future]), future.result())
            bar.update()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        bar.close()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return {"done": len(todo), "skipped": skipped, "seconds": time.perf_counter() - start}


def load_rows(out, pattern: str, sort_by: list[str], *, what: str = "results") -> pd.DataFrame:
    """Every stored row under ``out`` whose file matches ``pattern``, as one DataFrame.

    Parameters
    ----------
    out : path-like
        Results folder of :func:`run_tasks`.
    pattern : str
        Glob of the result files relative to ``out``, e.g. ``"*/[0-9]*.json"``.
    sort_by : list of str
        Columns to sort the rows by.
    what : str
        What the rows are, for the error message.

    Returns
    -------
    pandas.DataFrame, shape (files, columns)
        One row per file, sorted by ``sort_by``, with a fresh index.

    Raises
    ------
    ValueError
        No file matches.
    """
    files = sorted(Path(out).glob(pattern))
    if not files:
        raise ValueError(f"no {what} under {out}")
    rows = [json.loads(path.read_text()) for path in files]
    return pd.DataFrame(rows).sort_values(sort_by, ignore_index=True)
