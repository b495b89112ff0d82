"""Registry table and fetch(): downloads are faked (file:// URLs or a patched urlopen).

No test touches the network. Tests run as root in CI, where chmod does not stop
writes, so "not writable" is tested with a data directory under a regular file
and with a patched ``tempfile.mkstemp`` instead of chmod.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from radlab.data import download as dl
from radlab.data import registry
from radlab.data.registry import REGISTRY, DatasetInfo, cached_files, fetch, fetch_main
from radlab.errors import ChecksumError, DataDirError, DownloadError, OfflineError

PAYLOAD = os.urandom(3 * 1024 * 1024 + 123)  # > 3 read chunks
MD5 = hashlib.md5(PAYLOAD).hexdigest()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files a download could leave behind."""
    return sorted(p.name for p in folder.glob("*.part")) if folder.exists() else []


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "server" / "demo.npz"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


@pytest.fixture
def entry(source) -> DatasetInfo:
    return DatasetInfo(
        name="demo", url=source.as_uri(), filename="demo.npz", checksum=f"md5:{MD5}",
        size_bytes=len(PAYLOAD), licence="CC0", citation="-", description="test file",
    )


@pytest.fixture
def no_network(monkeypatch):
    """Make every URL open fail as it does without network; count the attempts."""
    calls = []

    def offline(request, *args, **kwargs):
        calls.append(getattr(request, "full_url", request))
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return calls


class FakeResponse:
    """A urlopen response that serves ``chunks`` and then raises ``error``, if any."""

    def __init__(self, chunks, error=None, length=None):
        self.chunks = list(chunks)
        self.error = error
        total = sum(len(c) for c in self.chunks) if length is None else length
        self.headers = {"Content-Length": str(total)}

    def read(self, n=-1):
        if self.chunks:
            return self.chunks.pop(0)
        if self.error is not None:
            raise self.error
        return b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def serve(monkeypatch, response):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: response)


# --------------------------------------------------------------------------- the table


def test_registry_lists_medmnist_sizes_and_weights():
    for flag in ("pneumoniamnist", "breastmnist", "chestmnist", "organamnist",
                 "organcmnist", "organsmnist"):
        for size in (28, 64, 128, 224):
            name = registry.medmnist_name(flag, size)
            assert name in REGISTRY
            assert REGISTRY[name].filename == ("%s.npz" % name)
    assert {"nodulemnist3d", "nodulemnist3d_64"} <= set(REGISTRY)
    assert "nodulemnist3d_128" not in REGISTRY  # 3D sets exist at 28 and 64 only
    weights = {n for n, i in REGISTRY.items() if i.kind == "weights"}
    assert weights == {"mobilenetv2_imagenet_notop", "efficientnetb0_imagenet_notop",
                       "resnet50_imagenet_notop"}


def test_registry_entries_are_consistent():
    for name, info in REGISTRY.items():
        assert info.name == name
        assert info.url.startswith("https://")
        # The URL serves the file under the same name that we store it as.
        assert info.url.split("?")[0].rsplit("/", 1)[1] == info.filename
        if info.checksum is None:
            assert info.size_bytes, name
        else:
            algorithm, digest = dl.parse_checksum(info.checksum)
            assert algorithm == "md5"  # what MedMNIST and Keras publish
        assert info.licence and info.citation and info.description
        if info.kind == "dataset":
            assert info.url.startswith("https://zenodo.org/records/10519652/files/")
            assert info.licence == "CC BY 4.0"
            assert "Scientific Data" in info.citation
    assert "ChestX-ray14" in REGISTRY["chestmnist"].description
    # Checksums from medmnist/info.py (spot checks, copied from that file).
    assert REGISTRY["pneumoniamnist"].checksum == "md5:28209eda62fecd6e6a2d98b1501bb15f"
    assert REGISTRY["chestmnist_224"].checksum == "md5:45bd33e6f06c3e8cdb481c74a89152aa"
    assert REGISTRY["nodulemnist3d_64"].checksum == "md5:c47c5b7d457bf6332200d2ea6d64ecd8"


def test_weights_match_keras_source():
    """URLs and hashes must be the ones Keras itself uses to download these files."""
    from keras.src.applications import efficientnet, mobilenet_v2, resnet

    eff = REGISTRY["efficientnetb0_imagenet_notop"]
    assert eff.url == efficientnet.BASE_WEIGHTS_PATH + "efficientnetb0_notop.h5"
    assert eff.checksum == "md5:" + efficientnet.WEIGHTS_HASHES["b0"][1]
    res = REGISTRY["resnet50_imagenet_notop"]
    assert res.url == resnet.BASE_WEIGHTS_PATH + res.filename
    assert res.checksum == "md5:" + resnet.WEIGHTS_HASHES["resnet50"][1]
    mob = REGISTRY["mobilenetv2_imagenet_notop"]
    assert mob.url == mobilenet_v2.BASE_WEIGHT_PATH + mob.filename
    assert mob.checksum is None  # Keras publishes no hash for it; checked by size


def test_registry_is_read_only_and_entries_validate():
    with pytest.raises(TypeError):
        REGISTRY["x"] = REGISTRY["pneumoniamnist"]  # type: ignore[index]
    info = REGISTRY["pneumoniamnist"]
    with pytest.raises(ValueError, match="md5"):
        replace(info, checksum="md5:1234")
    with pytest.raises(ValueError, match="checksum or a size"):
        replace(info, checksum=None, size_bytes=None)
    with pytest.raises(ValueError, match="kind"):
        replace(info, kind="model")


def test_unknown_name_suggests_close_matches(tmp_path):
    with pytest.raises(KeyError, match="pneumoniamnist"):
        fetch("pneumonia_mnist", data_dir=tmp_path)


def test_import_does_not_pull_in_tensorflow():
    code = ("import sys, radlab.data.registry, radlab.data.medmnist, radlab.data.pipeline;"
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules];"
            "sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


# ------------------------------------------------------------------------------ fetch


def test_fetch_downloads_verifies_and_renames(tmp_path, entry):
    data = tmp_path / "data"
    path = fetch(entry, data_dir=data, progress=False)
    assert path == data / "demo.npz"
    assert path.read_bytes() == PAYLOAD
    assert leftovers(data) == []
    assert (data / ".demo.npz.verified").is_file()  # next check is a stat, not a hash


def test_fetch_sha256_checksum(tmp_path, entry):
    path = fetch(replace(entry, checksum=f"sha256:{SHA256.upper()}"), data_dir=tmp_path,
                 progress=False)
    assert path.read_bytes() == PAYLOAD


def test_fetch_skips_a_verified_file_without_network(tmp_path, entry, no_network):
    data = tmp_path / "data"
    data.mkdir()
    (data / "demo.npz").write_bytes(PAYLOAD)
    assert fetch(entry, data_dir=data, progress=False) == data / "demo.npz"
    assert fetch(entry, data_dir=data, progress=False) == data / "demo.npz"  # via note
    assert no_network == []


def test_verified_note_does_not_hide_a_changed_file(tmp_path, entry, no_network):
    data = tmp_path / "data"
    path = data / "demo.npz"
    data.mkdir()
    path.write_bytes(PAYLOAD)
    assert dl.verify_file(path, entry.checksum)[0]
    path.write_bytes(b"x" * len(PAYLOAD))  # same size, new mtime and content
    os.utime(path, ns=(1, 1))
    ok, found = dl.verify_file(path, entry.checksum)
    assert not ok and found.startswith("md5:")


def test_fetch_replaces_a_corrupt_cached_file(tmp_path, entry, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "demo.npz").write_bytes(b"half a file")
    path = fetch(entry, data_dir=data, progress=True)
    assert path.read_bytes() == PAYLOAD
    assert "downloading it again" in capsys.readouterr().err


def test_force_downloads_again(tmp_path, entry, no_network):
    data = tmp_path / "data"
    data.mkdir()
    (data / "demo.npz").write_bytes(PAYLOAD)
    with pytest.raises(OfflineError):
        fetch(entry, data_dir=data, force=True, progress=False)
    assert no_network == [entry.url]
    assert (data / "demo.npz").read_bytes() == PAYLOAD  # the old copy is untouched


def test_checksum_mismatch_leaves_no_file(tmp_path, entry):
    data = tmp_path / "data"
    wrong = replace(entry, checksum="md5:" + "0" * 32)
    with pytest.raises(ChecksumError) as err:
        fetch(wrong, data_dir=data, progress=False)
    msg = str(err.value)
    assert "0" * 32 in msg and MD5 in msg  # expected and got
    assert "deleted" in msg
    assert not (data / "demo.npz").exists()
    assert leftovers(data) == []


def test_size_only_entry(tmp_path, entry):
    sized = replace(entry, checksum=None)
    assert fetch(sized, data_dir=tmp_path / "a", progress=False).stat().st_size == len(PAYLOAD)
    with pytest.raises(ChecksumError, match="bytes"):
        fetch(replace(sized, size_bytes=len(PAYLOAD) + 1), data_dir=tmp_path / "b",
              progress=False)
    assert list((tmp_path / "b").iterdir()) == []


def test_offline_error_says_what_to_download_and_where(tmp_path, no_network):
    data = tmp_path / "data"
    info = REGISTRY["pneumoniamnist"]
    with pytest.raises(OfflineError) as err:
        fetch("pneumoniamnist", data_dir=data, progress=False)
    msg = str(err.value)
    assert info.url in msg
    assert "'pneumoniamnist.npz'" in msg
    assert str(data.absolute() / "pneumoniamnist.npz") in msg
    assert "radlab fetch pneumoniamnist" in msg
    assert "28209eda62fecd6e6a2d98b1501bb15f" in msg
    assert leftovers(data) == [] and not (data / "pneumoniamnist.npz").exists()


def test_offline_on_timeout(tmp_path, entry, monkeypatch):
    def timeout(*a, **k):
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", timeout)
    with pytest.raises(OfflineError, match="timed out"):
        fetch(entry, data_dir=tmp_path, progress=False)


def test_http_error_is_not_reported_as_offline(tmp_path, entry, monkeypatch):
    def not_found(request, *a, **k):
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(DownloadError) as err:
        fetch(entry, data_dir=tmp_path, progress=False)
    assert not isinstance(err.value, OfflineError)
    assert "404" in str(err.value)
    assert leftovers(tmp_path) == []


def test_interrupted_download_leaves_nothing(tmp_path, entry, monkeypatch):
    serve(monkeypatch, FakeResponse([PAYLOAD[:1000], PAYLOAD[1000:5000]],
                                    error=ConnectionResetError(104, "Connection reset by peer"),
                                    length=len(PAYLOAD)))
    with pytest.raises(OfflineError, match="broke off"):
        fetch(entry, data_dir=tmp_path / "data", progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_ctrl_c_during_download_leaves_nothing(tmp_path, entry, monkeypatch):
    serve(monkeypatch, FakeResponse([PAYLOAD[:1000]], error=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        fetch(entry, data_dir=tmp_path / "data", progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_connection_closed_early_leaves_nothing(tmp_path, entry, monkeypatch):
    serve(monkeypatch, FakeResponse([PAYLOAD[:1000]], length=len(PAYLOAD)))
    with pytest.raises(OfflineError, match="closed after"):
        fetch(entry, data_dir=tmp_path / "data", progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_data_dir_under_a_regular_file(tmp_path, entry):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    with pytest.raises(DataDirError) as err:
        fetch(entry, data_dir=blocker / "data", progress=False)
    msg = str(err.value)
    assert str(blocker / "data") in msg and "RADLAB_DATA_DIR" in msg


def test_data_dir_not_writable(tmp_path, entry, monkeypatch):
    # chmod 0o500 does not stop root, so simulate the refusal the OS would give.
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(DataDirError, match="Permission denied") as err:
        fetch(entry, data_dir=tmp_path / "data", progress=False)
    assert "RADLAB_DATA_DIR" in str(err.value)


def test_read_only_data_dir_still_serves_verified_files(tmp_path, entry, monkeypatch,
                                                        no_network):
    (tmp_path / "demo.npz").write_bytes(PAYLOAD)
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(13, "Permission denied")))
    monkeypatch.setattr(dl, "_write_note", lambda *a: None)
    assert fetch(entry, data_dir=tmp_path, progress=False).read_bytes() == PAYLOAD


def test_default_data_dir_follows_environment(tmp_path, entry, monkeypatch):
    monkeypatch.setenv("RADLAB_DATA_DIR", str(tmp_path / "env_data"))
    assert fetch(entry, progress=False) == (tmp_path / "env_data" / "demo.npz").resolve()


def test_progress_is_throttled(tmp_path, entry, monkeypatch, capsys):
    chunks = [PAYLOAD[i:i + 1000] for i in range(0, len(PAYLOAD), 1000)]  # ~3000 chunks
    serve(monkeypatch, FakeResponse(chunks))
    fetch(entry, data_dir=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "Downloading" in err and str(tmp_path / "demo.npz") in err
    assert err.count("\r") < 20  # not one line per chunk
    assert re.search(r"3\.1 MB of 3\.1 MB \(100%\)", err)


def test_format_bytes():
    assert dl.format_bytes(None) == "size unknown"
    assert dl.format_bytes(999) == "999 B"
    assert dl.format_bytes(4_170_669) == "4.2 MB"
    assert dl.format_bytes(94_765_736) == "94.8 MB"


# ------------------------------------------------------------------------- CLI helpers


@pytest.fixture
def demo_registry(monkeypatch, entry):
    table = {"demo": entry, "demo_broken": replace(entry, name="demo_broken",
                                                   filename="broken.npz",
                                                   checksum="md5:" + "1" * 32)}
    monkeypatch.setattr(registry, "REGISTRY", table)
    return table


def test_cached_files(tmp_path, demo_registry):
    assert cached_files(tmp_path / "missing") == []
    fetch("demo", data_dir=tmp_path, progress=False)
    assert cached_files(tmp_path) == [("demo", tmp_path / "demo.npz", len(PAYLOAD))]


def test_fetch_main_success_and_summary(tmp_path, demo_registry, capsys):
    assert fetch_main(["demo"], data_dir=tmp_path, progress=False) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "1 of 1 files ready" in out
    assert (tmp_path / "demo.npz").is_file()


def test_fetch_main_reports_failures(tmp_path, demo_registry, capsys):
    assert fetch_main([], all_=True, data_dir=tmp_path, progress=False) == 1
    out = capsys.readouterr().out
    assert "FAILED  demo_broken: ChecksumError" in out
    assert "1 of 2 files ready" in out and "1 failed" in out


def test_fetch_main_patterns_usage_and_list(tmp_path, demo_registry, capsys):
    assert fetch_main(["demo*"], data_dir=tmp_path, progress=False) == 1  # both match
    assert fetch_main([], data_dir=tmp_path) == 2
    assert fetch_main(["nope"], data_dir=tmp_path) == 2
    assert "No file called 'nope'" in capsys.readouterr().err
    assert fetch_main([], list_=True, data_dir=tmp_path) == 0
    table = capsys.readouterr().out
    assert str(tmp_path) in table
    assert re.search(r"demo\s+dataset\s+3\.1 MB\s+CC0\s+cached", table)


def test_fetch_main_lists_the_real_registry(tmp_path, capsys):
    assert fetch_main([], list_=True, data_dir=tmp_path) == 0
    table = capsys.readouterr().out
    assert "chestmnist_224" in table and "resnet50_imagenet_notop" in table
    assert "94.8 MB" in table


def test_download_file_refuses_unverifiable_files(tmp_path, source):
    with pytest.raises(ValueError, match="neither a checksum nor a size"):
        dl.download_file(source.as_uri(), tmp_path / "x", checksum=None, progress=False)


def test_progress_line_without_total():
    stream = io.StringIO()
    bar = dl._Progress("x.npz", None, stream=stream, min_interval_s=0.0)
    bar.update(2_000_000)
    bar.close()
    assert "x.npz: 2.0 MB" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_data_readme_lists_every_registry_entry():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "data" / "README.md").read_text()
    missing = [name for name in REGISTRY if f"`{name}`" not in readme]
    assert not missing, f"data/README.md does not list {missing}"
