"""Who is covered by CTPAT or a mutually recognized certificate, by country and entity type, and the certificates
the team must act on (expiring, never verified, checks too old, held but never recognized).

Everything is derived from the one rule (services.certificates.rule) on the day; a share of import volume is only
given where the partners' import shares are known, and "Unknown" is counted, never assumed.
"""

from datetime import date

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from models import Country, Partner
from models.certificate import CertificateStatus
from services.certificates import rule

S = CertificateStatus
PARTNER_COLUMNS = ["partner_id", "partner_code", "legal_name", "entity_type", "country_iso2", "country", "numeric",
                   "region", "import_share", "covered", "basis", "certificate_id", "reason"]
GROUP_COLUMNS = ["partners", "covered", "by_ctpat", "by_mutual_recognition", "not_covered", "share_covered",
                 "import_share", "import_share_covered", "import_unknown", "share_of_import_covered"]
WATCH_COLUMNS = ["certificate_id", "partner_id", "partner_code", "legal_name", "country_iso2", "program",
                 "certificate_type", "certificate_number", "issuing_country", "status", "valid_to", "last_verified",
                 "recheck_by", "counts", "why"]
EXPIRY_WINDOWS = (30, 60, 90)
NOT_COVERED = "not covered"


def partner_table(*, session: Session, day: date, results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every active partner with whether a certificate covers it on the day, on what basis and why (or why not)."""
    stmt = (select(Partner.id, Partner.partner_code, Partner.legal_name, Partner.entity_type, Partner.country_iso2,
                   Country.name, Country.numeric, Country.region, Partner.import_share)
            .join(Country, col(Country.iso2) == Partner.country_iso2)
            .where(Partner.status == "active"))
    partners = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=PARTNER_COLUMNS[:9])
    if results is None:
        results = rule.counts_on(session=session, day=day, active_only=True)
    best = rule.best_per_partner(results).rename(columns={"recognition": "basis"})
    table = partners.merge(best, on="partner_id", how="left")
    table["covered"] = table["covered"].astype("boolean").fillna(False).astype(bool)
    table["basis"] = np.where(table["covered"], table["basis"].astype(object), NOT_COVERED)
    table["reason"] = table["reason"].astype(object).where(table["reason"].notna(), "no certificate recorded")
    table["import_share"] = pd.to_numeric(table["import_share"], errors="coerce")
    return table[PARTNER_COLUMNS]


def summary(table: pd.DataFrame) -> dict[str, float | int | None]:
    """Headline figures: partners covered (all, by CTPAT, by mutual recognition) and the share of the known import
    volume covered; `share_of_import_covered` is None (Unknown) when no partner's import share is known."""
    known = table["import_share"].notna()
    total = float(table.loc[known, "import_share"].sum())
    covered_import = float(table.loc[known & table["covered"], "import_share"].sum())
    active = len(table)
    covered = int(table["covered"].sum())
    return {
        "active": active, "covered": covered,
        "by_ctpat": int((table["basis"] == rule.Recognition.ctpat).sum()),
        "by_mutual_recognition": int((table["basis"] == rule.Recognition.mutual).sum()),
        "share_covered": covered / active if active else None,
        "import_share_known": total, "import_share_covered": covered_import,
        "import_unknown": int((~known).sum()),
        "share_of_import_covered": covered_import / total if total > 0 else None,
    }


def by_group(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Coverage per value of `by` (e.g. "country" or "entity_type"), most partners first (GROUP_COLUMNS).

    `share_of_import_covered` is missing (Unknown) where no partner of the group has a known import share;
    `import_unknown` counts the partners of the group without one."""
    if table.empty:
        return pd.DataFrame(columns=[by, *GROUP_COLUMNS])
    known = table["import_share"].notna()
    frame = table.assign(
        _one=1, _ctpat=(table["basis"] == rule.Recognition.ctpat).astype(int),
        _mutual=(table["basis"] == rule.Recognition.mutual).astype(int), _covered=table["covered"].astype(int),
        _share=table["import_share"].where(known, 0.0),
        _share_covered=table["import_share"].where(known & table["covered"], 0.0),
        _unknown=(~known).astype(int), _known=known.astype(int))
    keys = [by, "numeric"] if by == "country" else [by]
    grouped = frame.groupby(keys, dropna=False).agg(
        partners=("_one", "sum"), covered=("_covered", "sum"), by_ctpat=("_ctpat", "sum"),
        by_mutual_recognition=("_mutual", "sum"), import_share=("_share", "sum"),
        import_share_covered=("_share_covered", "sum"), import_unknown=("_unknown", "sum"),
        known=("_known", "sum")).reset_index()
    grouped["not_covered"] = grouped["partners"] - grouped["covered"]
    grouped["share_covered"] = grouped["covered"] / grouped["partners"]
    grouped["share_of_import_covered"] = (grouped["import_share_covered"] / grouped["import_share"]).where(
        (grouped["known"] > 0) & (grouped["import_share"] > 0))
    grouped = grouped.sort_values(["partners", by], ascending=[False, True], ignore_index=True)
    return grouped[[*keys, *GROUP_COLUMNS]]


def watch_lists(*, session: Session, day: date, results: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The certificates of active partners to act on, each list with WATCH_COLUMNS:

    - "expiring": valid to a day within the next 90 days (not ended), with `window` 30, 60 or 90;
    - "never verified": claims nobody has checked;
    - "stale": verified, but the last check is older than the re-check interval;
    - "not recognized": verified certificates that can never count as things stand (no arrangement, an
      unconfirmed one, a type it does not cover).
    """
    if results is None:
        results = rule.counts_on(session=session, day=day, active_only=True)
    names = pd.DataFrame([tuple(r) for r in session.exec(
        select(Partner.id, Partner.partner_code, Partner.legal_name, Partner.country_iso2)
        .where(Partner.status == "active")).all()], columns=["partner_id", "partner_code", "legal_name",
                                                              "country_iso2"])
    certs = results.merge(names, on="partner_id", how="inner")
    today = pd.Timestamp(day)
    open_ended = certs["no_expiry"].astype(bool)
    days_left = (certs["valid_to"] - today).dt.days
    alive = ~certs["status"].isin([S.revoked.value, S.expired.value])
    expiring = certs[~open_ended & alive & days_left.between(0, EXPIRY_WINDOWS[-1])].copy()
    expiring["window"] = np.select([days_left[expiring.index] <= w for w in EXPIRY_WINDOWS], EXPIRY_WINDOWS)
    expiring["days_left"] = days_left[expiring.index].astype(int)
    verified = certs["status"] == S.verified.value
    lists = {
        "expiring": expiring.sort_values(["valid_to", "partner_code"]),
        "never verified": certs[(certs["status"] == S.claimed.value) & certs["last_verified"].isna()],
        "stale": certs[verified & certs["last_verified"].notna() & (certs["recheck_by"] < today)]
        .sort_values("last_verified"),
        "not recognized": certs[verified & (certs["recognition"] == rule.Recognition.none)],
    }
    extra = {"expiring": ["window", "days_left"]}
    return {name: frame[WATCH_COLUMNS + extra.get(name, [])].reset_index(drop=True) for name, frame in lists.items()}


def arrangement_use(results: pd.DataFrame) -> pd.DataFrame:
    """Per arrangement id: certificates matched to it and how many count on the day."""
    matched = results[results["arrangement_id"].notna()]
    if matched.empty:
        return pd.DataFrame({"arrangement_id": pd.Series(dtype=int), "certificates": pd.Series(dtype=int),
                             "counting": pd.Series(dtype=int)})
    grouped = matched.groupby("arrangement_id").agg(certificates=("certificate_id", "count"),
                                                    counting=("counts", "sum")).reset_index()
    grouped["arrangement_id"] = grouped["arrangement_id"].astype(int)
    grouped["counting"] = grouped["counting"].astype(int)
    return grouped
