"""Forgekeep db package: the metadata database (models, engine, migrations).

Importing the package registers every model on one metadata, so Alembic and
the model/migration agreement test see all tables.
"""

from forgekeep.db import access as access
from forgekeep.db import ledger as ledger
from forgekeep.db import state as state
