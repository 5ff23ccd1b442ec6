"""The machine's checks of :mod:`bhm.doctor`: platform, Python and the C++ compiler."""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

from bhm.doctor._findings import OK, PROBLEM, WARNING, Finding, _home, _run_first_line

#: httpstan's (so PyStan's) wheels: the oldest macOS release they install on, by machine.
_HTTPSTAN_MACOS = {"x86_64": (13,), "arm64": (14,)}


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
