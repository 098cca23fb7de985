"""Typed text inside markdown (titles, captions, bold labels) shown as typed (streamlit-engineering.md §7.2)."""

_SPECIAL = set("\\`*_{}[]()#+-.!|<>~:$")


def plain(text: object) -> str:
    """`text` with every markdown special character escaped, so "[x](http://...)" stays text."""
    return "".join(f"\\{c}" if c in _SPECIAL else c for c in str(text))
