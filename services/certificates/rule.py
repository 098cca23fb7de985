"""The one rule that decides whether a certificate counts on a given day: for exemption and for the scoring credit.

A certificate counts on a day when all of these hold (CTPAT domain notes, section 8; MSC 3.4 and CBP's FAQ ask
for monitoring of a partner's on-going status):

1. its program is CTPAT, or it is **mutually recognized**: its program code and issuing country match an
   arrangement in the registry that is confirmed, in force on the day, and covers its type (where the arrangement
   lists types: AEO-C never counts under the EU or UK arrangements, a Mexican IVA/IEPS certification never does);
2. its status is verified (a claim does not count; suspended, revoked and expired end it at once);
3. it is valid on the day: from its valid-from day through its valid-to day, or with "no expiry" chosen;
4. it was verified on or before the day, no more than the re-check interval earlier (default 90 days).

The status is the certificate's status as recorded now; dates (validity, verifications, arrangements) are read as
of the day. A certificate that counts covers the partner as a whole only when it covers all of the partner's
sites; one that names sites covers those sites only. A covered partner is exempt from the questionnaire, never
from the threat and risk ratings, and a certificate says nothing about forced labour (MSC 3.9).

``evaluate`` is the rule itself: a pure function over frames (no database), so the scoring module can call it with
its own inputs. ``counts_on`` loads what it needs with a handful of queries, whatever the number of certificates.
"""

from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import Certificate, CertificateVerification, Country, MraProgram, Partner
from models.certificate import CTPAT, CertificateStatus
from services.certificates import settings as rule_settings

CERTIFICATE_COLUMNS = ["certificate_id", "partner_id", "program", "issuing_country", "certificate_number",
                       "certificate_type", "status", "valid_from", "valid_to", "no_expiry", "covers_all_sites",
                       "last_verified"]
PROGRAM_COLUMNS = ["arrangement_id", "partner_country", "program_name", "acronym", "codes", "country_codes",
                   "certificate_types", "types_counted", "confirmed", "in_force_from", "in_force_until"]
RESULT_COLUMNS = [*CERTIFICATE_COLUMNS, "recheck_by", "recognition", "arrangement_id", "arrangement", "counts",
                  "covers_partner", "why"]
COVERAGE_COLUMNS = ["partner_id", "covered", "recognition", "certificate_id", "reason"]
EXEMPT_REASON_LIMIT = 300  # Assignment.exempt_reason
_FOREVER = pd.Timestamp("2200-01-01")  # sorts "no expiry" after every real valid-to date


class Recognition(StrEnum):
    """On what basis a certificate can count."""

    ctpat = "CTPAT"
    mutual = "mutual recognition"
    none = "not recognized"


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce")


def _iso(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _isos(values: pd.Series) -> pd.Series:
    """Dates as ISO text (empty when missing), as text even when the series is empty."""
    return pd.Series([_iso(v) for v in values], index=values.index, dtype=object)


def _words(values) -> list[str]:
    return str(values or "").upper().split()


def _arrangements(certs: pd.DataFrame, programs: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """For each foreign certificate with a matching arrangement: the best match and what stops it (if anything)."""
    if certs.empty or programs.empty:
        return pd.DataFrame(columns=["certificate_id", "arrangement_id", "arrangement", "problem"])
    registry = programs.assign(code=programs["codes"].map(_words), country=programs["country_codes"].map(_words))
    registry = registry.explode("code").explode("country").dropna(subset=["code", "country"])
    matches = certs[["certificate_id", "program_key", "issuing_country", "type_key"]].merge(
        registry, left_on=["program_key", "issuing_country"], right_on=["code", "country"])
    if matches.empty:
        return pd.DataFrame(columns=["certificate_id", "arrangement_id", "arrangement", "problem"])
    starts, ends = _dates(matches["in_force_from"]), _dates(matches["in_force_until"])
    issued = matches["certificate_types"].map(_words)
    counted = matches["types_counted"].map(_words)
    has_types = issued.map(len) > 0
    covered = [kind in allowed for kind, allowed in zip(matches["type_key"], counted, strict=True)]
    name = matches["partner_country"]
    counted_text = counted.map(lambda t: ", ".join(t) or "none")
    conditions = [
        ~matches["confirmed"].astype(bool),
        starts.notna() & (starts > day),
        ends.notna() & (ends < day),
        has_types & matches["type_key"].eq(""),
        has_types & ~np.array(covered, dtype=bool),
    ]
    texts = [
        "the " + name + " arrangement is not confirmed (it counts once an admin confirms it)",
        "the " + name + " arrangement is in force only from " + _isos(starts),
        "the " + name + " arrangement ended on " + _isos(ends),
        "its type is not recorded: under the " + name + " arrangement only " + counted_text + " count",
        matches["type_key"] + " does not count under the " + name + " arrangement (only " + counted_text + " do)",
    ]
    matches["problem"] = np.select(conditions, texts, default="")
    matches["rank"] = np.select(conditions, range(len(conditions), 0, -1), default=len(conditions) + 1)
    best = matches.sort_values(["certificate_id", "rank"], ascending=[True, False], kind="stable")
    best = best.drop_duplicates("certificate_id")
    return best.rename(columns={"partner_country": "arrangement"})[
        ["certificate_id", "arrangement_id", "arrangement", "problem"]]


def evaluate(certificates: pd.DataFrame, programs: pd.DataFrame, *, day: date, recheck_days: int) -> pd.DataFrame:
    """The rule over many certificates at once (no database): one row per certificate with the RESULT_COLUMNS.

    `certificates` has CERTIFICATE_COLUMNS (`last_verified`: the latest verification on or before the day, or
    missing), `programs` the registry with PROGRAM_COLUMNS. `counts` says whether the certificate counts on the
    day, `covers_partner` whether it then covers the partner as a whole, `why` the basis or every reason it does not.
    """
    day = pd.Timestamp(day)
    c = certificates[CERTIFICATE_COLUMNS].reset_index(drop=True).copy()
    for column in ("valid_from", "valid_to", "last_verified"):
        c[column] = _dates(c[column])
    c["program_key"] = c["program"].fillna("").str.strip().str.upper()
    c["type_key"] = c["certificate_type"].fillna("").str.strip().str.upper()
    c["no_expiry"] = c["no_expiry"].fillna(False).astype(bool)
    c["covers_all_sites"] = c["covers_all_sites"].fillna(True).astype(bool)
    is_ctpat = c["program_key"].eq(CTPAT)

    found = _arrangements(c[~is_ctpat], programs, day).set_index("certificate_id")
    c["arrangement_id"] = c["certificate_id"].map(found["arrangement_id"])
    c["arrangement"] = c["certificate_id"].map(found["arrangement"]).astype(object).where(lambda a: a.notna(), "")
    problem = c["certificate_id"].map(found["problem"]).astype(object)
    unmatched = ("no arrangement in the registry covers " + c["program_key"] + " certificates issued in "
                 + c["issuing_country"])
    recognition_problem = problem.where(problem.notna(), unmatched).where(~is_ctpat, "")
    c["recognition"] = np.where(is_ctpat, Recognition.ctpat.value,
                                np.where(recognition_problem.eq(""), Recognition.mutual.value, Recognition.none.value))

    status = c["status"].astype(str)
    recheck = pd.to_timedelta(recheck_days, unit="D")
    c["recheck_by"] = c["last_verified"] + recheck
    past_end = ~c["no_expiry"] & (c["valid_to"] < day)
    verified = status.eq(CertificateStatus.verified)
    problems = [
        recognition_problem,
        pd.Series(np.select([status.eq(CertificateStatus.claimed),
                             status.eq(CertificateStatus.expired) & past_end, ~verified],
                            ["the claim has not been verified", "", "it is " + status], default=""), index=c.index),
        ("it is valid only from " + _isos(c["valid_from"])).where(c["valid_from"] > day, ""),
        ("it expired after " + _isos(c["valid_to"])).where(past_end, ""),
        pd.Series(np.where(~c["no_expiry"] & c["valid_to"].isna(), "its validity end is not recorded", ""),
                  index=c.index),
        pd.Series(np.where(c["last_verified"].isna() & verified, f"it was not verified on or before {_iso(day)}",
                           ""), index=c.index),
        # Only for a verified certificate: for an ended one a re-check is not what is missing.
        ("its last verification (" + _isos(c["last_verified"]) + f") is more than {recheck_days} days old: "
         "re-check due").where(verified & c["last_verified"].notna() & (c["recheck_by"] < day), ""),
    ]
    stacked = pd.concat(problems, axis=1).fillna("")
    c["counts"] = stacked.eq("").all(axis=1)
    c["covers_partner"] = c["counts"] & c["covers_all_sites"]
    reasons = ["; ".join(p for p in row if p) for row in stacked.itertuples(index=False)]
    c["why"] = [_basis(r) if ok else reason for r, ok, reason in zip(c.itertuples(), c["counts"], reasons,
                                                                     strict=True)]
    return c[RESULT_COLUMNS]


def certificate_name(program: str, certificate_type: str) -> str:
    """How people name a certificate: "AEO-F", "OEA", "CTPAT", "OEA IVA-IEPS"."""
    if not certificate_type:
        return program
    return certificate_type if certificate_type.startswith(program) else f"{program} {certificate_type}"


def _basis(r) -> str:
    """Why a counting certificate counts, in words (also the exemption reason)."""
    if r.recognition == Recognition.ctpat:
        head = f"CTPAT certificate {r.certificate_number}"
    else:
        head = (f"{certificate_name(r.program, r.certificate_type)} certificate {r.certificate_number} "
                f"(mutually recognized: {r.arrangement})")
    validity = "no expiry" if r.no_expiry else f"valid until {_iso(r.valid_to)}"
    text = f"{head}, {validity}, verified {_iso(r.last_verified)} (re-check by {_iso(r.recheck_by)})"
    if not r.covers_all_sites:
        text += "; covers named sites only, not the partner as a whole"
    return text


def load_programs(*, session: Session) -> pd.DataFrame:
    """The registry as the rule reads it."""
    fields = [MraProgram.id, MraProgram.partner_country, MraProgram.program_name, MraProgram.acronym,
              MraProgram.codes, MraProgram.country_codes, MraProgram.certificate_types, MraProgram.types_counted,
              MraProgram.confirmed, MraProgram.in_force_from, MraProgram.in_force_until]
    return pd.DataFrame([tuple(r) for r in session.exec(select(*fields)).all()], columns=PROGRAM_COLUMNS)


def load_certificates(*, session: Session, day: date, partner_ids=None, certificate_ids=None,
                      active_only: bool = False) -> pd.DataFrame:
    """Certificates with their latest verification on or before the day (CERTIFICATE_COLUMNS); two queries."""
    fields = [Certificate.id, Certificate.partner_id, Certificate.program, Certificate.issuing_country,
              Certificate.certificate_number, Certificate.certificate_type, Certificate.status,
              Certificate.valid_from, Certificate.valid_to, Certificate.no_expiry, Certificate.covers_all_sites]
    stmt = select(*fields).order_by(Certificate.id)
    if certificate_ids is not None:
        stmt = stmt.where(col(Certificate.id).in_([int(i) for i in certificate_ids]))
    if active_only:
        stmt = stmt.join(Partner, col(Partner.id) == Certificate.partner_id).where(Partner.status == "active")
    frame = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=CERTIFICATE_COLUMNS[:-1])
    if partner_ids is not None:
        frame = frame[frame["partner_id"].isin([int(p) for p in partner_ids])]
    latest = dict(session.exec(
        select(CertificateVerification.certificate_id, func.max(CertificateVerification.verified_on))
        .where(CertificateVerification.verified_on <= day)
        .group_by(CertificateVerification.certificate_id)).all())
    frame["last_verified"] = frame["certificate_id"].map(latest)
    return frame.reset_index(drop=True)


def counts_on(*, session: Session, day: date, partner_ids=None, certificate_ids=None,
              recheck_days: int | None = None, active_only: bool = False) -> pd.DataFrame:
    """Whether each certificate (of the given partners or ids, else all) counts on the day: evaluate's result."""
    if recheck_days is None:
        recheck_days = rule_settings.current(session=session).recheck_days
    certs = load_certificates(session=session, day=day, partner_ids=partner_ids, certificate_ids=certificate_ids,
                              active_only=active_only)
    return evaluate(certs, load_programs(session=session), day=day, recheck_days=recheck_days)


def best_per_partner(results: pd.DataFrame) -> pd.DataFrame:
    """One row per partner from evaluate's result: covered or not, and the certificate that decides it.

    The deciding certificate is one that covers the partner (CTPAT first, then the one valid longest); for a
    partner that is not covered, the one that came closest (counts for named sites, then fewest reasons).
    """
    if results.empty:
        return pd.DataFrame({"partner_id": pd.Series(dtype=int), "covered": pd.Series(dtype=bool),
                             "recognition": pd.Series(dtype=object), "certificate_id": pd.Series(dtype=int),
                             "reason": pd.Series(dtype=object)})
    ranked = results.assign(
        _ctpat=results["recognition"].eq(Recognition.ctpat),
        _until=results["valid_to"].where(~results["no_expiry"].astype(bool), _FOREVER),
        _reasons=results["why"].str.count(";"),
    ).sort_values(["partner_id", "covers_partner", "counts", "_ctpat", "_reasons", "_until", "certificate_id"],
                  ascending=[True, False, False, False, True, False, True], kind="stable")
    best = ranked.drop_duplicates("partner_id")
    return pd.DataFrame({
        "partner_id": best["partner_id"].astype(int).to_numpy(),
        "covered": best["covers_partner"].astype(bool).to_numpy(),
        "recognition": best["recognition"].to_numpy(),
        "certificate_id": best["certificate_id"].astype(int).to_numpy(),
        "reason": best["why"].to_numpy(),
    })


def partner_coverage(*, session: Session, day: date, partner_ids=None) -> pd.DataFrame:
    """Per partner holding any certificate: whether it is covered on the day (COVERAGE_COLUMNS)."""
    return best_per_partner(counts_on(session=session, day=day, partner_ids=partner_ids))


def exemptions(*, session: Session, partner_ids, day: date) -> dict[int, str]:
    """Partner id -> exemption reason, for those of the partners a certificate covers on the day."""
    coverage = partner_coverage(session=session, day=day, partner_ids=partner_ids)
    covered = coverage.loc[coverage["covered"]]
    return {int(p): r[:EXEMPT_REASON_LIMIT] for p, r in zip(covered["partner_id"], covered["reason"], strict=True)}


def explain(*, session: Session, certificate_id: int, day: date) -> str:
    """Whether one certificate counts on the day, in words a manager understands, with the registry's caveats."""
    settings = rule_settings.current(session=session)
    results = counts_on(session=session, day=day, certificate_ids=[certificate_id],
                        recheck_days=settings.recheck_days)
    if results.empty:
        return f"There is no certificate {certificate_id}."
    r = results.iloc[0]
    country = session.get(Country, r["issuing_country"])
    issued = f"{country.name} ({r['issuing_country']})" if country else r["issuing_country"]
    lines = [f"{certificate_name(r['program'], r['certificate_type'])} certificate {r['certificate_number']}, "
             f"issued in {issued}; status {r['status']}."]
    if r["recognition"] == Recognition.ctpat:
        lines.append("CTPAT certificates count without an arrangement.")
    elif pd.notna(r["arrangement_id"]):
        program = session.get(MraProgram, int(r["arrangement_id"]))
        counted = program.types_counted or "every type"
        lines.append(f"Matches the {program.partner_country} arrangement ({program.program_name}); types that "
                     f"count: {counted}. {program.types_note}".strip())
        if program.caveat:
            lines.append(f"Caveat: {program.caveat}")
    validity = "no expiry (re-checked like any other)" if r["no_expiry"] else (
        f"valid through {_iso(r['valid_to'])}" if pd.notna(r["valid_to"]) else "validity end not recorded")
    if pd.notna(r["valid_from"]):
        validity = f"valid from {_iso(r['valid_from'])}, " + validity
    lines.append(validity[0].upper() + validity[1:] + ".")
    if pd.notna(r["last_verified"]):
        lines.append(f"Last verified {_iso(r['last_verified'])}; the rule wants a check every "
                     f"{settings.recheck_days} days, so the next is due by {_iso(r['recheck_by'])}.")
    else:
        lines.append("Never verified.")
    if r["counts"] and r["covers_partner"]:
        lines.append(f"It counts on {_iso(day)}: the partner is exempt from the questionnaire and gets the scoring "
                     "credit, but is still rated for threat and risk. It says nothing about forced labour "
                     "(MSC 3.9).")
    elif r["counts"]:
        lines.append(f"It counts on {_iso(day)} for the sites it names only, so it does not exempt the partner.")
    else:
        lines.append(f"It does not count on {_iso(day)}: {r['why']}.")
    return " ".join(lines)
