"""Conformance batteries every backend must pass.

``exercise_key_manager(km, ring_prefix=…)`` and ``exercise_blob_store(store)`` run
the same checks against any implementation of the ``KeyManager`` and
``BlobStore`` protocols: the shipped ``local:`` and ``file:`` backends, the
fakes, and every backend added later. They raise ``AssertionError`` (never a
bare ``assert``, so ``python -O`` keeps them) naming the rule that broke.
"""

from forgekeep.testing._blob_conformance import exercise_blob_store
from forgekeep.testing._keys_conformance import exercise_key_manager

__all__ = ["exercise_blob_store", "exercise_key_manager"]
