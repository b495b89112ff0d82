"""Real DICOM images that ship with pydicom and pydicom-data: always offline.

``rl.data.sample("chest_xray")`` gives a real radiograph in the first minutes
of a workshop, before any dataset is downloaded. The files are found with
:func:`pydicom.data.get_testdata_file` with ``download=False``: pydicom would
otherwise fetch a file missing from the local installation from GitHub, and
radlab never touches the network behind a learner's back. A missing file is a
:class:`~radlab.errors.ImageNotFoundError` that says which package to
install.

Which file is which was checked in the headers (Modality, BodyPartExamined,
StudyDescription, Rows/Columns) and by looking at the pixels; provenance is
quoted from pydicom's ``data/test_files/README.txt`` and the packages'
licence files (pydicom and pydicom-data are both MIT-licensed packages).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..errors import ImageNotFoundError
from ..imaging.dicom import read_dicom
from ..imaging.image import Image

__all__ = ["SAMPLES", "SampleInfo", "sample", "sample_path"]

_NEMA = "NEMA DICOM WG04 compression test set (ftp://medical.nema.org/MEDICAL/Dicom/DataSets/WG04)"
_README = (
    "pydicom's test_files/README.txt: 'I believe there is no restriction on using any of "
    "these files in this manner'"
)


@dataclass(frozen=True)
class SampleInfo:
    """What a sample is and where it comes from.

    Attributes
    ----------
    file : str
        File name as known to :func:`pydicom.data.get_testdata_file`.
    package : str
        The pip package that installs it (``pydicom`` or ``pydicom-data``).
    modality : str
        DICOM modality code.
    description : str
        What the image shows, for a learner.
    source : str
        Where the file originally comes from.
    licence : str
        Licence information, as found in the packages.
    """

    file: str
    package: str
    modality: str
    description: str
    source: str
    licence: str

    def __str__(self) -> str:
        return f"{self.description} [{self.modality}; {self.file} from {self.package}]"


SAMPLES: Mapping[str, SampleInfo] = MappingProxyType({
    "ct_small": SampleInfo(
        file="CT_small.dcm",
        package="pydicom",
        modality="CT",
        description=(
            "Axial chest CT slice at the level of a thoracic vertebra, 128x128 "
            "(downsized), 0.66 mm pixels, 5 mm slice; in HU. The crop holds no outside "
            "air: its darkest pixels are lung, about -850 HU."
        ),
        source=f"Downsized to 128x128 from 'CT1_UNC' of the {_NEMA}.",
        licence=f"Ships with pydicom (MIT licence). {_README}.",
    ),
    "mr_small": SampleInfo(
        file="MR_small.dcm",
        package="pydicom",
        modality="MR",
        description=(
            "Small 64x64 crop of a spin-echo MR slice (0.31 mm pixels); the anatomy is "
            "not recognisable at this size - good for looking at raw values and headers."
        ),
        source=f"Downsized to 64x64 from 'MR1_UNC' of the {_NEMA}.",
        licence=f"Ships with pydicom (MIT licence). {_README}.",
    ),
    "mr_abdomen": SampleInfo(
        file="MR-SIEMENS-DICOM-WithOverlays.dcm",
        package="pydicom-data",
        modality="MR",
        description=(
            "Axial T1 fat-saturated gradient-echo MR of the upper abdomen (liver, kidneys, "
            "spleen, spine) with a marked liver lesion; 484x484, 0.72 mm pixels, 4 mm slice "
            "(BodyPartExamined ABDOMEN, StudyDescription 'abdomen^liver', protocol "
            "t1_vibe_fs_tra_bh_dyn). The lesion outline is in an overlay plane, not in the pixels."
        ),
        source="GDCM test data (github.com/malaterre/GDCM), via pydicom-data.",
        licence=(
            "pydicom-data package: MIT. pydicom's README marks it 'from GDCM', whose datasets "
            "are used under GDCM's BSD-style licence (copyright Mathieu Malaterre, CREATIS)."
        ),
    ),
    "chest_xray": SampleInfo(
        file="RG1_UNCR.dcm",
        package="pydicom-data",
        modality="CR",
        description=(
            "PA chest radiograph (computed radiography, BodyPartExamined CHEST), 1955x1841, "
            "15-bit, stored MONOCHROME1 (inverted on reading). The header has no usable pixel "
            "spacing (PixelSpacing is 0\\0), so spacing is 1 pixel."
        ),
        source=f"'RG1' of the {_NEMA}; uncompressed version (J2KR/J2KI variants also ship).",
        licence=f"pydicom-data package: MIT. {_README}.",
    ),
    "leg_xray": SampleInfo(
        file="RG3_UNCR.dcm",
        package="pydicom-data",
        modality="CR",
        description=(
            "AP radiograph of the lower leg (BodyPartExamined EXTREMITY) with a non-ossifying "
            "fibroma of the distal tibia (the StudyDescription), 1760x1760, 10-bit, "
            "MONOCHROME1 (inverted on reading); no pixel spacing in the header."
        ),
        source=f"'RG3' of the {_NEMA}; uncompressed version.",
        licence=f"pydicom-data package: MIT. {_README}.",
    ),
    "head_ct": SampleInfo(
        file="693_UNCR.dcm",
        package="pydicom-data",
        modality="CT",
        description=(
            "Axial non-contrast head CT slice through the skull and brain, 512x512, 0.48 mm "
            "pixels, 5 mm slice, stored brain window 40/100 HU; outside the scan field is -3024 HU."
        ),
        source=(
            "pydicom regression file for issue #693. Its header names the patient "
            "'CQ500-CT-310', i.e. the CQ500 head-CT collection (qure.ai)."
        ),
        licence=(
            "pydicom-data package: MIT. No licence note for this file in pydicom's README; "
            "qure.ai publishes CQ500 under CC BY-NC-SA 4.0 (non-commercial, share-alike; "
            "this is not stated in the packages) - fine for teaching, check before "
            "commercial reuse."
        ),
    ),
    "shoulder_mr": SampleInfo(
        file="MR2_UNCR.dcm",
        package="pydicom-data",
        modality="MR",
        description=(
            "Oblique coronal T1-weighted spin-echo MR of the shoulder (StudyDescription "
            "SHOULDER, protocol T1W/SE/1024), 1024x1024, 0.20 mm pixels, 6 mm slice."
        ),
        source=f"'MR2' of the {_NEMA}; uncompressed version.",
        licence=f"pydicom-data package: MIT. {_README}.",
    ),
    "mr_volume": SampleInfo(
        file="emri_small.dcm",
        package="pydicom-data",
        modality="MR",
        description=(
            "Enhanced multi-frame T1 3D gradient-echo MR of the head (BodyPartExamined HEAD), "
            "10 frames of 64x64, 1.2 mm between slices; the in-plane spacing is not in the "
            "header (1 pixel). A small real volume for slice viewers."
        ),
        source=(
            "pydicom-data (no provenance entry in pydicom's README); already de-identified "
            "by its provider (gdcmanon, PatientIdentityRemoved YES)."
        ),
        licence="pydicom-data package: MIT.",
    ),
})


def sample_path(name: str) -> str:
    """Local path of a sample file (never downloads).

    Raises
    ------
    ValueError
        Unknown sample name.
    ImageNotFoundError
        The file is not installed (pydicom-data missing, or its copy fails
        pydicom's checksum).
    """
    from pydicom.data import get_testdata_file

    info = _info(name)
    path = get_testdata_file(info.file, download=False)
    if path is None:
        raise ImageNotFoundError(
            f"sample {name!r} needs {info.file} from the {info.package} package, which is not "
            f"installed here (or its copy fails pydicom's checksum). Fix: pip install "
            f"{info.package} - radlab never downloads sample files behind your back."
        )
    return str(path)


def _info(name: str) -> SampleInfo:
    try:
        return SAMPLES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown sample {name!r}; available: {', '.join(SAMPLES)}"
        ) from None


@functools.lru_cache(maxsize=None)
def _load(name: str) -> Image:
    return read_dicom(sample_path(name))


def sample(name: str) -> Image:
    """Load a real DICOM sample image that ships with pydicom / pydicom-data.

    Parameters
    ----------
    name : str
        One of :data:`SAMPLES`: ``"ct_small"``, ``"mr_small"``, ``"mr_abdomen"``,
        ``"chest_xray"``, ``"leg_xray"``, ``"head_ct"``, ``"shoulder_mr"``,
        ``"mr_volume"``.

    Returns
    -------
    Image
        Read with :func:`~radlab.imaging.dicom.read_dicom`: CT in HU,
        radiographs inverted to "higher = whiter", spacing in mm where the
        header has it. A fresh copy each call (files are read once per
        session), so changing it does not change the next call's result.

    Raises
    ------
    ValueError
        Unknown name; the message lists the available ones.
    ImageNotFoundError
        The file is not installed; the message says which package to install.

    Examples
    --------
    >>> ct = rl.data.sample("ct_small")   # doctest: +SKIP
    >>> ct.units, ct.shape                # doctest: +SKIP
    ('HU', (128, 128))
    """
    _info(name)
    image = _load(name)
    return replace(
        image,
        array=image.array.copy(),
        orientation=np.array(image.orientation, copy=True),
        meta={**copy.deepcopy(image.meta), "sample": name},
    )
