"""``operating_point_explorer``: move the threshold along the ROC curve, watch the
confusion matrix, and see PPV/NPV change with prevalence.

The ROC curve is drawn once; a threshold change moves one marker with
``set_data`` and redraws (``request_draw``), and the numbers are HTML widgets
updated in place. All maths comes from :mod:`radlab.metrics`
(:func:`~radlab.metrics.roc_points`, :func:`~radlab.metrics.at_threshold`,
whose ``ppv_at``/``npv_at`` use Bayes' rule at the chosen prevalence).
"""

from __future__ import annotations

import html
import math
from typing import Sequence

import numpy as np

from ..metrics import OperatingPoint, at_threshold, roc_points, validate_binary
from . import _base
from ._base import Syncing

__all__ = ["operating_point_explorer"]

#: Range of the prevalence slider: 0.1 % to 50 % (wider if the sample's own is higher).
PREVALENCE_RANGE = (0.001, 0.5)


def operating_point_explorer(
    y_true,
    y_score,
    *,
    prevalence: float | None = None,
    threshold: float | None = None,
    thresholds: Sequence[float] | None = None,
    class_names: Sequence[str] = ("normal", "finding"),
    interactive: bool | None = None,
):
    """Explore a classifier's operating points: threshold, confusion matrix, PPV/NPV vs prevalence.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,) or (n, 1)
        Reference labels of the (validation or test) cases.
    y_score : array_like of float, shape (n,) or (n, 1)
        The model's scores (probabilities), e.g. ``model.predict(x)[:, 0]``.
    prevalence : float, optional
        Starting prevalence for PPV/NPV, strictly between 0 and 1 (0.01 = 1 %).
        Default: the sample's own prevalence.
    threshold : float, optional
        Starting threshold; default 0.5 if the scores span it, else their median.
    thresholds : sequence of float, optional
        Offer only these thresholds (e.g. ``[0.3, 0.5, 0.7]``); default a
        continuous slider from the lowest to the highest score.
    class_names : (str, str), default ("normal", "finding")
        Names of class 0 and class 1 in the confusion matrix.
    interactive : bool, optional
        ``None``: an ipympl canvas when available, else a static PNG; ``False``
        forces the static image.

    Returns
    -------
    ipywidgets.VBox
        The widget. ``.state`` holds ``threshold``, ``prevalence``, ``point``
        (the :class:`radlab.metrics.OperatingPoint`), ``roc`` (the curve),
        ``figure``, ``marker`` (the point on the curve), ``roc_line``, the
        controls ``threshold_slider`` and ``prevalence_slider``, the HTML
        widgets ``confusion`` and ``summary``, ``errors``, and the methods
        ``set_threshold`` and ``set_prevalence``.

    Examples
    --------
    >>> explorer = operating_point_explorer(y_val, model.predict(x_val)[:, 0])  # doctest: +SKIP
    >>> explorer.state.set_prevalence(0.01)   # screening population          # doctest: +SKIP
    >>> explorer.state.point.ppv_at                                              # doctest: +SKIP
    """
    explorer = _Explorer(y_true, y_score, prevalence=prevalence, threshold=threshold,
                         thresholds=thresholds, class_names=class_names, interactive=interactive)
    return explorer.container


def _check_prevalence(value) -> float:
    value = float(value)
    if not 0 < value < 1:
        raise ValueError(f"prevalence must be a fraction strictly between 0 and 1 (0.01 = 1 %), got {value!r}")
    return value


class _Explorer(Syncing):
    """State and callbacks behind :func:`operating_point_explorer` (``explorer.state``)."""

    def __init__(self, y_true, y_score, *, prevalence, threshold, thresholds, class_names, interactive):
        import ipywidgets as widgets

        self.y_true, self.y_score = validate_binary(y_true, y_score)
        if len(class_names) != 2:
            raise ValueError(f"class_names needs two names (class 0, class 1), got {class_names!r}")
        self.class_names = tuple(str(c) for c in class_names)
        self.roc = roc_points(self.y_true, self.y_score)
        self.sample_prevalence = float(self.y_true.mean())
        lo, hi = float(self.y_score.min()), float(self.y_score.max())
        if thresholds is not None:
            options = np.unique(np.asarray(thresholds, dtype=np.float64))
            if options.size == 0 or not np.all(np.isfinite(options)):
                raise ValueError(f"thresholds must be finite numbers, got {thresholds!r}")
            self.thresholds = options
        else:
            self.thresholds = None
        if threshold is None:
            threshold = (0.5 if lo <= 0.5 <= hi else float(np.median(self.y_score))) if self.thresholds is None \
                else float(self.thresholds[len(self.thresholds) // 2])
        self.threshold = self._check_threshold(threshold)
        self.prevalence = _check_prevalence(self.sample_prevalence if prevalence is None else prevalence)
        self.point: OperatingPoint = at_threshold(self.y_true, self.y_score, self.threshold, self.prevalence)

        # -- figure, drawn once -----------------------------------------------------------
        self.errors = _base.error_output()
        self.view = _base.new_figure_view(380, 360, interactive=interactive, facecolor="white")
        self.figure = self.view.figure
        self.figure.set_layout_engine("constrained")
        self.ax = self.figure.add_subplot()
        (self.roc_line,) = self.ax.plot(self.roc.fpr, self.roc.tpr, lw=2, label=f"AUC {self.roc.auc:.3f}")
        self.ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="chance")
        (self.marker,) = self.ax.plot([], [], "o", ms=9, color="k", label="operating point")
        self.ax.set_xlim(-0.02, 1.02)
        self.ax.set_ylim(-0.02, 1.02)
        self.ax.set_aspect("equal")
        self.ax.set_xlabel("1 - specificity")
        self.ax.set_ylabel("sensitivity")
        self.ax.set_title("ROC curve")
        self.ax.legend(loc="lower right", fontsize=8)

        # -- controls -------------------------------------------------------------------------
        style = {"description_width": "initial"}
        layout = widgets.Layout(width="30em")
        if self.thresholds is None:
            step = 10 ** math.floor(math.log10((hi - lo) / 200)) if hi > lo else 0.01
            # A threshold beyond the scores is legitimate (nothing, or everything, called
            # positive): the slider reaches it instead of silently clamping it.
            self.threshold_slider = widgets.FloatSlider(
                value=self.threshold, min=min(lo, self.threshold),
                max=max(hi if hi > lo else lo + step, self.threshold), step=step,
                description="Threshold", readout_format=".3g", style=style, layout=layout,
                continuous_update=True,
            )
        else:
            self.threshold_slider = widgets.SelectionSlider(
                options=[(f"{t:.3g}", float(t)) for t in self.thresholds], value=self.threshold,
                description="Threshold", style=style, layout=layout, continuous_update=True,
            )
        p_lo, p_hi = PREVALENCE_RANGE
        p_hi = max(p_hi, min(0.99, self.prevalence))
        p_lo = min(p_lo, self.prevalence)
        self.prevalence_slider = widgets.FloatLogSlider(
            value=self.prevalence, base=10, min=math.log10(p_lo), max=math.log10(p_hi), step=0.01,
            description="Prevalence", readout_format=".2%", style=style, layout=layout,
            continuous_update=True,
        )
        self.confusion = widgets.HTML()
        self.summary = widgets.HTML()
        _base.observe(self.threshold_slider, self._on_threshold, self.errors)
        _base.observe(self.prevalence_slider, self._on_prevalence, self.errors)
        self.container = widgets.VBox([
            widgets.HBox([self.threshold_slider, self.prevalence_slider]),
            widgets.HBox([self.view.widget, widgets.VBox([self.confusion, self.summary])]),
            self.errors,
        ])
        self.container.state = self
        self._render(draw=False)
        # Lay out once, then freeze: a marker move need not re-measure the tick labels.
        self.figure.get_layout_engine().execute(self.figure)
        self.figure.set_layout_engine("none")
        self.view.request_draw()

    # -- public methods ---------------------------------------------------------------------
    def set_threshold(self, threshold: float) -> None:
        """Call a case positive when ``score >= threshold``; moves the slider and the marker."""
        self.threshold = self._check_threshold(threshold)
        with self._sync():
            if self.thresholds is None:  # reach thresholds beyond the scores (no clamping)
                self.threshold_slider.max = max(self.threshold_slider.max, self.threshold)
                self.threshold_slider.min = min(self.threshold_slider.min, self.threshold)
            self.threshold_slider.value = self._slider_value(self.threshold)
        self._update(redraw=True)

    def set_prevalence(self, prevalence: float) -> None:
        """PPV/NPV at this prevalence (fraction, strictly between 0 and 1); moves the slider."""
        self.prevalence = _check_prevalence(prevalence)
        with self._sync():
            exponent = math.log10(self.prevalence)  # widen the slider rather than clamp the value
            self.prevalence_slider.max = max(self.prevalence_slider.max, exponent)
            self.prevalence_slider.min = min(self.prevalence_slider.min, exponent)
            self.prevalence_slider.value = self.prevalence
        # The curve and marker do not depend on prevalence: only the numbers change.
        self._update(redraw=False)

    # -- internals ----------------------------------------------------------------------------
    def _check_threshold(self, threshold) -> float:
        threshold = float(threshold)
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        if self.thresholds is not None and not np.any(np.isclose(self.thresholds, threshold)):
            raise ValueError(f"threshold {threshold:g} is not one of the offered thresholds "
                             f"{self.thresholds.tolist()}")
        return threshold

    def _slider_value(self, threshold: float) -> float:
        if self.thresholds is None:
            return threshold
        return float(self.thresholds[np.argmin(np.abs(self.thresholds - threshold))])

    def _update(self, redraw: bool) -> None:
        self.point = at_threshold(self.y_true, self.y_score, self.threshold, self.prevalence)
        self._render(draw=redraw)

    def _render(self, draw: bool = True) -> None:
        point = self.point
        self.marker.set_data([1 - point.specificity], [point.sensitivity])
        self.confusion.value = _confusion_html(point, self.class_names)
        self.summary.value = _summary_html(point)
        if draw:
            self.view.request_draw()

    def _on_threshold(self, change) -> None:
        if not self._syncing:
            self.set_threshold(change["new"])

    def _on_prevalence(self, change) -> None:
        if not self._syncing:
            self.set_prevalence(change["new"])


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.1%}"


def _confusion_html(point: OperatingPoint, class_names: tuple[str, str]) -> str:
    neg, pos = (html.escape(c) for c in class_names)
    cell = "padding:4px 10px;border:1px solid #bbb;text-align:center"
    good, bad = "background:#dcefdc", "background:#f6dada"
    return (
        "<table style='border-collapse:collapse;font-size:0.95em'>"
        f"<tr><th></th><th style='{cell}'>called {neg}</th><th style='{cell}'>called {pos}</th></tr>"
        f"<tr><th style='{cell}'>truly {neg}</th><td style='{cell};{good}'>TN {point.tn}</td>"
        f"<td style='{cell};{bad}'>FP {point.fp}</td></tr>"
        f"<tr><th style='{cell}'>truly {pos}</th><td style='{cell};{bad}'>FN {point.fn}</td>"
        f"<td style='{cell};{good}'>TP {point.tp}</td></tr></table>"
    )


def _summary_html(point: OperatingPoint) -> str:
    return (
        f"<div style='line-height:1.5'>threshold <b>{point.threshold:.3g}</b><br>"
        f"sensitivity <b>{_pct(point.sensitivity)}</b>, specificity <b>{_pct(point.specificity)}</b><br>"
        f"at this sample's prevalence ({_pct(point.sample_prevalence)}): "
        f"PPV {_pct(point.ppv)}, NPV {_pct(point.npv)}<br>"
        f"at prevalence <b>{point.prevalence:.2%}</b>: PPV <b>{_pct(point.ppv_at)}</b>, "
        f"NPV <b>{_pct(point.npv_at)}</b></div>"
    )
