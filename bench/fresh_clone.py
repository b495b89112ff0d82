"""A newcomer's first run, timed: clone the repository, then only the README's commands.

1. ``git clone`` this repository into a temporary folder (committed state only);
2. ``make test`` there (creates ``.venv``, installs the kit, runs the whole suite);
3. ``make lab`` there, until JupyterLab answers ``/api/status`` and serves ``/lab``.

Reports the seconds from the start of the clone to a passing ``make test`` and to
JupyterLab answering, the pytest summary line, and where pip got its wheels (local
folders, mirrors, the cache size): with those the install is much faster than a first
install from PyPI on a newcomer's laptop, so the figure is a lower bound there. The clone (with its ``.venv``, ~2 GB) is deleted afterwards
unless ``--keep``.

The nested ``make test`` cannot recurse into another fresh clone: this script is not a
test (``make test`` never runs it), and it refuses to run inside a clone it made
(``RADLAB_FRESH_CLONE`` is set there). Started by make (``make bench`` runs every
script in bench/) it skips itself unless given ``--force``.

Prints one JSON document. No target: the figures are for the README and instructors.
Usage: python bench/fresh_clone.py [--keep] [--skip-test] [--timeout S] [--quick] [--force]
``--quick`` (from ``run_all.py --quick``) changes nothing: a clone is never quick.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import machine_info

REPO = Path(__file__).resolve().parents[1]
GUARD = "RADLAB_FRESH_CLONE"


def _clean_env(clone: Path) -> dict:
    """The environment of a newcomer's shell: no virtualenv, no make or radlab settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RADLAB_", "MAKE", "MFLAGS", "VIRTUAL_ENV", "PYTEST",
                                "JUPYTER", "MPLBACKEND", "PYTHONPATH", "CONDA_PREFIX"))}
    # Drop any activated virtualenv (e.g. this checkout's .venv/bin) from PATH.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not (Path(p) / "activate").exists())
    env[GUARD] = str(clone)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pip_sources() -> str:
    """Where pip gets wheels here (index, mirrors, local folders) and its cache size:
    what makes the install fast or slow, to read the timing against."""
    parts = []
    try:
        config = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                                capture_output=True, text=True, timeout=30).stdout
        parts += [line.split(".", 1)[-1] for line in config.splitlines()
                  if any(k in line for k in ("index-url", "find-links", "no-index"))]
        for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
            if os.environ.get(name):
                parts.append(f"{name}={os.environ[name]}")
        where = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True,
                               text=True, timeout=30).stdout.strip()
        size = sum(f.stat().st_size for f in Path(where).rglob("*") if f.is_file()) if where else 0
        parts.append(f"pip cache {size / 2**30:.1f} GiB")
    except (OSError, subprocess.SubprocessError, ValueError):
        parts.append("pip configuration unknown")
    return "; ".join(dict.fromkeys(parts)) or "PyPI, empty cache"


def _summary_line(log: str) -> str:
    for line in reversed(log.splitlines()):
        if " passed" in line or " failed" in line or " error" in line:
            return line.strip("= ").strip()
    return ""


def _wait_for_lab(port: int, token: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            for path in ("/api/status", "/lab"):
                request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                                 headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status != 200:
                        raise OSError(response.status)
            return True
        except OSError:
            time.sleep(0.5)
    return False


def _stop(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)  # make and the JupyterLab it started
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the clone (path in the JSON)")
    parser.add_argument("--skip-test", action="store_true",
                        help="only `make lab` (it installs the kit itself)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for make test")
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true",
                        help="run even from make (run_all.py --with-fresh-clone passes it)")
    args = parser.parse_args()
    skipped = None
    if os.environ.get(GUARD):
        skipped = f"already inside a fresh clone ({os.environ[GUARD]})"
    elif os.environ.get("MAKELEVEL") and not args.force:
        # `make bench` runs every bench/*.py; this one takes many minutes: only on request.
        skipped = ("run from make without --force; use python bench/fresh_clone.py or "
                   "bench/run_all.py --with-fresh-clone")
    if skipped:
        print(json.dumps({"bench": "fresh_clone", "skipped": skipped}))
        return

    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                           capture_output=True, text=True).stdout.strip()
    workdir = Path(tempfile.mkdtemp(prefix="radlab-fresh-clone-"))
    clone = workdir / "radlab"
    env = _clean_env(clone)
    result: dict = {"bench": "fresh_clone", "commit": commit,
                    "uncommitted_changes_left_out": bool(dirty), "pip_sources": _pip_sources()}
    logs = workdir / "logs"
    logs.mkdir()
    t0 = time.perf_counter()
    try:
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, env=env)
        result["clone_s"] = round(time.perf_counter() - t0, 1)

        if not args.skip_test:
            start = time.perf_counter()
            with open(logs / "make_test.log", "w") as log:
                try:
                    code = subprocess.run(["make", "test"], cwd=clone, env=env, stdout=log,
                                          stderr=subprocess.STDOUT, timeout=args.timeout).returncode
                except subprocess.TimeoutExpired:
                    code = "timeout"
            text = (logs / "make_test.log").read_text(errors="replace")
            result.update(make_test_s=round(time.perf_counter() - start, 1),
                          make_test_exit=code, make_test_passed=code == 0,
                          pytest_summary=_summary_line(text))
            if code == 0:
                result["clone_to_test_pass_s"] = round(time.perf_counter() - t0, 1)
            else:
                result["make_test_log_tail"] = text.strip().splitlines()[-15:]

        port, token = _free_port(), secrets.token_hex(16)
        lab_env = dict(env, JUPYTER_TOKEN=token, BROWSER="true")  # no browser window to open
        start = time.perf_counter()
        with open(logs / "make_lab.log", "w") as log:
            proc = subprocess.Popen(["make", "lab", f"PORT={port}"], cwd=clone, env=lab_env,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                answered = _wait_for_lab(port, token, proc, timeout=args.timeout)
                result.update(lab_answered=answered, make_lab_s=round(time.perf_counter() - start, 1),
                              clone_to_lab_answering_s=round(time.perf_counter() - t0, 1))
            finally:
                _stop(proc)
        if not answered:
            text = (logs / "make_lab.log").read_text(errors="replace")
            result["make_lab_log_tail"] = text.strip().splitlines()[-15:]
    finally:
        if args.keep:
            result["clone"] = str(clone)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    result["met"] = bool(result.get("lab_answered")) and (
        args.skip_test or bool(result.get("make_test_passed")))
    result["note"] = ("README commands only, in a clean environment. The install time depends on "
                      "where pip gets its wheels (pip_sources): from local folders, mirrors or a "
                      "warm cache it is far shorter than a first install from PyPI on a home "
                      "connection (TensorFlow alone is ~600 MB)")
    result["machine"] = machine_info("pip")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
