"""Identity: principals (pseudonymous people, machines, organisations) and OIDC."""

from forgekeep.identity.oidc import (
    Claims,
    HttpJwks,
    JwksSource,
    OidcValidator,
    StaticJwks,
    parse_jwks,
)
from forgekeep.identity.principals import (
    PSEUDONYM_PREFIX,
    new_pseudonym,
    open_attributes,
    open_subject_detail,
    seal_attributes,
    seal_subject_detail,
    subject_ring_id,
)

__all__ = [
    "PSEUDONYM_PREFIX",
    "Claims",
    "HttpJwks",
    "JwksSource",
    "OidcValidator",
    "StaticJwks",
    "new_pseudonym",
    "open_attributes",
    "open_subject_detail",
    "parse_jwks",
    "seal_attributes",
    "seal_subject_detail",
    "subject_ring_id",
]
