"""Text typed by partners or staff, shown exactly as typed wherever Streamlit reads markdown.

``st.markdown``, captions, titles, alerts, widget labels and badges read markdown: a partner name
``[x](http://evil.example)`` would become a link, ``# h`` a heading, a bare URL an autolink, ``:red[...]`` colour.
Every typed value that goes into such text passes through ``plain``; tables (``st.dataframe``), ``st.text``,
``st.code`` and selectbox options show text as it is and need nothing.
"""

import re

# Every character markdown (with Streamlit's extensions: $ math, :directives:, ~strike~) may read as syntax;
# escaping ":" and "." also stops bare URLs and e-mail addresses from turning into links.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&^@])")


def plain(value: object) -> str:
    """The value as literal text inside markdown; line breaks are kept."""
    if value is None:
        return ""
    lines = str(value).strip().splitlines()
    return "  \n".join(_SPECIAL.sub(r"\\\1", line.strip()) for line in lines)
