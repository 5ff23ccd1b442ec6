"""Diagnose the reader's machine: can it run the book, and with what?

``python -m bhm doctor`` runs every check below and prints one line each:

* the **platform** (Linux, macOS, Windows; WSL2; Apple silicon and Rosetta);
* **Python** (3.11 or later; the lock files are for 3.11);
* the **C++ compiler** the Stan engine will call (PyStan compiles every Stan
  program with it), with its version;
* the **Stan engine** that :mod:`bhm.stan` will use (PyStan or CmdStanPy) and
  whether it works: it builds and samples a tiny program through
  :func:`bhm.stan.sample` and times both (``--no-stan`` skips this);
* the **packages** ``bhm`` requires, and the installed versions against the
  **lock file** of the platform (``requirements/lock-py311-linux.txt`` or
  ``requirements/lock-py311-macos.txt``);
* the size of **httpstan's cache** of compiled programs, with the command that
  clears it;
* **Chromium**, which only the browser tests need.

Each check gives a :class:`Finding`: a status (``ok``, ``warning`` or
``problem``), a one-line finding and, for a warning or a problem, what to do.
The command exits with 0 when the book can run (warnings allowed: without
Chromium only the browser tests skip) and with 1 when it cannot.

:func:`build_versions` gives the short table of versions that the book's
execution-statistics page prints when the book is built.

Everything here reads the machine; nothing installs or deletes anything.
Where things are: :mod:`bhm.doctor.machine` (platform, Python, compiler),
:mod:`bhm.doctor.packages` (requirements, lock, the book's version table);
the Stan engine, its cache, Chromium and the report are here. Every name is
importable from ``bhm.doctor``.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from pathlib import Path

from bhm.doctor._findings import (  # noqa: F401 (ROOT, the repository, is for callers)
    LOCKS,
    OK,
    PROBLEM,
    ROOT,
    WARNING,
    Finding,
    _format_bytes,
    _home,
    _run_first_line,
    _version,
)
from bhm.doctor.machine import (
    Platform,
    check_compiler,
    check_platform,
    check_python,
    compiler_advice,
    current_platform,
)
from bhm.doctor.packages import _lock_differences, check_lock, check_requirements, default_lock, read_lock

__all__ = [
    "OK",
    "WARNING",
    "PROBLEM",
    "LOCKS",
    "default_lock",
    "Finding",
    "Platform",
    "current_platform",
    "compiler_advice",
    "check_platform",
    "check_python",
    "check_compiler",
    "check_engine",
    "check_requirements",
    "read_lock",
    "check_lock",
    "check_stan_cache",
    "check_chromium",
    "diagnose",
    "format_report",
    "exit_code",
    "run",
    "build_versions",
]

#: The doctor's own Stan run: chapter 1's normal model, whose posterior is known exactly.
_STAN_PROGRAM = "normal_mean"


_STAN_DATA = {"N": 5, "y": [1.2, 0.4, 2.1, 1.6, 0.9], "sigma": 1.0, "mu0": 0.0, "sigma0": 10.0}


_STAN_DRAWS = 300


_CACHE_WARN_BYTES = 2 * 1024**3


def _engine_in_use() -> str | None:
    """The engine :mod:`bhm.stan` will use, or None when ``bhm.stan`` cannot be imported."""
    try:
        from bhm import stan
    except ImportError:
        return None
    return stan.default_engine()


def _engine_versions(engine: str) -> str:
    """``"PyStan 3.10.0 with httpstan 4.13.0"`` or ``"CmdStanPy 1.2.4 with CmdStan 2.36.0"``."""
    try:
        from bhm import stan
    except ImportError:  # bhm.stan's own requirements missing: name the engine only
        return {"pystan": "PyStan", "cmdstanpy": "CmdStanPy"}[engine] + " (versions unknown)"
    return stan.engine_description(engine)


def check_engine(engine: str | None, *, run_stan: bool = True) -> Finding:
    """Which Stan engine :mod:`bhm.stan` will use, and does it compile and sample?

    With ``run_stan``, builds chapter 1's ``normal_mean`` program through
    :func:`bhm.stan.build` (a compile on a machine's first run, about half a
    minute; a cache hit after that) and samples it through
    :func:`bhm.stan.sample`, timing both, and compares the posterior mean with
    its closed form.

    Parameters
    ----------
    engine : {"pystan", "cmdstanpy"} or None
        None when :mod:`bhm.stan` cannot be imported.
    run_stan : bool
        False: only name the engine and its version.

    Returns
    -------
    Finding
    """
    if engine is None:
        return Finding("Stan engine", PROBLEM, "bhm.stan cannot be imported (a required package is missing)",
                       "see 'packages' below")
    package = "pystan" if engine == "pystan" else "cmdstanpy"
    name = _engine_versions(engine)
    if _version(package) is None:
        return Finding("Stan engine", PROBLEM, f"{package} is not installed",
                       "make book installs PyStan from the lock (conda route: conda env create -f environment.yml)")
    if not run_stan:
        return Finding("Stan engine", OK, f"{name}; not run (--no-stan)")
    from bhm import stan

    try:
        start = time.perf_counter()
        stan.build(_STAN_PROGRAM, _STAN_DATA, engine=engine)
        built = time.perf_counter() - start
        start = time.perf_counter()
        idata = stan.sample(_STAN_PROGRAM, _STAN_DATA, seed=1, chains=1, draws=_STAN_DRAWS, warmup=_STAN_DRAWS,
                            engine=engine, check=False)
        sampled = time.perf_counter() - start
    except Exception as error:  # whatever the engine raises, the reader must see it
        lines = [line for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
        return Finding("Stan engine", PROBLEM, f"{name} failed: {lines[0][:200]}",
                       "check the C++ compiler above; the lines below are the engine's message",
                       details=tuple(lines[1:21]))
    draws = idata.posterior["mu"].values.ravel()
    precision = 1 / _STAN_DATA["sigma0"] ** 2 + _STAN_DATA["N"] / _STAN_DATA["sigma"] ** 2
    exact_mean = (_STAN_DATA["mu0"] / _STAN_DATA["sigma0"] ** 2 + sum(_STAN_DATA["y"]) / _STAN_DATA["sigma"] ** 2) \
        / precision
    exact_sd = precision ** -0.5
    mean = float(draws.mean())
    summary = (f"{name}: built {_STAN_PROGRAM} in {built:.1f} s, {_STAN_DRAWS} draws in {sampled:.1f} s; "
               f"posterior mean {mean:.3f} (exact {exact_mean:.3f})")
    if not abs(mean - exact_mean) < 0.5 * exact_sd:  # ~7 Monte Carlo standard errors: a broken engine, not bad luck
        return Finding("Stan engine", PROBLEM, summary + ": wrong", "reinstall the engine from the lock (make book)")
    return Finding("Stan engine", OK, summary)


def check_stan_cache(engine: str | None) -> Finding:
    """Size of httpstan's cache of compiled programs, and how to clear it.

    Parameters
    ----------
    engine : {"pystan", "cmdstanpy"} or None

    Returns
    -------
    Finding
        A warning above 2 GiB.
    """
    report = None
    if _version("httpstan") is not None:
        from bhm import stan

        report = stan.cache_report()
    if report is None:
        return Finding("Stan cache", OK, "httpstan is not installed: no cache" +
                       (" (CmdStanPy keeps its executables in ~/.cache/bhm)" if engine == "cmdstanpy" else ""))
    folder, size = report["folder"], report["bytes"]
    clear = f"rm -rf {_home(folder)}"
    finding = f"{_format_bytes(size)} in {_home(folder)} ({report['programs']} compiled program(s) for this httpstan)"
    if size > _CACHE_WARN_BYTES:
        return Finding("Stan cache", WARNING, finding,
                       f"clear it with: {clear} (every program then compiles again once, ~30 s each)")
    return Finding("Stan cache", OK, finding, f"to clear it: {clear} (every program then compiles again once)")


def _chromium_path(env=None) -> str | None:
    """Chromium as tests/test_browser.py finds it: $BHM_CHROMIUM, chromium on PATH, /usr/bin/chromium."""
    env = os.environ if env is None else env
    for candidate in (env.get("BHM_CHROMIUM"), shutil.which("chromium", path=env.get("PATH", os.defpath)),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def check_chromium(env=None) -> Finding:
    """Is Chromium there for the browser tests (``tests/test_browser.py``)?

    Parameters
    ----------
    env : mapping, optional
        Environment variables; by default ``os.environ``.

    Returns
    -------
    Finding
        A warning when it is missing: only the browser tests skip.
    """
    path = _chromium_path(env)
    if path is None:
        return Finding("Chromium", WARNING, "not found: the browser tests (tests/test_browser.py) will skip",
                       "Debian and Ubuntu: sudo apt install chromium (make test does it as root); "
                       "or point BHM_CHROMIUM at a Chromium")
    version = _run_first_line([path, "--version"])
    return Finding("Chromium", OK, f"{version or 'found'} ({path}): the browser tests will run")


def diagnose(*, run_stan: bool = True, lock=None) -> list[Finding]:
    """Run every check.

    Parameters
    ----------
    run_stan : bool
        Compile (or load) and sample a tiny Stan program; False for a quick report.
    lock : str or Path, optional
        The lock file to compare the installed versions with; by default this
        platform's (:func:`default_lock`).

    Returns
    -------
    list of Finding
        In the order of the report.

    Raises
    ------
    ValueError
        If ``lock`` is not a readable lock file.
    """
    machine = current_platform()
    engine = _engine_in_use()
    return [
        check_platform(machine, engine),
        check_python(),
        check_compiler(machine, engine),
        check_engine(engine, run_stan=run_stan),
        check_requirements(engine=engine),
        check_lock(lock),
        check_stan_cache(engine),
        check_chromium(),
    ]


def exit_code(findings: list[Finding]) -> int:
    """0 when the book can run (no problem, warnings allowed), 1 when it cannot.

    Parameters
    ----------
    findings : list of Finding

    Returns
    -------
    int
        1 if any finding is a problem, else 0.
    """
    return 1 if any(finding.status == PROBLEM for finding in findings) else 0


def format_report(findings: list[Finding]) -> str:
    """The report as text: one line per check, advice and details indented below it.

    Parameters
    ----------
    findings : list of Finding

    Returns
    -------
    str
        The report, one line per check and an indented line of advice where
        there is something to do, and the verdict.
    """
    label = {OK: "ok", WARNING: "warning", PROBLEM: "PROBLEM"}
    width = max(len(finding.check) for finding in findings)
    lines = []
    for finding in findings:
        lines.append(f"{label[finding.status]:<8} {finding.check:<{width}}  {finding.finding}")
        indent = " " * (8 + 1 + width + 2)
        lines += [f"{indent}  {detail}" for detail in finding.details]
        if finding.advice:
            lines.append(f"{indent}-> {finding.advice}")
    problems = sum(finding.status == PROBLEM for finding in findings)
    warnings = sum(finding.status == WARNING for finding in findings)
    if problems:
        verdict = f"The book cannot run here: {problems} problem(s) above; each says what to do."
    else:
        verdict = "The book can run here" + (f" ({warnings} warning(s) above)." if warnings else ".")
    return "\n".join(lines + ["", verdict])


def run(*, run_stan: bool = True, lock=None, out=None) -> int:
    """``python -m bhm doctor``: print the report and return the exit code.

    Parameters
    ----------
    run_stan : bool
        False for ``--no-stan``.
    lock : str or Path, optional
        ``--lock FILE``; by default this platform's lock file.
    out : file, optional
        Where to print; by default ``sys.stdout``.

    Returns
    -------
    int
        0 when the book can run, 1 when it cannot.

    Raises
    ------
    ValueError
        If ``lock`` is not a lock file (checked before anything runs).
    """
    out = sys.stdout if out is None else out
    if lock is not None:
        read_lock(lock)  # bad input fails at once, before the slow checks
    print("bhm doctor: can this machine run the book?", file=out, flush=True)
    findings = diagnose(run_stan=run_stan, lock=lock)
    print(format_report(findings), file=out, flush=True)
    return exit_code(findings)


# --------------------------------------------------------------------------- the book's page
def build_versions():
    """The versions the book is built with, as a small table for a page.

    Returns
    -------
    pandas.DataFrame
        One row per component (platform, Python, the numerical packages, the
        Stan engine, the C++ compiler, Jupyter Book), column ``version``; the
        last row says whether every installed version is the lock file's. No
        machine paths.
    """
    import pandas as pd

    machine = current_platform()
    engine = _engine_in_use()
    rows = {
        "platform": f"{'macOS' if machine.system == 'Darwin' else machine.system} {machine.machine}, {machine.name}",
        "Python": platform.python_version(),
    }
    for name in ("bhm", "numpy", "scipy", "pandas", "arviz", "matplotlib", "statsmodels"):
        rows[name] = _version(name) or "not installed"
    rows["Stan engine"] = _engine_versions(engine) if engine else "none"
    compiler = check_compiler(machine, engine)
    rows["C++ compiler"] = compiler.finding.split(";")[0] if compiler.status == OK else "not found"
    for name in ("jupyter-book", "myst-nb", "sphinx"):
        rows[name] = _version(name) or "not installed"
    try:
        pins = read_lock(default_lock(machine) or "")
    except ValueError:
        rows["lock file"] = "not found"
    else:
        differ = sum(len(part) for part in _lock_differences(pins))
        rows["lock file"] = (f"all {len(pins)} packages as locked" if not differ
                             else f"{differ} of {len(pins)} packages differ from the lock")
    return pd.DataFrame({"version": rows})
