"""Turning the chunks a producer yields into flat byte views, without copying.

Rule for every backend: a chunk is used only until the producer is asked for
the next one, unless it is immutable. A producer may therefore hand out views
of one reusable buffer. Only chunks backed by ``bytes`` may be held longer (for
example, batched into one ``writev``).
"""

from __future__ import annotations

from forgekeep.errors import UsageError


def byte_view(chunk: bytes | memoryview) -> memoryview:
    """A flat, contiguous, one-byte-per-item view of ``chunk``.

    Copies only a non-contiguous view. Anything that is not bytes-like is a
    :class:`UsageError`.
    """
    try:
        view = memoryview(chunk)
    except TypeError as exc:
        kind = type(chunk).__name__
        raise UsageError(f"a blob chunk must be bytes-like, not {kind}") from exc
    if view.c_contiguous:
        return view if view.ndim == 1 and view.itemsize == 1 else view.cast("B")
    return memoryview(view.tobytes())


def is_immutable(view: memoryview) -> bool:
    """True when the memory behind ``view`` can never change (it is ``bytes``)."""
    return isinstance(view.obj, bytes)
