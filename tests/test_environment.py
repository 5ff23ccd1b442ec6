"""pyproject.toml (pip) and environment.yml (conda) must list the same dependencies."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


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
    assert pip == conda, f"only in pyproject.toml: {sorted(pip - conda)}; only in environment.yml: {sorted(conda - pip)}"
