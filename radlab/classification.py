"""The classification recipe of notebook 06: train, check, save and reload a binary classifier.

``train_classifier`` is the whole recipe in one call, and each step is a plain
function you can call on its own::

    model, history = rl.classification.train_classifier(
        data.x_train, data.y_train, data.x_val, data.y_val, epochs=20)
    score_val = rl.classification.predict_scores(model, data.x_val)
    threshold = rl.metrics.choose_threshold(data.y_val, score_val)   # on validation, never test
    score_test = rl.classification.predict_scores(model, data.x_test)
    print(rl.metrics.at_threshold(data.y_test, score_test, threshold))

What the recipe does, and why:

1. **Checks the inputs** (:func:`check_split`): one label per image, labels 0/1,
   both classes in every split - a split with one class only makes AUC undefined
   and usually means the split was not stratified.
2. **Class imbalance**: weights from scikit-learn's
   ``compute_class_weight("balanced")`` (each class contributes equally to the
   loss), or :func:`oversample` the minority class instead.
3. **Model**: :func:`radlab.models.resnet` (or ``small_cnn``, or your own model),
   Adam with a cosine learning-rate decay, binary cross-entropy, AUC and accuracy.
4. **Training** with :func:`radlab.fit` (seeded, ``tf.data`` pipeline, optional
   augmentation and dashboard), an optional wall-clock limit, and the weights of
   the epoch with the best validation AUC kept at the end.

Saving (:func:`save_model`) writes the ``.keras`` file atomically, so an
interrupted save never leaves half a file; :func:`load_model` loads with
``safe_mode=True`` and :func:`load_weights_checked` turns Keras' shape errors into
one that names the file, the layer shapes expected and found, and the fix.

TensorFlow and Keras are imported inside the functions.
"""

from __future__ import annotations

import os
import re
import time
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ._files import atomic_output
from .errors import DataFormatError, ModelFileError, ModelFileNotFoundError, WeightsMismatchError

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = [
    "ModelFileError",
    "ModelFileNotFoundError",
    "WeightsMismatchError",
    "IMBALANCE_STRATEGIES",
    "ImbalanceComparison",
    "build_classifier",
    "build_multilabel_classifier",
    "check_multilabel_split",
    "check_split",
    "class_weights",
    "compile_classifier",
    "compare_imbalance",
    "load_model",
    "load_weights_checked",
    "oversample",
    "predict_multilabel_scores",
    "predict_scores",
    "save_model",
    "train_classifier",
    "train_multilabel_classifier",
]

#: Models :func:`train_classifier` can build by name.
MODELS = ("resnet", "small_cnn")

#: The notebook-06 recipe for 28 px films, as keyword arguments of :func:`train_classifier`.
#: ``bench/medmnist_pneumonia.py`` measures exactly these settings on the official
#: PneumoniaMNIST file (target: test AUC >= 0.96, ACC >= 0.88, <= 5 min of training on a
#: 2-core CPU); on phantoms in that format a 2-core CPU trains it in about 4-5 minutes.
RECIPE = {"model": "resnet", "epochs": 30, "batch_size": 128, "learning_rate": 1e-3,
          "class_weight": "balanced"}
#: The same recipe shortened for quick mode (tests, a first look): the small CNN learns a
#: usable model from a few hundred films in a few epochs, where the ResNet needs more.
QUICK_RECIPE = {"model": "small_cnn", "epochs": 6, "batch_size": 32, "learning_rate": 3e-3,
                "class_weight": "balanced"}


# ---------------------------------------------------------------------------
# errors (candidates for radlab.errors)
# ---------------------------------------------------------------------------
# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------
def check_split(x, y, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Check images and binary labels of one split; return ``x`` and labels as ``(n,)`` int.

    Parameters
    ----------
    x : array, shape (n, H, W) or (n, H, W, C)
        Images in pixels.
    y : array_like of 0/1, shape (n,) or (n, 1)
        One label per image (1 = finding present), e.g. MedMNIST's ``(n, 1)``.
    split : str, default "train"
        Name used in error messages ("train", "val", "test").

    Returns
    -------
    (x, y) : ndarray, ndarray of int
        ``x`` unchanged (as an array), ``y`` flattened to ``(n,)``.

    Raises
    ------
    DataFormatError
        Labels that do not match the images (both shapes are named), labels other
        than 0/1, or a split with only one class.
    """
    x = np.asarray(x)
    y_in = np.asarray(y)
    if x.ndim not in (3, 4):
        raise DataFormatError(
            f"{split} images have shape {x.shape}; expected (n, height, width) or "
            "(n, height, width, channels) in pixels"
        )
    y_flat = y_in[:, 0] if (y_in.ndim == 2 and y_in.shape[1] == 1) else y_in
    if y_flat.ndim != 1 or y_flat.shape[0] != x.shape[0]:
        raise DataFormatError(
            f"{split} labels have shape {y_in.shape} but the {split} images have shape {x.shape}: "
            f"give one 0/1 label per image, shape ({x.shape[0]},) or ({x.shape[0]}, 1)"
        )
    classes = np.unique(y_flat)
    if not np.isin(classes, [0, 1]).all():
        raise DataFormatError(
            f"{split} labels must be 0 (no finding) or 1 (finding) for a binary classifier; "
            f"found the values {classes[:10].tolist()}"
        )
    if classes.size < 2:
        raise DataFormatError(
            f"the {split} split has only one class ({int(classes[0])}) in its {y_flat.size} "
            "images; a classifier needs both. Split with stratification, e.g. "
            "sklearn.model_selection.train_test_split(x, y, stratify=y)"
        )
    return x, y_flat.astype(np.int64)


def class_weights(y, mode: str | Mapping[int, float] | None = "balanced") -> dict[int, float] | None:
    """Per-class loss weights for an imbalanced binary task.

    Parameters
    ----------
    y : array_like of 0/1, shape (n,) or (n, 1)
        Training labels.
    mode : "balanced", dict or None, default "balanced"
        ``"balanced"``: scikit-learn's ``compute_class_weight``, ``n / (2 * n_class)``,
        so both classes weigh the same in the loss in total. A dict
        ``{0: w0, 1: w1}`` is checked and returned. None: no weighting.

    Returns
    -------
    dict or None
        ``{0: w0, 1: w1}`` for ``rl.fit(..., class_weight=...)``.
    """
    if mode is None:
        return None
    if isinstance(mode, Mapping):
        if set(mode) != {0, 1} or not all(np.isfinite(float(v)) and float(v) > 0 for v in mode.values()):
            raise ValueError(f"class_weight must be {{0: w0, 1: w1}} with positive weights, got {dict(mode)!r}")
        return {int(k): float(v) for k, v in mode.items()}
    if mode != "balanced":
        raise ValueError(f"class_weight must be 'balanced', None or a dict {{0: w0, 1: w1}}, got {mode!r}")
    from sklearn.utils.class_weight import compute_class_weight

    y = np.asarray(y).reshape(-1)
    classes = np.array([0, 1])
    if not np.isin(classes, y).all():
        raise DataFormatError("class weights need both classes in the training labels; use a stratified split")
    weights = compute_class_weight("balanced", classes=classes, y=y)
    return {0: float(weights[0]), 1: float(weights[1])}


def oversample(x, y, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Balance classes by drawing minority-class images again (with replacement).

    The alternative to class weights: every epoch then sees as many positives
    as negatives. Repeated images make over-fitting easier, so combine it with
    augmentation. Use it on the training split only.

    Parameters
    ----------
    x : array, shape (n, ...)
        Images.
    y : array_like of 0/1, shape (n,) or (n, 1)
    seed : int or None, default 0

    Returns
    -------
    (x, y) : arrays
        ``2 * n_majority`` images in shuffled order; ``y`` keeps its shape convention.
    """
    x_arr, y_arr = np.asarray(x), np.asarray(y)
    y_flat = y_arr[:, 0] if (y_arr.ndim == 2 and y_arr.shape[1] == 1) else y_arr
    if y_flat.ndim != 1 or len(y_flat) != len(x_arr):
        raise DataFormatError(
            f"labels have shape {y_arr.shape} but the images have shape {x_arr.shape}: "
            f"give one 0/1 label per image, shape ({len(x_arr)},) or ({len(x_arr)}, 1)"
        )
    if not (np.isin(y_flat, [0, 1]).all() and np.unique(y_flat).size == 2):
        raise DataFormatError(
            f"oversample needs 0/1 labels with both classes present; found {np.unique(y_flat)[:10].tolist()}. "
            "Use a stratified split"
        )
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y_flat == 1), np.flatnonzero(y_flat == 0)
    minority, majority = (pos, neg) if pos.size < neg.size else (neg, pos)
    extra = rng.choice(minority, size=majority.size - minority.size, replace=True)
    index = rng.permutation(np.concatenate([majority, minority, extra]))
    return x_arr[index], y_arr[index]


# ---------------------------------------------------------------------------
# model, training, prediction
# ---------------------------------------------------------------------------
def build_classifier(model: Any, input_shape: tuple, *, learning_rate: float = 1e-3,
                     decay_steps: int | None = None, bn_momentum: float | None = 0.9) -> keras.Model:
    """A compiled binary classifier: a radlab model by name, or your own model compiled if needed.

    Parameters
    ----------
    model : "resnet", "small_cnn" or keras.Model
        Names build :func:`radlab.models.resnet` / :func:`radlab.models.small_cnn`
        with one sigmoid output. A Keras model is used as it is (compiled here if
        it is not compiled yet).
    input_shape : tuple
        ``(height, width)`` or ``(height, width, channels)`` in pixels.
    learning_rate : float, default 1e-3
        Adam's starting learning rate.
    decay_steps : int, optional
        Cosine decay of the learning rate to 0 over this many batches
        (``epochs * batches per epoch``); None keeps it constant.
    bn_momentum : float or None, default 0.9
        Momentum of the BatchNormalization running statistics of a model built
        by name. Keras' 0.99 needs several hundred batches before the statistics
        used at validation time settle, so a short run validates badly; 0.9
        settles in a few dozen. None keeps the builder's value. A model you pass
        in is never changed.

    Returns
    -------
    keras.Model
        Compiled with binary cross-entropy and the metrics ``auc`` and ``accuracy``.
    """
    import keras

    from .models import builders

    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS} or a keras.Model, got {model!r}")
        model = getattr(builders, model)(tuple(input_shape), 1)
        _set_bn_momentum(model, bn_momentum)
    elif not isinstance(model, keras.Model):
        raise TypeError(f"model must be one of {MODELS} or a keras.Model, got {type(model).__name__}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        compile_classifier(model, learning_rate=learning_rate, decay_steps=decay_steps)
    return model


def compile_classifier(model, *, learning_rate: float = 1e-3, decay_steps: int | None = None,
                       n_findings: int | None = None):
    """(Re)compile a classifier with the recipe's optimizer, loss and metrics; returns it.

    Adam at ``learning_rate``, decayed to 0 along a cosine over ``decay_steps``
    batches (None: constant), binary cross-entropy, and the metric ``auc``
    (plus ``accuracy`` for one finding; with ``n_findings`` the mean of the
    per-finding AUCs). Recompile after changing which layers are trainable.

    Parameters
    ----------
    model : keras.Model
        One sigmoid output, or one per finding.
    learning_rate : float, default 1e-3
    decay_steps : int, optional
    n_findings : int, optional
        Multi-label: the number of sigmoid outputs.
    """
    import keras

    rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps) if decay_steps else learning_rate
    if n_findings is None:
        metrics = [keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")]
    else:
        metrics = [keras.metrics.AUC(name="auc", multi_label=True, num_labels=int(n_findings))]
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="binary_crossentropy", metrics=metrics)
    return model


def _set_bn_momentum(model, bn_momentum: float | None) -> None:
    """Set every BatchNormalization layer's momentum (None: leave them)."""
    import keras

    if bn_momentum is None:
        return
    if not 0 <= bn_momentum < 1:
        raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum!r}")
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(bn_momentum)


def _training_callbacks(time_limit_s: float | None, keep_best: bool):
    """A wall-clock limit and best-epoch keeper, as Keras callbacks (defined here: Keras is lazy)."""
    import keras

    class TimeLimit(keras.callbacks.Callback):
        """Stop after the batch during which ``seconds`` of training have passed."""

        def __init__(self, seconds: float):
            super().__init__()
            self.seconds = float(seconds)
            self.stopped = False

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - self.start > self.seconds:
                self.stopped = True
                self.model.stop_training = True

    class KeepBest(keras.callbacks.Callback):
        """Restore the weights of the epoch with the highest validation AUC at the end."""

        def __init__(self):
            super().__init__()
            self.best, self.best_epoch, self.weights = -np.inf, None, None

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_auc")
            if value is not None and np.isfinite(value) and value > self.best:
                self.best, self.best_epoch = float(value), epoch
                self.weights = self.model.get_weights()

        def on_train_end(self, logs=None):
            if self.weights is not None:
                self.model.set_weights(self.weights)

    callbacks = []
    if time_limit_s is not None:
        if not float(time_limit_s) > 0:
            raise ValueError(f"time_limit_s must be a positive number of seconds, got {time_limit_s!r}")
        callbacks.append(TimeLimit(time_limit_s))
    if keep_best:
        callbacks.append(KeepBest())
    return callbacks


def train_classifier(
    x_train,
    y_train,
    x_val,
    y_val,
    *,
    model: Any = "resnet",
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    class_weight: str | Mapping[int, float] | None = "balanced",
    augment: Any = None,
    seed: int | None = 0,
    dashboard: Any = False,
    time_limit_s: float | None = None,
    keep_best: bool = True,
    callbacks: list | None = None,
) -> tuple[keras.Model, keras.callbacks.History]:
    """Train a binary image classifier (e.g. pneumonia vs normal) with the notebook-06 recipe.

    Parameters
    ----------
    x_train, x_val : array, shape (n, H, W) or (n, H, W, C)
        Images in pixels; ``uint8`` (0..255) is scaled to [0, 1] by the pipeline.
    y_train, y_val : array_like of 0/1, shape (n,) or (n, 1)
        One label per image (MedMNIST's ``(n, 1)`` works as it is).
    model : "resnet", "small_cnn" or keras.Model, default "resnet"
        See :func:`build_classifier`. A model you compiled yourself keeps its
        optimizer and metrics (name an AUC metric ``"auc"`` for ``keep_best``).
    epochs : int
        Passes over the training data.
    batch_size : int, default 64
    learning_rate : float, default 1e-3
        Adam's starting rate, decayed to 0 along a cosine over the ``epochs``.
    class_weight : "balanced", dict or None, default "balanced"
        See :func:`class_weights`. None when you :func:`oversample` instead.
    augment : None, "radiograph" or keras.Layer, optional
        Training augmentation (see :func:`radlab.data.as_dataset`; no left-right flips).
    seed : int or None, default 0
        Seeds weights, batch order and augmentation: the same seed gives the same
        model on the CPU.
    dashboard : bool or Dashboard, default False
        The live training dashboard of :func:`radlab.fit`.
    time_limit_s : float, optional
        Stop after this many seconds of training (checked after every batch);
        ``history.params["stopped_by_time_limit"]`` says whether it did.
    keep_best : bool, default True
        At the end, restore the weights of the epoch with the best validation AUC.
    callbacks : list of keras.callbacks.Callback, optional
        More callbacks for :func:`radlab.fit`.

    Returns
    -------
    (model, history)
        The trained model and the ``keras.callbacks.History``
        (``history.history["val_auc"]``...).

    Raises
    ------
    DataFormatError
        Labels that do not match the images, labels other than 0/1, or a split
        with a single class (see :func:`check_split`).
    """
    from .training import fit

    x_train, y_train = check_split(x_train, y_train, "train")
    x_val, y_val = check_split(x_val, y_val, "val")
    if x_train.shape[1:] != x_val.shape[1:]:
        raise DataFormatError(
            f"train images have shape {x_train.shape[1:]} per image but val images {x_val.shape[1:]}: "
            "both splits must have the same size and channels"
        )
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}.")
    weights = class_weights(y_train, class_weight)
    if seed is not None:
        import keras

        keras.utils.set_random_seed(int(seed))  # before the weights are initialised
    steps = -(-len(x_train) // batch_size) * epochs
    net = build_classifier(model, x_train.shape[1:], learning_rate=learning_rate, decay_steps=steps)
    extra = _training_callbacks(time_limit_s, keep_best)
    history = fit(
        net, (x_train, y_train[:, None].astype(np.float32)),
        validation_data=(x_val, y_val[:, None].astype(np.float32)), epochs=epochs,
        batch_size=batch_size, augment=augment, dashboard=dashboard, seed=seed,
        callbacks=[*extra, *(callbacks or [])], class_weight=weights,
    )
    limit = next((c for c in extra if hasattr(c, "stopped")), None)
    best = next((c for c in extra if hasattr(c, "best_epoch")), None)
    history.params = dict(history.params or {})
    history.params["stopped_by_time_limit"] = bool(limit and limit.stopped)
    history.params["best_epoch"] = None if best is None else best.best_epoch
    history.params["class_weight"] = weights
    return net, history


def predict_scores(model, x, *, batch_size: int = 256) -> np.ndarray:
    """The model's probability of the finding for each image, as a flat ``(n,)`` array.

    Images go through the same input pipeline as in training
    (:func:`radlab.data.as_dataset`, in order, not augmented).

    Raises
    ------
    ValueError
        Some predictions are NaN or infinite (training diverged, or the input has NaNs).
    """
    from .data.pipeline import as_dataset
    from .metrics import check_finite_scores

    x = np.asarray(x)
    scores = model.predict(as_dataset(x, batch_size=batch_size, shuffle=False), verbose=0)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.shape != (len(x),):
        raise ValueError(
            f"the model gives predictions of shape {scores.shape} for {len(x)} images; a binary "
            "classifier needs one sigmoid output (n_classes=1)"
        )
    check_finite_scores(scores)
    return scores


# ---------------------------------------------------------------------------
# saving and loading
# ---------------------------------------------------------------------------
def save_model(model, path: str | os.PathLike) -> Path:
    """Save a model as a ``.keras`` file, atomically.

    The model is written to a temporary file next to ``path`` and renamed over
    it, so an interrupted save (kernel restart, full disk) leaves the previous
    file intact instead of a truncated one.

    Parameters
    ----------
    model : keras.Model
    path : path-like
        Must end in ``.keras``; missing folders are created.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path).expanduser()
    if path.suffix != ".keras":
        raise ValueError(
            f"{path}: save the whole model as a '.keras' file (e.g. {path.with_suffix('.keras').name}); "
            "for weights only use model.save_weights('name.weights.h5')"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` model saved by :func:`save_model` (or ``model.save``), in safe mode.

    ``safe_mode=True`` refuses files that would run arbitrary Python code when
    loaded (``Lambda`` layers with pickled functions): open only models you trust.

    Raises
    ------
    ModelFileNotFoundError
        No file at ``path``.
    ModelFileError
        Not a ``.keras`` file, truncated or corrupt, or refused by safe mode.
    """
    import keras

    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileNotFoundError(
            f"No model file at {path}. Save one with rl.classification.save_model(model, {str(path)!r}) "
            "or check the path (relative paths start in the notebook's folder)."
        )
    if path.suffix != ".keras":
        raise ModelFileError(
            f"{path} is not a '.keras' model file. A '.weights.h5' file holds weights only: build the "
            "model, then rl.classification.load_weights_checked(model, path)."
        )
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a readable .keras file (not a zip archive): it is truncated or corrupt. "
            "Save the model again with rl.classification.save_model."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad file
        if "safe_mode" in str(exc) or "unsafe" in str(exc).lower():
            raise ModelFileError(
                f"{path} contains code (e.g. a Lambda layer) that safe mode refuses to run. "
                "Rebuild the model from radlab's builders, or, only if you trust the file, call "
                "keras.saving.load_model(path, safe_mode=False)."
            ) from exc
        raise ModelFileError(
            f"{path} could not be loaded as a Keras model ({type(exc).__name__}: {_first_line(exc)}). "
            "It may be truncated, corrupt or from an incompatible Keras version; save it again "
            "with rl.classification.save_model."
        ) from exc


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:limit]


def _file_weight_shapes(path: Path) -> list[tuple[int, ...]] | None:
    """Shapes of all arrays in a Keras 3 weights file (``.weights.h5`` or inside ``.keras``)."""
    import io

    try:
        import h5py

        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                source = io.BytesIO(archive.read("model.weights.h5"))
        else:
            source = path
        shapes = []
        with h5py.File(source, "r") as f:
            f.visititems(lambda name, obj: shapes.append(tuple(obj.shape))
                         if isinstance(obj, h5py.Dataset) else None)
        return shapes
    except Exception:  # noqa: BLE001 - only used to enrich the message
        return None


def load_weights_checked(model, path: str | os.PathLike):
    """``model.load_weights(path)`` with an error that says what does not match and how to fix it.

    Parameters
    ----------
    model : keras.Model
        Built with the *same* builder and arguments as the model that was saved.
    path : path-like
        A ``.weights.h5`` file (``model.save_weights``) or a ``.keras`` file.

    Returns
    -------
    keras.Model
        ``model``, with the weights loaded.

    Raises
    ------
    ModelFileNotFoundError
        No file at ``path``.
    WeightsMismatchError
        The file holds weights of another architecture: the message names the
        file, the first layer whose shapes differ (expected vs found), the
        parameter counts, and the fix.
    ModelFileError
        The file cannot be read at all.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileNotFoundError(
            f"No weights file at {path}. Save weights with model.save_weights('name.weights.h5') "
            "or a whole model with rl.classification.save_model."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns once per layer before raising
            model.load_weights(path)
    except Exception as exc:  # noqa: BLE001
        message = str(exc)
        found = _file_weight_shapes(path)
        expected = [tuple(w.shape) for w in model.weights]
        details = []
        match = re.search(r"Target variable: <Variable path=([^,\s]+)", message)
        shapes = re.search(r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))", message)
        if shapes:
            layer = match.group(1) if match else "a layer"
            details.append(f"{layer}: the model expects {shapes.group(1)}, the file has {shapes.group(2)}")
        if found is not None:
            details.append(
                f"the model has {len(expected)} weight arrays ({sum(int(np.prod(s)) for s in expected):,} "
                f"parameters), the file {len(found)} ({sum(int(np.prod(s)) for s in found):,} parameters)"
            )
        if shapes or found is not None:
            raise WeightsMismatchError(
                f"{path} holds weights of a different architecture than {model.name!r}: "
                + "; ".join(details)
                + ". Build the model with the same builder and arguments (widths, depth, input "
                "shape, n_classes) as when the file was saved, or load the whole model with "
                "rl.classification.load_model if it is a .keras file."
            ) from exc
        raise ModelFileError(
            f"{path} could not be read as a weights file ({type(exc).__name__}: {_first_line(exc)}). "
            "It may be truncated or corrupt; save the weights again."
        ) from exc
    return model


# ---------------------------------------------------------------------------
# notebook 06, part 2: imbalance strategies compared, and multi-label findings
# ---------------------------------------------------------------------------
#: The ways :func:`compare_imbalance` can treat the class imbalance.
IMBALANCE_STRATEGIES = ("none", "class weights", "oversampling")


class ImbalanceComparison:
    """What :func:`compare_imbalance` found: one row per strategy, and the trained models.

    Attributes
    ----------
    rows : list of dict
        Per strategy: ``strategy``, ``val_auc``, ``test_auc``, and the test
        ``sensitivity`` and ``specificity`` at ``threshold``, ``seconds`` of training.
    models : dict
        Strategy -> trained keras.Model.
    threshold : float
        The fixed threshold of the sensitivity/specificity columns.
    """

    def __init__(self, rows: list[dict], models: dict, threshold: float):
        self.rows, self.models, self.threshold = rows, models, float(threshold)

    def row(self, strategy: str) -> dict:
        """The row of one strategy, e.g. ``comparison.row("class weights")["test_auc"]``."""
        for row in self.rows:
            if row["strategy"] == strategy:
                return row
        raise KeyError(f"no strategy {strategy!r}; compared: {[r['strategy'] for r in self.rows]}")

    def __str__(self) -> str:
        head = (f"{'strategy':<14} {'val AUC':>8} {'test AUC':>9} "
                f"{'sens@' + format(self.threshold, '.2g'):>9} {'spec@' + format(self.threshold, '.2g'):>9}"
                f" {'train s':>8}")
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r['strategy']:<14} {r['val_auc']:>8.3f} {r['test_auc']:>9.3f} "
                         f"{r['sensitivity']:>9.3f} {r['specificity']:>9.3f} {r['seconds']:>8.0f}")
        return "\n".join(lines)

    __repr__ = __str__


def compare_imbalance(
    x_train,
    y_train,
    x_val,
    y_val,
    x_test,
    y_test,
    *,
    epochs: int,
    strategies: tuple[str, ...] = IMBALANCE_STRATEGIES,
    threshold: float = 0.5,
    seed: int | None = 0,
    **train_kwargs: Any,
) -> ImbalanceComparison:
    """Train the same classifier with each way of handling class imbalance and compare them.

    ``"none"`` trains on the data as they are; ``"class weights"`` weighs each class
    so both count equally in the loss (:func:`class_weights`, "balanced");
    ``"oversampling"`` repeats minority-class films until the classes are even
    (:func:`oversample`), without weights. Everything else (model, seed, epochs) is
    the same, so the differences come from the strategy (and training noise).

    Parameters
    ----------
    x_train, y_train, x_val, y_val, x_test, y_test : arrays
        Images and 0/1 labels ``(n,)`` or ``(n, 1)`` of the three splits.
    epochs : int
        Epochs for each training run (oversampling's epochs hold more films).
    strategies : tuple of str, default all of :data:`IMBALANCE_STRATEGIES`
    threshold : float, default 0.5
        The fixed threshold at which sensitivity and specificity are reported: the
        one a model is used at when nobody chooses one.
    seed : int or None, default 0
    **train_kwargs
        Passed to :func:`train_classifier` (``model``, ``batch_size``, ``augment``...),
        except ``class_weight``, which the strategy sets.

    Returns
    -------
    ImbalanceComparison
        ``rows`` (AUCs, sensitivity, specificity, seconds), ``models``; ``print`` it
        for a table.

    Raises
    ------
    ValueError
        An unknown strategy, or ``class_weight`` among ``train_kwargs``.
    """
    from .metrics import at_threshold, roc_points

    unknown = [s for s in strategies if s not in IMBALANCE_STRATEGIES]
    if unknown or not strategies:
        raise ValueError(f"strategies must be some of {IMBALANCE_STRATEGIES}, got {strategies!r}")
    if "class_weight" in train_kwargs:
        raise ValueError("compare_imbalance sets class_weight itself (per strategy); leave it out")
    x_test, y_test = check_split(x_test, y_test, "test")
    rows, models = [], {}
    for strategy in strategies:
        x, y = (oversample(x_train, y_train, seed=seed) if strategy == "oversampling"
                else (x_train, y_train))
        start = time.perf_counter()
        model, history = train_classifier(
            x, y, x_val, y_val, epochs=epochs, seed=seed,
            class_weight="balanced" if strategy == "class weights" else None, **train_kwargs)
        seconds = time.perf_counter() - start
        score_val = predict_scores(model, x_val)
        score_test = predict_scores(model, x_test)
        point = at_threshold(y_test, score_test, threshold)
        rows.append({
            "strategy": strategy, "val_auc": roc_points(y_val, score_val).auc,
            "test_auc": roc_points(y_test, score_test).auc, "sensitivity": point.sensitivity,
            "specificity": point.specificity, "seconds": seconds,
            "best_epoch": history.params.get("best_epoch"),
        })
        models[strategy] = model
    return ImbalanceComparison(rows, models, threshold)


def check_multilabel_split(x, y, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Check images and multi-label 0/1 labels ``(n, k)`` of one split; return labels as float32.

    Parameters
    ----------
    x : array, shape (n, H, W) or (n, H, W, C)
        Images in pixels.
    y : array_like of 0/1, shape (n, k)
        One column per finding (ChestMNIST: k = 14).
    split : str, default "train"
        Name used in error messages.

    Returns
    -------
    (x, y) : ndarray, ndarray of float32 (n, k)

    Raises
    ------
    DataFormatError
        Labels that are not ``(n, k)`` for the ``n`` images, or values other than 0/1.
    """
    x, y_in = np.asarray(x), np.asarray(y)
    if x.ndim not in (3, 4):
        raise DataFormatError(f"{split} images have shape {x.shape}; expected (n, height, width) "
                              "or (n, height, width, channels) in pixels")
    if y_in.ndim != 2 or y_in.shape[0] != x.shape[0]:
        raise DataFormatError(
            f"{split} labels have shape {y_in.shape} but the {split} images have shape {x.shape}: "
            f"a multi-label task needs one 0/1 column per finding, shape ({x.shape[0]}, n_findings)")
    if not np.isin(np.unique(y_in), [0, 1]).all():
        raise DataFormatError(f"{split} labels must be 0 (absent) or 1 (present); found the values "
                              f"{np.unique(y_in)[:10].tolist()}")
    return x, y_in.astype(np.float32)


def build_multilabel_classifier(model: Any, input_shape: tuple, n_findings: int, *,
                                learning_rate: float = 1e-3, decay_steps: int | None = None,
                                bn_momentum: float | None = 0.9) -> keras.Model:
    """A compiled multi-label classifier: one independent sigmoid per finding.

    Parameters
    ----------
    model : "resnet" or "small_cnn"
        :func:`radlab.models.resnet` / :func:`radlab.models.small_cnn` with
        ``n_findings`` sigmoid outputs (``output="sigmoid"``).
    input_shape : tuple
        ``(height, width)`` or ``(height, width, channels)`` in pixels.
    n_findings : int
        Number of findings (label columns), >= 1.
    learning_rate, decay_steps, bn_momentum
        As for :func:`build_classifier`.

    Returns
    -------
    keras.Model
        Compiled with binary cross-entropy (summed over findings, one 0/1 target
        each) and ``auc``: the mean of the per-finding AUCs.
    """
    from .models import builders

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if isinstance(n_findings, bool) or not isinstance(n_findings, (int, np.integer)) or n_findings < 1:
        raise ValueError(f"n_findings must be a positive integer, got {n_findings!r}")
    net = getattr(builders, model)(tuple(input_shape), int(n_findings), output="sigmoid")
    _set_bn_momentum(net, bn_momentum)
    return compile_classifier(net, learning_rate=learning_rate, decay_steps=decay_steps,
                              n_findings=int(n_findings))


def train_multilabel_classifier(
    x_train,
    y_train,
    x_val,
    y_val,
    *,
    model: str = "resnet",
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    augment: Any = None,
    seed: int | None = 0,
    dashboard: Any = False,
    time_limit_s: float | None = None,
    keep_best: bool = True,
) -> tuple[keras.Model, keras.callbacks.History]:
    """Train a multi-label classifier (several findings per film, e.g. ChestMNIST's 14).

    The recipe of :func:`train_classifier` (cosine decay, seeded, best epoch by
    validation AUC - here the mean over findings - kept), with one sigmoid per
    finding and binary cross-entropy. There are no class weights: Keras weighs
    classes of a single output only; a rare finding simply gets few positives.

    Parameters
    ----------
    x_train, x_val : array, shape (n, H, W) or (n, H, W, C)
        Images in pixels (``uint8`` is scaled to [0, 1]).
    y_train, y_val : array_like of 0/1, shape (n, k)
        One column per finding.
    model : "resnet" or "small_cnn", default "resnet"
    epochs : int
    batch_size, learning_rate, augment, seed, dashboard, time_limit_s, keep_best
        As for :func:`train_classifier`.

    Returns
    -------
    (model, history)
        ``history.params`` has ``best_epoch`` and ``stopped_by_time_limit``.

    Raises
    ------
    DataFormatError
        Labels that are not ``(n, k)`` 0/1, or splits with different image shapes or
        numbers of findings.
    """
    from .training import fit

    x_train, y_train = check_multilabel_split(x_train, y_train, "train")
    x_val, y_val = check_multilabel_split(x_val, y_val, "val")
    if x_train.shape[1:] != x_val.shape[1:] or y_train.shape[1] != y_val.shape[1]:
        raise DataFormatError(
            f"train has images {x_train.shape[1:]} and {y_train.shape[1]} findings, val "
            f"{x_val.shape[1:]} and {y_val.shape[1]}: both splits need the same of each")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}.")
    if seed is not None:
        import keras

        keras.utils.set_random_seed(int(seed))
    steps = -(-len(x_train) // batch_size) * epochs
    net = build_multilabel_classifier(model, x_train.shape[1:], y_train.shape[1],
                                      learning_rate=learning_rate, decay_steps=steps)
    extra = _training_callbacks(time_limit_s, keep_best)
    history = fit(net, (x_train, y_train), validation_data=(x_val, y_val), epochs=epochs,
                  batch_size=batch_size, augment=augment, dashboard=dashboard, seed=seed,
                  callbacks=extra)
    limit = next((c for c in extra if hasattr(c, "stopped")), None)
    best = next((c for c in extra if hasattr(c, "best_epoch")), None)
    history.params = dict(history.params or {})
    history.params["stopped_by_time_limit"] = bool(limit and limit.stopped)
    history.params["best_epoch"] = None if best is None else best.best_epoch
    return net, history


def predict_multilabel_scores(model, x, *, batch_size: int = 256) -> np.ndarray:
    """The model's probability of each finding for each image, ``(n, k)``.

    Raises
    ------
    ValueError
        Some predictions are NaN or infinite.
    """
    from .data.pipeline import as_dataset
    from .metrics import check_finite_scores

    x = np.asarray(x)
    scores = np.asarray(model.predict(as_dataset(x, batch_size=batch_size, shuffle=False), verbose=0),
                        dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(x):
        raise ValueError(f"the model gives predictions of shape {scores.shape} for {len(x)} images; "
                         "a multi-label classifier gives (n_images, n_findings)")
    check_finite_scores(scores)
    return scores
