"""Alembic environment: one set of migrations for SpatiaLite and PostGIS.

The engine comes from assetmap.db.make_engine so that SpatiaLite is loaded on every
connection here too (Alembic otherwise makes its own engine without it).
"""

from alembic import context
from geoalchemy2 import alembic_helpers

from assetmap.config import Config
from assetmap.db import make_engine
from assetmap.migrate import include_object
from assetmap.models import Base

config = context.config
url = config.attributes.get("database_url") or Config().DATABASE_URL


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
