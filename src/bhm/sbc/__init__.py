"""Simulation-based calibration: is the sampler drawing from the right posterior?

SBC (Talts et al. 2018; Modrák et al. 2023) checks a sampler and a model
together. Repeat, for r = 1, ..., R:

1. draw parameters from the prior, :math:`\\tilde\\theta \\sim p(\\theta)`;
2. simulate data from them, :math:`\\tilde y \\sim p(y \\mid \\tilde\\theta)`;
3. draw L posterior draws :math:`\\theta_1, \\dots, \\theta_L` given
   :math:`\\tilde y`, with the sampler under test;
4. record the **rank** of the truth among them, the number of draws below it,
   :math:`\\#\\{l : \\theta_l < \\tilde\\theta\\} \\in \\{0, \\dots, L\\}`.

If the sampler draws from the exact posterior, :math:`\\tilde\\theta` and the
:math:`\\theta_l` are exchangeable draws from the same joint distribution, so
the rank is uniform on :math:`\\{0, \\dots, L\\}`, for any data set size. The
same holds for any test quantity :math:`f(\\theta, \\tilde y)`, for instance
the log-likelihood of the data: its value at the truth ranks uniformly among
its values at the draws. A sampler that draws from the wrong distribution, or
a program whose model is not the simulator's, shows up as a non-uniform rank
histogram: a U shape (posterior too narrow), a hump (too wide), or a slope
(biased). Uniform ranks of the parameters are necessary, not sufficient: a
"sampler" that returns prior draws passes them (Modrák et al. 2023), and only
a data-dependent quantity such as the log-likelihood catches it.

The L draws must be about independent. Each fit is therefore thinned by its
effective sample size (Talts et al. 2018, Algorithm 2): when the ESS of the S
draws is below L the sampler runs again, longer (:func:`ess_iterations`), and
L evenly spaced draws of the final run are kept (:func:`evenly_spaced`).

Three parts:

* the hand-written Metropolis-Hastings sampler of chapter 2 on two conjugate
  normal models (:func:`mh_normal_mean`, :func:`mh_normal_precision`). All R
  replications run at once, one chain each, as the chains of one vectorised
  :func:`bhm.mcmc.metropolis_hastings` call, so 1,000 replications take
  about a second;
* the Stan programs of chapters 4-5, ``varying_slope_suff`` (centred) and
  ``varying_slope_nc`` (non-centred), on chapter 5's design
  (:func:`stan_replication`);
* the GCSE program of chapter 6, ``gcse_marginal``, on data simulated on the
  real design, every student's school and gender kept
  (:func:`gcse_replication`).

Stan fits run one per replication through :func:`bhm.runs.run_tasks`: in
parallel on any Executor, resumable, with a progress bar
(:func:`run_stan_sbc`). :func:`uniformity` tests the ranks with a chi-square
test on binned counts, :func:`edge_bins` counts the two outer bins,
:func:`ecdf_band` gives the simultaneous band of the ECDF plots.

Where things are: :mod:`bhm.sbc.ranks` (ranks, their tests, thinning),
:mod:`bhm.sbc.mh` (the conjugate models and the MH sampler) and
:mod:`bhm.sbc.fits` (the Stan programs, run and loaded). Every name is
importable from ``bhm.sbc`` itself, as the chapters do.
"""

from bhm.sbc.fits import (
    COMMITTED,
    COMMITTED_GCSE,
    FIT_PROGRAMS,
    FITS,
    GCSE_HYPERPARAMETERS,
    GCSE_QUANTITIES,
    GCSE_SAMPLER,
    GCSE_SCHOOLS,
    MAX_DRAWS,
    MAX_RUNS,
    STAN_FITS,
    STAN_PARAMETERS,
    STAN_PRIOR,
    STAN_QUANTITIES,
    STAN_SAMPLER,
    divergent_reps,
    gcse_prior_draw,
    gcse_replication,
    gcse_simulation,
    load_committed,
    load_ranks,
    program_digests,
    replication,
    run_stan_sbc,
    stan_prior_draw,
    stan_replication,
    stan_simulation,
)
from bhm.sbc.mh import detection_rate, exact_normal_mean, mh_normal_mean, mh_normal_precision
from bhm.sbc.ranks import (
    BINS,
    LABELS,
    N_DRAWS,
    chi2_power,
    ecdf_band,
    edge_bins,
    ess_iterations,
    evenly_spaced,
    ranks,
    uniformity,
)

__all__ = [
    "N_DRAWS", "BINS", "LABELS", "ranks", "uniformity", "edge_bins", "ecdf_band", "detection_rate", "chi2_power",
    "ess_iterations", "evenly_spaced",
    "exact_normal_mean", "mh_normal_mean", "mh_normal_precision",
    "STAN_PARAMETERS", "STAN_QUANTITIES", "STAN_PRIOR", "STAN_SAMPLER", "STAN_FITS", "MAX_RUNS", "MAX_DRAWS",
    "stan_prior_draw", "stan_simulation", "stan_replication",
    "GCSE_SCHOOLS", "GCSE_HYPERPARAMETERS", "GCSE_QUANTITIES", "GCSE_SAMPLER", "gcse_prior_draw",
    "gcse_simulation", "gcse_replication",
    "FITS", "FIT_PROGRAMS", "program_digests", "replication", "divergent_reps", "run_stan_sbc", "load_ranks",
    "COMMITTED", "COMMITTED_GCSE", "load_committed",
]
