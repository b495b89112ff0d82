"""ImageNet-pretrained backbones for transfer learning, ready for grey radiographs.

A radiograph has one channel and its own value range; ImageNet models expect
three channels preprocessed the way the model was trained. :func:`pretrained_backbone`
puts both steps inside the model as built-in layers (no ``Lambda``), so the
model takes the images as they are and still loads with ``safe_mode=True``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DownloadError
from ._common import ModelConfigError, image_shape, stem

__all__ = ["pretrained_backbone", "BACKBONES"]

# name -> (keras.applications constructor, ImageNet preprocessing mode; see preprocess_input)
BACKBONES = {
    "mobilenet_v2": ("MobileNetV2", "tf"),  # x/127.5 - 1: values in [-1, 1]
    "efficientnet_b0": ("EfficientNetB0", "none"),  # scales and normalizes inside itself
    "resnet50": ("ResNet50", "caffe"),  # RGB -> BGR, minus the ImageNet mean per channel
}
_IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
_MIN_SIZE = 32  # keras.applications refuses smaller images


def pretrained_backbone(
    name: str = "mobilenet_v2",
    input_shape: Sequence[int | None] = (224, 224, 1),
    *,
    weights: str | os.PathLike | None = "imagenet",
    trainable: bool = False,
    pooling: str | None = "avg",
    value_range: tuple[float, float] = (0.0, 255.0),
):
    """An ImageNet CNN without its classifier, taking grey or RGB images as they are.

    The returned model is: input -> (grey to RGB: the channel copied three
    times) -> the backbone's own ``preprocess_input`` as built-in layers ->
    the backbone (layer ``"backbone"``) -> pooled features. Add a head for a
    new task with the functional API, e.g.
    ``keras.layers.Dense(1, activation="sigmoid")(features.output)``.

    Parameters
    ----------
    name : {"mobilenet_v2", "efficientnet_b0", "resnet50"}, default "mobilenet_v2"
        Architecture from ``keras.applications``.
    input_shape : tuple, default (224, 224, 1)
        ``(height, width)`` or ``(height, width, channels)`` in pixels, with 1
        (grey) or 3 (RGB) channels; at least 32x32 pixels. ImageNet weights
        were trained at 224x224.
    weights : "imagenet", None or path, default "imagenet"
        "imagenet" downloads the weights (once, into ``~/.keras/models``);
        None starts from random weights (for tests and from-scratch
        baselines); a path loads a no-top ``.h5`` weights file.
    trainable : bool, default False
        Whether the backbone's weights are trained. Transfer learning starts
        frozen; to fine-tune later set
        ``model.get_layer("backbone").trainable = True`` and recompile with
        a small learning rate. Batch normalization stays in inference mode
        either way, as Keras recommends for fine-tuning.
    pooling : {"avg", "max", None}, default "avg"
        Global pooling of the last feature maps: a vector per image; None
        returns the feature maps.
    value_range : (float, float), default (0, 255)
        The values of black and white in the input images, e.g. (0, 1) for
        images scaled to [0, 1]. They are mapped to ImageNet's 0-255 first.

    Returns
    -------
    keras.Model
        Uncompiled, named ``"<name>_features"``.

    Raises
    ------
    ModelConfigError
        Unknown name, wrong channel count, images under 32 pixels, or a
        weights path that does not exist.
    DownloadError
        The ImageNet weights could not be downloaded (offline); the message
        says where to put the file by hand.

    Examples
    --------
    >>> features = pretrained_backbone("mobilenet_v2", (96, 96, 1), weights=None)
    >>> features.output_shape
    (None, 1280)
    """
    import keras

    if name not in BACKBONES:
        raise ModelConfigError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    shape = image_shape(input_shape, "pretrained_backbone")
    channels = shape[2] if len(shape) == 3 else 1
    if channels not in (1, 3):
        raise ModelConfigError(
            f"pretrained_backbone takes grey (1 channel) or RGB (3 channel) images, "
            f"got {channels} channels in input_shape {tuple(input_shape)!r}"
        )
    if any(d is not None and d < _MIN_SIZE for d in shape[:2]):
        raise ModelConfigError(
            f"{name} needs images of at least {_MIN_SIZE}x{_MIN_SIZE} pixels, got "
            f"{shape[0]}x{shape[1]}: resize them (e.g. keras.layers.Resizing) or use "
            "radlab.models.small_cnn / resnet, which work from 28 pixels"
        )
    if pooling not in ("avg", "max", None):
        raise ModelConfigError(f"pooling must be 'avg', 'max' or None, got {pooling!r}")
    if weights not in ("imagenet", None):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ModelConfigError(
                f"weights file not found: {path}. Pass the path of a no-top .h5 weights file "
                f"for {name}, weights='imagenet' to download it, or weights=None"
            )
        weights = str(path)

    inputs, x = stem(shape, rescale=None)
    x = _preprocess(x, name, channels, value_range)
    constructor = getattr(keras.applications, BACKBONES[name][0])
    try:
        base = constructor(
            include_top=False, weights=weights, input_shape=(shape[0], shape[1], 3),
            pooling=pooling, name="backbone",
        )
    except Exception as exc:
        if weights == "imagenet" and "URL fetch failure" in str(exc):
            keras_home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
            raise DownloadError(
                f"could not download the ImageNet weights of {name} ({exc}). Offline? "
                f"Download that URL elsewhere and copy the file into "
                f"{os.path.join(keras_home, 'models')}, or pass weights='path/to/file.h5', "
                f"or weights=None to train from scratch"
            ) from exc
        raise
    base.trainable = bool(trainable)
    outputs = base(x, training=False)
    return keras.Model(inputs, outputs, name=f"{name}_features")


def _preprocess(x, name: str, channels: int, value_range: tuple[float, float]):
    """Grey -> RGB and the backbone's ImageNet preprocessing, as built-in Keras layers."""
    import numpy as np
    from keras import layers

    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ModelConfigError(f"value_range must be (black, white) with white > black, got {value_range!r}")
    if channels == 1:
        x = layers.Concatenate(axis=-1, name="grey_to_rgb")([x, x, x])
    # value_range -> [0, 255]: y = scale * x + offset
    scale = 255.0 / (high - low)
    offset = -low * scale
    mode = BACKBONES[name][1]
    if mode == "tf":  # [0, 255] -> [-1, 1]
        scale, offset = scale / 127.5, offset / 127.5 - 1.0
    elif mode == "caffe":
        if channels == 3:
            # A fixed 1x1 convolution that swaps the R and B channels.
            flip = layers.Conv2D(3, 1, use_bias=False, trainable=False, name="rgb_to_bgr")
            x = flip(x)
            flip.set_weights([np.eye(3, dtype="float32")[::-1].reshape(1, 1, 3, 3)])
        offset = [offset - mean for mean in _IMAGENET_MEAN_BGR]
    if scale != 1.0 or np.any(np.asarray(offset) != 0.0):
        x = layers.Rescaling(scale, offset=offset, name="imagenet_preprocess")(x)
    return x
