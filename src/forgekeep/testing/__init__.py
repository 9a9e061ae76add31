"""Shipped test support: fakes, conformance batteries, a test OIDC issuer and a test PKI."""

from forgekeep.testing.conformance import exercise_blob_store, exercise_key_manager
from forgekeep.testing.fakes import FaultInjectingBlobStore, MemoryBlobStore
from forgekeep.testing.oidc import IssuerServer, TestIssuer, shared_test_issuer
from forgekeep.testing.pki import IssuedCert, TestCA

__all__ = [
    "FaultInjectingBlobStore",
    "IssuedCert",
    "IssuerServer",
    "MemoryBlobStore",
    "TestCA",
    "TestIssuer",
    "exercise_blob_store",
    "exercise_key_manager",
    "shared_test_issuer",
]
