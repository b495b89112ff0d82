"""``gradient_descent_explorer``: drag the learning rate and watch gradient descent walk, creep or fly off.

The computation is :func:`radlab.toy.gradient_descent_path` on a
:class:`radlab.toy.LineFit` problem; this module only shows it. The figure
(loss surface with the path of the weights, and the loss after each step) is
created once; a slider change recomputes the path (microseconds for 200
steps) and moves the existing lines with ``set_data``, then asks for a redraw
(``draw_idle`` with ipympl, else a new PNG). With ipympl, a click on the loss
surface moves the starting point there.
"""

from __future__ import annotations

import math

import numpy as np

from ..diagrams import CURVE_COLORS, _draw_loss_surface
from ..toy import DescentPath, LineFit, gradient_descent_path, line_fit
from . import _base
from ._base import Syncing

__all__ = ["gradient_descent_explorer"]

#: Learning-rate slider range (log scale), and the steps slider's maximum.
LR_RANGE = (1e-3, 1.0)
MAX_STEPS = 200


def gradient_descent_explorer(
    problem: LineFit | None = None,
    *,
    lr: float = 0.02,
    steps: int = 50,
    start=None,
    interactive: bool | None = None,
):
    """Explore the learning rate: the path of two weights down a loss surface, and the loss per step.

    Parameters
    ----------
    problem : radlab.toy.LineFit, optional
        The two-weight problem; default :func:`radlab.toy.line_fit`.
    lr : float, default 0.02
        Starting learning rate, between 0.001 and 1 (log-scale slider).
    steps : int, default 50
        Starting number of gradient steps, 1-200.
    start : (w, b), optional
        Starting weights; default ``problem.start``. With ipympl, click on the
        loss surface to move it.
    interactive : bool, optional
        ``None``: an ipympl canvas when ipympl is installed, else a static PNG;
        ``False`` forces the PNG, ``True`` requires ipympl.

    Returns
    -------
    ipywidgets.VBox
        The widget. ``.state`` holds ``lr``, ``steps``, ``start``, ``path`` (the
        :class:`radlab.toy.DescentPath` shown), ``problem``, ``figure``,
        ``path_line``, ``loss_line``, ``status`` (HTML widget), ``errors``
        (Output), the sliders ``lr_slider`` and ``steps_slider``, and methods
        ``set_lr``, ``set_steps``, ``set_start``.

    Examples
    --------
    >>> explorer = gradient_descent_explorer(lr=0.01)       # doctest: +SKIP
    >>> explorer.state.set_lr(0.3); explorer.state.path.diverged   # doctest: +SKIP
    True
    """
    explorer = _Explorer(problem if problem is not None else line_fit(), lr=lr, steps=steps,
                         start=start, interactive=interactive)
    return explorer.container


def _check_lr(lr: float) -> float:
    lr = float(lr)
    if not (LR_RANGE[0] <= lr <= LR_RANGE[1]):
        raise ValueError(f"learning rate {lr:g} is outside the slider's range {LR_RANGE[0]:g}-{LR_RANGE[1]:g}")
    return lr


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or int(steps) != steps or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    return int(steps)


class _Explorer(Syncing):
    """State and callbacks behind :func:`gradient_descent_explorer` (``explorer.state``)."""

    def __init__(self, problem: LineFit, *, lr, steps, start, interactive):
        import ipywidgets as widgets

        if not isinstance(problem, LineFit):
            raise TypeError(f"problem must be a radlab.toy.LineFit (see rl.toy.line_fit), got "
                            f"{type(problem).__name__}")
        self.problem = problem
        self.lr = _check_lr(lr)
        self.steps = _check_steps(steps)
        self.start = problem.start.copy() if start is None else np.asarray(start, float).reshape(2)
        self.path: DescentPath = gradient_descent_path(self.lr, self.steps, self.start, problem)

        # -- figure, created once ------------------------------------------------------
        self.errors = _base.error_output()
        self.view = _base.new_figure_view(900, 360, interactive=interactive, facecolor="white")
        self.figure = self.view.figure
        self.figure.set_layout_engine("constrained")
        self.surface_ax, self.loss_ax = self.figure.subplots(1, 2)
        self.bounds = _draw_loss_surface(self.surface_ax, problem)
        self.surface_ax.set_title("Weights, step by step" + (" (click to move the start)"
                                                             if self.view.interactive else ""))
        color = CURVE_COLORS[0]
        (self.path_line,) = self.surface_ax.plot([], [], "-o", ms=2.5, lw=1.3, color=color)
        (self.start_marker,) = self.surface_ax.plot([], [], "o", ms=8, color="k", label="start")
        self.surface_ax.legend(fontsize=8, loc="upper right")
        self.loss_ax.axhline(problem.min_loss, color="0.4", ls=":", lw=1, label="lowest possible")
        (self.loss_line,) = self.loss_ax.plot([], [], lw=1.8, color=color, label="loss")
        self.loss_ax.set_yscale("log")
        self.loss_ax.set_xlabel("step")
        self.loss_ax.set_ylabel("loss (mean squared error)")
        self.loss_ax.set_title("Loss after each step")
        self.loss_ax.legend(fontsize=8, loc="upper right")

        # -- controls ----------------------------------------------------------------------
        style = {"description_width": "initial"}
        self.lr_slider = widgets.FloatLogSlider(
            value=self.lr, base=10, min=math.log10(LR_RANGE[0]), max=math.log10(LR_RANGE[1]), step=0.05,
            description="Learning rate", readout_format=".3g", style=style, continuous_update=True,
            layout=widgets.Layout(width="28em"),
        )
        self.steps_slider = widgets.IntSlider(
            value=self.steps, min=1, max=MAX_STEPS, description="Steps", style=style,
            continuous_update=True, layout=widgets.Layout(width="28em"),
        )
        self.status = widgets.HTML()
        _base.observe(self.lr_slider, self._on_lr_slider, self.errors)
        _base.observe(self.steps_slider, self._on_steps_slider, self.errors)
        if self.view.interactive:
            self.figure.canvas.mpl_connect("button_press_event", _base.guard(self.errors, self._on_click))
        self.container = widgets.VBox([
            widgets.HBox([self.lr_slider, self.steps_slider]), self.view.widget, self.status, self.errors,
        ])
        self.container.state = self
        self._render(draw=False)
        # Lay the figure out once, then freeze it: constrained layout re-measures every
        # tick label on each draw, which would triple the cost of a slider update.
        self.figure.get_layout_engine().execute(self.figure)
        self.figure.set_layout_engine("none")
        self.view.request_draw()

    # -- public methods ----------------------------------------------------------------------
    def set_lr(self, lr: float) -> None:
        """Show the path for learning rate ``lr`` (0.001-1); moves the slider."""
        self.lr = _check_lr(lr)
        with self._sync():
            self.lr_slider.value = self.lr
        self._update()

    def set_steps(self, steps: int) -> None:
        """Show ``steps`` gradient steps (1-200); moves the slider."""
        self.steps = _check_steps(steps)
        with self._sync():
            self.steps_slider.value = self.steps
        self._update()

    def set_start(self, w: float, b: float) -> None:
        """Start gradient descent at weights ``(w, b)``."""
        start = np.array([w, b], dtype=float)
        if not np.all(np.isfinite(start)):
            raise ValueError(f"the start must be finite, got {start}")
        self.start = start
        self._update()

    # -- drawing -------------------------------------------------------------------------------
    def _update(self) -> None:
        self.path = gradient_descent_path(self.lr, self.steps, self.start, self.problem)
        self._render()

    def _render(self, draw: bool = True) -> None:
        path = self.path
        self.path_line.set_data(path.weights[:, 0], path.weights[:, 1])
        self.start_marker.set_data([self.start[0]], [self.start[1]])
        steps = np.arange(path.steps + 1)
        self.loss_line.set_data(steps, path.losses)
        finite = path.losses[np.isfinite(path.losses)]
        top = max(float(finite.max()), float(path.losses[0])) * 2.0
        self.loss_ax.set_ylim(self.problem.min_loss * 0.7, min(top, 1e4 * float(path.losses[0])))
        self.loss_ax.set_xlim(0, max(path.steps, 1))
        self.status.value = _status_html(path, self.problem)
        if draw:
            self.view.request_draw()

    # -- callbacks (wrapped by _base.guard) ------------------------------------------------------
    def _on_lr_slider(self, change) -> None:
        if not self._syncing:
            self.set_lr(change["new"])

    def _on_steps_slider(self, change) -> None:
        if not self._syncing:
            self.set_steps(change["new"])

    def _on_click(self, event) -> None:
        if event.inaxes is self.surface_ax and event.xdata is not None:
            self.set_start(event.xdata, event.ydata)


def _status_html(path: DescentPath, problem: LineFit) -> str:
    limit = problem.max_stable_lr
    start = float(path.losses[0])
    if path.diverged:
        text = (f"<b style='color:#cf222e'>Diverged</b>: the loss grew from {start:.3g} to "
                f"{path.final_loss:.3g} in {path.steps} steps. Every step overshoots the valley a "
                f"little more; here any learning rate above {limit:.3g} does that.")
    else:
        done = path.steps_to_converge(0.01)
        if done is None:
            text = (f"Loss {start:.3g} &rarr; {path.final_loss:.3g} after {path.steps} steps (lowest "
                    f"possible {problem.min_loss:.3g}): <b>not converged yet</b> - more steps, or a "
                    f"larger learning rate.")
        else:
            text = (f"Loss {start:.3g} &rarr; {path.final_loss:.3g}: <b style='color:#1a7f37'>converged</b> "
                    f"(within 1% of the way to the minimum) after {done} steps.")
    return f"<span>{text}</span>"
