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
of the day. A certificate that counts covers the partner as a whole when it covers all of the partner's sites: it
says so, or the sites it names include every active site of the partner; otherwise it covers the sites it names only
(``site_coverage`` gives the coverage per site, for the scoring and the lane map). A covered partner is exempt from
the questionnaire, never from the threat and risk ratings, and a certificate says nothing about forced labour
(MSC 3.9).

``evaluate`` is the rule itself: a pure function over frames (no database), so the scoring module can call it with
its own inputs. ``counts_on`` loads what it needs with a handful of queries, whatever the number of certificates.
"""

from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import Certificate, CertificateSite, CertificateVerification, Country, MraProgram, Partner, PartnerSite
from models.certificate import CTPAT, CertificateStatus
from services.certificates import settings as rule_settings

CERTIFICATE_COLUMNS = ["certificate_id", "partner_id", "program", "issuing_country", "certificate_number",
                       "certificate_type", "status", "valid_from", "valid_to", "no_expiry", "covers_all_sites",
                       "last_verified", "active_sites", "named_active_sites"]
PROGRAM_COLUMNS = ["arrangement_id", "partner_country", "program_name", "acronym", "codes", "country_codes",
                   "certificate_types", "types_counted", "confirmed", "in_force_from", "in_force_until"]
RESULT_COLUMNS = [*CERTIFICATE_COLUMNS, "recheck_by", "recognition", "arrangement_id", "arrangement", "counts",
                  "covers_partner", "why"]
COVERAGE_COLUMNS = ["partner_id", "covered", "recognition", "certificate_id", "reason"]
SITE_COVERAGE_COLUMNS = ["site_id", "partner_id", "site_status", "covered", "recognition", "certificate_id", "reason"]
EXEMPT_REASON_LIMIT = 300  # Assignment.exempt_reason
_FOREVER = pd.Timestamp("2200-01-01")  # sorts "no expiry" after every real valid-to date


class Recognition(StrEnum):
    """On what basis a certificate can count."""

    ctpat = "CTPAT"
    mutual = "mutual recognition"
    none = "not recognized"


def _days(values) -> np.ndarray:
    """Dates (date, Timestamp, text or missing) as datetime64[D], NaT where missing."""
    return pd.to_datetime(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype="datetime64[D]")


def _iso(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _isos(days: np.ndarray) -> np.ndarray:
    """datetime64[D] as ISO text, empty where missing (object array)."""
    text = np.datetime_as_string(days).astype(object)
    text[np.isnat(days)] = ""
    return text


def _strings(values: pd.Series, key: bool = False) -> np.ndarray:
    """Text (missing as "") in an object array of Python strings, fast to join, unlike a pandas string column;
    with key, stripped and in capitals."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    if key:
        text = text.str.strip().str.upper()
    return text.to_numpy(dtype=object)


def _words(values) -> list[str]:
    return str(values or "").upper().split()


def _registry(programs: pd.DataFrame) -> dict[tuple[str, str], list[dict]]:
    """(program code, issuing country) -> the arrangements covering it, each with what the rule reads."""
    index: dict[tuple[str, str], list[dict]] = {}
    for p in programs.to_dict("records"):
        arrangement = {
            "id": p["arrangement_id"], "name": str(p["partner_country"]), "confirmed": bool(p["confirmed"]),
            "start": _days([p["in_force_from"]])[0], "end": _days([p["in_force_until"]])[0],
            "issued": _words(p["certificate_types"]), "counted": _words(p["types_counted"]),
        }
        for code in _words(p["codes"]):
            for country in _words(p["country_codes"]):
                index.setdefault((code, country), []).append(arrangement)
    return index


def _match(arrangement: dict, kind: str, day: np.datetime64) -> tuple[int, str]:
    """(0, "") when the arrangement recognises a certificate of this type on the day, else (rank, why not); a lower
    rank is a closer miss."""
    name, counted = arrangement["name"], ", ".join(arrangement["counted"]) or "none"
    if arrangement["issued"] and not kind:
        return 1, f"its type is not recorded: under the {name} arrangement only {counted} count"
    if arrangement["issued"] and kind not in arrangement["counted"]:
        return 2, f"{kind} does not count under the {name} arrangement (only {counted} do)"
    if not np.isnat(arrangement["end"]) and arrangement["end"] < day:
        return 3, f"the {name} arrangement ended on {_iso(arrangement['end'])}"
    if not np.isnat(arrangement["start"]) and arrangement["start"] > day:
        return 4, f"the {name} arrangement is in force only from {_iso(arrangement['start'])}"
    if not arrangement["confirmed"]:
        return 5, f"the {name} arrangement is not confirmed (it counts once an admin confirms it)"
    return 0, ""


def _recognition(program: np.ndarray, country: np.ndarray, kind: np.ndarray, programs: pd.DataFrame,
                 day: np.datetime64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per certificate: (recognition, arrangement id, arrangement name, why not recognised or "")."""
    index = _registry(programs)
    n = len(program)
    recognition = np.full(n, Recognition.none.value, dtype=object)
    arrangement_id = np.full(n, np.nan)
    arrangement = np.full(n, "", dtype=object)
    problem = np.full(n, "", dtype=object)
    for i in range(n):
        if program[i] == CTPAT:
            recognition[i] = Recognition.ctpat.value
            continue
        candidates = index.get((program[i], country[i]))
        if not candidates:
            problem[i] = f"no arrangement in the registry covers {program[i]} certificates issued in {country[i]}"
            continue
        rank, why, best = min(((*_match(a, kind[i], day), a) for a in candidates), key=lambda m: m[0])
        arrangement_id[i], arrangement[i], problem[i] = best["id"], best["name"], why
        if rank == 0:
            recognition[i] = Recognition.mutual.value
    return recognition, arrangement_id, arrangement, problem


def evaluate(certificates: pd.DataFrame, programs: pd.DataFrame, *, day: date, recheck_days: int,
             words: bool = True) -> pd.DataFrame:
    """The rule over many certificates at once (no database): one row per certificate with the RESULT_COLUMNS.

    `certificates` has CERTIFICATE_COLUMNS (`last_verified`: the latest verification on or before the day, or
    missing; `active_sites`: how many active sites the partner has, `named_active_sites`: how many of them a
    certificate that names sites names; without these two, such a certificate never covers the partner as a whole),
    `programs` the registry with PROGRAM_COLUMNS. `counts` says whether the certificate counts on the day,
    `covers_partner` whether it then covers the partner as a whole, and `why` (unless words=False, which is faster)
    the basis in words, or every reason it does not count.
    """
    today = np.datetime64(pd.Timestamp(day).date(), "D")
    n = len(certificates)
    program = _strings(certificates["program"], key=True)
    kind = _strings(certificates["certificate_type"], key=True)
    country = _strings(certificates["issuing_country"], key=True)
    status = _strings(certificates["status"])
    valid_from, valid_to = _days(certificates["valid_from"]), _days(certificates["valid_to"])
    last = _days(certificates["last_verified"])
    last[last > today] = np.datetime64("NaT")  # a later check says nothing of the day
    no_expiry = certificates["no_expiry"].fillna(False).astype(bool).to_numpy()
    all_sites = certificates["covers_all_sites"].fillna(True).astype(bool).to_numpy()
    active, named = (pd.to_numeric(certificates.get(c, pd.Series(0, index=certificates.index)), errors="coerce")
                     .fillna(0).astype(int).to_numpy() for c in ("active_sites", "named_active_sites"))
    names_every_site = ~all_sites & (active > 0) & (named >= active)
    recheck_by = last + np.timedelta64(int(recheck_days), "D")

    recognition, arrangement_id, arrangement, rec_problem = _recognition(program, country, kind, programs, today)
    verified, claimed = status == CertificateStatus.verified.value, status == CertificateStatus.claimed.value
    past_end = ~no_expiry & (valid_to < today)
    not_yet = valid_from > today
    no_end = ~no_expiry & np.isnat(valid_to)
    unchecked = verified & np.isnat(last)
    stale = verified & (recheck_by < today)
    counts = (recognition != Recognition.none.value) & verified & ~past_end & ~not_yet & ~no_end & ~unchecked & ~stale
    covers = counts & (all_sites | names_every_site)

    why = np.full(n, "", dtype=object)
    if words and n:
        problems = [
            rec_problem,
            np.where(claimed, "the claim has not been verified",
                     np.where(verified | ((status == CertificateStatus.expired.value) & past_end), "",
                              "it is " + status)),
            np.where(not_yet, "it is valid only from " + _isos(valid_from), ""),
            np.where(past_end, "it expired after " + _isos(valid_to), ""),
            np.where(no_end, "its validity end is not recorded", ""),
            np.where(unchecked, f"it was not verified on or before {_iso(today)}", ""),
            # Only for a verified certificate: for an ended one a re-check is not what is missing.
            np.where(stale, "its last verification (" + _isos(last) + f") is more than {recheck_days} days old: "
                     "re-check due", ""),
        ]
        reasons = np.full(n, "", dtype=object)
        for text in problems:
            text = text.astype(object)
            reasons = np.where(text == "", reasons, np.where(reasons == "", text, reasons + "; " + text))
        why = np.where(counts, _basis(program, kind, _strings(certificates["certificate_number"]), recognition,
                                      arrangement, no_expiry, valid_to, last, recheck_by, all_sites, active, named),
                       reasons)
    return pd.DataFrame({
        "certificate_id": certificates["certificate_id"].to_numpy(),
        "partner_id": certificates["partner_id"].to_numpy(),
        "program": program, "issuing_country": country,
        "certificate_number": _strings(certificates["certificate_number"]), "certificate_type": kind,
        "status": status, "valid_from": valid_from, "valid_to": valid_to, "no_expiry": no_expiry,
        "covers_all_sites": all_sites, "last_verified": last, "active_sites": active, "named_active_sites": named,
        "recheck_by": recheck_by, "recognition": recognition,
        "arrangement_id": arrangement_id, "arrangement": arrangement, "counts": counts, "covers_partner": covers,
        "why": why.astype(object),
    }, columns=RESULT_COLUMNS)


def certificate_name(program: str, certificate_type: str) -> str:
    """How people name a certificate: "AEO-F", "OEA", "CTPAT", "OEA IVA-IEPS"."""
    if not certificate_type:
        return program
    return certificate_type if certificate_type.startswith(program) else f"{program} {certificate_type}"


def _basis(program, kind, number, recognition, arrangement, no_expiry, valid_to, last, recheck_by,
           all_sites, active, named) -> np.ndarray:
    """Why each certificate counts, in words (the exemption reason); vectorised."""
    names = np.array([certificate_name(p, t) for p, t in zip(program, kind, strict=True)], dtype=object)
    head = np.where(recognition == Recognition.ctpat.value, "CTPAT certificate " + number,
                    names + " certificate " + number + " (mutually recognized: " + arrangement + ")")
    validity = np.where(no_expiry, "no expiry", "valid until " + _isos(valid_to))
    text = head + ", " + validity + ", verified " + _isos(last) + " (re-check by " + _isos(recheck_by) + ")"
    of_all, of_named = active.astype(str).astype(object), named.astype(str).astype(object)
    sites = np.where(
        (active > 0) & (named >= active), "; names every active site of the partner (" + of_all + ")",
        "; covers named sites only (" + of_named + " of the partner's " + of_all
        + " active sites), not the partner as a whole")
    return np.where(all_sites, text, text + sites)


def load_programs(*, session: Session) -> pd.DataFrame:
    """The registry as the rule reads it."""
    fields = [MraProgram.id, MraProgram.partner_country, MraProgram.program_name, MraProgram.acronym,
              MraProgram.codes, MraProgram.country_codes, MraProgram.certificate_types, MraProgram.types_counted,
              MraProgram.confirmed, MraProgram.in_force_from, MraProgram.in_force_until]
    return pd.DataFrame([tuple(r) for r in session.exec(select(*fields)).all()], columns=PROGRAM_COLUMNS)


def load_certificates(*, session: Session, day: date, partner_ids=None, certificate_ids=None,
                      active_only: bool = False) -> pd.DataFrame:
    """Certificates with their latest verification on or before the day and their partner's active sites named
    (CERTIFICATE_COLUMNS); four queries."""
    fields = [Certificate.id, Certificate.partner_id, Certificate.program, Certificate.issuing_country,
              Certificate.certificate_number, Certificate.certificate_type, Certificate.status,
              Certificate.valid_from, Certificate.valid_to, Certificate.no_expiry, Certificate.covers_all_sites]
    stmt = select(*fields).order_by(Certificate.id)
    if certificate_ids is not None:
        stmt = stmt.where(col(Certificate.id).in_([int(i) for i in certificate_ids]))
    if active_only:
        stmt = stmt.join(Partner, col(Partner.id) == Certificate.partner_id).where(Partner.status == "active")
    frame = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=CERTIFICATE_COLUMNS[:11])
    if partner_ids is not None:
        frame = frame[frame["partner_id"].isin([int(p) for p in partner_ids])]
    latest = dict(session.exec(
        select(CertificateVerification.certificate_id, func.max(CertificateVerification.verified_on))
        .where(CertificateVerification.verified_on <= day)
        .group_by(CertificateVerification.certificate_id)).all())
    frame["last_verified"] = frame["certificate_id"].map(latest)
    active = dict(session.exec(select(PartnerSite.partner_id, func.count()).where(PartnerSite.status == "active")
                               .group_by(PartnerSite.partner_id)).all())
    named = dict(session.exec(
        select(CertificateSite.certificate_id, func.count())
        .join(PartnerSite, col(PartnerSite.id) == CertificateSite.site_id)
        .join(Certificate, col(Certificate.id) == CertificateSite.certificate_id)
        .where(PartnerSite.status == "active", col(PartnerSite.partner_id) == Certificate.partner_id)
        .group_by(CertificateSite.certificate_id)).all())
    frame["active_sites"] = frame["partner_id"].map(active).fillna(0).astype(int)
    frame["named_active_sites"] = frame["certificate_id"].map(named).fillna(0).astype(int)
    return frame.reset_index(drop=True)


def counts_on(*, session: Session, day: date, partner_ids=None, certificate_ids=None,
              recheck_days: int | None = None, active_only: bool = False, words: bool = True) -> pd.DataFrame:
    """Whether each certificate (of the given partners or ids, else all) counts on the day: evaluate's result.

    Five queries whatever the number of certificates; the scoring credit can pass words=False (no texts, faster).
    """
    if recheck_days is None:
        recheck_days = rule_settings.current(session=session).recheck_days
    certs = load_certificates(session=session, day=day, partner_ids=partner_ids, certificate_ids=certificate_ids,
                              active_only=active_only)
    return evaluate(certs, load_programs(session=session), day=day, recheck_days=recheck_days, words=words)


def best_per_partner(results: pd.DataFrame) -> pd.DataFrame:
    """One row per partner from evaluate's result: covered or not, and the certificate that decides it.

    The deciding certificate is one that covers the partner (CTPAT first, then the one valid longest); for a
    partner that is not covered, the one that came closest (counts for named sites, then fewest reasons).
    """
    if results.empty:
        return pd.DataFrame({"partner_id": pd.Series(dtype=int), "covered": pd.Series(dtype=bool),
                             "recognition": pd.Series(dtype=object), "certificate_id": pd.Series(dtype=int),
                             "reason": pd.Series(dtype=object)})
    why = results["why"].to_numpy(dtype=object)
    until = results["valid_to"].to_numpy(dtype="datetime64[D]")
    until = np.where(results["no_expiry"].to_numpy(dtype=bool), np.datetime64(_FOREVER.date(), "D"), until)
    until_days = np.where(np.isnat(until), -10**9, until.astype("int64", copy=False))  # missing: sorts last
    # np.lexsort sorts by the last key first: partner, then covering, counting, CTPAT, fewest reasons, longest valid.
    order = np.lexsort((
        results["certificate_id"].to_numpy(), -until_days, np.array([w.count(";") for w in why]),
        ~(results["recognition"].to_numpy(dtype=object) == Recognition.ctpat.value),
        ~results["counts"].to_numpy(dtype=bool), ~results["covers_partner"].to_numpy(dtype=bool),
        results["partner_id"].to_numpy()))
    partner = results["partner_id"].to_numpy()[order]
    first = order[np.r_[True, partner[1:] != partner[:-1]]]
    best = results.iloc[first]
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


def evaluate_sites(results: pd.DataFrame, sites: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Coverage per site from evaluate's result (no database): one row per site with SITE_COVERAGE_COLUMNS.

    `sites` has site_id, partner_id, site_status; `links` certificate_id, site_id (the sites certificates name). A
    site is covered when a certificate of its partner counts on the day and covers all the partner's sites or names
    this one; the deciding certificate is CTPAT first, then the one valid longest. A site without one gets the
    reason of the closest certificate of its partner, or "no certificate recorded".
    """
    out = sites[["site_id", "partner_id", "site_status"]].copy()
    if results.empty or out.empty:
        out["covered"], out["recognition"] = False, Recognition.none.value
        out["certificate_id"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["reason"] = "no certificate recorded"
        return out[SITE_COVERAGE_COLUMNS]
    fields = ["certificate_id", "partner_id", "counts", "recognition", "valid_to", "no_expiry", "why"]
    every = results.loc[results["covers_all_sites"].astype(bool), fields].merge(
        out[["site_id", "partner_id"]], on="partner_id")
    named = results.loc[~results["covers_all_sites"].astype(bool), fields].merge(
        links[["certificate_id", "site_id"]], on="certificate_id").merge(
        out[["site_id", "partner_id"]], on=["site_id", "partner_id"])  # a link to another partner's site: none
    pairs = pd.concat([every, named], ignore_index=True)
    until = pd.to_datetime(pairs["valid_to"]).where(~pairs["no_expiry"].astype(bool), _FOREVER)
    pairs = pairs.assign(_ctpat=pairs["recognition"] == Recognition.ctpat.value, _until=until).sort_values(
        ["site_id", "counts", "_ctpat", "_until", "certificate_id"], ascending=[True, False, False, False, True],
        na_position="last", kind="stable").drop_duplicates("site_id")
    out = out.merge(pairs[["site_id", "counts", "recognition", "certificate_id", "why"]], on="site_id", how="left")
    partner_best = best_per_partner(results).set_index("partner_id")["reason"]
    closest = out["partner_id"].map(partner_best)
    out["covered"] = out["counts"].astype("boolean").fillna(False).astype(bool)
    out["recognition"] = np.where(out["covered"], out["recognition"].astype(object), Recognition.none.value)
    out["certificate_id"] = out["certificate_id"].astype("Int64")
    out["reason"] = np.where(
        out["covered"], out["why"].astype(object),
        np.where(out["why"].notna(), out["why"].astype(object),
                 np.where(closest.notna(), "no certificate of the partner names this site; closest: "
                          + closest.astype(object).fillna(""), "no certificate recorded")))
    return out[SITE_COVERAGE_COLUMNS].reset_index(drop=True)


def site_coverage(*, session: Session, day: date, partner_ids=None) -> pd.DataFrame:
    """Coverage per site of the partners (all when None) on the day, SITE_COVERAGE_COLUMNS: whether a certificate
    that counts covers the site (`.set_index("site_id")["covered"]` is the site_id -> covered mapping the scoring and
    the lane map read), on what basis, which certificate, and why (or why not)."""
    stmt = select(PartnerSite.id, PartnerSite.partner_id, PartnerSite.status).order_by(PartnerSite.id)
    link_stmt = select(CertificateSite.certificate_id, CertificateSite.site_id)
    ids = None if partner_ids is None else sorted({int(p) for p in partner_ids})
    if ids is not None and len(ids) <= 5_000:
        stmt = stmt.where(col(PartnerSite.partner_id).in_(ids))
        link_stmt = link_stmt.join(PartnerSite, col(PartnerSite.id) == CertificateSite.site_id).where(
            col(PartnerSite.partner_id).in_(ids))
    sites = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=["site_id", "partner_id",
                                                                                 "site_status"])
    if ids is not None:
        sites = sites[sites["partner_id"].isin(ids)]
    links = pd.DataFrame([tuple(r) for r in session.exec(link_stmt).all()], columns=["certificate_id", "site_id"])
    results = counts_on(session=session, day=day, partner_ids=ids)
    return evaluate_sites(results, sites, links)


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
        lines.append(f"It counts on {_iso(day)} for the sites it names only ({r['named_active_sites']} of the "
                     f"partner's {r['active_sites']} active sites), so it does not exempt the partner.")
    else:
        lines.append(f"It does not count on {_iso(day)}: {r['why']}.")
    return " ".join(lines)
