"""Keras models for the notebooks, and a table that describes any Keras model.

* :func:`mlp` - a multilayer perceptron (notebook 03: layers, depth vs accuracy).
* :func:`small_cnn` - conv blocks + global average pooling (notebook 04).
* :func:`resnet` - a small residual CNN for 28-128 pixel radiographs (notebook 06).
* :func:`unet` - a 2D U-Net for segmentation (notebook 08).
* :func:`pretrained_backbone` - an ImageNet CNN that takes grey images (notebook 05).
* :func:`describe` - layers, output shapes, parameters and FLOPs per image.
* :func:`loss_for` - the Keras loss that matches a model's output layer.

Every builder returns an uncompiled ``keras.Model`` made of Keras built-in
layers only, so saved ``.keras`` files load with ``safe_mode=True``. The output
rule is the same everywhere: ``n_classes=1`` gives one sigmoid unit (binary),
``n_classes>=2`` a softmax; ``output="sigmoid"`` gives multi-label outputs.

Names are resolved lazily: ``import radlab.models`` does not import Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

_LAZY = {
    "mlp": "radlab.models.builders",
    "small_cnn": "radlab.models.builders",
    "resnet": "radlab.models.builders",
    "loss_for": "radlab.models.builders",
    "unet": "radlab.models.unet",
    "pretrained_backbone": "radlab.models.backbones",
    "BACKBONES": "radlab.models.backbones",
    "describe": "radlab.models.describe",
    "ModelSummary": "radlab.models.describe",
    "LayerRow": "radlab.models.describe",
    "ModelConfigError": "radlab.errors",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


if TYPE_CHECKING:  # pragma: no cover - for IDEs and type checkers only
    from ..errors import ModelConfigError  # noqa: F401
    from .backbones import BACKBONES, pretrained_backbone  # noqa: F401
    from .builders import loss_for, mlp, resnet, small_cnn  # noqa: F401
    from .describe import LayerRow, ModelSummary, describe  # noqa: F401
    from .unet import unet  # noqa: F401
