"""The importer's own CTPAT profile: one field per row."""

import pandas as pd

from services.company import profile as company
from services.reports.pack.base import Column, Kind, PackContext, Section

_FIELDS = [("legal_name", "Legal name"), ("ctpat_account_number", "CTPAT account number"),
           ("entity_type", "Entity type"), ("tier", "Tier"), ("certification_date", "Certified on"),
           ("last_validation_date", "Last validation"), ("annual_review_anniversary", "Annual review anniversary"),
           ("ior_number", "Importer of record number"), ("primary_contact", "Primary contact"),
           ("primary_contact_email", "Primary contact e-mail")]
_DATES = [("next_anniversary", "Next annual review anniversary"), ("review_window_opens", "Review window opens"),
          ("revalidation_due", "Revalidation due")]


def rows(ctx: PackContext):
    profile = company.get_profile(session=ctx.session)
    if profile is None:
        yield pd.DataFrame({"field": ["Company profile"], "value": ["Unknown: no company profile has been entered"]})
        return
    values = profile.model_dump()
    dates = company.key_dates(profile, ctx.today)
    fields = [(label, values[name]) for name, label in _FIELDS]
    fields += [(label, dates.get(name)) for name, label in _DATES]
    yield pd.DataFrame({"field": [f for f, _ in fields],
                        "value": ["Unknown" if v in (None, "") else str(v) for _, v in fields]})


SECTION = Section(
    key="company", order=10, sheet="Company profile", title="Company profile",
    description="The importer's own CTPAT account as entered on the Admin page, with the dates that follow from it.",
    columns=(Column("field", "Field", 32), Column("value", "Value", 60, Kind.wrap)),
    rows=rows,
)
