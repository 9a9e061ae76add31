"""Identity: principals (pseudonymous people, machines, organisations)."""

from forgekeep.identity.principals import (
    PSEUDONYM_PREFIX,
    new_pseudonym,
    open_attributes,
    seal_attributes,
    subject_ring_id,
)

__all__ = [
    "PSEUDONYM_PREFIX",
    "new_pseudonym",
    "open_attributes",
    "seal_attributes",
    "subject_ring_id",
]
