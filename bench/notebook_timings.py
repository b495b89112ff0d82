"""How long does each notebook take to run, top to bottom, in quick mode and in full mode?

For instructors planning a workshop. Every notebook in ``notebooks/`` is executed in a
fresh kernel with nbclient (as ``jupyter nbconvert --execute`` does), once with
``RADLAB_QUICK=1`` (each notebook's small training budget, what ``make test`` runs)
and once without (the budget a learner gets). The seconds include the kernel's start.
Notebooks run one after the other, each in its own kernel; nothing is written back.

Prints one JSON document. Target: all notebooks together in quick mode <= 6 min on a
2-core CPU (and, as the README says, each well under a minute).

Usage: python bench/notebook_timings.py [--quick-only] [--quick] [--notebooks 00 01 ...]
       [--timeout S]
``--quick`` (as ``bench/run_all.py --quick`` passes it) runs quick mode only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _common import machine_info

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
TARGET_QUICK_TOTAL_S = 360.0
TARGET_QUICK_EACH_S = 60.0


def run_notebook(path: Path, quick: bool, timeout: float) -> dict:
    """Execute one notebook in a new kernel; seconds, status and the first error, if any."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    env = {"RADLAB_QUICK": "1" if quick else "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    result = {"mode": "quick" if quick else "full", "status": "ok"}
    start = time.perf_counter()
    try:
        with client.setup_kernel():
            result["kernel_start_s"] = round(time.perf_counter() - start, 2)
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    except CellTimeoutError as exc:
        result.update(status="timeout", error=str(exc).strip().splitlines()[-1][:300])
    except CellExecutionError as exc:
        result.update(status="error", error=f"cell {index + 1}: {exc.ename}: {exc.evalue}"[:300])
    except Exception as exc:  # noqa: BLE001 - one broken notebook must not stop the others
        result.update(status="error", error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    result["seconds"] = round(time.perf_counter() - start, 2)
    result["cells"] = sum(c.cell_type == "code" for c in nb.cells)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick-only", action="store_true", help="skip the full-mode runs")
    parser.add_argument("--quick", action="store_true", help="smoke run: quick mode only")
    parser.add_argument("--notebooks", nargs="*", default=None,
                        help="notebook numbers or names to run (default: all)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per cell")
    args = parser.parse_args()

    paths = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if any(p.name.startswith(n) for n in args.notebooks)]
    if not paths:
        sys.exit("no notebooks matched")
    modes = [True] if (args.quick or args.quick_only) else [True, False]

    notebooks: dict[str, dict] = {}
    for path in paths:
        entry = notebooks.setdefault(path.stem, {})
        for quick in modes:
            run = run_notebook(path, quick, args.timeout)
            entry[run.pop("mode")] = run
            print(f"{path.name:40s} {'quick' if quick else 'full':5s} {run['seconds']:7.1f} s "
                  f"{run['status']}", file=sys.stderr, flush=True)

    quick_runs = [n["quick"] for n in notebooks.values()]
    quick_total = sum(r["seconds"] for r in quick_runs)
    all_ok = all(r["status"] == "ok" for n in notebooks.values() for r in n.values())
    slowest = max(notebooks, key=lambda name: notebooks[name]["quick"]["seconds"])
    result = {
        "bench": "notebook_timings",
        "metric": "seconds to run each notebook top to bottom in a new kernel (nbclient), "
                  "quick mode (RADLAB_QUICK=1) and full mode",
        "notebooks": notebooks,
        "quick_total_s": round(quick_total, 1),
        "full_total_s": (round(sum(n["full"]["seconds"] for n in notebooks.values()), 1)
                         if False in modes else None),
        "quick_slowest": {"notebook": slowest,
                          "seconds": notebooks[slowest]["quick"]["seconds"]},
        "all_ran_without_error": all_ok,
        "targets": {"quick_total_s_max": TARGET_QUICK_TOTAL_S,
                    "quick_each_s_max": TARGET_QUICK_EACH_S},
        "met": all_ok and quick_total <= TARGET_QUICK_TOTAL_S,
        "met_each_quick": all(r["seconds"] <= TARGET_QUICK_EACH_S for r in quick_runs),
        "note": "one notebook at a time; on a shared machine (load average above the CPU "
                "count) the seconds overstate what a learner's laptop needs",
        "machine": machine_info("tensorflow", "keras", "nbclient", "ipykernel"),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
