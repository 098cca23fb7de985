"""Importing certificates from CSV/XLSX (e.g. the team's spreadsheet, an SVI export): preview, then all or nothing.

One row per certificate, identified by partner code, program, issuing country and certificate number: a new one is
recorded (claimed, or verified when the row carries a check), an existing one is corrected in the columns the file
has (a blank cell keeps the stored value). A row with ``verified_on`` (and how: ``verification_method``) adds that
check unless it is stored already; ``status`` may end a certificate (suspended, revoked, expired). The rules are
the app's own (services.certificates.records), the format is in docs/import-formats.md. Any error anywhere means
nothing is written; the checks and writes are a handful of queries whatever the number of rows.
"""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from models import (
    Certificate,
    CertificateEvent,
    CertificateSite,
    CertificateVerification,
    Country,
    ImportRecord,
    Partner,
    PartnerSite,
)
from models.certificate import CTPAT, ENDED_STATUSES, CertificateEventKind, CertificateStatus
from models.common import utcnow
from services.certificates import exemption, records
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.imports.partners import country_lookup
from services.imports.reader import (
    Problem,
    ProblemCounts,
    Table,
    UnreadableFile,
    header_key,
    problems_frame,
    read_table,
    sha256_hex,
)

S, E = CertificateStatus, CertificateEventKind
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "partner_code": ("partner_code", "code", "vendor code", "supplier code", "partner", "vendor", "supplier"),
    "program": ("program", "programme", "program code", "scheme"),
    "issuing_country": ("issuing_country", "issuing country", "issued in", "country of issue", "issuer country"),
    "certificate_number": ("certificate_number", "certificate number", "certificate no", "number", "account number",
                           "ctpat account number", "svi number", "svi", "aeo number", "certificate"),
    "certificate_type": ("certificate_type", "type", "certificate type", "aeo type"),
    "status": ("status", "certificate status"),
    "status_since": ("status_since", "status since", "status date", "effective", "effective on"),
    "valid_from": ("valid_from", "valid from", "issued", "issued on", "issue date"),
    "valid_to": ("valid_to", "valid to", "valid until", "expires", "expiry", "expiry date", "expiration date"),
    "verified_on": ("verified_on", "verified on", "last verified", "checked on", "verification date"),
    "verified_by": ("verified_by", "verified by", "checked by"),
    "verification_method": ("verification_method", "verification method", "method", "how verified"),
    "verification_reference": ("verification_reference", "verification reference", "reference"),
    "covered_sites": ("covered_sites", "covered sites", "sites", "mids"),
    "notes": ("notes", "note", "remarks", "comments"),
}
NO_EXPIRY = frozenset({"no expiry", "none", "never", "no end", "indefinite", "unlimited", "n/a"})
ALL_SITES = frozenset({"all", "all sites", "every site", "todos", "todas", "全部"})
_SITE_PARTS = re.compile(r"[;|\n]+")
METHODS = {"portal check": "portal check", "portal": "portal check", "svi": "portal check",
           "copy of certificate": "copy of certificate", "copy": "copy of certificate", "certificate copy":
           "copy of certificate", "customs confirmation": "customs confirmation", "customs": "customs confirmation"}
ROW_COLUMNS = ["file", "row", "partner_code", "program", "issuing_country", "certificate_number", "action",
               "changes"]
EXCEL_EPOCH = date(1899, 12, 30)  # Excel serial day 0 (its 1900 leap-year bug folded in)
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$")
_SERIAL = re.compile(r"^\d{1,7}(\.\d+)?$")


@dataclass
class CertificatePreview(ProblemCounts):
    """What a certificate import would do: one row per file row (action new, update, unchanged or error)."""

    files: list[dict[str, Any]]
    rows: pd.DataFrame
    problems: pd.DataFrame
    plans: list[dict[str, Any]] = field(repr=False)  # what apply writes, per row that is not an error

    @property
    def counts(self) -> dict[str, int]:
        actions = self.rows["action"].value_counts()
        counts = {a: int(actions.get(a, 0)) for a in ("new", "update", "unchanged", "error")}
        counts["checks"] = sum(1 for p in self.plans if p["check"])
        return counts


def parse_day(text: str) -> tuple[date | None, str]:
    """A date written as ISO (2027-01-31) or an Excel serial number (46418), or (None, what is wrong)."""
    raw = str(text).strip()
    if _ISO.match(raw):
        try:
            return date.fromisoformat("-".join(p.zfill(2) for p in raw[:10].split(" ")[0].split("-"))), ""
        except ValueError:
            return None, f"'{raw}' is not a valid date"
    if _SERIAL.match(raw):
        serial = float(raw)
        if 1 <= serial <= 2_958_465:
            return EXCEL_EPOCH + timedelta(days=int(serial)), ""
    return None, f"'{raw}' is not a date: write it as YYYY-MM-DD (e.g. 2027-01-31)"


@dataclass
class _Context:
    """What checking a row needs, read once per preview."""

    partners: dict[str, int]
    existing: dict[tuple, dict[str, Any]]
    checks: set[tuple]
    countries: dict[str, str]
    codes: set[str]
    registry: list
    today: date
    sites: dict[int, dict[str, int]]  # partner id -> site MID, name or address (as keys) -> site id
    site_labels: dict[int, dict[int, str]]  # partner id -> site id -> label


def _context(session: Session, today: date) -> _Context:
    partners = {code.upper(): pid for code, pid in session.exec(select(Partner.partner_code, Partner.id)).all()}
    existing = {}
    for cert in session.exec(select(Certificate)).all():
        existing[(cert.partner_id, cert.program, cert.issuing_country, cert.certificate_number)] = {
            "id": cert.id, "status": cert.status, **{f: getattr(cert, f) for f in records.FIELDS}}
    checks = {(cid, on, str(method)) for cid, on, method in session.exec(
        select(CertificateVerification.certificate_id, CertificateVerification.verified_on,
               CertificateVerification.method)).all()}
    verified = {cid for cid, _, _ in checks}
    named: dict[int, list[int]] = {}
    for cid, site_id in session.exec(select(CertificateSite.certificate_id, CertificateSite.site_id)
                                     .order_by(CertificateSite.site_id)).all():
        named.setdefault(cid, []).append(site_id)
    for values in existing.values():
        values["has_check"] = values["id"] in verified
        values["site_ids"] = [] if values["covers_all_sites"] else named.get(values["id"], [])
    sites: dict[int, dict[str, int]] = {}
    labels: dict[int, dict[int, str]] = {}
    for site in session.exec(select(PartnerSite).order_by(PartnerSite.id)).all():
        keys = sites.setdefault(site.partner_id, {})
        for key in (_site_key(site.address), _site_key(site.name), _mid_key(site.mid)):
            if key:
                keys.setdefault(key, site.id)  # a MID, else the first site of that name or address
        labels.setdefault(site.partner_id, {})[site.id] = records.site_label(site.name, site.mid, site.city,
                                                                              site.status)
    return _Context(partners=partners, existing=existing, checks=checks, countries=country_lookup(session=session),
                    codes=set(session.exec(select(Country.iso2)).all()),
                    registry=records.registry_rows(session=session), today=today, sites=sites, site_labels=labels)


def _site_key(text: str | None) -> str:
    return "text:" + " ".join(str(text).casefold().split()) if text and str(text).strip() else ""


def _mid_key(text: str | None) -> str:
    mid = re.sub(r"[^A-Z0-9]", "", str(text or "").upper())
    return "mid:" + mid if mid else ""


def _sites_named(text: str, keys: dict[str, int]) -> tuple[list[int], list[str]]:
    """The site ids a covered_sites cell names (MIDs, site names or addresses, separated by ; or | or commas), and
    the parts that are no site of the partner."""
    found, missed = set(), []
    for part in (p.strip() for p in _SITE_PARTS.split(text)):
        if not part:
            continue
        if _site_key(part) in keys:
            found.add(keys[_site_key(part)])
            continue
        for word in (w.strip() for w in part.split(",")):
            site = keys.get(_mid_key(word)) or keys.get(_site_key(word))
            if site:
                found.add(site)
            elif word:
                missed.append(word)
    return sorted(found), missed


def preview_certificates(*, session: Session, files: list[tuple[str, bytes]],
                         today: date | None = None) -> CertificatePreview:
    """Read and check certificate files; writes nothing. One row per file row with its action, every problem
    (file, row, column, value, message) and what `apply_certificates` would write."""
    ctx = _context(session, today or date.today())
    problems: list[Problem] = []
    file_info: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    seen: dict[tuple, tuple[str, int]] = {}
    for filename, data in files:
        info = {"file": filename, "sha256": sha256_hex(data), "rows": 0}
        file_info.append(info)
        try:
            table = read_table(filename=filename, data=data, sheet="Certificates",
                               header_keys=[header_key(a) for a in COLUMN_ALIASES["partner_code"]])
        except UnreadableFile as exc:
            problems.append(exc.problem)
            continue
        info["rows"] = len(table.cells)
        problems.extend(table.problems)
        _read_rows(table, ctx, problems, rows, plans, seen)
    errors = {(p.file, p.row) for p in problems if p.severity == "error"}
    for row in rows:
        if (row["file"], row["row"]) in errors:
            row["action"] = "error"
    kept = [p for p in plans if (p["file"], p["row"]) not in errors]
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS)
    ordered = problems_frame(problems)
    order = {f["file"]: i for i, f in enumerate(file_info)}
    ordered = (ordered.assign(_file=ordered["file"].map(order)).sort_values(["_file", "row"], kind="stable")
               .drop(columns="_file").reset_index(drop=True))
    return CertificatePreview(files=file_info, rows=frame, problems=ordered, plans=kept)


def _columns(table: Table, problems: list[Problem]) -> dict[str, int] | None:
    name, columns = table.filename, {}
    for target, aliases in COLUMN_ALIASES.items():
        positions = table.positions(*(header_key(a) for a in aliases))
        if len(positions) > 1:
            labels = ", ".join(table.label(p) for p in positions)
            problems.append(Problem(name, table.header_row, labels, "",
                                    f"More than one column could be '{target}' ({labels}); keep one."))
            return None
        if positions:
            columns[target] = positions[0]
    for position in range(len(table.keys)):
        if position not in columns.values():
            problems.append(Problem(name, table.header_row, table.label(position), "",
                                    "This column is not imported (unknown column name).", "warning"))
    missing = [c for c in ("partner_code", "program", "certificate_number") if c not in columns]
    if missing:
        problems.append(Problem(name, table.header_row, "", ", ".join(table.headers)[:200],
                                f"Required columns missing: {', '.join(missing)}."))
        return None
    if table.cells.empty:
        problems.append(Problem(name, table.header_row, "", "", "The file has a header row but no data rows."))
        return None
    return columns


def _read_rows(table: Table, ctx: _Context, problems: list[Problem], rows: list[dict], plans: list[dict],
               seen: dict[tuple, tuple[str, int]]) -> None:
    columns = _columns(table, problems)
    if columns is None:
        return
    name = table.filename
    labels = {target: table.label(p) for target, p in columns.items()}
    for number, cells in zip(table.cells.index, table.cells.itertuples(index=False), strict=True):
        row = int(number)
        raw = {target: str(cells[p]).strip() for target, p in columns.items()}
        given = {k: v for k, v in raw.items() if v != ""}
        mistakes: dict[str, str] = {}

        def fail(target: str, message: str, mistakes=mistakes) -> None:
            mistakes.setdefault(target, message)

        record = {"file": name, "row": row, "partner_code": given.get("partner_code", "").upper(),
                  "program": given.get("program", "").upper(), "issuing_country": "",
                  "certificate_number": " ".join(given.get("certificate_number", "").split()), "action": "new",
                  "changes": ""}
        rows.append(record)
        partner_id = ctx.partners.get(record["partner_code"])
        if not record["partner_code"]:
            fail("partner_code", "required")
        elif partner_id is None:
            fail("partner_code", f"no partner with code {record['partner_code']}")
        country = given.get("issuing_country", "")
        if country:
            iso2 = ctx.countries.get(country.casefold())
            if iso2 is None:
                fail("issuing_country", f"'{country}' is not a country: use the ISO code (e.g. DE) or English name")
            country = iso2 or ""
        elif record["program"] == CTPAT:
            country = "US"
        record["issuing_country"] = country
        values: dict[str, Any] = {}
        for target in ("valid_from", "valid_to"):
            if target in given:
                if target == "valid_to" and given[target].casefold() in NO_EXPIRY:
                    values["no_expiry"], values["valid_to"] = True, None
                    continue
                day, message = parse_day(given[target])
                if message:
                    fail(target, message)
                values[target] = day
                if target == "valid_to":
                    values["no_expiry"] = False
        for target in ("certificate_type", "notes"):
            if target in given:
                values[target] = given[target]
        if "covered_sites" in given:
            if given["covered_sites"].casefold().strip() in ALL_SITES:
                values["covers_all_sites"], values["site_ids"], values["covered_sites"] = True, [], ""
            else:
                site_ids, missed = _sites_named(given["covered_sites"], ctx.sites.get(partner_id, {}))
                if missed and partner_id is not None:
                    fail("covered_sites", f"{', '.join(repr(m) for m in missed)} is no site of partner "
                                          f"{record['partner_code']}: give each site's MID or name, separated by ;")
                values["covers_all_sites"], values["site_ids"], values["covered_sites"] = False, site_ids, ""
        key = (partner_id, record["program"], country, record["certificate_number"])
        stored = ctx.existing.get(key)
        merged = {**({f: stored[f] for f in (*records.FIELDS, "site_ids")} if stored else {}),
                  "program": record["program"], "issuing_country": country,
                  "certificate_number": record["certificate_number"], **values}
        clean = None
        try:
            clean = records.clean_values(session=None, values=merged, registry=ctx.registry, countries=ctx.codes,
                                         sites=ctx.site_labels.get(partner_id, {}))
        except ValidationError as exc:
            for message in str(exc).split("; "):
                target, _, text = message.partition(": ")
                fail(target if target in COLUMN_ALIASES or target in ("no_expiry",) else "", text or message)
        check = _check(given, ctx, fail)
        status, since = _status(given, stored, check, clean, ctx, fail)
        if partner_id is not None and record["certificate_number"] and country:
            if key in seen:
                first_file, first_row = seen[key]
                where = f"row {first_row}" + (f" of {first_file}" if first_file != name else "")
                fail("certificate_number", f"the same certificate is already in {where}")
            seen.setdefault(key, (name, row))
        for target, text in mistakes.items():
            column = labels.get(target, target or "")
            problems.append(Problem(name, row, column, raw.get(target, ""), text))
        if mistakes or clean is None:
            continue
        changes = {}
        if stored:
            changes = {f: (stored[f], clean[f]) for f in (*records.FIELDS, "site_ids") if stored[f] != clean[f]}
        if check and stored and (stored["id"], check[0], str(check[2])) in ctx.checks:
            check = None  # this check is stored already
        if status == (stored or {}).get("status"):
            status = None
        if stored and not changes and not check and not status:
            record["action"] = "unchanged"
            continue
        record["action"] = "update" if stored else "new"
        said = [f"{f}: {_shown(b)} → {_shown(a)}" for f, (b, a) in changes.items()]
        said += [f"check {check[0].isoformat()} ({check[2]})"] if check else []
        said += [f"status → {status}"] if status else []
        record["changes"] = "; ".join(said)
        plans.append({"file": name, "row": row, "partner_id": partner_id, "partner_code": record["partner_code"],
                      "certificate_id": stored["id"] if stored else None, "values": clean,
                      "before": {f: b for f, (b, _) in changes.items()},
                      "from_status": stored["status"] if stored else None, "status": status, "since": since,
                      "check": check})


def _check(given: dict[str, str], ctx: _Context, fail) -> tuple | None:
    """(verified_on, verified_by, method, reference) of the row's check, or None when it has none."""
    if "verified_on" not in given:
        for target in ("verification_method", "verified_by", "verification_reference"):
            if target in given:
                fail("verified_on", f"required with {target} (the day of the check)")
        return None
    method = METHODS.get(" ".join(given.get("verification_method", "").casefold().split()))
    if "verification_method" not in given:
        fail("verification_method", "required with verified_on: portal check, copy of certificate or customs "
                                    "confirmation")
        return None
    if method is None:
        fail("verification_method", f"'{given['verification_method']}' is not portal check, copy of certificate "
                                    "or customs confirmation")
        return None
    day, message = parse_day(given["verified_on"])
    if message:
        fail("verified_on", message)
        return None
    try:
        return records.clean_verification(day, given.get("verified_by", "") or "(file import)", method,
                                          given.get("verification_reference", ""), ctx.today)
    except ValidationError as exc:
        target, _, text = str(exc).partition(": ")
        fail(target if target in ("verified_on", "verified_by") else "verification_reference", text)
        return None


def _status(given: dict[str, str], stored: dict | None, check: tuple | None, clean: dict | None, ctx: _Context,
            fail) -> tuple[CertificateStatus | None, date | None]:
    """The status the row sets (None: follows from the check, or stays) and the day it takes effect."""
    now = stored["status"] if stored else S.claimed
    renewed = clean is not None and (clean["no_expiry"] or (clean["valid_to"] or date.min) >= ctx.today)
    if now == S.expired and renewed:
        now = S.claimed  # a later validity end recorded: claimed again until checked
    if check and now in (S.expired, S.revoked):
        fail("verified_on", f"a {now} certificate cannot be verified" + (
            ": give the renewed certificate's valid_to" if now == S.expired else ""))
        return None, None
    target = None
    if "status" in given:
        target = {s.value: s for s in S}.get(given["status"].casefold().strip())
        if target is None:
            fail("status", f"'{given['status']}' is not one of {', '.join(s.value for s in S)}")
            return None, None
    stored_now = stored["status"] if stored else S.claimed
    if target is None or target == S.verified:
        if target == S.verified and not check and not (stored and stored["has_check"] and now != S.claimed):
            fail("status", "verified needs a check: give verified_on and verification_method")
        if check and now in (S.claimed, S.suspended):
            return S.verified, check[0]
        if now != stored_now:
            return now, ctx.today  # renewed: claimed again
        return (target if target != now else None), None
    if target == S.claimed and now != S.claimed:
        fail("status", f"a {now} certificate cannot become a claim again")
        return None, None
    if now == S.revoked and target != S.revoked:
        fail("status", "a revoked certificate stays revoked")
        return None, None
    since = ctx.today
    if "status_since" in given:
        since, message = parse_day(given["status_since"])
        if message:
            fail("status_since", message)
    elif target == S.expired and clean and clean["valid_to"]:
        since = clean["valid_to"] + timedelta(days=1)
    return target, since


def _shown(value: Any) -> str:
    return "(blank)" if value in (None, "") else str(value)


def apply_certificates(*, session: Session, actor: Actor, preview: CertificatePreview,
                       today: date | None = None) -> list[ImportRecord]:
    """Write a checked preview in the caller's transaction: new certificates, corrections, checks, status changes,
    events, import records and audit; then partners no longer covered join the open cycles they were exempt from.
    Raises ValidationError when the preview has errors or the stored certificates changed since (nothing written)."""
    require_write(actor)
    preview.refuse_if_errors()
    today = today or date.today()
    now = utcnow()
    new = [p for p in preview.plans if p["certificate_id"] is None]
    if new:
        keys = {(p["partner_id"], p["values"]["program"], p["values"]["issuing_country"],
                 p["values"]["certificate_number"]) for p in new}
        taken = set(session.exec(select(Certificate.partner_id, Certificate.program, Certificate.issuing_country,
                                        Certificate.certificate_number)
                                 .where(col(Certificate.partner_id).in_({k[0] for k in keys}))).all()) & keys
        if taken:
            raise ValidationError(f"{len(taken)} of these certificates were recorded since the preview; preview again.")
        session.exec(insert(Certificate), params=[
            {**{f: v for f, v in p["values"].items() if f != "site_ids"}, "partner_id": p["partner_id"],
             "status": S.claimed, "created_by": actor.username, "created_at": now, "updated_at": now} for p in new])
        ids = {(r.partner_id, r.program, r.issuing_country, r.certificate_number): r.id for r in session.exec(
            select(Certificate.id, Certificate.partner_id, Certificate.program, Certificate.issuing_country,
                   Certificate.certificate_number).where(col(Certificate.partner_id).in_({k[0] for k in keys})))}
        for p in new:
            v = p["values"]
            p["certificate_id"] = ids[(p["partner_id"], v["program"], v["issuing_country"], v["certificate_number"])]
            p["from_status"] = S.claimed
    events: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    # The sites of every certificate whose sites are new or changed: replaced by what the file names.
    named = [p for p in preview.plans if p in new or "site_ids" in p["before"]]
    for start in range(0, len(named), 5_000):
        session.exec(delete(CertificateSite).where(col(CertificateSite.certificate_id).in_(
            [p["certificate_id"] for p in named[start:start + 5_000]])))
    links = [{"certificate_id": p["certificate_id"], "site_id": site_id} for p in named
             for site_id in p["values"]["site_ids"]]
    if links:
        session.exec(insert(CertificateSite), params=links)
    for p in preview.plans:
        base = {"certificate_id": p["certificate_id"], "partner_id": p["partner_id"], "recorded_by": actor.username,
                "recorded_at": now}
        if p in new:
            events.append({**base, "kind": E.recorded, "effective_on": today, "from_status": "",
                           "to_status": S.claimed, "note": f"File import ({p['file']}, row {p['row']})"})
        elif p["before"]:
            changes.append({"id": p["certificate_id"], **{f: p["values"][f] for f in p["before"] if f != "site_ids"},
                            "updated_at": now})
            events.append({**base, "kind": E.corrected, "effective_on": today, "from_status": "", "to_status": "",
                           "note": "Changed by file import: " + ", ".join(p["before"])})
        if p["check"]:
            day, by, method, reference = p["check"]
            by = by if by != "(file import)" else actor.username
            checks.append({"certificate_id": p["certificate_id"], "verified_on": day, "verified_by": by,
                           "method": method, "reference": reference, "evidence_filename": "",
                           "evidence_content_type": "", "recorded_by": actor.username, "recorded_at": now})
            if p["status"] != S.verified:
                events.append({**base, "kind": E.verified, "effective_on": day, "from_status": p["from_status"],
                               "to_status": p["from_status"], "note": f"{method} by {by}"})
        if p["status"]:
            if p["status"] in ENDED_STATUSES:
                kind = E(p["status"].value)
            elif p["status"] == S.claimed:
                kind = E.renewed
            else:
                kind = E.reinstated if p["from_status"] == S.suspended else E.verified
            events.append({**base, "kind": kind, "effective_on": p["since"] or today,
                           "from_status": p["from_status"], "to_status": p["status"],
                           "note": f"File import ({p['file']}, row {p['row']})"})
            changes.append({"id": p["certificate_id"], "status": p["status"], "updated_at": now})
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for change in changes:  # grouped by the columns they set: one executemany per group
        groups.setdefault(tuple(sorted(change)), []).append(change)
    for group in groups.values():
        session.exec(update(Certificate), params=group)
    if checks:
        session.exec(insert(CertificateVerification), params=checks)
    if events:
        session.exec(insert(CertificateEvent), params=events)
    result = _records(session, actor, preview)
    touched = {p["partner_id"] for p in preview.plans if p["before"] or p["status"] in ENDED_STATUSES}
    exemption.join_uncovered(session=session, actor=actor, partner_ids=touched, today=today,
                             why="certificate changed by file import")
    return result


def _records(session: Session, actor: Actor, preview: CertificatePreview) -> list[ImportRecord]:
    result = []
    for info in preview.files:
        mine = preview.rows[preview.rows["file"] == info["file"]]
        counts = mine["action"].value_counts()
        checks = sum(1 for p in preview.plans if p["file"] == info["file"] and p["check"])
        record = ImportRecord(kind="certificates", filename=info["file"][:255], sha256=info["sha256"],
                              username=actor.username, rows=info["rows"], created=int(counts.get("new", 0)),
                              changed=int(counts.get("update", 0)), unchanged=int(counts.get("unchanged", 0)))
        session.add(record)
        session.flush()
        audit.record(session=session, actor=actor, action="import", entity="certificates", entity_id=record.id,
                     summary=(f"Imported certificates from {info['file']}: {record.created} new, {record.changed} "
                              f"updated, {record.unchanged} unchanged, {checks} checks"),
                     after={"file": info["file"], "sha256": info["sha256"],
                            "new": [f"{r.partner_code} {r.program} {r.certificate_number}"
                                    for r in mine[mine["action"] == "new"].itertuples()],
                            "updated": [f"{r.partner_code} {r.program} {r.certificate_number}: {r.changes}"
                                        for r in mine[mine["action"] == "update"].itertuples()]})
        result.append(record)
    return result
