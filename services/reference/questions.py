"""The question a partner reads for a criterion: in its language, its entity type's wording, checks, recommended."""

from sqlmodel import Session, col, select

from models import Criterion, CriterionText
from models.common import LANGUAGES

# The one answer a question with checks gets (answers stay one per criterion, language-independent).
CHECKS_RULE = {
    "en": "Answer yes if every point below is met, partial if some are, no if none is:",
    "es": "Responda «sí» si se cumplen todos los puntos siguientes, «parcial» si se cumplen algunos y «no» si no se "
          "cumple ninguno:",
    "zh": "下列各项全部做到的，回答“是”；部分做到的，回答“部分符合”；均未做到的，回答“否”：",
}
# The "should" part of a must criterion, shown apart so that it never turns a yes into a partial.
RECOMMENDED = {
    "en": "Recommended, not required: {text}",
    "es": "Recomendado, no obligatorio: {text}",
    "zh": "建议（非强制）：{text}",
}
BULLET = "• "


def compose(question: str, checks: str, recommended: str, language: str) -> str:
    """The full text of a question as plain lines: the question, the answer rule and one line per check, then the
    recommended part. Shown as it is in the workbook and on staff pages; ui.questions renders the lines."""
    language = language if language in LANGUAGES else "en"
    lines = [question.strip()]
    points = [c.strip() for c in (checks or "").splitlines() if c.strip()]
    if points:
        lines.append(CHECKS_RULE[language])
        lines += [BULLET + p for p in points]
    if (recommended or "").strip():
        lines.append(RECOMMENDED[language].format(text=recommended.strip()))
    return "\n".join(lines)


def question_texts_for(*, session: Session, language: str, entity_type: str = "") -> dict[str, str]:
    """criterion id -> the full question a partner of this entity type reads in this language.

    The first that exists: the entity type's own text in the language, the general text in the language, the entity
    type's text in English, the general English text, the criterion's summary.
    """
    language = language if language in LANGUAGES else "en"
    rows = session.exec(
        select(CriterionText.criterion_id, CriterionText.language, CriterionText.entity_type, CriterionText.question,
               CriterionText.checks, CriterionText.recommended)
        .where(col(CriterionText.language).in_({language, "en"}),
               col(CriterionText.entity_type).in_({"", entity_type or ""}))
    ).all()
    found = {(r.criterion_id, r.language, r.entity_type): compose(r.question, r.checks, r.recommended, r.language)
             for r in rows}
    texts = {}
    for cid, summary in session.exec(select(Criterion.criterion_id, Criterion.summary)).all():
        for key in ((language, entity_type), (language, ""), ("en", entity_type), ("en", "")):
            if (cid, *key) in found:
                texts[cid] = found[(cid, *key)]
                break
        else:
            texts[cid] = summary
    return texts
