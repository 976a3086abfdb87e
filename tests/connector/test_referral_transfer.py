"""Taking newcomers, languages and interpreter in the spreadsheet import and export."""

from __future__ import annotations

import json

from sqlalchemy import select

from assetmap.listings.transfer import export_rows, import_file, to_csv, to_geojson
from assetmap.models import Activity

CSV = """name,category,postcode,schedule,intake,languages,interpreter
Somali Women's Tea,coffee-morning,NW5 2AB,Thursdays 10:00-12:00,few-places,Somali; en,yes
Deaf Club,friendship-group,NW5 2AB,Fridays 18:00-20:00,Full,bsl,no
Chess,other,NW5 2AB,Mondays 18:00-20:00,,,
Bad one,other,NW5 2AB,Mondays 18:00-20:00,,Elvish,
Bad two,other,NW5 2AB,Mondays 18:00-20:00,half-full,,
"""


def test_import_export_and_reimport_changes_nothing(session, app, tmp_path):
    path = tmp_path / "groups.csv"
    path.write_text(CSV, encoding="utf-8")
    report = import_file(session, path, data_dir=app.config["DATA_DIR"])
    session.commit()
    outcome = {r.row: (r.outcome, r.reason) for r in report.rows}
    assert [o for o, _ in outcome.values()] == ["created"] * 3 + ["rejected"] * 2
    assert "Elvish" in outcome[5][1] and "languages" in outcome[5][1]
    assert "intake" in outcome[6][1] and "half-full" in outcome[6][1]
    tea = session.scalar(select(Activity).where(Activity.name == "Somali Women's Tea"))
    assert (tea.intake, tea.languages, tea.interpreter) == ("few-places", ["so", "en"], True)
    assert tea.intake_by == "import of groups.csv" and tea.intake_at is not None
    deaf = session.scalar(select(Activity).where(Activity.name == "Deaf Club"))
    assert (deaf.intake, deaf.languages, deaf.interpreter) == ("full", ["bsl"], False)
    rows = {r["name"]: r for r in export_rows(session)}
    assert (rows["Somali Women's Tea"]["intake"], rows["Somali Women's Tea"]["languages"],
            rows["Somali Women's Tea"]["interpreter"]) == ("few-places", "so;en", "yes")
    assert (rows["Chess"]["intake"], rows["Chess"]["languages"],
            rows["Chess"]["interpreter"]) == ("", "", "")
    # Both formats import back without a change.
    out_csv = tmp_path / "out.csv"
    out_csv.write_text(to_csv(list(rows.values())), encoding="utf-8")
    out_geo = tmp_path / "out.geojson"
    geo = to_geojson(list(rows.values()))
    assert next(f for f in geo["features"] if f["properties"]["name"] == "Deaf Club"
                )["properties"]["languages"] == ["bsl"]
    out_geo.write_text(json.dumps(geo), encoding="utf-8")
    for again in (out_csv, out_geo):
        report = import_file(session, again, data_dir=app.config["DATA_DIR"])
        session.commit()
        assert {r.outcome for r in report.rows} == {"unchanged"}, report.to_dict()


def test_a_suggestion_carries_languages_into_the_approved_listing(client, session):
    from assetmap.community.moderation import approve
    from assetmap.listings.changes import SYSTEM
    from assetmap.models import Suggestion
    from tests.community.conftest import valid_api

    bad = client.post("/api/v1/suggestions", json=valid_api(languages="so, Elvish"))
    assert bad.status_code == 400 and "Elvish" in bad.get_json()["errors"]["languages"]
    response = client.post("/api/v1/suggestions", json=valid_api(languages="Somali, bsl"))
    assert response.status_code == 201, response.get_json()
    stored = session.scalar(select(Suggestion).where(
        Suggestion.reference == response.get_json()["reference"]))
    assert stored.fields["languages"] == ["so", "bsl"]
    activity = approve(session, stored, SYSTEM, data_dir=client.application.config["DATA_DIR"])
    session.commit()
    assert activity.languages == ["so", "bsl"]


def test_phone_and_online_listings_round_trip_with_area_and_how_to_join(session, app,
                                                                         tmp_path):
    """Service area (by ward name, kept as codes) and how to join survive export then import
    on both formats, and an import changes a listing's area like any other field."""
    from assetmap.demo import load_areas
    from assetmap.models import Area

    load_areas(session, app.config["DATA_DIR"])
    session.commit()
    ward = session.scalar(select(Area).where(Area.code.like("E05%")).order_by(Area.code))
    path = tmp_path / "remote.csv"
    path.write_text(
        "name,category,mode,service_area,join_how,schedule,languages,intake\n"
        f"Phone Friends,befriending,phone,{ward.name},\"Ring 020 7946 0001\nMondays 10am-4pm\","
        "Mondays 10:00-16:00,en;so,open\n"
        "Book Chat,book-club,online,anywhere,https://meet.example.org/books,"
        "Thursdays 19:00-20:00,,\n"
        "No area,befriending,phone,,Ring us,Mondays 10:00-11:00,,\n"
        "Nowhere,befriending,phone,Atlantis,Ring us,Mondays 10:00-11:00,,\n",
        encoding="utf-8")
    report = import_file(session, path, data_dir=app.config["DATA_DIR"])
    session.commit()
    outcome = {r.row: (r.outcome, r.reason) for r in report.rows}
    assert [o for o, _ in outcome.values()] == ["created", "created", "rejected", "rejected"]
    assert "service_area" in outcome[4][1] and "Atlantis" in outcome[5][1]
    phone = session.scalar(select(Activity).where(Activity.name == "Phone Friends"))
    assert (phone.mode, phone.service_area, phone.venue_id) == ("phone", [ward.code], None)
    assert phone.join_how == "Ring 020 7946 0001\nMondays 10am-4pm"
    assert (phone.languages, phone.intake) == (["en", "so"], "open")
    rows = {r["name"]: r for r in export_rows(session)}
    assert (rows["Phone Friends"]["mode"], rows["Phone Friends"]["service_area"]) == (
        "phone", ward.code)
    assert (rows["Book Chat"]["service_area"], rows["Book Chat"]["join_how"]) == (
        "anywhere", "https://meet.example.org/books")
    geo = to_geojson(list(rows.values()))
    assert next(f for f in geo["features"] if f["properties"]["name"] == "Phone Friends"
                )["properties"]["service_area"] == [ward.code]
    out_csv, out_geo = tmp_path / "out.csv", tmp_path / "out.geojson"
    out_csv.write_text(to_csv(list(rows.values())), encoding="utf-8")
    out_geo.write_text(json.dumps(geo), encoding="utf-8")
    for again in (out_csv, out_geo):
        report = import_file(session, again, data_dir=app.config["DATA_DIR"])
        session.commit()
        assert {r.outcome for r in report.rows} == {"unchanged"}, report.to_dict()
    # An edited area in the file is a change, recorded like any other.
    edited = to_csv([rows["Book Chat"] | {"service_area": ward.name}])
    out_csv.write_text(edited, encoding="utf-8")
    report = import_file(session, out_csv, data_dir=app.config["DATA_DIR"])
    session.commit()
    assert report.rows[0].outcome == "updated" and "service_area" in report.rows[0].changed
    session.expire_all()
    assert session.scalar(select(Activity.service_area).where(
        Activity.name == "Book Chat")) == [ward.code]
