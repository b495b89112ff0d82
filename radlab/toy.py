"""A two-weight toy problem for watching gradient descent (notebook 03). Pure NumPy.

A real network has millions of weights, so its loss cannot be drawn. A model with
exactly two weights can: its loss is a surface over a plane, and every step of
gradient descent is a point on that plane. Here the model is the smallest neuron
there is - one input, no activation, ``prediction = w * x + b`` - fitted to a
few points by least squares. Its loss, the mean squared error, is a bowl
(a quadratic) over the weights ``(w, b)``, elongated because ``x`` is not
centred on zero, which is what makes the choice of learning rate matter:

* a learning rate well below ``2 / largest curvature`` creeps along the
  valley floor (slow);
* one just below that limit converges fastest;
* one above it overshoots further at every step: the loss grows without bound
  (divergence). On a quadratic this limit, :attr:`LineFit.max_stable_lr`, is exact.

* :func:`line_fit` - the problem (data, loss, gradient, exact minimum).
* :func:`gradient_descent_path` - the weights and losses step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DIVERGENCE_FACTOR", "DescentPath", "LineFit", "gradient_descent_path", "line_fit"]

#: A path stops (the rest is NaN) once its loss exceeds this many times the starting loss.
DIVERGENCE_FACTOR = 1e6


def _as_weights(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape[-1:] != (2,):
        raise ValueError(
            f"weights must have a last axis of length 2, (w, b); got shape {weights.shape}"
        )
    return weights


@dataclass(frozen=True, eq=False)
class LineFit:
    """Least-squares fit of ``prediction = w * x + b``: a neuron with one input and no activation.

    Build one with :func:`line_fit`. All methods take weights as an array whose
    last axis is ``(w, b)``, so a whole grid of weights is evaluated at once.

    Attributes
    ----------
    x, y : numpy.ndarray, float64, shape (n,)
        The data points (arbitrary units).
    start : numpy.ndarray, shape (2,)
        Default starting weights ``(w, b)`` for gradient descent.
    """

    x: np.ndarray
    y: np.ndarray
    start: np.ndarray = field(default_factory=lambda: np.array([-1.0, 4.0]))

    def __post_init__(self):
        x = np.asarray(self.x, dtype=np.float64).ravel()
        y = np.asarray(self.y, dtype=np.float64).ravel()
        if x.size < 2 or x.shape != y.shape:
            raise ValueError(f"need at least 2 points with one y per x; got x {x.shape}, y {y.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("x and y must be finite (no NaN or inf)")
        if np.ptp(x) == 0:
            raise ValueError("all x are equal: the slope w cannot be learnt")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "start", _as_weights(self.start).reshape(2))
        # Means that define the quadratic exactly (the loss of a grid costs O(grid), not O(grid * n)).
        object.__setattr__(self, "_m", {
            "xx": float(np.mean(x * x)), "x": float(np.mean(x)), "xy": float(np.mean(x * y)),
            "y": float(np.mean(y)), "yy": float(np.mean(y * y)),
        })

    def predict(self, weights, x=None) -> np.ndarray:
        """Predictions ``w * x + b`` for the data's ``x`` (or the given ``x``); shape ``(..., n)``."""
        weights = _as_weights(weights)
        x = self.x if x is None else np.asarray(x, dtype=np.float64)
        return weights[..., :1] * x + weights[..., 1:]

    def loss(self, weights) -> np.ndarray:
        """Mean squared error of the fit at ``weights`` (shape ``(..., 2)``); shape ``(...)``."""
        w, b = np.moveaxis(_as_weights(weights), -1, 0)
        m = self._m
        return (w * w * m["xx"] + 2 * w * b * m["x"] + b * b
                - 2 * w * m["xy"] - 2 * b * m["y"] + m["yy"])

    def gradient(self, weights) -> np.ndarray:
        """Gradient of :meth:`loss`, ``(dL/dw, dL/db)``, at ``weights``; shape ``(..., 2)``."""
        w, b = np.moveaxis(_as_weights(weights), -1, 0)
        m = self._m
        return np.stack([2 * (w * m["xx"] + b * m["x"] - m["xy"]),
                         2 * (w * m["x"] + b - m["y"])], axis=-1)

    @property
    def hessian(self) -> np.ndarray:
        """The (constant) matrix of second derivatives of the loss, shape (2, 2)."""
        m = self._m
        return 2.0 * np.array([[m["xx"], m["x"]], [m["x"], 1.0]])

    @property
    def minimum(self) -> np.ndarray:
        """The weights ``(w, b)`` with the lowest loss (the least-squares line)."""
        m = self._m
        return np.linalg.solve(self.hessian / 2.0, [m["xy"], m["y"]])

    @property
    def min_loss(self) -> float:
        """The lowest loss any weights reach (the noise left around the best line)."""
        return float(self.loss(self.minimum))

    @property
    def curvatures(self) -> np.ndarray:
        """Curvature of the bowl along its two principal directions (Hessian eigenvalues), ascending."""
        return np.linalg.eigvalsh(self.hessian)

    @property
    def max_stable_lr(self) -> float:
        """Learning rates at or above ``2 / largest curvature`` make gradient descent diverge."""
        return float(2.0 / self.curvatures[-1])

    def bounds(self, margin: float = 0.35) -> tuple[float, float, float, float]:
        """``(w_min, w_max, b_min, b_max)``: a box around the start and the minimum, for plots."""
        pts = np.stack([self.start, self.minimum])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = margin * np.maximum(hi - lo, 1.0)
        return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])

    def loss_grid(self, n: int = 120, bounds=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The loss on an ``n x n`` grid of weights, for a contour plot.

        Returns
        -------
        w, b, loss : numpy.ndarray, shape (n, n)
            As from ``numpy.meshgrid`` (``w`` varies along columns).
        """
        w0, w1, b0, b1 = self.bounds() if bounds is None else bounds
        w, b = np.meshgrid(np.linspace(w0, w1, n), np.linspace(b0, b1, n))
        return w, b, self.loss(np.stack([w, b], axis=-1))


def line_fit(
    n: int = 40,
    *,
    slope: float = 2.0,
    intercept: float = 1.0,
    noise: float = 0.5,
    x_range: tuple[float, float] = (0.0, 3.0),
    start=(-1.0, 4.0),
    seed: int | None = 0,
) -> LineFit:
    """Points scattered around a straight line, as a two-weight learning problem.

    Parameters
    ----------
    n : int, default 40
        Number of points.
    slope, intercept : float
        The true line ``y = slope * x + intercept`` (the least-squares weights
        land close to it, not exactly on it, because of the noise).
    noise : float, default 0.5
        Standard deviation of the Gaussian noise added to ``y``.
    x_range : (float, float), default (0, 3)
        ``x`` is drawn uniformly from this range. A range far from 0 makes the
        loss bowl more elongated and gradient descent slower.
    start : (w, b), default (-1, 4)
        Where gradient descent starts unless told otherwise.
    seed : int or None, default 0

    Returns
    -------
    LineFit

    Examples
    --------
    >>> problem = line_fit()
    >>> round(problem.max_stable_lr, 3) > 0
    True
    """
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(x_range[0], x_range[1], int(n))
    y = slope * x + intercept + rng.normal(0.0, noise, int(n))
    return LineFit(x, y, np.asarray(start, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class DescentPath:
    """What :func:`gradient_descent_path` returns: the weights and loss after every step.

    Attributes
    ----------
    weights : numpy.ndarray, shape (steps + 1, 2)
        ``weights[0]`` is the start, ``weights[k]`` the weights after ``k`` steps.
        NaN after the path diverged (see :data:`DIVERGENCE_FACTOR`).
    losses : numpy.ndarray, shape (steps + 1,)
        The loss at each row of ``weights`` (NaN after divergence).
    lr : float
        The learning rate.
    min_loss : float
        The problem's lowest possible loss, for :meth:`excess`.
    """

    weights: np.ndarray
    losses: np.ndarray
    lr: float
    min_loss: float

    @property
    def steps(self) -> int:
        """Number of gradient steps asked for."""
        return len(self.losses) - 1

    @property
    def diverged(self) -> bool:
        """True when the loss ended higher than it started (or overflowed)."""
        final = self.losses[-1]
        return bool(not np.isfinite(final) or final > self.losses[0])

    @property
    def final_loss(self) -> float:
        """The loss after the last step (inf when the path diverged so far it was stopped)."""
        final = self.losses[-1]
        return float(final) if np.isfinite(final) else float("inf")

    @property
    def loss_reduction(self) -> float:
        """Fraction of the starting loss removed: 1 - final / start (negative when it grew)."""
        return float(1.0 - self.final_loss / self.losses[0])

    def excess(self) -> np.ndarray:
        """Per step, how far the loss still is from the lowest possible, as a fraction of
        that gap at the start: 1 at step 0, 0 at the minimum (NaN after divergence)."""
        gap = self.losses[0] - self.min_loss
        return (self.losses - self.min_loss) / gap if gap > 0 else np.zeros_like(self.losses)

    def steps_to_converge(self, tol: float = 0.01) -> int | None:
        """First step after which the loss stays within ``tol`` of the way to the minimum
        (``excess() <= tol``); None if that never happens within the path."""
        excess = self.excess()
        ok = np.isfinite(excess) & (excess <= tol)
        if not ok[-1]:
            return None
        bad = np.flatnonzero(~ok)
        return int(bad[-1] + 1) if bad.size else 0


def gradient_descent_path(lr: float, steps: int, start=None, problem: LineFit | None = None) -> DescentPath:
    """Run plain gradient descent, ``weights <- weights - lr * gradient``, and record every step.

    Parameters
    ----------
    lr : float
        Learning rate (> 0): how far to move against the gradient at each step.
    steps : int
        Number of steps (>= 0).
    start : (w, b), optional
        Starting weights; default ``problem.start``.
    problem : LineFit, optional
        Default :func:`line_fit` with its defaults.

    Returns
    -------
    DescentPath
        ``weights`` (steps + 1, 2) and ``losses`` (steps + 1,). A path whose loss
        exceeds ``DIVERGENCE_FACTOR`` times its start is stopped there; the
        remaining rows are NaN and ``diverged`` is True.

    Examples
    --------
    >>> path = gradient_descent_path(lr=0.2, steps=50)
    >>> path.loss_reduction > 0.9
    True
    >>> gradient_descent_path(lr=0.5, steps=50).diverged
    True
    """
    if isinstance(lr, bool) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    problem = line_fit() if problem is None else problem
    steps = int(steps)
    w = problem.start.copy() if start is None else _as_weights(start).reshape(2).copy()
    if not np.all(np.isfinite(w)):
        raise ValueError(f"start must be finite, got {w}")
    weights = np.full((steps + 1, 2), np.nan)
    losses = np.full(steps + 1, np.nan)
    weights[0], losses[0] = w, problem.loss(w)
    limit = DIVERGENCE_FACTOR * max(float(losses[0]), 1e-12)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            w = w - lr * problem.gradient(w)
            loss = problem.loss(w)
            if not np.isfinite(loss) or loss > limit:
                break
            weights[k], losses[k] = w, loss
    return DescentPath(weights, losses, float(lr), problem.min_loss)
