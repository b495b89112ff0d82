"""Convolution by hand, the classic kernels, and receptive fields (notebook 04).

* :func:`convolve2d_by_hand` - what a convolutional layer computes for one
  channel and one filter, written so that it can be read: every output pixel is
  the sum of a window of the image multiplied by the kernel.
* :data:`KERNELS` - hand-made 3x3 kernels from classic image processing: edges
  (Sobel, Laplacian), blur (box, Gaussian) and sharpening.
* :func:`conv_output_size` - how many pixels a convolution or pooling step outputs.
* :func:`receptive_field`, :func:`receptive_field_table` - how many input pixels
  one output pixel of a conv/pool stack (or a Keras model) can "see".
* :func:`plot_sliding_window` - one step of the computation, drawn;
  :func:`plot_kernels` - kernels side by side, red positive, blue negative.

Convolution or cross-correlation?
---------------------------------
In mathematics (and in :func:`scipy.signal.convolve2d`), a convolution flips the
kernel left-right and up-down before sliding it over the image. Deep-learning
libraries (Keras' ``Conv2D``, PyTorch's ``Conv2d``) do *not* flip it: what they
compute is a **cross-correlation** (:func:`scipy.signal.correlate2d`), and
:func:`convolve2d_by_hand` does the same, so its output matches ``Conv2D``
exactly. For a learned kernel the difference does not matter (the network would
simply learn the flipped kernel); for a hand-made, asymmetric kernel such as
Sobel it flips the sign of the response.

Everything here is NumPy (matplotlib is imported inside the plotting function).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import ModelConfigError

__all__ = [
    "KERNELS",
    "KERNEL_KINDS",
    "ReceptiveFieldRow",
    "ReceptiveFieldTable",
    "conv_output_size",
    "convolve2d_by_hand",
    "plot_kernels",
    "plot_sliding_window",
    "receptive_field",
    "receptive_field_table",
]


# ---------------------------------------------------------------------------
# Convolution by hand
# ---------------------------------------------------------------------------
def _padding_amounts(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """Zeros added before and after one axis, as Keras/TensorFlow pad ('valid' or 'same')."""
    if padding == "valid":
        return 0, 0
    # 'same': the output has ceil(size / stride) pixels; the extra zeros go after
    # when their number is odd (TensorFlow's rule, which Keras follows).
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def convolve2d_by_hand(image, kernel, *, padding: str = "valid", stride: int = 1) -> np.ndarray:
    """Slide a kernel over an image and sum the products: what ``Conv2D`` computes.

    For every output pixel, take the window of the image under the kernel,
    multiply it element by element with the kernel and add up the products::

        output[r, c] = sum(image[r*s : r*s + kh, c*s : c*s + kw] * kernel)

    The kernel is *not* flipped (cross-correlation, as in every deep-learning
    library; see the module docstring). There is no bias and no activation: a
    ``Conv2D`` layer adds those afterwards.

    Parameters
    ----------
    image : array_like, shape (height, width)
        One channel, any units (the output is in the same units times the
        kernel's).
    kernel : array_like, shape (kh, kw)
        The weights, e.g. ``KERNELS["sobel_x"]``.
    padding : {"valid", "same"}, default "valid"
        ``"valid"``: no padding; the output shrinks by ``kh - 1`` rows and
        ``kw - 1`` columns. ``"same"``: pad with zeros so that the output has
        ``ceil(size / stride)`` pixels per axis (the same size at stride 1), with
        the extra zero after the image when an odd number is needed, exactly as
        Keras and TensorFlow do.
    stride : int, default 1
        Step between two windows, in pixels.

    Returns
    -------
    numpy.ndarray, float64, shape (out_height, out_width)
        ``out = conv_output_size(size, k, stride, padding)`` along each axis.

    Raises
    ------
    ValueError
        Not a 2D image and a 2D kernel, an unknown padding, a stride < 1, or a
        kernel larger than the image with ``padding="valid"``.

    Examples
    --------
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> convolve2d_by_hand(image, np.ones((3, 3)))
    array([[45., 54.],
           [81., 90.]])
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(
            f"image must be 2D (height, width), got shape {image.shape}; for a batch or "
            "several channels, call convolve2d_by_hand on one 2D slice at a time"
        )
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be 2D (kh, kw), got shape {kernel.shape}")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    stride = _check_positive_int(stride, "stride")
    kh, kw = kernel.shape
    if padding == "valid" and (kh > image.shape[0] or kw > image.shape[1]):
        raise ValueError(
            f"a {kh}x{kw} kernel does not fit in a {image.shape[0]}x{image.shape[1]} image "
            "without padding; use padding='same' or a smaller kernel"
        )

    # 1. Pad with zeros (only for 'same').
    top, bottom = _padding_amounts(image.shape[0], kh, stride, padding)
    left, right = _padding_amounts(image.shape[1], kw, stride, padding)
    padded = np.pad(image, ((top, bottom), (left, right)))

    # 2. Every kh x kw window of the padded image: windows[r, c] is the patch whose
    #    top-left corner is pixel (r, c). No data is copied; it is a view.
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw))
    windows = windows[::stride, ::stride]

    # 3. Multiply each window by the kernel and add up: one number per window.
    return np.einsum("rcij,ij->rc", windows, kernel)


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: Any = "valid") -> int:
    """Number of output pixels along one axis of a convolution or pooling step.

    Parameters
    ----------
    size : int
        Input pixels along the axis.
    kernel_size : int
        Kernel (or pooling window) size, pixels.
    stride : int, default 1
        Step between windows, pixels.
    padding : {"valid", "same"} or int, default "valid"
        Keras' names, or a number of zero pixels added on *each* side (as in
        PyTorch's ``padding=p``).

    Returns
    -------
    int
        ``floor((size + 2*p - kernel_size) / stride) + 1`` for padding ``p``
        (``p = 0`` for "valid"); ``ceil(size / stride)`` for "same".

    Examples
    --------
    >>> conv_output_size(64, 3, stride=1, padding="valid")
    62
    >>> conv_output_size(64, 3, stride=2, padding=1)
    32
    """
    size = _check_positive_int(size, "size")
    kernel_size = _check_positive_int(kernel_size, "kernel_size")
    stride = _check_positive_int(stride, "stride")
    if padding == "same":
        return math.ceil(size / stride)
    if padding == "valid":
        pad = 0
    elif isinstance(padding, numbers.Integral) and not isinstance(padding, bool) and padding >= 0:
        pad = int(padding)
    else:
        raise ValueError(f"padding must be 'valid', 'same' or a number of pixels >= 0, got {padding!r}")
    span = size + 2 * pad - kernel_size
    if span < 0:
        raise ValueError(
            f"a {kernel_size}-pixel kernel does not fit in {size} pixels with {pad} pixel(s) of padding"
        )
    return span // stride + 1


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------
# Classic kernels
# ---------------------------------------------------------------------------
def _frozen(rows) -> np.ndarray:
    array = np.array(rows, dtype=np.float64)
    array.setflags(write=False)  # a shared constant: a learner's edit must not leak
    return array


_SOBEL_X = _frozen([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])

#: Classic 3x3 kernels (read-only float64 arrays), applied with cross-correlation
#: (no flip), so the signs below are what you get from :func:`convolve2d_by_hand`
#: and from a ``Conv2D`` layer whose weights are set to them.
#:
#: * ``"sobel_x"``: bright where the image gets brighter from left to right
#:   (vertical edges); sums to 0, so a flat region gives 0.
#: * ``"sobel_y"``: bright where the image gets brighter from top to bottom
#:   (horizontal edges); sums to 0.
#: * ``"laplacian"``: responds to edges in every direction and to small spots;
#:   sums to 0.
#: * ``"box_blur"``: the mean of the 3x3 neighbourhood; sums to 1, so a flat
#:   region keeps its value.
#: * ``"gaussian_blur"``: a weighted mean, heavier in the centre (the binomial
#:   approximation of a Gaussian, sigma about 0.85 pixel); sums to 1.
#: * ``"sharpen"``: the image plus its negative Laplacian, so edges get steeper;
#:   sums to 1.
#: * ``"identity"``: copies the image (a reference); sums to 1.
KERNELS: dict[str, np.ndarray] = {
    "sobel_x": _SOBEL_X,
    "sobel_y": _frozen(_SOBEL_X.T),
    "laplacian": _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "box_blur": _frozen(np.full((3, 3), 1 / 9)),
    "gaussian_blur": _frozen(np.outer([1, 2, 1], [1, 2, 1]) / 16),
    "sharpen": _frozen([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "identity": _frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
}

#: What each kernel in :data:`KERNELS` does: "edge", "blur", "sharpen" or "identity".
KERNEL_KINDS: dict[str, str] = {
    "sobel_x": "edge",
    "sobel_y": "edge",
    "laplacian": "edge",
    "box_blur": "blur",
    "gaussian_blur": "blur",
    "sharpen": "sharpen",
    "identity": "identity",
}


# ---------------------------------------------------------------------------
# Receptive field
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceptiveFieldRow:
    """One conv or pooling step of a :class:`ReceptiveFieldTable`.

    Attributes
    ----------
    name : str
        Layer name (``block1_conv``), or ``layer<i>`` for a plain spec.
    kind : str
        ``"conv"`` or ``"pool"``.
    kernel_size : tuple of int
        Kernel or pooling window per spatial axis, pixels (dilation included:
        a 3-pixel kernel with dilation 2 spans 5 pixels).
    stride : tuple of int
        Step per spatial axis, pixels of this step's input.
    size : int
        Receptive field after this step: the side of the square of *input
        image* pixels that one output pixel depends on (the larger axis when
        they differ).
    size_per_axis : tuple of int
        The receptive field along each spatial axis.
    jump : int
        Distance between two neighbouring output pixels, in input-image pixels
        (the product of the strides so far).
    """

    name: str
    kind: str
    kernel_size: tuple
    stride: tuple
    size: int
    size_per_axis: tuple
    jump: int


class ReceptiveFieldTable(tuple):
    """The rows of :func:`receptive_field_table`: a tuple that prints as a table.

    Attributes
    ----------
    sizes : list of int
        Receptive field after each step, input pixels.
    names : list of str
        The step names, in order.
    """

    @property
    def sizes(self) -> list[int]:
        return [row.size for row in self]

    @property
    def names(self) -> list[str]:
        return [row.name for row in self]

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        header = ["layer", "kind", "kernel", "stride", "receptive field (px)", "jump (px)"]
        rows = []
        for row in self:
            rows.append([
                row.name, row.kind, "x".join(map(str, row.kernel_size)),
                "x".join(map(str, row.stride)), str(row.size), str(row.jump),
            ])
        return header, rows

    def __str__(self) -> str:
        header, rows = self._cells()
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ReceptiveFieldTable({len(self)} steps, largest {max(self.sizes, default=1)} px)"

    def _repr_html_(self) -> str:
        import html

        header, rows = self._cells()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _as_pair(value: Any, ndim: int, name: str) -> tuple[int, ...]:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * ndim
    if len(values) != ndim:
        raise ModelConfigError(f"{name} has {len(values)} entries for {ndim} spatial axes: {value!r}")
    return tuple(_check_positive_int(v, name) for v in values)


def _spec_steps(stack: Sequence[Any]) -> list[tuple]:
    """Plain specs -> ``(name, kind, kernel, stride)`` steps (2 spatial axes)."""
    steps = []
    for i, item in enumerate(stack, start=1):
        entry = tuple(item) if isinstance(item, (tuple, list)) else (item,)
        kind = None
        if entry and isinstance(entry[0], str):
            kind, entry = entry[0].lower(), entry[1:]
        if kind not in (None, "conv", "pool") or not 1 <= len(entry) <= 3:
            raise ModelConfigError(
                f"step {i} of the stack is {item!r}; give (kernel, stride[, dilation]) or "
                "('conv', kernel, stride) / ('pool', size[, stride]), e.g. [('conv', 3), ('pool', 2), ('conv', 3)]"
            )
        kernel = _check_positive_int(entry[0], "kernel size")
        default_stride = kernel if kind == "pool" else 1
        stride = _check_positive_int(entry[1], "stride") if len(entry) > 1 else default_stride
        dilation = _check_positive_int(entry[2], "dilation") if len(entry) > 2 else 1
        span = dilation * (kernel - 1) + 1
        steps.append((f"layer{i}", kind or "conv", (span, span), (stride, stride)))
    return steps


_PER_PIXEL_HINT = (
    "receptive_field understands convolutions, pooling, and layers that work pixel by "
    "pixel (batch normalisation, activations, dropout, rescaling)"
)


def _layer_step(layer) -> tuple | str | None:
    """A Keras layer -> a conv/pool step, "global", None (no effect) or raise."""
    kind_name = type(layer).__name__
    if kind_name.startswith("Global") or kind_name == "Flatten":
        return "global"
    if "Transpose" in kind_name or "UpSampling" in kind_name or "Resizing" in kind_name:
        raise ModelConfigError(
            f"layer {layer.name!r} ({kind_name}) enlarges the image; {_PER_PIXEL_HINT}, "
            "not upsampling (e.g. the decoder of a U-Net)"
        )
    if hasattr(layer, "kernel_size") and hasattr(layer, "strides"):  # Conv*, DepthwiseConv*, SeparableConv*
        ndim = len(layer.kernel_size)
        kernel = _as_pair(layer.kernel_size, ndim, "kernel_size")
        stride = _as_pair(layer.strides, ndim, "strides")
        dilation = _as_pair(getattr(layer, "dilation_rate", 1), ndim, "dilation_rate")
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        return (layer.name, "conv", span, stride)
    if hasattr(layer, "pool_size"):
        ndim = len(layer.pool_size)
        kernel = _as_pair(layer.pool_size, ndim, "pool_size")
        stride = _as_pair(layer.strides if layer.strides is not None else layer.pool_size, ndim, "strides")
        return (layer.name, "pool", kernel, stride)
    if kind_name == "Dense":
        # Dense on a flat vector mixes everything; on a feature map it acts per pixel.
        try:
            shape = tuple(layer.input.shape)
        except (AttributeError, ValueError):  # never called: assume a classifier head
            shape = ()
        return "global" if len(shape) <= 2 else None
    return None  # BatchNormalization, Activation, Dropout, Rescaling, Add, Reshape...


def _input_layers(layer) -> list:
    """The layers whose outputs feed ``layer`` (its first call) in a functional graph."""
    tensors = layer.input
    if isinstance(tensors, dict):
        tensors = list(tensors.values())
    elif not isinstance(tensors, (list, tuple)):
        tensors = [tensors]
    producers = []
    for tensor in tensors:
        history = getattr(tensor, "_keras_history", None)
        if history is not None:
            producers.append(history[0])
    return producers


def _compose(field, kernel, stride):
    """Field after a step, from the field ``(size, jump)`` of its input (None = one pixel)."""
    size, jump = field if field is not None else ((1,) * len(kernel), (1,) * len(kernel))
    if len(size) != len(kernel):
        raise ModelConfigError(
            f"a step works on {len(kernel)} spatial axes, the layers before it on {len(size)}"
        )
    size = tuple(r + (k - 1) * j for r, k, j in zip(size, kernel, jump))
    return size, tuple(j * s for j, s in zip(jump, stride))


def _row(name, kind, kernel, stride, field) -> "ReceptiveFieldRow":
    size, jump = field
    return ReceptiveFieldRow(
        name=name, kind=kind, kernel_size=tuple(kernel), stride=tuple(stride),
        size=max(size), size_per_axis=tuple(size), jump=max(jump),
    )


_GLOBAL = "global"


def _model_rows(model, field=None) -> tuple[list, Any]:
    """Rows for a Keras model, following its graph; also the field of its output.

    ``field`` is the receptive field ``(size, jump)`` of the model's input in
    outer-image pixels (None: the input is the image itself).
    """
    rows: list = []
    fields: dict[int, Any] = {}
    for layer in model.layers:
        producers = _input_layers(layer)
        known = [fields[id(p)] for p in producers if id(p) in fields]
        if type(layer).__name__ == "InputLayer" or not known:
            incoming = field
        elif _GLOBAL in known:
            incoming = _GLOBAL
        else:
            # A merge (Add, Concatenate): the union of the branches' fields.
            real = [f for f in known if f is not None]
            if not real:
                incoming = None
            else:
                incoming = (
                    tuple(max(axis) for axis in zip(*(f[0] for f in real))),
                    tuple(max(axis) for axis in zip(*(f[1] for f in real))),
                )
        if incoming == _GLOBAL:
            fields[id(layer)] = _GLOBAL
            continue
        if hasattr(layer, "layers") and callable(getattr(layer, "get_layer", None)):
            inner_rows, out = _model_rows(layer, incoming)
            rows += [
                ReceptiveFieldRow(**{**row.__dict__, "name": f"{layer.name}/{row.name}"})
                for row in inner_rows
            ]
            fields[id(layer)] = out
            continue
        step = _layer_step(layer)
        if step == _GLOBAL:
            fields[id(layer)] = _GLOBAL
        elif step is None:
            fields[id(layer)] = incoming
        else:
            name, kind, kernel, stride = step
            out = _compose(incoming, kernel, stride)
            rows.append(_row(name, kind, kernel, stride, out))
            fields[id(layer)] = out
    last = fields.get(id(model.layers[-1]), field) if model.layers else field
    return rows, last


def _stack_rows(stack: Any) -> list:
    if hasattr(stack, "layers") and callable(getattr(stack, "get_layer", None)):
        return _model_rows(stack)[0]
    items = list(stack)
    if items and all(hasattr(item, "name") and hasattr(item, "get_config") for item in items):
        steps = []
        for layer in items:
            step = _layer_step(layer)
            if step == _GLOBAL:
                break
            if step is not None:
                steps.append(step)
    else:
        steps = _spec_steps(items)
    rows, field = [], None
    for name, kind, kernel, stride in steps:
        field = _compose(field, kernel, stride)
        rows.append(_row(name, kind, kernel, stride, field))
    return rows


def receptive_field_table(stack) -> ReceptiveFieldTable:
    """Receptive field after every convolution and pooling step of a stack.

    The receptive field of an output pixel is the square of input-image pixels
    it depends on. Each step with a kernel of ``k`` pixels (dilation
    included) adds ``(k - 1) * jump`` pixels, where ``jump`` is the distance,
    in input pixels, between two neighbouring pixels of the step's input; each
    stride multiplies the jump. Two 3x3 convolutions see 5x5 pixels; a 2x2
    pooling in between doubles what the second one adds (3 -> 4 -> 8).

    Parameters
    ----------
    stack : keras.Model, list of Keras layers, or list of specs
        A Keras model (layers in order; nested models are expanded), a list of
        layers, or plain specs: a kernel size, ``(kernel, stride)`` or
        ``(kernel, stride, dilation)`` for a convolution, or with a leading kind,
        ``("conv", 3)``, ``("conv", 3, 2)``, ``("pool", 2)`` (a pooling stride
        defaults to its size, a convolution's to 1). Padding does not change
        the receptive field, only where it sits.

        Layers that work pixel by pixel (batch normalisation, activations,
        dropout, rescaling) change nothing and are left out of the table.
        From the first layer that mixes the whole image (global pooling,
        Flatten, Dense on a vector) on, every value depends on every pixel,
        and those layers are left out too. In a model with branches (a
        ResNet), the graph is followed: a merge (Add, Concatenate) sees the
        union of its branches' fields.

    Returns
    -------
    ReceptiveFieldTable
        A tuple of :class:`ReceptiveFieldRow` (``name``, ``kind``,
        ``kernel_size``, ``stride``, ``size``, ``size_per_axis``, ``jump``)
        that prints as a table; ``.sizes`` lists the receptive fields, pixels.

    Raises
    ------
    ModelConfigError
        An unknown spec, or a layer that enlarges the image (transposed
        convolution, upsampling), for which the rule above does not hold.

    Examples
    --------
    >>> receptive_field_table([("conv", 3), ("pool", 2), ("conv", 3)]).sizes
    [3, 4, 8]
    """
    return ReceptiveFieldTable(_stack_rows(stack))


def receptive_field(stack) -> int:
    """Largest receptive field in a stack (that of its deepest conv/pool step), in input pixels.

    Parameters
    ----------
    stack : keras.Model, list of Keras layers, or list of specs
        As in :func:`receptive_field_table`.

    Returns
    -------
    int
        Side of the square of input pixels that one pixel of the deepest
        feature map depends on (1 for a stack without convolution or pooling).

    Examples
    --------
    >>> receptive_field([(3, 1), (3, 1)])
    5
    >>> receptive_field([("conv", 3), ("pool", 2), ("conv", 3)])
    8
    """
    table = receptive_field_table(stack)
    return max(table.sizes, default=1)


# ---------------------------------------------------------------------------
# A drawing of one step
# ---------------------------------------------------------------------------
def plot_sliding_window(image, kernel, row: int = 0, col: int = 0, *, ax=None, fmt: str = "g"):
    """Draw one step of a convolution: the window, the kernel, and the output pixel.

    Three panels with the numbers written in every cell: the image with the
    window at output position ``(row, col)`` outlined, the kernel, and the
    output of :func:`convolve2d_by_hand` ('valid' padding) with that pixel
    outlined. The title spells out the sum of products for that pixel.

    Parameters
    ----------
    image : array_like, shape (height, width)
        A small image (up to about 12 x 12 pixels, so the numbers stay readable).
    kernel : array_like, shape (kh, kw)
    row, col : int, default 0
        Output pixel to explain (its window's top-left corner in the image).
    ax : sequence of three matplotlib Axes, optional
        Where to draw; by default a new figure.
    fmt : str, default "g"
        Format of the numbers in the cells.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    output = convolve2d_by_hand(image, kernel)
    if not (0 <= row < output.shape[0] and 0 <= col < output.shape[1]):
        raise IndexError(
            f"output pixel ({row}, {col}) is outside the {output.shape[0]}x{output.shape[1]} output"
        )
    kh, kw = kernel.shape
    if ax is None:
        widths = [image.shape[1], kw, output.shape[1]]
        fig = Figure(figsize=(0.45 * sum(widths) + 2.5, 0.45 * image.shape[0] + 1.4), layout="constrained")
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": widths})
    else:
        axes = list(ax)
        if len(axes) != 3:
            raise ValueError(f"ax must hold three Axes (image, kernel, output), got {len(axes)}")
        fig = axes[0].get_figure()

    def grid(axis, values, title, cmap):
        axis.imshow(values, cmap=cmap, interpolation="nearest")
        for (r, c), v in np.ndenumerate(values):
            shade = (v - values.min()) / (np.ptp(values) or 1.0)
            axis.text(c, r, format(v, fmt), ha="center", va="center", fontsize=8,
                      color="black" if shade > 0.5 else "white")
        axis.set_title(title, fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_frame_on(False)

    window = image[row:row + kh, col:col + kw]
    grid(axes[0], image, "image", "gray")
    axes[0].add_patch(Rectangle((col - 0.5, row - 0.5), kw, kh, fill=False, edgecolor="#D55E00", lw=3))
    grid(axes[1], kernel, "kernel", "coolwarm")
    grid(axes[2], output, "output", "gray")
    axes[2].add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#D55E00", lw=3))
    def number(v):
        return f"({format(v, fmt)})" if v < 0 else format(v, fmt)

    terms = " + ".join(f"{number(a)}×{number(b)}" for a, b in zip(window.ravel(), kernel.ravel()))
    if len(terms) > 110:
        terms = terms[:107] + "..."
    fig.suptitle(f"output[{row}, {col}] = {terms} = {format(output[row, col], fmt)}", fontsize=9)
    return fig


def plot_kernels(kernels, *, titles: Sequence[str] | None = None, ncols: int | None = None,
                 annotate: bool | None = None, panel_size: float = 1.4, fmt: str = ".2g"):
    """Draw kernels (hand-made or learned) side by side: red positive, blue negative weights.

    Each kernel gets its own symmetric colour scale (``-max|w|`` .. ``+max|w|``), so
    white is always a weight of 0 and the pattern, not the scale, is compared.

    Parameters
    ----------
    kernels : array_like, shape (n, kh, kw), or a sequence of 2D arrays
        E.g. ``list(KERNELS.values())`` or ``first_layer_filters(model)[..., 0]``.
    titles : sequence of str, optional
        One per kernel.
    ncols : int, optional
        Kernels per row; default ``min(n, 8)``.
    annotate : bool, optional
        Write each weight in its cell; default True for kernels up to 5 x 5.
    panel_size : float, default 1.4
        Inches per kernel.
    fmt : str, default ".2g"
        Format of the written weights.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    arrays = [np.asarray(k, dtype=np.float64) for k in kernels]
    if not arrays:
        raise ValueError("plot_kernels got no kernels")
    for i, k in enumerate(arrays):
        if k.ndim != 2:
            raise ValueError(f"kernel {i} has shape {k.shape}; each kernel must be 2D (for a grey "
                             "model's filters use first_layer_filters(model)[..., 0])")
    if titles is not None and len(titles) != len(arrays):
        raise ValueError(f"{len(titles)} titles for {len(arrays)} kernels; give one per kernel")
    n = len(arrays)
    ncols = max(1, min(n, ncols or 8))
    nrows = math.ceil(n / ncols)
    if annotate is None:
        annotate = max(max(k.shape) for k in arrays) <= 5
    fig = Figure(figsize=(panel_size * ncols, panel_size * nrows + 0.3), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
        if i >= n:
            ax.set_visible(False)
            continue
        k = arrays[i]
        limit = float(np.abs(k).max()) or 1.0
        ax.imshow(k, cmap="coolwarm", vmin=-limit, vmax=limit, interpolation="nearest")
        if annotate:
            for (r, c), v in np.ndenumerate(k):
                ax.text(c, r, format(v, fmt), ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 * limit else "black")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    return fig
