"""MedMNIST v2 / MedMNIST+ datasets: small, standardised radiology images, validated.

MedMNIST (Yang et al., Scientific Data 2023) resizes public datasets to 28x28
pixels (MedMNIST+: also 64, 128 and 224; 3D sets 28 and 64 voxels a side) with an
official train/validation/test split. Each set is one ``.npz`` file with the arrays
``train_images``, ``train_labels``, ``val_images``, ``val_labels``, ``test_images``,
``test_labels``: images ``uint8`` of shape ``(n, s, s)`` (grey), ``(n, s, s, 3)``
(colour) or ``(n, s, s, s)`` (3D), labels ``uint8`` of shape ``(n, k)``.

The label names, tasks and sample counts in :data:`MEDMNIST` are those of the
official ``medmnist`` package (``medmnist/info.py``, version 3.0.2).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..errors import ChecksumError, DataFormatError
from .download import verify_file
from .registry import REGISTRY, fetch, medmnist_name

__all__ = ["MEDMNIST", "MedMNISTData", "MedMNISTInfo", "SPLITS", "load_medmnist"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class MedMNISTInfo:
    """What one MedMNIST set contains (from the official ``medmnist/info.py``).

    Attributes
    ----------
    flag : str
        MedMNIST's lower-case name, e.g. ``"pneumoniamnist"``.
    title : str
        Display name, e.g. ``"PneumoniaMNIST"``.
    task : str
        ``"binary-class"``, ``"multi-class"`` or ``"multi-label, binary-class"``.
    labels : tuple of str
        Name of each label index (multi-class, binary) or of each column
        (multi-label).
    n_channels : int
        1 (grey) or 3 (colour).
    n_samples : dict
        Official number of images per split.
    sizes : tuple of int
        Available image sizes in pixels (voxels for 3D).
    ndim : int
        2 for images, 3 for volumes.
    """

    flag: str
    title: str
    task: str
    labels: tuple[str, ...]
    n_channels: int
    n_samples: Mapping[str, int] = field(repr=False)
    sizes: tuple[int, ...]
    ndim: int = 2

    @property
    def multi_label(self) -> bool:
        """True when each image has several 0/1 labels (one column each)."""
        return self.task.startswith("multi-label")

    @property
    def label_width(self) -> int:
        """Columns of the label array: one per finding if multi-label, else 1."""
        return len(self.labels) if self.multi_label else 1


_SIZES_2D = (28, 64, 128, 224)
_SIZES_3D = (28, 64)
_ORGANS = ("bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right",
           "liver", "lung-left", "lung-right", "pancreas", "spleen")

#: flag -> :class:`MedMNISTInfo` for the MedMNIST sets in radlab's registry.
MEDMNIST: Mapping[str, MedMNISTInfo] = MappingProxyType({
    "pneumoniamnist": MedMNISTInfo(
        "pneumoniamnist", "PneumoniaMNIST", "binary-class", ("normal", "pneumonia"), 1,
        {"train": 4708, "val": 524, "test": 624}, _SIZES_2D),
    "breastmnist": MedMNISTInfo(
        "breastmnist", "BreastMNIST", "binary-class", ("malignant", "normal, benign"), 1,
        {"train": 546, "val": 78, "test": 156}, _SIZES_2D),
    "chestmnist": MedMNISTInfo(
        "chestmnist", "ChestMNIST", "multi-label, binary-class",
        ("atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule",
         "pneumonia", "pneumothorax", "consolidation", "edema", "emphysema", "fibrosis",
         "pleural", "hernia"), 1,
        {"train": 78468, "val": 11219, "test": 22433}, _SIZES_2D),
    "organamnist": MedMNISTInfo(
        "organamnist", "OrganAMNIST", "multi-class", _ORGANS, 1,
        {"train": 34561, "val": 6491, "test": 17778}, _SIZES_2D),
    "organcmnist": MedMNISTInfo(
        "organcmnist", "OrganCMNIST", "multi-class", _ORGANS, 1,
        {"train": 12975, "val": 2392, "test": 8216}, _SIZES_2D),
    "organsmnist": MedMNISTInfo(
        "organsmnist", "OrganSMNIST", "multi-class", _ORGANS, 1,
        {"train": 13932, "val": 2452, "test": 8827}, _SIZES_2D),
    "nodulemnist3d": MedMNISTInfo(
        "nodulemnist3d", "NoduleMNIST3D", "binary-class", ("benign", "malignant"), 1,
        {"train": 1158, "val": 165, "test": 310}, _SIZES_3D, ndim=3),
})


@dataclass
class MedMNISTData:
    """Arrays of one MedMNIST set, split as published.

    Images are ``uint8`` (0..255) exactly as stored: ``(n, s, s)`` for grey
    images, ``(n, s, s, 3)`` for colour, ``(n, s, s, s)`` for volumes. Labels are
    ``(n, 1)`` class indices, or ``(n, 14)`` 0/1 columns for ChestMNIST. Splits not
    loaded (``split=``) are None. :func:`radlab.data.as_dataset` turns them into a
    training pipeline.
    """

    info: MedMNISTInfo
    size: int
    path: Path
    x_train: np.ndarray | None = None
    y_train: np.ndarray | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def label_names(self) -> tuple[str, ...]:
        """Name of each class (or, for multi-label sets, each column)."""
        return self.info.labels

    def __repr__(self) -> str:  # arrays would flood a notebook cell
        parts = []
        for split in SPLITS:
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if x is not None:
                parts.append(f"{split}: x {x.shape} {x.dtype}, y {y.shape}")
        return (f"MedMNISTData({self.info.title}, {self.size} px, {self.info.task}, "
                f"{'; '.join(parts)}; from {self.path})")


def _info(flag: str) -> MedMNISTInfo:
    key = str(flag).strip().lower()
    if key not in MEDMNIST:
        raise ValueError(f"Unknown MedMNIST flag {flag!r}; radlab knows {sorted(MEDMNIST)}.")
    return MEDMNIST[key]


def load_medmnist(
    flag: str,
    *,
    size: int | None = None,
    split: str | None = None,
    path: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
) -> MedMNISTData:
    """Load a MedMNIST set, checked for the official keys, dtypes and shapes.

    Parameters
    ----------
    flag : str
        ``"pneumoniamnist"``, ``"breastmnist"``, ``"chestmnist"``, ``"organamnist"``,
        ``"organcmnist"``, ``"organsmnist"`` or ``"nodulemnist3d"`` (any case); see
        :data:`MEDMNIST`.
    size : int, optional
        Image side in pixels (voxels for 3D): 28, 64, 128 or 224 (3D: 28 or 64).
        Default 28; with ``path=``, the size stored in the file.
    split : {"train", "val", "test"}, optional
        Load only this split (saves memory for the large sizes). Default: all.
    path : path-like, optional
        A MedMNIST ``.npz`` you got elsewhere (e.g. ``~/.medmnist``). It is checked
        for format, but not against the registry checksum.
    data_dir : path-like, optional
        Where :func:`radlab.data.fetch` caches files; default :func:`radlab.data_dir`.
    download : bool, default False
        Download the file into the data directory if it is not there (needs the
        network). Without it a missing file is an error that says how to get it.

    Returns
    -------
    MedMNISTData
        ``x_train, y_train, x_val, y_val, x_test, y_test`` (uint8), ``info``,
        ``size``, ``path`` and ``label_names``.

    Raises
    ------
    FileNotFoundError
        The file is not in the data directory and ``download`` is False.
    ChecksumError
        The file in the data directory is not the published one.
    DataFormatError
        The file is not a valid MedMNIST npz: not a zip, truncated, missing
        arrays, wrong dtype, wrong shape or size, or image and label counts that
        differ.

    Examples
    --------
    >>> data = rl.data.load_medmnist("pneumoniamnist", download=True)  # doctest: +SKIP
    >>> data.x_train.shape, data.label_names  # doctest: +SKIP
    ((4708, 28, 28), ('normal', 'pneumonia'))
    """
    info = _info(flag)
    if size is not None and size not in info.sizes:
        raise ValueError(f"{info.title} comes in sizes {list(info.sizes)}; got size={size}.")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None; got {split!r}.")
    splits = SPLITS if split is None else (split,)

    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise FileNotFoundError(f"No MedMNIST file at {file}.")
        name = medmnist_name(info.flag, size or 28)
    else:
        size = size or 28
        name = medmnist_name(info.flag, size)
        entry = REGISTRY[name]
        file = entry.path(data_dir)
        if download:
            file = fetch(name, data_dir=data_dir)
        elif not file.is_file():
            raise FileNotFoundError(
                f"{entry.filename} is not in the radlab data directory ({file.parent}). "
                f"Download it once with rl.data.fetch({name!r}) or "
                f"rl.data.load_medmnist({info.flag!r}, size={size}, download=True), or "
                f"from a terminal: radlab fetch {name}. Offline? Copy {entry.filename} "
                f"(from {entry.url}) to {file}, or load a copy elsewhere with path=."
            )
        else:
            ok, found = verify_file(file, entry.checksum, entry.size_bytes)
            if not ok:
                raise ChecksumError(
                    f"{file} is not the published {entry.filename}: expected "
                    f"{entry.checksum}, found {found}. It may be truncated or from another "
                    f"MedMNIST release. Delete it and run radlab fetch {name} (or "
                    f"rl.data.fetch({name!r}, force=True)); to use it anyway, load it "
                    "with path=."
                )

    arrays = _read_npz(file, splits, name)
    size = _validate(arrays, info, size, splits, file, name)
    return MedMNISTData(info=info, size=size, path=file,
                        **{f"{k}_{s}": arrays[f"{s}_{'images' if k == 'x' else 'labels'}"]
                           for s in splits for k in ("x", "y")})


def _fix(file: Path, name: str) -> str:
    return (f"Delete {file} and download it again with radlab fetch {name} "
            f"(or rl.data.fetch({name!r}, force=True)), or check that it is the "
            "MedMNIST file you meant.")


def _read_npz(file: Path, splits: tuple[str, ...], name: str) -> dict[str, np.ndarray]:
    keys = [f"{s}_{kind}" for s in splits for kind in ("images", "labels")]
    try:
        loaded = np.load(file, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataFormatError(
                f"{file} holds a single array, not a MedMNIST .npz archive with "
                f"train/val/test arrays. {_fix(file, name)}")
        with loaded as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataFormatError(
                    f"{file} lacks the arrays {missing}; it has {sorted(npz.files)}. A "
                    "MedMNIST file holds train_images, train_labels, val_images, "
                    f"val_labels, test_images and test_labels. {_fix(file, name)}")
            return {k: npz[k] for k in keys}
    except DataFormatError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        # Not a zip, a truncated download, a pickled file: all unreadable here.
        raise DataFormatError(
            f"{file} is not a readable MedMNIST .npz file ({type(exc).__name__}: {exc}). "
            f"It may be truncated or in another format. {_fix(file, name)}") from exc


def _validate(arrays: dict[str, np.ndarray], info: MedMNISTInfo, size: int | None,
              splits: tuple[str, ...], file: Path, name: str) -> int:
    """Check dtypes, shapes, counts and label values; return the image size."""
    fix = _fix(file, name)
    size_from = "the size argument"
    for s in splits:
        x, y = arrays[f"{s}_images"], arrays[f"{s}_labels"]
        if x.dtype != np.uint8:
            raise DataFormatError(
                f"{file}: {s}_images has dtype {x.dtype}; MedMNIST images are uint8 "
                f"(0..255). {fix}")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataFormatError(
                f"{file}: {s}_labels has dtype {y.dtype}; MedMNIST labels are integers "
                f"(uint8). {fix}")
        side = x.shape[1] if x.ndim > 1 else None
        if info.ndim == 3:
            expected = "(n, s, s, s)"
            good = x.ndim == 4 and x.shape[1] == x.shape[2] == x.shape[3]
        elif info.n_channels == 1:
            expected = "(n, s, s)"
            good = x.ndim == 3 and x.shape[1] == x.shape[2]
        else:
            expected = "(n, s, s, 3)"
            good = x.ndim == 4 and x.shape[1] == x.shape[2] and x.shape[3] == 3
        if not good:
            raise DataFormatError(
                f"{file}: {s}_images has shape {x.shape}; {info.title} images have shape "
                f"{expected}. {fix}")
        if side not in info.sizes:
            raise DataFormatError(
                f"{file}: {s}_images are {side} pixels a side; {info.title} comes in "
                f"{list(info.sizes)}. {fix}")
        if size is None:
            size, size_from = side, f"{s}_images"
        if side != size:
            raise DataFormatError(
                f"{file}: {s}_images are {side} pixels a side, but {size} from "
                f"{size_from}. Pass the size the file has (size={side}), or use the "
                f"matching file ({medmnist_name(info.flag, size)}.npz).")
        if y.ndim != 2 or y.shape[1] != info.label_width:
            raise DataFormatError(
                f"{file}: {s}_labels has shape {y.shape}; {info.title} labels have shape "
                f"(n, {info.label_width}). {fix}")
        if len(x) != len(y):
            raise DataFormatError(
                f"{file}: {s} has {len(x)} images but {len(y)} labels; each image needs "
                f"one label row. {fix}")
        n_classes = 2 if info.multi_label else len(info.labels)
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise DataFormatError(
                f"{file}: {s}_labels hold values from {y.min()} to {y.max()}; "
                f"{info.title} labels are 0..{n_classes - 1}. {fix}")
    return int(size)
