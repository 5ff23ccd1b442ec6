"""Vectorised Metropolis-Hastings sampling for the course book.

All chains advance together: the state is an array of shape
``(n_chains, n_params)``, the target is evaluated once per iteration for
all chains, and the random numbers are drawn in blocks. The loop body
of :func:`metropolis_hastings` follows the algorithm of the slides line
by line.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "LogNormalWalk",
    "MHResult",
    "Proposal",
    "RandomWalk",
    "metropolis_hastings",
]

_LOG_2PI = float(np.log(2.0 * np.pi))

# Random numbers are drawn in blocks of at most _MAX_BLOCK iterations and
# at most about _BLOCK_FLOATS normal variates, so that memory stays small
# for any n_draws while the Python overhead per iteration stays low.
_MAX_BLOCK = 256
_BLOCK_FLOATS = 2**17


@runtime_checkable
class Proposal(Protocol):
    """Protocol of a proposal distribution :math:`q(y \\mid x)`.

    Any object with these members can be passed as ``proposal`` to
    :func:`metropolis_hastings`.

    Attributes
    ----------
    symmetric : bool
        True if :math:`q(y \\mid x) = q(x \\mid y)` for all x, y. The
        sampler then skips the Hastings term, which cancels exactly.
        Objects without this attribute are treated as asymmetric.

    Notes
    -----
    ``draw(x, rng)`` takes the current states ``x`` of shape
    ``(n_chains, n_params)`` and a :class:`numpy.random.Generator` and
    returns candidates ``y`` of the same shape, one per chain.

    ``log_density(y, x)`` returns :math:`\\log q(y \\mid x)` of shape
    ``(n_chains,)``, the log density of proposing ``y`` from ``x``,
    summed over parameters. It must be exact up to a constant that does
    not depend on x or y; the sampler evaluates it in both directions.

    An optional ``in_support(x)`` returning a boolean array of shape
    ``(n_chains,)`` lets the sampler check that the start lies in the
    support of the proposal (line 1 of the algorithm).
    """

    symmetric: bool

    def draw(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw one candidate per chain from :math:`q(\\cdot \\mid x)`."""

    def log_density(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Return :math:`\\log q(y \\mid x)` per chain."""


class _StepProposal:
    """Shared validation for the proposals with a Gaussian ``step``."""

    def __init__(self, step=1.0):
        self.step = _check_step(step)

    def __repr__(self) -> str:
        step = self.step.tolist() if self.step.ndim else float(self.step)
        return f"{type(self).__name__}(step={step!r})"

    def _check_dimension(self, n_params: int) -> None:
        if self.step.ndim == 1 and self.step.shape[0] != n_params:
            raise ValueError(
                f"step must be a scalar or have length n_params = {n_params}; "
                f"got shape {self.step.shape}"
            )


class RandomWalk(_StepProposal):
    r"""Symmetric Gaussian random-walk proposal.

    Parameters
    ----------
    step : float or array_like of shape (n_params,), default 1.0
        Standard deviation of the increment, per parameter. All entries
        must be finite and positive.

    Notes
    -----
    The candidate is :math:`y = x + s\,z` with :math:`z \sim N(0, I)`, so

    .. math::

        \log q(y \mid x) = \sum_k \left[-\log s_k - \tfrac12 \log 2\pi
            - \frac{(y_k - x_k)^2}{2 s_k^2}\right].

    Because :math:`q(y \mid x) = q(x \mid y)`, the attribute
    ``symmetric`` is True and :func:`metropolis_hastings` skips the
    Hastings term; :meth:`log_density` is still exact, so the proposal
    can be checked or used by other code. With a ``RandomWalk``
    (including the default proposal) the sampler draws the increments in
    blocks instead of calling :meth:`draw` once per iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.mcmc import RandomWalk
    >>> q = RandomWalk(0.5)
    >>> x = np.zeros((3, 2))
    >>> y = q.draw(x, np.random.default_rng(0))
    >>> y.shape
    (3, 2)
    >>> bool(np.allclose(q.log_density(y, x), q.log_density(x, y)))
    True
    """

    symmetric = True

    def draw(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return ``x + step * z`` with standard normal ``z``."""
        return x + self.step * rng.standard_normal(np.shape(x))

    def log_density(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Return :math:`\\log q(y \\mid x)` of shape ``(n_chains,)``."""
        z = (np.asarray(y) - np.asarray(x)) / self.step
        terms = -0.5 * z**2 - np.log(self.step) - 0.5 * _LOG_2PI
        return np.sum(terms, axis=-1)

    def in_support(self, x: np.ndarray) -> np.ndarray:
        """Every finite point is in the support."""
        return np.ones(np.shape(x)[0], dtype=bool)


class LogNormalWalk(_StepProposal):
    r"""Multiplicative random walk for positive parameters.

    Parameters
    ----------
    step : float or array_like of shape (n_params,), default 1.0
        Standard deviation of the increment of :math:`\log x`, per
        parameter. All entries must be finite and positive.

    Notes
    -----
    The candidate is :math:`y = x\,e^{s z}` with :math:`z \sim N(0, I)`,
    so :math:`y \mid x` is log-normal:

    .. math::

        \log q(y \mid x) = \sum_k \left[-\log y_k - \log s_k
            - \tfrac12 \log 2\pi - \frac{(\log y_k - \log x_k)^2}{2 s_k^2}
            \right].

    The quadratic term is symmetric in x and y, so the Hastings ratio is
    :math:`q(x \mid y) / q(y \mid x) = \prod_k y_k / x_k`. The proposal is
    not symmetric (``symmetric = False``): dropping this factor
    (``hastings=False`` in :func:`metropolis_hastings`) makes the chain
    converge to a density proportional to :math:`\pi(x) / \prod_k x_k`
    instead of :math:`\pi(x)`.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.mcmc import LogNormalWalk
    >>> q = LogNormalWalk(0.3)
    >>> x = np.array([[1.0], [2.0]])
    >>> y = q.draw(x, np.random.default_rng(1))
    >>> ratio = np.exp(q.log_density(x, y) - q.log_density(y, x))
    >>> bool(np.allclose(ratio, (y / x)[:, 0]))
    True
    """

    symmetric = False

    def draw(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return ``x * exp(step * z)`` with standard normal ``z``."""
        return x * np.exp(self.step * rng.standard_normal(np.shape(x)))

    def log_density(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Return :math:`\\log q(y \\mid x)`; ``-inf`` if some ``y <= 0``."""
        y = np.asarray(y, dtype=float)
        x = np.asarray(x, dtype=float)
        inside = np.all(y > 0, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_y = np.log(y)
            z = (log_y - np.log(x)) / self.step
            terms = -log_y - np.log(self.step) - 0.5 * _LOG_2PI - 0.5 * z**2
            out = np.sum(terms, axis=-1)
        return np.where(inside, out, -np.inf)

    def in_support(self, x: np.ndarray) -> np.ndarray:
        """A state is in the support if every parameter is positive."""
        return np.all(np.asarray(x) > 0, axis=-1)


@dataclass(frozen=True, eq=False)
class MHResult:
    """Draws and acceptance rates of :func:`metropolis_hastings`.

    Attributes
    ----------
    draws : ndarray of shape (n_chains, n_draws, n_params)
        The states :math:`x_1, \\dots, x_T` of every chain (the start
        :math:`x_0` is not included).
    acceptance_rate : ndarray of shape (n_chains,)
        Fraction of accepted candidates per chain.
    """

    draws: np.ndarray
    acceptance_rate: np.ndarray

    def to_inference_data(self, var_names=None):
        """Convert the draws to :class:`arviz.InferenceData`.

        Parameters
        ----------
        var_names : sequence of str of length n_params, optional
            One name per parameter; each becomes a scalar variable with
            dims ``(chain, draw)``. By default the draws form a single
            variable ``"theta"`` with dims
            ``(chain, draw, theta_dim_0)``.

        Returns
        -------
        arviz.InferenceData
            With a ``posterior`` group.

        Examples
        --------
        >>> import numpy as np
        >>> from bhm.mcmc import metropolis_hastings
        >>> res = metropolis_hastings(lambda x: -0.5 * np.sum(x**2, axis=1),
        ...                           np.zeros((2, 2)), 50, seed=1)
        >>> idata = res.to_inference_data(var_names=["a", "b"])
        >>> sorted(idata.posterior.data_vars)
        ['a', 'b']
        """
        import arviz as az

        n_params = self.draws.shape[2]
        if var_names is None:
            return az.from_dict(posterior={"theta": self.draws})
        if isinstance(var_names, str):
            var_names = [var_names]
        var_names = list(var_names)
        if len(var_names) != n_params or not all(isinstance(v, str) for v in var_names):
            raise ValueError(
                f"var_names must be {n_params} strings, one per parameter; got {var_names!r}"
            )
        if len(set(var_names)) != n_params:
            raise ValueError(f"var_names must be distinct; got {var_names!r}")
        posterior = {name: self.draws[:, :, k] for k, name in enumerate(var_names)}
        return az.from_dict(posterior=posterior)


def metropolis_hastings(
    log_target,
    x0,
    n_draws,
    *,
    step=None,
    proposal=None,
    hastings=True,
    seed=None,
) -> MHResult:
    r"""Run vectorised Metropolis-Hastings chains.

    Parameters
    ----------
    log_target : callable
        ``log_target(x)`` takes states of shape ``(n_chains, n_params)``
        and returns the log target density (up to a constant) of shape
        ``(n_chains,)``. Return ``-inf`` outside the support; a ``nan``
        or ``+inf`` at a candidate is treated as a bug and raises.
    x0 : array_like of shape (n_chains, n_params)
        Starting states, one row per chain. Must be finite, inside the
        support of the target and of the proposal.
    n_draws : int
        Number of iterations T; each chain returns T states.
    step : float or array_like of shape (n_params,), optional
        Scale of the default Gaussian random-walk proposal
        (``RandomWalk(step)``); 1.0 if not given. Not allowed together
        with ``proposal``, which carries its own step.
    proposal : Proposal, optional
        Proposal object (see :class:`Proposal`), e.g.
        :class:`RandomWalk` or :class:`LogNormalWalk`.
    hastings : bool, default True
        Include the Hastings term :math:`q(x_t \mid y) / q(y \mid x_t)`.
        ``False`` drops it, which is wrong for an asymmetric proposal and
        is only meant to demonstrate that.
    seed : int or numpy.random.Generator, optional
        Seed or generator; the same seed gives bit-identical draws. A
        generator passed in is advanced.

    Returns
    -------
    MHResult
        ``draws`` of shape ``(n_chains, n_draws, n_params)`` and
        ``acceptance_rate`` of shape ``(n_chains,)``.

    Raises
    ------
    ValueError
        For malformed arguments, a start outside the support, a
        ``log_target`` that returns the wrong shape, or a ``nan``/``+inf``
        log target at a candidate (naming the first iteration).

    Notes
    -----
    Every chain runs the algorithm of the slides:

    1. initialise :math:`x_0 \in \operatorname{supp} q`;
    2. for :math:`t = 0, \dots, T-1`:
    3. draw a candidate :math:`y \sim q(\cdot \mid x_t)`;
    4. compute the acceptance probability

       .. math::

           A = \min\left\{\frac{\pi(y)}{\pi(x_t)}
               \frac{q(x_t \mid y)}{q(y \mid x_t)}, 1\right\}

       (in log space);
    5. set :math:`x_{t+1} = y` with probability A, else
       :math:`x_{t+1} = x_t`; with :math:`u \sim U(0, 1)` this is
       :math:`\log u < \log A`;
    6. return :math:`\{x_t : t = 1, \dots, T\}`.

    The target is evaluated once per iteration (the current
    :math:`\log \pi(x_t)` is kept), and the uniforms (and, for a
    :class:`RandomWalk`, the normal increments) are drawn in blocks of
    up to 256 iterations. Blocks are always drawn whole, so a shorter run
    with the same seed is a prefix of a longer one.

    References
    ----------
    .. [1] Metropolis, N., Rosenbluth, A. W., Rosenbluth, M. N.,
       Teller, A. H. and Teller, E. (1953). Equation of state
       calculations by fast computing machines. J. Chem. Phys. 21,
       1087-1092.
    .. [2] Hastings, W. K. (1970). Monte Carlo sampling methods using
       Markov chains and their applications. Biometrika 57, 97-109.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.mcmc import metropolis_hastings
    >>> def log_target(x):
    ...     return -0.5 * np.sum(x**2, axis=1)
    >>> res = metropolis_hastings(log_target, np.zeros((4, 2)), 1000,
    ...                           step=2.4 / np.sqrt(2), seed=42)
    >>> res.draws.shape
    (4, 1000, 2)
    >>> res.acceptance_rate.shape
    (4,)
    """
    if not callable(log_target):
        raise ValueError(f"log_target must be callable; got {type(log_target).__name__}")
    x = _check_x0(x0)
    n_chains, n_params = x.shape
    n_draws = _check_n_draws(n_draws)
    proposal = _resolve_proposal(step, proposal, n_params)
    if not isinstance(hastings, (bool, np.bool_)):
        raise ValueError(f"hastings must be True or False; got {hastings!r}")
    rng = _check_seed(seed)

    # 1: initialise x_0 in supp q (and where pi(x_0) > 0)
    _check_start_in_support(proposal, x)
    log_pi_x = _log_target_at_start(log_target, x)

    use_hastings = bool(hastings) and not getattr(proposal, "symmetric", False)
    no_hastings = (None, None)  # a symmetric proposal: q(x_t | y) / q(y | x_t) = 1
    draws = np.empty((n_chains, n_draws, n_params))
    n_accepted = np.zeros(n_chains, dtype=np.int64)
    block = _block_length(n_chains, n_params)
    # log(0) from a uniform and inf - inf at a -inf target give no warnings;
    # a nan or +inf log target at a candidate raises.
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, n_draws, block):
            # random numbers for a whole block of iterations at once (speed)
            log_u = np.log(rng.random((block, n_chains)))
            walk = _random_walk_block(proposal, rng, block, x.shape)
            states = np.empty((block, n_chains, n_params))
            stop = min(start + block, n_draws)
            # 2: for t = 0, ..., T - 1
            for i, t in enumerate(range(start, stop)):
                # 3: candidate y ~ q(. | x_t)
                y = x + walk[i] if walk is not None else _draw(proposal, x, rng, t)
                # 4: acceptance probability A = min{pi(y)/pi(x_t) q(x_t|y)/q(y|x_t), 1}, in logs
                log_pi_y = _log_target_at(log_target, y, t)
                log_q = _hastings_terms(proposal, x, y, t) if use_hastings else no_hastings
                log_A = _log_acceptance(log_pi_x, log_pi_y, *log_q)
                # 5: x_{t+1} = y with probability A (log u < log A), else x_t
                accept = log_u[i] < log_A
                x = np.where(accept[:, None], y, x)
                log_pi_x = np.where(accept, log_pi_y, log_pi_x)
                n_accepted += accept
                states[i] = x
            draws[:, start:stop] = states[: stop - start].transpose(1, 0, 2)

    # 6: return {x_t : t = 1, ..., T}
    return MHResult(draws=draws, acceptance_rate=n_accepted / n_draws)


def _log_acceptance(log_pi_x, log_pi_y, log_q_x_given_y=None, log_q_y_given_x=None, *, out=None):
    r"""Log acceptance probability of Metropolis-Hastings.

    .. math::

        \log A = \min\{\log \pi(y) - \log \pi(x)
                       + \log q(x \mid y) - \log q(y \mid x),\ 0\}

    The two proposal terms are omitted when None (symmetric proposal).
    Works elementwise on arrays; ``out`` receives the result if given.
    """
    log_ratio = np.subtract(log_pi_y, log_pi_x, out=out)
    if log_q_x_given_y is not None:
        log_ratio = np.add(log_ratio, log_q_x_given_y, out=out)
        log_ratio = np.subtract(log_ratio, log_q_y_given_x, out=out)
    return np.minimum(log_ratio, 0.0, out=out)


def _draw(proposal, x, rng, t):
    y = np.ascontiguousarray(proposal.draw(x, rng), dtype=float)
    if y.shape != x.shape:
        raise ValueError(
            f"proposal.draw must return shape (n_chains, n_params) = {x.shape}; "
            f"got {y.shape} in iteration {t}"
        )
    return y


def _hastings_terms(proposal, x, y, t):
    """Return log q(x | y) and log q(y | x), checked."""
    log_q_x_given_y = np.asarray(proposal.log_density(x, y), dtype=float)
    log_q_y_given_x = np.asarray(proposal.log_density(y, x), dtype=float)
    n_chains = x.shape[0]
    for name, value in (("log q(x | y)", log_q_x_given_y), ("log q(y | x)", log_q_y_given_x)):
        if value.shape != (n_chains,):
            raise ValueError(
                f"proposal.log_density must return shape (n_chains,) = ({n_chains},); "
                f"got {value.shape} for {name} in iteration {t}"
            )
    # q(x | y) may be 0 (move not reversible: rejected); q(y | x) may not,
    # since y was drawn from it.
    bad = np.isnan(log_q_x_given_y) | ~np.isfinite(log_q_y_given_x)
    if bad.any():
        raise ValueError(
            f"proposal.log_density is nan or not finite for a drawn candidate in "
            f"iteration {t} (chains {np.flatnonzero(bad).tolist()})"
        )
    return log_q_x_given_y, log_q_y_given_x


def _random_walk_block(proposal, rng, block, shape):
    """Increments of a Gaussian random walk for ``block`` iterations, or None."""
    if type(proposal) is not RandomWalk:
        return None
    return rng.standard_normal((block, *shape)) * proposal.step


def _log_target_at(log_target, y, t):
    """log pi(y) at the candidates; nan or +inf is a bug in the target, -inf a rejection."""
    log_pi_y = log_target(y)
    if not np.all(log_pi_y < np.inf):  # false for nan and +inf, true for -inf
        bad = np.flatnonzero(~(np.asarray(log_pi_y) < np.inf)).tolist()
        raise ValueError(
            f"log_target returned {np.asarray(log_pi_y)[bad[0]]} at a candidate in iteration {t} "
            f"(0-based; chains {bad}); return -inf outside the support, "
            f"nan or +inf is a bug in the target"
        )
    return log_pi_y


def _check_x0(x0):
    try:
        x = np.array(x0, dtype=float)  # a copy: the sampler updates it in place
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"x0 must be a numeric array of shape (n_chains, n_params); {err}"
        ) from None
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x0 must have shape (n_chains, n_params); got shape {x.shape}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(f"x0 must be finite; chains {np.flatnonzero(bad).tolist()} are not")
    return x


def _check_n_draws(n_draws):
    if isinstance(n_draws, (bool, np.bool_)) or not isinstance(n_draws, numbers.Integral):
        raise ValueError(f"n_draws must be an integer >= 1; got {n_draws!r}")
    if n_draws < 1:
        raise ValueError(f"n_draws must be an integer >= 1; got {n_draws}")
    return int(n_draws)


def _check_step(step):
    try:
        s = np.array(step, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"step must be a positive number or 1-D array; got {step!r}") from None
    if s.ndim > 1 or s.size == 0:
        raise ValueError(
            f"step must be a scalar or 1-D array of length n_params; got shape {s.shape}"
        )
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise ValueError(f"step must be finite and > 0; got {step!r}")
    return s


def _resolve_proposal(step, proposal, n_params):
    if proposal is None:
        proposal = RandomWalk(1.0 if step is None else step)
    elif step is not None:
        raise ValueError("give either step or proposal, not both; a proposal carries its own step")
    elif not all(callable(getattr(proposal, name, None)) for name in ("draw", "log_density")):
        raise ValueError(
            "proposal must provide draw(x, rng) and log_density(y, x); "
            f"got {type(proposal).__name__}"
        )
    if isinstance(proposal, _StepProposal):
        proposal._check_dimension(n_params)
    return proposal


def _check_seed(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    is_int = isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_))
    if seed is None or (is_int and seed >= 0):
        return np.random.default_rng(seed)
    raise ValueError(
        f"seed must be None, a non-negative int or a numpy.random.Generator; got {seed!r}"
    )


def _check_start_in_support(proposal, x):
    in_support = getattr(proposal, "in_support", None)
    if in_support is None:
        return
    inside = np.asarray(in_support(x), dtype=bool)
    if not inside.all():
        raise ValueError(
            f"x0 is outside the support of the proposal {proposal!r} for chains "
            f"{np.flatnonzero(~inside).tolist()}"
        )


def _log_target_at_start(log_target, x):
    value = log_target(x.copy())
    try:
        log_pi = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"log_target must return a float array; got {type(value).__name__}"
        ) from None
    n_chains = x.shape[0]
    if log_pi.shape != (n_chains,):
        raise ValueError(
            f"log_target must return shape (n_chains,) = ({n_chains},); got {log_pi.shape}"
        )
    bad = ~np.isfinite(log_pi)
    if bad.any():
        raise ValueError(
            f"log_target is not finite at x0 for chains {np.flatnonzero(bad).tolist()}; "
            f"start inside the support"
        )
    return log_pi


def _block_length(n_chains, n_params):
    return int(np.clip(_BLOCK_FLOATS // (n_chains * n_params), 16, _MAX_BLOCK))
