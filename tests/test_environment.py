"""pyproject.toml (pip), environment.yml (conda) and the lock files must agree.

* pyproject.toml and environment.yml list the same dependencies;
* each lock file (requirements/lock-py311-*.txt, written by `make lock`) pins
  every package exactly, with hashes, at versions that satisfy both files;
* the Linux and macOS locks pin the same versions (the same numbers on both).
"""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[1]
LOCKS = [ROOT / "requirements" / "lock-py311-linux.txt", ROOT / "requirements" / "lock-py311-macos.txt"]
LOCKED_EXTRAS = ("book", "test")   # what the Makefile installs: .[book,test]; the cmdstan extra is conda's
NOT_LOCKED = {"python", "cmdstan", "cmdstanpy"}   # environment.yml entries no pip lock can hold


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _conda_specs() -> dict[str, str]:
    """environment.yml's dependencies: {normalised name: conda version spec ('' if none)}."""
    specs = {}
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in text.splitlines():
        match = re.match(r"\s+- ([A-Za-z0-9_.-]+)\s*([^#]*)", line)
        if match:
            specs[canonicalize_name(match.group(1))] = match.group(2).strip()
    return specs


def _locked_requirements() -> list[Requirement]:
    """pyproject.toml's dependencies and the extras the lock holds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in LOCKED_EXTRAS:
        texts += project["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


def _read_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """A lock file's pins: {normalised name: (version, [sha256 hashes])}."""
    pins, current = {}, None
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pin = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if pin:
            current = canonicalize_name(pin.group(1))
            assert current not in pins, f"{path.name}: {current} pinned twice"
            pins[current] = (pin.group(2), [])
        elif line.startswith(" "):
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
            assert hashes and current, f"{path.name}: unexpected line {line!r}"
            pins[current][1].extend(hashes)
        else:
            pytest.fail(f"{path.name}: a line that is not an exact pin: {line!r}")
    return pins


def conda_spec_matches(version: str, spec: str) -> bool:
    """Does ``version`` satisfy a conda spec such as ``>=0.18,<0.24`` or ``=3.10.0``?

    conda's ``=X`` is a prefix match (``3.10.0``, ``3.10.0.1``, not ``3.10.1``);
    the other operators mean what they mean in pip.
    """
    if not spec:
        return True
    for part in spec.split(","):
        part = part.strip()
        if re.match(r"=[^=]", part):
            prefix = part[1:]
            if not (version == prefix or version.startswith(prefix + ".")):
                return False
        elif not SpecifierSet(part).contains(version, prereleases=True):
            return False
    return True


def test_pip_and_conda_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pip |= {_name(r) for r in extra}
    conda = set()
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in text.splitlines():
        match = re.match(r"\s+- ([A-Za-z0-9_.-]+)", line)
        if match:
            conda.add(_name(match.group(1)))
    conda -= {"python", "cmdstan"}  # the interpreter, and CmdStan itself (conda only; pip cannot install it)
    assert pip == conda, (f"only in pyproject.toml: {sorted(pip - conda)}; "
                          f"only in environment.yml: {sorted(conda - pip)}")


def test_conda_spec_matching():
    assert conda_spec_matches("3.10.0", "=3.10.0")
    assert conda_spec_matches("1.0.4.post1", "=1.0.4.post1")
    assert conda_spec_matches("1.6.0", "=1.6")
    assert not conda_spec_matches("3.10.1", "=3.10.0")
    assert not conda_spec_matches("1.60", "=1.6")
    assert conda_spec_matches("0.23.4", ">=0.18,<0.24")
    assert not conda_spec_matches("0.24.0", ">=0.18,<0.24")
    assert not conda_spec_matches("1.25", ">=1.26")


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_pins_every_package_with_hashes(lock):
    pins = _read_lock(lock)
    assert len(pins) > 100, f"{lock.name} holds only {len(pins)} pins"
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert not unhashed, f"{lock.name}: pins without a hash: {unhashed}"
    assert "bhm" not in pins  # bhm itself goes in editable, after the lock


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_satisfies_pyproject(lock):
    pins = _read_lock(lock)
    wrong = []
    for requirement in _locked_requirements():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            wrong.append(f"{name} not in the lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            wrong.append(f"{name} {pins[name][0]} does not satisfy {requirement}")
    assert not wrong, f"{lock.name} does not satisfy pyproject.toml (run make lock): {wrong}"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_satisfies_environment_yml(lock):
    pins = _read_lock(lock)
    specs = _conda_specs()
    wrong = []
    for name, spec in specs.items():
        if name in NOT_LOCKED:
            continue
        if name not in pins:
            wrong.append(f"{name} not in the lock")
        elif not conda_spec_matches(pins[name][0], spec):
            wrong.append(f"{name} {pins[name][0]} does not satisfy {spec}")
    assert not wrong, f"{lock.name} does not satisfy environment.yml: {wrong}"
    assert set(specs) - NOT_LOCKED, "no packages read from environment.yml"


def test_locked_python_satisfies_pyproject_and_environment_yml():
    """The Python version `make lock` resolves for (--python-version) is one both files accept."""
    versions = set(re.findall(r"--python-version (\S+)", (ROOT / "Makefile").read_text()))
    assert len(versions) == 1, f"make lock should resolve for one Python version; found {versions}"
    locked = versions.pop()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(locked), f"lock for Python {locked}; pyproject.toml requires {requires}"
    assert conda_spec_matches(locked, _conda_specs()["python"])
    assert all(f"py{locked.replace('.', '')}" in lock.name for lock in LOCKS)


def test_linux_and_macos_locks_pin_the_same_versions():
    linux, macos = (_read_lock(lock) for lock in LOCKS)
    common = set(linux) & set(macos)
    differ = sorted(f"{name}: {linux[name][0]} / {macos[name][0]}" for name in common
                    if Version(linux[name][0]) != Version(macos[name][0]))
    assert not differ, f"the Linux and macOS locks pin different versions: {differ}"
    assert set(macos) - set(linux) <= {"appnope"}, sorted(set(macos) - set(linux))
    assert set(linux) - set(macos) == set(), sorted(set(linux) - set(macos))
