"""A model's layers as a table: output shapes, parameters and FLOPs per image.

FLOPs convention (the one ``describe`` documents and the tests check)
--------------------------------------------------------------------
Counted for one image (batch size 1) in inference mode:

* a multiply-add is **2 FLOPs**; a bias add is 1 FLOP per output value;
* Dense, Conv1D/2D/3D (any groups), Conv1D/2D/3DTranspose,
  DepthwiseConv1D/2D, SeparableConv1D/2D: their multiply-adds exactly, plus
  bias, plus 1 FLOP per output value for a fused activation other than
  "linear";
* BatchNormalization: 2 per value (folded to one scale and one shift);
  Normalization: 2 per value; Rescaling: 1 per value (2 with an offset);
* MaxPooling/AveragePooling: window size per output value;
  GlobalAverage/GlobalMaxPooling: 1 per input value;
* Add, Subtract, Multiply, Maximum, Minimum, Average: ``inputs - 1`` per
  output value;
* activation layers (Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax):
  1 per output value, whatever the function;
* zero: InputLayer, Flatten, Reshape, Permute, Concatenate, padding and
  cropping, Dropout and noise layers, random augmentation layers (all
  identity or data movement at inference), nearest-neighbour UpSampling.

Any other layer type (e.g. bilinear resizing, attention) is reported with
unknown FLOPs ("?") and listed in :attr:`ModelSummary.uncounted`; the total
then counts the known layers only. Nested models (a pretrained backbone used
as a layer) are expanded: their layers appear as ``backbone/conv1``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

from ._common import ModelConfigError

__all__ = ["describe", "ModelSummary", "LayerRow"]


@dataclass(frozen=True)
class LayerRow:
    """One layer of a :class:`ModelSummary`.

    Attributes
    ----------
    name : str
        Layer name; ``outer/inner`` for a layer inside a nested model.
    type : str
        Keras class name, e.g. ``"Conv2D"``.
    output_shape : tuple or list of tuple or None
        Output shape without the batch axis (None if the layer was never
        called symbolically); a list for layers with several outputs.
    params : int
        Number of weights (trainable and not).
    trainable_params : int
        Number of weights the optimizer updates.
    flops : int or None
        FLOPs per image (module docstring), None when not known.
    """

    name: str
    type: str
    output_shape: Any
    params: int
    trainable_params: int
    flops: int | None


class ModelSummary:
    """What :func:`describe` returns: a table with totals that prints and renders in Jupyter.

    Attributes
    ----------
    name : str
        Model name.
    rows : list of LayerRow
        One row per layer (nested models expanded).
    total_params, trainable_params, non_trainable_params : int
        Parameter counts of the whole model (shared weights counted once),
        equal to ``model.count_params()`` and its split.
    flops : int
        FLOPs per image, summed over the layers with a known count.
    uncounted : tuple of str
        Names of layers whose FLOPs are unknown (not in ``flops``).
    """

    def __init__(self, name: str, rows: list[LayerRow], total_params: int,
                 trainable_params: int) -> None:
        self.name = name
        self.rows = rows
        self.total_params = total_params
        self.trainable_params = trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.flops = sum(row.flops for row in rows if row.flops is not None)
        self.uncounted = tuple(row.name for row in rows if row.flops is None)

    def _table(self) -> tuple[list[str], list[list[str]]]:
        header = ["Layer", "Type", "Output shape", "Params", "FLOPs"]
        body = [
            [row.name, row.type, _shape_text(row.output_shape), f"{row.params:,}",
             "?" if row.flops is None else _si(row.flops)]
            for row in self.rows
        ]
        return header, body

    def _footer(self) -> list[str]:
        lines = [
            f"Total params: {self.total_params:,} (trainable {self.trainable_params:,}, "
            f"non-trainable {self.non_trainable_params:,})",
            f"FLOPs per image: {_si(self.flops)} (a multiply-add counts as 2)",
        ]
        if self.uncounted:
            shown = ", ".join(self.uncounted[:5]) + (" ..." if len(self.uncounted) > 5 else "")
            lines.append(f"Not counted (unknown FLOPs): {shown}")
        return lines

    def __str__(self) -> str:
        header, body = self._table()
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        right = {3, 4}  # numbers align right

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        rule = "-" * len(line(header))
        out = [f"Model: {self.name}", rule, line(header), rule, *map(line, body), rule]
        return "\n".join(out + self._footer())

    def __repr__(self) -> str:
        return (
            f"<ModelSummary {self.name!r}: {len(self.rows)} layers, "
            f"{self.total_params:,} params, {_si(self.flops)} FLOPs per image>"
        )

    def _repr_html_(self) -> str:
        header, body = self._table()
        esc = html.escape
        head = "".join(
            f'<th style="text-align:{"right" if i >= 3 else "left"}">{esc(h)}</th>'
            for i, h in enumerate(header)
        )
        rows = "".join(
            "<tr>" + "".join(
                f'<td style="text-align:{"right" if i >= 3 else "left"}">{esc(c)}</td>'
                for i, c in enumerate(cells)
            ) + "</tr>"
            for cells in body
        )
        footer = "<br>".join(esc(line) for line in self._footer())
        return (
            f"<div><b>Model: {esc(self.name)}</b><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table><p>{footer}</p></div>"
        )


def describe(model) -> ModelSummary:
    """List a Keras model's layers with output shape, parameters and FLOPs per image.

    Parameters
    ----------
    model : keras.Model
        A built model (functional, Sequential with a known input shape, or
        one that has been called on data). Nested models are expanded.

    Returns
    -------
    ModelSummary
        Prints as a text table, renders as HTML in Jupyter, and has ``.rows``,
        ``.total_params``, ``.trainable_params`` and ``.flops`` (per image;
        a multiply-add counts as 2 FLOPs, see the module docstring).

    Raises
    ------
    ModelConfigError
        If the model is not built yet.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, padding="same")])
    >>> describe(model).flops  # 28*28*8 outputs x (9 multiply-adds x 2 + 1 bias)
    119168
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ModelConfigError(f"describe needs a keras.Model, got {type(model).__name__}")
    if not model.built:
        raise ModelConfigError(
            f"model {model.name!r} is not built, so its shapes are unknown: give it an input "
            "(keras.Input(shape) as first layer) or call model.build((None, height, width, "
            "channels)) first"
        )
    rows: list[LayerRow] = []
    _walk(model, "", 1, rows, top=True)
    total = sum(math.prod(w.shape) for w in model.weights)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return ModelSummary(model.name, rows, int(total), int(trainable))


def _walk(model, prefix: str, calls: int, rows: list[LayerRow], *, top: bool) -> None:
    import keras

    graph = getattr(model, "_functional", None) or model  # Sequential keeps its graph there
    for layer in model.layers:
        nodes = _graph_nodes(layer, graph)
        if isinstance(layer, keras.Model) and layer.layers:
            _walk(layer, f"{prefix}{layer.name}/", calls * max(len(nodes), 1), rows, top=False)
            continue
        if not top and isinstance(layer, keras.layers.InputLayer):
            continue  # a nested model's input is its caller's tensor: no extra row
        shapes = [
            ([_shape(t) for t in node.input_tensors], [_shape(t) for t in node.output_tensors])
            for node in nodes
        ]
        flops: int | None
        if not shapes:
            flops, out_shape = None, None
        else:
            per_call = [_layer_flops(layer, ins, outs) for ins, outs in shapes]
            flops = None if None in per_call else calls * sum(per_call)
            outs = shapes[0][1]
            out_shape = outs[0] if len(outs) == 1 else outs
        rows.append(LayerRow(
            name=f"{prefix}{layer.name}",
            type=type(layer).__name__,
            output_shape=out_shape,
            params=int(sum(math.prod(w.shape) for w in layer.weights)),
            trainable_params=int(sum(math.prod(w.shape) for w in layer.trainable_weights)),
            flops=flops,
        ))


def _graph_nodes(layer, graph) -> list:
    """The calls of ``layer`` that belong to ``graph`` (a layer may sit in several models)."""
    nodes = list(getattr(layer, "_inbound_nodes", []))
    keys = getattr(graph, "_nodes", None)
    if not nodes or not isinstance(keys, (set, frozenset)):
        return nodes
    # Keras keys a graph's nodes as f"{id(operation)}_ib-{index}" (keras.src.ops.function).
    mine = [n for i, n in enumerate(nodes) if f"{id(layer)}_ib-{i}" in keys]
    return mine or nodes


def _shape(tensor) -> tuple:
    return tuple(tensor.shape[1:])  # drop the batch axis


def _size(shape: tuple) -> int | None:
    if any(d is None for d in shape):
        return None
    return math.prod(shape)


_ZERO = (
    "InputLayer", "Flatten", "Reshape", "Permute", "RepeatVector", "Concatenate",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout",
    "GaussianDropout", "GaussianNoise", "ActivityRegularization", "Identity", "Masking",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    "Cropping1D", "Cropping2D", "Cropping3D",
)
_MERGE = ("Add", "Subtract", "Multiply", "Maximum", "Minimum", "Average")
_ACTIVATIONS = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")


def _layer_flops(layer, in_shapes: list[tuple], out_shapes: list[tuple]) -> int | None:
    """FLOPs of one call of a leaf layer (see the module docstring), None if unknown."""
    from keras import layers as L

    kind = type(layer).__name__
    if kind in _ZERO or kind.startswith("Random"):
        return 0
    if not in_shapes or not out_shapes:
        return None
    out = out_shapes[0]
    n_out = _size(out)
    n_in = _size(in_shapes[0])
    if n_out is None or n_in is None:
        return None  # image size unknown (None): no count
    if kind in _MERGE:
        return n_out * (len(in_shapes) - 1)
    if kind in _ACTIVATIONS:
        return 0 if kind == "Activation" and _is_linear(layer.activation) else n_out
    if isinstance(layer, L.Dense):
        macs = n_out // out[-1] * in_shapes[0][-1] * layer.units
        return _linear(layer, macs, n_out)
    if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
        cin, spatial = _channels(layer, in_shapes[0]), _spatial(layer, out)
        kernel = math.prod(layer.kernel_size)
        dm = layer.depth_multiplier
        return _linear(layer, spatial * cin * dm * (kernel + _channels(layer, out)), n_out)
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        cin, spatial = _channels(layer, in_shapes[0]), _spatial(layer, out)
        macs = spatial * math.prod(layer.kernel_size) * cin * layer.depth_multiplier
        return _linear(layer, macs, n_out)
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        # every input pixel is spread over a kernel-sized patch of the output
        cin, spatial_in = _channels(layer, in_shapes[0]), _spatial(layer, in_shapes[0])
        macs = spatial_in * math.prod(layer.kernel_size) * cin * layer.filters
        return _linear(layer, macs, n_out)
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        cin, spatial = _channels(layer, in_shapes[0]), _spatial(layer, out)
        macs = spatial * math.prod(layer.kernel_size) * (cin // layer.groups) * layer.filters
        return _linear(layer, macs, n_out)
    if isinstance(layer, (L.BatchNormalization, L.Normalization)):
        return 2 * n_out
    if isinstance(layer, L.Rescaling):
        import numpy as np

        return n_out * (2 if np.any(np.asarray(layer.offset) != 0) else 1)
    if kind in ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
                "AveragePooling1D", "AveragePooling2D", "AveragePooling3D"):
        return n_out * math.prod(layer.pool_size)
    if kind.startswith(("GlobalAveragePooling", "GlobalMaxPooling")):
        return n_in
    if kind.startswith("UpSampling") and getattr(layer, "interpolation", "nearest") == "nearest":
        return 0
    return None


def _linear(layer, macs: int, n_out: int) -> int:
    """2 FLOPs per multiply-add, + bias, + a fused non-linear activation."""
    flops = 2 * macs
    if getattr(layer, "use_bias", False):
        flops += n_out
    activation = getattr(layer, "activation", None)
    if activation is not None and not _is_linear(activation):
        flops += n_out
    return flops


def _is_linear(activation) -> bool:
    return getattr(activation, "__name__", "") == "linear"


def _channel_axis(layer) -> int:
    return 0 if getattr(layer, "data_format", "channels_last") == "channels_first" else -1


def _channels(layer, shape: tuple) -> int:
    return shape[_channel_axis(layer)]


def _spatial(layer, shape: tuple) -> int:
    """Number of spatial positions (pixels/voxels) in a feature map shape."""
    dims = shape[1:] if _channel_axis(layer) == 0 else shape[:-1]
    return math.prod(dims)


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return str(tuple("?" if d is None else d for d in shape)).replace("'?'", "?")


def _si(value: int) -> str:
    """1234567 -> '1.23 M', 119 -> '119' (decimal prefixes, as FLOP counts are usually quoted)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}"
    return f"{value}"
