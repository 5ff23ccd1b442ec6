"""The lean sampler: Stan's NUTS service with the draws kept in memory (PyStan route only).

httpstan's compiled module of a program sends every kept draw through a Unix
socket as two JSON messages (the draw, and the diagnostic writer's momenta and
gradients). For the many small fits of chapter 5's study that costs as much as
the sampling (measured: 64 us per kept iteration, 27 us per warm-up
iteration, on a two-parameter posterior). ``lean_services.cpp`` calls the same
service (``stan::services::sample::hmc_nuts_diag_e_adapt``) with the same
arguments, seeds and chain ids and keeps the draws in memory: the same
numbers, bit for bit (tests/test_stan.py); a study fit takes about a third
less time (4 chains of 150 + 250 iterations: 0.071 against 0.106 s on 5 x 50,
0.077 against 0.120 s on 10 x 200, on one core of the book's 2-core machine).

It is built from httpstan's own parts, and changes none of them: the model's
object file, kept from httpstan's build when :func:`bhm.stan.compile_programs`
compiles a program (or compiled here from httpstan's stanc output), linked
with the services object (``lean_services.cpp``, compiled once per machine
with httpstan's bundled Stan, flags and libraries; the slow part). All of it
lives under :func:`bhm._paths.build_dir` ``/lean``. A fit uses the lean module
where it is built (:func:`is_built`), httpstan's module otherwise: the same
draws either way.

One exception, by design: a program with a C++ header beside it in ``stan/``
(``stan/<name>.hpp``, :func:`bhm.stan.program_header`) gets the header pasted
into its model's C++ before the model class, where it overloads a Stan
function of the program with an analytic gradient (chapter 5's marginal
program: a study fit samples in 0.42-0.44 of the time). Its lean module
compiles its own model object (a minute), and its draws come from the same
posterior but are not the same numbers as httpstan's module's, whose gradient
comes from Stan's automatic differentiation of the Stan function
(tests/test_stan.py checks that value and gradient agree).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from bhm._paths import build_dir

_SOURCE = Path(__file__).with_name("lean_services.cpp")
_MODULE = "bhm_lean_services"
_LOADED: dict[str, object] = {}

# httpstan's flags for a model's extension module (httpstan/models.py,
# build_services_extension_module), which the services object must match
_MACROS = [("BOOST_DISABLE_ASSERTS", None), ("BOOST_PHOENIX_NO_VARIADIC_EXPRESSION", None), ("STAN_THREADS", None),
           ("_REENTRANT", None), ("_GLIBCXX_USE_CXX11_ABI", "0")]
_FLAGS = ["-O3", "-std=c++14", "-Wno-sign-compare"]
_LIBRARIES = ["sundials_cvodes", "sundials_idas", "sundials_nvecserial", "tbb"]


def _httpstan_dir() -> Path:
    import httpstan

    return Path(httpstan.__file__).parent


def _key(*parts: str) -> str:
    import httpstan

    digest = hashlib.sha256("\0".join([httpstan.__version__, str(_httpstan_dir()), *parts]).encode())
    return digest.hexdigest()[:16]


def _compiler():
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)  # Python's own compiler and flags, as setuptools' build_ext uses
    return compiler


def _compile(source: Path, target: Path, include: list[str]) -> Path:
    """Compile one C++ file with httpstan's flags into ``target`` (atomically)."""
    import sysconfig

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bhm-lean-", dir=target.parent) as scratch:
        objects = _compiler().compile(
            [str(source)], output_dir=scratch, macros=_MACROS, extra_postargs=[*_FLAGS, "-fPIC"],
            include_dirs=[*include, str(_httpstan_dir() / "include"), sysconfig.get_paths()["include"]])
        os.replace(objects[0], target)  # atomic: a parallel build never sees half a file
    return target


def services_object() -> Path:
    """The compiled ``lean_services.cpp`` for this httpstan (compiled on first use, 1-2 min)."""
    target = build_dir() / "lean" / f"services-{_key(_SOURCE.read_text())}" / "lean_services.o"
    return target if target.exists() else _compile(_SOURCE, target, [])


def _sources(code: str, header: str | None) -> tuple[str, ...]:
    return (code,) if header is None else (code, header)


def model_object(code: str, header: str | None = None) -> Path:
    """Where the compiled model of ``code`` (with C++ ``header``, if any) is kept (it may not exist yet)."""
    return build_dir() / "lean" / f"model-{_key(*_sources(code, header))}" / "model.o"


def keep_model_object(code: str, build_folder) -> bool:
    """Keep the model object that httpstan's build of ``code`` left in ``build_folder`` (setuptools' build/).

    The lean module then only links it (seconds) instead of compiling the model
    again (a minute). Returns whether an object was found.
    """
    import shutil

    found = sorted(Path(build_folder).rglob("model_*.o"))
    if len(found) != 1:
        return False
    target = model_object(code)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    shutil.copyfile(found[0], partial)
    os.replace(partial, target)
    return True


@functools.lru_cache(maxsize=64)
def _module_path(code: str, header: str | None = None) -> Path:
    return model_object(code, header).parent / f"lean-{_key(_SOURCE.read_text())}" / (
        _MODULE + importlib.machinery.EXTENSION_SUFFIXES[0])


def is_built(code: str, header: str | None = None) -> bool:
    """Whether the lean module of Stan program ``code`` (with C++ ``header``, if any) is built on this machine."""
    return _module_path(code, header).exists()


def with_header(cpp_code: str, stan_model_name: str, header: str) -> str:
    """stanc's C++ ``cpp_code`` with ``header`` pasted in the model's namespace, before the model class.

    There it is declared before the model's log density uses it, so a
    non-template function of the header overloads the template that stanc
    generated from the Stan function of the same name and arguments.

    Raises
    ------
    ValueError
        The model class is not where stanc puts it (a stanc this code does not know).
    """
    marker = f"\nclass {stan_model_name} final : public model_base_crtp<{stan_model_name}> {{"
    if cpp_code.count(marker) != 1:
        raise ValueError(f"cannot find the model class {stan_model_name!r} in stanc's C++ to add the header before")
    return cpp_code.replace(marker, f"\n{header}\n{marker}")


def compile_model(code: str, header: str | None = None) -> Path:
    """Compile the model object of ``code`` here, from httpstan's stanc output (if not compiled); returns its path.

    With a C++ ``header`` (:func:`bhm.stan.program_header`), the header is
    pasted in first (:func:`with_header`). About a minute.

    Raises
    ------
    ValueError
        stanc rejects the program.
    """
    import httpstan.compile
    import httpstan.models

    model = model_object(code, header)
    if not model.exists():
        stan_model_name = f"model_{httpstan.models.calculate_model_name(code).split('/')[1]}"
        cpp_code, _ = httpstan.compile.compile(code, stan_model_name)
        if header is not None:
            cpp_code = with_header(cpp_code, stan_model_name, header)
        with tempfile.TemporaryDirectory(prefix="bhm-lean-") as scratch:
            source = Path(scratch) / f"{stan_model_name}.cpp"
            source.write_text(cpp_code)
            _compile(source, model, [scratch])
    return model


def build(code: str, header: str | None = None) -> Path:
    """Build the lean module of Stan program ``code`` (if not built); returns its path.

    Links the model object (kept from httpstan's build by :func:`keep_model_object`,
    or compiled here: :func:`compile_model`) with :func:`services_object`. With
    a C++ ``header``, the model object is always compiled here.

    Raises
    ------
    ValueError
        stanc rejects the program.
    """
    path = _module_path(code, header)
    if path.exists():
        return path
    services = services_object()
    model = compile_model(code, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    lib = _httpstan_dir() / "lib"
    with tempfile.TemporaryDirectory(prefix="bhm-lean-", dir=path.parent) as scratch:
        linked = Path(scratch) / path.name
        _compiler().link_shared_object([str(model), str(services)], str(linked), libraries=_LIBRARIES,
                                       library_dirs=[str(lib)], extra_postargs=[f"-Wl,-rpath,{lib}"],
                                       target_lang="c++")
        os.replace(linked, path)
    return path


def module(code: str, header: str | None = None):
    """The loaded lean module of ``code`` (built already: see :func:`is_built`)."""
    path = _module_path(code, header)
    if str(path) not in _LOADED:
        spec = importlib.util.spec_from_file_location(_MODULE, path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        _LOADED[str(path)] = loaded
    return _LOADED[str(path)]


def sample(code: str, header: str | None, data: dict, seed: int, chains: int, args: dict):
    """Run chains 1..``chains`` through the lean module.

    Parameters
    ----------
    code : str
        The Stan program (built: :func:`is_built`).
    header : str or None
        Its C++ header (:func:`bhm.stan.program_header`).
    data : dict
        The program's data, as httpstan takes them.
    seed : int
    chains : int
    args : dict
        httpstan's NUTS arguments (``_pystan._nuts_arguments``).

    Returns
    -------
    (list of int, list of str, numpy.ndarray, list of str, dict)
        Stan's return code of each chain run (it stops after the first that
        is not 0), the column names, the draws (chains run, draws, columns),
        Stan's messages ("info:...", "warn:...") and the parameters'
        dimensions (name -> shape).
    """
    from httpstan.utils import _split_data

    lean = module(code, header)
    split = _split_data(data)
    codes, names, draws, messages = lean.nuts(
        *split, seed, chains, args["init_radius"], args["num_warmup"], args["num_samples"], args["num_thin"],
        args["stepsize"], args["stepsize_jitter"], args["max_depth"], args["delta"], args["gamma"], args["kappa"],
        args["t0"], args["init_buffer"], args["term_buffer"], args["window"])
    parameters, dims = lean.parameter_dims(*split)
    return codes, names, np.asarray(draws), messages, dict(zip(parameters, dims))


def log_prob_grad(code: str, header: str | None, data: dict, unconstrained) -> tuple[float, list[float]]:
    """The log density (Jacobian included, constants dropped) and its gradient, as NUTS sees them.

    Through the lean module of ``code`` (built: :func:`is_built`), so with the
    gradient of its C++ ``header`` if it has one; httpstan's module gives the
    same two numbers from Stan's automatic differentiation
    (``stan.model.Model.log_prob`` and ``grad_log_prob``).

    Parameters
    ----------
    code, header, data
        As for :func:`sample`.
    unconstrained : sequence of float
        The parameters on the unconstrained scale, in the program's order.
    """
    from httpstan.utils import _split_data

    lp, gradient = module(code, header).log_prob_grad(*_split_data(data), [float(x) for x in unconstrained])
    return lp, gradient
