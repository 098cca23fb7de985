"""certificate sites

A certificate that names sites now links them (certificatesite) instead of holding their MIDs or addresses as text.
The data step links what the text names: a part of it (between ";", "|" or line breaks) that is a site's name or
address, or a word of it that is a site's MID, of the certificate's partner. What it cannot match stays in
``covered_sites`` and is named in the audit log (as "system"), so that someone links those sites by hand. A partner
keeps one primary site (a unique partial index, as for contacts); should a partner have more than one, the oldest
stays primary.

Revision ID: 0006
Revises: 0003s
Create Date: 2026-12-05 23:22:31
"""
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = '0006'
down_revision: str | None = '0003s'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

certificate = sa.table(
    "certificate", sa.column("id", sa.Integer), sa.column("partner_id", sa.Integer), sa.column("program", sa.String),
    sa.column("certificate_number", sa.String), sa.column("covers_all_sites", sa.Boolean),
    sa.column("covered_sites", sa.String))
partnersite = sa.table(
    "partnersite", sa.column("id", sa.Integer), sa.column("partner_id", sa.Integer), sa.column("name", sa.String),
    sa.column("address", sa.String), sa.column("mid", sa.String), sa.column("is_primary", sa.Boolean))
certificatesite = sa.table("certificatesite", sa.column("certificate_id", sa.Integer), sa.column("site_id", sa.Integer))
auditevent = sa.table(
    "auditevent", sa.column("at", UTCDateTime), sa.column("username", sa.String), sa.column("action", sa.String),
    sa.column("entity", sa.String), sa.column("entity_id", sa.String), sa.column("summary", sa.String),
    sa.column("before", sa.JSON), sa.column("after", sa.JSON))
_PARTS = re.compile(r"[;|\n]+")
_WORDS = re.compile(r"[,\s]+")
_LOOKS_LIKE_MID = re.compile(r"^[A-Z]{2}(?=.*\d)[A-Z0-9]{4,13}$")


def upgrade() -> None:
    op.create_table('certificatesite',
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'],
                            name=op.f('fk_certificatesite_certificate_id_certificate')),
    sa.ForeignKeyConstraint(['site_id'], ['partnersite.id'], name=op.f('fk_certificatesite_site_id_partnersite')),
    sa.PrimaryKeyConstraint('certificate_id', 'site_id', name=op.f('pk_certificatesite'))
    )
    with op.batch_alter_table('certificatesite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificatesite_site_id'), ['site_id'], unique=False)

    connection = op.get_bind()
    _one_primary_site(connection)
    with op.batch_alter_table('partnersite', schema=None) as batch_op:
        batch_op.create_index('uq_partnersite_primary', ['partner_id'], unique=True,
                              sqlite_where=sa.text('is_primary = 1'), postgresql_where=sa.text('is_primary'))
    _link_named_sites(connection)


def _one_primary_site(connection) -> None:
    """Only the oldest primary site of a partner stays primary (the index below allows one)."""
    rows = connection.execute(sa.select(partnersite.c.id, partnersite.c.partner_id)
                              .where(partnersite.c.is_primary).order_by(partnersite.c.id)).all()
    seen: set[int] = set()
    extra = []
    for site_id, partner_id in rows:
        if partner_id in seen:
            extra.append(site_id)
        seen.add(partner_id)
    if extra:
        connection.execute(sa.update(partnersite).where(partnersite.c.id.in_(extra)).values(is_primary=False))


def _key(text: str) -> str:
    return " ".join(str(text or "").casefold().split())


def _mid(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(text or "").upper())


def _link_named_sites(connection) -> None:
    named = connection.execute(
        sa.select(certificate.c.id, certificate.c.partner_id, certificate.c.program, certificate.c.certificate_number,
                  certificate.c.covered_sites)
        .where(sa.not_(certificate.c.covers_all_sites), certificate.c.covered_sites != "")
        .order_by(certificate.c.id)).all()
    if not named:
        return
    sites: dict[int, list] = {}
    for row in connection.execute(sa.select(partnersite.c.id, partnersite.c.partner_id, partnersite.c.name,
                                            partnersite.c.address, partnersite.c.mid)
                                  .where(partnersite.c.partner_id.in_(sorted({r.partner_id for r in named})))):
        sites.setdefault(row.partner_id, []).append(row)
    now = datetime.now(UTC)
    links, events, linked = [], [], 0
    for cert_id, partner_id, program, number, text in named:
        own = sites.get(partner_id, [])
        by_text = {_key(s.name): s.id for s in own} | {_key(s.address): s.id for s in own if s.address}
        by_mid = {_mid(s.mid): s.id for s in own if s.mid}
        found: set[int] = set()
        missed: list[str] = []
        for part in (p.strip() for p in _PARTS.split(text)):
            if not part:
                continue
            if _key(part) in by_text:
                found.add(by_text[_key(part)])
                continue
            words = [w for w in _WORDS.split(part) if w]
            hits = {by_mid[_mid(w)] for w in words if _mid(w) in by_mid}
            found |= hits
            if not hits:
                missed.append(part)
            else:
                missed += [w for w in words if _mid(w) not in by_mid and _LOOKS_LIKE_MID.match(_mid(w))]
        links += [{"certificate_id": cert_id, "site_id": site_id} for site_id in sorted(found)]
        linked += bool(found)
        if missed:
            events.append({
                "at": now, "username": "system", "action": "migrate", "entity": "certificate",
                "entity_id": str(cert_id),
                "summary": (f"Certificate {program} {number}: could not match {'; '.join(missed)} to a site of the "
                            f"partner; it covers the {len(found)} site(s) linked only. Link the others on the "
                            "partner's Certificates tab.")[:500],
                "before": {"covered_sites": text}, "after": {"linked_site_ids": sorted(found), "unmatched": missed}})
    if links:
        connection.execute(sa.insert(certificatesite), links)
    unmatched = len(events)
    if events:
        connection.execute(sa.insert(auditevent), events)
    connection.execute(sa.insert(auditevent).values(
        at=now, username="system", action="migrate", entity="certificate", entity_id="",
        summary=f"Linked {len(links)} named sites to {linked} of the {len(named)} certificates that name sites; "
                f"{unmatched} certificates name sites that could not be matched (see their entries)",
        after={"certificates": len(named), "links": len(links), "with_unmatched_text": unmatched}))


def downgrade() -> None:
    # The links go; each certificate's covered_sites text is as it was before the upgrade.
    with op.batch_alter_table('partnersite', schema=None) as batch_op:
        batch_op.drop_index('uq_partnersite_primary', sqlite_where=sa.text('is_primary = 1'),
                            postgresql_where=sa.text('is_primary'))

    with op.batch_alter_table('certificatesite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificatesite_site_id'))

    op.drop_table('certificatesite')
