"""python -m bhm doctor: the report on this machine, on a broken one, and its options.

The full report (test_report_on_this_machine) compiles or loads and samples a
tiny Stan program; the others run with --no-stan or call one check.
"""

import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys

import pytest

from bhm import doctor
from bhm.__main__ import main

INSTALL_COMMANDS = ("apt install g++", "dnf install gcc-c++", "pacman -S gcc", "zypper install gcc-c++",
                    "xcode-select --install")


def _doctor(*args, env=None):
    """Run ``python -m bhm doctor ARGS`` in a new process; return (exit code, stdout + stderr)."""
    done = subprocess.run([sys.executable, "-m", "bhm", "doctor", *args], capture_output=True, text=True,
                          env=env, timeout=900, check=False)
    return done.returncode, done.stdout + done.stderr


def _line(report: str, check: str) -> str:
    """The report's line of one check."""
    lines = [line for line in report.splitlines() if re.match(rf"(ok|warning|PROBLEM)\s+{re.escape(check)}\s", line)]
    assert len(lines) == 1, f"no single line for {check!r} in:\n{report}"
    return lines[0]


@pytest.fixture
def no_compiler_env(tmp_path):
    """The environment with PATH a folder holding only a `python` symlink: no g++, c++, cc, gcc."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python").symlink_to(sys.executable)
    env = {key: value for key, value in os.environ.items() if key not in ("CXX", "CC", "BHM_CHROMIUM")}
    env["PATH"] = str(folder)
    return env


def test_report_on_this_machine():
    code, report = _doctor()
    assert code == 0, report
    assert platform.system() in _line(report, "platform")
    assert platform.python_version() in _line(report, "Python")
    engine = _line(report, "Stan engine")
    assert engine.startswith("ok") and f"PyStan {importlib.metadata.version('pystan')}" in engine
    assert "posterior mean" in engine
    compiler = _line(report, "C++ compiler")
    gxx = subprocess.run(["g++", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    assert compiler.startswith("ok") and gxx in compiler  # e.g. "g++ (Debian 12.2.0-14) 12.2.0"
    assert re.search(r"\d+\.\d+\.\d+", compiler)
    assert re.search(r"\d+(\.\d)? (B|kB|MB|GB) in ", _line(report, "Stan cache"))
    assert "rm -rf" in report  # the command that clears the cache
    chromium = _line(report, "Chromium")
    if os.environ.get("BHM_CHROMIUM") or shutil.which("chromium") or os.path.isfile("/usr/bin/chromium"):
        assert chromium.startswith("ok") and "will run" in chromium
    else:
        assert chromium.startswith("warning") and "will skip" in chromium
    assert report.rstrip().endswith(("The book can run here.", "warning(s) above)."))


def test_missing_compiler_is_a_problem(no_compiler_env):
    code, report = _doctor("--no-stan", env=no_compiler_env)
    assert code == 1, report
    line = _line(report, "C++ compiler")
    assert line.startswith("PROBLEM") and "no C++ compiler g++" in line
    assert any(command in report for command in INSTALL_COMMANDS), report
    assert "The book cannot run here" in report


def test_before_anything_is_installed():
    """``PYTHONPATH=src python -m bhm doctor``, with no site-packages (-S): the missing packages are problems."""
    env = dict(os.environ, PYTHONPATH=str(doctor.ROOT / "src"))
    done = subprocess.run([sys.executable, "-S", "-m", "bhm", "doctor", "--no-stan"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    report = done.stdout + done.stderr
    assert done.returncode == 1, report
    assert _line(report, "packages").startswith("PROBLEM") and "numpy missing" in report
    assert _line(report, "Stan engine").startswith("PROBLEM")
    assert _line(report, "C++ compiler").startswith("ok")  # what can be checked still is


def test_compiler_named_by_cxx_is_the_one_checked(tmp_path):
    machine = doctor.current_platform()
    found = doctor.check_compiler(machine, "pystan", env={"PATH": os.environ["PATH"], "CXX": "g++", "CC": "gcc"})
    assert found.status == doctor.OK and "g++" in found.finding
    missing = doctor.check_compiler(machine, "pystan",
                                    env={"PATH": os.environ["PATH"], "CXX": "no-such-c++ -O2", "CC": "gcc"})
    assert missing.status == doctor.PROBLEM and "no-such-c++" in missing.finding and "gcc" not in missing.finding


def test_missing_compiler_with_cmdstanpy_is_a_warning(tmp_path):
    machine = doctor.current_platform()
    finding = doctor.check_compiler(machine, "cmdstanpy", env={"PATH": str(tmp_path)})
    assert finding.status == doctor.WARNING and "no C++ compiler" in finding.finding


def test_compiler_that_does_not_run_is_a_problem(tmp_path):
    """Like macOS's /usr/bin/clang++ before the command line tools are installed."""
    shim = tmp_path / "g++"
    shim.write_text("#!/bin/sh\necho 'xcrun: error: invalid active developer path' >&2\nexit 1\n")
    shim.chmod(0o755)
    machine = doctor.Platform("Darwin", "arm64", "macOS 14.5", os_version=(14, 5))
    finding = doctor.check_compiler(machine, "pystan", env={"PATH": f"{tmp_path}:{os.environ['PATH']}",
                                                            "CXX": "g++", "CC": "gcc"})
    assert finding.status == doctor.PROBLEM
    assert "does not run: xcrun: error" in finding.finding and "xcode-select --install" in finding.advice


@pytest.mark.parametrize("machine, command", [
    (doctor.Platform("Linux", "x86_64", "Debian GNU/Linux 12", distro_ids=("debian",)), "sudo apt install g++"),
    (doctor.Platform("Linux", "x86_64", "Ubuntu 24.04", distro_ids=("ubuntu", "debian"), wsl=True),
     "sudo apt install g++"),
    (doctor.Platform("Linux", "x86_64", "Fedora Linux 40", distro_ids=("fedora",)), "sudo dnf install gcc-c++"),
    (doctor.Platform("Darwin", "arm64", "macOS 14.5", os_version=(14, 5)), "xcode-select --install"),
    (doctor.Platform("Windows", "AMD64", "Windows 11"), "WSL2"),
])
def test_compiler_advice_fits_the_platform(machine, command):
    assert command in doctor.compiler_advice(machine)


def test_platform_verdicts():
    windows = doctor.Platform("Windows", "AMD64", "Windows 11")
    assert doctor.check_platform(windows, "pystan").status == doctor.PROBLEM
    assert "WSL2" in doctor.check_platform(windows, "pystan").advice
    assert doctor.check_platform(windows, "cmdstanpy").status == doctor.WARNING
    mac = doctor.Platform("Darwin", "arm64", "macOS 14.5", os_version=(14, 5))
    assert doctor.check_platform(mac, "pystan").status == doctor.OK
    assert "Apple silicon" in doctor.check_platform(mac, "pystan").finding
    old_mac = doctor.Platform("Darwin", "arm64", "macOS 13.6", os_version=(13, 6))
    assert doctor.check_platform(old_mac, "pystan").status == doctor.WARNING
    rosetta = doctor.Platform("Darwin", "x86_64", "macOS 14.5", os_version=(14, 5), rosetta=True)
    assert doctor.check_platform(rosetta, "pystan").status == doctor.WARNING
    assert "Rosetta" in doctor.check_platform(rosetta, "pystan").finding
    arm_linux = doctor.Platform("Linux", "aarch64", "Debian GNU/Linux 12", distro_ids=("debian",))
    assert doctor.check_platform(arm_linux, "pystan").status == doctor.WARNING
    assert doctor.check_platform(doctor.current_platform(), "pystan").status == doctor.OK


def test_python_verdicts():
    assert doctor.check_python((3, 10, 12)).status == doctor.PROBLEM
    assert doctor.check_python((3, 11, 2)).status == doctor.OK
    assert doctor.check_python((3, 12, 1)).status == doctor.WARNING


def test_missing_or_wrong_required_package_is_a_problem():
    numpy = importlib.metadata.version("numpy")
    ok = doctor.check_requirements([(f"numpy=={numpy}", "core"), ("pytest>=1", "test")])
    assert ok.status == doctor.OK
    missing = doctor.check_requirements([("no-such-package-bhm>=1", "core")])
    assert missing.status == doctor.PROBLEM and "no-such-package-bhm missing" in missing.finding
    too_new = doctor.check_requirements([("numpy<1", "book")])
    assert too_new.status == doctor.PROBLEM and f"numpy {numpy}" in too_new.finding
    test_only = doctor.check_requirements([("no-such-package-bhm>=1", "test")])
    assert test_only.status == doctor.WARNING and "make test" in test_only.finding
    assert doctor.check_requirements().status == doctor.OK  # bhm's own, in this environment
    no_pystan = [("pystan==0.0.1", "core")]
    assert doctor.check_requirements(no_pystan, engine="pystan").status == doctor.PROBLEM
    assert doctor.check_requirements(no_pystan, engine="cmdstanpy").status == doctor.WARNING


def test_lock_mismatch_is_reported(tmp_path):
    numpy = importlib.metadata.version("numpy")
    lock = tmp_path / "lock.txt"
    lock.write_text(f"numpy==0.0.1 \\\n    --hash=sha256:{'0' * 64}\nscipy=={importlib.metadata.version('scipy')}\n"
                    "no-such-package-bhm==1.0\n")
    finding = doctor.check_lock(lock)
    assert finding.status == doctor.WARNING
    assert f"numpy {numpy} (locked 0.0.1)" in finding.finding
    assert "no-such-package-bhm not installed (locked 1.0)" in finding.finding
    assert "scipy" not in finding.finding  # as locked
    code, report = _doctor("--no-stan", "--lock", str(lock))
    assert code == 0, report  # a mismatch is a warning: the book still runs
    assert _line(report, "lock file").startswith("warning") and "2 of 3 packages differ" in report


def test_lock_that_matches_is_ok(tmp_path):
    lock = tmp_path / "lock.txt"
    names = ("numpy", "scipy", "arviz", "pystan")
    lock.write_text("".join(f"{name}=={importlib.metadata.version(name)}\n" for name in names))
    finding = doctor.check_lock(lock)
    assert finding.status == doctor.OK and f"all {len(names)} packages as locked" in finding.finding


@pytest.mark.parametrize("args, message", [
    (["--lock", "no/such/lock.txt"], "lock file no/such/lock.txt does not exist"),
    (["--lock", "README.md"], "not a lock file"),
])
def test_bad_lock_option_is_a_clear_error(args, message, capsys, monkeypatch):
    monkeypatch.chdir(doctor.ROOT)
    assert main(["doctor", "--no-stan", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_unknown_option_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "--no-such-option"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_build_versions_table():
    table = doctor.build_versions()
    assert list(table.columns) == ["version"]
    for row in ("platform", "Python", "numpy", "scipy", "arviz", "Stan engine", "C++ compiler", "jupyter-book",
                "lock file"):
        assert row in table.index
    assert table.loc["Python", "version"] == platform.python_version()
    assert table.loc["numpy", "version"] == importlib.metadata.version("numpy")
    assert "PyStan" in table.loc["Stan engine", "version"]
    text = " ".join(table["version"])
    for private in (sys.prefix, os.path.expanduser("~"), "site-packages", "/root/", "/home/"):
        assert private not in text, f"the page would print a machine path: {private}"
    assert max(len(value) for value in table["version"]) <= 60  # fits the text column
