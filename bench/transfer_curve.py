"""Notebook 05's key figure as numbers: test AUC against training-set size, scratch vs transfer.

Runs :func:`radlab.transfer.data_efficiency` with the settings of notebook 05's full
mode: pneumonia on 64 px chest phantoms (pool 1,024, validation 400, test 1,000
films; seeds 21/22/23), sizes 16-512, 200 gradient steps per model, methods scratch,
frozen and finetune, on the backbone :func:`radlab.transfer.backbone_for_transfer`
picks (``--prefer``; default ``in-kit``, the offline path this machine can take).

By default the source model is pretrained in a temporary data directory, so the
reported time includes it (a cold start, as a first learner sees it); ``--cached``
uses the radlab data directory and its cache instead.

Prints one JSON document: the path taken, the source model's AUC and training time,
one row per (method, size) with the AUC and its 95 % bootstrap interval, the gain of
each transfer method over scratch per size, the smallest size from which scratch is
at least as good as the best transfer method (the crossover), and the two checks
notebook 05 asserts on the offline path (transfer ahead by > 0.02 AUC at 64 films;
largest gain at <= 64 films > 0.03).

Usage: python bench/transfer_curve.py [--quick] [--prefer auto|imagenet|in-kit] [--cached]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # radlab from this checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench modules
from _common import machine_info  # noqa: E402

FULL = {"pool": 1024, "val": 400, "test": 1000, "sizes": (16, 32, 64, 128, 256, 512), "steps": 200,
        "source_n": 3000, "source_steps": 400}
QUICK = {"pool": 256, "val": 200, "test": 400, "sizes": (16, 64), "steps": 60,
         "source_n": 1500, "source_steps": 250}
METHODS = ("scratch", "frozen", "finetune")
SMALL = 64  # "a department could label this in an afternoon" (notebook 05, section 4)


def run(settings: dict, *, prefer: str, data_dir: str | None, seed: int) -> dict:
    from radlab.data import chest_phantoms
    from radlab.transfer import backbone_for_transfer, data_efficiency

    pool = chest_phantoms(settings["pool"], size=64, finding="pneumonia", seed=21)
    val = chest_phantoms(settings["val"], size=64, finding="pneumonia", seed=22)
    test = chest_phantoms(settings["test"], size=64, finding="pneumonia", seed=23)

    start = time.perf_counter()
    chosen = backbone_for_transfer((64, 64, 1), prefer=prefer, data_dir=data_dir,
                                   n=settings["source_n"], steps=settings["source_steps"], verbose=False)
    backbone_s = time.perf_counter() - start
    start = time.perf_counter()
    curve = data_efficiency(pool.x, pool.y, val.x, val.y, test.x, test.y, features=chosen.features,
                            sizes=settings["sizes"], methods=METHODS, steps=settings["steps"],
                            seed=seed, verbose=False)
    curve_s = time.perf_counter() - start

    gains = {method: {n: round(g, 4) for n, g in curve.gain(method).items()} for method in ("frozen", "finetune")}
    best_transfer = {n: max(curve.auc("frozen", n), curve.auc("finetune", n)) for n in curve.sizes}
    crossover = next((n for n in curve.sizes if curve.auc("scratch", n) >= best_transfer[n]
                      and all(curve.auc("scratch", m) >= best_transfer[m] for m in curve.sizes if m > n)), None)
    few = [n for n in curve.sizes if n <= SMALL]
    checks = {}
    if SMALL in curve.sizes:
        checks["transfer_ahead_at_64_by_0.02"] = bool(best_transfer[SMALL] >= curve.auc("scratch", SMALL) + 0.02)
    if few:
        checks["largest_gain_at_64_or_fewer_over_0.03"] = bool(
            max(best_transfer[n] - curve.auc("scratch", n) for n in few) > 0.03)
    source = chosen.source
    return {
        "path_taken": chosen.path_taken,
        "kind": chosen.kind,
        "source_auc": None if source is None else round(source.source_auc, 4),
        "source_from_cache": None if source is None else source.from_cache,
        "source_train_s": None if source is None else round(source.train_seconds, 1),
        "backbone_s": round(backbone_s, 1),
        "curve_s": round(curve_s, 1),
        "rows": [{**row, **{k: round(row[k], 4) for k in ("auc", "ci_low", "ci_high")},
                  "seconds": round(row["seconds"], 1)} for row in curve.rows],
        "gain_over_scratch": gains,
        "crossover_n": crossover,
        "checks": checks,
        "checks_apply": chosen.kind == "in-kit",  # notebook 05 asserts them on the offline path only
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="notebook 05's quick-mode settings")
    parser.add_argument("--prefer", default="in-kit", choices=["auto", "imagenet", "in-kit"])
    parser.add_argument("--cached", action="store_true", help="use (and fill) the radlab data directory's cache")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    report = {"benchmark": "transfer_curve", "quick": args.quick,
              "settings": {**settings, "sizes": list(settings["sizes"]), "methods": list(METHODS),
                           "image_px": 64, "seed": args.seed}}
    start = time.perf_counter()
    if args.cached:
        report.update(run(settings, prefer=args.prefer, data_dir=None, seed=args.seed))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            report.update(run(settings, prefer=args.prefer, data_dir=tmp, seed=args.seed))
    report["total_s"] = round(time.perf_counter() - start, 1)
    report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["met"] = all(report["checks"].values()) if report["checks_apply"] else None
    report["machine"] = machine_info("tensorflow", "keras", "numpy")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
