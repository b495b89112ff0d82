"""Exercises of notebook 00 (start here)."""

import numpy as np

from . import exercise


@exercise("00.size_mm", "Width of the image in millimetres")
def size_mm(answer, *, image):
    columns, mm_per_pixel = image.shape[-1], image.spacing[-1]
    expected = columns * mm_per_pixel
    answer = float(answer)
    if np.isclose(answer, expected, rtol=1e-3):
        return True, ""
    if np.isclose(answer, columns):
        return False, "that is the width in pixels; each pixel is image.spacing[-1] mm wide"
    if np.isclose(answer, columns / mm_per_pixel, rtol=1e-3):
        return False, "spacing is millimetres per pixel: multiply, don't divide"
    if np.isclose(answer, image.shape[-2] * image.spacing[-2], rtol=1e-3):
        return False, "that is the height; the width runs along the last axis (columns)"
    return False, "width in mm = number of columns (image.shape[-1]) x mm per pixel (image.spacing[-1])"
