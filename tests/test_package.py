"""The package root: fast, side-effect-free import and lazy public names."""

import json
import subprocess
import sys

import pytest

import radlab as rl


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_does_not_load_heavy_libraries():
    loaded = json.loads(
        _fresh(
            "import sys, json, radlab; "
            "print(json.dumps([m for m in ('tensorflow', 'keras', 'matplotlib', 'pydicom', "
            "'ipywidgets', 'sklearn', 'skimage') if m in sys.modules]))"
        )
    )
    assert loaded == []


def test_import_changes_no_global_state():
    out = _fresh(
        "import matplotlib as mpl, numpy as np; before = dict(mpl.rcParams); "
        "np.random.seed(123); a = np.random.rand(); np.random.seed(123); "
        "import radlab; b = np.random.rand(); "
        "print(before == dict(mpl.rcParams), a == b)"
    )
    assert out == "True True"


def test_every_lazy_name_resolves():
    for name in rl._LAZY:
        assert getattr(rl, name) is not None, name
    assert set(rl._LAZY) <= set(dir(rl))


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rl.nope  # noqa: B018


def test_version_is_exposed():
    assert rl.__version__.count(".") >= 2


def test_every_data_name_resolves():
    for name in rl.data._LAZY:
        assert getattr(rl.data, name) is not None, name
