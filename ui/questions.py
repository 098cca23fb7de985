"""A question as partners and staff read it: services.reference.questions composes it as plain lines."""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def question_markdown(text: object) -> str:
    """The composed question (question, answer rule, "• " checks, recommended part) as markdown that shows each line
    on its own and formats nothing: st.markdown(question_markdown(row.question))."""
    return "  \n".join(_MARKDOWN_SPECIAL.sub(r"\\\1", line) for line in str(text or "").splitlines())
