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
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from bhm._paths import project_root

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

OK, WARNING, PROBLEM = "ok", "warning", "problem"

#: The repository's root (this file is ``src/bhm/doctor.py``).
ROOT = project_root()
#: The lock files ``make book`` installs from, by ``platform.system()``: exact versions and
#: hashes for Python 3.11 (``make lock`` writes both; the versions are the same, macOS adds appnope).
LOCKS = {
    "Linux": ROOT / "requirements" / "lock-py311-linux.txt",
    "Darwin": ROOT / "requirements" / "lock-py311-macos.txt",
}
#: httpstan's (so PyStan's) wheels: the oldest macOS release they install on, by machine.
_HTTPSTAN_MACOS = {"x86_64": (13,), "arm64": (14,)}

#: The doctor's own Stan run: chapter 1's normal model, whose posterior is known exactly.
_STAN_PROGRAM = "normal_mean"
_STAN_DATA = {"N": 5, "y": [1.2, 0.4, 2.1, 1.6, 0.9], "sigma": 1.0, "mu0": 0.0, "sigma0": 10.0}
_STAN_DRAWS = 300
_CACHE_WARN_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Finding:
    """The result of one check.

    Attributes
    ----------
    check : str
        What was checked, e.g. ``"C++ compiler"``.
    status : {"ok", "warning", "problem"}
        ``problem``: the book cannot run until it is fixed; ``warning``: it can,
        with a loss the finding names.
    finding : str
        One line: what the check found.
    advice : str
        What to do (empty when there is nothing to do).
    details : tuple of str
        Further lines (a compiler message, the list of mismatched packages).
    """

    check: str
    status: str
    finding: str
    advice: str = ""
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Platform:
    """The operating system and hardware, as far as the book cares.

    Attributes
    ----------
    system : str
        ``platform.system()``: ``"Linux"``, ``"Darwin"`` or ``"Windows"``.
    machine : str
        ``platform.machine()``: ``"x86_64"``, ``"arm64"``, ``"aarch64"``, ``"AMD64"``.
    name : str
        A readable name: ``"Debian GNU/Linux 12 (bookworm)"``, ``"macOS 14.5"``, ``"Windows 11"``.
    os_version : tuple of int
        macOS only: its version, ``(14, 5)``.
    distro_ids : tuple of str
        Linux only: ``ID`` and ``ID_LIKE`` of ``/etc/os-release`` (``("debian",)``).
    wsl : bool
        Linux running under Windows (WSL).
    rosetta : bool
        An x86_64 Python translated by Rosetta on Apple silicon.
    conda : bool
        Running inside a conda environment.
    """

    system: str
    machine: str
    name: str
    os_version: tuple[int, ...] = ()
    distro_ids: tuple[str, ...] = ()
    wsl: bool = False
    rosetta: bool = False
    conda: bool = False

    @property
    def apple_silicon(self) -> bool:
        """True on an Apple-silicon Mac, natively or under Rosetta."""
        return self.system == "Darwin" and (self.machine == "arm64" or self.rosetta)

    def describe(self) -> str:
        """One line, e.g. ``"Linux x86_64, Debian GNU/Linux 12 (bookworm)"``."""
        text = f"{'macOS' if self.system == 'Darwin' else self.system} {self.machine}, {self.name}"
        if self.wsl:
            text += ", under WSL"
        if self.apple_silicon:
            text += ", Apple silicon" + (" (this Python runs under Rosetta)" if self.rosetta else "")
        return text


# --------------------------------------------------------------------------- the machine
def current_platform() -> Platform:
    """Describe the machine this Python runs on.

    Returns
    -------
    Platform
    """
    system, machine = platform.system(), platform.machine()
    name, ids, wsl, rosetta, os_version = platform.platform(terse=True), (), False, False, ()
    if system == "Linux":
        try:
            release = platform.freedesktop_os_release()
        except (OSError, AttributeError):  # no /etc/os-release; Python before 3.10
            release = {}
        name = release.get("PRETTY_NAME", name)
        ids = tuple([release.get("ID", "")] + release.get("ID_LIKE", "").split())
        wsl = "microsoft" in platform.release().lower()
    elif system == "Darwin":
        name = f"macOS {platform.mac_ver()[0]}"
        os_version = tuple(int(part) for part in re.findall(r"\d+", platform.mac_ver()[0]))
        rosetta = machine == "x86_64" and _run_first_line(["sysctl", "-n", "sysctl.proc_translated"]) == "1"
    elif system == "Windows":
        name = f"Windows {platform.release()}"
    return Platform(system=system, machine=machine, name=name, os_version=os_version,
                    distro_ids=tuple(i for i in ids if i),
                    wsl=wsl, rosetta=rosetta, conda=bool(os.environ.get("CONDA_PREFIX")))


def _run_first_line(command: list[str], timeout: float = 20) -> str:
    """First non-empty line a command prints on stdout; ``""`` if it cannot run."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _home(path) -> str:
    """``path`` with the home folder written ``~``."""
    text, home = str(path), str(Path.home())
    return "~" + text[len(home):] if text == home or text.startswith(home + os.sep) else text


def _engine_in_use() -> str | None:
    """The engine :mod:`bhm.stan` will use, or None when ``bhm.stan`` cannot be imported."""
    try:
        from bhm import stan
    except ImportError:
        return None
    return stan.default_engine()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _canonical(name: str) -> str:
    """A distribution's name normalised as pip compares them: ``Nest_Asyncio`` -> ``nest-asyncio``."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------- platform and Python
def check_platform(machine: Platform, engine: str | None) -> Finding:
    """Is this a platform the book runs on?

    Linux (also under WSL2) and macOS run the pip route with PyStan. Native
    Windows has no PyStan: it needs WSL2, or the conda route with CmdStan.

    Parameters
    ----------
    machine : Platform
    engine : {"pystan", "cmdstanpy"} or None
        The engine :mod:`bhm.stan` will use.

    Returns
    -------
    Finding
    """
    described = machine.describe()
    if machine.system == "Windows":
        if engine == "cmdstanpy":
            return Finding("platform", WARNING, f"{described}: the conda route with CmdStan, not tested by the book",
                           "the book is tested on Linux; WSL2 runs the Linux route (README, Platforms)")
        return Finding("platform", PROBLEM, f"{described}: PyStan does not run on Windows",
                       "use WSL2 (wsl --install -d Debian, then the Linux steps inside it), or the conda route "
                       "with CmdStan, without environment.yml's pystan line (README, Platforms)")
    if engine != "cmdstanpy" and machine.system == "Linux" and machine.machine in ("aarch64", "arm64"):
        return Finding("platform", WARNING, f"{described}: httpstan (PyStan) has no wheels for Linux on ARM",
                       "pip cannot install PyStan here; the conda route with CmdStan may work (not tested)")
    if engine != "cmdstanpy" and machine.system == "Darwin" and not machine.rosetta:
        oldest = _HTTPSTAN_MACOS.get(machine.machine)
        if oldest and machine.os_version and machine.os_version < oldest:
            return Finding("platform", WARNING,
                           f"{described}: httpstan (PyStan) has wheels only for macOS {oldest[0]} or later here",
                           f"update macOS to {oldest[0]} or later, or use the conda route with CmdStan (not tested)")
    if machine.rosetta:
        return Finding("platform", WARNING, described,
                       "an arm64 (native) Python runs Stan programs faster than one under Rosetta; "
                       "install Python for arm64 and rebuild .venv")
    if machine.system not in ("Linux", "Darwin"):
        return Finding("platform", WARNING, f"{described}: not a platform the book is tested on",
                       "Linux (or WSL2) and macOS are")
    return Finding("platform", OK, described)


def check_python(version: tuple[int, ...] | None = None, executable: str | None = None) -> Finding:
    """Is Python 3.11 or later? (The lock file is for 3.11.)

    Parameters
    ----------
    version : tuple of int, optional
        ``(major, minor, micro)``; by default this interpreter's.
    executable : str, optional
        The interpreter's path, for the report; by default ``sys.executable``.

    Returns
    -------
    Finding
    """
    version = tuple(version or sys.version_info[:3])
    text = ".".join(str(part) for part in version[:3])
    where = f" ({_home(executable or sys.executable)})"
    if version[:2] < (3, 11):
        return Finding("Python", PROBLEM, f"Python {text}{where}: the book needs Python 3.11 or later",
                       "install Python 3.11 (python.org, your package manager, or pyenv) and run make book, "
                       "which uses python3.11")
    if version[:2] > (3, 11):
        return Finding("Python", WARNING, f"Python {text}{where}: the lock files are for Python 3.11",
                       "make book uses python3.11 when it is there (make book PYTHON=python3.X to choose); "
                       "other versions may need other package versions than the lock's")
    return Finding("Python", OK, f"{text}{where}")


# --------------------------------------------------------------------------- compiler
def compiler_advice(machine: Platform) -> str:
    """How to install a C++ compiler on this platform: one line with the command.

    Parameters
    ----------
    machine : Platform

    Returns
    -------
    str
    """
    if machine.conda:
        conda = "; in this conda environment also: conda install -c conda-forge cxx-compiler"
    else:
        conda = ""
    if machine.system == "Darwin":
        return "install Apple's command line tools: xcode-select --install" + conda
    if machine.system == "Windows":
        return ("PyStan needs WSL2 (then, inside it: sudo apt install g++); or take the conda route with "
                "CmdStan (README, Platforms)")
    ids = set(machine.distro_ids)
    if ids & {"debian", "ubuntu"}:
        command = "sudo apt install g++ (as root: apt-get install g++)"
    elif ids & {"fedora", "rhel", "centos"}:
        command = "sudo dnf install gcc-c++"
    elif ids & {"arch"}:
        command = "sudo pacman -S gcc"
    elif ids & {"opensuse", "suse"}:
        command = "sudo zypper install gcc-c++"
    else:
        command = "install g++ with your distribution's package manager (Debian and Ubuntu: sudo apt install g++)"
    return f"install a C++ compiler: {command}" + conda


def _compiler_commands(engine: str | None, machine: Platform, env) -> dict[str, str]:
    """The compilers the engine will call, by role: ``{"C++": "g++", "C": "gcc"}``.

    PyStan (httpstan) builds each program as a Python extension, with the
    compilers Python was built with (``sysconfig``'s ``CXX`` and ``CC``) unless
    the variables ``CXX`` and ``CC`` name others. CmdStan's makefiles use
    ``CXX`` too, else ``clang++`` on macOS and ``g++`` elsewhere.
    """
    def first_word(command):
        words = shlex.split(command or "")
        return words[0] if words else ""

    if engine == "cmdstanpy":
        default = "clang++" if machine.system == "Darwin" else "g++"
        return {"C++": first_word(env.get("CXX")) or default}
    return {
        "C++": first_word(env.get("CXX") or sysconfig.get_config_var("CXX")) or "g++",
        "C": first_word(env.get("CC") or sysconfig.get_config_var("CC")) or "gcc",
    }


def check_compiler(machine: Platform, engine: str | None, env=None) -> Finding:
    """Is the C++ compiler the Stan engine calls there, and which version is it?

    Parameters
    ----------
    machine : Platform
    engine : {"pystan", "cmdstanpy"} or None
    env : mapping, optional
        Environment variables (``PATH``, ``CXX``, ``CC``); by default ``os.environ``.

    Returns
    -------
    Finding
        With PyStan, a problem when a compiler is missing or does not run: every
        Stan program is compiled once per machine (into httpstan's cache), so
        the book cannot run. With CmdStanPy only a warning: CmdStan installed
        by conda may use a toolchain of its own (the engine check compiles).
    """
    env = os.environ if env is None else env
    found, missing, broken = [], [], []
    for role, command in _compiler_commands(engine, machine, env).items():
        path = shutil.which(command, path=env.get("PATH", os.defpath))
        if path is None:
            missing.append(f"{role} compiler {command}")
            continue
        runs, version = _compiler_version(path)
        if not runs:  # e.g. macOS's /usr/bin/clang++ without the command line tools
            broken.append(f"{command} ({path}) does not run: {version}")
        else:
            found.append(version if command in version else f"{command}: {version}")
    if missing or broken:
        finding = "; ".join(([f"no {' and no '.join(missing)} on PATH"] if missing else []) + broken)
        if engine == "cmdstanpy":  # CmdStan may bring its own toolchain (conda); the engine check compiles
            return Finding("C++ compiler", WARNING, f"{finding}: CmdStan needs one unless it brings its own",
                           "if the Stan engine check below fails, " + compiler_advice(machine))
        return Finding("C++ compiler", PROBLEM, f"{finding}: Stan cannot compile programs", compiler_advice(machine),
                       details=tuple(f"found {line}" for line in found))
    return Finding("C++ compiler", OK, "; ".join(found))


def _compiler_version(path: str) -> tuple[bool, str]:
    """Run ``path --version``: (True, its first line) or (False, why it failed)."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return False, str(error)
    lines = [line.strip() for line in (done.stdout or done.stderr).splitlines() if line.strip()]
    if done.returncode != 0:
        return False, lines[0] if lines else f"exit status {done.returncode}"
    return True, lines[0] if lines else "version unknown"


# --------------------------------------------------------------------------- Stan
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


def _format_bytes(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


# --------------------------------------------------------------------------- packages
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


# --------------------------------------------------------------------------- browser
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


# --------------------------------------------------------------------------- the report
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
    """0 when the book can run (no problem, warnings allowed), 1 when it cannot."""
    return 1 if any(finding.status == PROBLEM for finding in findings) else 0


def format_report(findings: list[Finding]) -> str:
    """The report as text: one line per check, advice and details indented below it."""
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
