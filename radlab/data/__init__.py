"""Data for the notebooks: real samples, synthetic phantoms, downloads, input pipelines.

* :func:`sample` - real DICOM images that ship with pydicom and pydicom-data (offline).
* :func:`chest_phantoms`, :func:`ct_phantoms` - labelled synthetic datasets.
* :data:`REGISTRY`, :func:`fetch` - downloadable datasets and weights, cached under
  :func:`radlab.data_dir`.
* :func:`load_medmnist` - MedMNIST v2 npz files, validated.
* :func:`pneumonia_data`, :func:`chest_multilabel_data` - notebook 06's tasks: the
  MedMNIST file when it is there, phantoms in the same format when it is not.
* :func:`as_dataset` - a ``tf.data`` input pipeline with Keras augmentation (the only
  module in radlab that touches tf.data).

Names are resolved lazily, so ``import radlab.data`` is cheap.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    "sample": "radlab.data.samples",
    "SAMPLES": "radlab.data.samples",
    "SampleInfo": "radlab.data.samples",
    "sample_path": "radlab.data.samples",
    "chest_phantoms": "radlab.data.synthetic",
    "ct_phantoms": "radlab.data.synthetic",
    "ct_volume": "radlab.data.synthetic",
    "PhantomVolume": "radlab.data.synthetic",
    "PhantomSet": "radlab.data.synthetic",
    "REGISTRY": "radlab.data.registry",
    "DatasetInfo": "radlab.data.registry",
    "fetch": "radlab.data.registry",
    "cached_files": "radlab.data.registry",
    "medmnist_name": "radlab.data.registry",
    "load_medmnist": "radlab.data.medmnist",
    "MEDMNIST": "radlab.data.medmnist",
    "MedMNISTData": "radlab.data.medmnist",
    "ChestData": "radlab.data.chest_tasks",
    "pneumonia_data": "radlab.data.chest_tasks",
    "chest_multilabel_data": "radlab.data.chest_tasks",
    "synthetic_pneumoniamnist": "radlab.data.chest_tasks",
    "write_synthetic_pneumoniamnist": "radlab.data.chest_tasks",
    "synthetic_chest_multilabel": "radlab.data.chest_tasks",
    "as_dataset": "radlab.data.pipeline",
    "augmentation": "radlab.data.pipeline",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
