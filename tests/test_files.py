"""Atomic writes: complete files only, and readable like any other new file."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from radlab._files import atomic_output, default_file_mode


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_output_publishes_with_ordinary_permissions(tmp_path, umask_022):
    dest = tmp_path / "model.keras"
    with atomic_output(dest, suffix=".keras") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".keras") and tmp != dest
        tmp.write_bytes(b"complete")
    assert dest.read_bytes() == b"complete"
    # mkstemp's own 0600 would hide a shared data folder's files from the other users
    assert _mode(dest) == 0o644 == default_file_mode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_atomic_output_leaves_the_old_file_on_failure(tmp_path):
    dest = tmp_path / "volume.nii.gz"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(dest, suffix=".nii.gz") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["volume.nii.gz"]


def test_default_file_mode_follows_the_umask_and_restores_it():
    old = os.umask(0o077)
    try:
        assert default_file_mode() == 0o600
        assert os.umask(0o077) == 0o077  # unchanged by the call
    finally:
        os.umask(old)


def test_saved_nifti_is_readable_by_others(tmp_path, umask_022):
    import radlab as rl

    image = rl.Image(np.zeros((4, 5, 6), dtype=np.int16), spacing=(2.0, 1.0, 1.0))
    path = rl.write_nifti(image, tmp_path / "ct.nii.gz")
    assert _mode(path) == 0o644
