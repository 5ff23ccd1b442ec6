"""The CmdStanPy route of :mod:`bhm.stan` (the conda route, with a CmdStan installation).

CmdStanPy compiles an executable beside the ``.stan`` file it is given. bhm
gives it a copy of the program in :func:`bhm._paths.build_dir` instead, so
that the source tree stays clean (and ``make book``'s stamp of the sources
does not count executables). CmdStan runs as a child process whose output
CmdStanPy pipes: none of PyStan's machinery is needed here.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from bhm.stan._chatter import quiet


def version() -> str:
    """CmdStan's version, ``"2.36.0"``, or ``"?"``."""
    try:
        import cmdstanpy

        found = cmdstanpy.cmdstan_version()
        return ".".join(str(part) for part in found) if found else "?"
    except Exception:  # an old or broken CmdStanPy: the version stays unknown
        return "?"


def _build_copy(path: Path) -> Path:
    """A copy of program ``path`` in bhm's build folder, named by its content (a changed program, a new copy)."""
    from bhm._paths import build_dir

    code = path.read_bytes()
    folder = build_dir() / "cmdstan" / f"{path.stem}-{hashlib.sha256(code).hexdigest()[:12]}"
    copy = folder / path.name
    if not copy.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    return copy


def build_model(path: Path):
    """CmdStanPy's model of the program at ``path``: compiled if its executable is missing or stale."""
    import cmdstanpy

    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    with quiet():
        return cmdstanpy.CmdStanModel(stan_file=str(_build_copy(path)))


def sample(path, name, data, *, chains, draws, warmup, seed, thin, adapt_delta, max_treedepth):
    model = build_model(path)
    options = {}
    if adapt_delta is not None:
        options["adapt_delta"] = adapt_delta
    if max_treedepth is not None:
        options["max_treedepth"] = max_treedepth
    try:
        fit = model.sample(
            data=data, chains=chains, iter_sampling=draws, iter_warmup=warmup, thin=thin,
            seed=seed, show_progress=False, show_console=False, **options,
        )
    except RuntimeError as error:
        raise RuntimeError(f"Stan failed to sample program {name!r}: {error}") from None
    return model, fit


def sample_arrays(path, name, data, timing=None, **options):
    _, fit = sample(path, name, data, **options)
    table = fit.draws(concat_chains=False)  # (draw, chain, column)
    out = {column: table[:, :, i].T for i, column in enumerate(fit.column_names) if column.endswith("__")}
    chains, draws = table.shape[1], table.shape[0]
    for variable, values in fit.stan_variables().items():  # (chain * draw, *dims), chain by chain
        out[variable] = values.reshape(chains, draws, *values.shape[1:])
    return out
