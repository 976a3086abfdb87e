import json

from sqlalchemy import func, select

from assetmap.listings.transfer import export_rows, import_file, to_csv, to_geojson
from assetmap.models import Activity, ChangeRecord, VerificationEvent
from tests.conftest import FIXTURES

MIXED = FIXTURES / "import" / "mixed.csv"


def counts(session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count()).select_from(Activity)),
            session.scalar(select(func.count()).select_from(ChangeRecord)),
            session.scalar(select(func.count()).select_from(VerificationEvent)))


def test_good_rows_import_and_bad_rows_are_rejected_with_reasons(session, app):
    report = import_file(session, MIXED, data_dir=app.config["DATA_DIR"])
    session.commit()
    outcome = {r.row: (r.outcome, r.reason) for r in report.rows}
    assert [r for r, (o, _) in outcome.items() if o == "created"] == [2, 3, 8]
    assert "category" in outcome[4][1] and "underwater-basketry" in outcome[4][1]
    assert "no time found" in outcome[5][1]
    assert "ZZ99 9ZZ" in outcome[6][1]
    assert "glittery" in outcome[7][1]
    assert "name" in outcome[9][1]
    lunch = session.scalar(select(Activity).where(Activity.name == "Kentish Town Lunch Club"))
    assert lunch.tags == ["drop-in", "over-50s"]
    assert str(lunch.cost_amount) == "3.50"
    assert lunch.last_verified_method == "phoned"
    assert lunch.venue.postcode == "NW5 2SP"
    walk = session.scalar(select(Activity).where(Activity.name == "Granary Walkers"))
    assert walk.category == "walking-group" and walk.cost_kind == "free"


def test_second_import_changes_nothing(session, app):
    import_file(session, MIXED, data_dir=app.config["DATA_DIR"])
    session.commit()
    before = counts(session)
    report = import_file(session, MIXED, data_dir=app.config["DATA_DIR"])
    session.commit()
    assert report.count("created") == 0 and report.count("updated") == 0
    assert report.count("unchanged") == 3 and report.count("rejected") == 5
    assert counts(session) == before


def test_a_bad_row_does_not_damage_stored_listings(session, app, tmp_path):
    import_file(session, MIXED, data_dir=app.config["DATA_DIR"])
    session.commit()
    lunch_id = session.scalar(select(Activity.id).where(
        Activity.name == "Kentish Town Lunch Club"))
    bad = tmp_path / "bad.csv"
    bad.write_text(f"id,name,category,schedule\n{lunch_id},Kentish Town Lunch Club,"
                   "lunch-club,Blursdays 10-11\n", encoding="utf-8")
    report = import_file(session, bad, data_dir=app.config["DATA_DIR"])
    session.commit()
    assert report.rows[0].outcome == "rejected"
    session.expire_all()
    assert session.get(Activity, lunch_id).schedules[0].days == ("TU",)


def test_export_round_trips_through_csv_and_geojson(session, app, demo, tmp_path):
    rows = export_rows(session)
    assert len(rows) >= 60
    csv_file = tmp_path / "all.csv"
    csv_file.write_text(to_csv(rows), encoding="utf-8")
    geo_file = tmp_path / "all.geojson"
    geo_file.write_text(json.dumps(to_geojson(rows)), encoding="utf-8")
    before = counts(session)
    for path in (csv_file, geo_file):
        report = import_file(session, path, data_dir=app.config["DATA_DIR"])
        session.commit()
        assert report.count("unchanged") == len(rows), [r.line() for r in report.rows
                                                         if r.outcome != "unchanged"][:5]
    assert counts(session) == before
    assert export_rows(session) == rows


def test_csv_export_defuses_spreadsheet_formulas(session, app):
    from assetmap.listings.changes import SYSTEM, create_activity

    create_activity(session, {"name": "=HYPERLINK(\"http://x\")", "category": "other"}, SYSTEM)
    session.commit()
    text = to_csv(export_rows(session))
    assert "'=HYPERLINK" in text
