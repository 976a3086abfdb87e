"""Run Alembic migrations from code (`assetmap db upgrade`, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine

from assetmap.config import PROJECT_ROOT

# Indexes that only migrations manage, because they exist on one backend only.
MIGRATION_ONLY_INDEXES = frozenset({"ix_postcodes_live_point"})  # PostGIS GiST, 0014


def include_object(obj, name, obj_type, reflected, compare_to) -> bool:
    """Leave SpatiaLite's and PostGIS's own tables alone: only our metadata is managed."""
    if obj_type == "table" and reflected and compare_to is None:
        return False
    if obj_type == "index" and name in MIGRATION_ONLY_INDEXES:
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(_alembic_config(engine), revision)


def pending(engine: Engine) -> bool:
    """True when the database is behind the newest migration (or has none applied)."""
    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) != set(script.get_heads())
