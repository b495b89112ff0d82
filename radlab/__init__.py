"""radlab: deep learning in radiology, taught in notebooks.

Notebooks use ``import radlab as rl`` and call ``rl.show(...)``,
``rl.data.sample(...)``, ``rl.budget(...)``.

The package is layered, and the folders show it:

* computation, which never imports a widget: :mod:`radlab.env`,
  :mod:`radlab.imaging` (DICOM/NIfTI I/O, windowing, privacy),
  :mod:`radlab.data` (samples, synthetic phantoms, downloads, tf.data input),
  :mod:`radlab.plotting` (static figures), :mod:`radlab.exercises`;
* :mod:`radlab.widgets`, interactive views that compose those functions;
* the notebooks, which compose both.

Importing radlab has no side effects and imports neither TensorFlow nor
matplotlib: every public name below is resolved lazily on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from ._version import __version__

# name -> module that defines it. Resolved on first attribute access (PEP 562).
_LAZY = {
    # environment
    "setup_notebook": "radlab.env",
    "budget": "radlab.env",
    "is_quick": "radlab.env",
    "data_dir": "radlab.env",
    "device_info": "radlab.env",
    # imaging
    "Image": "radlab.imaging",
    "read_image": "radlab.imaging",
    "read_dicom": "radlab.imaging",
    "read_series": "radlab.imaging",
    "read_nifti": "radlab.imaging",
    "write_nifti": "radlab.imaging",
    "window": "radlab.imaging",
    "auto_window": "radlab.imaging",
    "WINDOW_PRESETS": "radlab.imaging",
    "deidentify": "radlab.imaging",
    "deidentify_folder": "radlab.imaging",
    "metadata": "radlab.imaging",
    # static plots and diagrams
    "plot_image": "radlab.plotting",
    "plot_grid": "radlab.plotting",
    "draw_network": "radlab.diagrams",
    "draw_neuron": "radlab.diagrams",
    "plot_activations": "radlab.diagrams",
    "plot_gradient_descent": "radlab.diagrams",
    "plot_history": "radlab.diagrams",
    "plot_depth_sweep": "radlab.diagrams",
    # models and training
    "describe": "radlab.models",
    "fit": "radlab.training",
    "Dashboard": "radlab.widgets.dashboard",
    # exercises
    "check": "radlab.exercises",
    # widgets
    "show": "radlab.widgets",
}
_SUBMODULES = frozenset({
    "activations", "classification", "cli", "convolution", "course", "data", "diagrams", "doctor", "env", "errors",
    "exercises", "experiments", "features", "imaging", "metrics", "models", "plotting", "toy",
    "training", "transfer", "widgets",
})

__all__ = ["__version__", *sorted(_LAZY), *sorted(_SUBMODULES)]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), _SUBMODULES)


if TYPE_CHECKING:  # pragma: no cover - for IDEs and type checkers only
    from . import data, errors, imaging, models, plotting, widgets  # noqa: F401
    from .env import budget, data_dir, device_info, is_quick, setup_notebook  # noqa: F401
    from .exercises import check  # noqa: F401
    from .models import describe  # noqa: F401
    from .training import fit  # noqa: F401
    from .widgets.dashboard import Dashboard  # noqa: F401
    from .imaging import (  # noqa: F401
        WINDOW_PRESETS, Image, auto_window, deidentify, deidentify_folder, metadata, read_dicom, read_image,
        read_nifti, read_series, window, write_nifti,
    )
    from .diagrams import (  # noqa: F401
        draw_network, draw_neuron, plot_activations, plot_depth_sweep, plot_gradient_descent,
        plot_history,
    )
    from .plotting import plot_grid, plot_image  # noqa: F401
    from .widgets import show  # noqa: F401
