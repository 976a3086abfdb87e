"""Assignments reach people: "My checks" on a connector's home; a recorded check clears it."""

from __future__ import annotations

from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.models import Activity, User
from tests.conftest import csrf_token


def _assign(app, client, activity_ids: list[int], email: str) -> str:
    with session_scope(app) as s:
        user_id = s.scalar(select(User.id).where(User.email == email))
    token = csrf_token(client, "/coordinator/freshness")
    response = client.post("/coordinator/freshness", data={
        "csrf_token": token, "action": "assign", "assignee": str(user_id),
        "ids": [str(i) for i in activity_ids]}, follow_redirects=True)
    return response.get_data(as_text=True)


def test_a_connector_sees_and_finishes_their_checks(app, client, login, scenario):
    connector = login("connector")
    empty = client.get("/connector").get_data(as_text=True)
    assert "My checks (0)" in empty and "Nothing assigned to you" in empty
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login("coordinator")
    said = _assign(app, client, [scenario["Old tea dance"], scenario["Phoned quiz"]], connector)
    assert f"2 listings assigned to {connector}" in said
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": connector, "password": "correct horse battery",
                                "csrf_token": token})
    page = client.get("/connector").get_data(as_text=True)
    assert "My checks (2)" in page
    # The most overdue first, with its due date in words.
    assert page.index("Old tea dance") < page.index("Phoned quiz")
    assert "Overdue since" in page and "Very stale" in page
    token = csrf_token(client, f"/connector/activities/{scenario['Old tea dance']}")
    done = client.post(f"/connector/activities/{scenario['Old tea dance']}/checks", data={
        "csrf_token": token, "kind": "phoned", "note": "Still on, Fridays"})
    assert done.status_code == 302
    page = client.get("/connector").get_data(as_text=True)
    assert "My checks (1)" in page and "Old tea dance" not in page.split("my-checks")[1]
    with session_scope(app) as s:
        assert s.get(Activity, scenario["Old tea dance"]).assigned_user_id is None
        assert s.get(Activity, scenario["Phoned quiz"]).assigned_user_id is not None
