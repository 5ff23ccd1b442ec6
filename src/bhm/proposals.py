"""Proposals of Metropolis-Hastings: what :func:`bhm.mcmc.metropolis_hastings` draws its candidates from.

A proposal draws a candidate :math:`x^*` given the chains' states and gives
the log density :math:`\\log q(x^* \\mid x)` that the Hastings term needs.
:class:`RandomWalk` is the Gaussian random walk of chapter 2 (symmetric, so
its Hastings term is 1); :class:`LogNormalWalk` multiplies the state by
:math:`e^{\\text{step}\\,z}`, an asymmetric walk for positive parameters.
Any object with the methods of :class:`Proposal` works.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["LogNormalWalk", "Proposal", "RandomWalk"]

_LOG_2PI = float(np.log(2.0 * np.pi))


@runtime_checkable
class Proposal(Protocol):
    """Protocol of a proposal distribution :math:`q(x^* \\mid x)`.

    Any object with these members can be passed as ``proposal`` to
    :func:`metropolis_hastings`.

    Attributes
    ----------
    symmetric : bool
        True if :math:`q(x^* \\mid x) = q(x \\mid x^*)` for all
        :math:`x, x^*`. The sampler then skips the Hastings term, which
        cancels exactly.
        Objects without this attribute are treated as asymmetric.

    Notes
    -----
    ``draw(x, rng)`` takes the current states ``x`` of shape
    ``(n_chains, n_params)`` and a :class:`numpy.random.Generator` and
    returns candidates ``x_star`` (:math:`x^*`) of the same shape, one
    per chain.

    ``log_density(x_star, x)`` returns :math:`\\log q(x^* \\mid x)` of
    shape ``(n_chains,)``, the log density of proposing ``x_star`` from
    ``x``, summed over parameters. It must be exact up to a constant that
    depends on neither :math:`x` nor :math:`x^*`; the sampler evaluates
    it in both directions.

    An optional ``in_support(x)`` returning a boolean array of shape
    ``(n_chains,)`` lets the sampler check that the proposal can move
    from the start (a multiplicative walk cannot leave a state <= 0).
    Line 1 of the algorithm asks that the *target* be positive at the
    start, :math:`\\pi(x_0) > 0`; the sampler checks that as well.
    """

    symmetric: bool

    def draw(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw one candidate per chain from :math:`q(\\cdot \\mid x)`."""

    def log_density(self, x_star: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Return :math:`\\log q(x^* \\mid x)` per chain."""


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
    The candidate is :math:`x^* = x + s\,z` with :math:`z \sim N(0, I)`,
    so

    .. math::

        \log q(x^* \mid x) = \sum_k \left[-\log s_k - \tfrac12 \log 2\pi
            - \frac{(x^*_k - x_k)^2}{2 s_k^2}\right].

    Because :math:`q(x^* \mid x) = q(x \mid x^*)`, the attribute
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
    >>> x_star = q.draw(x, np.random.default_rng(0))
    >>> x_star.shape
    (3, 2)
    >>> bool(np.allclose(q.log_density(x_star, x), q.log_density(x, x_star)))
    True
    """

    symmetric = True

    def draw(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return ``x + step * z`` with standard normal ``z``."""
        return x + self.step * rng.standard_normal(np.shape(x))

    def log_density(self, x_star: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Return :math:`\\log q(x^* \\mid x)` of shape ``(n_chains,)``."""
        z = (np.asarray(x_star) - np.asarray(x)) / self.step
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
    The candidate is :math:`x^* = x\,e^{s z}` with :math:`z \sim N(0, I)`,
    so :math:`x^* \mid x` is log-normal:

    .. math::

        \log q(x^* \mid x) = \sum_k \left[-\log x^*_k - \log s_k
            - \tfrac12 \log 2\pi
            - \frac{(\log x^*_k - \log x_k)^2}{2 s_k^2}\right].

    The quadratic term is symmetric in :math:`x` and :math:`x^*`, so the
    Hastings ratio is
    :math:`q(x \mid x^*) / q(x^* \mid x) = \prod_k x^*_k / x_k`. The
    proposal is
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
    >>> x_star = q.draw(x, np.random.default_rng(1))
    >>> ratio = np.exp(q.log_density(x, x_star) - q.log_density(x_star, x))
    >>> bool(np.allclose(ratio, (x_star / x)[:, 0]))
    True
    """

    symmetric = False

    def draw(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return ``x * exp(step * z)`` with standard normal ``z``."""
        return x * np.exp(self.step * rng.standard_normal(np.shape(x)))

    def log_density(self, x_star: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Return :math:`\\log q(x^* \\mid x)`; ``-inf`` if an ``x_star <= 0``."""
        x_star = np.asarray(x_star, dtype=float)
        x = np.asarray(x, dtype=float)
        inside = np.all(x_star > 0, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_star = np.log(x_star)
            z = (log_star - np.log(x)) / self.step
            terms = -log_star - np.log(self.step) - 0.5 * _LOG_2PI - 0.5 * z**2
            out = np.sum(terms, axis=-1)
        return np.where(inside, out, -np.inf)

    def in_support(self, x: np.ndarray) -> np.ndarray:
        """A state is in the support if every parameter is positive."""
        return np.all(np.asarray(x) > 0, axis=-1)


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
