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
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np

from bhm._validation import stan_seed, whole_number

__all__ = [
    "STAN_DIR",
    "StanWarning",
    "programs",
    "program_path",
    "program_code",
    "declared_data",
    "default_engine",
    "build",
    "compile_programs",
    "sample",
    "sample_arrays",
    "check_diagnostics",
]

logger = logging.getLogger("bhm.stan")

#: Folder with the book's Stan programs (override with the ``BHM_STAN_DIR`` variable).
STAN_DIR = Path(os.environ.get("BHM_STAN_DIR", Path(__file__).resolve().parents[2] / "stan"))

ENGINES = ("pystan", "cmdstanpy")


class StanWarning(UserWarning):
    """A sampling problem worth a reader's attention (divergences, R-hat, ESS, tree depth)."""


# --------------------------------------------------------------------------- programs
def programs() -> list[str]:
    """Names of the Stan programs in :data:`STAN_DIR`, without the ``.stan`` suffix."""
    return sorted(p.stem for p in STAN_DIR.glob("*.stan"))


def program_path(name: str) -> Path:
    """Path of program ``name``; an unknown name raises ValueError listing the known ones."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"program must be the name of a file in {STAN_DIR}; got {name!r}")
    path = STAN_DIR / f"{name.removesuffix('.stan')}.stan"
    if not path.is_file():
        raise ValueError(
            f"unknown Stan program {name!r}; available programs: {', '.join(programs()) or '(none)'}"
        )
    return path


def program_code(name: str) -> str:
    """The Stan source of program ``name``."""
    return program_path(name).read_text()


_BLOCK = re.compile(r"\bdata\s*\{(.*?)\n\}", re.S)
_DECL = re.compile(
    r"^\s*(?:array\s*\[(?P<array>[^\]]*)\]\s*)?"
    r"(?P<type>int|real|vector|row_vector|matrix|simplex|ordered|positive_ordered"
    r"|cholesky_factor_corr|cholesky_factor_cov|corr_matrix|cov_matrix)"
    r"\s*(?:<[^;]*?>)?\s*(?:\[(?P<size>[^\]]*)\])?\s+(?P<name>\w+)\s*;",
    re.M,
)


def declared_data(code: str) -> dict[str, tuple[str, list[str]]]:
    """Variables declared in the ``data`` block of a Stan program.

    Parameters
    ----------
    code : str
        Stan source.

    Returns
    -------
    dict
        ``{name: (type, [size expressions, outermost first])}``. A scalar has no sizes.
    """
    match = _BLOCK.search(re.sub(r"//[^\n]*", "", code))
    if not match:
        return {}
    declared = {}
    for decl in _DECL.finditer(match.group(1)):
        sizes = []
        for group in ("array", "size"):
            if decl.group(group):
                sizes += [s.strip() for s in decl.group(group).split(",")]
        declared[decl.group("name")] = (decl.group("type"), sizes)
    return declared


def _prepare_data(name: str, code: str, data) -> dict:
    """Check ``data`` against the program's data block before Stan sees it."""
    if not isinstance(data, dict):
        raise ValueError(f"data for program {name!r} must be a dict; got {type(data).__name__}")
    declared = declared_data(code)
    missing = [key for key in declared if key not in data]
    if missing:
        raise ValueError(f"data for program {name!r} is missing key(s) {missing}")
    prepared = {}
    for key, value in data.items():
        if key not in declared:
            continue  # Stan ignores extra keys; so do we
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"data[{key!r}] for program {name!r} must be numeric") from None
        if not np.all(np.isfinite(array)):
            raise ValueError(f"data[{key!r}] for program {name!r} contains NaN or inf")
        kind, sizes = declared[key]
        if array.ndim != len(sizes):
            raise ValueError(
                f"data[{key!r}] for program {name!r} must have {len(sizes)} dimension(s); got shape {array.shape}"
            )
        for axis, size in enumerate(sizes):
            expected = data.get(size) if re.fullmatch(r"\w+", size) else None
            if size.isdigit():
                expected = int(size)
            if expected is not None and array.shape[axis] != int(expected):
                raise ValueError(
                    f"data[{key!r}] for program {name!r} has length {array.shape[axis]} along axis {axis}; "
                    f"the program declares it [{size}] = {int(expected)}"
                )
        if kind == "int":
            if not np.all(array == np.round(array)):
                raise ValueError(f"data[{key!r}] for program {name!r} must hold whole numbers")
            prepared[key] = array.astype(int).tolist() if array.ndim else int(array)
        else:
            prepared[key] = array.tolist() if array.ndim else float(array)
    return prepared


# --------------------------------------------------------------------------- engines
def default_engine() -> str:
    """``"cmdstanpy"`` when a CmdStan installation is found, ``"pystan"`` otherwise."""
    try:
        import cmdstanpy

        cmdstanpy.cmdstan_path()
    except Exception:  # not installed, or no CmdStan found: both mean "use PyStan"
        return "pystan"
    return "cmdstanpy"


# PyStan runs each call through `asyncio.run`. Inside Jupyter the kernel's own
# event loop is already running in the main thread, and the usual way out
# (nest_asyncio, in PyStan's FAQ) runs PyStan's coroutines inside the kernel's
# loop: the kernel's queued messages then get lost ("Task was destroyed but it
# is pending!"), and JupyterLab's "Run All Cells" stops after the first cell that
# samples (measured; tests/test_jupyterlab.py runs a student notebook that way).
# So where an event loop runs, every PyStan call of this module runs in one
# thread of its own that has no loop, one call at a time. One thread, always the
# same: Stan's autodiff tape is set up only in the thread that first loads a
# program's module (any other thread that samples through it segfaults, see
# `_claim`). A model returned by `build` must then be used only through this
# module, not through its own methods, in such a process.
_STAN_THREAD = None


def _off_the_event_loop(function, *args, **kwargs):
    """``function(*args, **kwargs)`` here, or in bhm's Stan thread if this thread runs an event loop."""
    global _STAN_THREAD
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    if _STAN_THREAD is None:
        import concurrent.futures

        _STAN_THREAD = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="bhm-stan")
    return _STAN_THREAD.submit(function, *args, **kwargs).result()


def _pystan_fit_names(model, payload_options: dict, chains: int) -> list[str]:
    """Names under which httpstan caches the fits of a seeded ``sample`` call.

    httpstan keeps a seeded fit on disk forever (a deterministic result is
    worth caching, it reasons); thousands of small fits fill gigabytes. We
    recompute the names exactly as httpstan does so that we delete only our
    own fits, never another process's.
    """
    import httpstan.fits
    import httpstan.schemas

    names = []
    for chain in range(1, chains + 1):
        payload = dict(payload_options, function="stan::services::sample::hmc_nuts_diag_e_adapt")
        payload.update(chain=chain, data=model.data, init={}, random_seed=model.random_seed)
        args = httpstan.schemas.CreateFitRequest().load(json.loads(json.dumps(payload)))
        function = args.pop("function")
        names.append(httpstan.fits.calculate_fit_name(function, model.model_name, args))
    return names


def _import_pystan():
    """PyStan's package, imported without its dependency's announcement.

    PyStan 3.10 imports ``pkg_resources`` (``stan/plugins.py``), which setuptools
    81 removed: ``pyproject.toml`` pins ``setuptools<81``. Those versions
    announce the removal with a UserWarning at the import, which is not the
    reader's concern and would print on a page: ignore that one message here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import stan
    return stan


def _build_pystan(name, code, data, seed, chatter):
    """PyStan's model of ``code`` with ``data``: compiled, or loaded from httpstan's cache."""
    stan = _import_pystan()

    try:
        # httpstan compiles with setuptools, which leaves build/temp.* in the
        # working directory: compile from a scratch folder instead.
        with tempfile.TemporaryDirectory(prefix="bhm-stan-") as scratch, contextlib.chdir(scratch):
            model = stan.build(code, data=data, random_seed=seed)
    except RuntimeError as error:  # httpstan's word on bad data: make it a ValueError
        raise ValueError(f"Stan rejected the data for program {name!r}: {_stan_message(error)}") from None
    except ValueError as error:  # stanc's syntax or semantic error; its text went to the chatter
        raise ValueError(
            f"Stan could not compile program {name!r} ({error}):\n{_compiler_error(chatter.getvalue())}"
        ) from None
    if model is None:
        raise KeyboardInterrupt
    return model


def _sample_pystan(name, code, data, *, chains, draws, warmup, seed, thin, adapt_delta, max_treedepth):
    import httpstan.cache

    _claim(code)  # PyStan loads the module into this process too, in this thread
    options = {"num_samples": draws, "num_warmup": warmup, "num_thin": thin}
    if adapt_delta is not None:
        options["delta"] = adapt_delta
    if max_treedepth is not None:
        options["max_depth"] = max_treedepth
    with _quiet() as chatter:
        model = _build_pystan(name, code, data, seed, chatter)
        try:
            fit = model.sample(num_chains=chains, **options)
        except RuntimeError as error:
            raise RuntimeError(f"Stan failed to sample program {name!r}: {_stan_message(error)}") from None
        finally:
            for fit_name in _pystan_fit_names(model, options, chains):
                with contextlib.suppress(KeyError):
                    httpstan.cache.delete_fit(fit_name)
    if fit is None:  # PyStan swallows Ctrl-C and returns None; pass it on
        raise KeyboardInterrupt
    _log_chatter(chatter.getvalue())
    return model, fit


# httpstan runs each chain through a compiled extension module of the program,
# behind an HTTP server, a process pool and a per-draw JSON message. For many
# small fits (chapter 5's study, chapter 7's calibration) that machinery costs
# as much as Stan's sampling. `sample_arrays` calls the same compiled module in
# this process instead: one chain after another, the draws read from the module's
# socket by a thread (the module releases the GIL while Stan runs). Same module,
# same arguments, same seeds: the draws equal PyStan's bit for bit.
#
# Two catches. Stan's autodiff tape lives in thread-local storage, set up only
# for the thread that loaded the module into the process; any other thread that
# samples through it crashes (a segfault, no exception). And with several
# programs' modules loaded into one process, a call into one can construct
# another program's model. So a module is called in process only by the thread
# that loaded it, and only while it is the one program loaded here (`_OWNER`);
# every other fit runs in a fresh process of its own, slower by that process's
# start-up (a second or two). A study's worker that fits one program, or
# calibration's, stays in process.
_SERVICES: dict[str, object] = {}
_OWNER: dict[str, int] = {}


def _claim(code: str) -> bool:
    """Record that program ``code``'s module is (or may be) loaded into this process by this thread.

    Returns whether this thread may call the module in this process: only if it
    is the thread that loaded it, and no other program's module has been loaded
    into this process. (Measured: with several httpstan modules loaded in one
    process, a call into one of them can construct another program's model;
    with programs that share a data block that would be silent. PyStan's own
    route loads every program it samples into the calling process, so any
    program sampled through :func:`sample` counts.)
    """
    import threading

    import httpstan.models

    name = httpstan.models.calculate_model_name(code)
    owner = _OWNER.setdefault(name, threading.get_ident())
    return owner == threading.get_ident() and set(_OWNER) == {name}


def _services_module(name: str, code: str, data: dict):
    """httpstan's compiled extension module of program ``name`` (compiled through PyStan once)."""
    import httpstan.models

    model_name = httpstan.models.calculate_model_name(code)
    if model_name not in _SERVICES:
        try:
            module = httpstan.models.import_services_extension_module(model_name)
        except KeyError:  # not compiled yet on this machine: PyStan compiles it
            with _quiet() as chatter:
                _build_pystan(name, code, data, 1, chatter)
            _log_chatter(chatter.getvalue())
            module = httpstan.models.import_services_extension_module(model_name)
        _SERVICES[model_name] = module
    return _SERVICES[model_name]


def _nuts_arguments(*, draws, warmup, thin, adapt_delta, max_treedepth) -> dict:
    """Every argument of httpstan's NUTS wrapper, with CmdStan's defaults, as PyStan passes them."""
    from httpstan.services import arguments

    names = ("init_radius", "num_warmup", "num_samples", "num_thin", "save_warmup", "refresh", "stepsize",
             "stepsize_jitter", "max_depth", "delta", "gamma", "kappa", "t0", "init_buffer", "term_buffer",
             "window")
    args = {arg: arguments.lookup_default(arguments.Method.SAMPLE, arg) for arg in names}
    args.update(num_warmup=warmup, num_samples=draws, num_thin=thin, save_warmup=False,
                refresh=warmup + draws + 1)  # refresh: progress messages only, no effect on draws
    if adapt_delta is not None:
        args["delta"] = adapt_delta
    if max_treedepth is not None:
        args["max_depth"] = max_treedepth
    return args


def _run_chain(module, data: dict, seed: int, chain: int, args: dict) -> tuple[int, list[bytes]]:
    """One NUTS chain through ``module``; returns Stan's return code and its JSON lines."""
    import select
    import socket
    import threading

    with tempfile.TemporaryDirectory(prefix="bhm-chain-") as folder:
        path = os.path.join(folder, "s")
        received: dict = {}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(4)  # logger and three writers
            stop = threading.Event()

            def read():  # until Stan has returned and every writer has closed its end
                listening = [server]
                while True:
                    done = stop.is_set()  # then everything Stan wrote is waiting: drain it
                    ready, _, _ = select.select(listening, [], [], 0)
                    if not ready:
                        if done and listening == [server]:
                            return
                        stop.wait(0.01)  # let messages gather: one wake-up per 10 ms, not per draw
                        continue
                    for conn in ready:
                        if conn is server:
                            client, _ = server.accept()
                            listening.append(client)
                            received[client] = bytearray()
                        elif chunk := conn.recv(1 << 20):
                            received[conn] += chunk
                        else:
                            conn.close()
                            listening.remove(conn)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            try:
                code = module.hmc_nuts_diag_e_adapt_wrapper(path, data, {}, seed, chain, **args)
            finally:
                stop.set()
                reader.join()
    return code, [line for part in received.values() for line in bytes(part).splitlines()]


_DRAW_PREFIX = b'{"version":1,"topic":"sample","values":{'


def _parse_chain(lines: list[bytes]) -> tuple[list[str], np.ndarray, list[str]]:
    """Column names, draws (draw, column) and logger messages of one chain's JSON lines.

    A draw is one JSON object per line, ``{"lp__": -3.2, "alpha": 0.9, ...}``,
    always with the same keys in the same order. They are parsed all at once by
    simdjson (PyStan's own parser; a new parser per call, returning plain Python
    objects, so nothing refers back into it), about twice as fast as ``json``.
    """
    import simdjson

    rows = [line for line in lines if line.startswith(_DRAW_PREFIX)]
    log = [message for line in lines if b'"topic":"logger"' in line for message in json.loads(line)["values"]]
    if not rows:
        return [], np.empty((0, 0)), log
    try:
        parsed = simdjson.Parser().parse(b"[" + b",".join(rows) + b"]", True)
    except ValueError:  # NaN or Infinity, which simdjson does not read
        parsed = json.loads(b"[" + b",".join(rows) + b"]")
    names = list(parsed[0]["values"])
    return names, np.array([list(row["values"].values()) for row in parsed], dtype=float), log


def _sample_pystan_arrays(name, code, data, *, chains, draws, warmup, seed, thin, adapt_delta, max_treedepth,
                          timing=None):
    options = dict(chains=chains, draws=draws, warmup=warmup, seed=seed, thin=thin, adapt_delta=adapt_delta,
                   max_treedepth=max_treedepth)
    if not _claim(code):  # another thread or program loaded a module here: sample in a fresh process
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
            return pool.submit(_sample_pystan_arrays, name, code, data, **options).result()  # no timing
    module = _services_module(name, code, data)
    args = _nuts_arguments(draws=draws, warmup=warmup, thin=thin, adapt_delta=adapt_delta,
                           max_treedepth=max_treedepth)
    columns, per_chain, stan_seconds = None, [], 0.0
    with _quiet() as chatter:
        for chain in range(1, chains + 1):
            try:
                status, lines = _run_chain(module, data, seed, chain, args)
            except (RuntimeError, ValueError) as error:  # data that break a declared constraint
                message = re.sub(r"^Exception: |model_\w+_namespace::model_\w+: | \(in '[^']*'[^)]*\)", "",
                                 str(error))
                raise ValueError(f"Stan rejected the data for program {name!r}: {message}") from None
            names, values, log = _parse_chain(lines)
            if status != 0 or values.size == 0:
                errors = [m.split(":", 1)[-1].strip() for m in log if m.startswith(("error:", "warn:"))]
                raise RuntimeError(f"Stan failed to sample program {name!r}: {' '.join(errors[:4])}")
            columns = names
            per_chain.append(values)
            stan_seconds += sum(float(m.split()[-3]) for m in log if re.search(r"seconds \((Warm-up|Sampling)\)", m))
    _log_chatter(chatter.getvalue())
    table = np.stack(per_chain)  # (chain, draw, column)
    dims = dict(zip(module.get_param_names(data), module.get_dims(data)))
    if timing is not None:
        timing["stan_seconds"] = stan_seconds
    return _columns_to_arrays(columns, table, dims)


def _columns_to_arrays(columns: list[str], table: np.ndarray, dims: dict) -> dict[str, np.ndarray]:
    """Stan's flat columns (``beta.1``, ``beta.2``, ...; column-major) as arrays (chain, draw, *dims)."""
    index = {column: i for i, column in enumerate(columns)}
    out = {}
    for column in columns:
        if column.endswith("__"):
            out[column] = table[..., index[column]]
    for variable, shape in dims.items():
        if not shape:
            out[variable] = table[..., index[variable]]
            continue
        first = index[f"{variable}." + ".".join(["1"] * len(shape))]
        block = table[..., first:first + int(np.prod(shape))]
        out[variable] = block.reshape(*table.shape[:2], *reversed(shape)).transpose(
            0, 1, *range(len(shape) + 1, 1, -1))
    return out


def _sample_cmdstanpy_arrays(name, code, data, timing=None, **options):
    _, fit = _sample_cmdstanpy(name, code, data, **options)
    table = fit.draws(concat_chains=False)  # (draw, chain, column)
    out = {column: table[:, :, i].T for i, column in enumerate(fit.column_names) if column.endswith("__")}
    chains, draws = table.shape[1], table.shape[0]
    for variable, values in fit.stan_variables().items():  # (chain * draw, *dims), chain by chain
        out[variable] = values.reshape(chains, draws, *values.shape[1:])
    return out


def _build_cmdstanpy(name):
    """CmdStanPy's model of program ``name``: compiled if its executable is missing or stale."""
    import cmdstanpy

    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    with _quiet():
        return cmdstanpy.CmdStanModel(stan_file=str(program_path(name)))


def _sample_cmdstanpy(name, code, data, *, chains, draws, warmup, seed, thin, adapt_delta, max_treedepth):
    model = _build_cmdstanpy(name)
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


@contextlib.contextmanager
def _quiet():
    """Keep Stan's chatter off the page: Python-level *and* file-descriptor-level.

    The C++ compiler and the sampler write to file descriptors 1 and 2, which
    ipykernel forwards into the notebook; ``contextlib.redirect_*`` alone would
    not catch them. Yields a StringIO that holds everything written.

    Python warnings of the engine's own machinery go too: aiohttp (under
    httpstan) warns that httpstan keys its app with strings, once per app, i.e.
    per call, which no reader can act on. Every other warning, StanWarning
    included, still reaches the caller.
    """
    import sys

    chatter = io.StringIO()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter), \
                    warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="It is recommended to use web.AppKey")
                yield chatter
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            chatter.write(sink.read().decode(errors="replace"))


def _compiler_error(chatter: str) -> str:
    """The part of PyStan's build output that explains a failed compilation."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", chatter)  # PyStan colours its output
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("Building")]
    return "\n".join(lines[-20:])


def _stan_message(error: Exception) -> str:
    text = str(error)
    match = re.search(r"ValueError\(['\"](.*?)['\"]\)", text)
    return (match.group(1) if match else text).replace("\\n", " ").strip()


def _log_chatter(text: str) -> None:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("Building", "Sampling"))]
    if lines:
        logger.debug("Stan messages:\n%s", "\n".join(lines))


# --------------------------------------------------------------------------- sample
def _engine(engine: str | None) -> str:
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    return engine


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
    prepared = _prepare_data(program, code, data)
    if engine == "cmdstanpy":
        return _build_cmdstanpy(program)
    def build_quietly():
        with _quiet() as chatter:
            model = _build_pystan(program, code, prepared, 1, chatter)
        _log_chatter(chatter.getvalue())
        return model

    return _off_the_event_loop(build_quietly)


def _compiled_pystan(code: str) -> bool:
    """Whether httpstan's cache holds the extension module of ``code`` (without importing it)."""
    import importlib.machinery

    import httpstan.cache
    import httpstan.models

    directory = httpstan.cache.model_directory(httpstan.models.calculate_model_name(code))
    return directory.is_dir() and any(p.suffix in importlib.machinery.EXTENSION_SUFFIXES
                                      for p in directory.iterdir())


def _compile_pystan(name: str, code: str) -> str:
    """Compile ``code`` into httpstan's cache (run in a worker process); returns ``name``.

    This is what httpstan's "create model" handler does, without its HTTP
    server: stanc (a syntax error raises ValueError with stanc's message), then
    the model's extension module, stored where PyStan looks first.
    """
    import httpstan.cache
    import httpstan.compile
    import httpstan.models

    _import_pystan()  # the same warning filters as every other PyStan call
    model_name = httpstan.models.calculate_model_name(code)
    httpstan.cache.delete_model_directory(model_name)
    try:
        _, stanc_warnings = httpstan.compile.compile(code, f"model_{model_name.split('/')[1]}")
    except ValueError as error:
        raise ValueError(f"Stan could not compile program {name!r}: {error}") from None
    httpstan.cache.dump_stanc_warnings(stanc_warnings, model_name)
    # setuptools leaves build/temp.* in the working directory: compile from a scratch folder
    with tempfile.TemporaryDirectory(prefix="bhm-stan-") as scratch, contextlib.chdir(scratch), _quiet():
        output = asyncio.run(httpstan.models.build_services_extension_module(code))
    httpstan.cache.dump_services_extension_module_compiler_output(output, model_name)
    return name


def compile_programs(names=None, *, jobs: int | None = None, engine: str | None = None) -> list[str]:
    """Compile Stan programs ahead of their first use, ``jobs`` of them at a time.

    Compiling is single-threaded C++ and takes about a minute per program on a
    laptop, while sampling the book's programs takes seconds: compiling them
    side by side, before the chapters run, saves minutes on a fresh machine
    (``make book`` does it). Programs already in the engine's cache are skipped.

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
    import concurrent.futures
    import multiprocessing

    engine = _engine(engine)
    names = programs() if names is None else [program_path(name).stem for name in names]
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 4)
    jobs = whole_number(jobs, "jobs", 1)
    if engine == "cmdstanpy":  # CmdStan's make compiles, and skips what is up to date
        for name in names:
            _build_cmdstanpy(name)
        return names
    codes = {name: program_code(name) for name in names}
    names = [name for name in names if not _compiled_pystan(codes[name])]
    if not names:
        return []
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no event loop, no Stan module
    with concurrent.futures.ProcessPoolExecutor(min(jobs, len(names)), mp_context=context) as pool:
        return list(pool.map(_compile_pystan, names, [codes[name] for name in names]))


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

    Examples
    --------
    >>> idata = sample("normal_mean", {"N": 3, "y": [1., 2., 3.], "sigma": 1.,
    ...                "mu0": 0., "sigma0": 1.}, seed=1)  # doctest: +SKIP
    """
    import arviz as az

    code = program_code(program)
    engine = _engine(engine)
    _check_sampler_arguments(chains=chains, draws=draws, warmup=warmup, thin=thin, seed=seed)
    prepared = _prepare_data(program, code, data)
    run = _sample_pystan if engine == "pystan" else _sample_cmdstanpy
    model, fit = _off_the_event_loop(
        run, program, code, prepared, chains=chains, draws=draws, warmup=warmup, seed=int(seed), thin=thin,
        adapt_delta=adapt_delta, max_treedepth=max_treedepth,
    )
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
    directly, without httpstan's HTTP server, process pool and per-draw
    messages; the draws equal :func:`sample`'s for the same seed, bit for bit.
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
    prepared = _prepare_data(program, code, data)
    run = _sample_pystan_arrays if engine == "pystan" else _sample_cmdstanpy_arrays
    return _off_the_event_loop(run, program, code, prepared, chains=chains, draws=draws, warmup=warmup,
                               seed=int(seed), thin=thin, adapt_delta=adapt_delta, max_treedepth=max_treedepth,
                               timing=timing)


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
