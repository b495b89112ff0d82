"""Pieces shared by the model builders: argument checks, input stem, output head."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ..errors import ModelConfigError

__all__ = ["ModelConfigError"]

_OUTPUTS = ("auto", "sigmoid", "softmax", "linear")


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a ModelConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ModelConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ModelConfigError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_rate(name: str, value: float) -> float:
    """A dropout rate in [0, 1)."""
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ModelConfigError(f"{name} must be in [0, 1), got {value}")
    return value


def image_shape(input_shape: Sequence[int | None], builder: str) -> tuple:
    """Check an image input shape: ``(height, width)`` or ``(height, width, channels)``.

    Height and width may be None (any size); channels must be known.
    """
    shape = _as_shape(input_shape, builder)
    if len(shape) not in (2, 3):
        raise ModelConfigError(
            f"{builder} needs input_shape (height, width) or (height, width, channels) in "
            f"pixels, without the batch axis; got {tuple(input_shape)!r}"
        )
    if len(shape) == 3 and shape[2] is None:
        raise ModelConfigError(f"{builder}: the number of channels must be known, got {shape!r}")
    if len(shape) == 2 and None in shape:
        raise ModelConfigError(
            f"{builder}: for images of any size give the channel axis explicitly, "
            f"e.g. input_shape=(None, None, 1); got {shape!r}"
        )
    return shape


def _as_shape(input_shape: Any, builder: str) -> tuple:
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = ()
    if not shape or isinstance(input_shape, str) or not all(
        d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool)) for d in shape
    ):
        raise ModelConfigError(
            f"{builder}: input_shape must be a tuple of pixel counts such as (28, 28, 1), "
            f"got {input_shape!r}"
        )
    shape = tuple(None if d is None else int(d) for d in shape)
    if any(d is not None and d < 1 for d in shape):
        raise ModelConfigError(f"{builder}: input_shape sizes must be positive, got {shape!r}")
    return shape


def any_shape(input_shape: Sequence[int | None], builder: str) -> tuple:
    """Check a non-empty input shape of known sizes (for the MLP, which flattens)."""
    shape = _as_shape(input_shape, builder)
    if not shape or any(d is None for d in shape):
        raise ModelConfigError(
            f"{builder} flattens its input, so every size in input_shape must be known; "
            f"got {tuple(input_shape)!r}"
        )
    return shape


def head_activation(n_classes: int, output: str) -> str:
    """Output activation: for "auto", one sigmoid unit when ``n_classes`` is 1, else softmax.

    The rule is explained to users in :mod:`radlab.models.builders`.
    """
    if output not in _OUTPUTS:
        raise ModelConfigError(f"output must be one of {_OUTPUTS}, got {output!r}")
    if output == "auto":
        return "sigmoid" if n_classes == 1 else "softmax"
    if output == "softmax" and n_classes == 1:
        raise ModelConfigError(
            "a softmax over one unit always outputs 1.0: use n_classes=1 with "
            "output='auto' or 'sigmoid' for a binary problem, or n_classes=2 for softmax"
        )
    return output


def stem(shape: tuple, rescale: float | None):
    """Input layer, plus a channel axis for (height, width) input, plus optional rescaling.

    Returns ``(inputs, x)``. The added layers are Keras built-ins (Reshape,
    Rescaling), so models load with ``safe_mode=True``.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=shape, name="input")
    x = inputs
    if len(shape) == 2:
        x = layers.Reshape((*shape, 1), name="add_channel")(x)
    if rescale is not None:
        x = layers.Rescaling(float(rescale), name="rescale")(x)
    return inputs, x


def conv_bn_relu(x, filters: int, kernel_size: int, name: str, *, batch_norm: bool = True,
                 strides: int = 1, suffix: str = "", bn_momentum: float = 0.99):
    """Conv2D ('same' padding) -> BatchNormalization -> ReLU.

    Layers are named ``<name>_conv<suffix>``, ``<name>_bn<suffix>``,
    ``<name>_relu<suffix>``.
    """
    from keras import layers

    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=not batch_norm,
        kernel_initializer="he_normal", name=f"{name}_conv{suffix}",
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn{suffix}")(x)
    return layers.Activation("relu", name=f"{name}_relu{suffix}")(x)


def output_dense(x, n_classes: int, activation: str):
    """The ``output`` layer. It computes in float32 even under a mixed-precision
    policy (Keras' advice), so probabilities near 0 and 1 are not rounded to float16."""
    from keras import layers

    return layers.Dense(n_classes, activation=activation, dtype="float32", name="output")(x)


def pooled_head(x, n_classes: int, activation: str, dropout: float):
    """Global average pooling (``gap``), optional ``dropout``, then the ``output`` layer."""
    from keras import layers

    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return output_dense(x, n_classes, activation)
