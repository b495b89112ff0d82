"""Synthetic labelled datasets: chest radiographs and chest CT slices with ground truth.

No labelled radiology dataset can be downloaded in every workshop room, so the
notebooks on classification, detection, segmentation, quantification, shortcut
learning and CT physics train on phantoms drawn here, in milliseconds, with exact
masks, boxes and labels.

* :func:`chest_phantoms` - frontal chest radiographs (pneumonia, nodules, spurious
  markers, scanner shift).
* :func:`ct_phantoms` - axial chest CT slices in HU, optionally through a simulated
  scanner (sinogram + filtered back-projection).
* :func:`ct_volume` - a small 3D chest CT with one nodule of known volume.
* :class:`PhantomSet`, :class:`PhantomVolume` - what they return.
"""

from ._common import PhantomSet, PhantomVolume
from .chest import FIELD_OF_VIEW_MM, SCANNERS, chest_phantoms
from .ct import HU, MU_WATER, ct_phantoms, ct_volume

__all__ = [
    "FIELD_OF_VIEW_MM", "HU", "MU_WATER", "SCANNERS", "PhantomSet", "PhantomVolume",
    "chest_phantoms", "ct_phantoms", "ct_volume",
]
