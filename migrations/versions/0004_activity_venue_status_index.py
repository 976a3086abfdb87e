"""index activities by venue and status for walking matches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_activities_venue_status", "activities", ["venue_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_activities_venue_status", "activities")
