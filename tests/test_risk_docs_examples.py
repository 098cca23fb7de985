"""The lane, threat and restricted-list example files import as docs/import-formats.md says."""

from pathlib import Path

from services.imports import partners as partner_import
from services.lanes import imports as lane_import
from services.screening import lists
from services.threats import imports as threat_import
from tests.conftest import ANALYST

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _read(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def test_risk_examples_import_cleanly(session, staff):
    partners = partner_import.preview_partners(session=session, files=[("partners.csv", _read("partners.csv"))])
    partner_import.apply_partners(session=session, actor=ANALYST, preview=partners)
    from services.partners import sites
    sites.ensure_first_sites(session=session, actor=ANALYST)
    session.commit()
    preview = lane_import.preview_lanes(session=session, filename="lanes.csv", data=_read("lanes.csv"))
    assert not preview.has_errors, preview.problems.to_dict("records")
    assert preview.counts["new"] == 2
    lane_import.apply_lanes(session=session, actor=ANALYST, preview=preview)
    session.commit()
    register = threat_import.preview_threat_file(session=session, filename="threat-register.csv",
                                                 data=_read("threat-register.csv"))
    assert register.kind == "register" and not register.has_errors and len(register.rows) == 3
    index = threat_import.preview_threat_file(session=session, filename="threat-index.csv",
                                              data=_read("threat-index.csv"))
    assert index.kind == "index" and not index.has_errors and index.numeric
    threat_import.apply_threat_file(session=session, actor=ANALYST, preview=register)
    threat_import.apply_threat_file(session=session, actor=ANALYST, preview=index, name="Example index",
                                    categories=["conditions"], mapping={"kind": "numeric", "higher_is_worse": False,
                                                                        "high": 35, "medium": 50})
    listed = lists.read_list(session=session, filename="restricted-list.csv", data=_read("restricted-list.csv"))
    assert not listed.has_errors and len(listed.entries) == 2
    session.commit()
