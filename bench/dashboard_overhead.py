"""How much does the live training dashboard slow ``rl.fit`` down?

Trains the same small CNN on synthetic chest radiographs with ``rl.fit`` without a
dashboard (A), with the notebook dashboard (B: ``mode="widget"``, which renders the
curves and updates the widgets exactly as in Jupyter; headless, the widget messages
simply have no listener) and with the terminal dashboard (C: one printed line per
epoch, sent to a buffer here). Runs are interleaved A B C A B C ... on one model
whose graph is traced once before timing, and the medians are compared.

Prints one JSON document. Target: median(B) / median(A) <= 1.03 (and C / A).
Wall-time ratios need a quiet machine; two measurements that do not:

* ``callback_share_widget``: in a fourth interleaved variant (T, like B), the time
  spent inside the dashboard's hooks divided by the fit time (median) - the
  dashboard's direct cost, an upper bound as the timing wrappers add their own;
* ``batch_hook_us``: the cost of one call of the per-batch hook, in microseconds.

Usage: python bench/dashboard_overhead.py [--repeats N] [--images N] [--epochs N] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
import timeit
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine_info

TARGET = 1.03


def training_data(n: int, size: int):
    """``n`` labelled synthetic chest radiographs ``(n, size, size, 1)``, and their source.

    radlab's phantoms when they are available, else random images labelled by their
    mean grey value (the benchmarks time training, not what is learnt).
    """
    import numpy as np

    try:
        from radlab.data import chest_phantoms

        phantoms = chest_phantoms(n, size=size, seed=0)
        return phantoms.x, phantoms.y, "radlab.data.chest_phantoms"
    except (ImportError, AttributeError):
        rng = np.random.default_rng(0)
        x = rng.random((n, size, size, 1), dtype=np.float32)
        return x, (x.mean(axis=(1, 2, 3)) > 0.5).astype("int64"), "random arrays"


def _hook_cost_us() -> float:
    """Microseconds per call of Dashboard.on_train_batch_end between refreshes."""
    from radlab.widgets.dashboard import Dashboard

    board = Dashboard(mode="widget", batch_size=32)
    board.set_params({"epochs": 1, "steps": 10**7, "verbose": 0})
    board.on_train_begin()
    board.on_epoch_begin(0)
    logs = {"loss": 0.5}
    n = 200_000
    hook = timeit.timeit(lambda: board.on_train_batch_end(5, logs), number=n)
    empty = timeit.timeit(lambda: None, number=n)
    return max(0.0, (hook - empty) / n * 1e6)


_HOOKS = ("on_train_begin", "on_epoch_begin", "on_train_batch_end", "on_test_begin",
          "on_epoch_end", "on_train_end")


def _timed_dashboard_class(spent: list):
    """A Dashboard whose hooks add the seconds they take to ``spent[0]``."""
    from radlab.widgets.dashboard import Dashboard

    def timed(base):
        def hook(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return base(self, *args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start
        return hook

    return type("TimedDashboard", (Dashboard,),
                {name: timed(getattr(Dashboard, name)) for name in _HOOKS})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--images", type=int, default=768, help="training images")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--size", type=int, default=64, help="image side, pixels")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.images, args.epochs = 2, 128, 2

    import keras
    import tensorflow as tf

    from radlab.models import small_cnn
    from radlab.training import fit  # rl.fit
    from radlab.widgets.dashboard import Dashboard

    n_val = max(32, args.images // 6)
    x, y, source = training_data(args.images + n_val, args.size)
    train, val = (x[:args.images], y[:args.images]), (x[args.images:], y[args.images:])

    keras.utils.set_random_seed(0)
    model = small_cnn((args.size, args.size, 1), n_classes=1)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    text_sink = io.StringIO()
    spent = [0.0]
    timed_class = _timed_dashboard_class(spent)
    boards = {"A": lambda: False, "B": lambda: Dashboard(mode="widget"),
              "C": lambda: Dashboard(mode="text"), "T": lambda: timed_class(mode="widget")}

    def run(variant: str) -> tuple[float, Dashboard | None]:
        spent[0] = 0.0
        start = time.perf_counter()
        board = boards[variant]()  # rl.fit builds its dashboard inside the call
        build = time.perf_counter() - start
        with contextlib.redirect_stdout(text_sink):
            start = time.perf_counter()
            fit(model, train, validation_data=val, epochs=args.epochs, batch_size=32,
                dashboard=board)
            seconds = time.perf_counter() - start + build
        spent[0] += build
        return seconds, board or None

    # Warm-up: trace the train/test graphs, import matplotlib, fill caches.
    for variant in "ABCT":
        run(variant)
    times: dict[str, list[float]] = {"A": [], "B": [], "C": [], "T": []}
    shares: list[float] = []
    last_board = None
    for _ in range(args.repeats):
        for variant in "ABCT":
            seconds, board = run(variant)
            times[variant].append(seconds)
            if variant == "B":
                last_board = board
            if variant == "T":
                shares.append(spent[0] / seconds)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio_widget = med["B"] / med["A"]
    ratio_text = med["C"] / med["A"]
    result = {
        "bench": "dashboard_overhead",
        "metric": "median rl.fit seconds with the dashboard / without it (interleaved runs)",
        "ratio_widget": round(ratio_widget, 4),
        "ratio_text": round(ratio_text, 4),
        "target_ratio": TARGET,
        "met": ratio_widget <= TARGET and ratio_text <= TARGET,
        "median_s": {"no_dashboard": round(med["A"], 3), "widget": round(med["B"], 3),
                     "text": round(med["C"], 3)},
        "runs_s": {k: [round(t, 3) for t in v] for k, v in times.items() if k != "T"},
        "callback_share_widget": round(statistics.median(shares), 4),
        "batch_hook_us": round(_hook_cost_us(), 3),
        "widget_refreshes_last_run": {
            "progress": last_board.state.progress_refreshes if last_board else None,
            "plots": last_board.state.plot_refreshes if last_board else None,
            "errors": last_board.state.errors if last_board else None,
        },
        "workload": {"model": "radlab.models.small_cnn (depth 3, width 16)",
                     "params": int(model.count_params()), "data": source,
                     "images": args.images, "validation_images": n_val,
                     "image_size_px": args.size, "epochs": args.epochs, "batch_size": 32,
                     "repeats": args.repeats, "quick": args.quick},
        "machine": {**machine_info("tensorflow", "keras"),
                    "gpus": len(tf.config.list_physical_devices("GPU"))},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
