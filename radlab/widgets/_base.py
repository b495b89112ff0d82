"""Plumbing every radlab widget shares.

* :func:`error_output`, :func:`guard`, :func:`observe` - an exception raised inside
  a widget callback would otherwise vanish (ipywidgets swallows it and the slider
  silently stops working); here it is shown in an ``ipywidgets.Output`` that the
  widget displays.
* :func:`new_figure_view` - a matplotlib figure drawn by ipympl's canvas widget when
  ipympl is installed, else by a static ``ipywidgets.Image`` (PNG). The figure is
  created *without* pyplot, so the learner's own ``plt`` plots keep their backend
  (inline stays inline), the figure never shows up twice, and nothing accumulates
  in pyplot's figure list.

Importing ipympl is itself not side-effect free: ``ipympl/__init__.py`` calls
``matplotlib.use("module://ipympl.backend_nbagg")`` whenever matplotlib is already
imported, which would switch every later ``plt.plot`` in the notebook to the widget
backend. :func:`_import_ipympl` keeps that call from taking effect.
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import traceback
import warnings
from typing import Any, Callable

import numpy as np
from matplotlib.image import AxesImage
from matplotlib.transforms import IdentityTransform

__all__ = [
    "FigureView",
    "FrameImage",
    "error_output",
    "guard",
    "ipympl_available",
    "new_figure_view",
    "observe",
    "UIPoller",
    "Syncing",
]

#: Most tracebacks kept in a widget's error area (a dragged slider can fail 100 times).
MAX_ERRORS = 3

# -- setting controls from code ------------------------------------------------------------
class Syncing:
    """Mixin for a widget's state class: set controls from code without their observers reacting.

    Observers check ``self._syncing`` and return early; code that moves a slider to
    match the state wraps the assignment in ``with self._sync():``.
    """

    _syncing = False

    @contextlib.contextmanager
    def _sync(self):
        previous, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = previous


# -- front-end events during a long cell ------------------------------------------------
class UIPoller:
    """Handle pending browser events (a button click) while a long cell runs.

    A Jupyter kernel reads messages from the browser only between cells, so a
    Stop button clicked during training would be seen when training is over.
    jupyter-ui-poll lets the running cell process those messages; it holds back
    any cell the learner queues meanwhile and replays it afterwards. It needs an
    IPython kernel with ``do_one_iteration`` (ipykernel 6, Colab); elsewhere
    (ipykernel 7, a plain Python process) the poller is inactive and
    ``poll()`` does nothing: the Interrupt button remains the way to stop.
    """

    def __init__(self) -> None:
        self._context = None
        self._poll = None
        try:
            from IPython import get_ipython

            kernel = getattr(get_ipython(), "kernel", None)
            if kernel is None or not hasattr(kernel, "do_one_iteration"):
                return
            from jupyter_ui_poll import ui_events

            self._context = ui_events()
            self._poll = self._context.__enter__()
        except Exception:  # an optional nicety: never let it break a widget
            self._context = self._poll = None

    @property
    def active(self) -> bool:
        """True when clicks are delivered during the cell."""
        return self._poll is not None

    def poll(self, n: int = 10) -> None:
        """Process up to ``n`` pending front-end events."""
        if self._poll is not None:
            self._poll(n)

    def close(self) -> None:
        """Stop polling (idempotent)."""
        if self._context is not None:
            context, self._context, self._poll = self._context, None, None
            context.__exit__(None, None, None)


# -- errors ------------------------------------------------------------------------


def error_output():
    """An ``ipywidgets.Output`` for callback errors; empty (and invisible) until one happens."""
    import ipywidgets as widgets

    return widgets.Output(layout=widgets.Layout(max_height="16em", overflow="auto"))


def report_error(output, exc: BaseException) -> None:
    """Append a traceback to ``output`` (works with or without a front end)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    output.append_stderr(text)
    if len(output.outputs) > MAX_ERRORS:
        output.outputs = tuple(output.outputs[-MAX_ERRORS:])


def guard(output, function: Callable) -> Callable:
    """Wrap a callback so that an exception is shown in ``output`` instead of lost.

    The wrapped callback returns ``None`` after an error; the widget keeps working.
    """

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every error must reach the learner
            report_error(output, exc)
            return None

    return guarded


def observe(widget, handler: Callable, output, names: str = "value") -> Callable:
    """``widget.observe(handler, names)`` with errors routed to ``output``; returns the wrapper."""
    wrapped = guard(output, handler)
    widget.observe(wrapped, names=names)
    return wrapped


# -- figures -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _import_ipympl():
    """ipympl's backend module, or None; matplotlib's backend is left exactly as it was.

    ``ipympl/__init__.py`` runs ``matplotlib.use("module://ipympl.backend_nbagg")``
    when matplotlib is already imported. Undoing that afterwards is not enough: the
    switch loads backend modules out of order, and matplotlib-inline then never
    hooks into IPython (later ``plt`` figures and returned figures stop showing).
    So ``matplotlib.use`` is made a no-op for the duration of the import only.
    """
    import matplotlib

    rc = matplotlib.rcParams
    # Raw access: reading rcParams["backend"] would resolve the "auto" sentinel, and
    # assigning the sentinel back through __setitem__ is silently ignored.
    raw = getattr(rc, "_get", functools.partial(dict.__getitem__, rc))
    raw_set = getattr(rc, "_set", functools.partial(dict.__setitem__, rc))
    before = raw("backend")
    use = matplotlib.use
    matplotlib.use = lambda *args, **kwargs: None
    try:
        from ipympl import backend_nbagg
    except Exception:  # not installed, or broken (e.g. missing tornado): static fallback
        return None
    finally:
        matplotlib.use = use
        if raw("backend") != before:  # a future ipympl found another way: put it back
            raw_set("backend", before)
    return backend_nbagg


def ipympl_available() -> bool:
    """True when ipympl (``%matplotlib widget``) can draw interactive figures here."""
    return _import_ipympl() is not None


@functools.lru_cache(maxsize=1)
def _canvas_class():
    """ipympl's Canvas, encoding frames with zlib level 1 instead of 6.

    Per update ipympl renders the figure with Agg and sends a PNG of the changed
    pixels (``get_diff_image``). At the default compression that PNG costs
    ~20 ms for a 512x512 CT frame - more than the Agg draw itself; level 1 costs
    ~6 ms for a ~10% bigger frame, which is the right trade on the local
    kernel-to-browser link. The logic is otherwise matplotlib's own (full frame
    first or after a resize/transparency, then diffs), and it defers to
    matplotlib if its private state ever changes shape.
    """
    backend = _import_ipympl()
    from PIL import Image as PILImage

    class Canvas(backend.Canvas):
        def get_diff_image(self):
            if not all(hasattr(self, a) for a in ("_png_is_old", "_force_full", "_last_buff")):
                return super().get_diff_image()
            if not self._png_is_old:
                return None
            pixels = np.asarray(self.get_renderer().buffer_rgba())
            buff = pixels.view(np.uint32).squeeze(2)
            if (self._force_full or buff.shape != self._last_buff.shape
                    or (pixels[:, :, 3] != 255).any()):
                self.set_image_mode("full")
                output = buff
            else:
                self.set_image_mode("diff")
                output = np.where(buff != self._last_buff, buff, 0)
            self._last_buff = buff.copy()
            self._force_full = False
            self._png_is_old = False
            data = output.view(dtype=np.uint8).reshape((*output.shape, 4))
            with io.BytesIO() as png:
                PILImage.fromarray(data).save(png, format="png", compress_level=1)
                return png.getvalue()

    Canvas.__name__ = Canvas.__qualname__ = "RadlabCanvas"
    return Canvas


class FrameImage(AxesImage):
    """An ``AxesImage`` for a uint8 RGBA frame that is drawn pixel for pixel.

    Agg cannot blit an image unsampled, so every ``AxesImage`` draw goes through
    matplotlib's resampler, masked-array handling and alpha compositing (~7 ms
    for 512 x 512) even when the image maps 1:1 onto the canvas. When this
    artist's frame covers exactly its clip box on whole device pixels at a whole
    scale ``k`` (the viewer's un-zoomed view, and ``k = 2`` on HiDPI screens), it
    hands Agg the frame itself, ``k``-fold repeated (~1 ms) - the same pixels, as
    a test checks. Any other view (toolbar zoom/pan, non-square pixels) falls back
    to the normal path.
    """

    def make_image(self, renderer, magnification=1.0, unsampled=False):
        frame = self._A
        if (not unsampled and isinstance(frame, np.ndarray) and frame.dtype == np.uint8
                and frame.ndim == 3 and frame.shape[2] == 4):
            x0, y0, x1, y1 = self.get_window_extent(renderer).extents * magnification
            clip = ((self.get_clip_box() or self.axes.bbox) if self.get_clip_on()
                    else self.get_figure(root=True).bbox)
            height, width = frame.shape[:2]
            k = round((x1 - x0) / width)
            if (k >= 1 and np.allclose(clip.extents * magnification, (x0, y0, x1, y1), atol=1e-6)
                    and np.allclose((x0, y0), np.round((x0, y0)), atol=1e-6)
                    and abs((x1 - x0) - k * width) < 1e-6 and abs((y1 - y0) - k * height) < 1e-6):
                if k > 1:
                    frame = frame.repeat(k, axis=0).repeat(k, axis=1)
                # Agg's rows run bottom-up.
                return frame[::-1], round(x0), round(y0), IdentityTransform()
        return super().make_image(renderer, magnification, unsampled)


_figure_numbers = itertools.count(1)


class FigureView:
    """A figure plus the widget that shows it, with one way to ask for a redraw.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
    widget : ipywidgets.DOMWidget
        ipympl's canvas (interactive) or an ``ipywidgets.Image`` (static PNG).
    interactive : bool
        True with ipympl: mouse events reach ``figure.canvas.mpl_connect`` callbacks.
    """

    def __init__(self, figure, widget, interactive: bool):
        self.figure = figure
        self.widget = widget
        self.interactive = interactive

    def request_draw(self) -> None:
        """Show the figure's current state: ``draw_idle`` with ipympl (the browser
        asks for the frame when it is ready, so fast slider drags coalesce), else
        render the PNG now."""
        if self.interactive:
            self.figure.canvas.draw_idle()
        else:
            self.widget.value = self.render_png()

    def render_png(self) -> bytes:
        """Draw with Agg and encode the frame as PNG (RGB, fast zlib level)."""
        from PIL import Image as PILImage

        canvas = self.figure.canvas
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        with io.BytesIO() as png:
            PILImage.fromarray(rgb).save(png, format="png", compress_level=1)
            return png.getvalue()


def new_figure_view(
    width_px: int, height_px: int, *, dpi: float = 100.0, interactive: bool | None = None,
    facecolor: Any = "black",
) -> FigureView:
    """Create a figure of exactly ``width_px`` x ``height_px`` pixels and its display widget.

    Parameters
    ----------
    width_px, height_px : int
        Figure size in screen pixels (at a device pixel ratio of 1).
    dpi : float, default 100
    interactive : bool or None
        ``None``: ipympl's canvas when ipympl imports, else a static image.
        ``True``: require ipympl (error with the fix if it is missing).
        ``False``: static PNG in an ``ipywidgets.Image``.
    facecolor : matplotlib colour, default "black"

    Returns
    -------
    FigureView
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor=facecolor)
    if interactive is None:
        interactive = ipympl_available()
    elif interactive and not ipympl_available():
        raise ImportError(
            "interactive=True needs ipympl (the '%matplotlib widget' backend): "
            "pip install ipympl, then restart the kernel; or pass interactive=False"
        )
    if interactive:
        backend = _import_ipympl()
        canvas = _canvas_class()(figure)
        # The manager wires the toolbar and event handling; it is not registered
        # with pyplot, so plt.gcf()/plt.show() never see this figure.
        with warnings.catch_warnings():
            # ipympl's Toolbar passes the canvas on to traitlets (ipympl's own quirk).
            warnings.filterwarnings("ignore", "Passing unrecognized arguments", DeprecationWarning)
            backend.FigureManager(canvas, next(_figure_numbers))
        canvas.header_visible = False
        canvas.footer_visible = False
        canvas.resizable = False
        canvas.toolbar_position = "left"
        return FigureView(figure, canvas, True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    image = widgets.Image(format="png", width=width_px, height=height_px)
    view = FigureView(figure, image, False)
    return view
