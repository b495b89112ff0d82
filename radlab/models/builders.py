"""Classifiers for the notebooks: a multilayer perceptron, a small CNN and a small ResNet.

Every builder returns an uncompiled :class:`keras.Model` built from Keras
built-in layers only (no ``Lambda``), so a saved ``.keras`` file loads with
``keras.saving.load_model(path, safe_mode=True)``. Layers have readable names
(``hidden_1``, ``block2_conv``, ``stage3_block1_out``, ``output``) that the
notebooks use to pick layers, e.g. for the feature-map explorer.

Output head, the same for all builders (see also :func:`loss_for`):

* ``n_classes=1`` -> one sigmoid unit: the probability of the positive class
  (pneumonia vs normal). Train with ``binary_crossentropy`` on 0/1 labels.
* ``n_classes>=2`` -> softmax over ``n_classes`` units: one label per image.
  Train with ``sparse_categorical_crossentropy`` on integer labels.
* ``output="sigmoid"`` with ``n_classes>=2`` -> independent sigmoids for
  multi-label problems (several findings per image, e.g. ChestMNIST);
  ``output="linear"`` gives raw logits.

The output layer computes in float32 even under a mixed-precision policy.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._common import (
    ModelConfigError,
    any_shape,
    check_int,
    check_rate,
    conv_bn_relu,
    head_activation,
    image_shape,
    output_dense,
    pooled_head,
    stem,
)

__all__ = ["mlp", "small_cnn", "resnet", "loss_for"]


def mlp(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    depth: int = 2,
    width: int = 64,
    activation: str = "relu",
    dropout: float = 0.0,
    output: str = "auto",
    rescale: float | None = None,
    name: str | None = None,
):
    """A multilayer perceptron: flatten, ``depth`` dense hidden layers, an output layer.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one input without the batch axis, e.g. ``(28, 28)`` pixels.
        It is flattened to a vector of ``prod(input_shape)`` numbers.
    n_classes : int
        1 for a binary problem (one sigmoid unit), else the number of classes
        (softmax). See the module docstring for the rule and ``output``.
    depth : int, default 2
        Number of hidden layers. 0 gives logistic (softmax) regression.
    width : int, default 64
        Units in each hidden layer.
    activation : str, default "relu"
        Activation of the hidden layers (any Keras activation name).
    dropout : float, default 0.0
        Dropout rate after each hidden layer; 0 adds no Dropout layers.
    output : {"auto", "sigmoid", "softmax", "linear"}, default "auto"
        Output activation; "auto" applies the rule above.
    rescale : float, optional
        Multiply the input by this first, e.g. ``1/255`` for 8-bit images.
    name : str, optional
        Model name; default ``"mlp_<depth>x<width>"``.

    Returns
    -------
    keras.Model
        Uncompiled. Layers: ``input``, ``flatten``, ``hidden_1`` ...
        ``hidden_<depth>`` (each followed by ``dropout_<i>`` when dropout > 0),
        ``output``. Parameter count, with ``F = prod(input_shape)`` and
        ``K`` output units: ``(F+1)*width + (depth-1)*(width+1)*width +
        (width+1)*K`` for depth >= 1, ``(F+1)*K`` for depth 0.

    Examples
    --------
    >>> model = mlp((28, 28), n_classes=1, depth=3, width=32)
    >>> [layer.name for layer in model.layers][-2:]
    ['hidden_3', 'output']
    """
    import keras
    from keras import layers

    shape = any_shape(input_shape, "mlp")
    n_classes = check_int("n_classes", n_classes, minimum=1)
    depth = check_int("depth", depth, minimum=0)
    width = check_int("width", width, minimum=1)
    dropout = check_rate("dropout", dropout)
    head = head_activation(n_classes, output)

    inputs = keras.Input(shape=shape, name="input")
    x = inputs
    if rescale is not None:
        x = layers.Rescaling(float(rescale), name="rescale")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in range(1, depth + 1):
        x = layers.Dense(width, activation=activation, name=f"hidden_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = output_dense(x, n_classes, head)
    return keras.Model(inputs, outputs, name=name or f"mlp_{depth}x{width}")


def small_cnn(
    input_shape: Sequence[int | None],
    n_classes: int,
    *,
    depth: int = 3,
    width: int = 16,
    kernel_size: int = 3,
    batch_norm: bool = True,
    bn_momentum: float = 0.99,
    dropout: float = 0.0,
    pooling: str | None = "max",
    output: str = "auto",
    rescale: float | None = None,
    name: str | None = None,
):
    """A plain CNN: ``depth`` conv blocks, global average pooling, a dense output layer.

    Block ``b`` (1-based) is Conv2D (``width * 2**(b-1)`` filters,
    ``kernel_size`` pixels, 'same' padding) -> BatchNormalization -> ReLU ->
    2x2 pooling, so each block halves the image and doubles the filters.

    Parameters
    ----------
    input_shape : tuple
        ``(height, width)`` or ``(height, width, channels)`` in pixels, without
        the batch axis. A missing channel axis is added inside the model, so
        ``(N, 28, 28)`` arrays can be fed directly. Height and width may be
        None (any size) when channels are given.
    n_classes : int
        1 for binary (sigmoid), else the number of classes (softmax); see the
        module docstring.
    depth : int, default 3
        Number of conv blocks. The image must be at least ``2**depth`` pixels
        on each side when pooling is on.
    width : int, default 16
        Filters in the first block; each later block doubles them.
    kernel_size : int, default 3
        Convolution kernel size in pixels.
    batch_norm : bool, default True
        Add BatchNormalization after each convolution (the convolution then
        has no bias, which BatchNormalization would cancel).
    bn_momentum : float, default 0.99
        How slowly BatchNormalization's running mean and variance (used after
        training) follow the batches. Keras' 0.99 suits long runs; for runs of
        a few hundred steps 0.9 keeps them in step with the weights, otherwise
        predicted probabilities come out skewed although the ranking (AUC) is good.
    dropout : float, default 0.0
        Dropout rate before the output layer.
    pooling : {"max", "avg", None}, default "max"
        2x2 pooling at the end of each block; None keeps full resolution.
    output : {"auto", "sigmoid", "softmax", "linear"}, default "auto"
        Output activation; "auto" applies the rule in the module docstring.
    rescale : float, optional
        Multiply the input by this first, e.g. ``1/255`` for 8-bit images.
    name : str, optional
        Model name; default ``"small_cnn"``.

    Returns
    -------
    keras.Model
        Uncompiled. Layers named ``block<b>_conv``, ``block<b>_bn``,
        ``block<b>_relu`` (the feature maps), ``block<b>_pool``, then
        ``gap``, ``dropout`` (if any) and ``output``.

    Examples
    --------
    >>> model = small_cnn((28, 28, 1), n_classes=1)
    >>> model.get_layer("block1_relu").output.shape
    (None, 28, 28, 16)
    """
    import keras
    from keras import layers

    shape = image_shape(input_shape, "small_cnn")
    n_classes = check_int("n_classes", n_classes, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    dropout = check_rate("dropout", dropout)
    bn_momentum = check_rate("bn_momentum", bn_momentum)
    head = head_activation(n_classes, output)
    pools = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D, None: None}
    if pooling not in pools:
        raise ModelConfigError(f"pooling must be 'max', 'avg' or None, got {pooling!r}")
    if pooling is not None:
        _check_min_size(shape, 2**depth, "small_cnn", f"depth={depth} pooling steps")

    inputs, x = stem(shape, rescale)
    for b in range(1, depth + 1):
        x = conv_bn_relu(x, width * 2 ** (b - 1), kernel_size, f"block{b}", batch_norm=batch_norm,
                         bn_momentum=bn_momentum)
        if pooling is not None:
            x = pools[pooling](2, name=f"block{b}_pool")(x)
    outputs = pooled_head(x, n_classes, head, dropout)
    return keras.Model(inputs, outputs, name=name or "small_cnn")


def resnet(
    input_shape: Sequence[int | None],
    n_classes: int,
    *,
    widths: Sequence[int] = (16, 32, 64),
    blocks_per_stage: int = 2,
    stem_stride: int | None = None,
    bn_momentum: float = 0.99,
    dropout: float = 0.0,
    output: str = "auto",
    rescale: float | None = None,
    name: str | None = None,
):
    """A small residual CNN (ResNet v1 basic blocks) for 28-128 pixel radiographs.

    Stem: 3x3 Conv2D -> BatchNormalization -> ReLU (stride ``stem_stride``).
    Then one stage per entry of ``widths``, each ``blocks_per_stage`` basic
    blocks (two 3x3 convolutions with BatchNormalization and a shortcut). The
    first block of every stage after the first halves the image (stride 2)
    and gets a 1x1 projection shortcut. Global average pooling and a dense
    output layer finish it. The last BatchNormalization of each block starts
    with gamma = 0, so every block begins as the identity, which makes deep
    stacks train stably ("zero-init residual").

    The defaults (about 175k parameters, about 40 MFLOPs per 28x28 image) are
    sized to train on 28x28 MedMNIST images on a laptop CPU in minutes.

    Parameters
    ----------
    input_shape : tuple
        ``(height, width)`` or ``(height, width, channels)`` in pixels, without
        the batch axis; a missing channel axis is added inside the model.
    n_classes : int
        1 for binary (sigmoid), else the number of classes (softmax); see the
        module docstring.
    widths : sequence of int, default (16, 32, 64)
        Filters in each stage; its length is the number of stages.
    blocks_per_stage : int, default 2
        Residual blocks per stage (2 blocks x 3 stages x 2 convs + stem +
        head = a "ResNet-14").
    stem_stride : {1, 2, 4}, optional
        Downsampling in the stem. Default: 1 below 64 pixels (keep all detail
        of a 28 px image), 2 from 64 pixels, 4 (a stride-2 convolution and a
        2x2 max pooling) from 128 pixels, so the first stage works on 28-64
        pixel maps whatever the input size.
    bn_momentum : float, default 0.99
        BatchNormalization momentum, as in :func:`small_cnn` (0.9 for short runs).
    dropout : float, default 0.0
        Dropout rate before the output layer.
    output : {"auto", "sigmoid", "softmax", "linear"}, default "auto"
        Output activation; "auto" applies the rule in the module docstring.
    rescale : float, optional
        Multiply the input by this first, e.g. ``1/255`` for 8-bit images.
    name : str, optional
        Model name; default ``"resnet"``.

    Returns
    -------
    keras.Model
        Uncompiled. Layers named ``stem_conv``, ``stem_bn``, ``stem_relu``,
        ``stage<s>_block<b>_conv1`` / ``_bn1`` / ``_relu1`` / ``_conv2`` /
        ``_bn2`` / ``_shortcut`` / ``_shortcut_bn`` / ``_add`` / ``_out``
        (the block's feature maps), ``gap``, ``dropout`` (if any), ``output``.

    Examples
    --------
    >>> model = resnet((28, 28, 1), n_classes=1)
    >>> model.get_layer("stage3_block2_out").output.shape
    (None, 7, 7, 64)
    """
    import keras
    from keras import layers

    shape = image_shape(input_shape, "resnet")
    n_classes = check_int("n_classes", n_classes, minimum=1)
    widths = tuple(widths)
    if not widths:
        raise ModelConfigError("resnet needs at least one stage: widths=(16, 32, 64) for example")
    widths = tuple(check_int("widths[i]", w, minimum=1) for w in widths)
    blocks_per_stage = check_int("blocks_per_stage", blocks_per_stage, minimum=1)
    dropout = check_rate("dropout", dropout)
    bn_momentum = check_rate("bn_momentum", bn_momentum)
    head = head_activation(n_classes, output)
    if stem_stride is None:
        known = [d for d in shape[:2] if d is not None]
        smallest = min(known) if known else 0
        stem_stride = 4 if smallest >= 128 else 2 if smallest >= 64 else 1
    if stem_stride not in (1, 2, 4):
        raise ModelConfigError(f"stem_stride must be 1, 2 or 4, got {stem_stride!r}")
    _check_min_size(
        shape, stem_stride * 2 ** (len(widths) - 1), "resnet",
        f"stem_stride={stem_stride} and {len(widths)} stages",
    )

    inputs, x = stem(shape, rescale)
    x = conv_bn_relu(x, widths[0], 3, "stem", strides=min(stem_stride, 2), bn_momentum=bn_momentum)
    if stem_stride == 4:
        x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for s, filters in enumerate(widths, start=1):
        for b in range(1, blocks_per_stage + 1):
            strides = 2 if (s > 1 and b == 1) else 1
            x = _basic_block(x, filters, strides, f"stage{s}_block{b}", bn_momentum)
    outputs = pooled_head(x, n_classes, head, dropout)
    return keras.Model(inputs, outputs, name=name or "resnet")


def _basic_block(x, filters: int, strides: int, name: str, bn_momentum: float):
    from keras import layers

    shortcut = x
    y = conv_bn_relu(x, filters, 3, name, strides=strides, suffix="1", bn_momentum=bn_momentum)
    y = layers.Conv2D(
        filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
        name=f"{name}_conv2",
    )(y)
    y = layers.BatchNormalization(momentum=bn_momentum, gamma_initializer="zeros", name=f"{name}_bn2")(y)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(
            filters, 1, strides=strides, use_bias=False, kernel_initializer="he_normal",
            name=f"{name}_shortcut",
        )(x)
        shortcut = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_shortcut_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.Activation("relu", name=f"{name}_out")(y)


def _check_min_size(shape: tuple, minimum: int, builder: str, why: str) -> None:
    known = [d for d in shape[:2] if d is not None]
    if known and min(known) < minimum:
        raise ModelConfigError(
            f"{builder}: images of {shape[0]}x{shape[1]} pixels are too small for {why}, which "
            f"need at least {minimum}x{minimum} pixels; use a larger image or fewer stages/blocks"
        )


def loss_for(model) -> str:
    """The Keras loss name that matches a radlab model's output layer.

    Parameters
    ----------
    model : keras.Model
        A model whose last layer has a sigmoid, softmax or linear activation
        (every radlab builder's ``output`` layer).

    Returns
    -------
    str
        ``"binary_crossentropy"`` for sigmoid outputs (binary or multi-label,
        labels 0/1), ``"sparse_categorical_crossentropy"`` for softmax outputs
        (integer class labels), ``"mse"`` for linear outputs (regression).

    Examples
    --------
    >>> model = small_cnn((28, 28, 1), n_classes=1)
    >>> model.compile(optimizer="adam", loss=loss_for(model), metrics=["auc"])
    """
    layer = model.layers[-1]
    # Dense, Conv2D and Activation layers all keep their function in .activation
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    losses = {
        "sigmoid": "binary_crossentropy",
        "softmax": "sparse_categorical_crossentropy",
        "linear": "mse",
    }
    if name not in losses:
        raise ModelConfigError(
            f"cannot tell the loss for {model.name!r}: its last layer {layer.name!r} has "
            f"activation {name!r}; pass a loss to model.compile yourself"
        )
    return losses[name]
