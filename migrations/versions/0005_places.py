"""postcodes table; areas can be retired

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "postcodes",
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("outward", sa.String(length=4), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("terminated", sa.Date(), nullable=True),
        sa.Column("derived", sa.Boolean(), nullable=False),
        sa.Column("dataset", sa.String(length=40), nullable=False),
        sa.Column("ward_code", sa.String(length=12), nullable=True),
        sa.Column("district_code", sa.String(length=12), nullable=True),
        sa.PrimaryKeyConstraint("postcode", name=op.f("pk_postcodes")),
    )
    op.create_index("ix_postcodes_outward", "postcodes", ["outward"])
    op.create_index("ix_postcodes_lat_lon", "postcodes", ["lat", "lon"])
    # A plain ADD COLUMN: SQLite's batch mode would copy the table, which other tables
    # reference by foreign key.
    op.add_column("areas", sa.Column("retired", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("areas", "retired")
    op.drop_index("ix_postcodes_lat_lon", "postcodes")
    op.drop_index("ix_postcodes_outward", "postcodes")
    op.drop_table("postcodes")
