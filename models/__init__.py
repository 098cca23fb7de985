"""SQLModel tables of CTPAT Workbench.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic and the tests rely on it).
"""

from sqlmodel import SQLModel

# Named constraints: Alembic batch mode on SQLite can only drop or alter what has a name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from models.actions import ActionChange, ActionEvidence, ActionItem  # noqa: E402
from models.audit import AuditEvent  # noqa: E402
from models.certificate import (  # noqa: E402
    Certificate,
    CertificateEvent,
    CertificateSettings,
    CertificateSite,
    CertificateVerification,
)
from models.collection import (  # noqa: E402
    Answer,
    Assignment,
    Cycle,
    Evidence,
    ImportRecord,
    ReviewComment,
)
from models.company import CompanyProfile  # noqa: E402
from models.data_version import DataVersion  # noqa: E402
from models.download import Download  # noqa: E402
from models.followups import (  # noqa: E402
    FollowupMessage,
    FollowupPause,
    FollowupSettings,
    MessageTemplate,
    QuietPeriod,
)
from models.incidents import Incident  # noqa: E402
from models.lanes import Lane, LaneNode, SeaRoute  # noqa: E402
from models.partner import Partner  # noqa: E402
from models.places import Place  # noqa: E402
from models.procedure import ProcedureVersion  # noqa: E402
from models.reference import (  # noqa: E402
    Country,
    Criterion,
    CriterionApplicability,
    CriterionText,
    MraProgram,
)
from models.risk import (  # noqa: E402
    RiskAssessment,
    RiskAssessmentScore,
    RiskConfiguration,
    SiteVisit,
    SiteVisitFinding,
)
from models.screening import RestrictedEntry, RestrictedList, RestrictedName, ScreeningMatch  # noqa: E402
from models.selfassessment import EligibilityCheck, SelfAssessmentEntry, SelfAssessmentEvidence  # noqa: E402
from models.sites import PartnerContact, PartnerSite  # noqa: E402
from models.threats import (  # noqa: E402
    ThreatIndicator,
    ThreatRating,
    ThreatRatingChange,
    ThreatSettings,
    ThreatSource,
)
from models.user import User  # noqa: E402

__all__ = [
    "Answer",
    "Assignment",
    "AuditEvent",
    "Certificate",
    "CertificateEvent",
    "CertificateSettings",
    "CertificateSite",
    "CertificateVerification",
    "CompanyProfile",
    "Country",
    "Criterion",
    "CriterionApplicability",
    "CriterionText",
    "Cycle",
    "DataVersion",
    "Download",
    "Evidence",
    "ImportRecord",
    "MraProgram",
    "Partner",
    "ReviewComment",
    "User",
    # risk assessment steps 1 and 2
    "Lane",
    "LaneNode",
    "PartnerContact",
    "PartnerSite",
    "Place",
    "RestrictedEntry",
    "RestrictedList",
    "RestrictedName",
    "ScreeningMatch",
    "SeaRoute",
    "ThreatIndicator",
    "ThreatRating",
    "ThreatRatingChange",
    "ThreatSettings",
    "ThreatSource",
    # risk assessment steps 3 and 4: incidents and the action plan
    "ActionChange",
    "ActionEvidence",
    "ActionItem",
    "Incident",
    # the company's own security profile
    "EligibilityCheck",
    "SelfAssessmentEntry",
    "SelfAssessmentEvidence",
    # follow-ups
    "FollowupMessage",
    "FollowupPause",
    "FollowupSettings",
    "MessageTemplate",
    "QuietPeriod",
    # risk assessment step 3: site visits, scoring configuration, assessment snapshots
    "RiskAssessment",
    "RiskAssessmentScore",
    "RiskConfiguration",
    "SiteVisit",
    "SiteVisitFinding",
    # step 5: the documented risk assessment procedure
    "ProcedureVersion",
]
