"""Metropolis-Hastings and the leapfrog integrator, for the course book.

* :func:`metropolis_1d`: the teaching version, one chain of one parameter
  with a Gaussian random walk, in a dozen lines numbered like the
  algorithm of Metropolis et al. (1953) and Hastings (1970) as chapter 2
  states it.
* :func:`metropolis_hastings`: the same algorithm vectorised. All chains
  advance together: the state is an array of shape
  ``(n_chains, n_params)``, the target is evaluated once per iteration
  for all chains, and the random numbers are drawn in blocks. Its loop
  body carries the same step numbers.
* :func:`leapfrog`: the integrator of Hamiltonian Monte Carlo, the
  family of samplers that Stan uses.

The proposals (:class:`RandomWalk`, :class:`LogNormalWalk`, the
:class:`Proposal` protocol) live in :mod:`bhm.proposals` and are importable
from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bhm._validation import finite_1d, real, whole_number
from bhm._validation import rng as rng_of
from bhm.proposals import LogNormalWalk, Proposal, RandomWalk, _StepProposal

__all__ = [
    "LogNormalWalk",
    "MHResult",
    "Proposal",
    "RandomWalk",
    "leapfrog",
    "metropolis_1d",
    "metropolis_hastings",
]


# Random numbers are drawn in blocks of at most _MAX_BLOCK iterations and
# at most about _BLOCK_FLOATS normal variates, so that memory stays small
# for any n_draws while the Python overhead per iteration stays low.
_MAX_BLOCK = 256
_BLOCK_FLOATS = 2**17




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


def metropolis_1d(log_target, x0, n_draws, step, seed):
    r"""One chain of random-walk Metropolis-Hastings, for one parameter.

    The teaching version of :func:`metropolis_hastings`, which runs the
    same algorithm for many chains and parameters at once.

    Parameters
    ----------
    log_target : callable
        ``log_target(x)`` of a float x returns :math:`\log \pi(x)` up to
        a constant, ``-inf`` where :math:`\pi(x) = 0`.
    x0 : float
        The start; :math:`\pi(x_0) > 0`.
    n_draws : int
        The number of iterations T >= 1.
    step : float
        The sd of the Gaussian random walk, > 0.
    seed : int or numpy.random.Generator
        An int >= 0 or a generator (None is rejected: see :func:`metropolis_hastings`).

    Returns
    -------
    ndarray of shape (n_draws,)
        The states :math:`x_1, \dots, x_T` (not :math:`x_0`).

    Raises
    ------
    ValueError
        If an input is malformed (naming it) or ``log_target(x0)`` is not
        finite.
    """
    # 1: start at x_0 with pi(x_0) > 0 (checked with the other inputs)
    rng, x, log_pi_x = _start_1d(log_target, x0, n_draws, step, seed)
    draws = np.empty(n_draws)
    for t in range(n_draws):  # 2: for t = 0, ..., T - 1
        # 3: candidate x* = x_t + step * z, z ~ N(0, 1)
        x_star = x + step * rng.standard_normal()
        log_pi_star = log_target(x_star)
        # 4: log A = min{log pi(x*) - log pi(x_t), 0}; q is symmetric
        log_A = min(log_pi_star - log_pi_x, 0.0)
        # 5: x_{t+1} = x* with probability A, else x_{t+1} = x_t
        if np.log(rng.random()) < log_A:
            x, log_pi_x = x_star, log_pi_star
        draws[t] = x
    return draws  # 6: x_1, ..., x_T


def metropolis_hastings(
    log_target,
    x0,
    n_draws,
    *,
    step=None,
    proposal=None,
    hastings=True,
    seed,
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
        Starting states, one row per chain. Must be finite, with
        :math:`\pi(x_0) > 0` (a finite ``log_target``), and inside the
        support of the proposal if it declares one.
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
        Include the Hastings term
        :math:`q(x_t \mid x^*) / q(x^* \mid x_t)`.
        ``False`` drops it, which is wrong for an asymmetric proposal and
        is only meant to demonstrate that.
    seed : int or numpy.random.Generator
        Seed (an int >= 0) or generator; the same seed gives bit-identical
        draws. A generator passed in is advanced. None is rejected: an
        unseeded run could not be repeated.

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
    Every chain runs the algorithm of Metropolis et al. [1]_ and
    Hastings [2]_ (BDA3 §11.2), numbered as in chapter 2 of the book:

    1. initialise :math:`x_0` with :math:`\pi(x_0) > 0`;
    2. for :math:`t = 0, \dots, T-1`:
    3. draw a candidate :math:`x^* \sim q(\cdot \mid x_t)`;
    4. compute the acceptance probability

       .. math::

           A = \min\left\{\frac{\pi(x^*)}{\pi(x_t)}
               \frac{q(x_t \mid x^*)}{q(x^* \mid x_t)}, 1\right\}

       (in log space);
    5. set :math:`x_{t+1} = x^*` with probability A, else
       :math:`x_{t+1} = x_t`; with :math:`u \sim U(0, 1)` this is
       :math:`\log u < \log A`;
    6. return :math:`\{x_t : t = 1, \dots, T\}`.

    :func:`metropolis_1d` is the same algorithm for one chain of one
    parameter with a Gaussian random walk, written for reading; fed the
    same random numbers, the two return the same draws.

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
    rng = rng_of(seed)

    # 1: initialise x_0 where pi(x_0) > 0 (and where the proposal can move)
    _check_start_in_support(proposal, x)
    log_pi_x = _log_target_at_start(log_target, x)

    use_hastings = bool(hastings) and not getattr(proposal, "symmetric", False)
    no_hastings = (None, None)  # symmetric proposal: q(x_t | x*) / q(x* | x_t) = 1
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
                # 3: candidate x* ~ q(. | x_t)
                if walk is not None:
                    x_star = x + walk[i]
                else:
                    x_star = _draw(proposal, x, rng, t)
                # 4: acceptance probability, in logs:
                #    A = min{pi(x*)/pi(x_t) q(x_t|x*)/q(x*|x_t), 1}
                log_pi_star = _log_target_at(log_target, x_star, t)
                if use_hastings:
                    log_q = _hastings_terms(proposal, x, x_star, t)
                else:
                    log_q = no_hastings
                log_A = _log_acceptance(log_pi_x, log_pi_star, *log_q)
                # 5: x_{t+1} = x* with probability A (log u < log A), else x_t
                accept = log_u[i] < log_A
                x = np.where(accept[:, None], x_star, x)
                log_pi_x = np.where(accept, log_pi_star, log_pi_x)
                n_accepted += accept
                states[i] = x
            draws[:, start:stop] = states[: stop - start].transpose(1, 0, 2)

    # 6: return {x_t : t = 1, ..., T}
    return MHResult(draws=draws, acceptance_rate=n_accepted / n_draws)


def leapfrog(grad_log_target, x0, p0, step_size, n_steps):
    r"""Trajectory of the leapfrog integrator of Hamiltonian dynamics.

    Hamiltonian Monte Carlo gives the parameters :math:`x` a momentum
    :math:`p` and follows the dynamics of the energy

    .. math::

        H(x, p) = -\log \pi(x) + \tfrac12 \lVert p \rVert^2

    (unit mass). A leapfrog step of size :math:`\varepsilon` is

    .. math::

        p &\leftarrow p + \tfrac{\varepsilon}{2} \nabla \log \pi(x)
            \quad \text{(half step of the momentum)},\\
        x &\leftarrow x + \varepsilon\, p
            \quad \text{(full step of the position)},\\
        p &\leftarrow p + \tfrac{\varepsilon}{2} \nabla \log \pi(x)
            \quad \text{(half step of the momentum)}.

    Parameters
    ----------
    grad_log_target : callable
        ``grad_log_target(x)`` with ``x`` of shape ``(d,)`` returns
        :math:`\nabla \log \pi(x)` of shape ``(d,)``.
    x0, p0 : array_like of shape (d,)
        Start position and momentum, finite.
    step_size : float
        :math:`\varepsilon > 0`.
    n_steps : int
        Number of leapfrog steps L >= 1.

    Returns
    -------
    positions, momenta : ndarray of shape (n_steps + 1, d)
        Row 0 is the start, row l the state after l steps.

    Raises
    ------
    ValueError
        If ``grad_log_target`` is not callable or returns the wrong shape
        or a non-finite value at ``x0``, if ``x0`` and ``p0`` are not
        finite 1-D arrays of one length, or if ``step_size`` or
        ``n_steps`` is not positive.

    Notes
    -----
    The map from start to end is time-reversible (flip the momentum at
    the end and L steps lead back to the start) and preserves volume, so
    a Metropolis step that accepts the end with probability
    :math:`\min\{1, e^{H(x_0, p_0) - H(x_L, p_L)}\}` leaves
    :math:`\pi(x)\,N(p \mid 0, I)` invariant [1]_. :math:`H` is not
    conserved exactly: over a fixed time its error is
    :math:`O(\varepsilon^2)` for a smooth target. On a normal target
    with sd :math:`\sigma` (in its narrowest direction) the integrator is
    stable only for :math:`\varepsilon < 2\sigma`; beyond that the
    trajectory and the energy error grow geometrically, the
    "divergence" that Stan reports (it flags an energy error above
    1000). A diverging trajectory may reach ``inf`` or ``nan``; it is
    returned as it is.

    References
    ----------
    .. [1] Neal, R. M. (2011). MCMC using Hamiltonian dynamics. In
       Handbook of Markov Chain Monte Carlo, 113-162.

    Examples
    --------
    >>> import numpy as np
    >>> from bhm.mcmc import leapfrog
    >>> xs, ps = leapfrog(lambda x: -x, [1.0], [0.0], 0.1, 10)
    >>> xs.shape
    (11, 1)
    >>> h = 0.5 * xs[:, 0]**2 + 0.5 * ps[:, 0]**2  # standard normal
    >>> bool(np.max(np.abs(h - h[0])) < 0.01)
    True
    """
    x, p, gradient = _start_leapfrog(
        grad_log_target, x0, p0, step_size, n_steps
    )
    eps = float(step_size)
    positions = np.empty((n_steps + 1, x.size))
    momenta = np.empty((n_steps + 1, x.size))
    positions[0], momenta[0] = x, p
    for step in range(1, n_steps + 1):
        p = p + 0.5 * eps * gradient  # half step of the momentum
        x = x + eps * p  # full step of the position
        gradient = np.asarray(grad_log_target(x.copy()), dtype=float)
        p = p + 0.5 * eps * gradient  # half step of the momentum
        positions[step], momenta[step] = x, p
    return positions, momenta


def _log_acceptance(log_pi_x, log_pi_star, log_q_x_given_star=None,
                    log_q_star_given_x=None):
    r"""Log acceptance probability of Metropolis-Hastings.

    .. math::

        \log A = \min\{\log \pi(x^*) - \log \pi(x)
                       + \log q(x \mid x^*) - \log q(x^* \mid x),\ 0\}

    The two proposal terms are omitted when None (symmetric proposal).
    Works elementwise on arrays.
    """
    log_ratio = np.subtract(log_pi_star, log_pi_x)
    if log_q_x_given_star is not None:
        log_ratio = np.add(log_ratio, log_q_x_given_star)
        log_ratio = np.subtract(log_ratio, log_q_star_given_x)
    return np.minimum(log_ratio, 0.0)


def _draw(proposal, x, rng, t):
    x_star = np.ascontiguousarray(proposal.draw(x, rng), dtype=float)
    if x_star.shape != x.shape:
        raise ValueError(
            f"proposal.draw must return shape (n_chains, n_params) = {x.shape}; "
            f"got {x_star.shape} in iteration {t}"
        )
    return x_star


def _hastings_terms(proposal, x, x_star, t):
    """Return log q(x | x*) and log q(x* | x), checked."""
    log_q_x_given_star = np.asarray(proposal.log_density(x, x_star), dtype=float)
    log_q_star_given_x = np.asarray(proposal.log_density(x_star, x), dtype=float)
    n_chains = x.shape[0]
    for name, value in (("log q(x | x*)", log_q_x_given_star),
                        ("log q(x* | x)", log_q_star_given_x)):
        if value.shape != (n_chains,):
            raise ValueError(
                f"proposal.log_density must return shape (n_chains,) = ({n_chains},); "
                f"got {value.shape} for {name} in iteration {t}"
            )
    # q(x | x*) may be 0 (move not reversible: rejected); q(x* | x) may not,
    # since x* was drawn from it.
    bad = np.isnan(log_q_x_given_star) | ~np.isfinite(log_q_star_given_x)
    if bad.any():
        raise ValueError(
            f"proposal.log_density is nan or not finite for a drawn candidate in "
            f"iteration {t} (chains {np.flatnonzero(bad).tolist()})"
        )
    return log_q_x_given_star, log_q_star_given_x


def _random_walk_block(proposal, rng, block, shape):
    """Increments of a Gaussian random walk for ``block`` iterations, or None."""
    if type(proposal) is not RandomWalk:
        return None
    return rng.standard_normal((block, *shape)) * proposal.step


def _log_target_at(log_target, x_star, t):
    """log pi(x*) at the candidates; nan or +inf is a bug in the target, -inf a rejection."""
    log_pi_star = log_target(x_star)
    if not np.all(log_pi_star < np.inf):  # false for nan and +inf, true for -inf
        bad = np.flatnonzero(~(np.asarray(log_pi_star) < np.inf)).tolist()
        raise ValueError(
            f"log_target returned {np.asarray(log_pi_star)[bad[0]]} at a candidate in "
            f"iteration {t} (0-based; chains {bad}); return -inf outside the support, "
            f"nan or +inf is a bug in the target"
        )
    return log_pi_star


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


def _check_n_draws(n_draws, name="n_draws"):
    return whole_number(n_draws, name, 1)




def _resolve_proposal(step, proposal, n_params):
    if proposal is None:
        proposal = RandomWalk(1.0 if step is None else step)
    elif step is not None:
        raise ValueError("give either step or proposal, not both; a proposal carries its own step")
    elif not all(callable(getattr(proposal, name, None)) for name in ("draw", "log_density")):
        raise ValueError(
            "proposal must provide draw(x, rng) and log_density(x_star, x); "
            f"got {type(proposal).__name__}"
        )
    if isinstance(proposal, _StepProposal):
        proposal._check_dimension(n_params)
    return proposal


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


def _start_1d(log_target, x0, n_draws, step, seed):
    """Checked inputs of :func:`metropolis_1d`: (rng, x0, log pi(x0))."""
    if not callable(log_target):
        raise ValueError(f"log_target must be callable; got {type(log_target).__name__}")
    x = _finite_scalar(x0, "x0")
    _check_n_draws(n_draws)
    if not (real(step) and math.isfinite(step) and step > 0):
        raise ValueError(f"step must be a finite number > 0; got {step!r}")
    rng = rng_of(seed)
    value = log_target(x)
    if not real(value):
        raise ValueError(
            f"log_target must return one float; got {type(value).__name__} at x0"
        )
    if not math.isfinite(value):
        raise ValueError(
            f"log_target is {value} at x0 = {x!r}: start where pi(x0) > 0 "
            f"(a finite log target)"
        )
    return rng, x, float(value)


def _finite_scalar(value, name):
    if not real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be one finite number; got {value!r}")
    return float(value)


def _start_leapfrog(grad_log_target, x0, p0, step_size, n_steps):
    """Checked inputs of :func:`leapfrog`: (x0, p0, gradient at x0)."""
    if not callable(grad_log_target):
        raise ValueError(
            f"grad_log_target must be callable; got {type(grad_log_target).__name__}"
        )
    x, p = finite_1d(x0, "x0"), finite_1d(p0, "p0")
    if x.shape != p.shape:
        raise ValueError(f"x0 and p0 must have one shape; got {x.shape} and {p.shape}")
    if not (real(step_size) and math.isfinite(step_size) and step_size > 0):
        raise ValueError(f"step_size must be a finite number > 0; got {step_size!r}")
    _check_n_draws(n_steps, name="n_steps")
    gradient = np.asarray(grad_log_target(x.copy()), dtype=float)
    if gradient.shape != x.shape:
        raise ValueError(
            f"grad_log_target must return shape (d,) = {x.shape}; got {gradient.shape}"
        )
    if not np.all(np.isfinite(gradient)):
        raise ValueError("grad_log_target is not finite at x0")
    return x, p, gradient
