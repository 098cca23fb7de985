"""The menu: every staff page with its address, section and roles, and what a given user may open.

A plain table and a plain function (no Streamlit needed to test them); app.py turns the result into
``st.navigation``. A new page is one more row in PAGES; a new section one more entry in SECTIONS.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pages.account
import pages.actions
import pages.admin
import pages.audit
import pages.criteria
import pages.cycles
import pages.dashboard
import pages.followups
import pages.imports
import pages.incidents
import pages.lanes
import pages.mutual_recognition
import pages.partners
import pages.procedure
import pages.readiness
import pages.reports
import pages.review
import pages.scoring
import pages.screening
import pages.self_assessment
import pages.threats
from models.common import Role

ALL = tuple(Role)
WRITERS = (Role.admin, Role.analyst)

# Menu sections, in the order the menu shows them.
SECTIONS: tuple[str, ...] = (
    "Overview",
    "1 · Map cargo flow and partners",
    "2 · Threats",
    "3 · Vulnerability",
    "4 · Action plan",
    "5 · Documentation",
    "Settings",
)
STEP1, STEP2, STEP3, STEP4, STEP5 = SECTIONS[1:6]


@dataclass(frozen=True)
class MenuPage:
    url_path: str
    title: str
    icon: str
    section: str
    render: Callable[[], None] = field(compare=False)
    roles: tuple[str, ...] = ALL


PAGES: tuple[MenuPage, ...] = (
    MenuPage("dashboard", "Dashboard", ":material/dashboard:", "Overview", pages.dashboard.render),
    MenuPage("partners", "Partners", ":material/handshake:", STEP1, pages.partners.render),
    MenuPage("mutual_recognition", "Mutual recognition", ":material/public:", STEP1,
             pages.mutual_recognition.render),
    MenuPage("lanes", "Cargo flow", ":material/route:", STEP1, pages.lanes.render),
    MenuPage("threats", "Threats", ":material/crisis_alert:", STEP2, pages.threats.render),
    MenuPage("screening", "Screening", ":material/policy:", STEP2, pages.screening.render),
    MenuPage("cycles", "Cycles", ":material/event_repeat:", STEP3, pages.cycles.render),
    MenuPage("review", "Review", ":material/fact_check:", STEP3, pages.review.render),
    MenuPage("imports", "Imports", ":material/upload_file:", STEP3, pages.imports.render),
    MenuPage("followups", "Follow-ups", ":material/forward_to_inbox:", STEP3, pages.followups.render),
    MenuPage("criteria", "Criteria", ":material/checklist:", STEP3, pages.criteria.render),
    MenuPage("scoring", "Risk scoring", ":material/speed:", STEP3, pages.scoring.render),
    MenuPage("actions", "Action plan", ":material/task_alt:", STEP4, pages.actions.render),
    MenuPage("incidents", "Incidents", ":material/report:", STEP4, pages.incidents.render),
    MenuPage("reports", "Reports", ":material/folder_zip:", STEP5, pages.reports.render),
    MenuPage("self_assessment", "Security Profile", ":material/shield:", STEP5, pages.self_assessment.render),
    MenuPage("procedure", "Risk assessment procedure", ":material/description:", STEP5, pages.procedure.render),
    MenuPage("readiness", "Revalidation readiness", ":material/verified:", STEP5, pages.readiness.render),
    MenuPage("audit", "Audit trail", ":material/history:", STEP5, pages.audit.render, WRITERS),
    MenuPage("admin", "Admin", ":material/admin_panel_settings:", "Settings", pages.admin.render, (Role.admin,)),
    MenuPage("account", "My account", ":material/person:", "Settings", pages.account.render),
)
ACCOUNT = next(p for p in PAGES if p.url_path == "account")


@dataclass(frozen=True)
class Menu:
    """What one user sees: the sections with their pages, and the pages that stand in for the others."""

    sections: dict[str, list[MenuPage]]
    home: MenuPage | None  # shown at the app's root address; None: the login form
    closed: list[MenuPage]  # every other page address, which shows a stand-in instead of the page

    def opens(self, page: MenuPage) -> bool:
        return page not in self.closed


def menu_for(role: str | None, *, must_change_password: bool = False) -> Menu:
    """The menu of a user with ``role`` (None: nobody logged in).

    Every address stays registered for everyone, so that a deep link never meets "Page not found": without login
    each one shows the login form, outside the role a refusal, and before a forced password change the account
    page, which is then the only page.
    """
    if role is None:
        return Menu(sections={}, home=None, closed=list(PAGES))
    if must_change_password:
        return Menu(sections={}, home=ACCOUNT, closed=[p for p in PAGES if p is not ACCOUNT])
    sections: dict[str, list[MenuPage]] = {name: [] for name in SECTIONS}
    closed = []
    for page in PAGES:
        if role in page.roles:
            sections[page.section].append(page)
        else:
            closed.append(page)
    sections = {name: found for name, found in sections.items() if found}
    home = next(iter(sections.values()))[0] if sections else None
    return Menu(sections=sections, home=home, closed=closed)
