"""The packages' checks of :mod:`bhm.doctor`: what bhm requires, the installed versions against the lock file."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from bhm.doctor._findings import LOCKS, OK, PROBLEM, ROOT, WARNING, Finding, _canonical, _home, _version
from bhm.doctor.machine import Platform, current_platform


def _bhm_requirements() -> list[tuple[str, str]]:
    """``bhm``'s requirements as ``(requirement, group)``; group is "core" or an extra's name.

    From the installed distribution's metadata, else from ``pyproject.toml``.
    """
    requires = importlib.metadata.requires("bhm") if _version("bhm") else None
    if requires is not None:
        pairs = []
        for text in requires:
            match = re.search(r"""extra\s*==\s*["']([^"']+)["']""", text)
            pairs.append((text.split(";")[0].strip(), match.group(1) if match else "core"))
        return pairs
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pairs = [(text, "core") for text in project["dependencies"]]
    for extra, texts in project.get("optional-dependencies", {}).items():
        pairs += [(text, extra) for text in texts]
    return pairs


def check_requirements(requirements: list[tuple[str, str]] | None = None, engine: str | None = "pystan") -> Finding:
    """Are the packages ``bhm`` needs installed, in versions it accepts?

    Parameters
    ----------
    requirements : list of (str, str), optional
        ``(requirement, group)`` pairs, group ``"core"``, ``"book"``, ``"test"``
        or ``"cmdstan"``; by default ``bhm``'s own.
    engine : {"pystan", "cmdstanpy"} or None
        The engine :mod:`bhm.stan` will use: with CmdStanPy, PyStan is not needed
        (conda-forge has no PyStan 3 for Windows).

    Returns
    -------
    Finding
        A problem when one of the core or ``book`` packages is missing or of a
        version ``bhm`` does not accept (the book cannot be built); a warning
        when only a ``test`` package is (``make test`` cannot run), or PyStan
        when the engine is CmdStanPy. The ``cmdstan`` extra is optional and not
        checked here (the engine check covers CmdStanPy).
    """
    requirements = _bhm_requirements() if requirements is None else requirements
    wrong = {"core": [], "book": [], "test": []}
    checked = 0
    for text, group in requirements:
        if group not in wrong:
            continue
        name, accepts = _parse_requirement(text)
        installed = _version(name)
        checked += 1
        if engine == "cmdstanpy" and _canonical(name) == "pystan":
            group = "test"  # only tests that force engine="pystan" need it
        if installed is None:
            wrong[group].append(f"{name} missing")
        elif accepts is not None and not accepts.contains(installed, prereleases=True):
            wrong[group].append(f"{name} {installed} (bhm needs {accepts})")
    fix = ("install from the lock: make book (the conda route: conda env update -f environment.yml)")
    if wrong["core"] or wrong["book"]:
        return Finding("packages", PROBLEM, "the book cannot run: " + ", ".join(wrong["core"] + wrong["book"]), fix,
                       details=(f"for make test: {', '.join(wrong['test'])}",) if wrong["test"] else ())
    if wrong["test"]:
        return Finding("packages", WARNING, "make test cannot run: " + ", ".join(wrong["test"]), fix)
    return Finding("packages", OK, f"all {checked} packages bhm requires are installed in versions it accepts")


def _parse_requirement(text: str):
    """``(name, specifier set)`` of a requirement; the specifier is None without ``packaging``.

    Before anything is installed (``PYTHONPATH=src python3 -m bhm doctor``)
    ``packaging`` may be missing: then only presence is checked.
    """
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return re.split(r"[<>=!~;\[ ]", text.strip(), maxsplit=1)[0], None
    requirement = Requirement(text)
    return requirement.name, requirement.specifier


def read_lock(path) -> dict[str, str]:
    """The pins of a lock file: ``{normalised name: version}``.

    Parameters
    ----------
    path : str or Path
        A requirements file with ``name==version`` lines (hash lines and
        comments are skipped).

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        If the file does not exist or holds no ``name==version`` line.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"lock file {path} does not exist")
    pins = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    if not pins:
        raise ValueError(f"{path} holds no 'name==version' line: not a lock file (make lock writes one)")
    return pins


def _lock_differences(pins: dict[str, str]) -> tuple[list[str], list[str]]:
    """The pins not met: ``(["numpy 2.3.1 (locked 2.4.6)", ...], ["zict", ...])``.

    The first list holds the packages installed in another version, the second
    those not installed at all.
    """
    other, absent = [], []
    for name, locked in sorted(pins.items()):
        installed = _version(name)
        if installed is None:
            absent.append(name)
        elif installed != locked:
            other.append(f"{name} {installed} (locked {locked})")
    return other, absent


def default_lock(machine: Platform | None = None) -> Path | None:
    """The lock file of this platform (:data:`LOCKS`): Linux (also WSL) or macOS; None on Windows.

    Parameters
    ----------
    machine : Platform, optional
        By default :func:`current_platform`.

    Returns
    -------
    Path or None
    """
    machine = current_platform() if machine is None else machine
    return LOCKS.get(machine.system)


def _shown(path: Path) -> str:
    """A lock file's path as the report shows it: relative to the repository, else with ``~``."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return _home(path)


def check_lock(lock=None) -> Finding:
    """Installed versions against the lock file.

    Parameters
    ----------
    lock : str or Path, optional
        The lock file; by default this platform's (:func:`default_lock`).

    Returns
    -------
    Finding
        A warning listing every package whose installed version is not the
        locked one (or that is not installed): the book runs, but its numbers
        are not guaranteed to be the published ones.

    Raises
    ------
    ValueError
        If ``lock`` is not a lock file (see :func:`read_lock`); except that a
        missing default lock (an installation without the repository) is a warning.
    """
    if lock is None:
        lock = default_lock()
        if lock is None:
            return Finding("lock file", WARNING, "no lock file for this platform: versions not compared",
                           "the lock files are for Linux (also under WSL2) and macOS")
        if not lock.is_file():
            return Finding("lock file", WARNING, f"no lock file at {_home(lock)}: versions not compared",
                           "run from a clone of the repository, or give one with --lock FILE")
    lock = Path(lock)
    pins = read_lock(lock)
    other, absent = _lock_differences(pins)
    shown = _shown(lock)
    if not other and not absent:
        return Finding("lock file", OK, f"all {len(pins)} packages as locked in {shown}")
    advice = (f"numbers may differ from the published ones; install the lock: python -m pip install "
              f"--require-hashes -r {shown} (make book does so whenever the lock changes)")
    summary = f"{len(other) + len(absent)} of {len(pins)} packages differ from {shown}"
    if len(other) + len(absent) <= 4:
        listed = other + [f"{name} not installed (locked {pins[name]})" for name in absent]
        return Finding("lock file", WARNING, f"{summary}: {', '.join(listed)}", advice)
    details = tuple(other) + ((f"not installed: {', '.join(absent)}",) if absent else ())
    return Finding("lock file", WARNING, f"{summary}: {len(other)} in other versions, {len(absent)} not installed",
                   advice, details=details)
