"""venues remember when their address or postcode was derived from OpenStreetMap

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("venues", sa.Column("address_derived", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would copy and rename the venues table,
    # which other tables' foreign keys and SpatiaLite's geometry registration refuse.
    op.drop_column("venues", "address_derived")
