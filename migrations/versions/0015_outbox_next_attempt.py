"""the outbox's next try: retries back off (1, 2, 5, 10, 30, 60 minutes, then hourly)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

import assetmap.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: a plain ALTER TABLE ADD COLUMN on both backends (no table copy).
    op.add_column("outbox", sa.Column(
        "next_attempt_at", assetmap.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("next_attempt_at")
