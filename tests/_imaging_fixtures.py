"""Builders for small synthetic DICOM files used by the imaging tests.

Everything is written with pydicom into pytest's ``tmp_path``; the patient
identifiers are fake but look real, so the privacy tests can search for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

FAKE_NAME = "Lovelace^Ada^Q"
FAKE_ID = "MRN-0042-7731"
FAKE_BIRTH = "19361210"
FAKE_INSTITUTION = "St. Example Teaching Hospital"
FAKE_ADDRESS = "12 Harley Street, London"
FAKE_REFERRER = "House^Gregory"
FAKE_ACCESSION = "ACC-99812"


def make_dataset(
    hu: np.ndarray | None = None,
    *,
    shape: tuple[int, int] = (16, 16),
    z: float | None = 0.0,
    iop: tuple[float, ...] | None = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    position: tuple[float, float, float] | None = None,
    pixel_spacing: tuple[float, float] | None = (0.7, 0.8),
    slope: float = 1.0,
    intercept: float = -1024.0,
    instance: int | None = 1,
    series_uid: str | None = None,
    study_uid: str = "1.2.826.0.1.3680043.8.498.1",
    modality: str = "CT",
    photometric: str = "MONOCHROME2",
    bits_stored: int = 16,
    signed: bool = True,
    identifiers: bool = True,
    extra: dict[str, Any] | None = None,
) -> Dataset:
    """A single-frame image data set whose stored values give ``hu`` after rescale."""
    if hu is None:
        hu = np.zeros(shape, dtype=np.float32)
    stored = np.rint((np.asarray(hu, dtype=np.float64) - intercept) / slope)
    dtype = np.int16 if signed else np.uint16
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid or "1.2.826.0.1.3680043.8.498.2"
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.3"
    ds.Modality = modality
    ds.SeriesNumber = 3
    ds.SeriesDescription = "AXIAL 2.5 mm"
    if identifiers:
        ds.PatientName = FAKE_NAME
        ds.PatientID = FAKE_ID
        ds.PatientBirthDate = FAKE_BIRTH
        ds.PatientSex = "F"
        ds.PatientAge = "095Y"
        ds.PatientAddress = FAKE_ADDRESS
        ds.InstitutionName = FAKE_INSTITUTION
        ds.ReferringPhysicianName = FAKE_REFERRER
        ds.AccessionNumber = FAKE_ACCESSION
        ds.StudyDate = "20200115"
        ds.StudyTime = "101530"
        ds.DeviceSerialNumber = "SN-555-1212"
        ds.StationName = "CT-ROOM-3"
    if instance is not None:
        ds.InstanceNumber = instance
    if iop is not None:
        ds.ImageOrientationPatient = list(iop)
    if position is not None:
        ds.ImagePositionPatient = list(position)
    elif z is not None:
        ds.ImagePositionPatient = [-50.0, -60.0, float(z)]
    if pixel_spacing is not None:
        ds.PixelSpacing = list(pixel_spacing)
    ds.SliceThickness = 2.5
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    ds.set_pixel_data(stored.astype(dtype), photometric, bits_stored)  # new SOPInstanceUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    return ds


def write(ds: Dataset, path: Path) -> Path:
    """Write ``ds`` as a DICOM file (with preamble and file meta)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(
    folder: Path,
    z_positions: list[float],
    *,
    names: list[str] | None = None,
    shape: tuple[int, int] = (16, 16),
    **kwargs: Any,
) -> list[Path]:
    """One file per slice; slice ``i`` is filled with ``100 * i`` HU.

    ``names`` lets a test give the files names whose sort order differs
    from the slice order.
    """
    names = names or [f"slice_{i:03d}.dcm" for i in range(len(z_positions))]
    paths = []
    for i, (z, name) in enumerate(zip(z_positions, names)):
        hu = np.full(shape, 100.0 * i, dtype=np.float32)
        hu[0, 0] = -1000.0  # one air pixel, so each slice has a range
        ds = make_dataset(hu, z=z, instance=i + 1, shape=shape, **kwargs)
        paths.append(write(ds, folder / name))
    return paths


def bundled(name: str) -> str:
    """Path of a file from pydicom's own test data (never downloads)."""
    path = pydicom.data.get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not installed with pydicom"
    return path
