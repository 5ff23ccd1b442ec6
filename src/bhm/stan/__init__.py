"""The one door to Stan: compile a program from ``stan/`` once, sample, return ArviZ data.

Two engines sit behind :func:`sample`:

* **CmdStanPy**, when a CmdStan installation is found (the conda route,
  ``environment.yml``);
* **PyStan 3**, otherwise. It installs from pip wheels and needs only a C++
  compiler, so it is the default on a fresh machine and the engine CI runs.

Both return the same variable names and dimensions. They do *not* return the
same draws for the same seed; they agree within Monte Carlo error.

Compiler output and sampling progress never reach the page. What matters does:
divergences, hits of the maximum tree depth, R-hat above 1.01 and a bulk or
tail effective sample size below 100 per chain become :class:`StanWarning`
warnings, and sampling errors become Python exceptions.

This package is the only place in bhm that imports an engine. Its private
modules hold the machinery, each documented there:

* ``_data``: the data block read from the compiler (``stanc --info``), and
  data checked against it before Stan sees them;
* ``_pystan``: the PyStan route, with the thread that keeps PyStan off
  Jupyter's event loop, the cleanup of httpstan's fit cache, and the lean
  in-process sampler of :func:`sample_arrays` with its spawned one-process
  fallback (PyStan only);
* ``_lean``: the lean sampler, Stan's NUTS service with the draws kept in
  memory, built per program by :func:`build_lean` (PyStan only);
* ``_cmdstanpy``: the CmdStanPy route, executables built outside the source tree;
* ``_chatter``: the capture of the engines' output (:func:`quiet`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from bhm._paths import project_dir
from bhm._validation import stan_seed, whole_number
from bhm.stan._chatter import log_chatter, quiet
from bhm.stan._data import declared_data, prepare_data

__all__ = [
    "STAN_DIR",
    "StanWarning",
    "programs",
    "program_path",
    "program_code",
    "program_header",
    "declared_data",
    "default_engine",
    "engine_description",
    "cache_report",
    "build",
    "compile_programs",
    "build_lean",
    "quiet",
    "sample",
    "sample_arrays",
    "check_diagnostics",
]

#: Folder with the book's Stan programs (``$BHM_STAN_DIR``, else the repository's
#: ``stan/``: see :func:`bhm._paths.project_dir`).
STAN_DIR = Path(os.environ.get("BHM_STAN_DIR") or project_dir("stan"))

ENGINES = ("pystan", "cmdstanpy")


class StanWarning(UserWarning):
    """A sampling problem worth a reader's attention (divergences, R-hat, ESS, tree depth)."""


# --------------------------------------------------------------------------- programs
def programs() -> list[str]:
    """Names of the Stan programs in :data:`STAN_DIR`, without the ``.stan`` suffix.

    Returns
    -------
    list of str
        Sorted.
    """
    return sorted(p.stem for p in STAN_DIR.glob("*.stan"))


def program_path(name: str) -> Path:
    """Path of program ``name``; an unknown name raises ValueError listing the known ones.

    Parameters
    ----------
    name : str
        A program's name, with or without ``.stan``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Not a name, or no such file (the known programs are listed).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"program must be the name of a file in {STAN_DIR}; got {name!r}")
    path = STAN_DIR / f"{name.removesuffix('.stan')}.stan"
    if not path.is_file():
        raise ValueError(
            f"unknown Stan program {name!r}; available programs: {', '.join(programs()) or '(none)'}"
        )
    return path


def program_code(name: str) -> str:
    """The Stan source of program ``name``.

    Parameters
    ----------
    name : str
        A program's name.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        As for :func:`program_path`.
    """
    return program_path(name).read_text()


def program_header(name: str) -> str | None:
    """The C++ header beside program ``name`` (``stan/<name>.hpp``), or None if it has none.

    A header gives a Stan function of the program an analytic gradient, for
    the program's lean module only (:func:`build_lean`; see ``bhm.stan._lean``).
    The Stan function stays the definition: every other build differentiates
    it, and the tests compare the two.

    Raises
    ------
    ValueError
        As for :func:`program_path`.
    """
    header = program_path(name).with_suffix(".hpp")
    return header.read_text() if header.is_file() else None



# --------------------------------------------------------------------------- engines
def default_engine() -> str:
    """``"cmdstanpy"`` when a CmdStan installation is found, ``"pystan"`` otherwise.

    Returns
    -------
    {"cmdstanpy", "pystan"}
    """
    try:
        import cmdstanpy

        cmdstanpy.cmdstan_path()
    except Exception:  # not installed, or no CmdStan found: both mean "use PyStan"
        return "pystan"
    return "cmdstanpy"


def _engine(engine: str | None) -> str:
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    return engine


def _version(distribution: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def engine_description(engine: str) -> str:
    """The engine and the versions it runs, e.g. ``"PyStan 3.10.0 with httpstan 4.13.0"``.

    Parameters
    ----------
    engine : {"pystan", "cmdstanpy"}

    Returns
    -------
    str
        ``"PyStan X with httpstan Y"`` or ``"CmdStanPy X with CmdStan Y"``
        (``"(not installed)"`` or ``"?"`` where a version is not known).

    Raises
    ------
    ValueError
        An unknown engine.
    """
    if _engine(engine) == "pystan":
        httpstan = _version("httpstan")
        return f"PyStan {_version('pystan')} with httpstan {'?' if httpstan == '(not installed)' else httpstan}"
    from bhm.stan import _cmdstanpy

    return f"CmdStanPy {_version('cmdstanpy')} with CmdStan {_cmdstanpy.version()}"


def cache_report() -> dict | None:
    """PyStan's cache of compiled programs (httpstan's), for ``python -m bhm doctor``.

    Returns
    -------
    dict or None
        ``folder`` (pathlib.Path, the cache of every httpstan version),
        ``bytes`` (int, its size) and ``programs`` (int, compiled programs of
        this httpstan); None when httpstan is not installed.
    """
    import importlib.util

    if importlib.util.find_spec("httpstan") is None:
        return None
    from bhm.stan import _pystan

    return _pystan.cache_report()


# --------------------------------------------------------------------------- compile and sample
def build(program: str, data: dict, *, engine: str | None = None):
    """Compile a Stan program from ``stan/`` (or load it from the cache) and check data against it.

    :func:`sample` does this itself; call ``build`` first when you time
    ``sample``, so that the time is sampling only. On a fresh machine the first
    build of a program compiles C++ (about half a minute); later ones, in any
    process, load it from the engine's cache.

    Parameters
    ----------
    program : str
        Name of a file in ``stan/`` without its suffix.
    data : dict
        The program's data, as for :func:`sample` (PyStan builds a model for
        one data set; CmdStanPy compiles without it, but it is checked all the same).
    engine : {"pystan", "cmdstanpy"}, optional
        Force an engine; by default :func:`default_engine`.

    Returns
    -------
    stan.Model or cmdstanpy.CmdStanModel
        The engine's model. PyStan's has ``log_prob`` and ``constrain_pars``,
        which the tests use to compare programs' log densities.

    Raises
    ------
    ValueError
        An unknown program or engine, data that do not fit the program's
        ``data`` block, or a program Stan cannot compile (with stanc's message).
    """
    code = program_code(program)
    engine = _engine(engine)
    prepared = prepare_data(program, code, data)
    if engine == "cmdstanpy":
        from bhm.stan import _cmdstanpy

        return _cmdstanpy.build_model(program_path(program))
    from bhm.stan import _pystan

    def build_quietly():
        with quiet() as chatter:
            model = _pystan.build_model(program, code, prepared, 1, chatter)
        log_chatter(chatter.getvalue())
        return model

    return _pystan.off_the_event_loop(build_quietly)


def compile_programs(names=None, *, jobs: int | None = None, engine: str | None = None) -> list[str]:
    """Compile Stan programs ahead of their first use, ``jobs`` of them at a time.

    Compiling is single-threaded C++ and takes about a minute per program on a
    laptop, while sampling the book's programs takes seconds: compiling them
    side by side, before the chapters run, saves minutes on a fresh machine
    (``make book`` does it). Programs already in the engine's cache are skipped.
    With PyStan, each program compiled here also gets its lean module
    (:func:`build_lean`), linked from the same object file.

    Parameters
    ----------
    names : iterable of str, optional
        Programs in ``stan/`` (without ``.stan``); all of them by default.
    jobs : int, optional
        Compiler processes at once; by default the number of cores, at most 4
        (each compiler needs about 1.5 GB of memory).
    engine : {"pystan", "cmdstanpy"}, optional
        Force an engine; by default :func:`default_engine`.

    Returns
    -------
    list of str
        The programs compiled now, in the order of ``names``.

    Raises
    ------
    ValueError
        An unknown program or engine, ``jobs`` not a positive whole number, or
        a program Stan cannot compile (with stanc's message).
    """
    engine = _engine(engine)
    names = programs() if names is None else [program_path(name).stem for name in names]
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 4)
    jobs = whole_number(jobs, "jobs", 1)
    if engine == "cmdstanpy":  # CmdStan's make compiles, and skips what is up to date
        from bhm.stan import _cmdstanpy

        for name in names:
            _cmdstanpy.build_model(program_path(name))
        return names
    from bhm.stan import _pystan

    return _pystan.compile_programs({name: program_code(name) for name in names}, jobs)


def build_lean(names, *, engine: str | None = None) -> list[str]:
    """Build the lean sampler of Stan programs, for :func:`sample_arrays` (PyStan only).

    httpstan's compiled module hands every kept draw over as JSON through a
    socket, which costs as much as sampling a small model. The lean module
    (``bhm.stan._lean``) runs the same Stan service with the same seeds and
    keeps the draws in memory: :func:`sample_arrays` then returns the same
    draws, bit for bit, in less time (except for a program with a C++ header,
    :func:`program_header`, whose lean module has the header's gradient: the
    same posterior, other draws). It uses the lean module of every
    program built, httpstan's module of every other. :func:`compile_programs`
    (``make book``) builds the lean module of every program it compiles, by
    linking the model's object file with the services object (compiled once
    per machine, a minute or two); here a program whose object file was not
    kept is compiled again (about a minute). Chapter 5's study
    (``python -m bhm study``) builds its two programs first.

    Parameters
    ----------
    names : iterable of str
        Programs in ``stan/`` (without ``.stan``).
    engine : {"pystan", "cmdstanpy"}, optional
        By default :func:`default_engine`; with CmdStan there is nothing to
        build (its executable writes CSV files, read once per fit).

    Returns
    -------
    list of str
        The programs built now (those built before are skipped).

    Raises
    ------
    ValueError
        An unknown program or engine.
    """
    engine = _engine(engine)
    names = [program_path(name).stem for name in names]
    if engine == "cmdstanpy":
        return []
    from bhm.stan import _lean

    sources = {name: (program_code(name), program_header(name)) for name in names}
    built = [name for name in names if not _lean.is_built(*sources[name])]
    with quiet():
        for name in built:
            _lean.build(*sources[name])
    return built


def sample(
    program: str,
    data: dict,
    *,
    seed: int,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    thin: int = 1,
    adapt_delta: float | None = None,
    max_treedepth: int | None = None,
    engine: str | None = None,
    posterior_predictive: str | list[str] | None = None,
    log_likelihood: str | None = None,
    observed_data: dict | None = None,
    coords: dict | None = None,
    dims: dict | None = None,
    check: bool = True,
):
    """Sample a Stan program from ``stan/`` with NUTS and return an InferenceData.

    Parameters
    ----------
    program : str
        Name of a file in ``stan/`` without its suffix, e.g. ``"normal_mean"``.
    data : dict
        The program's data, keyed as in its ``data`` block. Arrays may be numpy
        arrays or pandas Series. Missing keys, wrong lengths and NaN or inf are
        caught before Stan sees them.
    seed : int
        Random seed: the same seed, engine and data give the same draws.
    chains, draws, warmup, thin : int
        Number of chains, draws kept per chain, warm-up iterations, thinning.
    adapt_delta, max_treedepth : optional
        NUTS's target acceptance rate and maximum tree depth (CmdStan's names
        and defaults: 0.8 and 10).
    engine : {"pystan", "cmdstanpy"}, optional
        Force an engine; by default :func:`default_engine`.
    posterior_predictive, log_likelihood : optional
        Names of generated quantities to file under those groups.
    observed_data, coords, dims : optional
        Passed to ArviZ's converter.
    check : bool
        Emit :class:`StanWarning` for sampling problems (see :func:`check_diagnostics`).

    Returns
    -------
    arviz.InferenceData
        Groups ``posterior`` (dims ``chain``, ``draw``, ...) and ``sample_stats``
        (``diverging``, ``tree_depth``, ``energy``, ...), plus the optional groups.

    Raises
    ------
    ValueError
        An unknown program or engine, a sampler argument that is not a whole
        number (``seed`` in [0, 2**31)), data that do not fit the program's
        ``data`` block, or a program Stan cannot compile.
    RuntimeError
        Stan failed to sample (its message is quoted).
    KeyboardInterrupt
        Interrupted while sampling (PyStan's None is turned back into it).

    Examples
    --------
    >>> idata = sample("normal_mean", {"N": 3, "y": [1., 2., 3.], "sigma": 1.,
    ...                "mu0": 0., "sigma0": 1.}, seed=1)  # doctest: +SKIP
    """
    import arviz as az

    code = program_code(program)
    engine = _engine(engine)
    _check_sampler_arguments(chains=chains, draws=draws, warmup=warmup, thin=thin, seed=seed)
    prepared = prepare_data(program, code, data)
    model, fit = _run(engine, "sample", program, code, prepared, chains=chains, draws=draws, warmup=warmup,
                      seed=int(seed), thin=thin, adapt_delta=adapt_delta, max_treedepth=max_treedepth)
    convert = dict(
        posterior_predictive=posterior_predictive, log_likelihood=log_likelihood,
        observed_data=observed_data, coords=coords, dims=dims,
    )
    if engine == "pystan":
        idata = az.from_pystan(posterior=fit, posterior_model=model, **convert)
    else:
        idata = az.from_cmdstanpy(posterior=fit, **convert)
    idata.posterior.attrs.update(program=program, engine=engine, seed=int(seed))
    if check:
        check_diagnostics(idata, max_treedepth=max_treedepth or 10, label=program)
    return idata


def sample_arrays(
    program: str,
    data: dict,
    *,
    seed: int,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    thin: int = 1,
    adapt_delta: float | None = None,
    max_treedepth: int | None = None,
    engine: str | None = None,
    timing: dict | None = None,
) -> dict[str, np.ndarray]:
    """Sample like :func:`sample`, lean: plain arrays, chains one after another in this process.

    For many small fits (chapter 5's study, chapter 7's calibration), where the
    engine's machinery would cost more than Stan's sampling. With PyStan, the
    program's compiled module (the one PyStan builds and caches) is called
    directly, without httpstan's HTTP server and process pool, or, where
    :func:`build_lean` built it, the program's lean module, without the
    per-draw JSON as well; either way the draws equal :func:`sample`'s for the
    same seed, bit for bit (except in the lean module of a program with a C++
    header, :func:`program_header`).
    Chains run one after another, so run several fits in parallel processes
    rather than several chains. Diagnostics are the caller's (no warnings).

    Parameters
    ----------
    program, data, seed, chains, draws, warmup, thin, adapt_delta, max_treedepth, engine
        As for :func:`sample`.
    timing : dict, optional
        With PyStan, receives ``stan_seconds``: Stan's own warm-up and sampling
        time summed over the chains (as Stan reports it), to set against the
        wall time of the call.

    Returns
    -------
    dict of str to numpy.ndarray
        Every variable of the program with shape (chains, draws, *dims), and
        the sampler's columns ``lp__``, ``accept_stat__``, ``stepsize__``,
        ``treedepth__``, ``n_leapfrog__``, ``divergent__``, ``energy__``, each (chains, draws).

    Raises
    ------
    ValueError
        As for :func:`sample`.
    RuntimeError
        Stan failed to sample (its messages are quoted).
    """
    code = program_code(program)
    engine = _engine(engine)
    _check_sampler_arguments(chains=chains, draws=draws, warmup=warmup, thin=thin, seed=seed)
    prepared = prepare_data(program, code, data)
    return _run(engine, "sample_arrays", program, code, prepared, chains=chains, draws=draws, warmup=warmup,
                seed=int(seed), thin=thin, adapt_delta=adapt_delta, max_treedepth=max_treedepth, timing=timing)


def _run(engine: str, what: str, program: str, code: str, data: dict, **options):
    """``sample`` or ``sample_arrays`` of the engine's route; PyStan's off any running event loop."""
    if engine == "pystan":
        from bhm.stan import _pystan

        return _pystan.off_the_event_loop(getattr(_pystan, what), program, code, data, **options)
    from bhm.stan import _cmdstanpy

    return getattr(_cmdstanpy, what)(program_path(program), program, data, **options)


def _check_sampler_arguments(*, chains, draws, warmup, thin, seed) -> None:
    for value, label in ((chains, "chains"), (draws, "draws"), (thin, "thin")):
        whole_number(value, label, 1)
    whole_number(warmup, "warmup", 0)
    stan_seed(seed)


def check_diagnostics(idata, *, max_treedepth: int = 10, rhat_max: float = 1.01,
                      ess_min_per_chain: float = 100.0, label: str = "fit") -> dict:
    """Warn about divergences, tree-depth hits, R-hat above ``rhat_max`` and low ESS.

    The thresholds are the recommendations of Vehtari et al. (2021), which
    chapter 3 of the book explains.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``posterior`` and ``sample_stats`` groups.
    max_treedepth : int
        The tree depth the sampler ran with.
    rhat_max : float
        Largest acceptable ``arviz.rhat``: the larger of the bulk (split,
        rank-normalised) and the folded R-hat.
    ess_min_per_chain : float
        Smallest acceptable bulk and tail ESS *per chain*: the total bulk and
        tail ESS of every quantity (all chains together, as ArviZ reports
        them) must reach ``ess_min_per_chain`` times the number of chains,
        i.e. 400 for 4 chains by default.

    Returns
    -------
    dict
        ``divergences``, ``treedepth_hits``, ``max_rhat``, ``min_ess_bulk``,
        ``min_ess_tail`` (totals over the chains) and ``ess_needed`` (the
        total ESS required): the numbers behind any warning.

    Raises
    ------
    KeyError
        ``idata`` without a ``posterior`` or ``sample_stats`` group.
    """
    import arviz as az

    stats = idata.sample_stats
    report = {
        "divergences": int(stats["diverging"].sum()) if "diverging" in stats else 0,
        "treedepth_hits": int((stats["tree_depth"] >= max_treedepth).sum()) if "tree_depth" in stats else 0,
    }
    n_chains = idata.posterior.sizes["chain"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant quantities give NaN, handled below
        rhat = az.rhat(idata) if n_chains > 1 else None
        ess_bulk = az.ess(idata, method="bulk")
        ess_tail = az.ess(idata, method="tail")

    def extreme(dataset, reducer):
        values = [np.asarray(v).ravel() for v in dataset.data_vars.values()]
        values = np.concatenate(values) if values else np.array([])
        values = values[np.isfinite(values)]
        return float(reducer(values)) if values.size else float("nan")

    report["max_rhat"] = extreme(rhat, np.max) if rhat is not None else float("nan")
    report["min_ess_bulk"] = extreme(ess_bulk, np.min)
    report["min_ess_tail"] = extreme(ess_tail, np.min)
    report["ess_needed"] = float(ess_min_per_chain * n_chains)
    problems = []
    if report["divergences"]:
        problems.append(f"{report['divergences']} divergent transition(s)")
    if report["treedepth_hits"]:
        problems.append(f"{report['treedepth_hits']} iteration(s) hit the maximum tree depth {max_treedepth}")
    if report["max_rhat"] > rhat_max:
        problems.append(f"R-hat up to {report['max_rhat']:.3f} (> {rhat_max})")
    low_ess = min(report["min_ess_bulk"], report["min_ess_tail"])
    if low_ess < report["ess_needed"]:
        problems.append(f"effective sample size as low as {low_ess:.0f} (< {ess_min_per_chain:g} per chain, "
                        f"{report['ess_needed']:g} for {n_chains} chain(s))")
    if problems:
        warnings.warn(f"{label}: " + "; ".join(problems), StanWarning, stacklevel=3)
    return report

