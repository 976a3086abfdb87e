"""areas.population: ONS mid-year estimates, to weigh coverage gaps by people

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: batch mode would copy the table on SQLite and
    # lose the SpatiaLite registration of its geometry column.
    op.add_column("areas", sa.Column("population", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE areas DROP COLUMN population")  # SQLite 3.35+ and PostgreSQL
