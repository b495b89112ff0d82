"""Transfer learning for small radiology datasets: backbones, the offline path, and the data-efficiency curve.

A model trained on a large *source* task (ImageNet photographs, or a large
synthetic task inside the kit) already has filters for edges, textures and
shapes. Reusing them for a *target* task with few labelled images is transfer
learning (Bar et al. 2015 used ImageNet features for chest pathology;
Tajbakhsh et al. 2016 compared full training with fine-tuning on four medical
tasks). Notebook 05 uses this module::

    source = rl.transfer.backbone_for_transfer(input_shape=(64, 64, 1))
    print(source.path_taken)     # ImageNet weights found, or the in-kit offline path
    model = rl.transfer.transfer_classifier(source.features, "frozen")
    curve = rl.transfer.data_efficiency(x_train, y_train, x_val, y_val, x_test, y_test,
                                        features=source.features, sizes=(16, 64, 256))
    curve.plot()

The pieces:

* :func:`imagenet_weights` finds a local copy of ImageNet weights (radlab's data
  directory, filled by ``radlab fetch``, or Keras's own cache). It never downloads.
* :func:`pretrain_source` is the offline path: a kit CNN pretrained on a large,
  different synthetic task, cached under ``rl.data_dir()/pretrained/`` so that a
  workshop room trains it once.
* :func:`backbone_for_transfer` picks between the two and says which it took.
* :func:`transfer_classifier` builds a binary classifier on a feature extractor,
  ``"frozen"``, ``"finetune"`` (BatchNormalization kept frozen) or ``"scratch"``;
  :func:`unfreeze` is the second stage of the two-stage recipe.
* :func:`data_efficiency` trains each method at several training-set sizes for
  the same number of gradient steps and returns AUC against size, with a plot.

Training goes through :func:`radlab.classification.train_classifier`
(seeded, class-weighted, best-validation-AUC weights kept). TensorFlow and Keras
are imported inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .errors import ChecksumError, DataFormatError, ModelConfigError, ModelFileError

if TYPE_CHECKING:  # pragma: no cover
    import keras
    from matplotlib.figure import Figure

__all__ = [
    "IMAGENET_WEIGHTS",
    "METHODS",
    "SOURCES",
    "DataEfficiency",
    "SourceModel",
    "TransferBackbone",
    "backbone_for_transfer",
    "data_efficiency",
    "imagenet_weights",
    "pretrain_source",
    "set_trainable",
    "transfer_classifier",
    "unfreeze",
]

#: Backbone name (see :data:`radlab.models.backbones.BACKBONES`) -> registry entry of its no-top weights.
IMAGENET_WEIGHTS = {
    "mobilenet_v2": "mobilenetv2_imagenet_notop",
    "efficientnet_b0": "efficientnetb0_imagenet_notop",
    "resnet50": "resnet50_imagenet_notop",
}

#: In-kit source tasks for :func:`pretrain_source`: name -> what the source images show.
SOURCES = {
    "ct_nodule": "axial chest CT slices (lung window), nodule present or not: a different modality",
    "chest_nodule": "chest radiographs, lung nodule present or not: same modality, a different finding",
}
DEFAULT_SOURCE = "chest_nodule"

#: Training methods of :func:`transfer_classifier` and :func:`data_efficiency`.
METHODS = ("scratch", "frozen", "finetune")

# Bump when pretrain_source's recipe changes, so old cached models are not reused.
_RECIPE_VERSION = 3  # 3: weights seeded before they are drawn
_FEATURES_LAYER = "gap"  # global average pooling of radlab's builders: the feature vector
_EPOCHS_PER_RUN = 4  # validations per training run (the best one is kept)


# ---------------------------------------------------------------------------
# ImageNet weights on this machine
# ---------------------------------------------------------------------------
def _keras_cache_dir() -> Path:
    """Keras's download cache: ``$KERAS_HOME/models``, default ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home).expanduser() / "models"


def imagenet_weights(
    name: str = "mobilenet_v2",
    *,
    data_dir: str | os.PathLike | None = None,
    verify: bool = True,
) -> Path | None:
    """The local file of a backbone's ImageNet weights (no top), or None. Never downloads.

    Looks in radlab's data directory first (where ``radlab fetch
    mobilenetv2_imagenet_notop`` or :func:`radlab.data.fetch` puts it), then in
    Keras's own cache, ``$KERAS_HOME/models`` (default ``~/.keras/models``),
    where ``weights="imagenet"`` leaves it after a download. Both use Keras's
    file name, so a copy brought on a USB stick to an air-gapped hospital
    machine can go into either folder.

    Parameters
    ----------
    name : {"mobilenet_v2", "efficientnet_b0", "resnet50"}, default "mobilenet_v2"
        The backbone, as in :func:`radlab.models.pretrained_backbone`.
    data_dir : path-like, optional
        radlab's data directory; default :func:`radlab.data_dir`.
    verify : bool, default True
        Check the file against the checksum (or, where Keras publishes none, the
        size in bytes) in radlab's registry; the result is remembered, so only
        the first check reads the file. False accepts any file of that name
        (your own weights saved in the same format).

    Returns
    -------
    pathlib.Path or None
        The weights file; None when neither folder has it.

    Raises
    ------
    ModelConfigError
        Unknown backbone name.
    ChecksumError
        A file is there but does not match the registry (an interrupted copy or
        download): the message names the file and the fix, ``radlab fetch <name>``.

    Examples
    --------
    >>> path = imagenet_weights("mobilenet_v2")  # doctest: +SKIP
    >>> features = rl.models.pretrained_backbone(  # doctest: +SKIP
    ...     "mobilenet_v2", (64, 64, 1), weights=path, value_range=(0, 1))
    """
    from .data.download import verify_file
    from .data.registry import REGISTRY, cached_files

    if name not in IMAGENET_WEIGHTS:
        raise ModelConfigError(f"unknown backbone {name!r}; choose one of {sorted(IMAGENET_WEIGHTS)}")
    info = REGISTRY[IMAGENET_WEIGHTS[name]]
    in_data_dir = {entry: path for entry, path, _ in cached_files(data_dir)}
    candidates = [in_data_dir.get(info.name), _keras_cache_dir() / info.filename]
    for path in candidates:
        if path is None or not path.is_file():
            continue
        if verify:
            ok, found = verify_file(path, info.checksum, info.size_bytes)
            if not ok:
                size = path.stat().st_size
                what = (f"truncated ({size:,} of {info.size_bytes:,} bytes)"
                        if info.size_bytes and size < info.size_bytes
                        else f"not the published file (expected {info.checksum or f'{info.size_bytes} bytes'}, "
                             f"found {found})")
                raise ChecksumError(
                    f"{path} is {what}: an interrupted download or copy. Delete it and run "
                    f"`radlab fetch {info.name}` while online (or copy the complete file there again); "
                    "to use your own weights file, pass verify=False."
                )
        return path
    return None


# ---------------------------------------------------------------------------
# the offline path: pretrain a kit backbone on a large synthetic source task
# ---------------------------------------------------------------------------
@dataclass
class SourceModel:
    """A kit CNN pretrained on a source task (what :func:`pretrain_source` returns).

    Attributes
    ----------
    model : keras.Model
        The source classifier (one sigmoid output).
    features : keras.Model
        Its feature extractor: input -> global-average-pooled features
        (shares its layers with ``model``).
    source : str
        Key of :data:`SOURCES`.
    description : str
        What the source images show.
    source_auc : float
        AUC on held-out source images (not the target task).
    path : pathlib.Path or None
        The cached ``.keras`` file; None when caching was off.
    from_cache : bool
        True when loaded from the cache instead of trained now.
    train_seconds : float
        Time to train (0 when loaded from the cache).
    settings : dict
        The settings that define the model (and its cache file name).
    """

    model: Any
    features: Any
    source: str
    description: str
    source_auc: float
    path: Path | None
    from_cache: bool
    train_seconds: float
    settings: dict = field(default_factory=dict)


def _source_images(source: str, n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` source images in [0, 1], shape (n, size, size, 1), and 0/1 labels."""
    from . import data
    from .imaging import window

    if source == "ct_nodule":
        slices = data.ct_phantoms(n, max(size, 48), seed=seed)
        x = window(slices.x, "lung")
        if x.shape[1] != size:  # ct_phantoms draws at least 48 pixels
            import tensorflow as tf

            x = tf.image.resize(x, (size, size), antialias=True).numpy().clip(0, 1)
        return x.astype(np.float32), np.asarray(slices.y, dtype=np.int64)
    # Nodules of 20-40 mm: at 64 px (6.25 mm per pixel) the kit's default 12-30 mm are
    # barely visible and the source task is too hard to learn useful features from.
    films = data.chest_phantoms(n, size, seed=seed, finding="nodule", lesion_size=(20.0, 40.0))
    return films.x, np.asarray(films.y, dtype=np.int64)


def _source_network(shape: tuple, name: str):
    """radlab's ``small_cnn`` (4 blocks, 16-128 filters) behind a per-image standardisation layer.

    Standardising inside the model (mean 0, standard deviation 1 per image, as
    :func:`radlab.features.standardize` does) removes exposure differences
    between films, and lets the features take images as they are, in [0, 1],
    like :func:`radlab.models.pretrained_backbone` does on the ImageNet path.
    """
    import keras

    from .models import small_cnn

    body = small_cnn(shape, 1, depth=4, width=16, bn_momentum=0.9)
    inputs = keras.Input(shape, name="image")
    x = keras.layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False, epsilon=1e-6,
                                        name="standardize")(inputs)
    for layer in body.layers[1:]:  # small_cnn is a chain of layers: rebuild them after the new one
        x = type(layer).from_config(layer.get_config())(x)
    return keras.Model(inputs, x, name=name)


def _settings_hash(settings: dict) -> str:
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _features_of(model, name: str | None = None):
    """Input -> the global-average-pooled features of a radlab builder's model."""
    import keras

    try:
        layer = model.get_layer(_FEATURES_LAYER)
    except ValueError:
        raise ModelConfigError(
            f"model {model.name!r} has no {_FEATURES_LAYER!r} layer: pass a model from "
            "rl.models.small_cnn / resnet, or your own feature extractor"
        ) from None
    return keras.Model(model.inputs, layer.output, name=name or f"{model.name}_features")


def pretrain_source(
    source: str = DEFAULT_SOURCE,
    *,
    input_shape: Sequence[int] = (64, 64, 1),
    n: int = 3000,
    steps: int = 400,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
    cache: bool = True,
    data_dir: str | os.PathLike | None = None,
    verbose: bool = True,
) -> SourceModel:
    """Pretrain a kit CNN on a large synthetic source task (the offline path), cached on disk.

    Without ImageNet weights the lesson still needs a backbone that has seen
    *many* images of *something else*. Two source tasks are built in
    (:data:`SOURCES`):

    * ``"chest_nodule"`` (default): 3,000 chest-film phantoms, nodule (20-40 mm)
      or not. Same modality as the target (pneumonia on chest films) but a
      different finding - like a hospital reusing a network trained on a large
      public nodule dataset for its own pneumonia question.
    * ``"ct_nodule"``: axial CT slices in a lung window, nodule or not - a
      different modality, a wider domain gap.

    Why ``"chest_nodule"`` is the default, measured (64 px, pneumonia target
    with the default lesion contrast, 200 gradient steps per target model, test
    AUC on 1,000 films): with 24 labelled films, scratch 0.53, chest-nodule
    features frozen 0.67 / fine-tuned 0.64, CT features 0.55 / 0.56; with 96
    films, scratch 0.65, chest-nodule 0.74 / 0.75. The CT source learns its own
    task almost perfectly (AUC 0.99) yet helps little on radiographs: the
    domain-gap lesson of notebook 05.

    The trained model is saved with :func:`radlab.classification.save_model`
    (atomic) to ``<data_dir>/pretrained/<source>_<size>px_<hash>.keras``,
    where the hash covers every setting here, and loaded next time with
    :func:`radlab.classification.load_model` (safe mode). A cache file that
    cannot be loaded (truncated, corrupt) is trained again and replaced, with a
    warning.

    Parameters
    ----------
    source : {"chest_nodule", "ct_nodule"}, default "chest_nodule"
        The source task.
    input_shape : tuple of int, default (64, 64, 1)
        The target's image shape, ``(height, width, 1)`` in pixels (square,
        at least 48 pixels for ``"ct_nodule"`` before resizing; images in [0, 1]).
    n : int, default 3000
        Source images; 15 % of them are held out to report ``source_auc``.
    steps : int, default 400
        Gradient steps (batches) of training.
    batch_size : int, default 64
    learning_rate : float, default 2e-3
        Adam's starting rate, cosine-decayed to 0.
    seed : int, default 0
        Seeds the source images, the weights and the batch order.
    cache : bool, default True
        Load from / save to the cache file.
    data_dir : path-like, optional
        Default :func:`radlab.data_dir`.
    verbose : bool, default True
        Print one line saying whether the model was trained or loaded.

    Returns
    -------
    SourceModel
        The model, its feature extractor, the source description and AUC, the
        cache path and whether it came from the cache.

    Raises
    ------
    ModelConfigError
        Unknown source, or a non-square or multi-channel shape.

    Examples
    --------
    >>> source = pretrain_source("chest_nodule", input_shape=(64, 64, 1))  # doctest: +SKIP
    >>> source.source_auc > 0.8  # doctest: +SKIP
    True
    """
    from .classification import load_model, predict_scores, save_model
    from .env import data_dir as default_data_dir

    if source not in SOURCES:
        raise ModelConfigError(f"unknown source task {source!r}; choose one of {sorted(SOURCES)}")
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 1:
        raise ModelConfigError(
            f"pretrain_source needs a square grey input_shape (size, size, 1) in pixels, got {tuple(input_shape)!r}"
        )
    settings = {
        "recipe": _RECIPE_VERSION, "source": source, "input_shape": list(shape),
        "architecture": "standardize+small_cnn(depth=4, width=16)", "n": int(n), "steps": int(steps),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate), "seed": int(seed),
    }
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    path = root / "pretrained" / f"{source}_{shape[0]}px_{_settings_hash(settings)}.keras"

    x, y = _source_images(source, int(n), shape[0], int(seed))
    n_test = max(int(round(0.15 * len(x))), 20)
    x_train, y_train, x_test, y_test = x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:]

    model, from_cache, seconds = None, False, 0.0
    if cache and path.is_file():
        try:
            model, from_cache = load_model(path), True
        except ModelFileError as exc:
            warnings.warn(f"{exc} Training the source model again.", stacklevel=2)
    if model is None:
        import keras

        # Seed before the weights are drawn, or the first model of a process would start
        # from unseeded weights and the same settings could give different source models.
        keras.utils.set_random_seed(int(seed))
        net = _source_network(shape, name=f"{source}_source")
        start = time.perf_counter()
        # 10 % of the training images check progress so the best epoch is kept.
        n_val = max(len(x_train) // 10, 10)
        model, _ = _train_for_steps(
            net, x_train[n_val:], y_train[n_val:], x_train[:n_val], y_train[:n_val],
            steps=int(steps), batch_size=int(batch_size), learning_rate=float(learning_rate), seed=int(seed),
        )
        seconds = time.perf_counter() - start
        if cache:
            save_model(model, path)
    from .metrics import binary_report

    auc = float(binary_report(y_test, predict_scores(model, x_test)).auc)
    if verbose:
        verb = f"loaded from {path}" if from_cache else f"trained in {seconds:.0f} s" + (
            f", saved to {path}" if cache else "")
        print(f"Source model ({SOURCES[source]}): {verb}; AUC on held-out source images {auc:.3f}")
    return SourceModel(
        model=model, features=_features_of(model, f"{source}_features"), source=source,
        description=SOURCES[source], source_auc=auc, path=path if cache else None,
        from_cache=from_cache, train_seconds=seconds, settings=settings,
    )


# ---------------------------------------------------------------------------
# choosing the path
# ---------------------------------------------------------------------------
@dataclass
class TransferBackbone:
    """A pretrained feature extractor and how it was obtained (from :func:`backbone_for_transfer`).

    Attributes
    ----------
    features : keras.Model
        Images as they are (grey, values in ``value_range``) -> a feature vector.
    path_taken : str
        One human-readable line: which weights, from where.
    kind : {"imagenet", "in-kit"}
    source : SourceModel or None
        The in-kit source model (None on the ImageNet path).
    weights_path : pathlib.Path or None
        The ImageNet weights file (None on the in-kit path).
    """

    features: Any
    path_taken: str
    kind: str
    source: SourceModel | None = None
    weights_path: Path | None = None


def backbone_for_transfer(
    input_shape: Sequence[int] = (64, 64, 1),
    *,
    prefer: str = "auto",
    name: str = "mobilenet_v2",
    weights: str | os.PathLike | None = None,
    source: str = DEFAULT_SOURCE,
    value_range: tuple[float, float] = (0.0, 1.0),
    data_dir: str | os.PathLike | None = None,
    **source_kwargs: Any,
) -> TransferBackbone:
    """A pretrained backbone for transfer: ImageNet weights if this machine has them, else in-kit.

    Parameters
    ----------
    input_shape : tuple of int, default (64, 64, 1)
        Target images, ``(height, width, channels)`` in pixels.
    prefer : {"auto", "imagenet", "in-kit"}, default "auto"
        ``"auto"``: the ImageNet path when :func:`imagenet_weights` finds a
        file (or ``weights`` is given), else the in-kit path. ``"imagenet"``
        insists (an error says how to get the file); ``"in-kit"`` never looks.
    name : {"mobilenet_v2", "efficientnet_b0", "resnet50"}, default "mobilenet_v2"
        ImageNet architecture (see :func:`radlab.models.pretrained_backbone`).
    weights : path-like, optional
        An explicit no-top ``.h5`` weights file for ``name`` (used as it is).
    source : str, default "chest_nodule"
        Source task of the in-kit path (see :func:`pretrain_source`).
    value_range : (float, float), default (0, 1)
        Values of black and white in the target images (ImageNet path).
    data_dir : path-like, optional
        radlab's data directory; default :func:`radlab.data_dir`.
    **source_kwargs
        More arguments for :func:`pretrain_source` (``n``, ``steps``, ...).

    Returns
    -------
    TransferBackbone
        ``.features`` and ``.path_taken`` (print it: the notebook says which path it took).

    Raises
    ------
    ModelFileNotFoundError
        ``prefer="imagenet"`` and no weights file was found.
    ChecksumError
        A weights file that does not match the registry (see :func:`imagenet_weights`).
    """
    from .models import pretrained_backbone

    if prefer not in ("auto", "imagenet", "in-kit"):
        raise ValueError(f"prefer must be 'auto', 'imagenet' or 'in-kit', got {prefer!r}")
    path = None
    if prefer != "in-kit":
        path = Path(weights).expanduser() if weights is not None else imagenet_weights(name, data_dir=data_dir)
        if path is None and prefer == "imagenet":
            from .data.registry import REGISTRY
            from .errors import ModelFileNotFoundError

            info = REGISTRY[IMAGENET_WEIGHTS[name]]
            raise ModelFileNotFoundError(
                f"no ImageNet weights for {name} on this machine: run `radlab fetch {info.name}` while "
                f"online, or copy {info.filename} into {_keras_cache_dir()}; or use prefer='in-kit'"
            )
    if path is not None:
        features = pretrained_backbone(name, input_shape, weights=path, value_range=value_range)
        shown = str(path).replace(os.path.expanduser("~"), "~", 1)
        return TransferBackbone(
            features=features, kind="imagenet", weights_path=path,
            path_taken=f"ImageNet {name} weights from {shown}",
        )
    pretrained = pretrain_source(source, input_shape=input_shape, data_dir=data_dir, **source_kwargs)
    where = "loaded from the cache" if pretrained.from_cache else f"trained now in {pretrained.train_seconds:.0f} s"
    return TransferBackbone(
        features=pretrained.features, kind="in-kit", source=pretrained,
        path_taken=(f"offline: pretrained in-kit on {pretrained.description} "
                    f"(source AUC {pretrained.source_auc:.2f}; {where}). No ImageNet weights were used."),
    )


# ---------------------------------------------------------------------------
# freezing, fine-tuning, from scratch
# ---------------------------------------------------------------------------
def _all_layers(model) -> list:
    """Every layer, nested models expanded, in order (the models themselves excluded)."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(_all_layers(layer))
        else:
            out.append(layer)
    return out


def set_trainable(features, trainable: bool | int = True) -> None:
    """Freeze or unfreeze a feature extractor, always keeping BatchNormalization frozen when training it.

    Parameters
    ----------
    features : keras.Model
        Changed in place.
    trainable : bool or int, default True
        False freezes everything. True unfreezes every layer with weights; an
        int ``k`` unfreezes only the last ``k`` layers that have weights (the
        most task-specific filters) and keeps the earlier ones frozen.

    Notes
    -----
    BatchNormalization layers stay frozen (``trainable = False``), which in
    Keras 3 also makes them run in inference mode: they normalise with the
    running mean and variance learnt on the large source set. Updating those
    statistics from a few dozen target images would shift every feature the
    head has learnt to read, and a fine-tuned model often gets worse than the
    frozen one (Keras transfer-learning guide).
    """
    import keras

    if isinstance(trainable, bool):
        top = None
    elif isinstance(trainable, (int, np.integer)) and trainable > 0:
        top = int(trainable)
    else:
        raise ValueError(f"trainable must be True, False or a positive number of layers, got {trainable!r}")
    features.trainable = bool(trainable)  # propagates to every layer, nested models too
    if not trainable:
        return
    layers = _all_layers(features)
    is_bn = [isinstance(layer, keras.layers.BatchNormalization) for layer in layers]
    learnable = [layer for layer, bn in zip(layers, is_bn) if layer.weights and not bn]
    chosen = set(map(id, learnable if top is None else learnable[-top:]))
    for layer, bn in zip(layers, is_bn):
        if layer.weights:
            layer.trainable = id(layer) in chosen and not bn


def _copy_model(model, *, same_weights: bool):
    """A clone (new layers); with the same weights, or freshly initialised ones."""
    import keras

    clone = keras.models.clone_model(model)
    if same_weights:
        clone.set_weights(model.get_weights())
    return clone


def transfer_classifier(
    features,
    mode: str = "frozen",
    *,
    trainable_layers: int | None = None,
    learning_rate: float | None = None,
    decay_steps: int | None = None,
    dropout: float = 0.0,
    seed: int | None = 0,
):
    """A compiled binary classifier: a copy of a feature extractor plus a new sigmoid head.

    The ``features`` model you pass is never changed (the classifier gets a copy).

    Parameters
    ----------
    features : keras.Model
        Images -> a feature vector (``TransferBackbone.features``,
        ``SourceModel.features``, or a radlab ``small_cnn``/``resnet``, whose
        ``gap`` layer is then used).
    mode : {"frozen", "finetune", "scratch"}, default "frozen"
        ``"frozen"``: pretrained features, only the head trains.
        ``"finetune"``: pretrained features, which train too, slowly
        (BatchNormalization frozen, see :func:`set_trainable`); train a frozen
        head first, then :func:`unfreeze`, is the safer two-stage recipe.
        ``"scratch"``: the same architecture with freshly initialised weights,
        everything trains - the baseline.
    trainable_layers : int, optional
        ``"finetune"`` only: unfreeze just the last this many layers with weights.
    learning_rate : float, optional
        Adam's starting rate. Defaults: 1e-2 frozen (only a small head learns),
        1e-4 finetune (small steps keep the pretrained filters), 1e-3 scratch.
    decay_steps : int, optional
        Cosine decay to 0 over this many batches; None keeps the rate constant.
    dropout : float, default 0.0
        Dropout before the head.
    seed : int or None, default 0
        Seeds the head's (and for scratch all) initial weights.

    Returns
    -------
    keras.Model
        Compiled (binary cross-entropy, metrics ``auc`` and ``accuracy``);
        layer ``"features"`` is the feature extractor, ``"transfer_output"`` the head.

    Raises
    ------
    ValueError
        Unknown mode.

    Examples
    --------
    >>> features = rl.models.pretrained_backbone("mobilenet_v2", (64, 64, 1), weights=None)
    >>> model = transfer_classifier(features, "frozen")
    >>> model.get_layer("features").trainable
    False
    """
    import keras

    from .classification import build_classifier

    if mode not in METHODS:
        raise ValueError(f"mode must be one of {METHODS}, got {mode!r}")
    if _FEATURES_LAYER in {layer.name for layer in features.layers} and \
            features.outputs[0] is not features.get_layer(_FEATURES_LAYER).output:
        features = _features_of(features)  # a radlab classifier: use its pooled features
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    backbone = _copy_model(features, same_weights=mode != "scratch")
    backbone.name = "features"
    if mode == "frozen":
        set_trainable(backbone, False)
    elif mode == "finetune":
        set_trainable(backbone, trainable_layers if trainable_layers is not None else True)
    inputs = keras.Input(features.inputs[0].shape[1:])
    x = backbone(inputs)
    if dropout:
        x = keras.layers.Dropout(float(dropout), name="head_dropout")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="transfer_output")(x)
    model = keras.Model(inputs, outputs, name=f"{mode}_classifier")
    default_rate = {"frozen": 1e-2, "finetune": 1e-4, "scratch": 1e-3}[mode]
    return build_classifier(model, tuple(inputs.shape[1:]), decay_steps=decay_steps,
                            learning_rate=default_rate if learning_rate is None else float(learning_rate))


def unfreeze(model, *, trainable_layers: int | None = None, learning_rate: float = 1e-4,
             decay_steps: int | None = None):
    """Stage 2 of the two-stage recipe: unfreeze a trained frozen classifier's features and recompile.

    Parameters
    ----------
    model : keras.Model
        From :func:`transfer_classifier` (layer ``"features"``), its head trained.
    trainable_layers : int, optional
        Unfreeze just the last this many layers with weights; default all.
        BatchNormalization stays frozen either way (see :func:`set_trainable`).
    learning_rate : float, default 1e-4
        Small (a tenth of the head's rate or less): large steps would wipe out
        the pretrained filters in a few batches.
    decay_steps : int, optional
        Cosine decay to 0 over this many batches.

    Returns
    -------
    keras.Model
        The same model, recompiled (a changed ``trainable`` needs a new compile).
    """
    from .classification import compile_classifier

    set_trainable(model.get_layer("features"), trainable_layers if trainable_layers is not None else True)
    return compile_classifier(model, learning_rate=learning_rate, decay_steps=decay_steps)


def _train_for_steps(model, x, y, x_val, y_val, *, steps: int, batch_size: int, learning_rate: float,
                     seed: int, epochs: int = _EPOCHS_PER_RUN):
    """Train for a fixed number of gradient steps, whatever the training-set size.

    The training images are repeated (each about equally often, reshuffled) to
    ``epochs * steps_per_epoch * batch_size`` images, so 16 images get as many
    updates as 1,000; validation after each of the ``epochs`` keeps the best weights.
    """
    from .classification import build_classifier, train_classifier

    steps, batch_size = int(steps), int(batch_size)
    if steps < 1:
        raise ValueError(f"steps must be a positive number of batches, got {steps!r}")
    epochs = max(1, min(int(epochs), steps))
    per_epoch = -(-steps // epochs)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(x)) for _ in range(-(-per_epoch * batch_size // len(x)))])
    index = order[:per_epoch * batch_size]
    if getattr(model, "optimizer", None) is None:
        model = build_classifier(model, tuple(x.shape[1:]), learning_rate=learning_rate,
                                 decay_steps=per_epoch * epochs)
    return train_classifier(x[index], y[index], x_val, y_val, model=model, epochs=epochs,
                            batch_size=batch_size, seed=seed)


# ---------------------------------------------------------------------------
# the data-efficiency curve
# ---------------------------------------------------------------------------
@dataclass
class DataEfficiency:
    """Test AUC against training-set size, per method (what :func:`data_efficiency` returns).

    Attributes
    ----------
    rows : list of dict
        One per (method, size): ``method``, ``n_train``, ``auc``, ``ci_low``,
        ``ci_high`` (95 % bootstrap interval on the test set), ``seconds``
        (training time) and ``steps`` (gradient steps).
    steps : int
        Gradient steps every model got.
    n_test : int
        Test images.
    """

    rows: list
    steps: int
    n_test: int

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(row["method"] for row in self.rows))

    @property
    def sizes(self) -> list[int]:
        return sorted({row["n_train"] for row in self.rows})

    def auc(self, method: str, n_train: int) -> float:
        """Test AUC of ``method`` trained on ``n_train`` images."""
        for row in self.rows:
            if row["method"] == method and row["n_train"] == n_train:
                return row["auc"]
        raise KeyError(f"no result for method {method!r} at n_train={n_train}; have {self.methods} x {self.sizes}")

    def gain(self, method: str, baseline: str = "scratch") -> dict[int, float]:
        """AUC of ``method`` minus AUC of ``baseline``, per training-set size."""
        return {n: self.auc(method, n) - self.auc(baseline, n) for n in self.sizes}

    def table(self) -> str:
        """The rows as a plain-text table (AUC with its 95 % interval)."""
        lines = [f"{'method':<9} {'n_train':>7}  {'test AUC (95% CI)':<22} {'seconds':>7}"]
        for row in self.rows:
            lines.append(f"{row['method']:<9} {row['n_train']:>7}  "
                         f"{row['auc']:.3f} ({row['ci_low']:.3f}-{row['ci_high']:.3f})   {row['seconds']:>7.1f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"DataEfficiency({self.steps} steps per model, {self.n_test} test images)\n{self.table()}"

    def plot(self, ax: Any = None) -> Figure:
        """AUC against training-set size (log axis), one line per method, with 95 % intervals.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw here; default a new figure.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .metrics import _figure_and_axes

        fig, ax = _figure_and_axes(ax, (5.2, 3.8))
        styles = {"scratch": ("0.35", "s", "--"), "frozen": ("tab:blue", "o", "-"),
                  "finetune": ("tab:orange", "^", "-")}
        for method in self.methods:
            rows = sorted((r for r in self.rows if r["method"] == method), key=lambda r: r["n_train"])
            n = np.array([r["n_train"] for r in rows])
            auc = np.array([r["auc"] for r in rows])
            low = np.array([r["ci_low"] for r in rows])
            high = np.array([r["ci_high"] for r in rows])
            color, marker, line = styles.get(method, (None, "o", "-"))
            label = {"scratch": "from scratch", "frozen": "transfer, frozen features",
                     "finetune": "transfer, fine-tuned"}.get(method, method)
            ax.plot(n, auc, marker=marker, ls=line, color=color, label=label)
            ax.fill_between(n, low, high, color=color, alpha=0.12, lw=0)
        ax.set_xscale("log")
        ax.set_xticks(self.sizes)
        ax.set_xticklabels([str(s) for s in self.sizes])
        ax.minorticks_off()
        ax.axhline(0.5, ls=":", color="0.5", lw=1)
        ax.set_xlabel("labelled training images (log scale)")
        ax.set_ylabel("test AUC")
        ax.set_title(f"Data efficiency ({self.steps} gradient steps per model)")
        ax.legend(loc="lower right", fontsize=8)
        return fig


def nested_subsets(y, sizes: Sequence[int], seed: int = 0) -> dict[int, np.ndarray]:
    """Stratified, nested training subsets: indices for each size, each containing the smaller ones.

    Parameters
    ----------
    y : array_like of 0/1, shape (n,)
        Training labels.
    sizes : sequence of int
        Subset sizes (images); each keeps the class balance of ``y`` and at
        least one image of each class.
    seed : int, default 0

    Returns
    -------
    dict of int -> ndarray of int
        Indices into ``y`` per size.
    """
    y = np.asarray(y).reshape(-1)
    rng = np.random.default_rng(seed)
    pos, neg = rng.permutation(np.flatnonzero(y == 1)), rng.permutation(np.flatnonzero(y == 0))
    out = {}
    for size in sorted(int(s) for s in sizes):
        if not 2 <= size <= len(y):
            raise ValueError(f"training-set sizes must be between 2 and {len(y)} images, got {size}")
        n_pos = int(np.clip(round(size * len(pos) / len(y)), 1, size - 1))
        if n_pos > len(pos) or size - n_pos > len(neg):
            raise DataFormatError(f"not enough images of one class for a subset of {size}")
        out[size] = np.sort(np.concatenate([pos[:n_pos], neg[:size - n_pos]]))
    return out


def data_efficiency(
    x_train, y_train, x_val, y_val, x_test, y_test,
    *,
    features,
    sizes: Sequence[int] = (16, 32, 64, 128, 256),
    methods: Sequence[str] = ("scratch", "finetune"),
    steps: int = 200,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    n_boot: int = 200,
    verbose: bool = True,
) -> DataEfficiency:
    """Train each method at each training-set size and measure test AUC: the data-efficiency curve.

    Every model gets the same number of gradient steps (``steps`` batches),
    not epochs, so a small training set is not under-trained: its images are
    simply seen more often. Subsets are stratified and nested (the 32 images
    include the 16), and every run uses the same seed, so differences come from
    the method and the data size rather than from luck of the draw.

    ``"finetune"`` is the two-stage recipe: the head alone for the first half of
    the steps (``10 * learning_rate``), then everything but BatchNormalization
    at ``learning_rate / 10``. ``"frozen"`` trains the head alone for all steps
    at ``10 * learning_rate``; ``"scratch"`` trains everything from random
    weights at ``learning_rate``.

    Parameters
    ----------
    x_train, x_val, x_test : array, shape (n, H, W, C)
        Images in the range the features expect (e.g. [0, 1]).
    y_train, y_val, y_test : array_like of 0/1, shape (n,) or (n, 1)
    features : keras.Model
        The pretrained feature extractor (``backbone_for_transfer(...).features``).
    sizes : sequence of int, default (16, 32, 64, 128, 256)
        Training-set sizes in images.
    methods : sequence of {"scratch", "frozen", "finetune"}, default ("scratch", "finetune")
    steps : int, default 200
        Gradient steps per model.
    batch_size : int, default 32
    learning_rate : float, default 1e-3
    seed : int, default 0
    n_boot : int, default 200
        Bootstrap resamples of the test set for the 95 % intervals.
    verbose : bool, default True
        Print one line per model as it finishes.

    Returns
    -------
    DataEfficiency
        ``.rows``, ``.table()``, ``.gain("finetune")`` and ``.plot()``.
    """
    from .classification import check_split, predict_scores
    from .metrics import bootstrap_ci

    x_train, y_train = check_split(x_train, y_train, "train")
    x_val, y_val = check_split(x_val, y_val, "val")
    x_test, y_test = check_split(x_test, y_test, "test")
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be some of {METHODS}, got {tuple(methods)!r}")
    steps = int(steps)
    subsets = nested_subsets(y_train, sizes, seed)
    rows = []
    for n_train, index in subsets.items():
        x, y = x_train[index], y_train[index]
        for method in methods:
            start = time.perf_counter()
            common = dict(batch_size=batch_size, seed=seed)
            if method == "scratch":
                model = transfer_classifier(features, "scratch", learning_rate=learning_rate,
                                            decay_steps=_decay(steps), seed=seed)
                model, _ = _train_for_steps(model, x, y, x_val, y_val, steps=steps,
                                            learning_rate=learning_rate, **common)
            else:
                head_steps = steps if method == "frozen" else max(steps // 2, 1)
                model = transfer_classifier(features, "frozen", learning_rate=10 * learning_rate,
                                            decay_steps=_decay(head_steps), seed=seed)
                model, _ = _train_for_steps(model, x, y, x_val, y_val, steps=head_steps,
                                            learning_rate=10 * learning_rate, **common)
                if method == "finetune" and steps - head_steps > 0:
                    tune_steps = steps - head_steps
                    unfreeze(model, learning_rate=learning_rate / 10, decay_steps=_decay(tune_steps))
                    model, _ = _train_for_steps(model, x, y, x_val, y_val, steps=tune_steps,
                                                learning_rate=learning_rate / 10, **common)
            seconds = time.perf_counter() - start
            auc, low, high = bootstrap_ci(y_test, predict_scores(model, x_test), n_boot=n_boot, seed=seed)
            rows.append({"method": method, "n_train": n_train, "auc": float(auc), "ci_low": float(low),
                         "ci_high": float(high), "seconds": float(seconds), "steps": steps})
            if verbose:
                print(f"{method:<9} n_train={n_train:<5} test AUC {auc:.3f} ({low:.3f}-{high:.3f})  "
                      f"{seconds:.1f} s")
    return DataEfficiency(rows=rows, steps=steps, n_test=len(y_test))


def _decay(steps: int) -> int:
    """Cosine-decay length that matches :func:`_train_for_steps` (whole epochs of batches)."""
    epochs = max(1, min(_EPOCHS_PER_RUN, steps))
    return -(-steps // epochs) * epochs
