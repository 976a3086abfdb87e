"""Revision 0016 works out the weekdays of the listings already stored, from their rules."""

from __future__ import annotations

import json

from sqlalchemy import text

from assetmap import db, migrate


def test_stored_listings_get_the_weekdays_their_rules_meet_on(app):
    engine = db.get_engine(app)
    migrate.downgrade(engine, "0016-1")  # the revision before 0016, whatever it is
    tuesday = {"kind": "weekly", "start_time": "10:00", "days": ["TU"]}
    friday = {"kind": "monthly", "start_time": "14:00", "days": ["FR"], "positions": [-1]}
    unreadable = {"kind": "weekly", "days": ["XX"]}
    try:
        with engine.begin() as conn:
            for aid, name in ((1, "Lunch club"), (2, "Tea dance"), (3, "Old import"),
                              (4, "No schedule")):
                conn.execute(text(
                    "INSERT INTO activities (id, name, category, mode, cost_kind, gender, "
                    "status, field_provenance, demo, version, possibly_closed, created_at, "
                    "updated_at) VALUES (:id, :name, 'lunch-club', 'in-person', 'unknown', "
                    "'any', 'active', '{}', false, 1, false, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"), {"id": aid, "name": name})
            for aid, position, rule in ((1, 0, tuesday), (2, 0, tuesday), (2, 1, friday),
                                        (3, 0, unreadable)):
                conn.execute(text(
                    "INSERT INTO activity_schedules (activity_id, position, kind, rule) "
                    "VALUES (:aid, :position, :kind, :rule)"),
                    {"aid": aid, "position": position, "kind": rule["kind"],
                     "rule": json.dumps(rule)})
        migrate.upgrade(engine, "0016")
        with engine.connect() as conn:
            days = dict(conn.execute(text("SELECT id, session_weekdays FROM activities")).all())
        # Tuesday is bit 2, Friday bit 16; an unreadable rule is left for every day filter.
        assert days == {1: 0b10, 2: 0b10010, 3: None, 4: 0}
        migrate.downgrade(engine, "0016-1")
        with engine.connect() as conn:
            schedules = conn.execute(text("SELECT count(*) FROM activity_schedules")).scalar()
        assert schedules == 4  # dropping the column keeps every listing's schedules
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM activity_schedules"))
            conn.execute(text("DELETE FROM activities"))
        migrate.upgrade(engine)
