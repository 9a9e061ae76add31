"""Data residency: ISO 3166-1 jurisdictions, blocs, and residency rules.

A site sits in one :class:`Jurisdiction`; a project's :class:`ResidencyRule`
(``DE``, ``EU``, ``EEA+CH``, ``EU-HU``) names where its data may sit, and every
write and replication asks :meth:`ResidencyRule.allows` about each site.

Security rule: residency decisions fail closed. An unknown code or bloc is an
error, never "allowed"; a rule that allows no country is an error; a code that
is not an officially assigned ISO 3166-1 alpha-2 code (``XK``, ``UK``, ``EU``)
is never a country. The code list and blocs come from a data file packaged
with Forgekeep and carry a version and an ``as_of`` date
(:func:`data_version`). Bloc membership changes over time; the ``ITAR_126_1``
bloc in particular must be reviewed by the customer against the current
22 CFR 126.1 before it is relied on.

This package does no I/O beyond reading its own packaged data file once.
"""

from forgekeep.limits import MAX_RESIDENCY_RULE_BYTES
from forgekeep.residency._version import DataVersion, data_version
from forgekeep.residency.jurisdiction import Jurisdiction, bloc_members, is_country, known_blocs
from forgekeep.residency.rules import ResidencyRule

__all__ = [
    "MAX_RESIDENCY_RULE_BYTES",
    "DataVersion",
    "Jurisdiction",
    "ResidencyRule",
    "bloc_members",
    "data_version",
    "is_country",
    "known_blocs",
]
