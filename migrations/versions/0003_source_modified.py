"""source links remember the feed's own modified time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import assetmap.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_links", sa.Column(
        "source_modified", assetmap.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_links", schema=None) as batch_op:
        batch_op.drop_column("source_modified")
