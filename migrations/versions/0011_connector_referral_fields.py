"""what a referral needs: taking newcomers (who said so, when), languages and interpreters,
and where a phone or online listing serves (area codes or "anywhere") and how to join

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-26

The old single "languages-spoken" suitability tag said only "not just English". Listings that
carry it get the languages "en" and "und" (English and another, not yet said which), and the
tag row goes: the language list now says it, and the "spoken in" filter reads the list.
"""
import sqlalchemy as sa
from alembic import op

from assetmap.models.base import UTCDateTime

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_TAG = "languages-spoken"


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("intake", sa.String(20), nullable=True))
        batch.add_column(sa.Column("intake_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("intake_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("interpreter", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("service_area", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("join_how", sa.Text(), nullable=True))
        batch.add_column(sa.Column("welcoming_yes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("accessible_no", sa.Integer(), nullable=True))
    op.create_index("ix_activities_mode", "activities", ["mode"])
    activities = sa.table("activities", sa.column("id", sa.Integer),
                          sa.column("languages", sa.JSON))
    tags = sa.table("activity_tags", sa.column("activity_id", sa.Integer),
                    sa.column("tag", sa.String))
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.select(tags.c.activity_id)
                                          .where(tags.c.tag == OLD_TAG))]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        conn.execute(activities.update().where(activities.c.id.in_(chunk))
                     .values(languages=["en", "und"]))
    conn.execute(tags.delete().where(tags.c.tag == OLD_TAG))


def downgrade() -> None:
    activities = sa.table("activities", sa.column("id", sa.Integer),
                          sa.column("languages", sa.JSON))
    tags = sa.table("activity_tags", sa.column("activity_id", sa.Integer),
                    sa.column("tag", sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(activities.c.id, activities.c.languages)).all()
    back = [{"activity_id": aid, "tag": OLD_TAG} for aid, langs in rows
            if langs and any(code != "en" for code in langs)]
    if back:
        conn.execute(tags.insert(), back)
    op.drop_index("ix_activities_mode", "activities")
    # Plain DROP COLUMN (SQLite 3.35+ has it): batch mode would rebuild `activities`, and on
    # SQLite dropping the old table cascades to every listing's tags and schedules.
    for name in ("accessible_no", "welcoming_yes", "join_how", "service_area", "interpreter", "languages", "intake_at", "intake_by", "intake"):
        op.execute(f"ALTER TABLE activities DROP COLUMN {name}")
