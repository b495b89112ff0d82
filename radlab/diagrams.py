"""Drawings that explain neural networks (notebook 03): neurons, layers, curves.

* :func:`draw_neuron` - one neuron with numbers: inputs, weights, sum, bias, activation.
* :func:`plot_activations` - sigmoid, tanh, ReLU (and other) activation functions.
* :func:`draw_network` - a real Keras multilayer perceptron as input, hidden and
  output layers of neurons (the review's Fig. 1); :func:`network_layers` is the
  table it draws from.
* :func:`plot_gradient_descent` - paths of gradient descent on the loss surface of
  :mod:`radlab.toy`, and their loss curves.
* :func:`plot_history` - training and validation curves per epoch (the review's Fig. 3).
* :func:`plot_depth_sweep` - accuracy against the number of hidden layers (Fig. 2).

Like :mod:`radlab.plotting`, every function takes ``ax=None`` and returns a
:class:`matplotlib.figure.Figure` that pyplot does not manage (it shows once when
it is a cell's last value; nothing accumulates in pyplot's figure list).
Models are read through their public Keras attributes; Keras itself is never
imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

__all__ = [
    "ACTIVATIONS",
    "LayerSpec",
    "draw_network",
    "draw_neuron",
    "network_layers",
    "plot_activations",
    "plot_depth_sweep",
    "plot_gradient_descent",
    "plot_history",
]

#: Colours of input, hidden and output neurons (Okabe-Ito: colour-blind safe).
LAYER_COLORS = {"input": "#56B4E9", "hidden": "#E69F00", "output": "#009E73"}
#: Colours of successive curves (Okabe-Ito).
CURVE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


#: Activation functions by their Keras name, in NumPy.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
}


def _new_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.add_subplot()
    return ax.figure, ax


def _activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; use one of {sorted(ACTIVATIONS)}") from None


# -- a neuron ------------------------------------------------------------------------
def plot_activations(names: Sequence[str] = ("sigmoid", "tanh", "relu"), *, z_range=(-5.0, 5.0),
                     ax: Axes | None = None) -> Figure:
    """Plot activation functions, output against the weighted sum ``z``.

    Parameters
    ----------
    names : sequence of str, default ("sigmoid", "tanh", "relu")
        Keys of :data:`ACTIVATIONS`.
    z_range : (float, float), default (-5, 5)
        Range of the weighted sum ``z`` on the horizontal axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax, (6.0, 3.6))
    z = np.linspace(*z_range, 401)
    for i, name in enumerate(names):
        ax.plot(z, _activation(name)(z), lw=2, color=CURVE_COLORS[i % len(CURVE_COLORS)], label=name)
    ax.axhline(0, color="0.7", lw=0.8, zorder=0)
    ax.axvline(0, color="0.7", lw=0.8, zorder=0)
    ax.set_xlabel("weighted sum z = w·x + b")
    ax.set_ylabel("neuron output")
    ax.set_title("Activation functions")
    ax.legend(frameon=False)
    return fig


def draw_neuron(x, w, b: float, activation: str = "relu", *, ax: Axes | None = None) -> Figure:
    """Draw one neuron at work: inputs times weights, summed, plus bias, through an activation.

    Parameters
    ----------
    x, w : sequence of float
        Input values and their weights (same length, 1-6).
    b : float
        Bias.
    activation : str, default "relu"
        A key of :data:`ACTIVATIONS`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the weighted sum and output are written on it.
    """
    x = np.asarray(x, dtype=float).ravel()
    w = np.asarray(w, dtype=float).ravel()
    if x.shape != w.shape or not 1 <= x.size <= 6:
        raise ValueError(f"x and w need the same length, 1 to 6; got {x.size} and {w.size}")
    f = _activation(activation)
    z = float(w @ x + b)
    out = float(f(np.float64(z)))
    fig, ax = _new_axes(ax, (7.0, 3.2))
    n = x.size
    ys = np.linspace(1.0, -1.0, n) if n > 1 else np.zeros(1)
    body = (3.2, 0.0)
    for xi, wi, y in zip(x, w, ys):
        ax.add_patch(Circle((0.0, y), 0.22, fc=LAYER_COLORS["input"], ec="k", lw=1))
        ax.text(0.0, y, f"{xi:g}", ha="center", va="center", fontsize=9)
        ax.add_patch(FancyArrowPatch((0.25, y), (body[0] - 0.55, body[1] + 0.25 * y),
                                     arrowstyle="-|>", mutation_scale=10, color="0.35", lw=1))
        ax.text(1.2, y + (0.25 * y - y) * 0.4, f"× {wi:g}", ha="center", va="center", fontsize=9,
                color="0.15", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
    ax.add_patch(Circle(body, 0.55, fc=LAYER_COLORS["hidden"], ec="k", lw=1.2))
    ax.text(*body, f"Σ + b\nb = {b:g}", ha="center", va="center", fontsize=9)
    ax.add_patch(FancyArrowPatch((body[0] + 0.57, 0), (5.1, 0), arrowstyle="-|>", mutation_scale=12,
                                 color="0.35", lw=1.2))
    ax.text(4.35, 0.12, f"z = {z:.3g}", ha="center", va="bottom", fontsize=9)
    ax.text(5.75, 0, activation, ha="center", va="center", fontsize=10,
            bbox={"boxstyle": "round", "fc": "white", "ec": "k"})
    ax.add_patch(FancyArrowPatch((6.4, 0), (7.1, 0), arrowstyle="-|>", mutation_scale=12,
                                 color="0.35", lw=1.2))
    ax.text(7.2, 0, f"{out:.3g}", ha="left", va="center", fontsize=11, fontweight="bold")
    terms = " + ".join(f"{wi:g}×{xi:g}" for xi, wi in zip(x, w))
    ax.set_title(f"z = {terms} + {b:g} = {z:.3g};   output = {activation}(z) = {out:.3g}", fontsize=9)
    ax.set_xlim(-0.5, 8.0)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


# -- a network -----------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSpec:
    """One layer of neurons, as :func:`draw_network` draws it.

    Attributes
    ----------
    kind : {"input", "hidden", "output"}
    units : int
        Number of neurons (for the input layer: input values, e.g. pixels).
    activation : str or None
        Activation name (None for the input layer).
    name : str
        Keras layer name (``"input"`` for the input).
    shape : tuple of int or None
        Input layer only: the shape of one input, e.g. ``(28, 28)`` pixels.
    """

    kind: str
    units: int
    activation: str | None
    name: str
    shape: tuple[int, ...] | None = None


# Layers that hold no neurons of their own: they reshape, rescale or regularise.
_PASS_THROUGH = {
    "InputLayer", "Flatten", "Reshape", "Rescaling", "Normalization", "Dropout", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "BatchNormalization",
}


def _dense_layers(model) -> list:
    found = []
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a nested model (e.g. normalisation in front of an MLP)
            found.extend(_dense_layers(layer))
        elif type(layer).__name__ == "Dense":
            found.append(layer)
        elif type(layer).__name__ not in _PASS_THROUGH:
            raise ValueError(
                f"draw_network draws fully connected networks (Dense layers); layer "
                f"{layer.name!r} is a {type(layer).__name__}. For a CNN use rl.describe(model)."
            )
    return found


def network_layers(model) -> list[LayerSpec]:
    """The layers of neurons in a fully connected Keras model (or a list of layer sizes).

    Parameters
    ----------
    model : keras.Model or sequence of int
        A model made of Dense layers (plus Flatten, Rescaling, Normalization,
        Dropout...), e.g. :func:`radlab.models.mlp`; or sizes such as
        ``[784, 16, 16, 10]`` (input first).

    Returns
    -------
    list of LayerSpec
        Input layer first, output layer last.

    Raises
    ------
    ValueError
        For a layer with neurons that are not Dense (a convolution), or fewer
        than two layers.
    """
    if isinstance(model, Sequence) and not isinstance(model, str):
        sizes = [int(s) for s in model]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"need at least an input and an output size, all >= 1; got {list(model)}")
        specs = [LayerSpec("input", sizes[0], None, "input")]
        specs += [LayerSpec("hidden", s, None, f"hidden_{i}") for i, s in enumerate(sizes[1:-1], 1)]
        return specs + [LayerSpec("output", sizes[-1], None, "output")]
    if not hasattr(model, "layers") or not getattr(model, "inputs", None):
        raise TypeError(f"expected a built Keras model or a list of layer sizes, got {type(model).__name__}")
    shape = tuple(int(d) for d in model.inputs[0].shape[1:] if d is not None)
    if len(shape) != len(model.inputs[0].shape) - 1:
        raise ValueError("draw_network needs a fixed input shape (no None sizes)")
    dense = _dense_layers(model)
    if not dense:
        raise ValueError(f"model {model.name!r} has no Dense layers to draw")
    squeezed = tuple(d for d in shape if d != 1) or shape
    specs = [LayerSpec("input", math.prod(shape), None, "input", squeezed)]
    for i, layer in enumerate(dense):
        kind = "output" if i == len(dense) - 1 else "hidden"
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        specs.append(LayerSpec(kind, int(layer.units), activation, layer.name))
    return specs


def _layer_label(spec: LayerSpec, hidden_index: int) -> str:
    if spec.kind == "input":
        text = "Input layer\n" + (f"{spec.units:,} pixels" if spec.shape and len(spec.shape) >= 2
                                  else f"{spec.units:,} values")
        if spec.shape and len(spec.shape) >= 2:
            text += "\n(" + "×".join(str(d) for d in spec.shape) + ")"
        return text
    head = f"Hidden layer {hidden_index}" if spec.kind == "hidden" else "Output layer"
    text = f"{head}\n{spec.units:,} neuron{'s' if spec.units != 1 else ''}"
    if spec.activation:
        text += f"\n{spec.activation}"
    return text


def draw_network(model, *, max_neurons: int = 12, title: str | None = None,
                 ax: Axes | None = None) -> Figure:
    """Draw a fully connected network as columns of neurons joined by weights (the review's Fig. 1).

    The input layer has one neuron per input value (per pixel for an image),
    then come the hidden layers and the output layer. A layer wider than
    ``max_neurons`` is drawn with its first and last neurons and a "⋮" between
    them; its label gives the true count.

    Parameters
    ----------
    model : keras.Model or sequence of int
        See :func:`network_layers`.
    max_neurons : int, default 12
        Most neurons drawn per layer (>= 2).
    title : str, optional
        Default: the model's name and parameter count.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One :class:`matplotlib.patches.Circle` per drawn neuron; lines for weights.
    """
    if isinstance(max_neurons, bool) or int(max_neurons) != max_neurons or max_neurons < 2:
        raise ValueError(f"max_neurons must be an integer >= 2, got {max_neurons!r}")
    max_neurons = int(max_neurons)
    specs = network_layers(model)
    dy, radius, dx = 1.0, 0.32, 4.2
    tallest = max(min(spec.units, max_neurons + 1) for spec in specs)  # rows, with the "⋮"
    # Size the figure to the drawing (equal aspect), about 0.3 inch per neuron row.
    rows, cols = tallest + 4.2, len(specs) * dx
    scale = min(0.3, 9.5 / cols)
    fig, ax = _new_axes(ax, (max(cols * scale, 4.0), rows * scale + 0.4))
    positions = []
    for i, spec in enumerate(specs):
        shown = min(spec.units, max_neurons)
        elided = spec.units > max_neurons
        n_slots = shown + int(elided)  # an elided layer keeps one slot for the "⋮"
        slots = np.arange(n_slots, dtype=float)
        middle = (n_slots - 1) / 2
        if elided:  # the first half of the neurons, the ellipsis, the second half
            gap = shown // 2
            slots = np.delete(slots, gap)
            ax.text(i * dx, -(gap - middle) * dy, "⋮", ha="center", va="center", fontsize=16, color="0.25")
        positions.append(-(slots - middle) * dy)
    segments = []
    for i in range(len(specs) - 1):
        for y0 in positions[i]:
            for y1 in positions[i + 1]:
                segments.append(((i * dx + radius, y0), ((i + 1) * dx - radius, y1)))
    ax.add_collection(LineCollection(segments, colors="0.55", linewidths=0.5, alpha=0.45, zorder=1))
    hidden = 0
    lowest = min(ys.min() for ys in positions)
    for i, (spec, ys) in enumerate(zip(specs, positions)):
        for y in ys:
            ax.add_patch(Circle((i * dx, y), radius, fc=LAYER_COLORS[spec.kind], ec="k", lw=0.8, zorder=2))
        hidden += spec.kind == "hidden"
        label = _layer_label(spec, hidden)
        if spec.units > max_neurons:
            label += f"\n({len(ys)} drawn)"
        ax.text(i * dx, lowest - 0.7 * dy, label, ha="center", va="top", fontsize=8.5)
    if title is None and hasattr(model, "count_params"):
        title = f"{model.name}: {model.count_params():,} weights and biases"
    if title:
        ax.set_title(title, fontsize=10)
    top = max(ys.max() for ys in positions)
    ax.set_xlim(-dx / 2, (len(specs) - 0.5) * dx)
    ax.set_ylim(lowest - 3.6 * dy, top + 0.6 * dy)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


# -- gradient descent ------------------------------------------------------------------
def _draw_loss_surface(ax: Axes, problem, bounds=None, n: int = 120):
    """Filled log-scale contours of ``problem.loss`` with its minimum; returns the bounds."""
    bounds = problem.bounds() if bounds is None else bounds
    w, b, loss = problem.loss_grid(n, bounds)
    lo = max(float(loss.min()), 1e-9)
    levels = np.geomspace(lo, float(loss.max()), 14)
    ax.contourf(w, b, loss, levels=levels, norm=LogNorm(levels[0], levels[-1]), cmap="Blues_r", alpha=0.9)
    ax.contour(w, b, loss, levels=levels, colors="white", linewidths=0.4, alpha=0.7)
    w_min, b_min = problem.minimum
    ax.plot([w_min], [b_min], marker="*", ms=14, color="#F0E442", mec="k", ls="none", label="minimum")
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_xlabel("weight w (slope)")
    ax.set_ylabel("bias b (intercept)")
    return bounds


def plot_gradient_descent(paths, problem=None, *, ax=None) -> Figure:
    """Gradient descent on a two-weight loss surface: the paths, and the loss per step.

    Parameters
    ----------
    paths : DescentPath or sequence of DescentPath
        From :func:`radlab.toy.gradient_descent_path` on ``problem``.
    problem : radlab.toy.LineFit, optional
        Default :func:`radlab.toy.line_fit` with its defaults.
    ax : matplotlib Axes or pair of Axes, optional
        One Axes: the loss surface with the paths only. Two: surface and loss
        curves. None: a new figure with both.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .toy import DescentPath, line_fit

    problem = line_fit() if problem is None else problem
    paths = [paths] if isinstance(paths, DescentPath) else list(paths)
    if ax is None:
        fig = Figure(figsize=(10.0, 4.0), layout="constrained")
        surface_ax, loss_ax = fig.subplots(1, 2)
    elif isinstance(ax, Axes):
        fig, surface_ax, loss_ax = ax.figure, ax, None
    else:
        surface_ax, loss_ax = ax
        fig = surface_ax.figure
    _draw_loss_surface(surface_ax, problem)
    for i, path in enumerate(paths):
        color = CURVE_COLORS[i % len(CURVE_COLORS)]
        label = f"lr = {path.lr:g}" + (" (diverged)" if path.diverged else "")
        surface_ax.plot(path.weights[:, 0], path.weights[:, 1], "-o", ms=2.5, lw=1.2, color=color,
                        label=label, alpha=0.55 if path.diverged else 1.0)
        if loss_ax is not None:
            loss_ax.plot(np.arange(path.steps + 1), path.losses, lw=1.8, color=color, label=label)
    surface_ax.plot(*problem.start, marker="o", ms=8, color="k", ls="none", label="start")
    surface_ax.legend(fontsize=8, loc="upper right")
    surface_ax.set_title("Paths of the weights on the loss surface")
    if loss_ax is not None:
        loss_ax.axhline(problem.min_loss, color="0.4", ls=":", lw=1, label="lowest possible")
        loss_ax.set_yscale("log")
        finite = np.concatenate([p.losses[np.isfinite(p.losses)] for p in paths])
        loss_ax.set_ylim(problem.min_loss * 0.7, min(finite.max(), 1e3 * finite[0]) * 1.5)
        loss_ax.set_xlabel("step")
        loss_ax.set_ylabel("loss (mean squared error)")
        loss_ax.set_title("Loss after each step")
        loss_ax.legend(fontsize=8)
    return fig


# -- training curves and experiments -----------------------------------------------------
def _history_dict(history) -> Mapping[str, Sequence[float]]:
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise TypeError(f"expected a keras History or a dict of lists, got {type(history).__name__}")
    return values


def plot_history(history, metrics: Sequence[str] | str = ("accuracy", "loss"), *, title: str | None = None,
                 mark_best: bool = True, ax=None) -> Figure:
    """Training and validation curves against the epoch, one panel per metric.

    Parameters
    ----------
    history : keras.callbacks.History or dict
        What ``model.fit`` / :func:`radlab.fit` return, or ``history.history``.
    metrics : str or sequence of str, default ("accuracy", "loss")
        Metric names as Keras logs them; ``"val_" + name`` is the validation curve.
    title : str, optional
        Figure title (or the single panel's title).
    mark_best : bool, default True
        Draw a dotted line at the epoch with the best validation value (lowest
        for losses, highest otherwise): where early stopping would keep the weights.
    ax : matplotlib Axes or sequence of Axes, optional
        One Axes per metric.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = _history_dict(history)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    missing = [m for m in metrics if m not in values]
    if missing:
        raise KeyError(f"history has no {missing}; it has {sorted(values)}")
    if ax is None:
        fig = Figure(figsize=(4.6 * len(metrics), 3.4), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(1, len(metrics))))
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(metrics):
            raise ValueError(f"got {len(axes)} axes for {len(metrics)} metrics")
        fig = axes[0].figure
    for metric, a in zip(metrics, axes):
        train = np.asarray(values[metric], dtype=float)
        epochs = np.arange(1, train.size + 1)
        a.plot(epochs, train, "-", color=CURVE_COLORS[0], lw=2, label="training")
        val = values.get(f"val_{metric}")
        if val is not None:
            val = np.asarray(val, dtype=float)
            a.plot(epochs, val, "--", color=CURVE_COLORS[1], lw=2, label="validation")
            if mark_best and val.size > 1:
                best = int(np.nanargmin(val) if "loss" in metric else np.nanargmax(val))
                a.axvline(best + 1, color="0.4", ls=":", lw=1, label=f"best validation (epoch {best + 1})")
        a.set_xlabel("epoch")
        a.set_ylabel(metric)
        if train.size <= 12:
            a.set_xticks(epochs)
        a.legend(fontsize=8, frameon=False)
    if title:
        (axes[0].set_title if len(axes) == 1 else fig.suptitle)(title)
    return fig


def plot_depth_sweep(sweep, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Accuracy against the number of hidden layers (the review's Fig. 2).

    Parameters
    ----------
    sweep : radlab.experiments.DepthSweep
        From :func:`radlab.experiments.depth_sweep`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Validation and (when measured) test accuracy per depth, with the spread
        over repeats as error bars, and the accuracy of always guessing the
        commonest class.
    """
    fig, ax = _new_axes(ax, (6.0, 3.8))
    depths = sweep.column("depth")
    series = [("val_accuracy", "validation", CURVE_COLORS[1], "--s")]
    if np.any(np.isfinite(sweep.column("test_accuracy"))):
        series.insert(0, ("test_accuracy", "test", CURVE_COLORS[0], "-o"))
    for name, label, color, style in series:
        mean = sweep.column(name)
        spread = sweep.column(name.replace("accuracy", "std"))
        ax.errorbar(depths, mean, yerr=spread if np.any(spread > 0) else None, fmt=style, color=color,
                    lw=2, ms=6, capsize=3, label=f"{label} accuracy")
    ax.axhline(sweep.chance, color="0.5", ls=":", lw=1, label=f"always the commonest class ({sweep.chance:.2f})")
    ax.set_xticks(depths)
    ax.set_xlabel("hidden layers (0 = logistic regression)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or f"Accuracy against depth ({sweep.width} neurons per hidden layer)")
    ax.legend(fontsize=8, frameon=False)
    return fig
