"""Step 5 of CBP's risk assessment: the documented risk assessment procedure.

The procedure is generated from the live data and configuration (scope from the company profile and the partner and
lane counts, threat sources and their dates, the scoring method, matrix, weights and credit in plain words, review
frequency, who is responsible). A version is a frozen copy of the text; versions are compared in words; an admin
signs a version off, which records who approved it and when and sets the next review date (at most a year later:
MSC 2.3 asks for a review at least yearly and whenever something changes). The next review date feeds the
follow-up engine (services.followups.rules.procedure).

The generated text holds no "today", so it changes only when the data or configuration it describes does.
"""

import difflib
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import Lane, Partner, ProcedureVersion, User
from models.common import Role, utcnow
from models.lanes import LaneStatus
from services.company import profile as company_profile
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin, require_write
from services.risk import config as risk_config
from services.threats import register as threat_register
from services.threats import sources as threat_sources

Section = tuple[str, list[str]]
REVIEW_MONTHS = 12  # MSC 2.3: the risk assessment is reviewed at least once a year
NOTE_MAX = 500
VERSION_COLUMNS = ["version", "saved_by", "saved_at", "note", "configuration_version", "approved_by", "approved_at",
                   "next_review_on"]


def add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    target = date(day.year + year, month + 1, 1)
    following = date(target.year + (target.month == 12), target.month % 12 + 1, 1)
    return target.replace(day=min(day.day, (following - timedelta(days=1)).day))


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bands(n: int) -> str:
    return f"{n} band" + ("" if n == 1 else "s")


def _scope(session: Session) -> Section:
    profile = company_profile.get_profile(session=session)
    company = profile.legal_name if profile and profile.legal_name else "The company (no company profile on file)"
    kind = profile.entity_type if profile else "Importer"
    account = f" (CTPAT account {profile.ctpat_account_number})" if profile and profile.ctpat_account_number else ""
    tier = f", {profile.tier}" if profile and profile.tier else ""
    by_type = session.exec(select(Partner.entity_type, func.count()).where(Partner.status == "active")
                           .group_by(Partner.entity_type).order_by(Partner.entity_type)).all()
    partners = sum(n for _, n in by_type)
    lanes = session.exec(select(func.count()).select_from(Lane).where(Lane.status == LaneStatus.active)).one()
    types = "; ".join(f"{n} {t or 'of no entity type'}" for t, n in by_type) or "none yet"
    return ("Scope", [
        f"{company}{account}, CTPAT entity type {kind}{tier}, assesses the security risk of its international "
        "supply chain following CBP's five-step risk assessment: 1 map cargo flow and business partners, 2 threat "
        "assessment, 3 vulnerability assessment against the Minimum Security Criteria (MSC), 4 action plan, "
        "5 document the process (MSC 2.1 to 2.3).",
        f"The assessment covers every active business partner ({partners}: {types}) and every active lane ({lanes}), "
        "from the point of origin (point of stuffing) to the arrival in the United States.",
    ])


def _responsibilities(session: Session) -> Section:
    profile = company_profile.get_profile(session=session)
    users = session.exec(select(User.name, User.role).where(User.is_active).order_by(User.role, User.name)).all()
    admins = [n for n, r in users if r == Role.admin]
    analysts = [n for n, r in users if r == Role.analyst]
    contact = profile.primary_contact if profile and profile.primary_contact else ""
    return ("Responsibilities", [
        ("The company's CTPAT point of contact is " + contact + "." if contact else
         "No CTPAT point of contact is recorded in the company profile (Unknown)."),
        "Administrators approve this procedure and the scoring configuration, and sign off each version: "
        + (", ".join(admins) if admins else "none recorded (Unknown)") + ".",
        "Analysts maintain the partner and lane data, rate threats, review questionnaires and keep the action plan: "
        + (", ".join(analysts) if analysts else "none recorded") + ".",
    ])


def _threats(session: Session, config: risk_config.RiskConfig) -> Section:
    settings = threat_register.get_settings(session=session)
    frame = threat_sources.list_sources(session=session)
    lines = []
    for s in frame.to_dict("records"):
        as_of = pd.Timestamp(s["as_of"]).date().isoformat() if s["as_of"] is not None and not pd.isna(s["as_of"]) \
            else "date unknown"
        state = "" if s["active"] else " (not in use)"
        lines.append(f"{s['name']} ({s['publisher'] or 'publisher not recorded'}), as of {as_of}{state}.")
    unknown = config.threat_unknown_as or settings.unknown_as
    return ("Step 2: threat assessment", [
        "Threats are rated High, Medium or Low per country (and region where needed) and threat category in the "
        "threat register; a team member confirms or overrides each suggestion from the sources, with a reason.",
        "Sources of threat information: " + (" ".join(lines) if lines else "none loaded (Unknown)."),
        f"A rating older than {settings.stale_after_months} months is stale and is reviewed. A place whose threat is "
        f"not rated counts as {unknown}. Categories counted: "
        + ", ".join(threat_register.category_label(c) for c in config.threat_categories) + ".",
        f"Each lane takes the threat of its point of origin and of the nodes where cargo rests at least "
        f"{_num(config.rest_hours)} hours or changes custody; its other nodes count {_bands(config.other_nodes_lower)} "
        "lower." + (" A partner takes the worst threat of the lanes it serves when that is higher."
                    if config.inherit_lane_threat else ""),
    ])


def _vulnerability(config: risk_config.RiskConfig) -> Section:
    weights = sorted({_num(v) for v in config.category_weights.values()})
    cat = ("every MSC category weighs the same" if len(weights) == 1 else
           "MSC categories weigh " + ", ".join(f"{k}: {_num(v)}" for k, v in config.category_weights.items()))
    floor = ("no floor" if config.unmet_must_floor == "Low" else
             f"any must criterion not met makes vulnerability at least {config.unmet_must_floor}")
    return ("Step 3: vulnerability assessment", [
        "Each partner answers the questionnaire of the MSC that apply to its entity type; the team reviews the "
        f"answers. Answers and site-visit findings older than {config.answer_max_age_months} months do not count; "
        "a site-visit finding overrides the partner's answer for that criterion.",
        f"Weights: a must criterion not met {_num(config.must_unmet)}, partly met {_num(config.must_partial)}; a "
        f"should criterion not met {_num(config.should_unmet)}, partly met {_num(config.should_partial)}; {cat}. "
        "Not answered, or n/a without a justification, counts as not met.",
        f"Vulnerability is Medium from {_num(config.medium_from)}% of the weighted criteria not met and High from "
        f"{_num(config.high_from)}%; {floor}.",
        f"A certificate that counts (CTPAT or a mutual-recognition programme, verified) lowers vulnerability by "
        f"{_bands(config.certificate_credit)}; an open incident raises it by {_bands(config.incident_raise)}.",
    ])


def _risk(config: risk_config.RiskConfig) -> Section:
    cells = [f"threat {t} and vulnerability {v}: {band}" for t, row in config.matrix.items() for v, band in row.items()]
    impact = "Impact does not raise risk."
    if config.impact_raise:
        parts = []
        if config.impact_criticalities:
            parts.append("partners of criticality " + " or ".join(config.impact_criticalities))
        if config.impact_import_share is not None:
            parts.append(f"partners with at least {_num(config.impact_import_share)}% of import volume")
        if config.lane_volume_share is not None:
            parts.append(f"lanes with at least {_num(config.lane_volume_share)}% of volume")
        impact = ("Risk is raised one band for high-impact subjects: " + "; ".join(parts) + "."
                  if parts else "Impact raises risk, but no high-impact rule is set.")
    months = "; ".join(f"{band} every {n} months" for band, n in config.reassess_months.items())
    return ("Risk rating and re-assessment", [
        "Risk combines threat and vulnerability in a matrix: " + "; ".join(cells) + ".",
        impact,
        f"Partners are re-assessed by risk band (MSC 3.7): {months}.",
    ])


def _actions() -> Section:
    return ("Step 4: action plan", [
        "Every High risk and every unmet must criterion leads to an action item with an owner and a due date; "
        "items are followed until closed with a closing note and evidence. Open incidents are recorded in the "
        "incident register (MSC 7.37) and count in the scoring until closed.",
    ])


def _review(config_version: int | None, saved: dict | None) -> Section:
    made = ("The scoring configuration in force is the built-in default (no version saved)." if config_version is None
            else f"The scoring configuration in force is version {config_version}, saved by {saved['saved_by']} on "
                 f"{pd.Timestamp(saved['saved_at']).date().isoformat()}.")
    return ("Review and documentation", [
        f"The risk assessment and this procedure are reviewed at least once every {REVIEW_MONTHS} months, and "
        "whenever something changes: a new partner, lane or route, a new threat or incident, a change of the scoring "
        "configuration or of this procedure (MSC 2.3). Each review is recorded as a dated assessment snapshot.",
        "Each version of this procedure is kept; an administrator signs it off, which records who approved it, when, "
        "and the date of the next review.",
        made,
    ])


def generate(*, session: Session) -> list[Section]:
    """The procedure as sections (heading, paragraphs), from the live data and configuration."""
    config, version = risk_config.active(session=session)
    saved = next((v for v in risk_config.versions(session=session) if v["version"] == version), None)
    return [_scope(session), _responsibilities(session), ("Step 1: map cargo flow and business partners", [
        "Partners are recorded with their entity type, country, sites, contacts, internal owner and CTPAT or "
        "mutual-recognition status; cargo flow is recorded as lanes from point of origin to the US port, with the "
        "nodes where cargo rests or changes custody.",
    ]), _threats(session, config), _vulnerability(config), _risk(config), _actions(), _review(version, saved)]


def as_text(sections: list[Section]) -> str:
    """Sections as plain text (a heading line, then its paragraphs)."""
    return "\n\n".join(heading + "\n" + "\n".join(paras) for heading, paras in sections)


def _sections(version: ProcedureVersion) -> list[Section]:
    return [(heading, list(paras)) for heading, paras in version.sections]


def get_version(*, session: Session, version: int) -> ProcedureVersion:
    row = session.exec(select(ProcedureVersion).where(ProcedureVersion.version == version)).first()
    if row is None:
        raise ValidationError(f"version: there is no procedure version {version}")
    return row


def latest(*, session: Session) -> ProcedureVersion | None:
    return session.exec(select(ProcedureVersion).order_by(col(ProcedureVersion.version).desc())).first()


def latest_signed(*, session: Session) -> ProcedureVersion | None:
    return session.exec(select(ProcedureVersion).where(ProcedureVersion.approved_at.is_not(None))  # type: ignore
                        .order_by(col(ProcedureVersion.version).desc())).first()


def list_versions(*, session: Session) -> pd.DataFrame:
    """Every version, newest first."""
    rows = session.exec(select(ProcedureVersion).order_by(col(ProcedureVersion.version).desc())).all()
    return pd.DataFrame([{c: getattr(r, c) for c in VERSION_COLUMNS} for r in rows], columns=VERSION_COLUMNS)


def saved_texts(*, session: Session) -> dict[int, list[Section]]:
    """The text of every saved version, by version number."""
    return {r.version: _sections(r) for r in session.exec(select(ProcedureVersion))}


def differences(before: list[Section], after: list[Section]) -> list[str]:
    """What changed from one text to another, in words: sections added or removed, paragraphs changed, added or
    removed (each quoted)."""
    old, new = dict(before), dict(after)
    out = []
    for heading in dict.fromkeys([*old, *new]):
        if heading not in new:
            out.append(f"{heading}: section removed.")
            continue
        if heading not in old:
            out.append(f"{heading}: section added.")
            continue
        a, b = old[heading], new[heading]
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if tag == "replace":
                for k in range(max(i2 - i1, j2 - j1)):
                    was = a[i1 + k] if i1 + k < i2 else None
                    now = b[j1 + k] if j1 + k < j2 else None
                    out.append(f"{heading}: “{was}” became “{now}”." if was and now else
                               f"{heading}: removed “{was}”." if was else f"{heading}: added “{now}”.")
            elif tag == "delete":
                out.extend(f"{heading}: removed “{p}”." for p in a[i1:i2])
            elif tag == "insert":
                out.extend(f"{heading}: added “{p}”." for p in b[j1:j2])
    return out


def compare(*, session: Session, before: int, after: int) -> list[str]:
    """What changed between two saved versions, in words (empty: the same text)."""
    return differences(_sections(get_version(session=session, version=before)),
                       _sections(get_version(session=session, version=after)))


def changes_since_latest(*, session: Session) -> list[str] | None:
    """What the live procedure changes against the latest saved version; None while no version is saved."""
    last = latest(session=session)
    if last is None:
        return None
    return differences(_sections(last), generate(session=session))


def save_version(*, session: Session, actor: Actor, note: str = "") -> ProcedureVersion:
    """Save the live procedure as the next version (admins and analysts; audited). Refused when it is the same text
    as the latest version."""
    require_write(actor)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(f"note: at most {NOTE_MAX} characters")
    sections = generate(session=session)
    last = latest(session=session)
    if last is not None and not differences(_sections(last), sections):
        raise ValidationError(f"nothing changed since version {last.version}: sign that one off instead")
    _, config_version = risk_config.active(session=session)
    number = (last.version if last else 0) + 1
    row = ProcedureVersion(version=number, sections=[[h, p] for h, p in sections], text=as_text(sections),
                           configuration_version=config_version, note=note, saved_by=actor.username)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="create", entity="risk assessment procedure",
                 entity_id=number, summary=f"Saved version {number} of the risk assessment procedure"
                 + (f" ({note})" if note else ""))
    return row


def sign_off(*, session: Session, actor: Actor, version: int, today: date,
             next_review_on: date | None = None) -> ProcedureVersion:
    """An admin approves a version: who and when are recorded, and the next review date is set (default and
    latest: a year after today, MSC 2.3). Only the latest version can be signed, and only once."""
    require_admin(actor)
    row = get_version(session=session, version=version)
    last = latest(session=session)
    if last is not None and last.version != row.version:
        raise ValidationError(f"version: only the latest version ({last.version}) can be signed off")
    if row.approved_at is not None:
        raise ValidationError(f"version: version {version} was already signed off by {row.approved_by} on "
                              f"{row.approved_at.date().isoformat()}")
    latest_review = add_months(today, REVIEW_MONTHS)
    review = next_review_on or latest_review
    if not today < review <= latest_review:
        raise ValidationError(f"next review: {review.isoformat()} must be after today and on or before "
                              f"{latest_review.isoformat()} (reviewed at least yearly, MSC 2.3)")
    row.approved_by = actor.username
    row.approved_at = utcnow()
    row.next_review_on = review
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="confirm", entity="risk assessment procedure",
                 entity_id=version, summary=f"Signed off version {version} of the risk assessment procedure; next "
                 f"review by {review.isoformat()}")
    return row


def status(*, session: Session, today: date) -> dict[str, Any]:
    """Where the procedure stands: latest version, latest signed version with who and when, next review date and
    the days to it (negative: overdue), and whether the live procedure changed since the latest version."""
    last, signed = latest(session=session), latest_signed(session=session)
    review = signed.next_review_on if signed else None
    changes = changes_since_latest(session=session)
    return {"latest_version": last.version if last else None,
            "signed_version": signed.version if signed else None,
            "approved_by": signed.approved_by if signed else "",
            "approved_on": signed.approved_at.date() if signed and signed.approved_at else None,
            "next_review_on": review, "days_to_review": (review - today).days if review else None,
            "latest_unsigned": bool(last and last.approved_at is None),
            "changed_since_latest": changes}
