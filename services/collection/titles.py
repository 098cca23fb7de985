"""The title partners read for a cycle, per language.

A cycle's name ("2027 critical partners spot check") is the team's own word for it and never reaches a partner:
the supplier page, the Excel questionnaire (its file name and instructions) and the e-mails show the cycle's title
for partners in the partner's language, or, where none was set for that language, the neutral title of the text
catalogue ("Supply chain security questionnaire 2027", with the year of the due date).
"""

import re
from collections.abc import Mapping

from sqlmodel import Session

from models import Cycle
from models.common import LANGUAGES
from services import texts
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write

MAX_TITLE = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def default_title(cycle: Cycle, language: str) -> str:
    """The neutral title of the text catalogue in `language`, with the year of the cycle's due date."""
    return texts.text("cycle.default_title", texts.language_of(language), year=cycle.due_date.year)


def partner_title(cycle: Cycle, language: str) -> str:
    """What a partner reading `language` sees as the cycle's title: the one set for that language, else the
    neutral default in that language (never the title of another language, nor the cycle's name)."""
    return title_from(cycle.partner_titles, cycle.due_date.year, language)


def title_from(partner_titles: Mapping[str, str] | None, due_year: int, language: str) -> str:
    """``partner_title`` from a cycle's stored titles and due year (for rows read in bulk, e.g. the follow-ups)."""
    language = texts.language_of(language)
    return (partner_titles or {}).get(language) or texts.text("cycle.default_title", language, year=due_year)


def partner_titles(cycle: Cycle) -> dict[str, str]:
    """The title partners see, in every language, by language code."""
    return {language: partner_title(cycle, language) for language in LANGUAGES}


def clean_titles(titles: Mapping[str, str | None] | None) -> dict[str, str]:
    """Titles by language code with spaces tidied; blank ones left out (the default applies to them).

    ValidationError for a language other than en/es/zh and for a title longer than MAX_TITLE characters.
    """
    cleaned: dict[str, str] = {}
    for language, title in (titles or {}).items():
        if language not in LANGUAGES:
            raise ValidationError(f"title: '{language}' is not a language of the questionnaire; use one of "
                                  f"{', '.join(LANGUAGES)}")
        title = " ".join(_CONTROL.sub(" ", str(title or "")).split())
        if len(title) > MAX_TITLE:
            raise ValidationError(f"title ({LANGUAGES[language]}): {len(title)} characters, at most {MAX_TITLE}")
        if title:
            cleaned[language] = title
    return cleaned


def set_partner_titles(*, session: Session, actor: Actor, cycle_id: int, titles: Mapping[str, str | None]) -> Cycle:
    """Set the cycle's titles for partners (all three languages at once; a blank one means the default)."""
    require_write(actor)
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ValidationError(f"No cycle with id {cycle_id}")
    before = dict(cycle.partner_titles or {})
    after = clean_titles(titles)
    if after == before:
        return cycle
    cycle.partner_titles = after  # a new dict: the JSON column notices replacement, not changes in place
    session.add(cycle)
    audit.record(session=session, actor=actor, action="set titles", entity="cycle", entity_id=cycle.name,
                 summary=f"Titles for partners of cycle {cycle.name}: "
                 + "; ".join(f"{language}: {partner_title(cycle, language)}" for language in LANGUAGES),
                 before={"partner_titles": before}, after={"partner_titles": after})
    return cycle
