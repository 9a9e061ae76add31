"""Parsed entity handles, cached by content so a repeated decision never re-parses them.

Security rule: the cache key is the canonical JSON of every entity document, so two requests
share a handle only when their entities are identical; a set Cedar refuses to parse is never
cached and is reported as ``None`` (the caller denies).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Final

from forgekeep.policy.engine import Entities, PolicyEngine

DEFAULT_SIZE: Final = 512


class EntityCache:
    """A bounded LRU of parsed entity sets; ``parses`` counts the real parses."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._handles: OrderedDict[str, Entities] = OrderedDict()
        self.parses = 0

    def clear(self) -> None:
        self._handles.clear()

    def parsed(
        self, engine: PolicyEngine, documents: Sequence[Mapping[str, Any]]
    ) -> Entities | None:
        key = json.dumps(documents, sort_keys=True, separators=(",", ":"))
        cached = self._handles.get(key)
        if cached is not None:
            self._handles.move_to_end(key)
            return cached
        try:
            parsed = engine.entities(documents)
        except (ValueError, TypeError):
            return None
        self.parses += 1
        self._handles[key] = parsed
        if len(self._handles) > self._size:
            self._handles.popitem(last=False)
        return parsed
