"""Import and export listings from the coordinator's pages: the same rows and errors as the
CLI, a check that stores nothing, an import recorded as the coordinator's, bad files refused."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from sqlalchemy import func, select

from assetmap.cli import main
from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, create_activity
from assetmap.models import Activity, ChangeRecord, Organisation, User, Venue
from tests.conftest import FIXTURES, csrf_token

MIXED = FIXTURES / "import" / "mixed.csv"
PAGE = "/coordinator/transfer"


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = tmp_path / "uploads"
    return tmp_path / "uploads"


def stored(app) -> tuple[int, int, int, int]:
    with session_scope(app) as s:
        return tuple(s.scalar(select(func.count()).select_from(m))
                     for m in (Activity, ChangeRecord, Venue, Organisation))


def check(client, name: str, data: bytes):
    return client.post(PAGE + "/check", data={
        "csrf_token": csrf_token(client, PAGE), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")


def confirm(client, page: str):
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    name = re.search(r'name="file_name" value="([^"]+)"', page).group(1)
    return client.post(PAGE + "/import", data={"csrf_token": csrf_token(client, PAGE),
                                                "token": token, "file_name": name})


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_home_links_to_the_page(client, login):
    login("coordinator")
    assert f'href="{PAGE}"' in client.get("/coordinator/").get_data(as_text=True)


def test_downloads_match_the_cli_export(app, client, login, runner, lunch_club):
    runner.invoke(main, ["import", str(MIXED)])
    login("coordinator")
    for fmt in ("csv", "geojson"):
        cli = runner.invoke(main, ["export", "--format", fmt])
        assert cli.exit_code == 0, cli.output
        web = client.get(f"{PAGE}/listings.{fmt}")
        assert web.status_code == 200
        assert "attachment" in web.headers["Content-Disposition"]
        assert web.get_data(as_text=True) == cli.output[:-1]  # click.echo adds a newline
    lunch = json.loads(client.get(f"{PAGE}/listings.geojson?category=lunch-club").data)
    assert sorted(f["properties"]["name"] for f in lunch["features"]) == [
        "Kentish Town Lunch Club", "Tuesday Lunch Club"]
    assert client.get(f"{PAGE}/listings.csv?category=zumba-underwater").status_code == 400


def test_the_csv_download_keeps_the_formula_guard(app, client, login):
    with session_scope(app) as s:
        create_activity(s, {"name": '=HYPERLINK("http://x")', "category": "lunch-club"},
                        SYSTEM)
    login("coordinator")
    body = client.get(f"{PAGE}/listings.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def test_check_only_stores_nothing_and_says_every_problem(app, client, login):
    login("coordinator")
    before = stored(app)
    response = check(client, "mixed.csv", MIXED.read_bytes())
    assert response.status_code == 200
    page = text(response)
    assert stored(app) == before
    assert "Nothing has been saved yet" in page
    counts = re.sub(r"\s+", " ", re.search(r'id="counts">(.*?)</ul>', page, re.S).group(1))
    assert "3</span> new listings would be added" in counts
    assert "0</span> listings would be updated" in counts
    assert "5</span> rows with a problem" in counts
    assert "Row 4, Kind of activity: unknown category 'underwater-basketry'" in page
    assert "Row 9, Name: is required" in page
    assert "Row 7, Suits:" in page and "glittery" in page
    assert "cost_amount" not in page and "Row 4, category" not in page


def test_import_after_the_check_is_recorded_as_the_coordinator(app, client, login,
                                                               lunch_club):
    email = login("coordinator")
    update = (f"id,name,category,cost\n{lunch_club},Tuesday Lunch Club,lunch-club,£2\n"
              "new,Quiz Night,bingo,lots\n").encode()
    update = update.replace(b"new,", b",")
    page = text(check(client, "changes.csv", update))
    assert "1</span> listing would be updated" in page
    assert "Row 3, Cost: write 'free'" in page
    before = stored(app)
    done = confirm(client, page)
    assert done.status_code == 200
    assert "1</span> listing updated" in text(done)
    with session_scope(app) as s:
        user = s.scalar(select(User).where(User.email == email))
        records = s.scalars(select(ChangeRecord).where(
            ChangeRecord.activity_id == lunch_club,
            ChangeRecord.changed_at.is_not(None)).order_by(ChangeRecord.id)).all()
        mine = [r for r in records if r.user_id == user.id]
        assert mine and {r.actor_type for r in mine} == {"user"}
        assert "cost_amount" in {r.field for r in mine}
        assert str(s.get(Activity, lunch_club).cost_amount) == "2.00"
    assert stored(app)[0] == before[0]
    again = confirm(client, page)  # the checked file is used once
    assert again.status_code == 400 and "choose the file again" in text(again)


def test_import_creates_new_listings(app, client, login):
    login("admin")
    before = stored(app)
    done = confirm(client, text(check(client, "mixed.csv", MIXED.read_bytes())))
    assert "3</span> new listings added" in text(done)
    assert stored(app)[0] == before[0] + 3
    with session_scope(app) as s:
        walkers = s.scalar(select(Activity.id).where(Activity.name == "Granary Walkers"))
        created = s.scalars(select(ChangeRecord).where(ChangeRecord.activity_id == walkers)).all()
        assert {r.field for r in created} >= {"name", "category", "schedules"}
        assert all(r.actor_type == "user" and r.user_id for r in created)


@pytest.mark.parametrize(("name", "data", "words"), [
    ("listings.txt", b"name,category\nA,bingo\n",
     "import takes .csv or .geojson files, not listings.txt"),
    ("listings.csv", b"Quiz Night,bingo,Mondays 19:00-21:00\n", "has no 'name' column"),
    ("listings.csv", b"name,category,colour\nA,bingo,red\n",
     "has columns AssetMap does not know: 'colour'"),
    ("listings.csv", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "is not a text file"),
    ("listings.csv", b"", "is empty"),
    ("listings.geojson", b'{"type": "Feature"}', "is not a GeoJSON FeatureCollection"),
    ("listings.geojson", b"{not json", "is not valid JSON"),
])
def test_a_bad_file_is_refused_naming_the_problem(app, client, login, name, data, words):
    login("coordinator")
    before = stored(app)
    response = check(client, name, data)
    assert response.status_code == 400
    page = text(response)
    assert words in page and 'class="error-summary"' in page and 'id="import-confirm"' not in page
    assert stored(app) == before


def test_no_file_chosen_says_so(client, login):
    login("coordinator")
    response = client.post(PAGE + "/check", data={"csrf_token": csrf_token(client, PAGE)},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose a CSV or GeoJSON file to import" in text(response)


def test_a_file_over_the_limit_comes_back_as_the_page(app, client, login):
    login("coordinator")
    app.config["MAX_CONTENT_LENGTH"] = 4000
    response = check(client, "big.csv", b"name,category\n" + b"Quiz,bingo\n" * 1000)
    assert response.status_code == 413
    page = text(response)
    assert "The file is larger than 4 KB" in page and "Check only" in page


def test_a_token_belongs_to_the_one_who_checked(app, client, login, lunch_club):
    login("coordinator")
    page = text(check(client, "mixed.csv", MIXED.read_bytes()))
    client.get("/logout")
    login("coordinator")  # somebody else
    before = stored(app)
    assert confirm(client, page).status_code == 400
    assert stored(app) == before
    bad = client.post(PAGE + "/import", data={"csrf_token": csrf_token(client, PAGE),
                                              "token": "../../etc/passwd.csv"})
    assert bad.status_code == 400


def test_only_coordinators_and_admins(app, client, login):
    assert client.get(PAGE).status_code in (302, 401)
    assert client.get(PAGE + "/listings.csv").status_code in (302, 401)
    login("connector")
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE + "/listings.csv").status_code == 403
    before = stored(app)
    token = csrf_token(client, "/connector")
    response = client.post(PAGE + "/check", data={
        "csrf_token": token, "file": (io.BytesIO(MIXED.read_bytes()), "mixed.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 403 and stored(app) == before


def test_the_forms_need_the_csrf_token(app, client, login):
    login("coordinator")
    response = client.post(PAGE + "/check", data={
        "file": (io.BytesIO(MIXED.read_bytes()), "mixed.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 400


def test_the_cli_refuses_a_bad_file_with_the_same_words(client, login, runner, tmp_path):
    bad = tmp_path / "listings.csv"
    bad.write_bytes(b"name,category,colour\nA,bingo,red\n")
    cli = runner.invoke(main, ["import", str(bad)])
    assert cli.exit_code == 2
    words = "listings.csv has columns AssetMap does not know: 'colour'"
    assert words in cli.output
    login("coordinator")
    assert words in text(check(client, "listings.csv", bad.read_bytes()))


def test_the_check_sees_the_file_as_a_set(app, client, login):
    """A later row naming a listing an earlier row adds counts as an update, as importing
    would make it; and still nothing is stored."""
    login("coordinator")
    before = stored(app)
    twice = (b"name,category,postcode,cost\nQuiz Night,bingo,NW5 2AB,free\n"
             b"Quiz Night,bingo,NW5 2AB,\xc2\xa32\n")
    page = text(check(client, "twice.csv", twice))
    assert "1</span> new listing would be added" in page
    assert "1</span> listing would be updated" in page
    assert stored(app) == before
