"""Personal supplier links: a random token per assignment, of which only the SHA-256 is stored in the clear (and the
token sealed with the server's key for the follow-up e-mails: services.collection.sealed)."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from models import Assignment, Cycle, Partner
from models.collection import CycleStatus
from models.common import utcnow
from services.collection import sealed, states
from services.collection.cycles import get_assignment
from services.collection.states import Action, PartnerActor
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write

# secrets.token_urlsafe(32) is 43 characters; anything much longer is not one of ours and is not even hashed.
_MAX_TOKEN_LENGTH = 100


def token_hash(token: str) -> str:
    """SHA-256 hex of a token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(*, session: Session, actor: Actor, assignment_id: int, valid_days: int = 90) -> str:
    """Make a new personal link token for the assignment and return it (it is shown once and never stored).

    A new token replaces the previous one, which stops working. "not sent" becomes "sent". valid_days: 1 to 366.
    Refused for an exempt partner or a closed cycle.
    """
    return issue_links(session=session, actor=actor, assignment_ids=[assignment_id], valid_days=valid_days)[
        assignment_id
    ]


def issue_links(
    *, session: Session, actor: Actor, assignment_ids: Sequence[int], valid_days: int = 90
) -> dict[int, str]:
    """issue_link for many assignments at once (one bulk UPDATE); returns assignment id -> token."""
    states.require(actor, Action.send)
    if not 1 <= valid_days <= 366:
        raise ValidationError("valid_days: must be between 1 and 366")
    ids = list(dict.fromkeys(int(i) for i in assignment_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Assignment.id, Assignment.status, Partner.partner_code, Cycle.name, Cycle.status)
        .join(Partner, col(Partner.id) == Assignment.partner_id)
        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
        .where(col(Assignment.id).in_(ids))
    ).all()
    found = {r[0]: r for r in rows}
    problems = [f"No assignment with id {i}" for i in ids if i not in found]
    for _, status, code, cycle_name, cycle_status in rows:
        if cycle_status != CycleStatus.open:
            problems.append(f"{code}: cycle {cycle_name} is closed; no link can be issued")
        elif status not in states.LINK_OPENS:
            problems.append(f"{code}: the partner is exempt in {cycle_name}; remove the exemption first")
    if problems:
        raise ValidationError("; ".join(problems[:20]))

    session.flush()  # pending changes first: the loaded objects are expired after the bulk UPDATE
    now = utcnow()
    expires = now + timedelta(days=valid_days)
    tokens = {i: secrets.token_urlsafe(32) for i in ids}
    seal = sealed.sealer()
    session.exec(
        update(Assignment.__table__)
        .where(Assignment.__table__.c.id == bindparam("b_id"))
        .values(token_hash=bindparam("b_hash"), token_sealed=bindparam("b_sealed"), token_expires_at=expires,
                token_revoked=False, updated_at=now),
        params=[{"b_id": i, "b_hash": token_hash(t), "b_sealed": seal(t)} for i, t in tokens.items()],
    )
    [send] = states.transitions(Action.send)
    session.exec(
        update(Assignment)
        .where(col(Assignment.id).in_(ids), col(Assignment.status).in_(sorted(send.sources)))
        .values(status=send.target, sent_at=now)
    )
    # One audit event per call: a whole cycle's links at once must not cost one event object per partner.
    codes = sorted(r[2] for r in rows)
    cycle_names = sorted({r[3] for r in rows})
    audit.record(
        session=session, actor=actor, action="issue link", entity="assignment",
        entity_id=ids[0] if len(ids) == 1 else f"{len(ids)} assignments",
        summary=f"New link{'' if len(ids) == 1 else 's'} for {', '.join(codes[:5])}"
        f"{f' and {len(codes) - 5} more' if len(codes) > 5 else ''} in {', '.join(cycle_names)}, "
        f"valid until {expires:%Y-%m-%d}",
        after={"assignment_ids": ids, "partner_codes": codes, "token_expires_at": expires},
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Assignment) and obj.id in tokens:
            session.expire(obj)  # the bulk UPDATEs bypassed the objects already loaded
    return tokens


def revoke_link(*, session: Session, actor: Actor, assignment_id: int) -> None:
    """Stop the assignment's link from working (a new one can be issued later)."""
    require_write(actor)
    assignment = get_assignment(session=session, assignment_id=assignment_id)
    if assignment.token_hash is None:
        raise ValidationError("This assignment has no link to revoke")
    if assignment.token_revoked:
        return
    code = session.exec(select(Partner.partner_code).where(Partner.id == assignment.partner_id)).one()
    before = {"token_revoked": assignment.token_revoked}
    assignment.token_revoked = True
    assignment.updated_at = utcnow()
    session.add(assignment)
    audit.record(session=session, actor=actor, action="revoke link", entity="assignment", entity_id=assignment_id,
                 summary=f"Revoked the link of {code}", before=before, after={"token_revoked": True})


def resolve_token(*, session: Session, token: str) -> Assignment | None:
    """The assignment a link token opens, or None when it is unknown, expired, revoked or its cycle is closed.

    The lookup is by the token's hash, so no stored value is compared character by character with the input.
    """
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    assignment = session.exec(select(Assignment).where(Assignment.token_hash == token_hash(token))).first()
    if assignment is None or assignment.token_revoked or assignment.status not in states.LINK_OPENS:
        return None
    if assignment.token_expires_at is None or assignment.token_expires_at < utcnow():
        return None
    cycle_status = session.exec(select(Cycle.status).where(Cycle.id == assignment.cycle_id)).one()
    if cycle_status != CycleStatus.open:
        return None
    return assignment


def link_actor(*, session: Session, token: str) -> PartnerActor | None:
    """Who acts through this link: the partner, scoped to the link's own assignment; None for an invalid link."""
    assignment = resolve_token(session=session, token=token)
    return None if assignment is None else partner_actor(session=session, assignment_id=assignment.id)


def partner_actor(*, session: Session, assignment_id: int) -> PartnerActor:
    """The partner of an assignment acting through that assignment's link (audit name "partner:<code>")."""
    assignment = get_assignment(session=session, assignment_id=assignment_id)
    code = session.exec(select(Partner.partner_code).where(Partner.id == assignment.partner_id)).one()
    return states.partner_actor(code, assignment.id)


def keep_link_open(*, session: Session, assignment: Assignment, days: int) -> datetime | None:
    """Extend a live (issued, not revoked) link to expire no sooner than `days` from now; the new expiry or None."""
    if not assignment.token_hash or assignment.token_revoked or assignment.token_expires_at is None:
        return None
    until = utcnow() + timedelta(days=days)
    if assignment.token_expires_at >= until:
        return None
    assignment.token_expires_at = until
    session.add(assignment)
    return until


def link_url(*, base_url: str, token: str) -> str:
    """The address a partner opens: <app URL>/?token=..."""
    return f"{base_url.rstrip('/')}/?token={token}"


def has_working_link(*, session: Session, assignment_id: int) -> bool:
    """Whether the assignment has an issued link that is neither revoked nor expired (one revoke_link would stop)."""
    assignment = get_assignment(session=session, assignment_id=assignment_id)
    return bool(assignment.token_hash and not assignment.token_revoked and assignment.token_expires_at is not None
                and assignment.token_expires_at >= utcnow())
