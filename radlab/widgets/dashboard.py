"""The live training dashboard: a Keras callback that is also an ipywidgets container.

Use it through :func:`radlab.fit` (which adds and displays one), or with plain Keras::

    board = rl.Dashboard(samples=(x_val[:6], y_val[:6]))
    history = model.fit(train, validation_data=val, epochs=10, callbacks=[board])

In a notebook it shows, from top to bottom: the device (GPU name and memory, or
CPU cores) and the precision policy when it is not float32; a progress bar with a
**Stop** button; epoch, batch, images per second, time left and the latest
metrics; one small plot per metric with training and validation curves; and,
with ``samples=``, a few images with the model's predicted probabilities after
each epoch. In a terminal it prints one compact line per epoch instead.

How it stays out of training's way
----------------------------------
* ``on_train_batch_end`` stores the batch number and compares one clock reading
  with the time of the next allowed refresh: well under a microsecond. Only when
  ``refresh_s`` has passed does it touch the progress widgets.
* Curves and sample predictions are redrawn at the end of an epoch (from the
  second on), but only as often as a time budget allows: each redraw is followed
  by a pause of at least ``curves_s`` and of at least ``cost / budget`` (20 ms of
  drawing with the 1 % budget waits 2 s), so even very short epochs cannot spend
  more than ~1 % of the wall time drawing. The last state is always drawn when
  training ends. A progress refresh costs ~0.2 ms and the batch hook ~0.1 us.
* Keras logs: with the TensorFlow backend, Keras' ``CallbackList`` turns the
  batch logs into Python floats after every batch whatever the callbacks are
  (``History`` is always there, and TensorFlow is not marked thread-safe for
  Keras' asynchronous callback dispatch), so reading them costs nothing extra.
  The ``_supports_tf_logs`` switch of ``tf.keras`` 2 no longer exists in Keras 3.
  On backends that dispatch callbacks asynchronously (JAX, PyTorch) the dashboard
  declares ``async_safe = True``, so implementing ``on_train_batch_end`` does not
  force a device sync after every batch.

Why plots are PNG images and not ipympl canvases
------------------------------------------------
While a cell runs ``fit``, the kernel is busy and handles no message *from* the
browser. ipympl's ``draw_idle`` only asks the browser to request a frame, and
the request waits until the cell ends (matplotlib/ipympl#258), so an ipympl
figure created in the training cell stays blank until training is over.
Messages *to* the browser do flow: the dashboard renders its figure with Agg and
sends a PNG to an ``ipywidgets.Image`` (artists are created once and updated with
``set_data``; only the pixels are re-encoded). This works the same in
JupyterLab, Notebook 7, VS Code and Colab (no custom widget manager needed), and
the last frame is saved with the notebook's widget state.

The same limitation would apply to the Stop button: a click reaches the kernel
only when it is free to read it. The dashboard therefore polls for front-end
events (:class:`radlab.widgets._base.UIPoller`, built on jupyter-ui-poll) at
each throttled progress refresh, so a click stops training within about half a
second. Where polling is unavailable (ipykernel 7), the notebook's *Interrupt
kernel* button (the black square) gives the same graceful stop in
:func:`radlab.fit`, which then returns the history so far instead of raising
``KeyboardInterrupt``.

Errors raised while refreshing the display are shown in the dashboard's error
area (and, without widgets, warned once); they never stop training.
"""

from __future__ import annotations

import html
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import keras
import numpy as np

from ..training import (
    _in_notebook,
    device_summary,
    device_text,
    eta_seconds,
    format_duration,
    format_epoch_line,
    gpu_memory_gb,
    images_per_second,
    next_refresh_time,
    ordered_metrics,
)

__all__ = ["Dashboard", "DashboardState", "dashboard"]

MODES = ("auto", "widget", "text", "silent")
#: Keys of the logs that are not curves (shown in the status line instead).
_NOT_CURVES = {"learning_rate", "lr"}
_GREEN, _RED = "#1a7f37", "#cf222e"


@dataclass
class DashboardState:
    """What the dashboard knows about the run; read it in tests or after training.

    Attributes
    ----------
    epoch : int
        Current (or last) epoch, 1-based as shown on screen; 0 before training.
    epochs : int
        Epoch number at which training ends (Keras' ``epochs``).
    batch : int
        Batches done in the current epoch at the last refresh.
    steps : int or None
        Batches per epoch, when known.
    images_per_s : float or None
        Training throughput: over the last refresh interval during an epoch,
        over the whole epoch's training part after it. None when the batch size
        is not known (see ``batches_per_s``).
    batches_per_s : float or None
        Training batches per second, measured the same way.
    eta_s : float or None
        Estimated seconds until training ends.
    elapsed_s : float
        Seconds since training started.
    running : bool
        True between ``on_train_begin`` and ``on_train_end``.
    stopped : bool
        True when training was stopped early (Stop button, :meth:`Dashboard.stop`
        or an interrupt).
    stop_reason : str or None
        Who stopped it.
    progress_refreshes, plot_refreshes : int
        How often the progress line and the plots were redrawn.
    errors : int
        Errors caught while refreshing the display.
    """

    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    steps: int | None = None
    images_per_s: float | None = None
    batches_per_s: float | None = None
    eta_s: float | None = None
    elapsed_s: float = 0.0
    running: bool = False
    stopped: bool = False
    stop_reason: str | None = None
    progress_refreshes: int = 0
    plot_refreshes: int = 0
    errors: int = 0


def _detect_mode() -> str:
    # A Jupyter kernel (JupyterLab, Notebook, VS Code, Colab, nbconvert) gets widgets.
    return "widget" if _in_notebook() else "text"


class Dashboard(keras.callbacks.Callback):
    """Live training dashboard: a Keras callback that displays as an ipywidgets container.

    Parameters
    ----------
    samples : (x, y) tuple or object with ``.x``/``.y``, optional
        A few images (the first ``max_samples`` are used) and their labels. After
        each epoch the panel shows every image with the model's predicted
        probability (one sigmoid unit: P(positive); softmax: the top class),
        green when the prediction matches the label, red otherwise.
    batch_size : int, optional
        Images per batch, to report images per second. :func:`radlab.fit` fills
        it in; with ``model.fit`` give the batch size you train with. Without it
        the dashboard reports batches per second.
    class_names : sequence of str, optional
        Names of the classes for the sample panel (index = class number).
    preprocess : "as_dataset", None or callable, default "as_dataset"
        How ``samples`` images become model input: ``"as_dataset"`` converts
        them exactly like :func:`radlab.data.as_dataset` (channel axis added,
        ``uint8`` scaled to [0, 1]), matching :func:`radlab.fit` on arrays; None
        feeds them as given (use it with ``model.fit`` on your own arrays); a
        callable gets the images and returns the model input.
    refresh_s : float, default 0.5
        Shortest time between progress-line refreshes, in s.
    curves_s : float, default 2.0
        Shortest time between redraws of the plots and sample panel, in s.
    poll_s : float, default 1.0
        Shortest time between checks for a Stop click while training runs, in s
        (the longest a click waits, plus the current batch).
    budget : float, default 0.01
        Largest fraction of wall time the display may use (see module notes).
    mode : {"auto", "widget", "text", "silent"}, default "auto"
        ``"widget"``: the ipywidgets display (the default inside a Jupyter
        kernel); ``"text"``: one printed line per epoch (the default elsewhere);
        ``"silent"``: record ``history`` and ``state`` only. Asking for
        :attr:`widget` builds the widgets in any mode.
    max_samples : int, default 8
        Most sample images shown.

    Attributes
    ----------
    history : dict of list
        One value per epoch for every metric in the epoch logs, exactly like
        ``keras.callbacks.History.history``.
    state : DashboardState
        Epoch, batch, throughput, ETA, stop flag and refresh counters.
    widget : ipywidgets.VBox
        The container (also shown when the dashboard itself is displayed).
    stop_button : ipywidgets.Button
    progress : ipywidgets.IntProgress
    errors : ipywidgets.Output
        Tracebacks of errors caught while refreshing the display. These three
        parts of :attr:`widget` are built with it.
    figure : matplotlib.figure.Figure or None
        The curves, once they have been drawn (after the second epoch).

    Examples
    --------
    >>> board = rl.Dashboard(samples=(x_val[:6], y_val[:6]), batch_size=32)
    >>> history = model.fit(x_train, y_train, batch_size=32, epochs=5,
    ...                     validation_data=(x_val, y_val), callbacks=[board],
    ...                     verbose=0)  # doctest: +SKIP
    >>> board.history["val_loss"]  # doctest: +SKIP
    """

    # Safe for Keras' asynchronous dispatch (JAX/PyTorch backends): the batch hook
    # only reads the clock; widget messages go through the kernel's thread-safe
    # IOPub socket. The TensorFlow backend never dispatches asynchronously.
    async_safe = True

    def __init__(
        self,
        samples: Any = None,
        *,
        batch_size: int | None = None,
        class_names: Any = None,
        preprocess: str | Callable | None = "as_dataset",
        refresh_s: float = 0.5,
        curves_s: float = 2.0,
        poll_s: float = 1.0,
        budget: float = 0.01,
        mode: str = "auto",
        max_samples: int = 8,
    ):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}; got {mode!r}.")
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
        if not 0 < budget <= 1:
            raise ValueError(f"budget must be in (0, 1]; got {budget}.")
        if preprocess not in (None, "as_dataset") and not callable(preprocess):
            raise ValueError(
                f"preprocess must be 'as_dataset', None or a function; got {preprocess!r}."
            )
        self.batch_size = None if batch_size is None else int(batch_size)
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.preprocess = preprocess
        self.refresh_s = float(refresh_s)
        self.curves_s = float(curves_s)
        self.poll_s = float(poll_s)
        self.budget = float(budget)
        self.mode = _detect_mode() if mode == "auto" else mode
        self.samples = _split_samples(samples, max_samples)
        self.history: dict[str, list] = {}
        self.state = DashboardState()
        self.figure = None

        self._container = None
        self._poller = None  # delivers Stop clicks while the training cell runs
        self._next_poll = 0.0
        self._view = None  # FigureView of the curves
        self._axes: dict[str, Any] = {}
        self._lines: dict[str, Any] = {}
        self._epochs_of: dict[str, list[int]] = {}
        self._sample_input = None
        self._device: dict[str, Any] | None = None
        self._warned = False
        self._reset_timers()
        if self.mode == "widget":
            self._build()

    # -- display ----------------------------------------------------------------------
    @property
    def widget(self):
        """The ipywidgets container (built on first use)."""
        if self._container is None:
            self._build()
        return self._container

    container = widget

    def __getattr__(self, name: str):
        # Parts of the widget, built on first use in "text" and "silent" mode.
        parts = ("stop_button", "progress", "errors")
        if name in parts and self.__dict__.get("_container") is None:
            self._build()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        s = self.state
        where = f"epoch {s.epoch}/{s.epochs}" if s.epochs else "not started"
        return f"<Dashboard {self.mode} | {where}{' | stopped' if s.stopped else ''}>"

    def _build(self) -> None:
        import ipywidgets as widgets

        from ._base import error_output

        self._device_html = widgets.HTML(value="<b>Training</b>")
        self.progress = widgets.IntProgress(
            value=0, min=0, max=1, bar_style="info",
            layout=widgets.Layout(width="60%"),
        )
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="danger",
            tooltip="End training after the current batch", disabled=True,
            layout=widgets.Layout(width="90px"),
        )
        self.stop_button.on_click(self._on_stop_click)
        self._status = widgets.HTML(value="Waiting for training to start.")
        self._plot_note = widgets.HTML(value="<i>Curves appear after the second epoch.</i>")
        self._plot_box = widgets.Box([self._plot_note])
        self._samples_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._sample_html: list = []
        if self.samples is not None:
            self._build_sample_tiles(widgets)
        self.errors = error_output()
        self._container = widgets.VBox([
            self._device_html,
            widgets.HBox([self.progress, self.stop_button]),
            self._status,
            self._plot_box,
            self._samples_box,
            self.errors,
        ])
        self._container.state = self.state  # radlab's widget convention: viewer.state

    def _build_sample_tiles(self, widgets) -> None:
        x, y = self.samples
        tiles = []
        for i in range(len(x)):
            image = widgets.Image(value=_thumbnail_png(x[i]), format="png",
                                  layout=widgets.Layout(width="96px", height="96px"))
            label = widgets.HTML(value=f"<small>label {html.escape(self._name(y[i]))}</small>")
            self._sample_html.append(label)
            tiles.append(widgets.VBox([image, label], layout=widgets.Layout(margin="2px")))
        self._samples_box.children = tiles

    # -- stopping -----------------------------------------------------------------------
    def stop(self, reason: str = "Stop button") -> None:
        """End training gracefully after the current batch (what the Stop button does)."""
        if not self.state.running:
            return
        self.state.stopped = True
        self.state.stop_reason = reason
        if self._model is not None:
            self._model.stop_training = True
        if self._container is not None:
            self.stop_button.disabled = True
            self.stop_button.description = "Stopping"

    def _on_stop_click(self, _button) -> None:
        self._guarded(self.stop)

    def interrupted(self) -> None:
        """Record a ``KeyboardInterrupt`` (called by :func:`radlab.fit`) and show it."""
        self.state.stopped = True
        self.state.stop_reason = "interrupted"
        self.on_train_end()
        self._close_poller()

    def _close_poller(self) -> None:
        poller, self._poller = getattr(self, "_poller", None), None
        if poller is not None:
            poller.close()

    # -- Keras hooks ----------------------------------------------------------------------
    def _reset_timers(self) -> None:
        now = time.perf_counter()
        self._t_train = now
        self._t_epoch = now
        self._t_train_part_end = None
        self._next_progress = now + self.refresh_s
        self._next_plot = now
        self._plot_dirty = False
        self._batch = -1
        self._steps_before = 0
        self._global_step = 0
        self._tick_time = now
        self._tick_step = 0
        self._first_epoch = None
        self._epoch_seconds: list[float] = []
        self._last_logs: dict = {}

    def on_train_begin(self, logs=None):
        self._reset_timers()
        self.history = {}
        self._epochs_of = {}
        params = self.params or {}
        self.state = DashboardState(
            epochs=int(params.get("epochs") or 0), steps=params.get("steps"), running=True,
        )
        if self._container is not None:
            self._container.state = self.state
        self._guarded(self._start_display)

    def _start_display(self) -> None:
        if self._container is None:
            return
        if self.samples is not None:
            self._sample_input = self._prepare_samples(self.samples[0])
        self._device = device_summary(self._model)
        name = html.escape(getattr(self._model, "name", "model") or "model")
        self._device_html.value = (
            f"<b>Training {name}</b> &nbsp;|&nbsp; {html.escape(self._device['text'])}"
        )
        self.stop_button.disabled = False
        self.stop_button.description = "Stop"
        from ._base import UIPoller

        self._poller = UIPoller()
        if not self._poller.active:
            self.stop_button.tooltip = (
                "This kernel reads clicks only after the cell ends: use the Interrupt (■) button "
                "to stop training now; radlab.fit stops gracefully."
            )
        self.progress.bar_style = "info"
        self.progress.value = 0
        self.progress.max = max(1, self._total_units())
        self._status.value = "Starting (the first batches also build the model's graph)..."

    def on_epoch_begin(self, epoch, logs=None):
        now = time.perf_counter()
        if self._first_epoch is None:
            self._first_epoch = epoch
        self._t_epoch = now
        self._t_train_part_end = None
        self._batch = -1
        self._tick_time = now
        self._tick_step = self._steps_before
        self.state.epoch = epoch + 1
        self.state.batch = 0

    def on_train_batch_end(self, batch, logs=None):
        # The hot path: runs after every batch. Keep it to a store and a clock check.
        if batch > self._batch:
            self._batch = batch
        if time.perf_counter() < self._next_progress:
            return
        self._progress_tick(batch, logs)

    def on_test_begin(self, logs=None):
        if self.state.running and self._t_train_part_end is None:
            self._t_train_part_end = time.perf_counter()  # validation starts

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        logs = logs or {}
        for key, value in logs.items():  # same bookkeeping as keras' History
            self.history.setdefault(key, []).append(value)
            self._epochs_of.setdefault(key, []).append(epoch + 1)
        self._last_logs = dict(logs)
        steps_done = self._batch + 1
        self._steps_before += steps_done
        self._global_step = self._steps_before
        if self.state.steps is None and steps_done:
            self.state.steps = steps_done
        train_seconds = (self._t_train_part_end or now) - self._t_epoch
        self._epoch_seconds.append(now - self._t_epoch)
        s = self.state
        s.batch = steps_done
        s.elapsed_s = now - self._t_train
        if steps_done and train_seconds > 0:
            s.batches_per_s = steps_done / train_seconds
            s.images_per_s = (images_per_second(steps_done * self.batch_size, train_seconds)
                              if self.batch_size else None)
        s.eta_s = eta_seconds(
            batches_left=0, epochs_left=max(0, s.epochs - (epoch + 1)),
            seconds_per_batch=None, seconds_per_epoch=self._typical_epoch_seconds(),
        )
        self._plot_dirty = True
        self._guarded(self._epoch_display, epoch, logs, train_seconds, now)

    def on_train_end(self, logs=None):
        if not self.state.running:
            return
        s = self.state
        s.running = False
        s.elapsed_s = time.perf_counter() - self._t_train
        s.eta_s = 0.0 if not s.stopped else None
        if self.mode == "text" and s.stopped and s.stop_reason != "interrupted":
            print(f"stopped after epoch {s.epoch} ({s.stop_reason})", flush=True)
        self._guarded(self._final_display)
        self._close_poller()

    # -- display updates ----------------------------------------------------------------
    def _progress_tick(self, batch, logs) -> None:
        start = time.perf_counter()
        try:
            self._update_progress_state(batch, logs, start)
            if self._container is not None:
                self._show_progress()
            self.state.progress_refreshes += 1
        except Exception as exc:  # noqa: BLE001 - the display must never end training
            self._report(exc)
        finally:
            now = time.perf_counter()
            self._next_progress = next_refresh_time(
                now, now - start, interval=self.refresh_s, budget=self.budget
            )
        self._poll_clicks(now)

    def _poll_clicks(self, now: float) -> None:
        """Deliver a Stop click made since the last poll; at most every ``poll_s`` seconds.

        Called from progress ticks *and* epoch ends, so a click lands even when
        epochs are shorter than the refresh interval. A poll costs a few ms (a
        hop to jupyter-ui-poll's event-loop thread); it is kept out of the
        display budget because it is what makes the Stop button work.
        """
        if self._poller is None or now < self._next_poll:
            return
        try:
            self._poller.poll(2)  # a click is one message
        except Exception as exc:  # noqa: BLE001
            self._report(exc)
        self._next_poll = time.perf_counter() + self.poll_s

    def _update_progress_state(self, batch, logs, now) -> None:
        s = self.state
        step = self._steps_before + batch + 1
        dt, done = now - self._tick_time, step - self._tick_step
        if dt > 0 and done > 0:
            s.batches_per_s = done / dt
            s.images_per_s = (images_per_second(done * self.batch_size, dt)
                              if self.batch_size else None)
        self._tick_time, self._tick_step = now, step
        self._global_step = step
        s.batch = batch + 1
        s.elapsed_s = now - self._t_train
        if logs:
            self._last_logs = dict(logs)
        if s.steps:
            s.eta_s = eta_seconds(
                batches_left=max(0, s.steps - s.batch),
                epochs_left=max(0, s.epochs - s.epoch),
                seconds_per_batch=1.0 / s.batches_per_s if s.batches_per_s else None,
                seconds_per_epoch=self._typical_epoch_seconds(),
                steps_per_epoch=s.steps,
            )
        else:  # a dataset of unknown length, first epoch: no estimate yet
            s.eta_s = None

    def _typical_epoch_seconds(self) -> float | None:
        times = self._epoch_seconds
        if not times:
            return None
        # The first epoch also traces the graph; leave it out once others exist.
        later = times[1:] if len(times) > 1 else times
        return float(np.median(later))

    def _total_units(self) -> int:
        """Length of the progress bar: batches in the run if known, else epochs."""
        s = self.state
        first = self._first_epoch or 0
        epochs = max(1, s.epochs - first)
        return epochs * s.steps if s.steps else epochs

    def _done_units(self) -> int:
        if self.state.steps:
            return min(self._global_step, self._total_units())
        return len(self._epoch_seconds)  # epochs completed

    def _status_text(self) -> str:
        s = self.state
        parts = [f"Epoch {s.epoch}/{s.epochs}"]
        parts.append(f"batch {s.batch}/{s.steps}" if s.steps else f"batch {s.batch}")
        if s.images_per_s:
            parts.append(f"{s.images_per_s:,.0f} images/s")
        elif s.batches_per_s:
            parts.append(f"{s.batches_per_s:,.1f} batches/s")
        parts.append(f"ETA {format_duration(s.eta_s)}")
        for key in ordered_metrics(self._last_logs):
            try:
                parts.append(f"{key} {float(self._last_logs[key]):.4g}")
            except (TypeError, ValueError):
                continue
        return " &nbsp;·&nbsp; ".join(html.escape(p) for p in parts)

    def _show_progress(self) -> None:
        self.progress.max = max(1, self._total_units())
        self.progress.value = self._done_units()
        self._status.value = self._status_text()
        if self._device is not None and self._device["kind"] == "GPU":
            memory = gpu_memory_gb()
            if memory is not None:
                self._device["memory_used_gb"], self._device["memory_peak_gb"] = memory
                name = html.escape(getattr(self._model, "name", "model") or "model")
                self._device_html.value = (
                    f"<b>Training {name}</b> &nbsp;|&nbsp; "
                    f"{html.escape(device_text(self._device))}"
                )

    def _epoch_display(self, epoch, logs, train_seconds, now) -> None:
        s = self.state
        if self.mode == "text":
            print(format_epoch_line(epoch + 1, s.epochs, logs, seconds=self._epoch_seconds[-1],
                                    images_per_s=s.images_per_s, eta_s=s.eta_s), flush=True)
        if self._container is None:
            return
        start = time.perf_counter()
        self._show_progress()
        s.progress_refreshes += 1
        self._next_progress = next_refresh_time(
            now, time.perf_counter() - start, interval=self.refresh_s, budget=self.budget)
        self._poll_clicks(time.perf_counter())
        # One point per curve says little: plots start after the second epoch (or
        # at the end of a one-epoch run), which also keeps the costlier first draw
        # (figure creation) out of short runs.
        if now >= self._next_plot and len(self._epoch_seconds) >= 2:
            self._redraw_plots()

    def _final_display(self) -> None:
        if self._container is None:
            return
        s = self.state
        if self._plot_dirty:
            self._redraw_plots()
        self._show_progress()
        s.progress_refreshes += 1
        ran = s.epoch - (self._first_epoch or 0)
        if s.stopped:
            self.progress.bar_style = "warning"
            head = f"Stopped after epoch {s.epoch} ({s.stop_reason})"
        else:
            self.progress.bar_style = "success"
            self.progress.value = self.progress.max
            head = f"Done: {ran} epoch{'s' if ran != 1 else ''}"
        tail = f" in {format_duration(s.elapsed_s)}"
        if s.images_per_s:
            tail += f" &nbsp;·&nbsp; {s.images_per_s:,.0f} images/s (last epoch)"
        metrics = " &nbsp;·&nbsp; ".join(
            f"{html.escape(k)} {float(self._last_logs[k]):.4g}"
            for k in ordered_metrics(self._last_logs)
            if isinstance(self._last_logs[k], (int, float))
        )
        if metrics:
            tail += f" &nbsp;·&nbsp; {metrics}"
        self._status.value = f"<b>{head}</b>{tail}"
        self.stop_button.disabled = True
        self.stop_button.description = "Stop"

    def _redraw_plots(self) -> None:
        start = time.perf_counter()
        try:
            self._draw_curves()
            if self._sample_input is not None:
                self._update_samples()
            self._plot_dirty = False
            self.state.plot_refreshes += 1
        finally:
            now = time.perf_counter()
            self._next_plot = next_refresh_time(
                now, now - start, interval=self.curves_s, budget=self.budget)

    def _curve_keys(self) -> list[str]:
        return [k for k in ordered_metrics(self.history)
                if not k.startswith("val_") and k not in _NOT_CURVES]

    def _draw_curves(self) -> None:
        keys = self._curve_keys()
        if not keys:
            return
        if self._view is None or set(keys) != set(self._axes):
            self._make_figure(keys)
        for key in keys:
            for name in (key, f"val_{key}"):
                line = self._lines.get(name)
                if line is not None and name in self.history:
                    line.set_data(self._epochs_of[name], _as_floats(self.history[name]))
            ax = self._axes[key]
            ax.relim()
            ax.autoscale_view()
        self._view.request_draw()

    def _make_figure(self, keys: list[str]) -> None:
        from matplotlib.ticker import MaxNLocator

        from ._base import new_figure_view

        ncols = min(len(keys), 3)
        nrows = -(-len(keys) // ncols)
        width, height = 250 * ncols, 190 * nrows
        view = new_figure_view(width, height, dpi=80, interactive=False, facecolor="white")
        fig = view.figure
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        fig.subplots_adjust(left=0.09 if ncols > 1 else 0.16, right=0.98,
                            bottom=0.13 / nrows, top=1 - 0.14 / nrows,
                            wspace=0.32, hspace=0.45)
        self._axes, self._lines = {}, {}
        for ax, key in zip(axes, keys):
            # A text label instead of set_title, 4 ticks per axis and no axis label:
            # text layout is most of the draw time (31 -> 18 ms for two plots).
            ax.text(0.0, 1.03, key, transform=ax.transAxes, fontsize=10, va="bottom")
            ax.tick_params(labelsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.spines[["top", "right"]].set_visible(False)
            (self._lines[key],) = ax.plot([], [], "o-", ms=3, lw=1.5, color="C0", label="training")
            (self._lines[f"val_{key}"],) = ax.plot([], [], "o-", ms=3, lw=1.5, color="C1",
                                                    label="validation")
            self._axes[key] = ax
        if any(f"val_{k}" in self.history for k in keys):
            axes[0].legend(fontsize=7, frameon=False)
        for ax in axes[len(keys):]:
            ax.set_visible(False)
        self._view, self.figure = view, fig
        self._plot_box.children = [view.widget]

    # -- sample predictions -------------------------------------------------------------
    def _prepare_samples(self, x):
        if self.preprocess is None:
            return np.asarray(x)
        if callable(self.preprocess):
            return self.preprocess(x)
        from ..data.pipeline import as_dataset

        batch = next(iter(as_dataset(x, None, len(x), shuffle=False, prefetch=False)))
        return batch

    def _update_samples(self) -> None:
        probs = keras.ops.convert_to_numpy(self._model(self._sample_input, training=False))
        probs = np.asarray(probs, dtype=np.float64).reshape(len(probs), -1)
        x, y = self.samples
        if probs.shape[1] > 64:
            raise ValueError(
                f"The sample panel shows class probabilities; this model outputs "
                f"{probs.shape[1]} values per image. Leave samples= out for segmentation."
            )
        for i, label_widget in enumerate(self._sample_html):
            text, correct = self._describe_prediction(probs[i], y[i])
            colour = "inherit" if correct is None else (_GREEN if correct else _RED)
            label_widget.value = (
                f"<small>label {html.escape(self._name(y[i]))}<br>"
                f"<span style='color:{colour}'><b>{html.escape(text)}</b></span></small>"
            )

    def _describe_prediction(self, p: np.ndarray, label) -> tuple[str, bool | None]:
        label = np.asarray(label)
        if p.size == 1:
            positive = self.class_names[1] if self.class_names and len(self.class_names) > 1 \
                else "positive"
            correct = None if label.size != 1 else bool(p[0] >= 0.5) == bool(label.item())
            return f"P({positive}) {p[0]:.2f}", correct
        top = int(np.argmax(p))
        correct = None if label.size != 1 else top == int(label.item())
        return f"{self._name(top)} {p[top]:.2f}", correct

    def _name(self, label) -> str:
        label = np.asarray(label)
        if label.size == 1 and np.issubdtype(label.dtype, np.number):
            value = label.item()
            names = self.class_names
            if names and float(value).is_integer() and 0 <= value < len(names):
                return names[int(value)]
            return f"{value:g}" if isinstance(value, float) else str(value)
        return str(label.tolist())

    # -- errors -------------------------------------------------------------------------
    def _guarded(self, function: Callable, *args) -> None:
        try:
            function(*args)
        except Exception as exc:  # noqa: BLE001 - the display must never end training
            self._report(exc)

    def _report(self, exc: BaseException) -> None:
        self.state.errors += 1
        if self._container is not None:
            from ._base import report_error

            report_error(self.errors, exc)
        elif not self._warned:
            self._warned = True
            warnings.warn(f"Training dashboard: display error ignored, training goes on: "
                          f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)


def dashboard(samples: Any = None, **kwargs: Any) -> Dashboard:
    """Create a live training dashboard; pass it to ``model.fit(callbacks=[...])`` or ``rl.fit``.

    The same as :class:`Dashboard` (see there for every option). Displaying the
    result in a notebook shows the widget; :func:`radlab.fit` adds and displays
    one for you.

    Parameters
    ----------
    samples : (x, y) tuple or object with ``.x``/``.y``, optional
        A few images and labels whose predictions are shown after each epoch.
    **kwargs
        ``batch_size``, ``class_names``, ``preprocess``, ``refresh_s``,
        ``curves_s``, ``budget``, ``mode``, ``max_samples``.

    Returns
    -------
    Dashboard
        A Keras callback; ``.widget`` is its ipywidgets container and
        ``.state`` / ``.history`` hold what it recorded.
    """
    return Dashboard(samples, **kwargs)


# -- helpers ------------------------------------------------------------------------------
def _split_samples(samples: Any, max_samples: int):
    if samples is None:
        return None
    if isinstance(samples, (tuple, list)) and len(samples) == 2:
        x, y = samples
    elif hasattr(samples, "x") and hasattr(samples, "y"):
        x, y = samples.x, samples.y
    else:
        raise TypeError(
            "samples must be a tuple (x, y) of a few images and their labels, or an object "
            f"with .x and .y such as a PhantomSet; got {type(samples).__name__}."
        )
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"samples: {len(x)} images but {len(y)} labels.")
    if len(x) == 0:
        raise ValueError("samples holds no images.")
    if x.ndim not in (3, 4):
        raise ValueError(
            f"samples images must have shape (n, H, W) or (n, H, W, C); got {x.shape}."
        )
    n = min(len(x), int(max_samples))
    return x[:n], y[:n]


def _as_floats(values: list) -> list[float]:
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def _thumbnail_png(image: np.ndarray) -> bytes:
    """A PNG of one image, grey values stretched to its own min..max."""
    import io

    from PIL import Image as PILImage

    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    elif image.ndim == 3 and image.shape[-1] not in (3, 4):
        image = image[..., 0]  # multi-channel input: show the first channel
    elif image.ndim == 3:
        image = image[..., :3]
    finite = np.isfinite(image)
    lo, hi = (float(image[finite].min()), float(image[finite].max())) if finite.any() else (0, 1)
    scaled = np.clip((np.nan_to_num(image, nan=lo) - lo) / ((hi - lo) or 1.0), 0, 1)
    pixels = (scaled * 255 + 0.5).astype(np.uint8)
    with io.BytesIO() as png:
        PILImage.fromarray(pixels).save(png, format="png", compress_level=1)
        return png.getvalue()

