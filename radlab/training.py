"""Training: :func:`fit`, a thin layer over ``keras.Model.fit``, and the dashboard's maths.

``rl.fit(model, (x, y), epochs=5)`` does four things and then calls Keras:

1. seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``);
2. turns arrays (or a :class:`radlab.data.PhantomSet`) into a ``tf.data`` pipeline
   with :func:`radlab.data.as_dataset` - shuffled with the seed for training,
   in order and never augmented for validation;
3. adds the live training dashboard (:class:`radlab.widgets.dashboard.Dashboard`)
   and shows it when a notebook front end is there;
4. returns the ``keras.callbacks.History`` that ``model.fit`` returns.

Nothing is hidden: the same run in plain Keras is ::

    import keras
    keras.utils.set_random_seed(0)
    train = rl.data.as_dataset(x_train, y_train, batch_size=32, seed=0)
    val = rl.data.as_dataset(x_val, y_val, batch_size=32, shuffle=False)
    history = model.fit(train, validation_data=val, epochs=5,
                        callbacks=[rl.Dashboard(batch_size=32)], verbose=0)

The rest of this module is pure computation used by the dashboard and testable
on its own: throughput and ETA maths, duration formatting, the redraw throttle,
and probes of the device (GPU name and memory, CPU cores) and of the precision
policy. Nothing here imports a widget; TensorFlow and Keras are imported inside
the functions that need them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ModelNotCompiledError

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = [
    "ModelNotCompiledError",
    "fit",
    "images_per_second",
    "eta_seconds",
    "next_refresh_time",
    "format_duration",
    "format_epoch_line",
    "ordered_metrics",
    "gpu_memory_gb",
    "device_summary",
    "device_text",
    "precision_policy",
]

#: Batch size used by :func:`fit` when it builds the pipeline from arrays.
DEFAULT_BATCH_SIZE = 32


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------
def fit(
    model: keras.Model,
    data: Any,
    *,
    epochs: int,
    validation_data: Any = None,
    batch_size: int | None = None,
    augment: Any = None,
    dashboard: Any = True,
    seed: int | None = 0,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    class_weight: Mapping[int, float] | None = None,
    verbose: int | str = 0,
    **fit_kwargs: Any,
) -> keras.callbacks.History:
    """Train a compiled Keras model, with a live dashboard; a thin layer over ``model.fit``.

    Parameters
    ----------
    model : keras.Model
        A compiled model (``model.compile(optimizer=..., loss=..., metrics=[...])``).
    data : tf.data.Dataset, (x, y) tuple of arrays, or PhantomSet-like
        Training data. A ``tf.data.Dataset`` (already batched) is used as it is.
        A tuple ``(x, y)`` of arrays, or any object with ``.x`` and ``.y`` (such
        as :class:`radlab.data.PhantomSet`), becomes a pipeline built by
        :func:`radlab.data.as_dataset`: shuffled every epoch with ``seed``,
        ``uint8`` images scaled to [0, 1], optionally augmented. Anything else a
        Keras model accepts (a ``keras.utils.PyDataset``, a generator) is passed
        to ``model.fit`` unchanged.
    epochs : int
        Number of passes over the training data.
    validation_data : same kinds as ``data``, optional
        Evaluated after every epoch. Arrays and PhantomSets are batched in
        order, never shuffled and never augmented. A 3-tuple
        ``(x, y, sample_weight)`` goes to Keras unchanged.
    batch_size : int, optional
        Images per batch when the pipeline is built from arrays (default 32).
        With a ``tf.data.Dataset`` the data are already batched; give the batch
        size anyway to let the dashboard count images per second (it otherwise
        reads it from the dataset when that is fixed, or shows batches per second).
    augment : {None, "radiograph", "ct"} or keras.Layer, optional
        Augmentation of training batches built from arrays (see
        :func:`radlab.data.as_dataset`; no left-right flips). Ignored, with an
        error, for a ready-made dataset: augment inside your own pipeline.
    dashboard : bool or Dashboard, default True
        True adds a new :class:`radlab.widgets.dashboard.Dashboard`: in a notebook
        it is displayed above the training output; in a terminal it prints one
        line per epoch; headless (nbval, nbconvert) it costs nothing measurable.
        Pass your own ``rl.Dashboard(samples=(x, y))`` to configure it, or False
        for none.
    seed : int or None, default 0
        Seed for ``keras.utils.set_random_seed`` (Python, NumPy, TensorFlow) and
        for the order of the training batches. The same seed and the same
        initial weights give the same trained model on the CPU. (On a GPU,
        bit-for-bit repeatability also needs
        ``tf.config.experimental.enable_op_determinism()``, which is slower.)
        None seeds nothing.
    callbacks : list of keras.callbacks.Callback, optional
        More callbacks (EarlyStopping, ModelCheckpoint...), run after the dashboard.
    class_weight : dict, optional
        ``{class_index: weight}``, passed to Keras: e.g. ``{0: 1.0, 1: 4.0}`` to
        count each positive image four times on a dataset with 20 % positives.
    verbose : int or "auto", default 0
        Keras' own progress output (0 = none; the dashboard replaces it).
    **fit_kwargs
        Anything else ``model.fit`` accepts (``initial_epoch``,
        ``steps_per_epoch``, ``validation_freq``...).

    Returns
    -------
    keras.callbacks.History
        ``history.history`` maps each metric (``loss``, ``val_loss``,
        ``accuracy``...) to one value per epoch. Also kept as ``model.history``.

    Raises
    ------
    ModelNotCompiledError
        The model has not been compiled.
    TypeError, ValueError
        ``data`` is a bare array (labels missing), or ``augment`` was given with
        a ready-made dataset.

    Notes
    -----
    Stopping early: the dashboard's **Stop** button, or the notebook's
    *Interrupt kernel* button (the black square), ends training after the
    current batch; ``fit`` then returns the history of the epochs run so far
    instead of raising ``KeyboardInterrupt``.

    Examples
    --------
    >>> model = rl.models.small_cnn((64, 64, 1), n_classes=1)
    >>> model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    >>> history = rl.fit(model, train_set, validation_data=val_set, epochs=5)
    >>> history.history["val_accuracy"][-1]  # doctest: +SKIP
    """
    import keras

    _check_compiled(model)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}.")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))

    train, images_per_batch = _training_input(data, batch_size, augment=augment, seed=seed)
    val = _validation_input(validation_data, batch_size)

    if _is_tf_dataset(train):
        # The pipeline shuffles (as_dataset does, with the seed); Keras would only warn
        # that it cannot shuffle a tf.data.Dataset itself.
        fit_kwargs.setdefault("shuffle", False)

    all_callbacks = list(callbacks or [])
    board = _dashboard_for(dashboard, all_callbacks, images_per_batch)
    if board is not None:
        all_callbacks.insert(0, board)
        if _in_notebook():
            from IPython.display import display

            display(board)

    try:
        return model.fit(
            train,
            validation_data=val,
            epochs=epochs,
            callbacks=all_callbacks,
            class_weight=class_weight,
            verbose=verbose,
            **fit_kwargs,
        )
    except KeyboardInterrupt:
        # The notebook's Interrupt button: a graceful stop, like the Stop button.
        # Python raises the interrupt between two batches, so the weights hold
        # the last completed update.
        if board is not None:
            board.interrupted()
        history = getattr(model, "history", None)
        if history is None or not getattr(history, "history", None):
            raise
        print(
            f"Training interrupted after {len(history.epoch)} epoch(s); "
            "returning the history so far."
        )
        return history


def _check_compiled(model: Any) -> None:
    if not hasattr(model, "fit"):
        raise TypeError(
            f"model must be a keras.Model; got {type(model).__name__}. "
            "Build one with rl.models (e.g. rl.models.small_cnn) or keras."
        )
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        name = getattr(model, "name", "model")
        raise ModelNotCompiledError(
            f"Model {name!r} has not been compiled, so Keras does not know how to train it. "
            "Call model.compile(optimizer='adam', loss=..., metrics=['accuracy']) first; "
            "rl.models.loss_for(model) gives the loss that matches the output layer."
        )


def _arrays_of(data: Any) -> tuple[Any, Any] | None:
    """(x, y) from a 2-tuple or an object with .x and .y; None for anything else."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    if hasattr(data, "x") and hasattr(data, "y") and not _is_tf_dataset(data):
        return data.x, data.y
    return None


def _is_tf_dataset(data: Any) -> bool:
    import tensorflow as tf

    return isinstance(data, tf.data.Dataset)


def _training_input(
    data: Any, batch_size: int | None, *, augment: Any, seed: int | None
) -> tuple[Any, int | None]:
    """What to hand to model.fit, and the images per batch if known."""
    from .data.pipeline import as_dataset

    if _is_tf_dataset(data):
        if augment is not None:
            raise ValueError(
                "augment= works when fit builds the pipeline from arrays. For a ready-made "
                "tf.data.Dataset, pass augment= to rl.data.as_dataset when you build it."
            )
        return data, batch_size or _static_batch_size(data)
    arrays = _arrays_of(data)
    if arrays is not None:
        size = batch_size or DEFAULT_BATCH_SIZE
        return as_dataset(*arrays, size, augment=augment, shuffle=True, seed=seed), size
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        raise TypeError(
            "fit needs labels as well as images: pass data=(x, y), a PhantomSet, or a "
            f"tf.data.Dataset of (images, labels); got a single array of shape {data.shape}."
        )
    if augment is not None:
        raise ValueError(
            f"augment= works with arrays or PhantomSets, not with {type(data).__name__}."
        )
    return data, batch_size


def _validation_input(data: Any, batch_size: int | None) -> Any:
    from .data.pipeline import as_dataset

    if data is None or _is_tf_dataset(data):
        return data
    arrays = _arrays_of(data)
    if arrays is None:
        return data  # (x, y, sample_weight), PyDataset... : Keras handles it
    return as_dataset(*arrays, batch_size or DEFAULT_BATCH_SIZE, shuffle=False)


def _static_batch_size(dataset: Any) -> int | None:
    """The batch dimension of a dataset's first component, when it is fixed."""
    import tensorflow as tf

    try:
        spec = tf.nest.flatten(dataset.element_spec)[0]
        size = spec.shape[0]
    except Exception:
        return None
    return int(size) if size is not None else None


def _dashboard_for(dashboard: Any, callbacks: list, images_per_batch: int | None):
    """The dashboard callback to add, or None (none asked for, or one is already there)."""
    if dashboard is False or dashboard is None:
        return None
    from .widgets.dashboard import Dashboard

    if any(isinstance(cb, Dashboard) for cb in callbacks):
        return None
    if dashboard is True:
        return Dashboard(batch_size=images_per_batch)
    if isinstance(dashboard, Dashboard):
        if dashboard.batch_size is None:
            dashboard.batch_size = images_per_batch
        return dashboard
    raise TypeError(
        f"dashboard must be True, False or an rl.Dashboard; got {type(dashboard).__name__}."
    )


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


# ---------------------------------------------------------------------------
# Throughput, ETA, throttle
# ---------------------------------------------------------------------------
def images_per_second(images: float, seconds: float) -> float | None:
    """Throughput: images processed per second of wall-clock time.

    Parameters
    ----------
    images : float
        Images processed (batches x batch size).
    seconds : float
        Wall-clock time they took, in s.

    Returns
    -------
    float or None
        ``images / seconds``; None when nothing can be said yet (no time
        elapsed, or no images).

    Examples
    --------
    >>> images_per_second(10 * 32, 2.0)
    160.0
    """
    if seconds is None or images is None or seconds <= 0 or images <= 0:
        return None
    return images / seconds


def eta_seconds(
    *,
    batches_left: float,
    epochs_left: int,
    seconds_per_batch: float | None,
    seconds_per_epoch: float | None = None,
    steps_per_epoch: int | None = None,
) -> float | None:
    """Estimated time until training ends, in s.

    The rest of the current epoch takes ``batches_left * seconds_per_batch``.
    Each of the ``epochs_left`` later epochs takes ``seconds_per_epoch`` when
    that has been measured (it includes validation), else
    ``steps_per_epoch * seconds_per_batch``.

    Parameters
    ----------
    batches_left : float
        Batches still to run in the current epoch (0 at its end).
    epochs_left : int
        Complete epochs still to run after the current one.
    seconds_per_batch : float or None
        Recent time per training batch, in s.
    seconds_per_epoch : float, optional
        Measured wall time of a complete epoch (training and validation), in s.
    steps_per_epoch : int, optional
        Batches per epoch, when known.

    Returns
    -------
    float or None
        Seconds, or None when the inputs do not allow an estimate (nothing
        measured yet, or an unknown number of batches per epoch).

    Examples
    --------
    >>> eta_seconds(batches_left=50, epochs_left=2, seconds_per_batch=0.1,
    ...             seconds_per_epoch=12.0)
    29.0
    """
    if epochs_left < 0 or batches_left < 0:
        raise ValueError("batches_left and epochs_left must be >= 0.")
    if seconds_per_epoch is None and seconds_per_batch is not None and steps_per_epoch:
        seconds_per_epoch = steps_per_epoch * seconds_per_batch
    if batches_left and seconds_per_batch is None:
        return None
    if epochs_left and seconds_per_epoch is None:
        return None
    rest = batches_left * seconds_per_batch if batches_left else 0.0
    later = epochs_left * seconds_per_epoch if epochs_left else 0.0
    return float(rest + later)


def next_refresh_time(now: float, cost: float, *, interval: float, budget: float) -> float:
    """When a throttled display may refresh again, in the same clock as ``now`` (s).

    At least ``interval`` seconds after ``now``, and long enough that refreshes
    use at most the fraction ``budget`` of wall time: a refresh that took
    ``cost`` seconds waits ``cost / budget``. A 40 ms redraw with a 2 % budget
    therefore waits 2 s, whatever the interval; a fast one waits ``interval``.

    Parameters
    ----------
    now : float
        Current time, in s (e.g. ``time.perf_counter()``).
    cost : float
        Time the refresh just took, in s.
    interval : float
        Shortest time between refreshes, in s.
    budget : float
        Largest fraction of wall time refreshes may take, in (0, 1].

    Returns
    -------
    float
        The earliest time of the next refresh.
    """
    if not 0 < budget <= 1:
        raise ValueError(f"budget must be in (0, 1]; got {budget}.")
    return now + max(interval, max(cost, 0.0) / budget)


def format_duration(seconds: float | None) -> str:
    """A duration for people: ``"45 s"``, ``"3 min 20 s"``, ``"1 h 05 min"``; ``"?"`` if unknown.

    Examples
    --------
    >>> format_duration(200)
    '3 min 20 s'
    """
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    total = int(round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _format_value(value: Any) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
        return f"{value:.3g}"
    return f"{value:.4f}"


def ordered_metrics(names: Any) -> list[str]:
    """Metric names in reading order: loss first, then the other training metrics,
    then the validation ones in the same order (Keras sorts them alphabetically)."""
    names = list(names)

    def key(name: str) -> tuple:
        base = name[4:] if name.startswith("val_") else name
        return (name.startswith("val_"), base != "loss", base)

    return sorted(names, key=key)


def format_epoch_line(
    epoch: int,
    epochs: int,
    logs: Mapping[str, Any],
    *,
    seconds: float | None = None,
    images_per_s: float | None = None,
    eta_s: float | None = None,
) -> str:
    """One compact line summarising an epoch, for terminals and logs.

    Parameters
    ----------
    epoch : int
        Epoch number, 1-based.
    epochs : int
        Total number of epochs.
    logs : mapping
        Keras epoch logs (``loss``, ``val_loss``, metrics).
    seconds : float, optional
        Wall time of the epoch, in s.
    images_per_s : float, optional
        Training throughput.
    eta_s : float, optional
        Estimated time left, in s.

    Returns
    -------
    str
        e.g. ``"epoch 2/5  loss 0.6931  val_loss 0.6925  3.1 s  820 img/s  ETA 9.3 s"``.
    """
    width = len(str(epochs))
    parts = [f"epoch {epoch:>{width}}/{epochs}"]
    parts += [f"{key} {_format_value(logs[key])}" for key in ordered_metrics(logs)]
    if seconds is not None:
        parts.append(format_duration(seconds))
    if images_per_s:
        parts.append(f"{images_per_s:,.0f} img/s")
    if eta_s is not None and epoch < epochs:
        parts.append(f"ETA {format_duration(eta_s)}")
    return "  ".join(parts)


# ---------------------------------------------------------------------------
# Device and precision probes
# ---------------------------------------------------------------------------
def gpu_memory_gb(device: str = "GPU:0") -> tuple[float, float] | None:
    """Memory TensorFlow holds on a GPU now and at its peak, in GB (10**9 bytes).

    Parameters
    ----------
    device : str, default "GPU:0"
        TensorFlow device name.

    Returns
    -------
    (current, peak) : tuple of float, or None
        None on a machine without that GPU, or when TensorFlow cannot tell.
    """
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    try:
        info = tf.config.experimental.get_memory_info(device)
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None
    return info["current"] / 1e9, info["peak"] / 1e9


def precision_policy(model: Any = None) -> str:
    """Name of the Keras dtype policy in use: the model's, else the global one.

    ``"float32"`` normally; ``"mixed_float16"`` or ``"mixed_bfloat16"`` when
    mixed precision is on (``keras.mixed_precision.set_global_policy``).
    """
    policy = getattr(model, "dtype_policy", None)
    if policy is None:
        import keras

        policy = keras.mixed_precision.dtype_policy()
    return getattr(policy, "name", str(policy))


def device_summary(model: Any = None) -> dict[str, Any]:
    """What the dashboard shows about the hardware: device, memory, cores, precision.

    Never raises: see :func:`radlab.device_info`, which this extends.

    Parameters
    ----------
    model : keras.Model, optional
        Model whose precision policy to report (else the global policy).

    Returns
    -------
    dict
        ``kind`` ("GPU" or "CPU"), ``name``, ``cores`` (CPU count),
        ``memory_total_gb`` (GPU only, from nvidia-smi, or None),
        ``memory_used_gb`` and ``memory_peak_gb`` (GPU only: what TensorFlow
        holds, or None), ``precision`` (the policy name) and ``text``, a one-line
        description such as ``"GPU NVIDIA A100 | 3.2 / 40 GB (peak 5.1 GB)"`` or
        ``"CPU | 8 cores"`` (with ``" | mixed_float16"`` when not float32).
    """
    from .env import device_info

    info = device_info()
    summary: dict[str, Any] = {
        "kind": info["kind"],
        "name": info["name"],
        "cores": info.get("cores") or os.cpu_count() or 1,
        "memory_total_gb": info.get("memory_gb"),
        "memory_used_gb": None,
        "memory_peak_gb": None,
        "precision": "float32",
    }
    try:
        summary["precision"] = precision_policy(model)
    except Exception:
        pass
    if summary["kind"] == "GPU":
        memory = gpu_memory_gb()
        if memory is not None:
            summary["memory_used_gb"], summary["memory_peak_gb"] = memory
    summary["text"] = device_text(summary)
    return summary


def device_text(summary: Mapping[str, Any]) -> str:
    """One line from a :func:`device_summary` dict (recomputed when memory changes)."""
    if summary["kind"] == "GPU":
        text = f"GPU {summary['name']}"
        used, peak, total = (
            summary.get("memory_used_gb"), summary.get("memory_peak_gb"),
            summary.get("memory_total_gb"),
        )
        if used is not None:
            of_total = f" / {total:g} GB" if total else " GB"
            text += f" | memory {used:.1f}{of_total} (peak {peak:.1f} GB)"
        elif total:
            text += f" | {total:g} GB"
    else:
        text = f"CPU | {summary['cores']} cores"
    if summary.get("precision", "float32") != "float32":
        text += f" | {summary['precision']}"
    return text
