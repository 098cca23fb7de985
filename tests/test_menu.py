"""The router's role -> pages mapping, as a plain table and function (no Streamlit running)."""

import pytest

from models.common import Role
from ui import menu

PATHS = [p.url_path for p in menu.PAGES]


def _titles(m: menu.Menu) -> dict[str, list[str]]:
    return {section: [p.title for p in pages] for section, pages in m.sections.items()}


def test_the_table_is_consistent():
    assert len(PATHS) == len(set(PATHS)), "two pages share an address"
    assert all(p.url_path and "/" not in p.url_path and p.url_path != "home" for p in menu.PAGES)
    assert {p.section for p in menu.PAGES} <= set(menu.SECTIONS)
    assert all(p.icon.startswith(":material/") and callable(p.render) for p in menu.PAGES)
    assert all(set(p.roles) <= set(Role) and p.roles for p in menu.PAGES)


def test_admin_sees_every_page_in_section_order():
    m = menu.menu_for(Role.admin)
    assert _titles(m) == {
        "Overview": ["Dashboard"],
        "1 · Map cargo flow and partners": ["Partners", "Mutual recognition", "Cargo flow"],
        "2 · Threats": ["Threats", "Screening"],
        "3 · Vulnerability": ["Cycles", "Review", "Imports", "Follow-ups", "Criteria",
                              "Risk scoring"],
        "4 · Action plan": ["Action plan", "Incidents"],
        "5 · Documentation": ["Reports", "Security Profile", "Risk assessment procedure", "Revalidation readiness",
                              "Audit trail"],
        "Settings": ["Admin", "My account"],
    }
    assert m.home.url_path == "dashboard" and m.closed == []


@pytest.mark.parametrize("role", [Role.analyst, Role.viewer])
def test_other_roles_get_everything_but_admin(role):
    m = menu.menu_for(role)
    expected = ["admin"] if role == Role.analyst else ["audit", "admin"]
    assert [p.url_path for p in m.closed] == expected
    assert "Admin" not in _titles(m)["Settings"]
    assert m.home.url_path == "dashboard"
    assert not m.opens(next(p for p in menu.PAGES if p.url_path == "admin"))


def test_nobody_logged_in_gets_no_page():
    m = menu.menu_for(None)
    assert (m.sections, m.home) == ({}, None)
    assert [p.url_path for p in m.closed] == PATHS  # every address still answers, with the login form


def test_a_forced_password_change_leaves_only_the_account_page():
    m = menu.menu_for(Role.admin, must_change_password=True)
    assert m.sections == {} and m.home is menu.ACCOUNT
    assert [p.url_path for p in m.closed] == [p for p in PATHS if p != "account"]


def test_a_new_page_and_section_need_one_row_each(monkeypatch):
    extra = menu.MenuPage("weather", "Weather", ":material/warning:", "1b · Weather", lambda: None,
                          (Role.admin, Role.analyst))
    monkeypatch.setattr(menu, "SECTIONS", (*menu.SECTIONS[:2], "1b · Weather", *menu.SECTIONS[2:]))
    monkeypatch.setattr(menu, "PAGES", (*menu.PAGES, extra))
    assert list(_titles(menu.menu_for(Role.analyst)))[:3] == ["Overview", "1 · Map cargo flow and partners",
                                                               "1b · Weather"]
    assert _titles(menu.menu_for(Role.analyst))["1b · Weather"] == ["Weather"]
    assert extra in menu.menu_for(Role.viewer).closed
