"""A partner's certificates as a section of a page (the partner detail mounts ``certificates_tab``), and the
certificate import panel. Reads are cached, writes go through ui.state.write, the rules are the services'.
"""

import hashlib
from datetime import date

import pandas as pd
import streamlit as st

from models.certificate import ENDED_STATUSES, RECORDABLE_METHODS
from services.certificates import imports as certificate_import
from services.certificates import records, rule
from services.core.permissions import Actor, ValidationError
from services.imports import reader as tabular
from services.partners import registry as partners
from ui import presentation, state
from ui.text import plain

FLASH = "certificates_flash"
FIRST_CTPAT_DAY = date(2001, 11, 1)  # CTPAT started in November 2001: nothing is older
LAST_DAY = date(2099, 12, 31)
EVIDENCE_TYPES = ["pdf", "png", "jpg", "jpeg", "gif", "webp", "docx", "xlsx", "txt", "csv"]
IMPORT_TYPES = ["csv", "txt", "xlsx", "xlsm", "xls"]
LIST_LABELS = {
    "program": "Program", "certificate_type": "Type", "certificate_number": "Number",
    "issuing_country": "Issued in", "status": "Status", "valid_from": "Valid from", "valid_to": "Valid to",
    "sites": "Sites covered",
    "last_verified": "Last verified", "recheck_by": "Re-check by", "counts": "Counts today", "why": "Why",
}


@st.cache_data(show_spinner=False, max_entries=200)
def _partner_certificates(url: str, partner_id: int, today: date) -> dict:
    with state.session() as s:
        frame = records.list_for_partner(session=s, partner_id=partner_id, day=today)
        best = rule.best_per_partner(rule.counts_on(session=s, day=today, partner_ids=[partner_id]))
    return {"certificates": frame, "coverage": best.iloc[0].to_dict() if len(best) else None}


@st.cache_data(show_spinner=False, max_entries=200)
def _certificate_detail(url: str, certificate_id: int, today: date) -> dict:
    with state.session() as s:
        return {"explanation": rule.explain(session=s, certificate_id=certificate_id, day=today),
                "verifications": records.verifications(session=s, certificate_id=certificate_id),
                "events": records.events(session=s, certificate_id=certificate_id)}


@st.cache_data(show_spinner=False, max_entries=200)
def _sites(url: str, partner_id: int, version: int) -> dict[int, str]:
    with state.session() as s:
        return records.site_choices(session=s, partner_id=partner_id)


@st.cache_data(show_spinner=False)
def _choices(url: str) -> dict:
    with state.session() as s:
        programs = records.registry_rows(session=s)
        return {"programs": records.program_codes(session=s), "countries": partners.country_names(session=s),
                "types": sorted({t for p in programs for t in p.certificate_types.split()})}


def _evidence(actor: Actor, **where) -> bytes:
    with state.session() as s:
        return records.read_evidence(session=s, actor=actor, **where)[2]


def _day(value) -> date | None:
    """A stored date as a date input takes it (missing: None, whether None, NaT or NaN)."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _upload(file) -> records.Upload | None:
    return records.Upload(file.name, file.getvalue()) if file is not None else None


def _write(action, message: str) -> None:
    if state.write(action, success=message, flash_key=FLASH):
        st.rerun()


def coverage_line(cover: dict | None, numbers: tuple = ()) -> None:
    """Whether the partner is covered today, in one sentence (its certificate `numbers` hidden while presenting)."""
    if cover is not None:
        cover = {**cover, "reason": presentation.scrub(cover["reason"], *numbers)}
    if cover is None:
        st.info("No certificate recorded. Without a CTPAT or mutually recognized certificate that is verified and "
                "current, this partner answers the questionnaire (MSC 3.4).", icon=":material/info:")
    elif cover["covered"]:
        st.success(f"Covered today: {cover['reason']}. Exempt from the questionnaire; still rated for threat and "
                   "risk.", icon=":material/verified:")
    else:
        st.warning(f"Not covered today: {cover['reason']}.", icon=":material/gpp_maybe:")


def certificates_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    """The partner detail's certificates tab (the signature of pages.partners.detail.TABS)."""
    certificates_section(url, actor, int(data["partner"]["id"]))


def certificates_section(url: str, actor: Actor, partner_id: int) -> None:
    """A partner's certificates: whether it is covered today, each certificate with what the rule says of it, its
    checks and history, evidence files, and for writers adding, checking, correcting, ending and deleting."""
    today = date.today()
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")
    data = _partner_certificates(url, partner_id, today)
    frame: pd.DataFrame = data["certificates"]
    coverage_line(data["coverage"], tuple(frame["certificate_number"]) if len(frame) else ())
    if actor.can_write:
        _add_form(url, actor, partner_id)
    if frame.empty:
        return
    shown = frame.assign(valid_to=[("no expiry" if n else (str(v) if pd.notna(v) else "–"))
                                   for n, v in zip(frame["no_expiry"], frame["valid_to"], strict=True)])
    st.dataframe(presentation.masked(shown), hide_index=True, width="stretch", column_order=list(LIST_LABELS),
                 column_config={**{c: st.column_config.Column(label) for c, label in LIST_LABELS.items()},
                                "counts": st.column_config.CheckboxColumn("Counts today"),
                                "valid_from": st.column_config.DateColumn("Valid from"),
                                "last_verified": st.column_config.DateColumn("Last verified"),
                                "recheck_by": st.column_config.DateColumn("Re-check by")})
    # No status in the label: a label that changes with a check makes the browser send the old one back on the next
    # run, which Streamlit no longer finds, so the picker would jump to the first certificate.
    labels = {int(r.id): f"{rule.certificate_name(r.program, r.certificate_type)} "
                         f"{presentation.hidden(r.certificate_number)} ({r.issuing_country})"
              for r in frame.itertuples()}
    chosen = st.selectbox("Certificate", list(labels), format_func=labels.get, key=f"cert_pick_{partner_id}")
    if chosen is None:
        return
    row = frame.set_index("id").loc[chosen]
    _detail(url, actor, partner_id, chosen, row, today)


def _detail(url: str, actor: Actor, partner_id: int, certificate_id: int, row: pd.Series, today: date) -> None:
    detail = _certificate_detail(url, certificate_id, today)
    st.markdown(presentation.scrub(detail["explanation"], row["certificate_number"]))
    if not row["covers_all_sites"]:
        st.markdown("**Sites it names:** " + (plain(row["sites"]) or "none linked"))
    if row["covered_sites"]:
        st.caption(f"Named before sites could be linked: {plain(row['covered_sites'])}. Not every part matched a "
                   "site of the partner; choose the sites under Correct.")
    if row["evidence_filename"]:
        st.download_button(f"Certificate copy: {row['evidence_filename']}", icon=":material/download:",
                           data=lambda: _evidence(actor, certificate_id=certificate_id),
                           file_name=row["evidence_filename"], on_click="ignore", key=f"cert_{certificate_id}_copy")
    checks: pd.DataFrame = detail["verifications"]
    st.markdown(f"**Checks** ({len(checks)})")
    if checks.empty:
        st.caption("Never checked.")
    else:
        st.dataframe(presentation.masked(checks.drop(columns=["id"])), hide_index=True, width="stretch", column_config={
            "verified_on": st.column_config.DateColumn("Verified on"), "verified_by": "By", "method": "How",
            "reference": "Reference", "evidence_filename": "Proof", "recorded_by": "Recorded by",
            "recorded_at": st.column_config.DatetimeColumn("Recorded (UTC)", format="YYYY-MM-DD HH:mm")})
        proofs = checks[checks["evidence_filename"] != ""]
        for proof in proofs.itertuples():
            st.download_button(f"Proof of the check of {proof.verified_on}: {proof.evidence_filename}",
                               data=lambda vid=int(proof.id): _evidence(actor, verification_id=vid),
                               file_name=proof.evidence_filename, on_click="ignore", icon=":material/download:",
                               key=f"cert_check_{proof.id}")
    with st.expander(f"History ({len(detail['events'])} events)", icon=":material/history:"):
        st.dataframe(presentation.masked(detail["events"].drop(columns=["id", "certificate_id"])),
                     hide_index=True, width="stretch",
                     column_config={"kind": "What", "effective_on": st.column_config.DateColumn("From"),
                                    "from_status": "Status before", "to_status": "Status after", "note": "Note",
                                    "recorded_by": "By", "recorded_at": st.column_config.DatetimeColumn(
                                        "Recorded (UTC)", format="YYYY-MM-DD HH:mm")})
    if actor.can_write:
        _check_form(actor, certificate_id)
        _correct_form(url, actor, partner_id, certificate_id, row)
        _end_form(actor, certificate_id)
        _delete_form(actor, certificate_id)


def _validity(prefix: str, row: dict) -> dict:
    """Valid from, and the end chosen explicitly: a date or "no expiry"."""
    c1, c2, c3 = st.columns(3)
    values = {"valid_from": c1.date_input("Valid from", value=_day(row.get("valid_from")), min_value=FIRST_CTPAT_DAY,
                                          max_value=LAST_DAY, key=f"{prefix}_from")}
    ends = ["Valid to a date", "No expiry"]
    current = None if not row else (1 if row.get("no_expiry") else 0)
    end = c2.radio("Validity ends", ends, index=current, key=f"{prefix}_ends",
                   help="Choose explicitly: CTPAT (and EU or UK AEO) certificates have no expiry but are re-checked.")
    valid_to = c3.date_input("Valid to", value=_day(row.get("valid_to")),
                             min_value=FIRST_CTPAT_DAY, max_value=LAST_DAY, key=f"{prefix}_to")
    # "No expiry" drops a date typed by mistake; no choice with a date is the date (the service wants one of both).
    values["no_expiry"] = end == ends[1]
    values["valid_to"] = None if values["no_expiry"] else valid_to
    return values


def _certificate_fields(url: str, partner_id: int, prefix: str, row: dict) -> dict:
    choices = _choices(url)
    c1, c2, c3 = st.columns(3)
    programs = choices["programs"]
    program = row.get("program")
    values = {
        "program": c1.selectbox("Program", programs, index=programs.index(program) if program in programs else None,
                                accept_new_options=True, key=f"{prefix}_program", placeholder="CTPAT, AEO, PIP…",
                                help="CTPAT, or the foreign program's code as in the registry; another code is "
                                     "recorded but never mutually recognized."),
        "issuing_country": c2.selectbox(
            "Issued in", list(choices["countries"]), format_func=lambda c: f"{choices['countries'][c]} ({c})",
            index=list(choices["countries"]).index(row["issuing_country"]) if row.get("issuing_country") else None,
            key=f"{prefix}_country", placeholder="United States for CTPAT"),
        "certificate_number": c3.text_input("CTPAT account / SVI number, or certificate number",
                                            value=row.get("certificate_number", ""), max_chars=60,
                                            key=f"{prefix}_number"),
    }
    types = ["", *choices["types"]]
    kind = row.get("certificate_type") or ""
    values["certificate_type"] = c1.selectbox(
        "Type", types, index=types.index(kind) if kind in types else 0, accept_new_options=True,
        format_func=lambda t: t or "– none –", key=f"{prefix}_type",
        help="Where the program has types: EU and UK AEO-S, AEO-F or AEO-C; Mexico OEA or IVA-IEPS.")
    values.update(_validity(prefix, row))
    scope = ["All the partner's sites", "Named sites only"]
    c1, c2 = st.columns([1, 2])
    covers = c1.radio("Covers", scope, index=0 if row.get("covers_all_sites", True) else 1, key=f"{prefix}_covers")
    values["covers_all_sites"] = covers == scope[0]
    sites = _sites(url, partner_id, state.data_version())
    chosen = [i for i in (row.get("site_ids") or []) if i in sites]
    values["site_ids"] = c2.multiselect(
        "Sites it names", list(sites), default=chosen, format_func=lambda i: sites[i], key=f"{prefix}_sites",
        placeholder="Choose the sites the certificate names",
        help="Only for a certificate that names sites: it then covers those sites, and the partner as a whole only "
             "when they are all of its active sites. Add a missing site on the partner's Sites and contacts tab.")
    # The text from before sites could be linked stays until sites are chosen.
    values["covered_sites"] = "" if values["site_ids"] else (row.get("covered_sites") or "")
    values["notes"] = st.text_area("Notes", value=row.get("notes", ""), max_chars=1000, key=f"{prefix}_notes")
    return values


def _add_form(url: str, actor: Actor, partner_id: int) -> None:
    with st.expander("Add a certificate", icon=":material/add:"):
        prefix = f"cert_add_{partner_id}"  # certificate ids and partner ids must not meet in widget keys
        with st.form(prefix):
            values = _certificate_fields(url, partner_id, prefix, {})
            evidence = st.file_uploader("Copy of the certificate", type=EVIDENCE_TYPES, key=f"{prefix}_file")
            st.markdown("**Checked it already?** (leave the date empty for a claim not yet checked)")
            c1, c2, c3 = st.columns(3)
            verified_on = c1.date_input("Verified on", value=None, max_value=date.today(), key=f"{prefix}_von")
            method = c2.selectbox("How", [m.value for m in RECORDABLE_METHODS], index=None, key=f"{prefix}_how")
            verified_by = c3.text_input("By", value=actor.username, key=f"{prefix}_by")
            reference = st.text_input("Reference (e.g. SVI screen, customs letter number)", max_chars=300,
                                      key=f"{prefix}_ref")
            submitted = st.form_submit_button("Add certificate", type="primary", icon=":material/add:")
        if submitted:
            check = ({"verified_on": verified_on, "verified_by": verified_by, "method": method or "",
                      "reference": reference} if verified_on or method else None)
            _write(lambda s: records.add_certificate(session=s, actor=actor, partner_id=partner_id, values=values,
                                                     evidence=_upload(evidence), verification=check),
                   f"Added {values['program'] or 'the'} certificate {values['certificate_number']}.")


def _check_form(actor: Actor, certificate_id: int) -> None:
    with st.expander("Record a check", icon=":material/fact_check:"):
        with st.form(f"cert_{certificate_id}_check"):
            c1, c2, c3 = st.columns(3)
            verified_on = c1.date_input("Verified on", value=date.today(), max_value=date.today(),
                                        key=f"cert_{certificate_id}_von")
            method = c2.selectbox("How", [m.value for m in RECORDABLE_METHODS], index=None,
                                  key=f"cert_{certificate_id}_how")
            verified_by = c3.text_input("By", value=actor.username, key=f"cert_{certificate_id}_by")
            reference = st.text_input("Reference (e.g. SVI screen, customs letter number)", max_chars=300,
                                      key=f"cert_{certificate_id}_ref")
            proof = st.file_uploader("Proof (screenshot, letter, copy)", type=EVIDENCE_TYPES,
                                     key=f"cert_{certificate_id}_proof")
            submitted = st.form_submit_button("Record check", type="primary", icon=":material/fact_check:")
        if submitted:
            _write(lambda s: records.add_verification(
                session=s, actor=actor, certificate_id=certificate_id, verified_on=verified_on,
                verified_by=verified_by, method=method or "", reference=reference, evidence=_upload(proof)),
                f"Recorded the check of {verified_on}.")


def _correct_form(url: str, actor: Actor, partner_id: int, certificate_id: int, row: pd.Series) -> None:
    with st.expander("Correct", icon=":material/edit:"):
        current = {k: (None if not isinstance(v, str | list) and pd.isna(v) else v)
                   for k, v in row.to_dict().items()}
        with st.form(f"cert_{certificate_id}_edit"):
            values = _certificate_fields(url, partner_id, f"cert_{certificate_id}_edit", current)
            evidence = st.file_uploader("Replace the copy of the certificate", type=EVIDENCE_TYPES,
                                        key=f"cert_{certificate_id}_file")
            submitted = st.form_submit_button("Save corrections", icon=":material/save:")
        if submitted:
            _write(lambda s: records.update_certificate(session=s, actor=actor, certificate_id=certificate_id,
                                                        values=values, evidence=_upload(evidence)),
                   "Saved the corrections.")


def _end_form(actor: Actor, certificate_id: int) -> None:
    with st.expander("Suspended, revoked or expired", icon=":material/block:"):
        st.caption("Coverage ends at once; a partner left without a covering certificate joins the open cycles it "
                   "was exempt from, with at least 30 days to answer.")
        with st.form(f"cert_{certificate_id}_end"):
            c1, c2 = st.columns(2)
            status = c1.selectbox("Status", [s.value for s in ENDED_STATUSES], index=None,
                                  key=f"cert_{certificate_id}_status")
            since = c2.date_input("Since", value=date.today(), key=f"cert_{certificate_id}_since")
            note = st.text_input("What happened and how you learned it", max_chars=500,
                                 key=f"cert_{certificate_id}_note")
            submitted = st.form_submit_button("Record", icon=":material/block:")
        if submitted:
            _write(lambda s: records.set_status(session=s, actor=actor, certificate_id=certificate_id,
                                                status=status or "", effective_on=since, note=note),
                   f"Recorded the certificate as {status}.")


def _delete_form(actor: Actor, certificate_id: int) -> None:
    with st.expander("Delete (recorded in error)", icon=":material/delete:"):
        with st.form(f"cert_{certificate_id}_delete"):
            reason = st.text_input("Why (e.g. recorded for the wrong partner)", max_chars=300,
                                   key=f"cert_{certificate_id}_why")
            submitted = st.form_submit_button("Delete certificate", icon=":material/delete:")
        if submitted:
            _write(lambda s: records.delete_certificate(session=s, actor=actor, certificate_id=certificate_id,
                                                        reason=reason), "Deleted the certificate.")


def import_panel(actor: Actor) -> None:
    """Upload certificate files, see the preview and the problems, import all or nothing (writers)."""
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")
    st.caption("CSV or XLSX with one certificate per row: partner_code, program, issuing_country, "
               "certificate_number, certificate_type, valid_from, valid_to (or 'no expiry'), verified_on, "
               "verification_method... (docs/import-formats.md). A row matching a stored certificate corrects it.")
    round_ = st.session_state.setdefault("cert_import_round", 0)
    uploaded = st.file_uploader("Certificate files", type=IMPORT_TYPES, accept_multiple_files=True,
                                key=f"cert_import_files_{round_}")
    if not uploaded:
        return
    files = [(f.name, f.getvalue()) for f in uploaded]
    fingerprint = tuple((name, hashlib.sha256(data).hexdigest()) for name, data in files)
    held = st.session_state.get("cert_import_preview")
    if held and held[0] == fingerprint:
        preview = held[1]
    else:
        try:
            with state.session() as s:
                preview = certificate_import.preview_certificates(session=s, files=files)
        except ValidationError as exc:
            st.error(str(exc))
            return
        st.session_state["cert_import_preview"] = (fingerprint, preview)
    counts = preview.counts
    for column, (label, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
        column.metric(label.capitalize(), f"{count:,}")
    if not preview.rows.empty:
        st.dataframe(preview.rows, hide_index=True, width="stretch",
                     column_config={"row": st.column_config.NumberColumn(format="%d")})
    problems = preview.problems
    errors = int((problems["severity"] == "error").sum())
    if errors:
        st.error(f"{errors:,} errors: nothing can be imported until they are fixed in the file.",
                 icon=":material/error:")
    if problems.empty:
        st.success("No problems found.", icon=":material/check_circle:")
    else:
        st.dataframe(problems, hide_index=True, width="stretch",
                     column_config={"row": st.column_config.NumberColumn(format="%d")})
        st.download_button("Download the problems (CSV)", tabular.problems_csv(problems),
                           file_name="certificate problems.csv", mime="text/csv", icon=":material/download:",
                           on_click="ignore", key="cert_import_problems")
    nothing = not preview.plans
    if nothing and not preview.has_errors:
        st.info("Nothing to import: every certificate in the files is already stored as it is.")
    if st.button("Import", type="primary", icon=":material/upload:", disabled=preview.has_errors or nothing,
                 key="cert_import_apply"):
        message = (f"Imported certificates: {counts['new']:,} new, {counts['update']:,} updated, "
                   f"{counts['checks']:,} checks.")
        if state.write(lambda s: certificate_import.apply_certificates(session=s, actor=actor, preview=preview),
                       success=message, flash_key=FLASH):
            st.session_state.pop("cert_import_preview", None)
            st.session_state["cert_import_round"] += 1
            st.rerun()
