"""The migrations build exactly the schema the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assetmap import db
from assetmap.migrate import include_object
from assetmap.models import Base


def test_migrated_schema_matches_the_models(app):
    engine = db.get_engine(app)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": include_object, "compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    # SpatiaLite reports its geometry indexes differently; anything else is real drift.
    real = [d for d in diff if not (isinstance(d, tuple) and "idx_" in str(d))]
    assert real == []
