"""The GCSE varying-intercept, varying-slope model: maximum likelihood, Bayes, and chapter 6's summaries.

The model, in lme4's notation ``course ~ 1 + female + (1 + female | school)``:

.. math::

    y_{ij} = (\\beta_0 + b_{0j}) + (\\beta_1 + b_{1j})\\,\\mathrm{female}_{ij} + \\varepsilon_{ij},
    \\qquad (b_{0j}, b_{1j})^\\top \\sim \\mathcal N(0, \\Sigma),
    \\qquad \\varepsilon_{ij} \\sim \\mathcal N(0, \\sigma^2),

for student i in school j.  :func:`fit_ml` estimates it by maximum likelihood
(not REML) with statsmodels' ``MixedLM``; it is the non-Bayesian reference
that the book's hierarchical models are compared with.  :func:`fit_bayes`
samples its Bayesian version in Stan (``stan/gcse_marginal.stan``), and the
rest of the module summarises that posterior for chapter 6. Between the two:
:func:`fit_ml` with ``reml=True`` (REML), :func:`fit_ml_profiled` (ML or
REML maximised as lme4 does, reaching boundary estimates such as a
correlation of +-1 in small subsamples drawn by :func:`sample_schools`), and
:func:`empirical_bayes` (the schools' normal conditional distributions at the
estimates, lme4's ``condVar``). :func:`replicate_scores` and
:func:`score_statistics` make a posterior predictive check;
:func:`residual_spread` gives each school's own residual sd, and
:func:`mean_weights` how a school's conditional mean weighs its cell means.

Two settings make the fit agree with lme4's ``lmer(..., REML = FALSE)``:

- **The optimiser.**  statsmodels' default (BFGS, then L-BFGS and CG as
  fallbacks, gradient tolerance 1e-5) stops about 3e-4 short of the optimum on
  these data: the female effect comes out as 7.12851, which prints as 7.129.
  BFGS with ``gtol=1e-8`` reaches the optimum to about 1e-6 in every
  estimate (checked against an independent, tightly optimised profiled
  likelihood); L-BFGS does not, because statsmodels does not pass its
  tolerances through.  CG is kept as a fallback.
- **The standard errors of the fixed effects.**  statsmodels' ``bse_fe``
  inverts the whole observed information matrix, whose fixed-effect /
  covariance-parameter cross terms are not zero under ML with unbalanced
  groups (1.3535 and 1.1330 here).  lme4 reports the standard errors
  conditional on the covariance parameters, :math:`\\hat\\sigma^2 (X^\\top
  \\hat V^{-1} X)^{-1}`; that is the inverse of the fixed-effect block of
  statsmodels' Hessian, which :func:`fit_ml` uses (1.3523 and 1.1312).

Where things are: :mod:`bhm.gcse.cells` (the data by school-and-gender cell),
:mod:`bhm.gcse.ml` (maximum likelihood and empirical Bayes) and
:mod:`bhm.gcse.bayes` (the Stan fit and chapter 6's summaries of its
posterior). Every name is importable from ``bhm.gcse`` itself, as the chapters do.
"""

from bhm.gcse.bayes import (
    BAYES_PRIORS,
    BAYES_PROGRAMS,
    HYPERPARAMETERS,
    bayes_data,
    compare_schools,
    comparison_table,
    fit_bayes,
    pooling_lines,
    rank_draws,
    replicate_scores,
    school_summary,
    score_statistics,
    shrinkage_table,
    summarise_fits,
)
from bhm.gcse.cells import cell_statistics, residual_spread, sample_schools
from bhm.gcse.ml import (
    ML_FIT_OPTIONS,
    MLFit,
    compare_schools_eb,
    conditional_effects,
    empirical_bayes,
    fit_ml,
    fit_ml_profiled,
    mean_weights,
)

__all__ = ["MLFit", "fit_ml", "fit_ml_profiled", "empirical_bayes", "compare_schools_eb", "sample_schools",
           "replicate_scores", "score_statistics", "HYPERPARAMETERS", "summarise_fits", "ML_FIT_OPTIONS",
           "cell_statistics", "bayes_data", "fit_bayes", "BAYES_PRIORS", "BAYES_PROGRAMS", "conditional_effects",
           "school_summary", "rank_draws", "compare_schools", "pooling_lines", "shrinkage_table", "comparison_table",
           "residual_spread", "mean_weights"]
