"""radlab doctor: a table, and a non-zero exit when something is broken.

The probes read package metadata; tests replace those readers instead of
breaking the real environment.
"""

import pytest

from radlab import doctor
from radlab.cli import main as cli_main


def _versions(mapping):
    return lambda dist: mapping.get(dist)


GOOD = {"ipywidgets": "8.1.9", "jupyterlab_widgets": "3.0.17", "tensorflow": "2.21.0",
        "keras": "3.15.1", "ipympl": "0.10.0"}
GOOD_EXT = {"@jupyter-widgets/jupyterlab-manager": "5.0.16", "jupyter-matplotlib": "0.12.0"}


@pytest.fixture
def fake(monkeypatch):
    versions, exts = dict(GOOD), dict(GOOD_EXT)
    monkeypatch.setattr(doctor, "package_version", _versions(versions))
    monkeypatch.setattr(doctor, "labextension_version", _versions(exts))
    return versions, exts


def test_real_environment_is_healthy():
    results = {r.name: r for r in doctor.run_checks()}
    assert results["ipywidgets"].status == "OK", results["ipywidgets"]
    assert results["ipympl"].status == "OK", results["ipympl"]
    assert results["TensorFlow"].status == "OK"


def test_widget_version_mismatch_fails_with_model_not_found_hint(fake):
    versions, _ = fake
    versions["jupyterlab_widgets"] = "1.1.7"
    result = doctor.check_widgets()
    assert result.status == "FAIL"
    assert "model not found" in result.hint and "jupyterlab_widgets 3.x" in result.hint


def test_widget_lab_extension_missing_fails(fake):
    _, exts = fake
    del exts["@jupyter-widgets/jupyterlab-manager"]
    assert doctor.check_widgets().status == "FAIL"


def test_matching_widget_versions_pass(fake):
    assert doctor.check_widgets().status == "OK"


def test_ipympl_missing_or_unregistered(fake):
    versions, exts = fake
    del exts["jupyter-matplotlib"]
    assert doctor.check_ipympl().status == "FAIL"
    del versions["ipympl"]
    assert "not installed" in doctor.check_ipympl().detail


def test_keras_2_fails(fake):
    versions, _ = fake
    versions["keras"] = "2.15.0"
    result = doctor.check_tensorflow()
    assert result.status == "FAIL" and "Keras 3" in result.hint


def test_no_gpu_is_a_warning_with_a_hint(monkeypatch):
    monkeypatch.setattr("radlab.env.device_info", lambda: {
        "kind": "CPU", "name": "x86_64", "memory_gb": None, "cores": 2, "hint": "use Colab"})
    result = doctor.check_device()
    assert (result.status, result.hint) == ("WARN", "use Colab")


def test_unwritable_data_dir_fails(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RADLAB_DATA_DIR", str(blocker / "data"))  # works even as root
    result = doctor.check_data_dir()
    assert result.status == "FAIL" and "RADLAB_DATA_DIR" in result.hint
    assert str(blocker / "data") in result.detail


def test_data_dir_lists_cached_files(monkeypatch, tmp_path):
    monkeypatch.setenv("RADLAB_DATA_DIR", str(tmp_path))
    (tmp_path / "pneumoniamnist.npz").write_bytes(b"x" * 2048)
    result = doctor.check_data_dir()
    assert result.status == "OK" and "pneumoniamnist.npz" in result.detail


def test_crashing_probe_becomes_a_fail_row():
    def check_boom():
        raise RuntimeError("kaput")

    (row,) = doctor.run_checks([check_boom])
    assert row.status == "FAIL" and "kaput" in row.detail and row.name == "Boom"


def test_cli_exit_code_and_table(monkeypatch, capsys):
    bad = doctor.Check("ipywidgets", "FAIL", "mismatch", "fix it")
    monkeypatch.setattr(doctor, "PROBES", [lambda: doctor.Check("Python", "OK", "3.11"), lambda: bad])
    assert cli_main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "Check" in out and "FAIL" in out and "-> fix it" in out
    monkeypatch.setattr(doctor, "PROBES", [lambda: doctor.Check("Python", "OK", "3.11")])
    assert cli_main(["doctor"]) == 0


def test_colab_skips_jupyterlab_extension_checks(fake, monkeypatch):
    _, exts = fake
    exts.clear()  # Colab has no JupyterLab extensions at all
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    assert doctor.check_widgets().status == "OK"
    assert doctor.check_ipympl().status == "OK"
