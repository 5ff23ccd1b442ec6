"""bhm.stan: the door to Stan, tested against the closed-form posterior of chapter 1.

The PyStan tests compile a real Stan program (about 30 s the first time on a
fresh machine; httpstan's cache makes later runs fast).
"""

import warnings

import arviz as az
import numpy as np
import pytest

from bhm import conjugate, stan
from bhm.stan import _data, _pystan

Y = np.random.default_rng(7).normal(1.0, 2.0, size=20)
DATA = {"N": Y.size, "y": Y, "sigma": 2.0, "mu0": 0.0, "sigma0": 3.0}


def _cmdstan_available():
    return stan.default_engine() == "cmdstanpy"


ENGINES = [
    "pystan",
    pytest.param(
        "cmdstanpy",
        marks=pytest.mark.skipif(not _cmdstan_available(),
                                 reason="no CmdStan installation found (the conda route brings one)"),
    ),
]


# ---------------------------------------------------------------- errors caught before Stan runs
def test_unknown_program_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown Stan program 'nope'; available programs: .*normal_mean"):
        stan.sample("nope", DATA, seed=1)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"N": None}, r"missing key\(s\) \['N'\]"),
        ({"y": Y[:5]}, r"data\['y'\] .* has length 5 along axis 0; the program declares it \[N\] = 20"),
        ({"y": np.append(Y[:-1], np.nan)}, r"data\['y'\] .* contains NaN or inf"),
        ({"y": Y.reshape(4, 5), "N": 20}, r"data\['y'\] .* must have 1 dimension"),
        ({"N": 20.5}, r"data\['N'\] .* whole numbers"),
        ({"sigma": "two"}, r"data\['sigma'\] .* must be numeric"),
    ],
)
def test_bad_data_is_named_before_stan(change, message):
    data = {k: v for k, v in (DATA | change).items() if v is not None}
    with pytest.raises(ValueError, match=message):
        stan.sample("normal_mean", data, seed=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(chains=0), "chains must be"),
        (dict(draws=-5), "draws must be"),
        (dict(warmup=-1), "warmup must be"),
        (dict(seed=-3), "seed must be"),
        (dict(seed=1.5), "seed must be"),
        (dict(engine="jags"), "engine must be one of"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stan.sample("normal_mean", DATA, **({"seed": 1} | kwargs))


@pytest.mark.parametrize(
    "program, data, message",
    [
        ("nope", DATA, r"unknown Stan program 'nope'"),
        ("normal_mean", {k: v for k, v in DATA.items() if k != "y"}, r"missing key\(s\) \['y'\]"),
        ("normal_mean", DATA | {"y": Y[:5]}, r"has length 5 along axis 0"),
        ("normal_mean", DATA | {"sigma": -1.0}, r"Stan rejected the data for program 'normal_mean'.*sigma"),
    ],
)
def test_build_names_bad_input(program, data, message):
    with pytest.raises(ValueError, match=message):
        stan.build(program, data, engine="pystan")


def test_build_names_an_unknown_engine():
    with pytest.raises(ValueError, match="engine must be one of"):
        stan.build("normal_mean", DATA, engine="jags")


def test_build_gives_the_program_log_density(capfd):
    """build() compiles (or loads) quietly; its model's log density is chapter 1's, up to a constant."""
    from scipy import stats

    model = stan.build("normal_mean", DATA, engine="pystan")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    mus = [-1.0, 0.5, 2.0]
    # log likelihood + log prior (normal_mean.stan: y ~ N(mu, sigma), mu ~ N(mu0, sigma0); mu unconstrained)
    exact = [stats.norm.logpdf(Y, mu, 2.0).sum() + stats.norm.logpdf(mu, 0.0, 3.0) for mu in mus]
    gaps = [model.log_prob([mu]) - e for mu, e in zip(mus, exact)]
    assert np.ptp(gaps) < 1e-9, gaps


def test_declared_data_parses_the_data_block():
    declared = stan.declared_data(stan.program_code("normal_mean"))
    assert declared == {
        "N": ("int", []), "y": ("real", ["N"]), "sigma": ("real", []), "mu0": ("real", []), "sigma0": ("real", []),
    }


def test_declared_data_comes_from_the_compiler_and_sizes_from_the_regex_where_it_can():
    """stanc --info gives every variable, its element type and dimensions; the regex only the sizes.

    The regex's limits, as the module docstring states them: a size that is not
    one name or number is not read; a data block whose ``}`` is indented hides
    every size; ``transformed data`` is not mistaken for ``data``; a type the
    regex does not know still has its variable and dimensions from stanc.
    """
    code = ("data {\n  int N;\n  array[N + 1] real y;  // arithmetic: not read\n  matrix[N, 2] X;\n"
            "  array[N] complex z;\n}\nparameters { real mu; }\nmodel { }\n")
    assert stan.declared_data(code) == {
        "N": ("int", []), "y": ("real", ["N + 1"]), "X": ("real", ["N", "2"]), "z": ("complex", [None]),
    }
    indented = "data {\n  int N;\n  vector[N] y;\n  }\nmodel { }\n"
    assert stan.declared_data(indented) == {"N": ("int", []), "y": ("real", [None])}
    only_transformed = "transformed data {\n  int K = 2;\n}\nparameters { real mu; }\nmodel { }\n"
    assert stan.declared_data(only_transformed) == {}
    # the axis with [N + 1] is not checked by bhm (Stan checks it); [N] and [2] are
    data = {"N": 2, "y": [1.0, 2.0, 3.0], "X": np.zeros((2, 2)), "z": [0j, 1j]}
    with pytest.raises(ValueError, match=r"data\['X'\] .* axis 1; the program declares it \[2\] = 2"):
        _data.prepare_data("p", code, data | {"X": np.zeros((2, 3))})


# ---------------------------------------------------------------- real sampling
@pytest.mark.parametrize("engine", ENGINES)
def test_recovers_the_conjugate_posterior(engine):
    idata = stan.sample("normal_mean", DATA, seed=11, engine=engine)
    exact = conjugate.normal_posterior(Y, sigma=2.0, mu0=0.0, sigma0=3.0)
    mu = idata.posterior["mu"]
    assert mu.dims == ("chain", "draw") and mu.shape == (4, 1000)
    assert {"diverging", "tree_depth", "energy"} <= set(idata.sample_stats.data_vars)
    ess = float(az.ess(idata, var_names=["mu"])["mu"])
    mcse_mean = exact.std() / np.sqrt(ess)
    assert abs(float(mu.mean()) - exact.mean()) < 4 * mcse_mean
    # sd of a normal estimated from ESS draws has relative error ~ 1/sqrt(2 ESS)
    assert abs(float(mu.std()) / exact.std() - 1) < 4 / np.sqrt(2 * ess)


def test_same_seed_same_draws_different_seed_different_draws():
    a = stan.sample("normal_mean", DATA, seed=5, chains=2, draws=200, warmup=200, check=False)
    b = stan.sample("normal_mean", DATA, seed=5, chains=2, draws=200, warmup=200, check=False)
    c = stan.sample("normal_mean", DATA, seed=6, chains=2, draws=200, warmup=200, check=False)
    assert np.array_equal(a.posterior["mu"].values, b.posterior["mu"].values)
    assert not np.array_equal(a.posterior["mu"].values, c.posterior["mu"].values)


def test_pystan_leaves_no_fits_in_its_cache(monkeypatch):
    """httpstan keeps every seeded fit on disk; bhm deletes its own, by the names httpstan gives them
    (_pystan.fit_names). Checked by name, so that other processes' fits in the same cache (another
    pytest worker's, say) do not count: first the names are shown to be right (with the deletion
    switched off, exactly those files appear), then three calls leave none of theirs behind."""
    import io

    import httpstan.cache

    from bhm.stan import _pystan

    code = stan.program_code("normal_mean")
    data = _data.prepare_data("normal_mean", code, DATA)
    options = {"num_samples": 100, "num_warmup": 100, "num_thin": 1}

    def files(seed):
        model = _pystan.build_model("normal_mean", code, data, seed, io.StringIO())
        return [httpstan.cache.fit_path(name) for name in _pystan.fit_names(model, options, 2)]

    kept = files(99)
    for path in kept:
        path.unlink(missing_ok=True)
    with monkeypatch.context() as patch:
        patch.setattr(httpstan.cache, "delete_fit", lambda name: None)
        stan.sample("normal_mean", DATA, seed=99, chains=2, draws=100, warmup=100, engine="pystan", check=False)
    assert len(kept) == 2 and all(path.is_file() for path in kept)
    for path in kept:
        path.unlink()
    for seed in (100, 101, 102):
        stan.sample("normal_mean", DATA, seed=seed, chains=2, draws=100, warmup=100, engine="pystan", check=False)
        assert not any(path.exists() for path in files(seed))


def test_sampling_is_quiet(capfd):
    stan.sample("normal_mean", DATA, seed=3, chains=2, draws=200, warmup=200, engine="pystan", check=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_stan_rejects_data_outside_declared_bounds():
    with pytest.raises(ValueError, match="Stan rejected the data for program 'normal_mean'.*sigma"):
        stan.sample("normal_mean", DATA | {"sigma": -1.0}, seed=1, engine="pystan")


def test_problems_become_warnings():
    # 10 draws per chain cannot give an ESS of 100: the warning must say so.
    with pytest.warns(stan.StanWarning, match="effective sample size"):
        stan.sample("normal_mean", DATA, seed=2, chains=2, draws=10, warmup=100)


def test_check_diagnostics_reports_divergences():
    idata = stan.sample("normal_mean", DATA, seed=4, chains=2, draws=200, warmup=200, check=False)
    idata.sample_stats["diverging"][0, :3] = True
    with pytest.warns(stan.StanWarning, match="3 divergent transition"):
        report = stan.check_diagnostics(idata)
    assert report["divergences"] == 3


def _ar1_idata(phi, *, chains=4, draws=1000, seed=8):
    """An InferenceData of AR(1) draws (stationary, unit variance) with clean sampler statistics."""
    rng = np.random.default_rng(seed)
    x = np.empty((chains, draws))
    x[:, 0] = rng.normal(size=chains)
    eps = rng.normal(size=(chains, draws)) * np.sqrt(1 - phi**2)
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + eps[:, t]
    return az.from_dict(posterior={"mu": x}, sample_stats={"diverging": np.zeros((chains, draws), bool),
                                                           "tree_depth": np.ones((chains, draws), int)})


def test_ess_threshold_is_100_per_chain():
    """Vehtari et al. (2021): bulk and tail ESS of 100 per chain, so 400 in all for 4 chains."""
    idata = _ar1_idata(0.88)          # ESS about 4000 (1 - phi) / (1 + phi) = 255 in all
    low = min(float(az.ess(idata, method=method)["mu"]) for method in ("bulk", "tail"))
    assert 100 < low < 400, low
    with pytest.warns(stan.StanWarning, match=r"effective sample size as low as \d+ \(< 100 per chain, 400 for 4"):
        report = stan.check_diagnostics(idata, rhat_max=2.0)   # R-hat too is above 1.01 here: test ESS alone
    assert report["ess_needed"] == 400 and report["min_ess_bulk"] == pytest.approx(low)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = stan.check_diagnostics(idata, rhat_max=2.0, ess_min_per_chain=25)   # 100 in all: passes
    assert report["ess_needed"] == 100


def test_compile_error_names_the_problem(tmp_path, monkeypatch):
    (tmp_path / "broken.stan").write_text("parameters { real mu; }\nmodel { mu ~ normal(0, sigma_undefined); }\n")
    monkeypatch.setattr(stan, "STAN_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"(?s)could not compile program 'broken'.*sigma_undefined"):
        stan.sample("broken", {}, seed=1, engine="pystan")


def test_inside_a_running_event_loop_stan_leaves_the_loop_alone():
    """In Jupyter the kernel's loop runs: PyStan must not run the kernel's other tasks re-entrantly
    (nest_asyncio did, and JupyterLab's "Run All" lost its queued cells). Same draws as outside a loop."""
    import asyncio

    async def cell():
        ticks = []

        async def kernel_task():  # stands for the kernel's queued messages
            while True:
                ticks.append(None)
                await asyncio.sleep(0.001)

        task = asyncio.create_task(kernel_task())
        await asyncio.sleep(0.01)
        before = len(ticks)
        idata = stan.sample("normal_mean", DATA, seed=5)  # blocks the loop, as a cell does
        arrays = stan.sample_arrays("normal_mean", DATA, seed=5, chains=2, draws=50, warmup=50)
        during = len(ticks) - before
        task.cancel()
        return idata, arrays, during

    idata, arrays, during = asyncio.run(cell())
    assert during == 0  # no task of the loop ran inside the calls
    outside = stan.sample("normal_mean", DATA, seed=5)
    np.testing.assert_array_equal(idata.posterior["mu"].values, outside.posterior["mu"].values)
    np.testing.assert_array_equal(
        arrays["mu"], stan.sample_arrays("normal_mean", DATA, seed=5, chains=2, draws=50, warmup=50)["mu"])


def test_compile_programs_names_bad_input_and_stanc_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown Stan program 'no_such_program'"):
        stan.compile_programs(["no_such_program"])
    with pytest.raises(ValueError, match="jobs must be a whole number >= 1"):
        stan.compile_programs(["normal_mean"], jobs=0)
    (tmp_path / "broken.stan").write_text("parameters { real mu; }\nmodel { mu ~ normal(0, sigma_undefined); }\n")
    monkeypatch.setattr(stan, "STAN_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"(?s)could not compile program 'broken'.*sigma_undefined"):
        stan.compile_programs(engine="pystan")  # every program of STAN_DIR, in a worker process


def test_compile_programs_skips_what_the_cache_holds():
    import httpstan.cache
    import httpstan.models

    stan.build("normal_mean", DATA, engine="pystan")  # compiled (or found) in this process
    code = stan.program_code("normal_mean")
    directory = httpstan.cache.model_directory(httpstan.models.calculate_model_name(code))
    before = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    assert stan.compile_programs(["normal_mean"], engine="pystan") == []
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == before


def test_the_engines_machinery_raises_no_python_warning():
    """Only StanWarning may leave a fit: aiohttp's per-app NotAppKeyWarning (under httpstan) stays inside.

    Chapter 6 records every warning of its prior-sensitivity fits and shows each
    as a note; a fresh machine with the locked versions once printed aiohttp's
    advice to httpstan there, on every fit.
    """
    for seed in (21, 22):  # twice: a warning shown once per location would hide the second time
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stan.sample("normal_mean", DATA, seed=seed, chains=2, draws=200, warmup=200, check=False)
        # a page hides DeprecationWarnings raised outside __main__ (Python's default filters)
        shown = [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
        assert shown == []


# ---------------------------------------------------------------- sample_arrays: the lean route
def test_sample_arrays_equals_sample_bit_for_bit():
    """The compiled module called in process, with PyStan's arguments and seeds, gives PyStan's draws."""
    idata = stan.sample("normal_mean", DATA, seed=11, chains=3, draws=300, warmup=200, check=False)
    arrays = stan.sample_arrays("normal_mean", DATA, seed=11, chains=3, draws=300, warmup=200)
    assert arrays["mu"].shape == (3, 300)
    np.testing.assert_array_equal(arrays["mu"], idata.posterior["mu"].values)
    np.testing.assert_array_equal(arrays["divergent__"], idata.sample_stats["diverging"].values)
    np.testing.assert_array_equal(arrays["n_leapfrog__"], idata.sample_stats["n_steps"].values)


def test_sample_arrays_keeps_vectors_in_order():
    """A vector-valued quantity comes back (chain, draw, J) with its elements in Stan's order."""
    from bhm import study

    cell = study.Cell("A", "true", "5x200")
    data = study.stan_data(cell, study.simulation_data(cell, 0))
    idata = stan.sample("varying_slope_suff", data, seed=3, chains=2, draws=100, warmup=150, check=False)
    arrays = stan.sample_arrays("varying_slope_suff", data, seed=3, chains=2, draws=100, warmup=150)
    assert arrays["eta"].shape == (2, 100, 5)
    np.testing.assert_array_equal(arrays["eta"], idata.posterior["eta"].values)


def test_sample_arrays_from_another_thread_runs_in_a_fresh_process():
    """Stan's autodiff tape belongs to the thread that loaded the module: another thread
    must not call it in process (it would crash): its fit runs in a fresh process, same draws."""
    from concurrent.futures import ThreadPoolExecutor

    here = stan.sample_arrays("normal_mean", DATA, seed=5, chains=2, draws=200, warmup=100)
    with ThreadPoolExecutor(max_workers=1) as pool:
        there = pool.submit(stan.sample_arrays, "normal_mean", DATA, seed=5, chains=2, draws=200,
                            warmup=100).result()
    for name in ("mu", "lp__", "treedepth__"):
        np.testing.assert_array_equal(here[name], there[name])


def test_sample_arrays_names_bad_input():
    with pytest.raises(ValueError, match="unknown Stan program 'nope'"):
        stan.sample_arrays("nope", DATA, seed=1)
    with pytest.raises(ValueError, match="chains must be"):
        stan.sample_arrays("normal_mean", DATA, seed=1, chains=0)
    with pytest.raises(ValueError, match=r"data\['y'\] .* contains NaN"):
        stan.sample_arrays("normal_mean", DATA | {"y": np.append(Y[:-1], np.inf)}, seed=1)
    with pytest.raises(ValueError, match="Stan rejected the data .*sigma"):
        stan.sample_arrays("normal_mean", DATA | {"sigma": -1.0}, seed=1)


def test_chain_output_with_nan_and_infinity_is_read():
    """Stan writes NaN and Infinity (not JSON); the reader falls back to a parser that takes them."""
    prefix = b'{"version":1,"topic":"sample","values":{'
    streams = [b"\n".join([prefix + b'"lp__":-1.5,"mu":NaN}}', prefix + b'"lp__":-2.0,"mu":Infinity}}']),
               b'{"version":1,"topic":"logger","values":["info:hello"]}\n',
               b'{"version":1,"topic":"diagnostic","values":{"lp__":1}}\n']   # one per writer; not read
    names, values, log = _pystan._parse_chain(streams)
    assert names == ["lp__", "mu"] and log == ["info:hello"]
    assert values[0, 0] == -1.5 and np.isnan(values[0, 1]) and values[1, 1] == np.inf


def test_lean_module_gives_httpstans_draws_bit_for_bit():
    """The lean module (bhm.stan._lean) runs Stan's service with the same arguments and seeds as
    httpstan's module, and keeps the draws in memory: the same numbers, bit for bit, for every
    column, on the study's centred program (built by `make book`'s compile step; built here if not)."""
    from bhm import study
    from bhm.stan import _lean

    cell = study.Cell("A", "true", "5x50")
    code = stan.program_code("varying_slope_suff")
    assert stan.program_header("varying_slope_suff") is None
    data = _data.prepare_data("varying_slope_suff", code, study.stan_data(cell, study.simulation_data(cell, 3)))
    args = _pystan._nuts_arguments(draws=120, warmup=100, thin=1, adapt_delta=None, max_treedepth=None)
    stan.build_lean(["varying_slope_suff"])
    assert _lean.is_built(code)
    socket = _pystan._sample_through_socket("varying_slope_suff", code, data, 17, 3, args)
    lean = _lean.sample(code, None, data, 17, 3, args)
    assert socket[0] == lean[0] == [0, 0, 0] and socket[1] == lean[1] and socket[4] == lean[4]
    assert lean[2].shape == (3, 120, len(lean[1])) and "eta.1" in lean[1]
    np.testing.assert_array_equal(lean[2], socket[2])
    # and sample_arrays takes it (in a process of its own here: other programs are loaded in this one)
    arrays = stan.sample_arrays("varying_slope_suff", study.stan_data(cell, study.simulation_data(cell, 3)),
                                seed=17, chains=3, draws=120, warmup=100)
    np.testing.assert_array_equal(arrays["sigma_b"], socket[2][..., socket[1].index("sigma_b")])


@pytest.mark.parametrize("prior", ["true", "flat", "sigma-half-normal", "sigma-uniform"])
def test_lean_header_gives_stans_log_density_and_gradient(prior):
    """stan/varying_slope_marginal.hpp overloads the program's marginal_log_likelihood with an
    analytic gradient in its lean module; httpstan's module differentiates the Stan function.
    Log density and gradient agree to 1e-10 (relative) at points across the posterior's reach,
    for each prior on sigma_b and gamma, on design A's few and many groups and on design B's
    ill-conditioned one (u near 5); and the lean module does use the header: its draws differ
    from httpstan's (a different gradient in the last bits sends NUTS elsewhere)."""
    from bhm import study
    from bhm.stan import _lean

    name = "varying_slope_marginal"
    code, header = stan.program_code(name), stan.program_header(name)
    assert header is not None and "make_callback_var" in header
    stan.build_lean([name])
    assert _lean.is_built(code, header)
    rng = np.random.default_rng(11)
    for design, size in (("A", "5x50"), ("A", "50x10"), ("B", "10x200")):
        cell = study.Cell(design, prior, size)
        data = study.stan_data(cell, study.simulation_data(cell, 4))
        model = stan.build(name, data, engine="pystan")
        prepared = _data.prepare_data(name, code, data)
        for point in rng.normal(0.0, 1.5, size=(6, 2)):
            lp, gradient = _lean.log_prob_grad(code, header, prepared, point)
            assert lp == pytest.approx(model.log_prob(list(point)), rel=1e-10, abs=1e-10)
            np.testing.assert_allclose(gradient, model.grad_log_prob(list(point)), rtol=1e-10, atol=1e-10)
    args = _pystan._nuts_arguments(draws=50, warmup=50, thin=1, adapt_delta=None, max_treedepth=None)
    socket = _pystan._sample_through_socket(name, code, prepared, 17, 1, args)
    lean = _lean.sample(code, header, prepared, 17, 1, args)
    assert socket[1] == lean[1] and not np.array_equal(socket[2], lean[2])


def test_lean_header_needs_stancs_model_class():
    """with_header pastes the header before the model class stanc writes; C++ without one is refused."""
    from bhm.stan import _lean

    cpp = "namespace model_x_namespace {\nclass model_x final : public model_base_crtp<model_x> {\n};\n}"
    assert _lean.with_header(cpp, "model_x", "// H") == cpp.replace("\nclass", "\n// H\n\nclass")
    with pytest.raises(ValueError, match="cannot find the model class 'model_y'"):
        _lean.with_header(cpp, "model_y", "// H")


def test_flat_columns_become_arrays_in_stans_column_major_order():
    """Stan writes A[i, j] as column A.i.j, first index fastest; arrays come back (chain, draw, i, j)."""
    columns = ["lp__", "s", "A.1.1", "A.2.1", "A.1.2", "A.2.2", "A.1.3", "A.2.3"]
    A = np.arange(6.0).reshape(2, 3)
    row = [0.0, 7.0] + [A[i, j] for j in range(3) for i in range(2)]
    table = np.array(row)[None, None, :].repeat(2, axis=0).repeat(4, axis=1)   # 2 chains, 4 draws
    arrays = _pystan._columns_to_arrays(columns, table, {"s": [], "A": [2, 3]})
    assert arrays["A"].shape == (2, 4, 2, 3) and arrays["s"].shape == (2, 4) and arrays["lp__"].shape == (2, 4)
    np.testing.assert_array_equal(arrays["A"][1, 3], A)
