"""Links from one page to another by the other page's address (ui.menu's url_path), with an optional filter.

``st.page_link`` wants the page object ``st.navigation`` registered; a page object made again from the menu row
carries the same address (Streamlit identifies a page by it), so a page needs no access to the router's objects.
"""

import streamlit as st


def page_link(url_path: str, label: str, *, query_params: dict[str, str] | None = None, icon: str | None = None,
              help: str | None = None) -> None:
    """A link to the page at ``url_path`` (its label: typed text must be passed through ui.text.plain)."""
    from ui import menu  # the menu imports every page: imported here, when a page runs

    page = next(p for p in menu.PAGES if p.url_path == url_path)
    st.page_link(st.Page(page.render, title=page.title, url_path=page.url_path, icon=page.icon), label=label,
                 icon=icon or page.icon, help=help, query_params=query_params or None)
