"""Patient privacy: de-identifying DICOM headers and showing metadata safely.

* :func:`deidentify` returns a de-identified **copy** of a data set, following
  the DICOM Basic Application Level Confidentiality Profile (PS3.15 Annex E,
  Table E.1-1) with the *Retain Patient Characteristics* option;
* :func:`deidentify_folder` writes de-identified copies of a folder of DICOM
  files, atomically, never touching the source;
* :func:`metadata` lists the header values that teach (modality, bit depth,
  spacing, rescale, window...) with patient identifiers masked by default, so a
  notebook can show a header on a projector without leaking a name.

De-identification here covers the *header*. Pixels can carry identifiers too
(text burned into ultrasound or scanned documents, faces in head CT/MR
renderings): :func:`deidentify` warns when the header says text is burned in,
but it never edits pixels.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import html
import os
import secrets
import warnings
from pathlib import Path
from typing import Any

from .._files import atomic_output
from ..errors import ImageReadError
from .dicom import _read_dataset, require_path
from .image import Image

__all__ = ["ANNEX_E_ACTIONS", "MetadataTable", "deidentify", "deidentify_folder", "metadata"]

# ---------------------------------------------------------------------------
# The action table
# ---------------------------------------------------------------------------
# Curated from DICOM PS3.15 Annex E, Table E.1-1 "Application Level
# Confidentiality Profile Attributes", column "Basic Prof." (actions: X remove,
# Z empty, D dummy value, U new UID). Three rules cover whole value
# representations, wherever an element sits (also inside sequences):
#   * every PN (person name) is emptied - PatientName gets the dummy "ANONYMOUS";
#   * every DA/DT/TM (date, date-time, time) is emptied, or shifted by
#     ``date_shift_days`` (Retain Longitudinal Temporal Information with
#     Modified Dates option);
#   * every UI (UID) that is not a UID registered in the DICOM standard (SOP
#     classes, transfer syntaxes, coding schemes) is replaced, consistently.
# The explicit entries below add the free-text, ID, address, device and
# institution attributes that are not PN/DA/DT/TM/UI.
#
# Kept on purpose (Retain Patient Characteristics option, code 113108):
# PatientSex, PatientAge (ages over 89 become "090Y", as HIPAA Safe Harbor
# asks), PatientSize, PatientWeight - they matter for teaching and for
# checking a model's bias, and they do not identify a person on their own.
# EthnicGroup, SmokingStatus and PregnancyStatus are removed all the same.
_X = "remove"
_Z = "empty"
ANNEX_E_ACTIONS: dict[str, str] = {
    # patient
    "PatientID": "pseudonym",  # Z in the profile; a salted hash keeps patients apart
    "PatientBirthDate": _Z,
    "PatientBirthTime": _X,
    "PatientBirthName": _X,
    "PatientBirthDateInAlternativeCalendar": _X,
    "PatientDeathDateInAlternativeCalendar": _X,
    "PatientAlternativeCalendar": _X,
    "OtherPatientIDs": _X,
    "OtherPatientIDsSequence": _X,
    "OtherPatientNames": _X,
    "IssuerOfPatientID": _X,
    "IssuerOfPatientIDQualifiersSequence": _X,
    "PatientAddress": _X,
    "PatientTelephoneNumbers": _X,
    "PatientTelecomInformation": _X,
    "PatientMotherBirthName": _X,
    "MilitaryRank": _X,
    "BranchOfService": _X,
    "MedicalRecordLocator": _X,
    "PatientInsurancePlanCodeSequence": _X,
    "InsurancePlanIdentification": _X,
    "PatientPrimaryLanguageCodeSequence": _X,
    "PatientReligiousPreference": _X,
    "CountryOfResidence": _X,
    "RegionOfResidence": _X,
    "EthnicGroup": _X,
    "Occupation": _X,
    "AdditionalPatientHistory": _X,
    "PatientComments": _X,
    "PatientState": _X,
    "PregnancyStatus": _X,
    "LastMenstrualDate": _X,
    "SmokingStatus": _X,
    "MedicalAlerts": _X,
    "Allergies": _X,
    "SpecialNeeds": _X,
    "PatientSexNeutered": _X,
    "ResponsiblePerson": _X,
    "ResponsiblePersonRole": _X,
    "ResponsibleOrganization": _X,
    "PersonAddress": _X,
    "PersonTelephoneNumbers": _X,
    "ReferencedPatientSequence": _X,
    "ReferencedPatientAliasSequence": _X,
    "PatientTransportArrangements": _X,
    "PreMedication": _X,
    # visit / admission / order
    "AccessionNumber": _Z,
    "IssuerOfAccessionNumberSequence": _X,
    "StudyID": _Z,
    "AdmissionID": _X,
    "AdmittingDiagnosesDescription": _X,
    "AdmittingDiagnosesCodeSequence": _X,
    "CurrentPatientLocation": _X,
    "PatientInstitutionResidence": _X,
    "ScheduledPatientInstitutionResidence": _X,
    "ServiceEpisodeID": _X,
    "ServiceEpisodeDescription": _X,
    "IssuerOfAdmissionIDSequence": _X,
    "VisitComments": _X,
    "RequestAttributesSequence": _X,
    "RequestedProcedureID": _X,
    "RequestedProcedureDescription": _X,
    "RequestedProcedureComments": _X,
    "RequestedProcedureLocation": _X,
    "ReasonForTheRequestedProcedure": _X,
    "ReasonForStudy": _X,
    "ImagingServiceRequestComments": _X,
    "PlacerOrderNumberImagingServiceRequest": _X,
    "FillerOrderNumberImagingServiceRequest": _X,
    "OrderEnteredBy": _X,
    "OrderEntererLocation": _X,
    "OrderCallbackPhoneNumber": _X,
    "OrderCallbackTelecomInformation": _X,
    "ScheduledProcedureStepID": _X,
    "ScheduledProcedureStepDescription": _X,
    "ScheduledProcedureStepLocation": _X,
    "ScheduledStationName": _X,
    "ScheduledStationAETitle": _X,
    "PerformedProcedureStepID": _X,
    "PerformedProcedureStepDescription": _X,
    "CommentsOnThePerformedProcedureStep": _X,
    "PerformedStationName": _X,
    "PerformedStationAETitle": _X,
    "PerformedLocation": _X,
    "ReferencedStudySequence": _X,
    "ReferencedPerformedProcedureStepSequence": _X,
    # institution and staff (names themselves are caught by the PN rule)
    "InstitutionName": _X,
    "InstitutionAddress": _X,
    "InstitutionalDepartmentName": _X,
    "InstitutionCodeSequence": _X,
    "InstitutionalDepartmentTypeCodeSequence": _X,
    "ReferringPhysicianAddress": _X,
    "ReferringPhysicianTelephoneNumbers": _X,
    "ReferringPhysicianIdentificationSequence": _X,
    "PhysiciansOfRecord": _X,
    "PhysiciansOfRecordIdentificationSequence": _X,
    "PerformingPhysicianName": _X,
    "PerformingPhysicianIdentificationSequence": _X,
    "NameOfPhysiciansReadingStudy": _X,
    "PhysiciansReadingStudyIdentificationSequence": _X,
    "OperatorsName": _X,
    "OperatorIdentificationSequence": _X,
    "RequestingPhysician": _X,
    "RequestingService": _X,
    "ScheduledPerformingPhysicianName": _X,
    "ConsultingPhysicianName": _X,
    "InterpretationAuthor": _X,
    "InterpretationRecorder": _X,
    "InterpretationApproverSequence": _X,
    "DistributionName": _X,
    "DistributionAddress": _X,
    "ReviewerName": _X,
    # device
    "StationName": _X,
    "StationAETitle": _X,
    "DeviceSerialNumber": _X,
    "DeviceDescription": _X,
    "DetectorID": _X,
    "PlateID": _X,
    "GantryID": _X,
    "CassetteID": _X,
    "GeneratorID": _X,
    "SourceSerialNumber": _X,
    "AcquisitionDeviceProcessingDescription": _X,
    # free text that may name people or places
    "StudyDescription": _X,
    "SeriesDescription": _X,
    "ProtocolName": _X,
    "DerivationDescription": _X,
    "ImageComments": _X,
    "FrameComments": _X,
    "AcquisitionComments": _X,
    "StudyComments": _X,
    "ResultsComments": _X,
    "ResultsID": _X,
    "TextString": _X,
    "TextComments": _X,
    "ContentSequence": _X,
    # containers that can hide the original values
    "DataSetTrailingPadding": _X,
    "DigitalSignaturesSequence": _X,
    "MACParametersSequence": _X,
    "EncryptedAttributesSequence": _X,
    "OriginalAttributesSequence": _X,
    "ModifiedAttributesSequence": _X,
}

#: Value written into PatientName.
DUMMY_NAME = "ANONYMOUS"
_MASK = "*** hidden ***"
# CID 7050 "De-identification Method" codes (DCM coding scheme).
_CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "characteristics": ("113108", "Retain Patient Characteristics Option"),
    "dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "uids": ("113110", "Retain UIDs Option"),
}
_FILE_META_DROP = ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                   "ReceivingApplicationEntityTitle", "SourcePresentationAddress")

_session_salt: str | None = None


def _salt(salt: str | None) -> str:
    """The caller's salt, or a random one made once per Python session."""
    global _session_salt
    if salt is not None:
        return salt
    if _session_salt is None:
        _session_salt = secrets.token_hex(16)
    return _session_salt


def _pseudonym(value: str, salt: str) -> str:
    if not value:
        return ""
    return "ANON-" + hashlib.sha256(f"{salt}|{value}".encode()).hexdigest()[:12].upper()


def _new_uid(uid: str, salt: str) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=[salt, uid]))


def _is_registered(uid: str) -> bool:
    """True for UIDs defined by the DICOM standard (SOP classes, transfer syntaxes...)."""
    from pydicom.uid import UID

    return UID(uid).name != str(uid)


def _shift(value: str, vr: str, days: int) -> str:
    """Shift a DA (YYYYMMDD) or the date part of a DT value by ``days``."""
    text = str(value).strip()
    if len(text) < 8 or not text[:8].isdigit():
        return ""
    try:
        day = _dt.datetime.strptime(text[:8], "%Y%m%d").date() + _dt.timedelta(days=days)
    except ValueError:
        return ""
    return day.strftime("%Y%m%d") + (text[8:] if vr == "DT" else "")


def _coarse_age(value: str) -> str:
    """'095Y' -> '090Y': ages over 89 are grouped (HIPAA Safe Harbor)."""
    text = str(value).strip()
    if len(text) == 4 and text[:3].isdigit() and text[3] == "Y" and int(text[:3]) > 89:
        return "090Y"
    return text


def _empty(elem) -> None:
    elem.value = "" if elem.VR in {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT",
                                   "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"} else None


def _clean(ds, *, salt: str, keep_uids: bool, date_shift_days: int | None) -> None:
    """Apply the action table and the VR rules to ``ds`` and its sequences, in place."""
    for elem in list(ds):
        if elem.tag.is_private:
            continue  # handled by remove_private_tags()
        keyword = elem.keyword
        action = ANNEX_E_ACTIONS.get(keyword)
        if action == _X:
            del ds[elem.tag]
            continue
        if elem.VR == "SQ":
            for item in elem.value or []:
                _clean(item, salt=salt, keep_uids=keep_uids, date_shift_days=date_shift_days)
            continue
        if action == _Z:
            _empty(elem)
        elif action == "pseudonym":
            elem.value = _pseudonym(str(elem.value or ""), salt)
        elif keyword == "PatientName":
            elem.value = DUMMY_NAME
        elif keyword == "PatientAge" and elem.value:
            elem.value = _coarse_age(elem.value)
        elif elem.VR == "PN":
            _empty(elem)
        elif elem.VR in ("DA", "DT"):
            if date_shift_days is None or not elem.value:
                _empty(elem)
            elif elem.VM > 1:
                elem.value = [_shift(v, elem.VR, date_shift_days) for v in elem.value]
            else:
                elem.value = _shift(elem.value, elem.VR, date_shift_days)
        elif elem.VR == "TM":
            if date_shift_days is None:
                _empty(elem)
        elif elem.VR == "UI" and not keep_uids and elem.value:
            values = elem.value if elem.VM > 1 else [elem.value]
            new = [v if _is_registered(v) else _new_uid(v, salt) for v in values]
            elem.value = new if elem.VM > 1 else new[0]


def deidentify(
    ds,
    *,
    keep_uids: bool = False,
    remove_private: bool = True,
    date_shift_days: int | None = None,
    salt: str | None = None,
):
    """Return a de-identified copy of a DICOM data set (header only).

    Follows the DICOM Basic Application Level Confidentiality Profile (PS3.15
    Annex E) with the Retain Patient Characteristics option:

    * PatientName becomes ``"ANONYMOUS"``; every other person name (referring,
      performing, reading physicians, operators...) is emptied;
    * PatientID becomes a pseudonym ``"ANON-<hash>"``: the same patient gets the
      same pseudonym for the same ``salt``, so data can still be split by
      patient (a test set must not share patients with the training set);
    * birth date, addresses, phone numbers, institution, department, station,
      device serial number, accession number, order/visit IDs, free-text
      descriptions and comments are emptied or removed (see
      :data:`ANNEX_E_ACTIONS`, curated from Table E.1-1);
    * dates and times are emptied, or with ``date_shift_days`` all dates move
      by that many days (intervals between studies survive);
    * UIDs are replaced by new ones derived from the old UID and ``salt``
      (:func:`pydicom.uid.generate_uid` with ``entropy_srcs``), so files of one
      series still share one new Series Instance UID;
    * private tags are removed (:meth:`pydicom.Dataset.remove_private_tags`);
    * PatientSex, PatientAge (over 89 becomes ``"090Y"``), PatientSize and
      PatientWeight are kept;
    * PatientIdentityRemoved = ``"YES"``, and DeidentificationMethod plus its
      code sequence record what was done.

    Pixel data is not changed. A UserWarning is raised when the header says
    that text is burned into the pixels.

    Parameters
    ----------
    ds : pydicom.Dataset or path
        The data set, or a DICOM file to read. The input is never modified.
    keep_uids : bool, default False
        Keep the original UIDs (Retain UIDs option), e.g. to link back to
        annotations that refer to them. UIDs can be traced to the hospital.
    remove_private : bool, default True
        Remove private (vendor) tags, which can hold anything, names included.
    date_shift_days : int, optional
        Shift every date by this many days (negative = earlier) instead of
        emptying dates; times are then kept. Use one shift per patient.
    salt : str, optional
        Secret mixed into pseudonyms and new UIDs. Default: a random salt made
        once per Python session, so results are consistent within a session
        but cannot be recomputed by someone who knows the original IDs. Pass
        your own (and keep it secret) to get the same output across sessions.

    Returns
    -------
    pydicom.Dataset
        A de-identified deep copy.

    Examples
    --------
    >>> clean = rl.deidentify("CT_small.dcm")   # doctest: +SKIP
    >>> str(clean.PatientName)                  # doctest: +SKIP
    'ANONYMOUS'
    """
    import pydicom
    from pydicom.dataset import Dataset

    if isinstance(ds, (str, os.PathLike)):
        ds = _read_dataset(require_path(ds))
    elif not isinstance(ds, Dataset):
        raise TypeError(
            f"deidentify takes a pydicom Dataset or a file path, not {type(ds).__name__}"
        )
    out = copy.deepcopy(ds)
    key = _salt(salt)

    if remove_private:
        out.remove_private_tags()
    _clean(out, salt=key, keep_uids=keep_uids, date_shift_days=date_shift_days)

    meta = getattr(out, "file_meta", None)
    if meta is not None:
        for keyword in _FILE_META_DROP:
            if keyword in meta:
                del meta[keyword]
        if "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID

    out.PatientIdentityRemoved = "YES"
    if "PatientName" not in out:
        out.PatientName = DUMMY_NAME
    options = ["basic", "characteristics"]
    if date_shift_days is not None:
        options.append("dates")
    if keep_uids:
        options.append("uids")
    out.LongitudinalTemporalInformationModified = (
        "MODIFIED" if date_shift_days is not None else "REMOVED"
    )
    # LO holds 64 characters per value, so one value per step (VM 1-n).
    steps = ["radlab.deidentify", *(_CODES[o][1] for o in options)]
    steps.append("private tags removed" if remove_private else "private tags KEPT")
    out.DeidentificationMethod = steps
    codes = []
    for option in options:
        item = Dataset()
        item.CodeValue, item.CodeMeaning = _CODES[option]
        item.CodingSchemeDesignator = "DCM"
        codes.append(item)
    out.DeidentificationMethodCodeSequence = pydicom.Sequence(codes)

    burned = str(ds.get("BurnedInAnnotation", "") or "").upper()
    if burned == "YES" or (not burned and ds.get("Modality") in ("US", "SC", "XC", "ES", "DOC")):
        warnings.warn(
            f"the pixels may contain burned-in text with identifiers (Modality "
            f"{ds.get('Modality', '?')}, BurnedInAnnotation {burned or 'not stated'}); "
            "deidentify() changes the header only - look at the image before sharing it.",
            UserWarning, stacklevel=2,
        )
    return out


def _short_hash(value: str) -> str:
    return hashlib.sha1(str(value).encode()).hexdigest()[:8]


def deidentify_folder(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    **options: Any,
) -> list[Path]:
    """Write de-identified copies of every DICOM file under ``src`` into ``dst``.

    Each file is written to a temporary file in its target folder and then
    renamed, so an interrupted run never leaves a half-written file. The
    source is never written to, and ``dst`` may not be inside ``src`` (or the
    reverse). File and folder names are new, because original names often
    contain patient names or IDs: ``dst/<Modality>_<SeriesNumber>_<hash>/
    <InstanceNumber>_<hash>.dcm``, hashes taken from the *new* UIDs.

    Parameters
    ----------
    src : path
        Folder with DICOM files (searched recursively). Files that are not
        DICOM are skipped and counted in a warning.
    dst : path
        Output folder, created if needed.
    **options
        Passed to :func:`deidentify` (``keep_uids``, ``remove_private``,
        ``date_shift_days``, ``salt``). Give a ``salt`` when a study is
        de-identified in several runs and must keep consistent UIDs.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from pydicom.filewriter import dcmwrite

    src = require_path(src, kind="folder").resolve()
    dst = Path(dst).expanduser().resolve()
    if not src.is_dir():
        raise ImageReadError(f"{src} is a file. Fix: pass the folder that holds the DICOM files.")
    if dst == src or src in dst.parents or dst in src.parents:
        raise ValueError(
            f"dst {dst} overlaps src {src}. Fix: write the de-identified copies to a separate "
            "folder outside the source, so originals are never overwritten or mixed in."
        )
    options.setdefault("salt", _salt(None))  # one salt for the whole folder
    written: list[Path] = []
    skipped: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        for path in sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".")):
            try:
                ds = _read_dataset(path)
            except ImageReadError:
                skipped.append(str(path.relative_to(src)))
                continue
            clean = deidentify(ds, **options)
            modality = clean.get("Modality", "") or "DICOM"
            series = f"{modality}_{clean.get('SeriesNumber', '') or 0}"
            folder = dst / f"{series}_{_short_hash(clean.get('SeriesInstanceUID', path.parent))}"
            number = clean.get("InstanceNumber")
            stem = f"{int(number):05d}_" if number not in (None, "") else ""
            target = folder / f"{stem}{_short_hash(clean.get('SOPInstanceUID', path))}.dcm"
            folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, lambda tmp: _write(dcmwrite, tmp, clean))
            written.append(target)
    burned = {str(w.message) for w in caught if "burned-in" in str(w.message)}
    for text in burned:
        warnings.warn(text, UserWarning, stacklevel=2)
    if skipped:
        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(f"{src}: skipped {len(skipped)} file(s) that are not DICOM: {shown}",
                      UserWarning, stacklevel=2)
    return written


def _write(dcmwrite, tmp: Path, ds) -> None:
    try:
        dcmwrite(tmp, ds, enforce_file_format=True)
    except (ValueError, AttributeError):  # no file meta could be made: write as read
        dcmwrite(tmp, ds)


def _atomic_write(target: Path, write) -> None:
    with atomic_output(target, suffix=".dcm") as tmp:
        write(tmp)


# ---------------------------------------------------------------------------
# metadata table
# ---------------------------------------------------------------------------
#: Header elements that teach how pixels become an image, in display order.
TEACHING_TAGS = (
    "Modality", "SOPClassUID", "Manufacturer", "ManufacturerModelName", "BodyPartExamined",
    "StudyDescription", "SeriesDescription", "ImageType", "PatientSex", "PatientAge",
    "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel", "PhotometricInterpretation",
    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "PixelSpacing", "ImagerPixelSpacing", "SliceThickness", "SpacingBetweenSlices",
    "ImageOrientationPatient", "ImagePositionPatient", "SliceLocation", "PatientPosition",
    "RescaleSlope", "RescaleIntercept", "RescaleType", "WindowCenter", "WindowWidth",
    "VOILUTFunction", "KVP", "XRayTubeCurrent", "Exposure", "ConvolutionKernel",
    "ViewPosition", "MagneticFieldStrength", "ScanningSequence", "RepetitionTime",
    "EchoTime", "InversionTime", "FlipAngle", "LossyImageCompression",
)
#: Header elements that identify a patient, a person, a place or a study; masked by default.
IDENTIFIER_TAGS = (
    "PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs", "PatientAddress",
    "AccessionNumber", "StudyID", "StudyDate", "StudyTime", "SeriesDate", "AcquisitionDate",
    "ContentDate", "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
    "PerformingPhysicianName", "OperatorsName", "StationName", "DeviceSerialNumber",
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
)


class MetadataTable(list):
    """Rows ``(keyword, name, value)``: prints as a text table, shows as HTML in Jupyter."""

    def get(self, keyword: str, default: str | None = None) -> str | None:
        """The value shown for ``keyword``, or ``default``."""
        for key, _name, value in self:
            if key == keyword:
                return value
        return default

    def as_dict(self) -> dict[str, str]:
        """``{keyword: value}``."""
        return {key: value for key, _name, value in self}

    def __str__(self) -> str:
        if not self:
            return "(no metadata)"
        widths = [max(len(row[i]) for row in self) for i in range(2)]
        return "\n".join(
            f"{key:<{widths[0]}}  {name:<{widths[1]}}  {value}" for key, name, value in self
        )

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row)
            + "</tr>"
            for row in self
        )
        return (
            "<table><thead><tr><th style='text-align:left'>keyword</th>"
            "<th style='text-align:left'>name</th><th style='text-align:left'>value</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )


def _format(value: Any, limit: int = 80) -> str:
    from pydicom.sequence import Sequence
    from pydicom.uid import UID

    if value is None or value == "":
        return "(empty)"
    if isinstance(value, Sequence):
        return f"<sequence of {len(value)} item(s)>"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, UID):
        text = value.name if value.name != str(value) else str(value)
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = ", ".join(_format(v, limit) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name(keyword: str) -> str:
    from pydicom.datadict import dictionary_description, tag_for_keyword

    tag = tag_for_keyword(keyword)
    return dictionary_description(tag) if tag is not None else keyword


def _dataset_rows(ds, show_identifiers: bool) -> MetadataTable:
    table = MetadataTable()
    meta = getattr(ds, "file_meta", None)
    for keyword in TEACHING_TAGS:
        if keyword in ds:
            table.append((keyword, _name(keyword), _format(ds[keyword].value)))
    if meta is not None and "TransferSyntaxUID" in meta:
        table.append(("TransferSyntaxUID", _name("TransferSyntaxUID"),
                      _format(meta.TransferSyntaxUID)))
    for keyword in IDENTIFIER_TAGS:
        if keyword not in ds:
            continue
        value = ds[keyword].value
        shown = _format(value) if show_identifiers or value in (None, "") else _MASK
        table.append((keyword, _name(keyword), shown))
    if "PatientIdentityRemoved" in ds:
        table.append(("PatientIdentityRemoved", _name("PatientIdentityRemoved"),
                      _format(ds.PatientIdentityRemoved)))
    return table


def _image_rows(image: Image) -> MetadataTable:
    spacing = " x ".join(f"{s:.4g}" for s in image.spacing)
    table = MetadataTable([
        ("modality", "Modality", image.modality or "(unknown)"),
        ("shape", "Array shape", " x ".join(map(str, image.shape))),
        ("dtype", "Array dtype", str(image.dtype)),
        ("spacing", "Spacing (mm, " + ("z-y-x" if image.is_volume else "y-x") + ")", spacing),
        ("units", "Units", image.units),
        ("window", "Stored window (center, width)",
         "(none)" if image.window is None else f"{image.window[0]:g}, {image.window[1]:g}"),
        ("origin", "Origin (mm, LPS)", ", ".join(f"{v:.4g}" for v in image.origin)),
        ("orientation", "Orientation (rows x, y, z)",
         "; ".join(", ".join(f"{v:.3g}" for v in row) for row in image.orientation)),
    ])
    for key in sorted(image.meta):
        if key == "modality":  # already the first row
            continue
        table.append((key, key.replace("_", " ").capitalize(), _format(image.meta[key])))
    return table


def metadata(obj, *, show_identifiers: bool = False) -> MetadataTable:
    """The header values that explain an image, with identifiers masked.

    Parameters
    ----------
    obj : path, pydicom.Dataset or Image
        A DICOM file, a data set, or an :class:`~radlab.imaging.image.Image`
        (whose ``meta`` holds no identifiers in the first place).
    show_identifiers : bool, default False
        Show patient name, ID, birth date, accession number, dates,
        institution and UIDs instead of ``"*** hidden ***"``. Leave it off
        on a projector or in a shared notebook.

    Returns
    -------
    MetadataTable
        A list of ``(keyword, name, value)`` string tuples that prints as a
        table and renders as HTML in Jupyter.

    Examples
    --------
    >>> rl.metadata("CT_small.dcm")   # doctest: +SKIP
    Modality   Modality   CT
    ...
    PatientName  Patient's Name  *** hidden ***
    """
    from pydicom.dataset import Dataset

    if isinstance(obj, Image):
        return _image_rows(obj)
    if isinstance(obj, (str, os.PathLike)):
        obj = _read_dataset(require_path(obj), stop_before_pixels=True)
    if not isinstance(obj, Dataset):
        raise TypeError(
            f"metadata takes a DICOM path, a pydicom Dataset or an Image, not {type(obj).__name__}"
        )
    return _dataset_rows(obj, show_identifiers)
