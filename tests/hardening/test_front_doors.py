"""Every way in refuses what the others refuse: one check per value (assetmap/values.py) for
`assetmap import`, quick edit, suggestions (form and API) and the organiser's form. And an
export re-imported unchanged changes nothing, whatever its first characters."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlalchemy import func, select

from assetmap.cli import main
from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, create_activity
from assetmap.listings.transfer import export_rows, import_file, to_csv
from assetmap.listings.venues import find_or_create_venue
from assetmap.models import Activity, ChangeRecord
from tests.conftest import create_listing

BAD = [
    ("contact_url", "javascript:alert(document.cookie)"),
    ("contact_url", "data:text/html,<script>alert(1)</script>"),
    ("contact_url", "JavaScript://example.org/%0aalert(1)"),
    ("contact_url", "https://someone@evil.example/"),
    ("contact_email", "pat@example.org?bcc=everyone@example.org"),
    ("contact_email", "pat@example.org?bcc=everyone"),
    ("contact_email", "pat@example.org,other@example.org"),
    ("contact_phone", "call us <script>"),
]


@pytest.fixture
def listing(app) -> int:
    return create_listing(app, {"name": "Lunch Club", "category": "lunch-club",
                                "contact_email": "hello@example.org"})


def _edit_form(client, activity_id: int) -> dict[str, str]:
    page = client.get(f"/connector/activities/{activity_id}/edit").get_data(as_text=True)
    fields = {n: html.unescape(v) for n, v in
              re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)}
    fields.update({n: html.unescape(v) for n, v in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page, re.S)})
    return fields


@pytest.mark.parametrize("field, value", BAD)
def test_import_quick_edit_and_the_api_refuse_the_same_values(app, client, login, listing,
                                                              tmp_path, field, value):
    # assetmap import
    path = tmp_path / "in.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "category", field])
        writer.writerow(["Bad contact club", "lunch-club", value])
    with session_scope(app) as s:
        report = import_file(s, path, data_dir=app.config["DATA_DIR"])
    assert report.rows[0].outcome == "rejected"
    assert report.rows[0].reason.startswith(f"{field}:")
    # the suggestions API
    answer = client.post("/api/v1/suggestions", json={
        "name": "Bad contact club", "category": "lunch-club", "postcode": "NW5 2AB",
        "schedule": "Tuesdays 12:00-14:00", field: value})
    assert answer.status_code == 400 and field in answer.get_json()["errors"]
    # quick edit
    login("connector")
    form = _edit_form(client, listing) | {field: value}
    answer = client.post(f"/connector/activities/{listing}/edit", data=form)
    assert answer.status_code == 400
    assert re.search(rf'id="{field}-error"', answer.get_data(as_text=True))
    with session_scope(app) as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == 1
        assert s.get(Activity, listing).contact_email == "hello@example.org"


def test_cli_import_reports_refused_contacts_and_keeps_the_good_rows(app, runner, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("name,category,contact_url,contact_email\n"
                    "Good club,lunch-club,www.example.org,pat@example.org\n"
                    "Bad club,lunch-club,javascript:alert(1),\n"
                    "Worse club,lunch-club,,pat@example.org?bcc=x@example.org\n",
                    encoding="utf-8")
    out = runner.invoke(main, ["import", str(path)])
    assert "row 2: created 'Good club'" in out.output
    assert "row 3: rejected 'Bad club'" in out.output and "contact_url" in out.output
    assert "row 4: rejected 'Worse club'" in out.output and "contact_email" in out.output
    with session_scope(app) as s:
        good = s.scalar(select(Activity))
        assert good.contact_url == "https://www.example.org"


def test_line_breaks_and_control_characters_in_imported_names_are_folded(app, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('name,category,venue_name,organisation,lat,lon,description\n'
                    '"Tea\r\ndance\x00 club",lunch-club,"Mortimer\nHall",'
                    '"Friends\x07 of\nthe hall",51.5366,-0.1885,"Line one\n\nLine\x00 two"\n',
                    encoding="utf-8")
    with session_scope(app) as s:
        report = import_file(s, path, data_dir=app.config["DATA_DIR"])
        assert report.rows[0].outcome == "created", report.rows[0].reason
        activity = s.scalar(select(Activity))
        assert activity.name == "Tea dance club"
        assert activity.venue.name == "Mortimer Hall"
        assert activity.organisation.name == "Friends of the hall"
        assert activity.description == "Line one\n\nLine two"


TRICKY = ["'t Hoekje", "''Quoted twice", "'=not a formula", "=SUM(A1:A9)", "+44 club",
          "-minus club", "@home", "\tTabbed", "Plain"]


def test_an_export_reimported_unchanged_changes_nothing_whatever_it_starts_with(
        app, tmp_path):
    with session_scope(app) as s:
        for i, name in enumerate(TRICKY):
            venue = find_or_create_venue(s, name=name, lat=51.53 + i / 1000, lon=-0.14,
                                         data_dir=app.config["DATA_DIR"])
            create_activity(s, {"name": name, "category": "other", "venue_id": venue.id,
                                "description": name, "contact_phone": "+44 20 7946 0000"},
                            SYSTEM)
    with session_scope(app) as s:
        rows = export_rows(s)
        history = s.scalar(select(func.count()).select_from(ChangeRecord))
    text = to_csv(rows)
    # Spreadsheet programs run cells starting = + - @ (and tab): each is quoted.
    for row in csv.DictReader(io.StringIO(text)):
        assert row["name"][:1] not in "=+-@\t"
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    with session_scope(app) as s:
        report = import_file(s, path, data_dir=app.config["DATA_DIR"])
        assert [r.outcome for r in report.rows] == ["unchanged"] * len(TRICKY), [
            r.line() for r in report.rows if r.outcome != "unchanged"]
    with session_scope(app) as s:
        assert s.scalar(select(func.count()).select_from(ChangeRecord)) == history
        assert sorted(a.name for a in s.scalars(select(Activity))) == sorted(
            n.strip() for n in TRICKY)
        assert export_rows(s) == rows

