"""hand-offs to groups and unmet needs

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

import assetmap.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("session_hint", sa.String(length=120), nullable=True),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("created_at", assetmap.models.base.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("expires_at", assetmap.models.base.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("answered_at", assetmap.models.base.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome_at", assetmap.models.base.UTCDateTime(timezone=True),
                  nullable=True),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"],
                                name=op.f("fk_handoffs_activity_id_activities"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_handoffs_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
        sa.UniqueConstraint("nonce", name=op.f("uq_handoffs_nonce")),
        sa.UniqueConstraint("reference", name=op.f("uq_handoffs_reference")),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoffs_activity_id"), ["activity_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_handoffs_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoffs_created_at"), ["created_at"],
                              unique=False)
    op.create_table(
        "unmet_needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("searched_on", sa.Date(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=True),
        sa.Column("time_of_day", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"],
                                name=op.f("fk_unmet_needs_area_id_areas"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmet_needs")),
    )
    with op.batch_alter_table("unmet_needs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unmet_needs_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_unmet_needs_searched_on"), ["searched_on"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("unmet_needs")
    op.drop_table("handoffs")
