"""How long does one window/level update of ``rl.show`` take, against a naive re-plot?

Times the Python-side work of ONE update of a 512 x 512 CT image, side by side:

* ``fast``: what ``rl.show`` does when a slider moves - window the slice into uint8,
  composite the overlays, ``set_data`` + ``draw_idle`` - followed by what ipympl
  does when the browser then asks for the frame (the ``draw`` message: Agg draw
  of the figure + ``get_diff_image``, the PNG of changed pixels it sends). A
  connected front end is simulated by sending the canvas the ``initialized`` and
  ``draw`` messages the browser sends; only the socket transfer and the
  browser's own decoding are left out.
* ``naive``: a re-plot, as ``clear_output()`` + a new figure would do it: new
  figure, ``plot_image`` (same window and overlays) and the PNG the inline
  backend makes (``savefig(..., bbox_inches="tight")``).

Both without and with overlays (a two-label mask, a Grad-CAM-like 7 x 7 heatmap
and three labelled boxes). Extra numbers: the per-update breakdown, ipympl's stock
PNG encoding (zlib level 6) in place of radlab's level 1, the static fallback
without ipympl, a 2x HiDPI screen, and a slice change in a volume.

Prints one JSON document. Targets: fast median <= 33 ms and >= 3x faster than naive.
Usage: python bench/viewer_latency.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
from _common import machine_info

TARGET_MS = 33.0
TARGET_SPEEDUP = 3.0


def _ct_image():
    """A real 512 x 512 CT slice from pydicom-data when installed, else a phantom."""
    from radlab.imaging.image import Image

    try:
        import data_store  # pydicom-data's files, on disk: no download
        import pydicom

        path = Path(data_store.__file__).parent / "data" / "693_UNCR.dcm"
        ds = pydicom.dcmread(path)
        hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        return Image(hu, spacing=tuple(float(s) for s in ds.PixelSpacing), units="HU", modality="CT",
                     window=(40.0, 400.0), source=str(path)), "pydicom-data 693_UNCR.dcm (real CT, 512x512)"
    except Exception:  # noqa: BLE001 - any problem: fall back to the phantom
        pass
    rng = np.random.default_rng(0)
    y, x = np.mgrid[-256:256, -256:256].astype(np.float32)
    hu = np.full((512, 512), -1000.0, np.float32)
    hu[(x / 220) ** 2 + (y / 160) ** 2 < 1] = 40.0
    for cx in (-90, 90):
        hu[((x - cx) / 70) ** 2 + (y / 100) ** 2 < 1] = -850.0
    hu[(x / 25) ** 2 + ((y - 110) / 25) ** 2 < 1] = 700.0
    hu += rng.normal(0, 15, hu.shape).astype(np.float32)
    return Image(hu, spacing=(0.7, 0.7), units="HU", modality="CT", window=(40.0, 400.0)), \
        "synthetic CT phantom 512x512 (pydicom-data not found)"


def _overlays(shape):
    height, width = shape
    y, x = np.mgrid[:height, :width]
    mask = np.zeros(shape, np.uint8)
    mask[((x - 180) / 60) ** 2 + ((y - 250) / 80) ** 2 < 1] = 1
    mask[((x - 330) / 60) ** 2 + ((y - 250) / 80) ** 2 < 1] = 2
    heatmap = np.random.default_rng(1).random((7, 7)).astype(np.float32)
    boxes = [(150, 200, 210, 300), (300, 200, 360, 300), (240, 330, 280, 370)]
    labels = ["nodule 0.91", "nodule 0.64", "node 0.35"]
    return {"mask": mask, "heatmap": heatmap, "boxes": boxes, "labels": labels}


def _drag(n):
    """A slider drag: the level moves in small steps, as consecutive updates do."""
    return [(-60.0 + 7.0 * (i % 30), 400.0) for i in range(n)]


def _median_ms(samples):
    return round(1e3 * statistics.median(samples), 2)


class _Clock:
    """Wall-clock and this thread's CPU time of each timed block.

    Other processes on a busy machine inflate wall time; CPU time is the work
    itself (all of it runs in this thread), i.e. the latency on an idle machine.
    """

    def __init__(self):
        self.wall, self.cpu = [], []

    def __enter__(self):
        self._t = (time.perf_counter(), time.thread_time())
        return self

    def __exit__(self, *exc):
        self.wall.append(time.perf_counter() - self._t[0])
        self.cpu.append(time.thread_time() - self._t[1])

    def medians(self):
        return _median_ms(self.wall), _median_ms(self.cpu)


def _connect_front_end(canvas):
    canvas._handle_message(canvas, {"type": "initialized"}, [])
    canvas._handle_message(canvas, {"type": "draw"}, [])


def _time_fast(image, overlays, windows, *, stock_png=False, dpi_ratio=1):
    """Median seconds per update with ipympl, and the breakdown."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.backends.backend_webagg_core import FigureCanvasWebAggCore

    import radlab as rl

    state = rl.show(image, **overlays).state
    canvas = state.figure.canvas
    if stock_png:
        canvas.get_diff_image = types.MethodType(FigureCanvasWebAggCore.get_diff_image, canvas)
    if dpi_ratio != 1:
        canvas._handle_message(canvas, {"type": "set_device_pixel_ratio", "device_pixel_ratio": dpi_ratio}, [])
    _connect_front_end(canvas)
    parts = {"agg_draw": [], "png": []}
    encode = canvas.get_diff_image
    agg_draw = types.MethodType(FigureCanvasAgg.draw, canvas)

    def timed_png():
        t = time.perf_counter()
        out = encode()
        parts["png"].append(time.perf_counter() - t)
        return out

    canvas.get_diff_image = timed_png
    total, prepare = _Clock(), _Clock()
    for center, width in windows[:3]:  # warm-up
        state.set_window(center, width)
        canvas._handle_message(canvas, {"type": "draw"}, [])
    parts["png"].clear()
    for center, width in windows:
        with total:
            with prepare:
                state.set_window(center, width)
            canvas._handle_message(canvas, {"type": "draw"}, [])
    for _ in range(min(len(windows), 10)):  # the Agg part alone
        t = time.perf_counter()
        agg_draw()
        parts["agg_draw"].append(time.perf_counter() - t)
    frame_px = list(canvas.get_renderer().buffer_rgba().shape[:2])
    wall, cpu = total.medians()
    return {
        "median_ms": wall,
        "cpu_ms": cpu,
        "breakdown_ms": {
            "window_and_composite": _median_ms(prepare.wall),
            "agg_draw": _median_ms(parts["agg_draw"]),
            "png_diff_frame": _median_ms(parts["png"]),
        },
        "frame_px": frame_px,
        "png_mode": canvas._current_image_mode,
    }


def _time_static(image, overlays, windows):
    import radlab as rl

    state = rl.show(image, interactive=False, **overlays).state
    for center, width in windows[:3]:
        state.set_window(center, width)
    clock = _Clock()
    for center, width in windows:
        with clock:
            state.set_window(center, width)
    return clock.medians()[0]


def _time_naive(image, overlays, windows):
    from radlab.plotting import plot_image

    def replot(center, width):
        fig = plot_image(image, (center, width), figsize=(5.12, 5.12), **overlays)
        with io.BytesIO() as png:
            fig.savefig(png, format="png", bbox_inches="tight")

    for center, width in windows[:2]:
        replot(center, width)
    clock = _Clock()
    for center, width in windows:
        with clock:
            replot(center, width)
    return clock.medians()


def _time_slice_change(image, overlays, n_slices, runs):
    import radlab as rl

    volume = np.repeat(np.asarray(image)[None], n_slices, axis=0)
    volume += np.arange(n_slices, dtype=np.float32)[:, None, None]  # every slice differs
    per_slice = {
        "mask": np.repeat(overlays["mask"][None], n_slices, axis=0),
        "heatmap": np.repeat(overlays["heatmap"][None], n_slices, axis=0),
        "boxes": [overlays["boxes"]] * n_slices,
        "labels": [overlays["labels"]] * n_slices,
    }
    state = rl.show(volume, window=(40.0, 400.0), **per_slice).state
    canvas = state.figure.canvas
    _connect_front_end(canvas)
    clock = _Clock()
    for i in range(runs + 2):
        with clock:
            state.set_slice((state.slice_index + 1) % n_slices)
            canvas._handle_message(canvas, {"type": "draw"}, [])
        if i < 2:  # warm-up
            clock.wall.pop(), clock.cpu.pop()
    return clock.medians()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="updates timed per case (default 30)")
    parser.add_argument("--quick", action="store_true", help="8 updates per case: a smoke run")
    args = parser.parse_args()
    runs = 8 if args.quick else max(5, args.runs)

    from radlab.widgets import _base

    if not _base.ipympl_available():
        print(json.dumps({"bench": "viewer_latency", "error": "ipympl is not installed"}))
        sys.exit(1)
    image, source = _ct_image()
    windows = _drag(runs)
    cases = {"plain": {}, "overlays": _overlays(image.shape)}
    load_before = os.getloadavg()
    results = {}
    for name, overlays in cases.items():
        fast = _time_fast(image, overlays, windows)
        naive_wall, naive_cpu = _time_naive(image, overlays, windows)
        results[name] = {
            "fast_ms": fast["median_ms"],
            "naive_replot_ms": naive_wall,
            "speedup": round(naive_wall / fast["median_ms"], 2),
            "fast_cpu_ms": fast["cpu_ms"],
            "naive_replot_cpu_ms": naive_cpu,
            "speedup_cpu": round(naive_cpu / fast["cpu_ms"], 2),
            "breakdown_ms": fast["breakdown_ms"],
            "frame_px": fast["frame_px"],
            "ipympl_stock_png_fast_ms": _time_fast(image, overlays, windows, stock_png=True)["median_ms"],
            "static_fallback_ms": _time_static(image, overlays, windows),
        }
    results["overlays"]["hidpi_2x_fast_ms"] = _time_fast(image, cases["overlays"], windows, dpi_ratio=2)["median_ms"]
    slice_ms = _time_slice_change(image, cases["overlays"], 8 if args.quick else 20, runs)
    met = all(r["fast_ms"] <= TARGET_MS and r["speedup"] >= TARGET_SPEEDUP
              for r in (results["plain"], results["overlays"]))
    met_cpu = all(r["fast_cpu_ms"] <= TARGET_MS and r["speedup_cpu"] >= TARGET_SPEEDUP
                  for r in (results["plain"], results["overlays"]))
    print(json.dumps({
        "bench": "viewer_latency",
        "metric": "median ms of Python-side work per window/level update of a 512x512 image "
                  "(slider value -> PNG frame ipympl sends), vs a naive re-plot, same run",
        "image": source,
        "runs": runs,
        "results": results,
        "slice_change_with_overlays_ms": slice_ms,
        "targets": {"fast_ms_max": TARGET_MS, "speedup_min": TARGET_SPEEDUP},
        "met": met,
        "met_on_cpu_time": met_cpu,
        "note": "fast/naive_ms are wall-clock medians (targets judged on these); *_cpu_ms are "
                "this thread's CPU time, the idle-machine latency when other processes compete",
        "machine": {**machine_info("matplotlib", "ipympl", "numpy"),
                    "load_avg_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]},
    }, indent=2))


if __name__ == "__main__":
    main()
