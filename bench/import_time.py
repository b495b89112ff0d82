"""How long does ``import radlab`` take in a fresh interpreter, and does it load TensorFlow?

Prints one JSON document. Target: median <= 0.3 s, TensorFlow not loaded.
Usage: python bench/import_time.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from _common import machine_info
PROBE = (
    "import time, sys, json; t = time.perf_counter(); import radlab; "
    "dt = time.perf_counter() - t; "
    "print(json.dumps({'seconds': dt, 'tensorflow': 'tensorflow' in sys.modules, "
    "'keras': 'keras' in sys.modules, 'matplotlib': 'matplotlib' in sys.modules, "
    "'modules_added': len(sys.modules)}))"
)
BASELINE = "import time, json; t = time.perf_counter(); import numpy; print(json.dumps({'seconds': time.perf_counter() - t}))"


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 runs")
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    _run(PROBE)  # warm the file-system cache
    samples = [_run(PROBE) for _ in range(runs)]
    numpy_alone = [_run(BASELINE)["seconds"] for _ in range(runs)]
    median = statistics.median(s["seconds"] for s in samples)
    result = {
        "bench": "import_time",
        "metric": "median seconds of `import radlab` in a fresh interpreter",
        "median_s": round(median, 4),
        "min_s": round(min(s["seconds"] for s in samples), 4),
        "numpy_alone_median_s": round(statistics.median(numpy_alone), 4),
        "runs": runs,
        "tensorflow_loaded": any(s["tensorflow"] for s in samples),
        "keras_loaded": any(s["keras"] for s in samples),
        "matplotlib_loaded": any(s["matplotlib"] for s in samples),
        "target_s": 0.3,
        "met": median <= 0.3 and not any(s["tensorflow"] for s in samples),
        "machine": machine_info("numpy"),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
