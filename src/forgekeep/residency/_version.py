"""Which edition of the residency data this process uses."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from forgekeep.residency._data import load_dataset


class DataVersion(NamedTuple):
    """The packaged data file's ``version`` and the date its lists are true as of."""

    version: str
    as_of: dt.date


def data_version() -> DataVersion:
    """The version and ``as_of`` date of the packaged residency data."""
    data = load_dataset()
    return DataVersion(data.version, data.as_of)
