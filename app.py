"""CTPAT Workbench router: page config, login, the menu for the user's role (ui/menu.py), navigation.

`streamlit run app.py` finds the ``app`` defined at the bottom (Streamlit's ``st.App``) and serves this script
inside it, with the server's own start-up, routes and middleware from ui/web.py (README, "Project layout").
"""

import streamlit as st

from ui import web

if __name__ == "__main__":
    # A session's run. When the server imports this file to find `app`, the pages and the login library stay
    # unloaded: imported outside a session they only fill the server log with Streamlit's warnings.
    import pages.account
    import pages.supplier
    from ui import auth, menu, presentation, state

ICON = "🛡️"  # an emoji, drawn by the browser: a ":material/...:" page icon is fetched from a font CDN
SUPPLIER_ICON = "📋"
HOME = "home"  # the internal name of the page at the root address (the first of the user's menu)


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


def _sidebar(actor, sections: dict[str, list[st.Page]]) -> None:
    with st.sidebar:
        st.markdown(f"**{st.session_state.get('display_name', actor.username)}** · {actor.role}")
        for section, section_pages in sections.items():
            st.caption(section)
            for page in section_pages:
                st.page_link(page)
        presentation.switch(key="presentation_mode_sidebar")
        auth.logout_button()


def main() -> None:
    st.set_page_config(page_title="CTPAT Workbench", page_icon=ICON, layout="wide")
    state.freeze_heap()
    state.engine()
    state.data_version()  # another process wrote since this one last looked: cached reads are dropped
    if _supplier_token():
        # A supplier session gets its questionnaire and nothing else: no staff pages, no menu, no login form.
        st.set_page_config(page_title="Questionnaire", page_icon=SUPPLIER_ICON, layout="centered")
        st.navigation([st.Page(pages.supplier.render, title="Questionnaire", url_path="questionnaire", default=True)],
                      position="hidden").run()
        return
    actor = auth.login()
    # Every page address stays registered whoever is (not) logged in, under a stand-in where needed, and the root
    # address is a page of its own: otherwise Streamlit answers a deep link with a "Page not found" dialog.
    if actor is None:
        st.navigation([st.Page(_login_page, title="Log in", url_path=HOME, default=True)]
                      + [st.Page(_login_page, title="Log in", url_path=p.url_path) for p in menu.PAGES],
                      position="hidden").run()
        return

    user_menu = menu.menu_for(actor.role, must_change_password=bool(st.session_state.get("must_change_password")))
    stand_in = pages.account.render if user_menu.home is menu.ACCOUNT else _not_for_your_role
    registered = {p.url_path: st.Page(p.render if user_menu.opens(p) else stand_in, title=p.title,
                                      url_path=p.url_path, icon=p.icon) for p in menu.PAGES}
    home = user_menu.home
    root = st.Page(home.render, title=home.title, url_path=HOME, icon=home.icon, default=True)
    current = st.navigation([root, *registered.values()], position="hidden")
    _sidebar(actor, {section: [registered[p.url_path] for p in section_pages]
                     for section, section_pages in user_menu.sections.items()})
    current.run()


if __name__ == "__main__":  # Streamlit runs this file as __main__ for every session's run
    main()
else:  # imported by `streamlit run app.py` (or uvicorn app:app) to serve it
    app = st.App(__file__, lifespan=web.lifespan, routes=web.routes(), middleware=web.middleware())
