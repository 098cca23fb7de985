from datetime import date
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Basis(StrEnum):
    """What an applicability row rests on (docs/APPLICABILITY.md)."""

    cbp = "CBP source"  # a row of seed/reference/msc-by-entity.csv
    role_rule = "role rule"  # a row of seed/applicability-rules.csv, the rule in words in the note
    admin = "admin override"  # an admin's audited decision, which wins


class PartnerRole(StrEnum):
    """What a partner physically does: the flags that decide role-conditional criteria per partner."""

    crosses_land_border = "crosses_land_border"
    stuffs_containers = "stuffs_containers"
    operates_conveyances = "operates_conveyances"
    handles_cargo = "handles_cargo"


class RoleSetting(StrEnum):
    """A partner's own setting of one role flag, as staff choose it and the audit log words it: "default" leaves the
    role to its entity type's default (stored as NULL), yes and no set it (True, False)."""

    default = "default"
    yes = "yes"
    no = "no"

    @classmethod
    def of(cls, flag: bool | None) -> "RoleSetting":
        """The setting of a stored flag (None: the default)."""
        return cls.default if flag is None else cls.yes if flag else cls.no

    @property
    def flag(self) -> bool | None:
        """The flag stored for this setting (None: the default)."""
        return None if self is RoleSetting.default else self is RoleSetting.yes


class RoleDefault(StrEnum):
    """An entity type's default for one partner role (seed/entity-roles.csv), and so whether a criterion that depends
    on roles is asked of a partner with the defaults: yes, no, or by country (on for partners in the countries the
    file lists by code instead of a word: "CA MX" for the land border)."""

    yes = "yes"
    no = "no"
    by_country = "by country"


class Country(SQLModel, table=True):
    iso2: str = Field(primary_key=True, max_length=2)
    iso3: str = Field(max_length=3, unique=True)
    numeric: str = Field(max_length=3, index=True)  # zero-padded text, as the world map keys it
    name: str = Field(max_length=100)
    region: str = Field(default="", max_length=40)


class Criterion(SQLModel, table=True):
    """One Minimum Security Criterion; ids are text because 4.1 and 4.10 differ."""

    criterion_id: str = Field(primary_key=True, max_length=10)
    focus_area: str = Field(max_length=60)
    category_number: int = Field(index=True)
    category: str = Field(max_length=80)
    sort_key: int = Field(index=True)  # category * 1000 + number, so 4.10 sorts after 4.9
    requirement: str = Field(max_length=8)  # must | should
    summary: str = Field(max_length=1000)
    caveat: str = Field(default="", max_length=500)
    source: str = Field(max_length=1000)


class CriterionApplicability(SQLModel, table=True):
    """Whether a criterion applies to an entity type, and on what basis (one row per pair)."""

    __table_args__ = (UniqueConstraint("criterion_id", "entity_type", name="uq_criterionapplicability_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    criterion_id: str = Field(foreign_key="criterion.criterion_id", max_length=10, index=True)
    entity_type: str = Field(max_length=60, index=True)
    applies: str = Field(max_length=8)  # models.common.Applicability
    requirement: str = Field(default="", max_length=8)
    basis: str = Field(max_length=20)  # Basis
    note: str = Field(default="", max_length=500)
    source: str = Field(default="", max_length=1000)
    # PartnerRole values joined by "|": asked only of partners with one of these roles ("" = every partner).
    role_condition: str = Field(default="", max_length=120)


class CriterionText(SQLModel, table=True):
    """Question text of a criterion in one language (answers are stored once, language-independent).

    entity_type "" is the text for every type; a row with an entity type replaces it for that type (5.3's
    17-point tractor/trailer inspection for highway carriers). checks: what the question verifies, one per line
    (yes = all met, partial = some, no = none); recommended: a "should" part of a must criterion.
    """

    criterion_id: str = Field(foreign_key="criterion.criterion_id", primary_key=True, max_length=10)
    language: str = Field(primary_key=True, max_length=5)
    entity_type: str = Field(default="", primary_key=True, max_length=60)
    question: str = Field(max_length=1000)
    checks: str = Field(default="", max_length=2000)
    recommended: str = Field(default="", max_length=500)


class MraProgram(SQLModel, table=True):
    """A mutual recognition arrangement with CTPAT: the partner administration's program and whom it covers.

    Whether a certificate is mutually recognized is derived from these rows (services.certificates.rule).
    """

    id: int | None = Field(default=None, primary_key=True)
    partner_country: str = Field(max_length=80)
    customs_administration: str = Field(max_length=200)
    program_name: str = Field(max_length=200)
    acronym: str = Field(max_length=20)
    signed: str = Field(max_length=7)  # YYYY-MM as CBP announces it
    confirmed: bool = True
    country_codes: str = Field(default="", max_length=200)  # ISO alpha-2 codes it covers, space-separated
    source: str = Field(default="", max_length=1000)
    # What the certificate rule reads (services.certificates.rule); seed/mra-coverage.csv has the first values.
    codes: str = Field(default="", max_length=100)  # program codes certificates carry (acronym, former names)
    certificate_types: str = Field(default="", max_length=200)  # types the program issues; "" = none recorded
    types_counted: str = Field(default="", max_length=200)  # the types the arrangement covers
    types_note: str = Field(default="", max_length=1000)  # the basis of the two above, or why it is uncertain
    in_force_from: date | None = None
    in_force_until: date | None = None
    caveat: str = Field(default="", max_length=1000)  # shown wherever the arrangement is shown
    checked_on: date | None = None  # last checked against CBP's published list
    confirmed_by: str = Field(default="", max_length=64)  # the admin who confirmed an unconfirmed arrangement
    confirmed_on: date | None = None
