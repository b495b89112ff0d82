"""Interactive widgets for notebooks. They compose radlab's pure functions and never
hold computation of their own.

* :func:`show` - browse an image or volume: window/level, presets, slices, mask,
  heatmap and box overlays, and the value under the cursor.

Each widget is a public function that returns an ``ipywidgets`` container whose
``.state`` attribute is the small object behind it (so tests and curious learners
can read ``viewer.state.center``). Names are resolved lazily, so ``import
radlab.widgets`` does not import matplotlib or ipywidgets.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    "show": "radlab.widgets.viewer",
    "feature_map_explorer": "radlab.widgets.feature_maps",
    "gradient_descent_explorer": "radlab.widgets.gradient_descent",
    "operating_point_explorer": "radlab.widgets.operating_point",
    # Only the class: a function named like its module (dashboard) would be shadowed by it.
    "Dashboard": "radlab.widgets.dashboard",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
