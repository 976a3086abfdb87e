"""an index on venues' last change: every search asks for the latest, to know whether the
venues snapped onto the walking network are still the venues there are

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_venues_updated_at", "venues", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_venues_updated_at", "venues")
