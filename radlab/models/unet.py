"""A 2D U-Net for segmentation (Ronneberger et al., MICCAI 2015), sized for teaching."""

from __future__ import annotations

from collections.abc import Sequence

from ._common import ModelConfigError, check_int, conv_bn_relu, head_activation, image_shape, stem

__all__ = ["unet"]


def unet(
    input_shape: Sequence[int | None],
    n_classes: int = 1,
    *,
    depth: int = 4,
    width: int = 16,
    batch_norm: bool = True,
    output: str = "auto",
    rescale: float | None = None,
    name: str | None = None,
):
    """A 2D U-Net: an encoder-decoder with skip connections, one output per pixel.

    Encoder level ``d`` (1..depth) is two 3x3 Conv2D -> BatchNormalization ->
    ReLU steps with ``width * 2**(d-1)`` filters, then 2x2 max pooling. The
    bottleneck has ``width * 2**depth`` filters. Each decoder level upsamples
    with a 2x2 transposed convolution (stride 2), concatenates the encoder
    feature maps of the same size (the skip connection) and applies two conv
    steps. A 1x1 convolution gives the output, the same height and width as
    the input.

    Parameters
    ----------
    input_shape : tuple
        ``(height, width)`` or ``(height, width, channels)`` in pixels, without
        the batch axis. Height and width must be divisible by ``2**depth``;
        they may be None (any suitable size) when channels are given.
    n_classes : int, default 1
        1 for a binary mask (one sigmoid channel: probability that the pixel
        is foreground; train with ``binary_crossentropy`` or a Dice loss).
        ``n_classes >= 2``: softmax over the classes per pixel, background
        being one of them (train with ``sparse_categorical_crossentropy`` on
        an integer label map).
    depth : int, default 4
        Number of pooling steps (encoder levels).
    width : int, default 16
        Filters at the first level; doubled at each level down. The original
        paper used 64 (31 M parameters); 16 gives about 1.9 M.
    batch_norm : bool, default True
        Add BatchNormalization after each convolution.
    output : {"auto", "sigmoid", "softmax", "linear"}, default "auto"
        Per-pixel activation; "auto" applies the rule above, "sigmoid" with
        several classes gives overlapping (multi-label) masks.
    rescale : float, optional
        Multiply the input by this first, e.g. ``1/255`` for 8-bit images.
    name : str, optional
        Model name; default ``"unet"``.

    Returns
    -------
    keras.Model
        Uncompiled; output shape ``(batch, height, width, n_classes)``.
        Layers named ``enc<d>_conv1`` ... ``enc<d>_relu2``, ``enc<d>_pool``,
        ``bottleneck_conv1`` ..., ``dec<d>_up``, ``dec<d>_concat``,
        ``dec<d>_conv1`` ... ``dec<d>_relu2``, ``output``.

    Raises
    ------
    ModelConfigError
        If height or width is not divisible by ``2**depth``; the message
        gives the nearest sizes that work.

    Examples
    --------
    >>> model = unet((128, 128, 1), n_classes=1, depth=4)
    >>> model.output_shape
    (None, 128, 128, 1)
    """
    import keras
    from keras import layers

    shape = image_shape(input_shape, "unet")
    n_classes = check_int("n_classes", n_classes, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    head = head_activation(n_classes, output)
    _check_divisible(shape, depth)

    inputs, x = stem(shape, rescale)
    skips = []
    for d in range(1, depth + 1):
        x = _double_conv(x, width * 2 ** (d - 1), f"enc{d}", batch_norm)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{d}_pool")(x)
    x = _double_conv(x, width * 2**depth, "bottleneck", batch_norm)
    for d in range(depth, 0, -1):
        filters = width * 2 ** (d - 1)
        x = layers.Conv2DTranspose(
            filters, 2, strides=2, kernel_initializer="he_normal", name=f"dec{d}_up"
        )(x)
        x = layers.Concatenate(name=f"dec{d}_concat")([x, skips[d - 1]])
        x = _double_conv(x, filters, f"dec{d}", batch_norm)
    # float32 even under mixed precision, so probabilities are not rounded to float16
    outputs = layers.Conv2D(n_classes, 1, activation=head, dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name=name or "unet")


def _double_conv(x, filters: int, name: str, batch_norm: bool):
    x = conv_bn_relu(x, filters, 3, name, batch_norm=batch_norm, suffix="1")
    return conv_bn_relu(x, filters, 3, name, batch_norm=batch_norm, suffix="2")


def _check_divisible(shape: tuple, depth: int) -> None:
    factor = 2**depth
    bad = [d for d in shape[:2] if d is not None and d % factor]
    if not bad:
        return
    height, width = shape[:2]
    fixed = tuple(None if d is None else -(-d // factor) * factor for d in (height, width))
    known = [d for d in (height, width) if d is not None]
    max_depth = min((d & -d).bit_length() - 1 for d in known)  # powers of 2 dividing all
    hint = f"pad or resize the images to {fixed[0]}x{fixed[1]} pixels"
    if max_depth >= 1:
        hint += f", or use depth={max_depth} or less"
    raise ModelConfigError(
        f"unet with depth={depth} halves the image {depth} times, so height and width must be "
        f"divisible by 2**{depth} = {factor}; got {height}x{width} pixels: {hint}"
    )
