"""Evidence files for answers: type checked by content, size-limited, stored on disk under their SHA-256."""

import hashlib
import io
import os
import re
import tempfile
import zipfile
from pathlib import Path, PurePath

import pandas as pd
from sqlmodel import Session, col, select

from models import Criterion, Cycle, Evidence, Partner
from models.collection import CycleStatus
from models.common import Role
from services import texts
from services.collection import states
from services.collection.cycles import current_status, get_assignment, guarded_update
from services.collection.questionnaire import applicable_criteria
from services.collection.states import Action
from services.core import audit, config
from services.core.permissions import Actor, ValidationError, require

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Accepted content types: what the content is (a key of "evidence.label" in the text catalogue, for messages in the
# partner's language), and the file name endings that may carry them.
EVIDENCE_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "application/pdf": ("pdf", (".pdf",)),
    "image/png": ("png", (".png",)),
    "image/jpeg": ("jpeg", (".jpg", ".jpeg")),
    "image/gif": ("gif", (".gif",)),
    "image/webp": ("webp", (".webp",)),
    DOCX: ("docx", (".docx",)),
    XLSX: ("xlsx", (".xlsx",)),
    "text/plain": ("text", (".txt", ".csv")),
}
LIST_COLUMNS = ["id", "criterion_id", "filename", "content_type", "size_bytes", "sha256", "uploaded_by",
                "uploaded_at"]
STAFF_ROLES = (Role.admin, Role.analyst, Role.viewer)

_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe",
                     b"#!")
_ACTIVE_TEXT = re.compile(rb"<\s*(!doctype|html|head|body|script|iframe|object|embed|svg|\?xml)|javascript:", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _office_type(data: bytes) -> tuple[str | None, str]:
    """docx/xlsx from an OOXML zip, or the reason it is refused (macros, other archive, damaged)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None, "damaged_zip"
    lowered = [n.lower() for n in names]
    if any(n.endswith("vbaproject.bin") or "/activex/" in n for n in lowered):
        return None, "macros"
    if "[Content_Types].xml" not in names:
        return None, "zip"
    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > 1_000_000:
        return None, "damaged_office"
    manifest = archive.read(info).lower()
    if b"macroenabled" in manifest or b"vbaproject" in manifest:
        return None, "macros"
    if "word/document.xml" in names:
        return DOCX, ""
    if "xl/workbook.xml" in names:
        return XLSX, ""
    return None, "other_office"


def _classify(data: bytes) -> tuple[str | None, str]:
    """(content type, "") for accepted content, else (None, what the content is: a key of "evidence.kind")."""
    if data.startswith(b"%PDF-"):
        return "application/pdf", ""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", ""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _office_type(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return None, "old_office"
    if data.startswith(_EXECUTABLE_MAGIC):
        return None, "program"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "unrecognised"
    if "\x00" in text or _CONTROL.search(text):
        return None, "unrecognised"
    if _ACTIVE_TEXT.search(data):
        return None, "markup"
    return "text/plain", ""


def sniff_type(data: bytes) -> str | None:
    """The content type of accepted evidence judged by its bytes (never its name), or None when refused.

    Accepted: PDF, PNG, JPEG, GIF, WebP, .docx and .xlsx (a ZIP with [Content_Types].xml and the document part,
    no macros), and UTF-8 text without NUL or control characters. Refused: programs and scripts, Office files with
    macros, other archives, old binary Office files, HTML/SVG/XML, and everything else.
    """
    return _classify(data)[0]


def _safe_filename(filename: str) -> str:
    """The base name without folders or control characters, at most 255 characters (keeping the extension)."""
    name = PurePath(str(filename or "").replace("\\", "/")).name
    name = _CONTROL.sub("", name).strip()
    if len(name) > 255:
        suffix = PurePath(name).suffix[:20]
        name = name[: 255 - len(suffix)] + suffix
    return name


def evidence_path(sha256: str) -> Path:
    """Where the bytes with that hash live: <evidence dir>/<first two hex digits>/<hash>."""
    return config.evidence_dir() / sha256[:2] / sha256


def _store(data: bytes, sha256: str) -> None:
    path = evidence_path(sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a crash never leaves a half file under a valid hash.
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


class EvidenceRefused(ValidationError):
    """Why a file is not accepted as evidence; str() says it in English, `message(language)` in the partner's
    language (the text catalogue's "evidence.*" texts)."""

    def __init__(self, key: str, **values: object):
        self.key, self.values = key, values
        super().__init__(self.message("en"))

    def message(self, language: str) -> str:
        language = texts.language_of(language)
        values = dict(self.values)
        if "kind" in values:
            values["kind"] = texts.text(f"evidence.kind.{values['kind']}", language)
        if "label" in values:
            values["label"] = texts.text(f"evidence.label.{values['label']}", language)
        if "endings" in values:
            values["endings"] = texts.text("evidence.or", language).join(values["endings"])
        return texts.text(f"evidence.{self.key}", language, allowed=texts.text("evidence.allowed", language),
                          **values)


def check_file(*, filename: str, data: bytes) -> str:
    """The content type of an acceptable evidence file, or EvidenceRefused saying plainly what is wrong."""
    name = _safe_filename(filename) or "(no name)"
    if not data:
        raise EvidenceRefused("empty", file=name)
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceRefused("too_large", file=name, size=f"{len(data) / 1024 / 1024:.1f}",
                              limit=MAX_EVIDENCE_BYTES // 1024 // 1024)
    content_type, kind = _classify(data)
    if content_type is None:
        raise EvidenceRefused("refused", file=name, kind=kind)
    label, endings = EVIDENCE_TYPES[content_type]
    if not name.lower().endswith(endings):
        raise EvidenceRefused("wrong_ending", file=name, label=label, endings=endings)
    return content_type


def add_evidence(
    *,
    session: Session,
    assignment_id: int,
    criterion_id: str,
    filename: str,
    data: bytes,
    uploaded_by: str,
    actor: Actor | None,
) -> Evidence:
    """Attach an evidence file to one answer of the assignment while its answers may change (as for save_answers).

    The actor is the partner through the link of this assignment (states.PartnerActor) or staff with a write role.
    The same bytes for the same question are kept once (the existing row is returned); on disk every content is
    kept once.
    """
    mover = states.require(actor, Action.answer, assignment_id)
    assignment = get_assignment(session=session, assignment_id=assignment_id)
    partner_code = session.exec(select(Partner.partner_code).where(Partner.id == assignment.partner_id)).one()
    cycle = session.get(Cycle, assignment.cycle_id)
    criterion_id = str(criterion_id or "").strip()
    if criterion_id not in applicable_criteria(session=session, assignment_id=assignment_id):
        raise ValidationError(f"{criterion_id}: not a question of this questionnaire")
    content_type = check_file(filename=filename, data=data)
    if cycle.status != CycleStatus.open:
        raise ValidationError(f"Cycle {cycle.name} is closed; no evidence can be added.")
    if not guarded_update(session=session, assignment_id=assignment_id,
                          allowed_from=states.allowed_from(action=Action.answer, mover=mover), values={}):
        status = current_status(session=session, assignment_id=assignment_id)
        raise ValidationError(f"This questionnaire is {status}; evidence cannot be added now.")

    sha256 = hashlib.sha256(data).hexdigest()
    existing = session.exec(
        select(Evidence).where(Evidence.assignment_id == assignment_id, Evidence.criterion_id == criterion_id,
                               Evidence.sha256 == sha256)
    ).first()
    if existing is not None:
        return existing
    _store(data, sha256)
    name = _safe_filename(filename)
    uploaded_by = (str(uploaded_by or "").strip() or actor.username)[:120]
    evidence = Evidence(assignment_id=assignment_id, criterion_id=criterion_id, filename=name,
                        content_type=content_type, size_bytes=len(data), sha256=sha256, uploaded_by=uploaded_by)
    session.add(evidence)
    session.flush()
    audit.record(session=session, actor=actor, action="add evidence",
                 entity="assignment", entity_id=assignment_id,
                 summary=f"{name} ({len(data):,} bytes) for {criterion_id} of {partner_code} uploaded by {uploaded_by}",
                 after={"evidence_id": evidence.id, "criterion_id": criterion_id, "filename": name,
                        "sha256": sha256, "size_bytes": len(data)})
    return evidence


def remove_evidence(
    *, session: Session, assignment_id: int, evidence_id: int, removed_by: str, actor: Actor | None
) -> None:
    """Detach an evidence file of this assignment while its answers may change (the partner's link, or staff).

    The bytes stay on disk: other answers may share them, and the removal may still be rolled back.
    """
    mover = states.require(actor, Action.answer, assignment_id)
    assignment = get_assignment(session=session, assignment_id=assignment_id)
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.assignment_id != assignment_id:
        raise ValidationError(f"No evidence file {evidence_id} in this questionnaire")
    cycle = session.get(Cycle, assignment.cycle_id)
    if cycle.status != CycleStatus.open:
        raise ValidationError(f"Cycle {cycle.name} is closed; evidence cannot be removed.")
    if not guarded_update(session=session, assignment_id=assignment_id,
                          allowed_from=states.allowed_from(action=Action.answer, mover=mover), values={}):
        status = current_status(session=session, assignment_id=assignment_id)
        raise ValidationError(f"This questionnaire is {status}; evidence cannot be removed now.")
    partner_code = session.exec(select(Partner.partner_code).where(Partner.id == assignment.partner_id)).one()
    before = {"evidence_id": evidence.id, "criterion_id": evidence.criterion_id, "filename": evidence.filename,
              "sha256": evidence.sha256}
    session.delete(evidence)
    audit.record(session=session, actor=actor, action="remove evidence",
                 entity="assignment", entity_id=assignment_id,
                 summary=f"{before['filename']} removed from {before['criterion_id']} of {partner_code} by "
                 f"{str(removed_by or '').strip()[:120]}",
                 before=before)


def list_evidence(*, session: Session, assignment_id: int) -> pd.DataFrame:
    """The assignment's evidence files, by question then upload time."""
    stmt = (
        select(*(getattr(Evidence, c) for c in LIST_COLUMNS))
        .join(Criterion, col(Criterion.criterion_id) == Evidence.criterion_id)
        .where(Evidence.assignment_id == assignment_id)
        .order_by(Criterion.sort_key, Evidence.uploaded_at, Evidence.id)
    )
    return pd.DataFrame(session.exec(stmt).all(), columns=LIST_COLUMNS)


def read_evidence(*, session: Session, actor: Actor, evidence_id: int) -> tuple[Evidence, bytes]:
    """An evidence file's row and bytes, for staff only (a partner's link never downloads files); ValidationError
    saying what to do when the stored copy is missing or damaged."""
    require(actor, *STAFF_ROLES)
    evidence = session.get(Evidence, evidence_id)
    if evidence is None:
        raise ValidationError(f"No evidence file with id {evidence_id}")
    return evidence, load_file(sha256=evidence.sha256, filename=evidence.filename)


def _missing(filename: str, path: Path) -> str:
    return (f"{filename}: the stored file is missing from {path.parent}. Restore the evidence folder from a backup, "
            "or ask the partner to upload the file again.")


def _damaged(filename: str) -> str:
    return (f"{filename}: the stored file is damaged (its content hash changed). Restore it from a backup of the "
            "evidence folder, or ask the partner to upload the file again.")


def stored_problems(*, files: pd.DataFrame) -> dict[int, str]:
    """Evidence id -> why its stored copy cannot be served: missing, or not the size recorded (damaged), for the
    rows of list_evidence. Quick (no file is read): a damaged file of the right size is found by stored_problem."""
    problems: dict[int, str] = {}
    for row in files[["id", "filename", "sha256", "size_bytes"]].itertuples(index=False):
        path = evidence_path(row.sha256)
        try:
            size = path.stat().st_size
        except OSError:
            problems[int(row.id)] = _missing(row.filename, path)
            continue
        if size != row.size_bytes:
            problems[int(row.id)] = _damaged(row.filename)
    return problems


def stored_problem(*, sha256: str, filename: str) -> str | None:
    """Why the stored copy with that hash cannot be served (missing, or its content no longer has that hash), in
    words for staff; None when it can."""
    try:
        load_file(sha256=sha256, filename=filename)
    except ValidationError as exc:
        return str(exc)
    return None


def store_file(*, filename: str, data: bytes) -> tuple[str, str, str]:
    """Check a file as evidence and keep it in the content-hash store, for records other than answers (e.g. a
    certificate copy): (sha256, safe file name, content type); ValidationError saying what is wrong."""
    content_type = check_file(filename=filename, data=data)
    sha256 = hashlib.sha256(data).hexdigest()
    _store(data, sha256)
    return sha256, _safe_filename(filename), content_type


def load_file(*, sha256: str, filename: str) -> bytes:
    """The stored bytes with that hash, checked against it; ValidationError when missing or damaged."""
    path = evidence_path(sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(_missing(filename, path)) from None
    except OSError as exc:
        raise ValidationError(f"{filename}: the stored file cannot be read ({exc.strerror}).") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValidationError(_damaged(filename))
    return data
