"""bench/medmnist_pneumonia.py end to end on files in the official PneumoniaMNIST format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radlab.data import write_synthetic_pneumoniamnist

BENCH = Path(__file__).resolve().parent.parent / "bench" / "medmnist_pneumonia.py"


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RADLAB_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          timeout=600, env=env)


def test_without_the_file_it_says_so_and_exits_0(tmp_path):
    done = _run(data_dir=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["skipped"] == "no data" and "--path" in report["hint"]


@pytest.mark.slow
def test_official_format_file_gives_the_report(tmp_path):
    path = write_synthetic_pneumoniamnist(tmp_path / "pneumoniamnist.npz",
                                          {"train": 240, "val": 80, "test": 80}, seed=3)
    done = _run("--path", str(path), "--quick", "--n-boot", "50", data_dir=tmp_path / "empty")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["n"] == {"train": 240, "val": 80, "test": 80}
    assert report["path"] == str(path)
    assert report["settings"]["model"] == "small_cnn"  # quick mode: the quick recipe
    for key in ("test_auc", "test_acc", "test_sensitivity", "test_specificity"):
        assert 0.0 <= report[key] <= 1.0, key
    low, high = report["test_auc_ci95"]
    assert low <= report["test_auc"] <= high
    assert report["train_time_s"] > 0 and report["peak_rss_mib"] > 0
    assert report["targets_apply"] is False  # a quick run is a smoke test, never a claim
    assert set(report["met"]) == {"test_auc", "test_acc", "train_time"}


def test_a_file_in_the_wrong_format_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "pneumoniamnist.npz"
    np.savez(bad, train_images=np.zeros((4, 28, 28), np.uint8))  # labels and other splits missing
    done = _run("--path", str(bad), "--quick", data_dir=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"medmnist_pneumonia: {bad} lacks the arrays"), done.stderr[-2000:]
    assert "Traceback" not in done.stderr
