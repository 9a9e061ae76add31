"""Alembic environment: runs migrations on the engine Forgekeep hands over.

On SQLite, foreign keys are switched off for the migration connection (table
rebuilds would otherwise fail), and ``PRAGMA foreign_key_check`` must come back
empty before the migration commits.
"""

from __future__ import annotations

from alembic import context

from forgekeep.db.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # must happen outside a transaction, on the raw connection
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
    connection.commit()
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
