"""The company's own Security Profile: self-assessment against the MSC of its entity type, eligibility, exports."""

from services.selfassessment.assessment import self_assessment_status

__all__ = ["self_assessment_status"]
