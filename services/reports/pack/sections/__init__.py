"""The sections of the validation pack, one per module of this package, in `order`.

Adding a section: a new module here defining `SECTION = Section(...)` (services.reports.pack.base); nothing else
changes. The sheet name must be unique; `order` places it (the existing ones are ten apart).
"""

import importlib
import pkgutil

from services.reports.pack.base import Section


def _discover() -> list[Section]:
    found: list[Section] = []
    for module in pkgutil.iter_modules(__path__):
        section = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SECTION", None)
        if isinstance(section, Section):
            found.append(section)
    found.sort(key=lambda s: (s.order, s.key))
    sheets = [s.sheet for s in found]
    duplicates = {name for name in sheets if sheets.count(name) > 1}
    if duplicates:
        raise RuntimeError(f"Two pack sections use the sheet name(s) {sorted(duplicates)}")
    too_long = [name for name in sheets if len(name) > 31]
    if too_long:
        raise RuntimeError(f"Sheet names longer than Excel's 31 characters: {too_long}")
    return found


SECTIONS: list[Section] = _discover()
