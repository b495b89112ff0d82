"""What a trained CNN computes inside: feature maps and first-layer filters (notebook 04).

* :func:`feature_maps` - the outputs of chosen layers for a batch of images,
  through one ``keras.Model`` that shares the trained model's layers and stops
  where you ask (no retraining, no copy of the weights).
* :func:`image_layers` - the layers whose outputs are images (feature maps), the
  default choice of :func:`feature_maps` and of the feature-map explorer
  (:func:`radlab.widgets.feature_maps.feature_map_explorer`).
* :func:`first_layer_filters` - the kernels of the first convolution, to compare
  with the hand-made ones in :data:`radlab.convolution.KERNELS`.
* :func:`feature_extractor`, :func:`as_model_input` - the sub-model behind
  :func:`feature_maps`, and the input-shape rules it applies.

Keras is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import DataFormatError, ModelConfigError

__all__ = ["as_model_input", "feature_extractor", "feature_maps", "first_layer_filters", "image_layers"]

# Layers that compute a non-linearity: their outputs are "the feature maps" the
# next block sees. Conv layers with a fused activation count too (see image_layers).
_ACTIVATION_TYPES = frozenset({"Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"})


def _output_shape(layer) -> tuple | None:
    try:
        output = layer.output
    except (AttributeError, ValueError):  # never called, or called several times
        return None
    if isinstance(output, (list, tuple, dict)):
        return None
    return tuple(output.shape)


def _has_activation(layer) -> bool:
    activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
    return type(layer).__name__ in _ACTIVATION_TYPES or activation != "linear"


def image_layers(model, *, activations_only: bool = True) -> list[str]:
    """Names of the layers whose outputs are stacks of images (feature maps).

    Parameters
    ----------
    model : keras.Model
        A functional or Sequential model (e.g. :func:`radlab.models.small_cnn`).
    activations_only : bool, default True
        Only layers that apply a non-linearity (``Activation``/``ReLU`` layers,
        or convolutions with a fused activation): what the next layer sees, e.g.
        ``block1_relu``, ``block2_relu``... When the model has none, or with
        False, every layer with a 4D output ``(batch, height, width, channels)``
        except the input.

    Returns
    -------
    list of str
        Layer names, input side first.

    Examples
    --------
    >>> image_layers(rl.models.small_cnn((64, 64, 1), 1))      # doctest: +SKIP
    ['block1_relu', 'block2_relu', 'block3_relu']
    """
    spatial = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        shape = _output_shape(layer)
        if shape is not None and len(shape) == 4:
            spatial.append(layer)
    if activations_only:
        chosen = [layer for layer in spatial if _has_activation(layer)]
        if chosen:
            return [layer.name for layer in chosen]
    return [layer.name for layer in spatial]


def _check_model(model) -> None:
    if not hasattr(model, "get_layer") or not hasattr(model, "layers"):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a Sequential model that was never built
        inputs = None
    if not inputs:
        raise ModelConfigError(
            f"model {model.name!r} has no symbolic inputs (a subclassed model, or a Sequential "
            "model that was never built); build it with keras.Input(shape=...) or call it once"
        )


def _layer(model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        known = ", ".join(layer.name for layer in model.layers)
        raise ModelConfigError(f"model {model.name!r} has no layer {name!r}; its layers are: {known}") from None


def feature_extractor(model, layer_names: Sequence[str] | str | None = None):
    """A ``keras.Model`` from ``model``'s input to the outputs of ``layer_names``.

    It shares the layers (and so the trained weights) of ``model``; building it
    costs milliseconds and nothing is copied.

    Parameters
    ----------
    model : keras.Model
        A functional or built Sequential model.
    layer_names : str or sequence of str, optional
        Default :func:`image_layers` of the model.

    Returns
    -------
    keras.Model
        With one output per name, in the order given (called on a batch it
        returns a list of arrays, or one array for a single name).
    """
    import keras

    _check_model(model)
    names = _names(model, layer_names)
    outputs = [_layer(model, name).output for name in names]
    # A single input is passed bare: Keras warns when a list of one meets a bare tensor.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs, name=f"{model.name}_features")


def _names(model, layer_names) -> list[str]:
    if layer_names is None:
        names = image_layers(model)
        if not names:
            raise ModelConfigError(
                f"model {model.name!r} has no layer with an image-shaped output; pass layer_names"
            )
        return names
    if isinstance(layer_names, str):
        return [layer_names]
    names = list(layer_names)
    if not names:
        raise ValueError("layer_names is empty; give at least one layer name")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"layer names must be strings, got {name!r}")
    return names


def as_model_input(model, images) -> np.ndarray:
    """``images`` as a float32 batch shaped for ``model``'s input.

    Accepts a batch ``(n, ...)`` matching ``model.input_shape``, a single image
    (one axis fewer), or grey images without the channel axis ``(n, h, w)`` for a
    model that expects ``(h, w, 1)``.
    """
    expected = tuple(model.inputs[0].shape)  # (None, h, w[, c])
    x = np.asarray(images, dtype=np.float32)
    spatial = expected[1:]

    def matches(shape):
        return len(shape) == len(spatial) and all(e is None or e == s for e, s in zip(spatial, shape))

    if matches(x.shape[1:]):
        return x
    if matches(x.shape):
        return x[None]
    if len(spatial) == 3 and spatial[2] == 1:
        if matches(x.shape[1:] + (1,)):
            return x[..., None]
        if matches(x.shape + (1,)):
            return x[None, ..., None]
    raise DataFormatError(
        f"images of shape {x.shape} do not fit model {model.name!r}, which takes "
        f"{('batch',) + tuple(spatial)}; pass a batch (n, {', '.join(map(str, spatial))}) or one image"
    )


def feature_maps(
    model, images, layer_names: Sequence[str] | str | None = None, *, batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """Outputs of chosen layers of a model for a batch of images: the feature maps.

    Parameters
    ----------
    model : keras.Model
        A functional or built Sequential model, e.g. a trained
        :func:`radlab.models.small_cnn`.
    images : array_like
        A batch shaped like the model's input ``(n, height, width, channels)``,
        grey images ``(n, height, width)`` for a one-channel model, or a single
        image. Same units and scaling as in training.
    layer_names : str or sequence of str, optional
        Layers to read, e.g. ``["block1_relu", "block3_relu"]``. Default
        :func:`image_layers` (the activations of every conv block).
    batch_size : int, default 64
        Images per forward pass (limits memory for large batches).

    Returns
    -------
    dict of str -> numpy.ndarray
        In the order of ``layer_names``; each array float32, shape
        ``(n, h, w, channels)`` for a conv layer (``h``, ``w`` in pixels of that
        layer: halved by each 2x2 pooling), or whatever the layer outputs.
        Computed in inference mode (batch normalisation uses its moving
        averages, dropout is off).

    Raises
    ------
    ModelConfigError
        An unknown layer name (the message lists the model's layers), or a
        model without symbolic inputs.
    DataFormatError
        Images that do not fit the model's input.

    Examples
    --------
    >>> maps = feature_maps(model, data.x[:8], ["block1_relu"])   # doctest: +SKIP
    >>> maps["block1_relu"].shape                                   # doctest: +SKIP
    (8, 64, 64, 16)
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    extractor = feature_extractor(model, layer_names)
    names = _names(model, layer_names)
    x = as_model_input(model, images)
    chunks: list[list[np.ndarray]] = [[] for _ in names]
    for start in range(0, len(x), batch_size):
        # A direct call (not predict): no tf.function tracing, fast for a few images.
        outputs = extractor(x[start:start + batch_size], training=False)
        if not isinstance(outputs, (list, tuple)):  # Keras unwraps a list of one output
            outputs = [outputs]
        for store, output in zip(chunks, outputs):
            store.append(np.asarray(output, dtype=np.float32))
    return {
        name: np.concatenate(store) if store else np.zeros((0,), np.float32)
        for name, store in zip(names, chunks)
    }


def first_layer_filters(model, layer_name: str | None = None) -> np.ndarray:
    """The kernels (filters) a convolution layer has learned, one per output channel.

    Parameters
    ----------
    model : keras.Model
    layer_name : str, optional
        A convolution layer; default the first layer with a 4D kernel (Conv2D,
        DepthwiseConv2D) in the model, nested models included.

    Returns
    -------
    numpy.ndarray, float32, shape (filters, kh, kw, in_channels)
        Filter ``i`` is ``result[i]``: ``kh x kw`` weights per input channel
        (``result[i, ..., 0]`` for a grey-image model). Weights only, without
        the bias.

    Raises
    ------
    ModelConfigError
        The model has no 2D convolution, or ``layer_name`` is not one.
    """
    _check_model(model)
    if layer_name is not None:
        layer = _layer(model, layer_name)
        kernel = _kernel(layer)
        if kernel is None:
            raise ModelConfigError(
                f"layer {layer_name!r} ({type(layer).__name__}) has no 2D convolution kernel"
            )
    else:
        kernel = _first_kernel(model)
        if kernel is None:
            raise ModelConfigError(f"model {model.name!r} has no 2D convolution layer")
    # Keras stores (kh, kw, in_channels, filters); filters first reads naturally.
    return np.transpose(np.asarray(kernel, dtype=np.float32), (3, 0, 1, 2))


def _kernel(layer) -> Any:
    kernel = None
    for attribute in ("kernel", "depthwise_kernel"):
        try:
            kernel = getattr(layer, attribute, None)
        except (AttributeError, ValueError):  # an unbuilt layer
            kernel = None
        if kernel is not None:
            break
    if kernel is None or len(kernel.shape) != 4:
        return None
    return kernel.numpy() if hasattr(kernel, "numpy") else np.asarray(kernel)


def _first_kernel(model) -> Any:
    for layer in model.layers:
        if hasattr(layer, "layers") and callable(getattr(layer, "get_layer", None)):
            found = _first_kernel(layer)
        else:
            found = _kernel(layer)
        if found is not None:
            return found
    return None
