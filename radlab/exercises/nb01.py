"""Exercises of notebook 01 (images as data)."""

import numpy as np

from . import exercise


@exercise("01.hu", "Hounsfield units from stored pixel values")
def hu_from_raw(answer, *, raw, slope, intercept):
    raw = np.asarray(raw, dtype=np.float64)
    answer = np.asarray(answer, dtype=np.float64)
    if answer.shape != raw.shape:
        return False, f"your array has shape {answer.shape}; it should match the stored pixels {raw.shape}"
    expected = raw * slope + intercept
    if np.allclose(answer, expected, atol=0.5):
        return True, ""
    if np.allclose(answer, raw):
        return False, "these are still the stored values: apply RescaleSlope and RescaleIntercept"
    if np.allclose(answer, (raw + intercept) * slope, atol=0.5):
        return False, "order matters: multiply by the slope first, then add the intercept"
    if np.allclose(answer, raw * slope - intercept, atol=0.5):
        return False, "the intercept is added, with its sign (it is usually negative, e.g. -1024)"
    return False, "HU = stored value x RescaleSlope + RescaleIntercept"


@exercise("01.nodule_window", "A window that shows a lung nodule")
def nodule_window(answer, *, hu, nodule_mask, lung_mask):
    from ..imaging.windowing import window

    center, width = (float(v) for v in answer)
    if width <= 0:
        return False, "the width must be positive"
    shown = window(hu, center, width)
    lung = lung_mask & ~nodule_mask
    contrast = shown[nodule_mask].mean() - shown[lung].mean()
    lung_black = np.mean(shown[lung] <= 0.0)
    nodule_white = np.mean(shown[nodule_mask] >= 1.0)
    if lung_black > 0.5:
        return False, ("most of the lung is pure black: the window starts above lung density "
                       "(about -850 HU), so vessels and lung texture vanish - lower the center")
    if contrast < 0.3:
        return False, ("the nodule barely stands out from the lung: it is soft tissue (about "
                       "0-50 HU) and should map much brighter than the air-filled lung")
    if nodule_white > 0.9 and width < 600:
        return False, "the nodule is saturated white: widen the window so its inside keeps detail"
    return True, ""
