"""CTPAT Workbench router: page config, login, the page list for the user's role, navigation."""

import streamlit as st

import pages.account
import pages.admin
import pages.criteria
import pages.dashboard
import pages.partners
from models.common import Role
from ui import auth, state

ALL = tuple(Role)
WRITERS = (Role.admin, Role.analyst)

# (render, title, url_path, icon, roles, section)
PAGES = [
    (pages.dashboard.render, "Dashboard", "dashboard", ":material/dashboard:", ALL, "Overview"),
    (pages.partners.render, "Partners", "partners", ":material/handshake:", ALL, "Step 1 · Partners"),
    (pages.criteria.render, "Criteria", "criteria", ":material/checklist:", ALL, "Reference"),
    (pages.admin.render, "Admin", "admin", ":material/admin_panel_settings:", (Role.admin,), "Settings"),
    (pages.account.render, "My account", "account", ":material/person:", ALL, "Settings"),
]


def _login_page() -> None:
    """Shown to anyone not logged in, whatever the URL: the form is drawn by the router above."""


def main() -> None:
    st.set_page_config(page_title="CTPAT Workbench", page_icon=":material/verified_user:", layout="wide")
    state.engine()
    auth.remember_entry_path()
    actor = auth.login()
    if actor is None:
        st.navigation([st.Page(_login_page, title="Log in", url_path="login", default=True)],
                      position="hidden").run()
        return

    if st.session_state.get("must_change_password"):
        registered = [st.Page(pages.account.render, title="Change password", url_path="account", default=True)]
        sections = {"Settings": registered}
    else:
        sections: dict[str, list[st.Page]] = {}
        registered = []
        for render, title, url_path, icon, roles, section in PAGES:
            if actor.role in roles:
                page = st.Page(render, title=title, url_path=url_path, icon=icon, default=not registered)
                registered.append(page)
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
