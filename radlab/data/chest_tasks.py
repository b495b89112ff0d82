"""Chest-radiograph classification data for notebook 06: the real MedMNIST set if you have it, phantoms if not.

The same notebook cells run on either:

* :func:`pneumonia_data` - PneumoniaMNIST (normal vs pneumonia, paediatric chest
  radiographs, 28 px) when ``pneumoniamnist.npz`` is in the radlab data directory;
  otherwise synthetic pneumonia phantoms in exactly its format and split sizes
  (:func:`synthetic_pneumoniamnist`).
* :func:`chest_multilabel_data` - ChestMNIST (14 findings per film, NIH ChestX-ray14)
  when ``chestmnist.npz`` is there; otherwise phantoms with four of its findings
  (cardiomegaly, mass, nodule, pneumonia), each present or absent independently of
  the others on every film (:func:`synthetic_chest_multilabel`).

Both return a :class:`ChestData`: uint8 images ``(n, s, s)`` and uint8 labels
``(n, 1)`` (binary) or ``(n, k)`` (one 0/1 column per finding) for the train,
validation and test splits, as MedMNIST stores them, plus ``label_names``, a
one-line ``source`` and ``is_synthetic``.

The synthetic films are drawn at 64 px (or at ``size`` when that is larger) by
:func:`radlab.data.chest_phantoms` and shrunk with scikit-image's anti-aliased
``resize``, as MedMNIST shrank the originals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from .medmnist import MEDMNIST, SPLITS, load_medmnist

__all__ = [
    "CHEST_MULTILABEL_FINDINGS",
    "ChestData",
    "PNEUMONIAMNIST_COUNTS",
    "PNEUMONIAMNIST_PREVALENCE",
    "chest_multilabel_data",
    "pneumonia_data",
    "synthetic_chest_multilabel",
    "synthetic_pneumoniamnist",
    "write_synthetic_pneumoniamnist",
]

#: PneumoniaMNIST's official split sizes.
PNEUMONIAMNIST_COUNTS: Mapping[str, int] = {"train": 4708, "val": 524, "test": 624}
#: Its share of pneumonia films per split (3,494 of 4,708; 389 of 524; 390 of 624): the
#: test split, Kermany's original test set, has fewer pneumonia films than the others.
PNEUMONIAMNIST_PREVALENCE: Mapping[str, float] = {
    "train": 3494 / 4708, "val": 389 / 524, "test": 390 / 624}

#: The synthetic multi-label findings (named as in ChestMNIST, in its column order), what
#: the phantom draws for each, and the share of films that have it.
CHEST_MULTILABEL_FINDINGS: Mapping[str, dict] = {
    "cardiomegaly": {"prevalence": 0.30, "drawn as": "heart 1.3-1.55x the standard size"},
    "mass": {"prevalence": 0.20, "drawn as": "a round opacity of 35-60 mm"},
    "nodule": {"prevalence": 0.20, "drawn as": "a round opacity of 12-30 mm"},
    "pneumonia": {"prevalence": 0.30, "drawn as": "a lobar consolidation"},
}
#: Default split sizes of the synthetic multi-label set (ChestMNIST's 78,468 training
#: films would take minutes to draw and hours to train on a laptop CPU).
SYNTHETIC_MULTILABEL_COUNTS: Mapping[str, int] = {"train": 3000, "val": 600, "test": 600}

_SOURCES = ("auto", "medmnist", "synthetic")
_CARDIOMEGALY_HEART = (1.3, 1.55)
_MASS_MM = (35.0, 60.0)


@dataclass
class ChestData:
    """Train, validation and test images and labels of one chest classification task.

    Attributes
    ----------
    x_train, x_val, x_test : ndarray of uint8, shape (n, size, size)
        Images, 0..255, as MedMNIST stores them.
    y_train, y_val, y_test : ndarray of uint8, shape (n, 1) or (n, k)
        ``(n, 1)`` class indices (binary) or one 0/1 column per finding (multi-label).
    label_names : tuple of str
        Names of the classes (binary: ``("normal", "pneumonia")``) or of the columns.
    source : str
        One line saying where the data come from (file, or how they were drawn).
    is_synthetic : bool
        True for phantoms, False for the MedMNIST file.
    multi_label : bool
        True when each film has several 0/1 labels.
    size : int
        Image side, pixels.
    path : Path or None
        The MedMNIST file read, None for phantoms.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    label_names: tuple[str, ...]
    source: str
    is_synthetic: bool
    multi_label: bool
    size: int
    path: Path | None = None

    def prevalence(self, split: str = "train") -> np.ndarray:
        """Share of films with each finding in ``split`` (binary: share of class 1), shape (k,)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return np.asarray(getattr(self, f"y_{split}"), dtype=np.float64).mean(axis=0)

    def __repr__(self) -> str:  # arrays would flood a notebook cell
        counts = ", ".join(f"{s} {len(getattr(self, f'x_{s}'))}" for s in SPLITS)
        return (f"ChestData({'multi-label' if self.multi_label else 'binary'}, {self.size} px, "
                f"{counts}; labels {list(self.label_names)}; {self.source})")


# ---------------------------------------------------------------------------
# synthetic stand-ins, in MedMNIST's format
# ---------------------------------------------------------------------------
def _check_counts(counts, default: Mapping[str, int]) -> dict[str, int]:
    counts = dict(default if counts is None else counts)
    if set(counts) != set(SPLITS):
        raise ValueError(f"counts must give the number of films for {SPLITS}, got {sorted(counts)}")
    for split, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ValueError(f"counts[{split!r}] must be an integer >= 2 (films), got {n!r}")
    return {s: int(counts[s]) for s in SPLITS}


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 28:
        raise ValueError(f"size must be an integer number of pixels >= 28 (MedMNIST: 28, 64, 128, 224), "
                         f"got {size!r}")
    return int(size)


def _render_size(size: int) -> int:
    return max(64, size)


def _to_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """Float images in [0, 1], (n, R, R) -> uint8 (n, size, size), shrunk with anti-aliasing."""
    if images.shape[1] != size:
        from skimage.transform import resize

        images = resize(images, (len(images), size, size), anti_aliasing=True)
    return np.clip(np.round(images * 255), 0, 255).astype(np.uint8)


def synthetic_pneumoniamnist(
    counts: Mapping[str, int] | None = None,
    *,
    size: int = 28,
    seed: int = 0,
    prevalence: float | Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Synthetic pneumonia films in PneumoniaMNIST's format: the six arrays of its ``.npz``.

    Each split is drawn by :func:`radlab.data.chest_phantoms` (``finding="pneumonia"``)
    from its own seed (``seed``, ``seed + 101``, ``seed + 202`` for train, val, test),
    so no patient is in two splits; 64 px films are shrunk to ``size``.

    Parameters
    ----------
    counts : dict, optional
        Films per split, ``{"train": n, "val": n, "test": n}``; default PneumoniaMNIST's
        4,708 / 524 / 624.
    size : int, default 28
        Image side in pixels (>= 28).
    seed : int, default 0
    prevalence : float or dict, optional
        Share of pneumonia films, one for all splits or one per split; default
        PneumoniaMNIST's own (74 % in train and val, 62.5 % in test).

    Returns
    -------
    dict of str -> ndarray
        ``train_images`` ... ``test_images`` uint8 ``(n, size, size)`` and
        ``train_labels`` ... ``test_labels`` uint8 ``(n, 1)`` (1 = pneumonia).

    Examples
    --------
    >>> arrays = synthetic_pneumoniamnist({"train": 200, "val": 50, "test": 50})
    >>> arrays["train_images"].shape, arrays["train_labels"].shape
    ((200, 28, 28), (200, 1))
    """
    from .synthetic import chest_phantoms

    counts = _check_counts(counts, PNEUMONIAMNIST_COUNTS)
    size = _check_size(size)
    if prevalence is None:
        prevalence = PNEUMONIAMNIST_PREVALENCE
    shares = dict(prevalence) if isinstance(prevalence, Mapping) else {s: prevalence for s in SPLITS}
    if set(shares) != set(SPLITS):
        raise ValueError(f"prevalence must be one fraction or one per split {SPLITS}, got {prevalence!r}")
    arrays = {}
    for k, split in enumerate(SPLITS):
        films = chest_phantoms(counts[split], size=_render_size(size), seed=seed + 101 * k,
                               finding="pneumonia", prevalence=float(shares[split]))
        arrays[f"{split}_images"] = _to_uint8(films.images, size)
        arrays[f"{split}_labels"] = films.labels.astype(np.uint8)[:, None]
    return arrays


def write_synthetic_pneumoniamnist(
    path: str | os.PathLike,
    counts: Mapping[str, int] | None = None,
    *,
    size: int = 28,
    seed: int = 0,
    prevalence: float | Mapping[str, float] | None = None,
) -> Path:
    """Write :func:`synthetic_pneumoniamnist` as an ``.npz`` file in PneumoniaMNIST's official format.

    :func:`radlab.data.load_medmnist` ``("pneumoniamnist", path=...)`` reads it like
    the real file, so a whole pipeline can be run without the real data.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file to write (missing folders are created).
    counts, size, seed, prevalence
        As for :func:`synthetic_pneumoniamnist`.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path).expanduser()
    if path.suffix != ".npz":
        raise ValueError(f"{path}: a MedMNIST file ends in .npz (e.g. pneumoniamnist.npz)")
    arrays = synthetic_pneumoniamnist(counts, size=size, seed=seed, prevalence=prevalence)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def _exact_labels(rng: np.random.Generator, n: int, prevalence: float) -> np.ndarray:
    """0/1 labels with exactly round(prevalence * n) ones (at least one of each class), in random order."""
    positives = min(max(int(round(prevalence * n)), 1), n - 1)
    labels = np.zeros(n, np.uint8)
    labels[rng.permutation(n)[:positives]] = 1
    return labels


def _multilabel_plan(n: int, shares: list[float], seed: int, split_index: int):
    """Labels (n, k) of one split, each column drawn on its own, and each film's heart size."""
    from .synthetic.chest import NORMAL_HEART_SIZE

    rng = np.random.default_rng([seed, split_index, 6])
    labels = np.stack([_exact_labels(rng, n, share) for share in shares], axis=1)
    enlarged = labels[:, list(CHEST_MULTILABEL_FINDINGS).index("cardiomegaly")] == 1
    heart = np.where(enlarged, rng.uniform(*_CARDIOMEGALY_HEART, n), rng.uniform(*NORMAL_HEART_SIZE, n))
    return labels, heart


def synthetic_chest_multilabel(
    counts: Mapping[str, int] | None = None,
    *,
    size: int = 28,
    seed: int = 0,
    prevalence: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Synthetic multi-label chest films: cardiomegaly, mass, nodule and pneumonia, independently.

    For every split and finding, a random subset of exactly ``round(prevalence * n)``
    films gets the finding, drawn independently of the other findings, so a film can
    have none, one or several (cardiomegaly with pneumonia, a nodule and a mass...).
    The films are built from :func:`radlab.data.chest_phantoms` runs that share the
    seed and hence the patients (anatomy, exposure, noise): a normal film (with an
    enlarged heart where cardiomegaly is set) plus the lesion of each finding the
    film has (a consolidation; a 12-30 mm nodule; a 35-60 mm mass).

    Parameters
    ----------
    counts : dict, optional
        Films per split; default 3,000 / 600 / 600.
    size : int, default 28
        Image side in pixels (>= 28).
    seed : int, default 0
    prevalence : dict, optional
        Share of films with each finding, keys from :data:`CHEST_MULTILABEL_FINDINGS`
        (missing ones keep their default: 30 % cardiomegaly, 20 % mass, 20 % nodule,
        30 % pneumonia).

    Returns
    -------
    dict of str -> ndarray
        ``{split}_images`` uint8 ``(n, size, size)`` and ``{split}_labels`` uint8
        ``(n, 4)``, one column per finding in the order of
        :data:`CHEST_MULTILABEL_FINDINGS`.
    """
    from .synthetic import chest_phantoms

    counts = _check_counts(counts, SYNTHETIC_MULTILABEL_COUNTS)
    size = _check_size(size)
    names = list(CHEST_MULTILABEL_FINDINGS)
    shares = {name: info["prevalence"] for name, info in CHEST_MULTILABEL_FINDINGS.items()}
    unknown = set(prevalence or {}) - set(names)
    if unknown:
        raise ValueError(f"unknown finding(s) {sorted(unknown)}; the synthetic set has {names}")
    shares.update(prevalence or {})
    for name, share in shares.items():
        if not 0 < float(share) < 1:
            raise ValueError(f"prevalence of {name} must be strictly between 0 and 1, got {share!r}")
    lesions = {"pneumonia": {"finding": "pneumonia"},
               "nodule": {"finding": "nodule"},
               "mass": {"finding": "nodule", "lesion_size": _MASS_MM}}
    render = _render_size(size)
    arrays = {}
    for k, split in enumerate(SPLITS):
        n, split_seed = counts[split], seed + 1000 + 101 * k
        labels, heart = _multilabel_plan(n, [float(shares[name]) for name in names], seed, k)
        common = {"size": render, "seed": split_seed, "heart_size": heart}
        base = chest_phantoms(n, finding=None, **common).images
        images = base.copy()
        for name, options in lesions.items():
            has = labels[:, names.index(name)] == 1
            # Same seed, same patients: the difference is the lesion alone (plus clipping).
            with_lesion = chest_phantoms(n, prevalence=1.0, **options, **common).images
            images[has] += with_lesion[has] - base[has]
        np.clip(images, 0.0, 1.0, out=images)
        arrays[f"{split}_images"] = _to_uint8(images, size)
        arrays[f"{split}_labels"] = labels
    return arrays


# ---------------------------------------------------------------------------
# the real file if present, else phantoms
# ---------------------------------------------------------------------------
def _check_source(source: str) -> str:
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {_SOURCES}, got {source!r}")
    return source


def _load_official(flag: str, source: str, size: int, path, data_dir):
    """The MedMNIST file, or None when ``source="auto"`` and it is not in the data directory."""
    try:
        if path is not None:
            return load_medmnist(flag, path=path)
        return load_medmnist(flag, size=size, data_dir=data_dir)
    except FileNotFoundError:
        if source == "medmnist" or path is not None:
            raise
        return None


def _subset(x, y, n, rng, stratify: bool):
    """``n`` films of a split, chosen at random (keeping the class shares when ``stratify``)."""
    if n is None or n >= len(x):
        return x, y
    if stratify:
        from sklearn.model_selection import train_test_split

        index, _ = train_test_split(np.arange(len(x)), train_size=n, stratify=y[:, 0],
                                    random_state=int(rng.integers(2**31)))
        index = np.sort(index)
    else:
        index = np.sort(rng.choice(len(x), size=n, replace=False))
    return x[index], y[index]


def _counts_from(n_train, n_val, n_test, default: Mapping[str, int]) -> dict[str, int]:
    given = {"train": n_train, "val": n_val, "test": n_test}
    return _check_counts({s: default[s] if v is None else v for s, v in given.items()}, default)


def _from_arrays(arrays: dict, **fields) -> ChestData:
    return ChestData(**{f"{k}_{s}": arrays[f"{s}_{'images' if k == 'x' else 'labels'}"]
                        for s in SPLITS for k in ("x", "y")}, **fields)


def _official(data, n: dict, seed: int, stratify: bool) -> tuple[dict, str]:
    rng = np.random.default_rng(seed)
    arrays, notes = {}, []
    for split in SPLITS:
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        x2, y2 = _subset(x, y, n[split], rng, stratify)
        if len(x2) < len(x):
            notes.append(f"{split} {len(x2)} of {len(x)}")
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = x2, y2
    return arrays, ("; random subset: " + ", ".join(notes)) if notes else ""


def pneumonia_data(
    size: int = 28,
    *,
    source: str = "auto",
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
) -> ChestData:
    """Normal vs pneumonia chest films: PneumoniaMNIST if it is in the data directory, else phantoms.

    Parameters
    ----------
    size : int, default 28
        Image side in pixels (MedMNIST: 28, 64, 128 or 224).
    source : {"auto", "medmnist", "synthetic"}, default "auto"
        ``"auto"``: the official file when :func:`radlab.data.load_medmnist` finds it
        in the data directory, else :func:`synthetic_pneumoniamnist`.
        ``"medmnist"``: the file or an error saying how to get it. ``"synthetic"``:
        phantoms even if the file is there.
    n_train, n_val, n_test : int, optional
        Use this many films of a split (a stratified random subset of the real
        split; this many phantoms). Default: the official split sizes 4,708 / 524 / 624.
    seed : int, default 0
        Seeds the phantoms and the choice of a subset: same seed, same data.
    data_dir : path-like, optional
        Where to look for ``pneumoniamnist.npz`` (default :func:`radlab.data_dir`).
    path : path-like, optional
        A PneumoniaMNIST ``.npz`` elsewhere (``source`` must not be ``"synthetic"``).

    Returns
    -------
    ChestData
        uint8 images ``(n, size, size)``, labels ``(n, 1)`` (1 = pneumonia),
        ``label_names == ("normal", "pneumonia")``, ``source``, ``is_synthetic``.

    Raises
    ------
    FileNotFoundError
        ``source="medmnist"`` and the file is not there (the message says how to get it).
    radlab.errors.ChecksumError, radlab.errors.DataFormatError
        A file is there but is not the published one or not in MedMNIST's format:
        it is never silently replaced by phantoms.

    Examples
    --------
    >>> data = rl.data.pneumonia_data(n_train=1000)      # doctest: +SKIP
    >>> print(data.source)                                # doctest: +SKIP
    """
    source = _check_source(source)
    size = _check_size(size)
    info = MEDMNIST["pneumoniamnist"]
    n = _counts_from(n_train, n_val, n_test, PNEUMONIAMNIST_COUNTS)
    if source == "synthetic" and path is not None:
        raise ValueError("path= is a PneumoniaMNIST file: use source='auto' or 'medmnist' with it")
    data = None if source == "synthetic" else _load_official(info.flag, source, size, path, data_dir)
    if data is not None:
        arrays, note = _official(data, {"train": n_train, "val": n_val, "test": n_test}, seed,
                                 stratify=True)
        return _from_arrays(
            arrays, label_names=info.labels, is_synthetic=False, multi_label=False, size=data.size,
            path=data.path, source=f"{info.title} (official, {data.size} px) from {data.path}{note}")
    arrays = synthetic_pneumoniamnist(n, size=size, seed=seed)
    share = float(np.mean(arrays["train_labels"]))
    return _from_arrays(
        arrays, label_names=info.labels, is_synthetic=True, multi_label=False, size=size,
        source=(f"synthetic pneumonia phantoms (radlab.data.chest_phantoms, {_render_size(size)} px"
                f"{'' if _render_size(size) == size else f' resized to {size}'}), "
                f"{'official' if n == dict(PNEUMONIAMNIST_COUNTS) else 'train/val/test'} split sizes "
                f"{n['train']}/{n['val']}/{n['test']}, {share:.0%} pneumonia in train"))


def chest_multilabel_data(
    size: int = 28,
    *,
    source: str = "auto",
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
) -> ChestData:
    """Several findings per chest film: ChestMNIST (14) if it is in the data directory, else phantoms (4).

    Parameters
    ----------
    size : int, default 28
        Image side in pixels (MedMNIST: 28, 64, 128 or 224).
    source : {"auto", "medmnist", "synthetic"}, default "auto"
        As for :func:`pneumonia_data`, with ``chestmnist.npz`` and
        :func:`synthetic_chest_multilabel`.
    n_train, n_val, n_test : int, optional
        Use this many films of a split (a random subset of the real split; this many
        phantoms). Default: the whole official split (78,468 / 11,219 / 22,433), or
        3,000 / 600 / 600 phantoms.
    seed : int, default 0
    data_dir, path : path-like, optional
        As for :func:`pneumonia_data`.

    Returns
    -------
    ChestData
        uint8 images ``(n, size, size)``, uint8 labels ``(n, k)`` with one 0/1
        column per finding named in ``label_names``: ChestMNIST's 14, or the
        phantoms' 4 (``"cardiomegaly", "mass", "nodule", "pneumonia"``).

    Raises
    ------
    FileNotFoundError, radlab.errors.ChecksumError, radlab.errors.DataFormatError
        As for :func:`pneumonia_data`.
    """
    source = _check_source(source)
    size = _check_size(size)
    info = MEDMNIST["chestmnist"]
    if source == "synthetic" and path is not None:
        raise ValueError("path= is a ChestMNIST file: use source='auto' or 'medmnist' with it")
    data = None if source == "synthetic" else _load_official(info.flag, source, size, path, data_dir)
    if data is not None:
        _counts_from(n_train, n_val, n_test, info.n_samples)  # checks the numbers given
        arrays, note = _official(data, {"train": n_train, "val": n_val, "test": n_test}, seed,
                                 stratify=False)
        return _from_arrays(
            arrays, label_names=info.labels, is_synthetic=False, multi_label=True, size=data.size,
            path=data.path,
            source=f"{info.title} (official, {data.size} px, {len(info.labels)} findings) from "
                   f"{data.path}{note}")
    n = _counts_from(n_train, n_val, n_test, SYNTHETIC_MULTILABEL_COUNTS)
    arrays = synthetic_chest_multilabel(n, size=size, seed=seed)
    names = tuple(CHEST_MULTILABEL_FINDINGS)
    render = _render_size(size)
    return _from_arrays(
        arrays, label_names=names, is_synthetic=True, multi_label=True, size=size,
        source=(f"synthetic chest phantoms (radlab.data.chest_phantoms, {render} px"
                f"{'' if render == size else f' resized to {size}'}) with {len(names)} of "
                f"ChestMNIST's {len(info.labels)} findings ({', '.join(names)}), each present "
                f"independently of the others; {n['train']}/{n['val']}/{n['test']} films"))
