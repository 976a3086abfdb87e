"""the weekdays a listing's schedule can meet on, kept beside its rules: a search for one day
drops the listings that never meet on it by a column test instead of reading every rule

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""
import json

import sqlalchemy as sa
from alembic import op

from assetmap.errors import ScheduleError
from assetmap.schedule import ScheduleRule, session_weekdays

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CHUNK = 500


def upgrade() -> None:
    # A nullable column: a plain ALTER TABLE ADD COLUMN on both backends (no table copy).
    op.add_column("activities", sa.Column("session_weekdays", sa.Integer(), nullable=True))
    activities = sa.table("activities", sa.column("id", sa.Integer),
                          sa.column("session_weekdays", sa.Integer))
    schedules = sa.table("activity_schedules", sa.column("activity_id", sa.Integer),
                         sa.column("position", sa.Integer), sa.column("rule", sa.JSON))
    conn = op.get_bind()
    rules: dict[int, list[ScheduleRule]] = {
        activity_id: [] for (activity_id,) in conn.execute(sa.select(activities.c.id))}
    unreadable: set[int] = set()
    for activity_id, text in conn.execute(
            sa.select(schedules.c.activity_id, sa.cast(schedules.c.rule, sa.Text))
            .order_by(schedules.c.activity_id, schedules.c.position)):
        try:
            rules[activity_id].append(ScheduleRule.from_dict(json.loads(text)))
        except (ScheduleError, KeyError, ValueError):
            unreadable.add(activity_id)  # left unworked out: passes every day filter
    by_days: dict[int, list[int]] = {}
    for activity_id, listed in rules.items():
        if activity_id not in unreadable:
            by_days.setdefault(session_weekdays(listed), []).append(activity_id)
    for days, ids in by_days.items():
        for start in range(0, len(ids), CHUNK):
            conn.execute(activities.update().where(activities.c.id.in_(ids[start:start + CHUNK]))
                         .values(session_weekdays=days))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ has it): batch mode would rebuild `activities`, and on
    # SQLite dropping the old table cascades to every listing's tags and schedules.
    op.execute("ALTER TABLE activities DROP COLUMN session_weekdays")
