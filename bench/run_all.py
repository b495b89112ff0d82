"""Run every benchmark in bench/ and summarise them: one JSON document and a Markdown table.

Each ``bench/*.py`` script (not this one, ``fresh_clone.py`` or modules starting with
``_``) runs in its own process with this interpreter and prints one JSON document;
``--quick`` is passed on to each. ``--with-fresh-clone`` adds ``fresh_clone.py`` (a
clone of the repository, ``make test`` and ``make lab`` in it: many minutes).

Output:

* stdout: one JSON document with the machine, every script's JSON, and the table
  rows (metric, value, target, met);
* stderr: progress, and the table in Markdown;
* ``bench/README.md``: the table and the machine replace the text between the
  ``<!-- results:start -->`` and ``<!-- results:end -->`` markers (``--no-readme``
  leaves it alone);
* ``bench/results/run_all-<date>.json``: the JSON document (git-ignored).

Usage: python bench/run_all.py [--quick] [--with-fresh-clone] [--only NAME ...]
       [--timeout S] [--no-readme] [--from-json FILE]
``--from-json`` runs nothing: it rebuilds the table and the README section from a saved
document (e.g. after a change to how the table is written).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from _common import machine_info

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
RESULTS = BENCH / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"
#: Scripts that are not benchmarks of their own, or only run on request.
NOT_BENCHES = {"run_all.py", "fresh_clone.py"}
#: Extra runs of a script with other arguments, recorded as "<name><suffix>".
#: PneumoniaMNIST is not in this repository: without the file the plain run reports
#: {"skipped": "no data"}, and the synthetic run exercises the same recipe end to end.
EXTRA_RUNS = {"medmnist_pneumonia": [("_synthetic", ["--synthetic"])]}


def bench_scripts(only: list[str] | None, with_fresh_clone: bool) -> list[Path]:
    scripts = [p for p in sorted(BENCH.glob("*.py"))
               if not p.name.startswith("_") and p.name not in NOT_BENCHES]
    if with_fresh_clone:
        scripts.append(BENCH / "fresh_clone.py")
    if only:
        scripts = [p for p in scripts if p.stem in only or p.name in only]
    return scripts


def parse_json(stdout: str) -> dict:
    """The script's JSON document (tolerating stray lines printed before it)."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        start, end = stdout.find("{"), stdout.rfind("}")
        return json.loads(stdout[start:end + 1])


def run_script(path: Path, quick: bool, timeout: float, extra_args: list[str] | None = None) -> dict:
    cmd = [sys.executable, str(path), *(extra_args or [])] + (["--quick"] if quick else [])
    if path.name == "fresh_clone.py":
        cmd.append("--force")  # asked for explicitly (--with-fresh-clone), also under make
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=BENCH.parent)
    except subprocess.TimeoutExpired:
        return {"bench": path.stem, "error": f"timed out after {timeout:.0f} s"}
    seconds = round(time.perf_counter() - start, 1)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"bench": path.stem, "error": f"exit code {done.returncode}: " + " | ".join(tail),
                "script_s": seconds}
    try:
        result = parse_json(done.stdout)
    except (json.JSONDecodeError, ValueError):
        return {"bench": path.stem, "error": "printed no JSON document", "script_s": seconds}
    result["script_s"] = seconds
    return result


# -- table rows: (metric, value, target, met, note) -----------------------------------------
def _yes(flag) -> str:
    return "—" if flag is None else ("yes" if flag else "**no**")


def _rows_import_time(r):
    return [("`import radlab`, median (fresh interpreter)", f"{r['median_s'] * 1000:.0f} ms",
             f"<= {r['target_s'] * 1000:.0f} ms, TensorFlow not loaded", _yes(r["met"]),
             f"TensorFlow loaded: {r['tensorflow_loaded']}")]


def _rows_viewer_latency(r):
    res, t = r["results"], r["targets"]
    return [("Viewer: one window/level update, 512 x 512 (plain / with overlays)",
             f"{res['plain']['fast_ms']:.0f} / {res['overlays']['fast_ms']:.0f} ms; "
             f"{res['plain']['speedup']:.1f}x / {res['overlays']['speedup']:.1f}x faster than a re-plot",
             f"<= {t['fast_ms_max']:.0f} ms and >= {t['speedup_min']:.0f}x", _yes(r["met"]),
             f"on CPU time: {_yes(r.get('met_on_cpu_time'))} "
             f"({res['plain']['fast_cpu_ms']:.0f} / {res['overlays']['fast_cpu_ms']:.0f} ms)")]


def _rows_synthetic_speed(r):
    chest = r["chest_per_s"]["64"]
    return [("Synthetic chest phantoms, 64 x 64 with masks", f"{chest['per_s']:,.0f} /s",
             f">= {r['target_chest_64_per_s']:,.0f} /s", _yes(r["met"]),
             f"per CPU-second: {chest['per_cpu_s']:,.0f} /s ({_yes(r.get('met_per_cpu_s'))})")]


def _rows_dashboard_overhead(r):
    return [("Training time with the dashboard / without (widget, text)",
             f"{r['ratio_widget']:.3f}, {r['ratio_text']:.3f}", f"<= {r['target_ratio']}",
             _yes(r["met"]), f"time inside the dashboard's hooks: "
                             f"{r['callback_share_widget'] * 100:.1f} % of fit")]


def _rows_train_throughput(r):
    ips = r["images_per_s"]
    return [("Training images/s, rl.fit / model.fit", f"{r['ratio']:.2f} "
             f"({ips['rl.fit']:,.0f} vs {ips['model.fit']:,.0f} images/s)",
             f">= {r['target_ratio']}", _yes(r["met"]), "")]


def _rows_notebook_timings(r):
    t = r["targets"]
    rows = [("All notebooks in quick mode, total", f"{r['quick_total_s']:.0f} s",
             f"<= {t['quick_total_s_max']:.0f} s", _yes(r["met"]),
             "" if r["all_ran_without_error"] else "a notebook failed: see JSON")]
    for name, runs in r["notebooks"].items():
        quick = runs["quick"]
        value = ", ".join(
            f"{run['seconds']:.0f} s {mode}" if run["status"] == "ok"
            else f"{mode} failed after {run['seconds']:.0f} s" for mode, run in runs.items())
        failed = [f"{mode}: {run.get('error', run['status'])}" for mode, run in runs.items()
                  if run["status"] != "ok"]
        rows.append((f"Notebook `{name}`", value, f"quick <= {t['quick_each_s_max']:.0f} s",
                     _yes(quick["status"] == "ok" and quick["seconds"] <= t["quick_each_s_max"]),
                     "; ".join(failed)[:120]))
    return rows


def _wheel_source(pip_sources: str) -> str:
    local = any(k in pip_sources for k in ("file://", "find-links", "FIND_LINKS", "no-index"))
    return ("wheels from local folders/mirrors (see JSON): faster than a first install from PyPI"
            if local else pip_sources)


def _rows_fresh_clone(r):
    if r.get("skipped"):
        return [("Fresh clone", "skipped", "", "—", r["skipped"])]
    rows = [("Fresh clone -> `make test` passing", f"{r['clone_to_test_pass_s'] / 60:.1f} min"
             if r.get("clone_to_test_pass_s") else "failed", "passes", _yes(r.get("make_test_passed")),
             f"{r.get('pytest_summary', '')}; {_wheel_source(r.get('pip_sources', ''))}")]
    if "clone_to_lab_answering_s" in r:
        rows.append(("Fresh clone -> JupyterLab answering (`make lab`)",
                     f"{r['clone_to_lab_answering_s'] / 60:.1f} min" if r.get("lab_answered")
                     else "no answer", "answers", _yes(r.get("lab_answered")),
                     f"`make lab` alone: {r.get('make_lab_s', float('nan')):.0f} s"))
    return rows


def _rows_medmnist_pneumonia(r):
    if r.get("skipped"):
        return [("PneumoniaMNIST (official npz): test AUC / ACC, training time", "skipped: no data",
                 "AUC >= 0.96, ACC >= 0.88, <= 300 s", "—", r.get("hint", ""))]
    t = r["targets"]
    low, high = r["test_auc_ci95"]
    applies = r.get("targets_apply", True)
    met = r["met"]["test_auc"] and r["met"]["test_acc"] and r["met"]["train_time"]
    return [(f"{r['data']}: test AUC / ACC, training time",
             f"AUC {r['test_auc']:.3f} (95 % CI {low:.3f}-{high:.3f}) / ACC {r['test_acc']:.3f}, "
             f"{r['train_time_s']:.0f} s",
             f"AUC >= {t['test_auc_min']}, ACC >= {t['test_acc_min']}, <= {t['train_time_s_max']:.0f} s"
             + ("" if applies else " (official data only)"),
             _yes(met) if applies else "—",
             f"{r['epochs_run']} epochs, threshold: {r['threshold_rule']}; "
             f"peak RSS {r['peak_rss_mib']:.0f} MiB")]


def _rows_transfer_curve(r):
    by = {(row["method"], row["n_train"]): row["auc"] for row in r["rows"]}
    sizes = sorted({row["n_train"] for row in r["rows"]})
    value = "; ".join(f"{n}: {by[('scratch', n)]:.2f} / {max(by[('frozen', n)], by[('finetune', n)]):.2f}"
                      for n in sizes)
    return [("Data-efficiency curve, test AUC scratch / best transfer, per training-set size", value,
             "transfer ahead at 64 films (notebook 05's checks)", _yes(r.get("met")),
             f"{r['kind']} path, source AUC {r['source_auc']}; crossover at {r['crossover_n']} films; "
             f"{r['total_s']:.0f} s incl. source pretraining")]


ROWS: dict[str, Callable[[dict], list]] = {
    "import_time": _rows_import_time,
    "viewer_latency": _rows_viewer_latency,
    "synthetic_speed": _rows_synthetic_speed,
    "dashboard_overhead": _rows_dashboard_overhead,
    "train_throughput": _rows_train_throughput,
    "notebook_timings": _rows_notebook_timings,
    "fresh_clone": _rows_fresh_clone,
    "medmnist_pneumonia": _rows_medmnist_pneumonia,
    "medmnist_pneumonia_synthetic": _rows_medmnist_pneumonia,
    "transfer_curve": _rows_transfer_curve,
}


def _generic_rows(name: str, r: dict) -> list:
    targets = {k: v for k, v in r.items() if k.startswith("target")}
    return [(r.get("metric", name), "see JSON", json.dumps(targets) if targets else "",
             _yes(r.get("met")), "")]


def table_rows(name: str, result: dict) -> list[dict]:
    if "error" in result:
        rows = [(name, "error", "", "**no**", result["error"][:160])]
    else:
        try:
            rows = ROWS.get(name, lambda r: _generic_rows(name, r))(result)
        except (KeyError, TypeError, ValueError) as exc:  # a script changed its JSON
            rows = _generic_rows(name, result)
            rows[0] = rows[0][:4] + (f"summary failed: {exc!r}",)
    keys = ("metric", "value", "target", "met", "note")
    return [dict(zip(keys, row), bench=name) for row in rows]


def markdown(rows: list[dict]) -> str:
    lines = ["| bench | metric | value | target | met | note |", "|---|---|---|---|---|---|"]
    for row in rows:
        cells = [row["bench"], row["metric"], row["value"], row["target"], row["met"], row["note"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def machine_text(machine: dict, quick: bool, date: str) -> str:
    memory = f"{machine['memory_gib']} GiB RAM" if machine.get("memory_gib") else "RAM unknown"
    return (f"Measured {date} on {machine['cpu']} ({machine['cpus']} cores), {memory}, "
            f"load average {machine['load_average_1min']} at the start; Python "
            f"{machine['python']}, TensorFlow {machine.get('tensorflow')}, Keras "
            f"{machine.get('keras')}, {machine['platform']}. "
            f"{'Quick (smoke) runs: `--quick`.' if quick else 'Full runs.'}")


def write_readme(table: str, machine: str, command: str) -> bool:
    """Replace the results section of bench/README.md; False when the markers are missing."""
    text = README.read_text() if README.exists() else ""
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    section = f"{START}\n{machine}\n\nCommand: `{command}`\n\n{table}\n{END}"
    README.write_text(head + section + tail)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--with-fresh-clone", action="store_true",
                        help="also time a fresh clone: make test and make lab (minutes)")
    parser.add_argument("--only", nargs="*", help="script names to run (e.g. import_time)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per script")
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md as is")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="run nothing: rebuild the table (and README) from a saved run_all JSON")
    args = parser.parse_args()

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        date, machine, results = saved["date"], saved["machine"], saved["results"]
        args.quick = saved["quick"]
        args.with_fresh_clone = "fresh_clone" in results
    else:
        date = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        machine = machine_info("tensorflow", "keras", "numpy", "jupyterlab", "ipywidgets")
        results = {}
        for path in bench_scripts(args.only, args.with_fresh_clone):
            for suffix, extra in [("", []), *EXTRA_RUNS.get(path.stem, [])]:
                label = f"{path.name} {' '.join(extra)}".strip()
                print(f"== {label}{' --quick' if args.quick else ''}", file=sys.stderr, flush=True)
                result = run_script(path, args.quick, args.timeout, extra)
                error = f", {result['error']}" if "error" in result else ""
                print(f"   {result.get('script_s', '?')} s{error}", file=sys.stderr, flush=True)
                results[path.stem + suffix] = result
    rows = [row for name, result in results.items() for row in table_rows(name, result)]

    table = markdown(rows)
    command = ".venv/bin/python bench/run_all.py" + " --quick" * args.quick + \
        " --with-fresh-clone" * args.with_fresh_clone
    document = {
        "bench": "run_all",
        "date": date,
        "quick": args.quick,
        "machine": machine,
        "table": rows,
        "all_met": all(row["met"] == "yes" for row in rows if row["met"] != "—"),
        "results": results,
    }
    if not args.from_json:
        RESULTS.mkdir(exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"run_all-{stamp}.json").write_text(json.dumps(document, indent=2))
    if not args.no_readme and not args.only:
        if not write_readme(table, machine_text(machine, args.quick, date), command):
            print(f"(no results markers in {README}; not written)", file=sys.stderr)
    print("\n" + table + "\n", file=sys.stderr)
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
