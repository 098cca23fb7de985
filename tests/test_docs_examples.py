"""The example files in docs/examples import as docs/import-formats.md says."""

from datetime import date, timedelta
from pathlib import Path

from services.collection import cycles
from services.imports import answers as answer_import
from services.imports import partners as partner_import
from services.partners import contacts, registry, sites
from services.reference import applicability
from tests.conftest import ANALYST

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _file(name: str) -> list[tuple[str, bytes]]:
    return [(name, (EXAMPLES / name).read_bytes())]


def test_example_files_import_cleanly(session, staff):
    partners = partner_import.preview_partners(session=session, files=_file("partners.csv"))
    assert not partners.has_errors, partners.problems.to_dict("records")
    assert partners.counts["new"] == 3
    partner_import.apply_partners(session=session, actor=ANALYST, preview=partners)
    session.commit()
    factory = registry.search_partners(session=session, text="V-1001").rows.iloc[0]
    [site] = sites.list_sites(session=session, partner_id=int(factory["id"])).to_dict("records")
    assert (site["name"], site["mid"], site["region_code"], site["is_primary"]) == (
        "Shenzhen", "CNSHEHUA88SHE", "CN-GD", True)
    assert contacts.primary_contact(session=session, partner_id=int(factory["id"])).email == "chen.li@huaxin.example"
    assert factory["owner"] == "admin"
    roles = applicability.partner_roles(session=session, partner_id=int(factory["id"])).set_index("role")["own"]
    assert roles["stuffs_containers"] is True and roles["crosses_land_border"] is None

    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                              due_date=date.today() + timedelta(days=60))
    session.commit()
    for name in ("responses-long.csv", "responses-wide.csv"):
        preview = answer_import.preview_responses(session=session, files=_file(name), cycle_id=cycle.id)
        assert not preview.has_errors, preview.problems.to_dict("records")
        assert preview.totals["new"] + preview.totals["changed"] + preview.totals["unchanged"] == 4
        answer_import.apply_responses(session=session, actor=ANALYST, preview=preview)
        session.commit()

    again = answer_import.preview_responses(session=session, files=_file("responses-long.csv"), cycle_id=cycle.id)
    assert again.totals == {"new": 0, "changed": 0, "unchanged": 4}
