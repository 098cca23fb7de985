"""Message templates: a subject and a plain-text body per kind and language, rendered as plain text and HTML.

The defaults are in the text catalogue (services/texts/<language>.toml, keys "followup.<kind>.subject" and
".body"); an admin's edit of one kind in one language is stored as an override (MessageTemplate) and used instead.
An edit may use the default's {placeholders} only, must keep {link} where the default has it, and cannot contain
format tricks ({x!r}, {x:>9}, {x.attr}).

The HTML part is built from the same template: the template's own text and every value are HTML-escaped
(typed text, such as a partner's name or a reviewer's comment, never becomes markup), blank lines become
paragraphs, line breaks <br>, and link values real anchors.
"""

import html
import string
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from models import MessageTemplate
from models.common import LANGUAGES, utcnow
from models.followups import FollowupKind
from services import texts
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

LINK_FIELDS = frozenset({"link"})
SUBJECT_LIMIT = 300
BODY_LIMIT = 10_000


@dataclass(frozen=True)
class Template:
    subject: str
    body: str
    edited: bool = False  # an admin's override, not the catalogue's text


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def key(kind: FollowupKind) -> str:
    """The catalogue key prefix of a kind ("followup.certificate_expiry")."""
    return f"followup.{FollowupKind(kind).name}"


def default(kind: FollowupKind, language: str) -> Template:
    """The catalogue's template."""
    catalogue = texts.catalogue(texts.language_of(language))
    return Template(catalogue[f"{key(kind)}.subject"], catalogue[f"{key(kind)}.body"])


def placeholders(kind: FollowupKind) -> set[str]:
    """The placeholders a template of the kind may use: those of the English default."""
    template = default(kind, "en")
    return texts.placeholders(template.subject) | texts.placeholders(template.body)


def overrides(*, session: Session) -> dict[tuple[FollowupKind, str], Template]:
    """Every admin edit, by (kind, language); one query."""
    return {(t.kind, t.language): Template(t.subject, t.body, edited=True)
            for t in session.exec(select(MessageTemplate))}


def template(*, session: Session, kind: FollowupKind, language: str,
             edits: dict[tuple[FollowupKind, str], Template] | None = None) -> Template:
    """The template in use: the admin's edit when there is one, else the catalogue's."""
    language = texts.language_of(language)
    edits = overrides(session=session) if edits is None else edits
    return edits.get((FollowupKind(kind), language)) or default(kind, language)


def _fields(text: str, where: str) -> list[str]:
    """The placeholder names of a template text; ValidationError for format tricks and stray braces."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise ValidationError(f"{where}: {error} (write a literal brace as {{{{ or }}}})") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValidationError(f"{where}: {{{name}{'!' + conversion if conversion else ''}"
                                  f"{':' + spec if spec else ''}}} is not a placeholder; use {{name}} only")
        names.append(name)
    return names


def check(kind: FollowupKind, subject: str, body: str) -> tuple[str, str]:
    """A template's subject and body checked for the kind (trimmed); ValidationError names what is wrong."""
    subject = " ".join(str(subject or "").split())
    body = str(body or "").replace("\r\n", "\n").strip()
    allowed = placeholders(kind)
    problems = []
    if not subject:
        problems.append("subject: required")
    elif len(subject) > SUBJECT_LIMIT:
        problems.append(f"subject: longer than {SUBJECT_LIMIT} characters")
    if not body:
        problems.append("body: required")
    elif len(body) > BODY_LIMIT:
        problems.append(f"body: longer than {BODY_LIMIT:,} characters")
    for where, text in (("subject", subject), ("body", body)):
        try:
            unknown = sorted(set(_fields(text, where)) - allowed)
        except ValidationError as error:
            problems.append(str(error))
            continue
        if unknown:
            problems.append(f"{where}: {{{unknown[0]}}} is not a placeholder of this message; use "
                            + ", ".join(f"{{{p}}}" for p in sorted(allowed)))
    if not problems:
        needed = LINK_FIELDS & texts.placeholders(default(kind, "en").body)
        missing = sorted(needed - set(_fields(body, "body")))
        if missing:
            problems.append(f"body: keep {{{missing[0]}}}: without it the partner gets no working link")
    if problems:
        raise ValidationError("; ".join(problems))
    return subject, body


def save_override(*, session: Session, actor: Actor, kind: FollowupKind, language: str, subject: str,
                  body: str) -> Template:
    """Store an admin's version of one kind's template in one language (admins only); audited."""
    require_admin(actor)
    kind = FollowupKind(kind)
    if language not in LANGUAGES:
        raise ValidationError(f"language: one of {', '.join(LANGUAGES)}")
    subject, body = check(kind, subject, body)
    row = session.exec(select(MessageTemplate).where(MessageTemplate.kind == kind,
                                                     MessageTemplate.language == language)).first()
    before = {"subject": row.subject, "body": row.body} if row else None
    row = row or MessageTemplate(kind=kind, language=language, subject=subject, body=body,
                                 updated_by=actor.username)
    row.subject, row.body, row.updated_by, row.updated_at = subject, body, actor.username, utcnow()
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="update" if before else "create", entity="message template",
                 entity_id=f"{kind}/{language}", summary=f"Edited the {kind} message in {LANGUAGES[language]}",
                 before=before, after={"subject": subject, "body": body})
    return Template(subject, body, edited=True)


def reset_override(*, session: Session, actor: Actor, kind: FollowupKind, language: str) -> None:
    """Go back to the catalogue's template for one kind and language (admins only); audited."""
    require_admin(actor)
    kind = FollowupKind(kind)
    row = session.exec(select(MessageTemplate).where(MessageTemplate.kind == kind,
                                                     MessageTemplate.language == language)).first()
    if row is None:
        return
    before = {"subject": row.subject, "body": row.body}
    session.exec(delete(MessageTemplate).where(col(MessageTemplate.id) == row.id))
    audit.record(session=session, actor=actor, action="delete", entity="message template",
                 entity_id=f"{kind}/{language}",
                 summary=f"Restored the default {kind} message in {LANGUAGES[language]}",
                 before=before)


def _value(values: dict[str, object], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value)


def render_text(text: str, values: dict[str, object]) -> str:
    """A template text filled in as plain text (a missing value is left empty)."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(_value(values, name))
    return "".join(out)


def render_html(text: str, values: dict[str, object]) -> str:
    """The template as HTML: its text and the values escaped, links as anchors, blank lines as paragraphs."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(text):
        out.append(html.escape(literal, quote=False))
        if name is None:
            continue
        value = _value(values, name)
        if name in LINK_FIELDS and value.startswith(("http://", "https://")):
            out.append(f'<a href="{html.escape(value, quote=True)}">{html.escape(value, quote=False)}</a>')
        else:
            out.append(html.escape(value, quote=False))
    paragraphs = [p.strip("\n") for p in "".join(out).split("\n\n") if p.strip()]
    body = "\n".join(f"<p>{p.replace(chr(10), '<br>' + chr(10))}</p>" for p in paragraphs)
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
            '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.45; '
            f'color: #1b1b1b;">\n{body}\n</body></html>\n')


def render(template: Template, values: dict[str, object]) -> Rendered:
    """Subject (one line), plain text and HTML of a template with the values."""
    subject = " ".join(render_text(template.subject, values).split())[:SUBJECT_LIMIT]
    return Rendered(subject, render_text(template.body, values).strip() + "\n", render_html(template.body, values))
