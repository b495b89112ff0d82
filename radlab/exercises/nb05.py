"""Exercises of notebook 05 (transfer learning)."""

from __future__ import annotations

import numpy as np

from . import exercise


def _count(weights) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


@exercise("05.trainable_params", "Parameters that train when the backbone is frozen")
def trainable_params(answer, *, model):
    """``answer``: the number of parameters the optimizer updates in ``model`` (a frozen classifier)."""
    value = float(np.asarray(answer, dtype=np.float64).reshape(()))
    expected = _count(model.trainable_weights)
    if value == expected:
        return True, ""
    if value != int(value) or value < 0:
        return False, "a number of parameters is a whole, non-negative number"
    total = model.count_params()
    head = model.get_layer("transfer_output")
    n_features = int(head.get_weights()[0].shape[0])
    if value == total:
        return False, ("that is every parameter, frozen ones included: count only those in "
                       "model.trainable_weights (or read 'Trainable params' in model.summary())")
    if value == total - expected:
        return False, "that is the frozen part: the question asks for the parameters that still train"
    if value == n_features:
        return False, "close: each output unit also has a bias"
    if value == 0:
        return False, "something must learn: the new head on top of the frozen features trains"
    return False, ("only the new head trains: one weight per feature plus a bias (or sum the sizes of "
                   "model.trainable_weights)")


@exercise("05.imagenet_input", "Prepare a grey radiograph for MobileNetV2")
def imagenet_input(answer, *, image):
    """``answer``: ``image`` (H, W, values in [0, 1]) as MobileNetV2 expects it: (H, W, 3) in [-1, 1]."""
    image = np.asarray(image, dtype=np.float64)
    out = np.asarray(answer, dtype=np.float64)
    expected = np.repeat(image[..., None], 3, axis=-1) * 2.0 - 1.0
    if out.shape != expected.shape:
        if out.shape == image.shape or out.shape == (*image.shape, 1):
            return False, "ImageNet models take colour images: the grey image needs 3 channels"
        return False, f"expected an array of shape {expected.shape} (height, width, 3 channels), got {out.shape}"
    if not np.isfinite(out).all():
        return False, "the array contains NaN or infinite values"
    if not (np.allclose(out[..., 0], out[..., 1]) and np.allclose(out[..., 1], out[..., 2])):
        return False, "a grey image is the same in red, green and blue: copy it into all three channels"
    if np.allclose(out, expected, atol=1e-4):
        return True, ""
    low, high = out.min(), out.max()
    if np.allclose(out, expected * 127.5 + 127.5, atol=1e-2):
        return False, ("these are 0-255 grey levels, what ImageNet photos start as; MobileNetV2's "
                       "preprocess_input then maps them to another range - which one?")
    if np.allclose(out, (expected + 1) / 2, atol=1e-4):
        return False, "still in [0, 1]: MobileNetV2 was trained on values between -1 and 1"
    if low < -1.0001 or high > 1.0001:
        return False, (f"your values run from {low:.2f} to {high:.2f}; MobileNetV2 expects -1 (black) to "
                       "1 (white). (Subtracting ImageNet channel means is ResNet50's preprocessing.)")
    return False, "black (0) should become -1 and white (1) should become +1, linearly in between"


@exercise("05.largest_gain", "Where transfer helps most")
def largest_gain(answer, *, result, method="finetune"):
    """``answer``: the training-set size at which ``method`` beats scratch by most AUC in ``result``."""
    gains = result.gain(method)
    try:
        value = int(np.asarray(answer).reshape(()))
    except (TypeError, ValueError):
        return False, f"answer with one training-set size, one of {list(gains)}"
    if value not in gains:
        return False, f"answer with one of the sizes on the curve: {list(gains)}"
    best = max(gains, key=gains.get)
    if value == best:
        return True, ""
    if value == min(gains, key=gains.get):
        return False, "that is where transfer helps least: look for the largest vertical gap between the curves"
    return False, ("compare the vertical gap between the transfer and the scratch curve at each size "
                   f"(result.gain({method!r}) lists them)")
