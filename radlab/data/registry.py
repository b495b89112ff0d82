"""The table of downloadable datasets and weights, and :func:`fetch`.

Every file radlab can download is one :class:`DatasetInfo` row in :data:`REGISTRY`:
where it comes from, its checksum, size, licence and how to cite it. Files are
cached under :func:`radlab.data_dir` (``$RADLAB_DATA_DIR``, or ``data/`` in the
checkout) with the publisher's own file names, so a file obtained elsewhere (a USB
stick at a workshop, ``~/.medmnist``, ``~/.keras/models``) can simply be copied in.

Where the numbers come from (never typed in from memory):

* MedMNIST v2/MedMNIST+ URLs, MD5 checksums, licences and descriptions: the
  official ``medmnist`` package, ``medmnist/info.py`` (version 3.0.2), and its
  README (licence and citation). The package does not list file sizes, so
  ``size_bytes`` is None for these files.
* Keras ImageNet weights: URLs and MD5 ``file_hash`` values from Keras 3's own
  ``keras/src/applications/{mobilenet_v2,efficientnet,resnet}.py``. Keras has no
  hash for MobileNetV2, so that file is checked by its size. Sizes are the
  ``Content-Length`` Keras prints when it downloads these files
  ("Downloading data from ... 9406464/9406464").
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

from ..errors import RadlabError
from .download import download_file, format_bytes, parse_checksum, verify_file

__all__ = [
    "REGISTRY",
    "DatasetInfo",
    "cached_files",
    "fetch",
    "fetch_main",
    "medmnist_name",
]

_KINDS = ("dataset", "weights")


@dataclass(frozen=True)
class DatasetInfo:
    """One downloadable file.

    Attributes
    ----------
    name : str
        Registry key, used by ``rl.data.fetch(name)`` and ``radlab fetch NAME``.
    url : str
        Where the file is downloaded from.
    filename : str
        File name in the data directory (the publisher's own name).
    checksum : str or None
        ``"md5:<hex>"`` or ``"sha256:<hex>"``, in the algorithm the publisher
        uses. None only where the publisher gives no checksum; ``size_bytes`` is
        then checked instead.
    size_bytes : int or None
        Size in bytes, or None when no source states it.
    licence : str
        Licence of the file's content.
    citation : str
        What to cite when using it.
    description : str
        One or two sentences on what it is.
    kind : {"dataset", "weights"}
        A dataset, or pretrained model weights.
    """

    name: str
    url: str
    filename: str
    checksum: str | None
    size_bytes: int | None
    licence: str
    citation: str
    description: str
    kind: str = "dataset"

    def __post_init__(self) -> None:
        if self.checksum is not None:
            parse_checksum(self.checksum)  # raises ValueError if malformed
        elif self.size_bytes is None:
            raise ValueError(f"{self.name}: a file needs a checksum or a size to be verified.")
        if self.kind not in _KINDS:
            raise ValueError(f"{self.name}: kind must be one of {_KINDS}, not {self.kind!r}.")
        if os.sep in self.filename or "/" in self.filename:
            raise ValueError(f"{self.name}: filename must be a bare file name.")

    def path(self, data_dir: str | os.PathLike | None = None) -> Path:
        """Where the file lives (or will live) in the data directory."""
        return _root(data_dir) / self.filename


def _root(data_dir: str | os.PathLike | None) -> Path:
    if data_dir is not None:
        return Path(data_dir).expanduser().absolute()
    from ..env import data_dir as default_data_dir

    return default_data_dir()


# --------------------------------------------------------------------------- MedMNIST
# From medmnist 3.0.2, medmnist/info.py: INFO[flag]["MD5"], ["MD5_64"], ["MD5_128"],
# ["MD5_224"]; every URL there is ZENODO/<flag>[_<size>].npz?download=1.
_ZENODO = "https://zenodo.org/records/10519652/files"
_MEDMNIST_MD5: dict[str, dict[int, str]] = {
    "pneumoniamnist": {
        28: "28209eda62fecd6e6a2d98b1501bb15f",
        64: "8f4eceb4ccffa70c672198ea285246c6",
        128: "05b46931834c231683c68f40c47b2971",
        224: "d6a3c71de1b945ea11211b03746c1fe1",
    },
    "breastmnist": {
        28: "750601b1f35ba3300ea97c75c52ff8f6",
        64: "742edef2a1fd1524b2efff4bd7ba9364",
        128: "363e4b3f8d712e9b5de15470a2aaadf1",
        224: "b56378a6eefa9fed602bb16d192d4c8b",
    },
    "chestmnist": {
        28: "02c8a6516a18b556561a56cbdd36c4a8",
        64: "9de6cd0b934ebb5b7426cfba5efbae16",
        128: "db107e5590b27930b62dbaf558aebee3",
        224: "45bd33e6f06c3e8cdb481c74a89152aa",
    },
    "organamnist": {
        28: "68e3f8846a6bd62f0c9bf841c0d9eacc",
        64: "2dcccc29b88e6da5a01161ef20cda288",
        128: "eeae80d0a227a8d099027e1b3cfd3b60",
        224: "50747347e05c87dd3aaf92c49f9f3170",
    },
    "organcmnist": {
        28: "b9ceb9546e10131b32923c5bbeaea2b1",
        64: "3ce34a8724ea6f548e6db4744d03b6a9",
        128: "773c1f009daa3fe5d9a2a201b2a7ed94",
        224: "050f5e875dc056f6768abf94ec9995d1",
    },
    "organsmnist": {
        28: "9ab87b696fb54e2a387ebe992d6ed5f1",
        64: "53a6d115339d874c25e309a994ff46d3",
        128: "ded0c5fa01a95dc4978b956f613e9b8e",
        224: "b354719e553fbbb2513d5533f52a4cb1",
    },
    "nodulemnist3d": {
        28: "8755a7e9e05a4d9ce80a24c3e7a256f3",
        64: "c47c5b7d457bf6332200d2ea6d64ecd8",
    },
}

# Licence: info.py's "license" field (CC BY 4.0 for all seven; in MedMNIST only
# DermaMNIST differs, CC BY-NC 4.0). The source datasets are named as in info.py's
# descriptions; MedMNIST asks users to cite them as well.
_MEDMNIST_LICENCE = "CC BY 4.0"
MEDMNIST_CITATION = (
    "Yang J, Shi R, Wei D, Liu Z, Zhao L, Ke B, Pfister H, Ni B. MedMNIST v2 - A "
    "large-scale lightweight benchmark for 2D and 3D biomedical image classification. "
    "Scientific Data 10, 41 (2023). https://doi.org/10.1038/s41597-022-01721-8"
)
_MEDMNIST_ABOUT: dict[str, tuple[str, str]] = {
    # flag: (what it is, source dataset to cite as well)
    "pneumoniamnist": (
        "PneumoniaMNIST: 5,856 paediatric chest radiographs, normal vs pneumonia "
        "(binary).",
        "the paediatric chest X-ray dataset it is based on",
    ),
    "breastmnist": (
        "BreastMNIST: 780 breast ultrasound images, malignant vs normal/benign "
        "(binary).",
        "the breast ultrasound dataset it is based on",
    ),
    "chestmnist": (
        "ChestMNIST: 112,120 frontal chest radiographs of 30,805 patients from NIH "
        "ChestX-ray14, 14 text-mined findings (multi-label).",
        "NIH ChestX-ray14, whose own terms of use also apply",
    ),
    "organamnist": (
        "OrganAMNIST: axial CT slices from the Liver Tumor Segmentation Benchmark "
        "(LiTS), 11 organs (multi-class), abdominal window.",
        "LiTS",
    ),
    "organcmnist": (
        "OrganCMNIST: coronal CT slices from LiTS, 11 organs (multi-class), "
        "abdominal window.",
        "LiTS",
    ),
    "organsmnist": (
        "OrganSMNIST: sagittal CT slices from LiTS, 11 organs (multi-class), "
        "abdominal window.",
        "LiTS",
    ),
    "nodulemnist3d": (
        "NoduleMNIST3D: thoracic CT volumes of lung nodules from LIDC-IDRI, 1 mm "
        "isotropic, benign vs malignant (binary).",
        "LIDC-IDRI, whose own terms of use also apply",
    ),
}


def medmnist_name(flag: str, size: int = 28) -> str:
    """Registry name of a MedMNIST file: ``("chestmnist", 64) -> "chestmnist_64"``.

    Size 28 has no suffix, as in MedMNIST's own file names.
    """
    return flag if size == 28 else f"{flag}_{size}"


def _medmnist_entries() -> Iterable[DatasetInfo]:
    for flag, md5s in _MEDMNIST_MD5.items():
        about, source = _MEDMNIST_ABOUT[flag]
        volume = flag.endswith("3d")
        for size, md5 in md5s.items():
            name = medmnist_name(flag, size)
            shape = f"{size}x{size}x{size} voxels" if volume else f"{size}x{size} pixels"
            yield DatasetInfo(
                name=name,
                url=f"{_ZENODO}/{name}.npz?download=1",
                filename=f"{name}.npz",
                checksum=f"md5:{md5}",
                size_bytes=None,
                licence=_MEDMNIST_LICENCE,
                citation=f"{MEDMNIST_CITATION} Please also cite {source}.",
                description=f"{about} {shape}; official train/val/test split.",
                kind="dataset",
            )


# ------------------------------------------------------------------- Keras weights
# URL = BASE_WEIGHT(S)_PATH + file name, and the MD5 file_hash Keras passes to
# keras.utils.get_file, from keras/src/applications/*.py (Keras 3.15). The file names
# are Keras's own, so a copy in ~/.keras/models/ is found by weights="imagenet" too.
_KERAS_LICENCE = "As distributed with Keras Applications (https://keras.io/api/applications/)"
_KERAS_WEIGHTS = (
    DatasetInfo(
        name="mobilenetv2_imagenet_notop",
        url=(
            "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
        ),
        filename="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
        checksum=None,  # keras/src/applications/mobilenet_v2.py passes no file_hash
        size_bytes=9406464,
        licence=_KERAS_LICENCE,
        citation=(
            "Sandler M, Howard A, Zhu M, Zhmoginov A, Chen L-C. MobileNetV2: Inverted "
            "Residuals and Linear Bottlenecks. CVPR 2018. https://arxiv.org/abs/1801.04381"
        ),
        description=(
            "ImageNet weights for keras.applications.MobileNetV2 (alpha 1.0, 224 px), "
            "without the classification head (include_top=False)."
        ),
        kind="weights",
    ),
    DatasetInfo(
        name="efficientnetb0_imagenet_notop",
        url="https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",
        filename="efficientnetb0_notop.h5",
        checksum="md5:50bc09e76180e00e4465e1a485ddc09d",  # WEIGHTS_HASHES["b0"][1]
        size_bytes=16705208,
        licence=_KERAS_LICENCE,
        citation=(
            "Tan M, Le QV. EfficientNet: Rethinking Model Scaling for Convolutional "
            "Neural Networks. ICML 2019. https://arxiv.org/abs/1905.11946"
        ),
        description=(
            "ImageNet weights for keras.applications.EfficientNetB0, without the "
            "classification head (include_top=False)."
        ),
        kind="weights",
    ),
    DatasetInfo(
        name="resnet50_imagenet_notop",
        url=(
            "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
        ),
        filename="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        checksum="md5:4d473c1dd8becc155b73f8504c6f6626",  # WEIGHTS_HASHES["resnet50"][1]
        size_bytes=94765736,
        licence=_KERAS_LICENCE,
        citation=(
            "He K, Zhang X, Ren S, Sun J. Deep Residual Learning for Image Recognition. "
            "CVPR 2016. https://arxiv.org/abs/1512.03385"
        ),
        description=(
            "ImageNet weights for keras.applications.ResNet50, without the "
            "classification head (include_top=False)."
        ),
        kind="weights",
    ),
)

#: name -> :class:`DatasetInfo` for every file radlab can download (read-only).
REGISTRY: Mapping[str, DatasetInfo] = MappingProxyType(
    {info.name: info for info in (*_medmnist_entries(), *_KERAS_WEIGHTS)}
)


def _lookup(name: str | DatasetInfo) -> DatasetInfo:
    if isinstance(name, DatasetInfo):
        return name
    info = REGISTRY.get(str(name).strip().lower())
    if info is None:
        close = difflib.get_close_matches(str(name).lower(), list(REGISTRY), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(
            f"No file called {name!r} in radlab's data registry.{hint} "
            "See the list with `radlab fetch --list` or sorted(rl.data.REGISTRY)."
        )
    return info


def fetch(
    name: str | DatasetInfo,
    *,
    data_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Return the local path of a registry file, downloading it once if needed.

    A file already in the data directory whose checksum matches is used as is
    (checked once, then remembered by size and modification time). Otherwise it is
    downloaded to a temporary file in the same folder, verified while it streams in
    and only then renamed into place: an interrupted or corrupt download never
    leaves a file behind.

    Parameters
    ----------
    name : str or DatasetInfo
        A key of :data:`REGISTRY` (e.g. ``"pneumoniamnist"``, ``"chestmnist_64"``,
        ``"mobilenetv2_imagenet_notop"``), or your own :class:`DatasetInfo`.
    data_dir : path-like, optional
        Folder to cache files in. Default :func:`radlab.data_dir`
        (``$RADLAB_DATA_DIR``, or ``data/`` in the radlab checkout).
    force : bool, default False
        Download again even if a verified copy exists.
    progress : bool, default True
        Show a progress line on stderr (redrawn at most twice a second).

    Returns
    -------
    pathlib.Path
        Path of the verified file.

    Raises
    ------
    KeyError
        Unknown name (the message suggests close matches).
    OfflineError
        No network: the message gives the URL, the exact file name and the exact
        path to save it to, and the ``radlab fetch`` command for instructors.
    ChecksumError
        The download does not match the registry; it was deleted.
    DataDirError
        The data directory cannot be created or written.
    DownloadError
        The server refused the request.

    Examples
    --------
    >>> path = rl.data.fetch("pneumoniamnist")  # doctest: +SKIP
    >>> base = keras.applications.MobileNetV2(  # doctest: +SKIP
    ...     include_top=False, input_shape=(96, 96, 3),
    ...     weights=str(rl.data.fetch("mobilenetv2_imagenet_notop")))
    """
    info = _lookup(name)
    dest = info.path(data_dir)
    if not force and dest.is_file():
        ok, found = verify_file(dest, info.checksum, info.size_bytes)
        if ok:
            return dest
        if progress:
            print(
                f"{dest} does not match the registry (expected "
                f"{info.checksum or f'{info.size_bytes} bytes'}, found {found}); "
                "downloading it again.",
                file=sys.stderr,
            )
    return download_file(
        info.url,
        dest,
        checksum=info.checksum,
        size_bytes=info.size_bytes,
        progress=progress,
        manual_hint=(
            "Instructors can download everything before a workshop, while online, with: "
            f"radlab fetch {info.name}"
        ),
    )


def cached_files(
    data_dir: str | os.PathLike | None = None,
) -> list[tuple[str, Path, int]]:
    """Registry files present in the data directory (not re-verified).

    Parameters
    ----------
    data_dir : path-like, optional
        Default :func:`radlab.data_dir`.

    Returns
    -------
    list of (name, path, size in bytes)
        Sorted by name; empty if the folder does not exist.
    """
    root = _root(data_dir)
    found = []
    for name, info in sorted(REGISTRY.items()):
        path = root / info.filename
        if path.is_file():
            found.append((name, path, path.stat().st_size))
    return found


def _select(names: Iterable[str], all_: bool) -> list[DatasetInfo]:
    if all_:
        return list(REGISTRY.values())
    chosen: dict[str, DatasetInfo] = {}
    for pattern in names:
        if any(c in pattern for c in "*?["):
            matches = fnmatch.filter(REGISTRY, pattern.lower())
            if not matches:
                raise KeyError(f"No registry names match {pattern!r}.")
            chosen.update((m, REGISTRY[m]) for m in matches)
        else:
            info = _lookup(pattern)
            chosen[info.name] = info
    return list(chosen.values())


def _print_table(root: Path, out) -> None:
    print(f"radlab data directory: {root}", file=out)
    header = ("name", "kind", "size", "licence", "here")
    rows = []
    # Registry order (by set, then size), datasets before weights.
    for info in sorted(REGISTRY.values(), key=lambda i: _KINDS.index(i.kind)):
        size = format_bytes(info.size_bytes) if info.size_bytes else "?"
        licence = info.licence.split(" (")[0]
        rows.append((info.name, info.kind, size, licence,
                     "cached" if (root / info.filename).is_file() else "-"))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=out)
    print("Sizes marked ? are not published; MedMNIST 224-pixel files are the largest.",
          file=out)


def fetch_main(
    names: list[str],
    all_: bool = False,
    data_dir: str | os.PathLike | None = None,
    *,
    list_: bool = False,
    force: bool = False,
    progress: bool = True,
) -> int:
    """Command-line entry for ``radlab fetch``: download files, print a summary.

    Parameters
    ----------
    names : list of str
        Registry names; shell-style patterns work too (``"organ?mnist"``,
        ``"pneumoniamnist*"``).
    all_ : bool, default False
        Fetch every registry file (all MedMNIST sizes and weights: many GB).
    data_dir : path-like, optional
        Default :func:`radlab.data_dir`.
    list_ : bool, default False
        Print the registry (name, kind, size, licence, cached or not) and return.
    force : bool, default False
        Download again even when a verified copy exists.
    progress : bool, default True
        Show progress lines.

    Returns
    -------
    int
        Exit code: 0 all files present and verified, 1 any download failed,
        2 nothing to do or an unknown name.
    """
    out = sys.stdout
    root = _root(data_dir)
    if list_:
        _print_table(root, out)
        return 0
    if not names and not all_:
        print("Name the files to fetch (see `radlab fetch --list`), or use --all.",
              file=sys.stderr)
        return 2
    try:
        selected = _select(names, all_)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    failures = 0
    for info in selected:
        try:
            path = fetch(info, data_dir=root, force=force, progress=progress)
        except RadlabError as exc:
            failures += 1
            print(f"FAILED  {info.name}: {type(exc).__name__}: {exc}", file=out)
        else:
            print(f"ok      {info.name}  {path}  ({format_bytes(path.stat().st_size)})",
                  file=out)
    print(f"{len(selected) - failures} of {len(selected)} files ready in {root}"
          + (f"; {failures} failed." if failures else "."), file=out)
    return 1 if failures else 0
