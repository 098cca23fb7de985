"""Importing lanes from CSV/XLSX: one row per node, preview, then all or nothing (docs/import-formats.md).

Rows with the same lane code form one lane, in the order of the `seq` column (or of the file). The lane's own
columns (name, commodity, mode, volume share) are read from its first row that has them; a different value in a
later row of the same lane is an error. Node columns are checked with the lane form's rules
(services.lanes.registry.resolve_nodes): a node without a partner is a warning (it becomes a flag), an unknown
partner code or place is an error. A lane code that exists replaces that lane's fields and nodes. Any error in
the file and nothing is written.
"""

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from models import ImportRecord, Lane
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.imports.reader import (
    Problem,
    ProblemCounts,
    Table,
    UnreadableFile,
    header_key,
    problems_frame,
    read_table,
)
from services.lanes import registry

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lane_code": ("lane_code", "lane", "lane id", "lane no", "route code", "route"),
    "lane_name": ("lane_name", "lane description", "description", "name"),
    "commodity": ("commodity", "hts", "hts chapter", "product", "goods"),
    "lane_mode": ("lane_mode", "mode", "main mode", "lane mode"),
    "volume_share": ("volume_share", "share", "volume share", "volume %", "share %", "volume"),
    "seq": ("seq", "sequence", "step", "node", "node no", "order"),
    "role": ("role", "node role", "node type", "stage"),
    "partner_code": ("partner_code", "partner", "partner code", "vendor code", "party code", "custodian"),
    "site": ("site", "partner site", "site name"),
    "place": ("place", "location", "unlocode", "un/locode", "locode", "port", "place code"),
    "place_kind": ("place_kind", "place kind", "location kind"),
    "custody": ("custody", "custody type", "direct/indirect"),
    "contracted_by": ("contracted_by", "contracted by", "subcontracted by", "via partner"),
    "mode_to_next": ("mode_to_next", "mode to next", "next mode", "leg mode", "onward mode"),
    "rests": ("rests", "at rest", "cargo at rest", "storage"),
    "dwell_hours": ("dwell_hours", "dwell", "dwell hours", "hours at rest", "dwell time"),
    "custody_change": ("custody_change", "custody change", "handover", "custody changes"),
    "seal_applied": ("seal_applied", "seal applied", "seal"),
    "seal_verified": ("seal_verified", "seal verified", "seal check", "seal checked"),
    "transmits_data": ("transmits_data", "transmits data", "data transmission", "transmits shipment data", "isf"),
    "notes": ("notes", "comment", "comments", "remarks"),
}
LANE_COLUMNS = ("lane_name", "commodity", "lane_mode", "volume_share")
PREVIEW_COLUMNS = ["lane_code", "lane_name", "action", "nodes", "changes", "first_row"]
NODE_PREVIEW = ["row", "lane_code", "seq", "role", "partner_code", "site", "place", "custody", "mode_to_next",
                "rests", "dwell_hours"]


@dataclass
class LanePreview(ProblemCounts):
    """What importing a lane file would do; nothing written yet."""

    filename: str
    sha256: str
    rows: int
    lanes: pd.DataFrame  # one row per lane: action new / replace / unchanged / error
    nodes: pd.DataFrame
    problems: pd.DataFrame
    writes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = self.lanes["action"].value_counts() if not self.lanes.empty else pd.Series(dtype=int)
        return {a: int(found.get(a, 0)) for a in ("new", "replace", "unchanged", "error")}


def _columns(table: Table, problems: list[Problem]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    taken: set[int] = set()
    for target, aliases in COLUMN_ALIASES.items():
        positions = [p for p in table.positions(*(header_key(a) for a in aliases)) if p not in taken]
        if len(positions) > 1:
            labels = ", ".join(table.label(p) for p in positions)
            problems.append(Problem(table.filename, table.header_row, labels, "",
                                    f"More than one column could be '{target}' ({labels}); keep one."))
            return None
        if positions:
            columns[target] = positions[0]
            taken.add(positions[0])
    for position in range(len(table.headers)):
        if position not in taken:
            problems.append(Problem(table.filename, table.header_row, table.label(position), "",
                                    "This column is not imported (unknown column name).", "warning"))
    for required in ("lane_code", "role"):
        if required not in columns:
            problems.append(Problem(table.filename, table.header_row, "", ", ".join(table.headers)[:200],
                                    f"No {required} column (see docs/import-formats.md, section Lanes)."))
    return columns if {"lane_code", "role"} <= set(columns) else None


def preview_lanes(*, session: Session, filename: str, data: bytes) -> LanePreview:
    """Read and check a lane file against partners, sites, places and the stored lanes; writes nothing."""
    problems: list[Problem] = []
    empty = LanePreview(filename=filename, sha256="", rows=0, lanes=pd.DataFrame(columns=PREVIEW_COLUMNS),
                        nodes=pd.DataFrame(columns=NODE_PREVIEW), problems=problems_frame([]))
    try:
        table = read_table(filename=filename, data=data, sheet="Lanes",
                           header_keys=[header_key(a) for a in COLUMN_ALIASES["lane_code"]])
    except UnreadableFile as exc:
        empty.problems = problems_frame([exc.problem])
        return empty
    problems.extend(table.problems)
    columns = _columns(table, problems)
    if columns is not None and table.cells.empty:
        problems.append(Problem(filename, table.header_row, "", "", "The file has a header row but no nodes."))
    if columns is None or table.cells.empty:
        empty.sha256, empty.problems = table.sha256, problems_frame(problems)
        return empty
    labels = {t: table.label(p) for t, p in columns.items()}
    cells = pd.DataFrame({t: table.cells[p].astype(str).str.strip() for t, p in columns.items()},
                         index=table.cells.index)
    cells["lane_code"] = cells["lane_code"].str.upper()
    missing = cells[cells["lane_code"] == ""]
    for row in missing.index:
        problems.append(Problem(filename, int(row), labels["lane_code"], "", "The node has no lane code."))
    cells = cells[cells["lane_code"] != ""]
    lookup = registry.Lookup.build(session)
    stored = {code: (lane_id, version) for lane_id, code, version in
              session.exec(select(Lane.id, Lane.code, Lane.version)).all()}
    existing = registry.list_lanes(session=session).set_index("code") if stored else pd.DataFrame()
    in_file = [stored[c][0] for c in cells["lane_code"].unique() if c in stored]
    current = registry.nodes_frame(session=session, lane_ids=in_file) if in_file else None
    summaries, node_rows, writes = [], [], []
    for code, group in cells.groupby("lane_code", sort=False):
        mine = None
        if current is not None and code in stored:
            mine = registry.node_rows(current[current["lane_id"] == stored[code][0]])
        summary, nodes, write = _lane(session, filename, code, group, labels, lookup, stored, existing, mine,
                                      problems)
        summaries.append(summary)
        node_rows.extend(nodes)
        if write is not None:
            writes.append(write)
    lanes = pd.DataFrame(summaries, columns=PREVIEW_COLUMNS)
    errors = {(p.file, p.row) for p in problems if p.severity == "error"}
    bad = {code for code, group in cells.groupby("lane_code") if any((filename, int(r)) in errors
                                                                   for r in group.index)}
    lanes.loc[lanes["lane_code"].isin(bad), "action"] = "error"
    writes = [w for w in writes if w["code"] not in bad]
    frame = problems_frame(problems).sort_values("row", kind="stable").reset_index(drop=True)
    return LanePreview(filename=filename, sha256=table.sha256, rows=len(table.cells), lanes=lanes,
                       nodes=pd.DataFrame(node_rows, columns=NODE_PREVIEW), problems=frame, writes=writes)


def _lane(session: Session, filename: str, code: str, group: pd.DataFrame, labels: dict[str, str],
          lookup: registry.Lookup, stored: dict, existing: pd.DataFrame, current: list[dict] | None,
          problems: list[Problem]):
    first_row = int(group.index[0])
    if "seq" in group:
        order = pd.to_numeric(group["seq"], errors="coerce")
        for row in group.index[order.isna() & (group["seq"] != "")]:
            problems.append(Problem(filename, int(row), labels["seq"], group.at[row, "seq"], "Not a whole number."))
        repeated = group.index[order.duplicated(keep="first") & order.notna()]
        for row in repeated:
            problems.append(Problem(filename, int(row), labels["seq"], group.at[row, "seq"],
                                    f"Lane {code} already has a node {group.at[row, 'seq']}."))
        group = group.assign(_order=order).sort_values("_order", kind="stable", na_position="last")
    values: dict[str, Any] = {"code": code}
    for column in LANE_COLUMNS:
        if column not in group:
            continue
        given = group[column][group[column] != ""]
        if given.empty:
            continue
        values[column] = given.iloc[0]
        for row in given.index[given != given.iloc[0]]:
            problems.append(Problem(filename, int(row), labels[column], group.at[row, column],
                                    f"Lane {code} has {column.replace('_', ' ')} '{given.iloc[0]}' in row "
                                    f"{int(given.index[0])}: one value per lane."))
    lane_values = {"code": code, "name": values.get("lane_name", ""), "commodity": values.get("commodity", ""),
                   "mode": values.get("lane_mode", ""), "volume_share": values.get("volume_share")}
    lane_id = stored.get(code, (None, None))[0]
    clean = None
    try:
        clean = registry.clean_lane_values(session, lane_values, lane_id)
    except ValidationError as exc:
        for message in str(exc).split("; "):
            target, _, text = message.partition(": ")
            column = {"name": "lane_name", "mode": "lane_mode"}.get(target, target)
            problems.append(Problem(filename, first_row, labels.get(column, column), str(lane_values.get(target, "")),
                                    f"Lane {code}: {text}"))
    rows = [{f: group.at[row, f] if f in group else "" for f in registry.ROW_FIELDS} for row in group.index]
    nodes, found = registry.resolve_nodes(lookup, rows)
    for position, target, value, message, severity in found:
        row = int(group.index[position])
        problems.append(Problem(filename, row, labels.get(target, target), str(value), message, severity))
    shown = [{"row": int(row), "lane_code": code, "seq": i + 1, **{k: rows[i][k] for k in NODE_PREVIEW[3:]}}
             for i, row in enumerate(group.index)]
    action, changes = "new", f"{len(nodes)} nodes"
    if lane_id is not None:
        before = existing.loc[code]
        changed = [f for f in ("name", "commodity", "mode") if clean and str(before[f]) != str(clean[f])]
        same_nodes = current is not None and len(current) == len(rows) and \
            registry.resolve_nodes(lookup, current)[0] == nodes
        action = "unchanged" if not changed and same_nodes else "replace"
        changes = ", ".join([*changed, *([] if same_nodes else [f"nodes {before['nodes']} → {len(nodes)}"])])
    summary = {"lane_code": code, "lane_name": lane_values["name"], "action": action, "nodes": len(nodes),
               "changes": changes, "first_row": first_row}
    write = None
    if clean is not None and action != "unchanged":
        write = {"code": code, "values": clean, "nodes": nodes, "lane_id": lane_id}
    return summary, shown, write


def apply_lanes(*, session: Session, actor: Actor, preview: LanePreview) -> ImportRecord:
    """Write a checked preview in the caller's transaction; refuses when it has errors (nothing written)."""
    require_write(actor)
    preview.refuse_if_errors()
    codes = [w["code"] for w in preview.writes]
    now_stored = {code: lane_id for lane_id, code in session.exec(select(Lane.id, Lane.code)).all()}
    for write in preview.writes:
        if now_stored.get(write["code"]) != write["lane_id"]:
            raise ValidationError(f"Lane {write['code']} was added or removed since the preview; preview again.")
    registry.write_lanes(session=session, actor=actor, lanes=preview.writes)
    counts = preview.counts
    record = ImportRecord(kind="lanes", filename=preview.filename[:255], sha256=preview.sha256,
                          username=actor.username, rows=preview.rows, created=counts["new"],
                          changed=counts["replace"], unchanged=counts["unchanged"])
    session.add(record)
    session.flush()
    audit.record(session=session, actor=actor, action="import", entity="lanes", entity_id=record.id,
                 summary=f"Imported lanes from {preview.filename}: {counts['new']} new, {counts['replace']} replaced, "
                         f"{counts['unchanged']} unchanged",
                 after={"file": preview.filename, "sha256": preview.sha256, "lanes": codes})
    return record
