"""The PyStan route of :mod:`bhm.stan`: compile, sample, and sample lean in process.

Everything here touches PyStan or httpstan, including their private parts
(httpstan's fit cache, its compiled services module, its argument defaults):
``pystan==3.10.0`` and ``httpstan==4.13.0`` are pinned, and
``tests/test_stan.py`` fails if those parts move. No module of bhm outside
:mod:`bhm.stan` imports this one or an engine.

Three pieces of machinery, each explained where it is defined:

* the **Stan thread** (:func:`off_the_event_loop`): PyStan's calls leave a
  running event loop (Jupyter's) alone;
* the **fit-cache cleanup** (:func:`fit_names`): seeded fits are deleted from
  httpstan's cache after sampling;
* the **in-process runner** (:func:`sample_arrays`): the compiled module is
  called directly, one chain after another, for the many small fits of
  chapters 5 and 7 (the program's lean module of :mod:`bhm.stan._lean` where
  it is built, httpstan's otherwise: the same draws); where it may not run in
  this process (another thread or another program's module loaded here) the
  fit runs in a **spawned one-process pool** of its own, PyStan only (CmdStan
  runs as a child process anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
import warnings

import numpy as np

from bhm.stan import _lean, program_header
from bhm.stan._chatter import compiler_error, log_chatter, quiet, stan_message

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


def off_the_event_loop(function, *args, **kwargs):
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


def fit_names(model, payload_options: dict, chains: int) -> list[str]:
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


def import_pystan():
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


def build_model(name, code, data, seed, chatter):
    """PyStan's model of ``code`` with ``data``: compiled, or loaded from httpstan's cache."""
    stan = import_pystan()

    try:
        # httpstan compiles with setuptools, which leaves build/temp.* in the
        # working directory: compile from a scratch folder instead.
        with tempfile.TemporaryDirectory(prefix="bhm-stan-") as scratch, contextlib.chdir(scratch):
            model = stan.build(code, data=data, random_seed=seed)
    except RuntimeError as error:  # httpstan's word on bad data: make it a ValueError
        raise ValueError(f"Stan rejected the data for program {name!r}: {stan_message(error)}") from None
    except ValueError as error:  # stanc's syntax or semantic error; its text went to the chatter
        raise ValueError(
            f"Stan could not compile program {name!r} ({error}):\n{compiler_error(chatter.getvalue())}"
        ) from None
    if model is None:
        raise KeyboardInterrupt
    return model


def sample(name, code, data, *, chains, draws, warmup, seed, thin, adapt_delta, max_treedepth):
    """bhm.stan.sample through PyStan: (model, fit), the fits deleted from httpstan's cache."""
    import httpstan.cache

    _claim(code)  # PyStan loads the module into this process too, in this thread
    options = {"num_samples": draws, "num_warmup": warmup, "num_thin": thin}
    if adapt_delta is not None:
        options["delta"] = adapt_delta
    if max_treedepth is not None:
        options["max_depth"] = max_treedepth
    with quiet() as chatter:
        model = build_model(name, code, data, seed, chatter)
        try:
            fit = model.sample(num_chains=chains, **options)
        except RuntimeError as error:
            raise RuntimeError(f"Stan failed to sample program {name!r}: {stan_message(error)}") from None
        finally:
            for fit_name in fit_names(model, options, chains):
                with contextlib.suppress(KeyError):
                    httpstan.cache.delete_fit(fit_name)
    if fit is None:  # PyStan swallows Ctrl-C and returns None; pass it on
        raise KeyboardInterrupt
    log_chatter(chatter.getvalue())
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
            with quiet() as chatter:
                build_model(name, code, data, 1, chatter)
            log_chatter(chatter.getvalue())
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
    """One NUTS chain through ``module``; returns Stan's return code and what each writer sent.

    The module connects one socket per writer (the logger, and the init, sample
    and diagnostic writers) and sends JSON lines through each; the second item
    holds one bytes object per connection, in no particular order.
    """
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
    return code, [bytes(part) for part in received.values()]


_DRAW_PREFIX = b'{"version":1,"topic":"sample","values":{'


def _topic(stream: bytes) -> bytes:
    """The topic of a writer's stream: every line a writer sends has the same one."""
    match = re.match(rb'\{"version":1,"topic":"(\w+)"', stream)
    return match.group(1) if match else b""


def _parse_chain(streams: list[bytes]) -> tuple[list[str], np.ndarray, list[str]]:
    """Column names, draws (draw, column) and logger messages of one chain's writers.

    A draw is one JSON line of the sample writer, ``{"version":1,
    "topic":"sample","values":{"lp__":-3.2,"alpha":0.9,...}}``, always with the
    same keys in the same order. They are parsed all at once by simdjson
    (PyStan's own parser; a new parser per call, returning plain Python objects,
    so nothing refers back into it), about twice as fast as ``json`` (and than
    cutting the keys out for numpy). The diagnostic writer's stream (momenta and
    gradients of every draw, as long as the draws) is not read.
    """
    import simdjson

    by_topic = {_topic(stream): stream for stream in streams}
    log = [message for line in by_topic.get(b"logger", b"").splitlines()
           for message in json.loads(line)["values"]]
    rows = [line for line in by_topic.get(b"sample", b"").splitlines() if line.startswith(_DRAW_PREFIX)]
    if not rows:
        return [], np.empty((0, 0)), log
    try:
        parsed = simdjson.Parser().parse(b"[" + b",".join(rows) + b"]", True)
    except ValueError:  # NaN or Infinity, which simdjson does not read
        parsed = json.loads(b"[" + b",".join(rows) + b"]")
    names = list(parsed[0]["values"])
    return names, np.array([list(row["values"].values()) for row in parsed], dtype=float), log


def sample_arrays(name, code, data, *, chains, draws, warmup, seed, thin, adapt_delta, max_treedepth,
                  timing=None):
    """bhm.stan.sample_arrays on PyStan's compiled module, in this process (see the module docstring)."""
    options = dict(chains=chains, draws=draws, warmup=warmup, seed=seed, thin=thin, adapt_delta=adapt_delta,
                   max_treedepth=max_treedepth)
    if not _claim(code):  # another thread or program loaded a module here: sample in a fresh process
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
            return pool.submit(sample_arrays, name, code, data, **options).result()  # no timing
    args = _nuts_arguments(draws=draws, warmup=warmup, thin=thin, adapt_delta=adapt_delta,
                           max_treedepth=max_treedepth)
    with quiet() as chatter:
        try:
            header = program_header(name)
            # the lean module: without the JSON, and the same draws unless the program has a
            # C++ header (an analytic gradient: the same posterior, other draws; bhm.stan._lean)
            if _lean.is_built(code, header):
                codes, columns, table, log, dims = _lean.sample(code, header, data, seed, chains, args)
            else:
                codes, columns, table, log, dims = _sample_through_socket(name, code, data, seed, chains, args)
        except (RuntimeError, ValueError) as error:  # data that break a declared constraint
            message = re.sub(r"^Exception: |model_\w+_namespace::model_\w+: | \(in '[^']*'[^)]*\)", "",
                             str(error))
            raise ValueError(f"Stan rejected the data for program {name!r}: {message}") from None
    log_chatter(chatter.getvalue())
    if any(codes) or len(codes) < chains or table.size == 0:
        errors = [m.split(":", 1)[-1].strip() for m in log if m.startswith(("error:", "warn:"))]
        raise RuntimeError(f"Stan failed to sample program {name!r}: {' '.join(errors[:4])}")
    if timing is not None:
        timing["stan_seconds"] = sum(float(m.split()[-3]) for m in log
                                     if re.search(r"seconds \((Warm-up|Sampling)\)", m))
    return _columns_to_arrays(columns, table, dims)


def _sample_through_socket(name, code, data, seed, chains, args):
    """Chains 1..``chains`` through httpstan's module; returns what :func:`bhm.stan._lean.sample` returns."""
    module = _services_module(name, code, data)
    codes, columns, per_chain, log = [], [], [], []
    for chain in range(1, chains + 1):
        status, streams = _run_chain(module, data, seed, chain, args)
        names, values, messages = _parse_chain(streams)
        codes.append(status)
        log += messages
        if status != 0 or values.size == 0:
            break
        columns = names
        per_chain.append(values)
    table = np.stack(per_chain) if per_chain else np.empty((0, 0, 0))  # (chain, draw, column)
    return codes, columns, table, log, dict(zip(module.get_param_names(data), module.get_dims(data)))


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


def is_compiled(code: str) -> bool:
    """Whether httpstan's cache holds the extension module of ``code`` (without importing it)."""
    import importlib.machinery

    import httpstan.cache
    import httpstan.models

    directory = httpstan.cache.model_directory(httpstan.models.calculate_model_name(code))
    return directory.is_dir() and any(p.suffix in importlib.machinery.EXTENSION_SUFFIXES
                                      for p in directory.iterdir())


def compile_program(name: str, code: str) -> str:
    """Compile ``code`` into httpstan's cache (run in a worker process); returns ``name``.

    This is what httpstan's "create model" handler does, without its HTTP
    server: stanc (a syntax error raises ValueError with stanc's message), then
    the model's extension module, stored where PyStan looks first.
    """
    import httpstan.cache
    import httpstan.compile
    import httpstan.models

    import_pystan()  # the same warning filters as every other PyStan call
    model_name = httpstan.models.calculate_model_name(code)
    httpstan.cache.delete_model_directory(model_name)
    try:
        _, stanc_warnings = httpstan.compile.compile(code, f"model_{model_name.split('/')[1]}")
    except ValueError as error:
        raise ValueError(f"Stan could not compile program {name!r}: {error}") from None
    httpstan.cache.dump_stanc_warnings(stanc_warnings, model_name)
    # setuptools leaves build/temp.* in the working directory: compile from a scratch folder,
    # and keep the model's object file from there for its lean module (bhm.stan._lean)
    with tempfile.TemporaryDirectory(prefix="bhm-stan-") as scratch, contextlib.chdir(scratch), quiet():
        output = asyncio.run(httpstan.models.build_services_extension_module(code))
        _lean.keep_model_object(code, scratch)
    httpstan.cache.dump_services_extension_module_compiler_output(output, model_name)
    return name


def compile_programs(codes: dict[str, str], jobs: int) -> list[str]:
    """Compile the programs of ``codes`` (name -> Stan code) that httpstan's cache lacks, ``jobs`` at a time.

    Each compiler runs in a spawned process: a clean interpreter, with no event
    loop and no Stan module loaded. Beside them, once per machine, the lean
    sampler's services object compiles (bhm.stan._lean), and so does the lean
    model object of each program with a C++ header (program_header); then
    every program whose model object is there gets its lean module (a link,
    seconds). Returns the names compiled by httpstan, in order.
    """
    import concurrent.futures
    import multiprocessing

    sources = {name: (code, program_header(name)) for name, code in codes.items()}
    names = [name for name in codes if not is_compiled(codes[name])]
    own = [source for source in sources.values() if source[1] is not None and not _lean.is_built(*source)]
    if not names and not own and all(_lean.is_built(*source) or not _lean.model_object(*source).exists()
                                     for source in sources.values()):
        return []
    context = multiprocessing.get_context("spawn")
    workers = max(1, min(jobs, len(names) + len(own) + 1))
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        services = pool.submit(_lean.services_object)  # first: the longest job
        compiling = [pool.submit(compile_program, name, codes[name]) for name in names]
        models = [pool.submit(_lean.compile_model, *source) for source in own]
        compiled = [job.result() for job in compiling]
        for job in [services, *models]:
            job.result()
        linkable = [source for source in sources.values()
                    if _lean.model_object(*source).exists() and not _lean.is_built(*source)]
        if linkable:
            list(pool.map(_lean.build, *zip(*linkable)))  # a link each
    return compiled


def cache_report() -> dict:
    """httpstan's cache of compiled programs: ``folder`` (every httpstan version's), ``bytes`` and ``programs``."""
    import httpstan.cache

    folder = httpstan.cache.cache_directory().parent
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return {"folder": folder, "bytes": sum(path.stat().st_size for path in files),
            "programs": len(list((httpstan.cache.cache_directory() / "models").glob("*")))}
