"""postcodes: a GiST index of live postcodes' points (PostGIS), for the nearest live postcode

The (lat, lon) B-tree answers a box by scanning a whole band of latitude (across the UK a
band 0.004 degrees high holds thousands of postcodes) and cannot say which postcode is
nearest; the GiST index answers `ORDER BY point <-> here LIMIT 1` directly. It is an
expression index over the existing columns (nothing to fill on import) and partial (only the
live postcodes are ever wanted). SQLite keeps the B-tree. The models do not declare this
index (it exists on one backend only): see assetmap.migrate.include_object.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_postcodes_live_point ON postcodes USING gist "
                   "(ST_SetSRID(ST_MakePoint(lon, lat), 4326)) WHERE terminated IS NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_postcodes_live_point")
