"""The key-manager conformance battery against LocalKeyManager (cheap KDF parameters)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from forgekeep.clock import ManualClock
from forgekeep.crypto.context import WrapContext
from forgekeep.keys.local import KdfParams, LocalKeyManager
from forgekeep.keys.protocol import DomainKeyRef, KeyInfo
from forgekeep.testing._keys_conformance import CONTEXT, exercise_key_manager

CHEAP = KdfParams(memory_kib=64, iterations=1, lanes=1)


def test_local_key_manager_passes_the_battery(tmp_path: Path) -> None:
    km = LocalKeyManager.create(tmp_path / "keyring.fk", b"pass", params=CHEAP, clock=ManualClock())
    exercise_key_manager(km, ring_prefix="conf")


def test_a_reopened_keyring_passes_the_battery(tmp_path: Path) -> None:
    path = tmp_path / "keyring.fk"
    LocalKeyManager.create(path, b"pass", params=CHEAP, clock=ManualClock())
    exercise_key_manager(LocalKeyManager.open(path, b"pass", clock=ManualClock()), ring_prefix="r")


class _IgnoresContext(LocalKeyManager):
    """A broken backend: unwrap does not check the context."""

    def unwrap(self, ref: DomainKeyRef, wrapped: bytes, context: WrapContext) -> bytes:
        return super().unwrap(ref, wrapped, CONTEXT)


class _LeaksValueError(LocalKeyManager):
    """A broken backend: a library error escapes instead of a Forgekeep error."""

    def rotate(self, ring: str) -> KeyInfo:
        if ring.endswith("missing"):
            raise ValueError(ring)
        return super().rotate(ring)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (_IgnoresContext, "context: expected .*, nothing was raised"),
        (_LeaksValueError, "a non-Forgekeep error escaped: ValueError"),
    ],
)
def test_the_battery_catches_broken_backends(
    tmp_path: Path, cls: type[LocalKeyManager], message: str
) -> None:
    LocalKeyManager.create(tmp_path / "k.fk", b"pass", params=CHEAP, clock=ManualClock())
    broken = cls.open(tmp_path / "k.fk", b"pass", clock=ManualClock())
    with pytest.raises(AssertionError, match=message):
        exercise_key_manager(broken, ring_prefix="broken")


def test_the_battery_refuses_a_non_key_manager() -> None:
    with pytest.raises(AssertionError, match="does not implement"):
        exercise_key_manager(object(), ring_prefix="x")  # type: ignore[arg-type]


_OPTIMISED = """
import sys
from pathlib import Path
from forgekeep.clock import ManualClock
from forgekeep.keys.local import KdfParams, LocalKeyManager
from forgekeep.testing._keys_conformance import CONTEXT, exercise_key_manager

class Broken(LocalKeyManager):
    def unwrap(self, ref, wrapped, context):
        return super().unwrap(ref, wrapped, CONTEXT)

path = Path(sys.argv[1])
LocalKeyManager.create(path, b"p", params=KdfParams(64, 1, 1), clock=ManualClock())
try:
    exercise_key_manager(Broken.open(path, b"p", clock=ManualClock()), ring_prefix="o")
except AssertionError:
    sys.exit(0)
sys.exit(1)
"""


def test_python_dash_o_does_not_strip_the_checks(tmp_path: Path) -> None:
    code = [sys.executable, "-O", "-c", _OPTIMISED, str(tmp_path / "k.fk")]
    assert subprocess.run(code, check=False).returncode == 0
