"""daily freshness snapshots for the coordinators' trend charts

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

import assetmap.models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "freshness_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_at", assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("listings", sa.Integer(), nullable=False),
        sa.Column("fresh", sa.Integer(), nullable=False),
        sa.Column("worked_out", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freshness_snapshots")),
    )
    op.create_index(op.f("ix_freshness_snapshots_taken_at"), "freshness_snapshots",
                    ["taken_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_freshness_snapshots_taken_at"), table_name="freshness_snapshots")
    op.drop_table("freshness_snapshots")
