"""CTPAT Workbench router: page config, login, the page list for the user's role, navigation."""

import streamlit as st

import pages.account
import pages.admin
import pages.criteria
import pages.cycles
import pages.dashboard
import pages.imports
import pages.lanes
import pages.mutual_recognition
import pages.partners
import pages.reports
import pages.review
import pages.screening
import pages.supplier
import pages.threats
from models.common import Role
from ui import auth, state

ALL = tuple(Role)
WRITERS = (Role.admin, Role.analyst)

# (render, title, url_path, icon, roles, section)
PAGES = [
    (pages.dashboard.render, "Dashboard", "dashboard", ":material/dashboard:", ALL, "Overview"),
    (pages.partners.render, "Partners", "partners", ":material/handshake:", ALL, "Step 1 · Partners"),
    (pages.mutual_recognition.render, "Mutual recognition", "mutual_recognition", ":material/public:", ALL,
     "Step 1 · Partners"),
    (pages.lanes.render, "Cargo flow", "lanes", ":material/route:", ALL, "Step 1 · Partners"),
    (pages.threats.render, "Threats", "threats", ":material/crisis_alert:", ALL, "Step 2 · Threats"),
    (pages.screening.render, "Screening", "screening", ":material/policy:", ALL, "Step 2 · Threats"),
    (pages.cycles.render, "Cycles", "cycles", ":material/event_repeat:", ALL, "Step 2 · Questionnaires"),
    (pages.review.render, "Review", "review", ":material/fact_check:", ALL, "Step 2 · Questionnaires"),
    (pages.imports.render, "Imports", "imports", ":material/upload_file:", ALL, "Step 2 · Questionnaires"),
    (pages.reports.render, "Reports", "reports", ":material/summarize:", ALL, "Step 5 · Documentation"),
    (pages.criteria.render, "Criteria", "criteria", ":material/checklist:", ALL, "Reference"),
    (pages.admin.render, "Admin", "admin", ":material/admin_panel_settings:", (Role.admin,), "Settings"),
    (pages.account.render, "My account", "account", ":material/person:", ALL, "Settings"),
]


def _login_page() -> None:
    """Shown to anyone not logged in, whatever the URL: the form is drawn by the router above."""


def _not_for_your_role() -> None:
    """Stands in for a page outside the user's role."""
    st.error("Your role does not give access to this page.")


def _supplier_token() -> str | None:
    """The token of a supplier link, moved from the address bar into the session so it leaves the URL."""
    token = st.query_params.get("token")
    if token:
        st.session_state["supplier_token"] = token
        st.query_params.clear()
    return st.session_state.get("supplier_token")


def main() -> None:
    st.set_page_config(page_title="CTPAT Workbench", page_icon=":material/verified_user:", layout="wide")
    state.engine()
    state.data_version()  # another process wrote since this one last looked: cached reads are dropped
    if _supplier_token():
        # A supplier session gets its questionnaire and nothing else: no staff pages, no menu, no login form.
        st.set_page_config(page_title="Questionnaire", page_icon=":material/assignment:", layout="centered")
        st.navigation([st.Page(pages.supplier.render, title="Questionnaire", url_path="questionnaire", default=True)],
                      position="hidden").run()
        return
    auth.remember_entry_path()
    # The login form, its messages and the cookie writer in one slot at the top: the run that logs in draws the page
    # below them, the next run draws it with the slot empty, at the same places, so no stale copy shows beneath it.
    with st.container():
        actor = auth.login()
    # Every page URL stays registered whoever is (not) logged in, under a stand-in where needed: otherwise
    # Streamlit answers a deep link with a "Page not found" dialog over the form and forgets the URL.
    if actor is None:
        st.navigation([st.Page(_login_page, title="Log in", url_path=url_path, default=not i)
                       for i, (_, _, url_path, *_) in enumerate(PAGES)], position="hidden").run()
        return

    must_change = st.session_state.get("must_change_password")
    stand_in = pages.account.render if must_change else _not_for_your_role
    sections: dict[str, list[st.Page]] = {}
    registered = []
    for render, title, url_path, icon, roles, section in PAGES:
        allowed = actor.role in roles and not must_change
        page = st.Page(render if allowed else stand_in, title=title, url_path=url_path, icon=icon,
                       default=not registered)
        registered.append(page)
        if allowed:
            sections.setdefault(section, []).append(page)

    current = st.navigation(registered, position="hidden")
    with st.sidebar:
        st.markdown(f"**{st.session_state.get('display_name', actor.username)}** · {actor.role}")
        for section, section_pages in sections.items():
            st.caption(section)
            for page in section_pages:
                st.page_link(page)
        auth.logout_button()

    target = st.session_state.pop("entry_path", "")
    if target and target != current.url_path:
        match = next((p for p in registered if p.url_path == target), None)
        if match is not None:
            st.switch_page(match)
    current.run()


main()
