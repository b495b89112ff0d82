"""Exercises of notebook 04 (convolutional networks)."""

from __future__ import annotations

import math

import numpy as np

from ..convolution import conv_output_size, convolve2d_by_hand, receptive_field, receptive_field_table
from . import exercise


def _as_int(answer) -> int | None:
    value = float(np.asarray(answer, dtype=np.float64).reshape(()))
    return int(value) if value == int(value) else None


@exercise("04.output_size", "Output size of a convolution")
def output_size(answer, *, size, kernel_size, stride=1, padding="valid"):
    expected = conv_output_size(size, kernel_size, stride, padding)
    value = _as_int(answer)
    if value is None:
        return False, "a number of pixels is a whole number"
    if value == expected:
        return True, ""
    pad = 0 if padding == "valid" else padding if isinstance(padding, int) else None
    if pad is not None:
        span = size + 2 * pad - kernel_size
        if value == span + 1 and stride > 1:
            return False, "that is the size at stride 1: with a stride the window jumps, so divide the span by it"
        if value == span // stride:
            return False, "one short: count the window's first position too (the '+ 1')"
        if value == math.ceil(size / stride):
            return False, f"that is what 'same' padding gives; here the padding is {padding!r}"
        if value == size:
            return False, "without padding the kernel cannot be centred on the edge pixels, so the output shrinks"
    return False, "slide the window along one axis: (size + 2*padding - kernel) // stride + 1"


def _edge_patterns(size: int = 12):
    ramp = np.zeros((size, size))
    ramp[size // 2:, :] = 1.0  # dark above, bright below: a horizontal edge
    return {
        "horizontal": ramp,
        "vertical": ramp.T.copy(),
        "flat": np.full((size, size), 0.7),
    }


@exercise("04.horizontal_edge", "A 3x3 kernel that finds horizontal edges")
def horizontal_edge(answer, **_context):
    kernel = np.asarray(answer, dtype=np.float64)
    if kernel.shape != (3, 3):
        return False, f"the kernel should be a 3x3 array, got shape {kernel.shape}"
    if not np.isfinite(kernel).all():
        return False, "the kernel contains NaN or infinite values"
    responses = {
        name: np.abs(convolve2d_by_hand(image, kernel)).max()
        for name, image in _edge_patterns().items()
    }
    if responses["horizontal"] < 1e-6:
        if responses["vertical"] > 1e-6:
            return False, ("this finds vertical edges (left vs right) and ignores horizontal ones: "
                           "compare rows (top vs bottom), not columns")
        return False, ("nothing happens at a horizontal edge: the rows above and below the "
                       "centre should get weights of opposite sign")
    if responses["flat"] > 0.05 * responses["horizontal"]:
        return False, "a flat, uniform region should give 0: make the weights sum to zero"
    if responses["vertical"] > 0.2 * responses["horizontal"]:
        if responses["vertical"] > 0.8 * responses["horizontal"]:
            return False, ("it responds to a vertical edge as much as to a horizontal one: "
                           "compare rows (top vs bottom), not columns")
        return False, "it still responds to vertical edges: keep each row's weights equal in sign"
    return True, ""


@exercise("04.receptive_field", "Receptive field of a small stack")
def receptive_field_answer(answer, *, stack):
    expected = receptive_field(stack)
    value = _as_int(answer)
    if value is None:
        return False, "a receptive field is a whole number of pixels"
    if value == expected:
        return True, ""
    table = receptive_field_table(stack)
    naive = 1 + sum(row.kernel_size[0] - 1 for row in table)
    if value == naive and naive != expected:
        return False, ("you added (kernel - 1) for every layer, but after a pooling step neighbouring "
                       "pixels are 2 input pixels apart: later layers add (kernel - 1) x 2")
    if value > expected:
        return False, "too large: each layer adds (kernel - 1) x (the distance between its input pixels)"
    return False, "start from 1 pixel; each layer adds (kernel - 1) x (the distance between its input pixels)"
