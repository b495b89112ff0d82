"""Small experiments the notebooks run, so their cells stay short (notebook 03).

* :func:`mlp_classifier` - a compiled multilayer perceptron that standardises its
  input pixels first (the model carries its own preprocessing).
* :func:`depth_sweep` - train one such MLP per depth and tabulate training,
  validation and test accuracy (the review's Fig. 2).
* :func:`simulated_scores` - class scores of an imaginary many-class classifier, to
  see what top-1 and top-5 error measure (the review's ImageNet numbers).

Keras is imported inside the functions; nothing here draws (see
:func:`radlab.diagrams.plot_depth_sweep`).
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DepthSweep", "SweepRow", "depth_sweep", "mlp_classifier", "simulated_scores"]


def _n_classes(y) -> int:
    y = np.asarray(y).ravel()
    if y.size == 0:
        raise ValueError("no labels")
    if not np.all(np.equal(np.mod(y, 1), 0)) or y.min() < 0:
        raise ValueError("labels must be class indices 0, 1, 2, ...")
    top = int(y.max())
    return 1 if top <= 1 else top + 1


def mlp_classifier(
    x_train,
    n_classes: int = 1,
    *,
    depth: int = 2,
    width: int = 64,
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
    name: str | None = None,
):
    """A compiled MLP classifier whose first layer standardises each input value (pixel).

    The model is ``keras.Sequential([Normalization, radlab.models.mlp(...)])``.
    The Normalization layer learns one mean and one standard deviation *per
    pixel* from ``x_train`` (never from validation or test data) and maps every
    pixel to mean 0, standard deviation 1. Raw pixels share a large positive
    mean, which makes the loss surface a long narrow valley that gradient
    descent crawls along (notebook 03, section 3); standardised inputs make it
    rounder, so training converges in far fewer steps.

    Parameters
    ----------
    x_train : numpy.ndarray, shape (n, ...)
        Training inputs, e.g. images (n, H, W, 1); only used to adapt the normalisation.
    n_classes : int, default 1
        1 for a binary task (sigmoid output), else the number of classes (softmax).
    depth, width, dropout : see :func:`radlab.models.mlp`
    learning_rate : float, default 1e-3
        Adam's learning rate.
    name : str, optional
        Model name; default ``"mlp_<depth>x<width>"``.

    Returns
    -------
    keras.Model
        Compiled with Adam, the matching loss (:func:`radlab.models.loss_for`) and
        the ``accuracy`` metric.
    """
    import keras

    from .models import loss_for, mlp

    x_train = np.asarray(x_train)
    if x_train.ndim < 2 or len(x_train) < 2:
        raise ValueError(f"x_train must hold at least 2 inputs, shape (n, ...); got {x_train.shape}")
    shape = x_train.shape[1:]
    normalize = keras.layers.Normalization(axis=tuple(range(1, x_train.ndim)), name="standardize")
    normalize.adapt(x_train.astype("float32"))
    net = mlp(shape, n_classes, depth=depth, width=width, dropout=dropout)
    model = keras.Sequential([keras.Input(shape, name="pixels"), normalize, net],
                             name=name or f"mlp_{depth}x{width}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss_for(net), metrics=["accuracy"])
    return model


@dataclass(frozen=True)
class SweepRow:
    """One depth of a :class:`DepthSweep`: means over the repeats (accuracies are fractions).

    Attributes
    ----------
    depth : int
        Hidden layers (0 = logistic regression).
    params : int
        Trainable weights and biases.
    train_accuracy, val_accuracy, test_accuracy : float
        At the best epoch (lowest validation loss or highest validation accuracy,
        see ``monitor``), whose weights are kept; ``test_accuracy`` is NaN when no
        test set was given.
    val_std, test_std : float
        Standard deviation over the repeats (0 with one repeat).
    best_epoch : float
        Mean 1-based best epoch.
    seconds : float
        Mean training time per repeat, s.
    """

    depth: int
    params: int
    train_accuracy: float
    val_accuracy: float
    test_accuracy: float
    val_std: float
    test_std: float
    best_epoch: float
    seconds: float


@dataclass(frozen=True, repr=False)
class DepthSweep:
    """What :func:`depth_sweep` returns: one :class:`SweepRow` per depth, and every run.

    Attributes
    ----------
    rows : tuple of SweepRow
        In the order of the depths asked for.
    runs : tuple of dict
        One per (depth, repeat): ``depth``, ``repeat``, ``seed``, ``train_accuracy``,
        ``val_accuracy``, ``test_accuracy``, ``best_epoch``, ``epochs_run``,
        ``seconds`` and the per-epoch ``history`` dict.
    width : int
        Neurons per hidden layer.
    chance : float
        Validation accuracy of always answering the commonest training class.
    """

    rows: tuple[SweepRow, ...]
    runs: tuple[dict, ...]
    width: int
    chance: float

    COLUMNS = ("depth", "params", "train_accuracy", "val_accuracy", "test_accuracy", "val_std",
               "test_std", "best_epoch", "seconds")

    def column(self, name: str) -> np.ndarray:
        """One column as an array, e.g. ``sweep.column("test_accuracy")``."""
        if name not in self.COLUMNS:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.COLUMNS)}")
        return np.array([getattr(row, name) for row in self.rows])

    @property
    def depths(self) -> list[int]:
        return [row.depth for row in self.rows]

    @property
    def best_depth(self) -> int:
        """The depth with the highest validation accuracy (chosen on validation, never on test)."""
        return self.rows[int(np.argmax(self.column("val_accuracy")))].depth

    def row(self, depth: int) -> SweepRow:
        """The row of one depth."""
        for row in self.rows:
            if row.depth == depth:
                return row
        raise KeyError(f"depth {depth} was not part of this sweep ({self.depths})")

    def _table(self) -> tuple[list[str], list[list[str]]]:
        has_test = np.any(np.isfinite(self.column("test_accuracy")))
        repeats = len(self.runs) // max(len(self.rows), 1)
        head = ["hidden layers", "weights", "train acc", "val acc"] + (["test acc"] if has_test else [])
        head += ["best epoch", "s per run"]
        body = []
        for r in self.rows:
            spread = (lambda s: f" ± {s:.3f}") if repeats > 1 else (lambda s: "")
            line = [str(r.depth), f"{r.params:,}", f"{r.train_accuracy:.3f}",
                    f"{r.val_accuracy:.3f}{spread(r.val_std)}"]
            if has_test:
                line.append(f"{r.test_accuracy:.3f}{spread(r.test_std)}")
            line += [f"{r.best_epoch:.1f}", f"{r.seconds:.1f}"]
            body.append(line)
        return head, body

    def __repr__(self) -> str:
        return f"DepthSweep: {len(self.rows)} depths, {self.width} neurons per hidden layer\n{self}"

    def __str__(self) -> str:
        head, body = self._table()
        widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(head)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in body]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head, body = self._table()
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line) + "</tr>" for line in body)
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>"


def _check_depths(depths) -> list[int]:
    depths = list(depths)
    if not depths:
        raise ValueError("depths is empty; e.g. depths=(0, 1, 2, 4)")
    for d in depths:
        if isinstance(d, bool) or int(d) != d or d < 0:
            raise ValueError(f"depths must be whole numbers >= 0, got {d!r}")
    if len(set(depths)) != len(depths):
        raise ValueError(f"depths has duplicates: {depths}")
    return [int(d) for d in depths]


def depth_sweep(
    x_train,
    y_train,
    x_val,
    y_val,
    depths: Sequence[int] = (0, 1, 2, 3, 4, 6, 8),
    *,
    x_test=None,
    y_test=None,
    width: int = 32,
    epochs: int = 30,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    patience: int | None = 8,
    monitor: str = "val_accuracy",
    repeats: int = 1,
    seed: int = 0,
    verbose: bool = False,
) -> DepthSweep:
    """Train one MLP per number of hidden layers and measure its accuracy.

    Each run builds :func:`mlp_classifier` (standardised pixels, ``width``
    neurons per hidden layer), trains it with Adam, keeps the weights of the
    best validation epoch (early stopping, see ``monitor``), and measures
    accuracy there on the training, validation and test sets. Depth 0 is
    logistic regression on the pixels: the line every deeper network must beat.

    Parameters
    ----------
    x_train, y_train : numpy.ndarray
        Training inputs (n, ...) and integer labels (n,): 0/1 for a binary task.
    x_val, y_val : numpy.ndarray
        Validation set: chooses the epoch (and, for you, the depth).
    depths : sequence of int, default (0, 1, 2, 3, 4, 6, 8)
        Numbers of hidden layers to try.
    x_test, y_test : numpy.ndarray, optional
        Test set, touched only to report accuracy.
    width : int, default 32
        Neurons per hidden layer.
    epochs : int, default 30
        Most epochs per run.
    batch_size : int, default 64
    learning_rate : float, default 1e-3
    patience : int or None, default 8
        Stop a run after this many epochs without a better ``monitor`` value;
        None trains all ``epochs`` (the best epoch's weights are kept either way).
    monitor : {"val_accuracy", "val_loss"}, default "val_accuracy"
        What picks the best epoch: the highest validation accuracy (what the
        table reports), or the lowest validation loss.
    repeats : int, default 1
        Runs per depth with different seeds (initial weights and batch order);
        the table reports means and standard deviations.
    seed : int, default 0
        Seed of the first repeat; repeat ``r`` uses ``seed + r``.
    verbose : bool, default False
        Print one line per run.

    Returns
    -------
    DepthSweep
        ``rows`` (one per depth), ``runs``, ``best_depth``, ``column(name)``;
        prints as a table and renders as HTML in a notebook.
    """
    import keras

    depths = _check_depths(depths)
    if monitor not in ("val_loss", "val_accuracy"):
        raise ValueError(f"monitor must be 'val_loss' or 'val_accuracy', got {monitor!r}")
    for name, value in (("width", width), ("epochs", epochs), ("batch_size", batch_size),
                        ("repeats", repeats)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    x_train, x_val = np.asarray(x_train, "float32"), np.asarray(x_val, "float32")
    y_train, y_val = np.asarray(y_train).ravel(), np.asarray(y_val).ravel()
    for x, y, which in ((x_train, y_train, "training"), (x_val, y_val, "validation")):
        if len(x) != len(y):
            raise ValueError(f"{which} set: {len(x)} inputs but {len(y)} labels")
    has_test = x_test is not None
    if has_test:
        x_test, y_test = np.asarray(x_test, "float32"), np.asarray(y_test).ravel()
        if len(x_test) != len(y_test):
            raise ValueError(f"test set: {len(x_test)} inputs but {len(y_test)} labels")
    n_classes = _n_classes(np.concatenate([y_train, y_val]))
    commonest = np.bincount(y_train.astype(int)).argmax()
    chance = float(np.mean(y_val == commonest))

    runs = []
    for depth in depths:
        for r in range(int(repeats)):
            keras.utils.set_random_seed(seed + r)
            model = mlp_classifier(x_train, n_classes, depth=depth, width=width, learning_rate=learning_rate)
            stop = keras.callbacks.EarlyStopping(
                monitor=monitor, patience=int(patience) if patience else int(epochs),
                restore_best_weights=True,
            )
            start = time.perf_counter()
            history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=int(epochs),
                                batch_size=int(batch_size), callbacks=[stop], verbose=0).history
            seconds = time.perf_counter() - start
            best = int(np.nanargmin(history["val_loss"]) if monitor == "val_loss"
                       else np.nanargmax(history["val_accuracy"]))
            test_acc = float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1]) if has_test \
                else math.nan
            run = {
                "depth": depth, "repeat": r, "seed": seed + r,
                "params": int(sum(math.prod(w.shape) for w in model.trainable_weights)),
                "train_accuracy": float(history["accuracy"][best]),
                "val_accuracy": float(history["val_accuracy"][best]),
                "test_accuracy": test_acc, "best_epoch": best + 1,
                "epochs_run": len(history["loss"]), "seconds": seconds, "history": history,
            }
            runs.append(run)
            if verbose:
                print(f"depth {depth} repeat {r}: val {run['val_accuracy']:.3f} test {test_acc:.3f} "
                      f"(best epoch {best + 1}/{run['epochs_run']}, {seconds:.1f} s)")
    rows = []
    for depth in depths:
        mine = [run for run in runs if run["depth"] == depth]

        def mean(key):
            return float(np.mean([run[key] for run in mine]))

        def std(key):
            return float(np.std([run[key] for run in mine])) if has_test or key != "test_accuracy" else math.nan

        rows.append(SweepRow(
            depth=depth, params=mine[0]["params"], train_accuracy=mean("train_accuracy"),
            val_accuracy=mean("val_accuracy"), test_accuracy=mean("test_accuracy"),
            val_std=std("val_accuracy"), test_std=std("test_accuracy"),
            best_epoch=mean("best_epoch"), seconds=mean("seconds"),
        ))
    return DepthSweep(tuple(rows), tuple(runs), int(width), chance)


def simulated_scores(
    n_cases: int = 1000,
    n_classes: int = 1000,
    *,
    separation: float = 3.0,
    confusable: int = 4,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities from an imaginary classifier, to explore top-k error.

    Each case has a true class. The classifier's score for every class is
    Gaussian noise; the true class gets ``separation`` added, and, as with
    ImageNet's 120 dog breeds, ``confusable`` look-alike classes get most of it
    too (``0.8 * separation``), so the right answer is often second or third:
    top-5 error is then much lower than top-1 error. Scores become
    probabilities through a softmax.

    Parameters
    ----------
    n_cases : int, default 1000
    n_classes : int, default 1000
        ImageNet's challenge had 1000 classes.
    separation : float, default 3.0
        How far the true class stands out of the noise (standard deviations);
        larger = a better classifier.
    confusable : int, default 4
        Look-alike classes per case (0 = none).
    seed : int or None, default 0

    Returns
    -------
    y_true : numpy.ndarray, int, shape (n_cases,)
    probabilities : numpy.ndarray, float, shape (n_cases, n_classes)
        Each row sums to 1.
    """
    for name, value, low in (("n_cases", n_cases, 1), ("n_classes", n_classes, 2), ("confusable", confusable, 0)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    if confusable >= n_classes:
        raise ValueError(f"confusable ({confusable}) must be smaller than n_classes ({n_classes})")
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, int(n_cases))
    scores = rng.standard_normal((int(n_cases), int(n_classes)))
    rows = np.arange(int(n_cases))
    scores[rows, y_true] += separation
    if confusable:
        # look-alikes: random other classes per case
        others = (y_true[:, None] + rng.integers(1, n_classes, (int(n_cases), int(confusable)))) % n_classes
        scores[rows[:, None], others] += 0.8 * separation
    scores -= scores.max(axis=1, keepdims=True)
    probabilities = np.exp(scores)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return y_true, probabilities
