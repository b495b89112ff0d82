"""De-identification (PS3.15 Annex E basic profile) and masked metadata tables."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.datadict import keyword_dict
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from _imaging_fixtures import (
    FAKE_ACCESSION, FAKE_ADDRESS, FAKE_BIRTH, FAKE_ID, FAKE_INSTITUTION, FAKE_NAME,
    FAKE_REFERRER, bundled, make_dataset, write, write_series,
)
from radlab.imaging import deidentify, metadata, read_dicom, read_series
from radlab.imaging.privacy import ANNEX_E_ACTIONS, MetadataTable, deidentify_folder

SECRETS = (FAKE_NAME, "Lovelace", FAKE_ID, FAKE_BIRTH, FAKE_INSTITUTION, FAKE_ADDRESS,
           FAKE_REFERRER, FAKE_ACCESSION, "SN-555-1212", "CT-ROOM-3")


def _rich_dataset() -> Dataset:
    """A data set with identifiers at the top level and inside sequences."""
    ds = make_dataset(np.zeros((6, 6)))
    ds.OperatorsName = "Curie^Marie"
    ds.OtherPatientIDs = "OLD-ID-1"
    ds.ImageComments = f"follow-up for {FAKE_NAME}"
    observer = Dataset()
    observer.VerifyingObserverName = "Roentgen^Wilhelm"
    observer.VerificationDateTime = "20200115101530"
    ds.VerifyingObserverSequence = Sequence([observer])
    source = Dataset()
    source.ReferencedSOPClassUID = ds.SOPClassUID
    source.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.8.498.777"
    ds.SourceImageSequence = Sequence([source])
    ds.add_new(0x00091001, "LO", f"private copy of {FAKE_NAME}")
    ds.PatientWeight = 61.5
    return ds


def test_action_table_is_curated_and_known_to_pydicom():
    assert len(ANNEX_E_ACTIONS) >= 100
    unknown = [k for k in ANNEX_E_ACTIONS if k not in keyword_dict]
    assert not unknown
    for keyword in ("PatientAddress", "InstitutionName", "DeviceSerialNumber",
                    "AccessionNumber", "OtherPatientIDs", "RequestAttributesSequence"):
        assert keyword in ANNEX_E_ACTIONS


def test_deidentify_removes_identifiers_and_returns_a_copy():
    ds = _rich_dataset()
    before = str(ds)
    clean = deidentify(ds, salt="test")
    assert str(ds) == before  # the input is untouched
    text = str(clean)
    for secret in (*SECRETS, "Curie", "Roentgen", "OLD-ID-1", "private copy"):
        assert secret not in text, secret
    assert str(clean.PatientName) == "ANONYMOUS"
    assert clean.PatientID.startswith("ANON-") and clean.PatientID != FAKE_ID
    assert clean.PatientBirthDate == "" and clean.AccessionNumber == ""
    assert "InstitutionName" not in clean and "PatientAddress" not in clean
    assert clean.StudyDate == "" and clean.StudyTime == ""
    assert clean.VerifyingObserverSequence[0].VerifyingObserverName == ""
    assert not any(elem.tag.is_private for elem in clean.iterall())
    # Retain Patient Characteristics: sex, weight kept; age over 89 grouped
    assert clean.PatientSex == "F" and float(clean.PatientWeight) == 61.5
    assert clean.PatientAge == "090Y"
    assert clean.PatientIdentityRemoved == "YES"
    assert "Basic Application Confidentiality Profile" in clean.DeidentificationMethod
    assert all(len(value) <= 64 for value in clean.DeidentificationMethod)  # LO limit
    codes = [item.CodeValue for item in clean.DeidentificationMethodCodeSequence]
    assert "113100" in codes and "113108" in codes
    assert clean.LongitudinalTemporalInformationModified == "REMOVED"
    # the pixels are unchanged
    np.testing.assert_array_equal(clean.pixel_array, ds.pixel_array)


def test_uids_are_replaced_consistently():
    a = make_dataset(series_uid="1.2.3.4.5.6")
    b = make_dataset(series_uid="1.2.3.4.5.6")
    clean_a, clean_b = deidentify(a, salt="s1"), deidentify(b, salt="s1")
    assert clean_a.SeriesInstanceUID == clean_b.SeriesInstanceUID != "1.2.3.4.5.6"
    assert clean_a.StudyInstanceUID == clean_b.StudyInstanceUID != a.StudyInstanceUID
    assert clean_a.SOPInstanceUID != clean_b.SOPInstanceUID
    assert clean_a.SOPInstanceUID != a.SOPInstanceUID
    assert clean_a.file_meta.MediaStorageSOPInstanceUID == clean_a.SOPInstanceUID
    assert clean_a.SOPClassUID == a.SOPClassUID  # registered UIDs stay
    assert clean_a.PatientID == clean_b.PatientID  # same patient, same pseudonym
    other = deidentify(a, salt="s2")
    assert other.SeriesInstanceUID != clean_a.SeriesInstanceUID
    assert other.PatientID != clean_a.PatientID
    nested = deidentify(_rich_dataset(), salt="s1").SourceImageSequence[0]
    assert nested.ReferencedSOPInstanceUID != "1.2.826.0.1.3680043.8.498.777"
    kept = deidentify(a, keep_uids=True)
    assert kept.SOPInstanceUID == a.SOPInstanceUID
    assert "113110" in [item.CodeValue for item in kept.DeidentificationMethodCodeSequence]


def test_date_shift_keeps_intervals():
    ds = _rich_dataset()
    clean = deidentify(ds, date_shift_days=-20, salt="x")
    assert clean.StudyDate == "20191226" and clean.StudyTime == "101530"
    assert clean.VerifyingObserverSequence[0].VerificationDateTime == "20191226101530"
    assert clean.PatientBirthDate == ""  # birth dates are never kept
    assert clean.LongitudinalTemporalInformationModified == "MODIFIED"


def test_private_tags_can_be_kept():
    clean = deidentify(_rich_dataset(), remove_private=False)
    assert any(elem.tag.is_private for elem in clean)
    assert "private tags KEPT" in clean.DeidentificationMethod


def test_deidentify_a_bundled_file_by_path():
    path = bundled("CT_small.dcm")
    original = pydicom.dcmread(path)
    clean = deidentify(path)
    assert str(clean.PatientName) == "ANONYMOUS"
    assert str(original.PatientName) not in str(clean)
    assert not any(elem.tag.is_private for elem in clean)
    assert clean.StudyInstanceUID != original.StudyInstanceUID


def test_burned_in_annotation_warns():
    ds = make_dataset(extra={"BurnedInAnnotation": "YES"})
    with pytest.warns(UserWarning, match="burned-in"):
        deidentify(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deidentify(make_dataset(extra={"BurnedInAnnotation": "NO"}))


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_deidentify_folder_writes_clean_copies_and_never_touches_the_source(tmp_path):
    src = tmp_path / "Lovelace_Ada"
    write_series(src, [0.0, 2.0, 4.0])
    (src / "readme.txt").write_text("exported for Ada Lovelace")
    before = _digest(src)
    dst = tmp_path / "clean"
    with pytest.warns(UserWarning, match="not DICOM"):
        written = deidentify_folder(src, dst, salt="k")
    assert _digest(src) == before
    assert len(written) == 3 and all(p.is_file() and dst in p.parents for p in written)
    assert not [p for p in dst.rglob("*") if p.name.startswith(".tmp")]
    assert all("Lovelace" not in str(p.relative_to(dst)) for p in written)  # new names
    for path in written:
        assert FAKE_NAME.encode() not in path.read_bytes()
        assert FAKE_ID.encode() not in path.read_bytes()
    # the copies still form one series, read back in the right order
    assert len({p.parent for p in written}) == 1
    volume = read_series(written[0].parent)
    np.testing.assert_array_equal(volume.array[:, 5, 5], [0.0, 100.0, 200.0])


def test_deidentify_folder_refuses_overlapping_folders(tmp_path):
    write_series(tmp_path / "src", [0.0])
    with pytest.raises(ValueError, match="overlaps"):
        deidentify_folder(tmp_path / "src", tmp_path / "src" / "clean")
    with pytest.raises(ValueError, match="overlaps"):
        deidentify_folder(tmp_path / "src", tmp_path / "src")


# ---------------------------------------------------------------------------
# metadata tables
# ---------------------------------------------------------------------------
def test_metadata_masks_identifiers_by_default(tmp_path):
    path = write(_rich_dataset(), tmp_path / "ct.dcm")
    table = metadata(path)
    assert isinstance(table, MetadataTable)
    text, html = str(table), table._repr_html_()
    for secret in SECRETS:
        assert secret not in text and secret not in html
    assert table.get("PatientName") == "*** hidden ***"
    assert table.get("PatientID") == "*** hidden ***"
    assert table.get("Modality") == "CT"
    assert table.get("RescaleIntercept") == "-1024.0"
    assert table.get("SOPClassUID") == "CT Image Storage"
    assert table.get("TransferSyntaxUID") == "Explicit VR Little Endian"
    keywords = [row[0] for row in table]
    teaching = {"Rows", "Columns", "BitsStored", "PixelSpacing", "ImagePositionPatient"}
    assert teaching <= set(keywords)
    assert all(len(row) == 3 and all(isinstance(c, str) for c in row) for row in table)


def test_metadata_shows_identifiers_when_asked():
    ds = _rich_dataset()
    table = metadata(ds, show_identifiers=True)
    assert FAKE_NAME in str(table) and FAKE_ID in table._repr_html_()
    assert "Lovelace" in table.get("PatientName")


def test_metadata_of_a_bundled_file_and_of_an_image():
    path = bundled("CT_small.dcm")
    name = str(pydicom.dcmread(path).PatientName)
    assert name and name not in str(metadata(path))
    table = metadata(read_dicom(path))
    assert table.get("units") == "HU" and table.get("modality") == "CT"
    assert name not in str(table)


def test_metadata_escapes_html():
    ds = make_dataset(extra={"SeriesDescription": "<b>bold</b>"})
    assert "&lt;b&gt;" in metadata(ds)._repr_html_()
    with pytest.raises(TypeError):
        metadata(42)
