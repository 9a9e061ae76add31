"""Policy: the Cedar schema, the baseline policies, and decisions with reasons."""

from forgekeep.policy.engine import (
    DEFAULT_DENY,
    EVALUATION_ERROR,
    INVALID_ENTITIES,
    Decision,
    PolicyEngine,
    PolicyProblem,
    Request,
    baseline_text,
    schema_text,
    validate_policies,
)

__all__ = [
    "DEFAULT_DENY",
    "EVALUATION_ERROR",
    "INVALID_ENTITIES",
    "Decision",
    "PolicyEngine",
    "PolicyProblem",
    "Request",
    "baseline_text",
    "schema_text",
    "validate_policies",
]
