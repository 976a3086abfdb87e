"""Revision 0011 moves the old single "languages-spoken" tag into the language list, and back."""

from __future__ import annotations

from sqlalchemy import text

from assetmap import db, migrate


def test_languages_spoken_tag_becomes_language_codes_and_back(app):
    engine = db.get_engine(app)
    migrate.downgrade(engine, "0011-1")  # the revision before 0011, whatever it is
    try:
        with engine.begin() as conn:
            for aid, name in ((1, "Tea dance"), (2, "Lunch club")):
                conn.execute(text(
                    "INSERT INTO activities (id, name, category, mode, cost_kind, gender, "
                    "status, field_provenance, demo, version, possibly_closed, created_at, "
                    "updated_at) VALUES (:id, :name, 'tea-dance', 'in-person', 'unknown', "
                    "'any', 'active', '{}', false, 1, false, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"), {"id": aid, "name": name})
            conn.execute(text("INSERT INTO activity_tags (activity_id, tag) VALUES "
                              "(1, 'languages-spoken'), (1, 'over-50s'), (2, 'over-50s')"))
        migrate.upgrade(engine, "0011")
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, languages FROM activities")).all())
            tags = sorted(conn.execute(text("SELECT activity_id, tag FROM activity_tags")).all())
        assert _codes(rows[1]) == ["en", "und"] and rows[2] is None
        assert tags == [(1, "over-50s"), (2, "over-50s")]
        migrate.downgrade(engine, "0011-1")  # the revision before 0011, whatever it is
        with engine.connect() as conn:
            tags = sorted(conn.execute(text("SELECT activity_id, tag FROM activity_tags")).all())
        assert tags == [(1, "languages-spoken"), (1, "over-50s"), (2, "over-50s")]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM activity_tags"))
            conn.execute(text("DELETE FROM activities"))
        migrate.upgrade(engine)


def _codes(value) -> list[str]:
    import json

    return json.loads(value) if isinstance(value, str) else value
