"""What every check of :mod:`bhm.doctor` returns (:class:`Finding`, its levels), and the helpers they share."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bhm._paths import project_root

OK, WARNING, PROBLEM = "ok", "warning", "problem"


#: The repository's root (this file is ``src/bhm/doctor.py``).
ROOT = project_root()


#: The lock files ``make book`` installs from, by ``platform.system()``: exact versions and
#: hashes for Python 3.11 (``make lock`` writes both; the versions are the same, macOS adds appnope).
LOCKS = {
    "Linux": ROOT / "requirements" / "lock-py311-linux.txt",
    "Darwin": ROOT / "requirements" / "lock-py311-macos.txt",
}


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


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _canonical(name: str) -> str:
    """A distribution's name normalised as pip compares them: ``Nest_Asyncio`` -> ``nest-asyncio``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _format_bytes(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
