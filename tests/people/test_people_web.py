"""/coordinator/people: administrators invite, change role and areas, deactivate."""

from __future__ import annotations

import re

from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.models import OutboxMessage, User
from tests.conftest import csrf_token


def test_only_admins_reach_people(client, login, wards):
    login("coordinator")
    assert client.get("/coordinator/people").status_code == 403


def test_invite_reports_every_problem_at_once_and_keeps_what_was_typed(client, login, wards):
    login("admin")
    token = csrf_token(client, "/coordinator/people")
    response = client.post("/coordinator/people/invite", data={
        "csrf_token": token, "email": "not an address", "name": "Ada " + "x" * 300,
        "areas": [str(wards["Belsize"])]})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please correct these 3 things" in page
    assert "Enter an e-mail address like name@example.org" in page
    assert "Choose a role" in page and "200 characters or fewer" in page
    assert 'value="not an address"' in page
    assert re.search(rf'value="{wards["Belsize"]}" checked', page)


def test_invite_sends_a_one_time_link_and_the_person_lands_on_their_home(
        app, client, login, wards, mailbox):
    login("admin")
    token = csrf_token(client, "/coordinator/people")
    response = client.post("/coordinator/people/invite", data={
        "csrf_token": token, "email": "New.Person@Example.org", "name": "Nia", "role":
        "coordinator", "areas": [str(wards["Highgate"]), str(wards["Belsize"])]},
        follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "new.person@example.org invited as a coordinator. E-mail with the link for " \
           "new.person@example.org sent." in page
    assert "Belsize, Highgate" in page
    [message] = mailbox.wait_for(1)
    link = re.search(r"/account/set-password/\S+", message.get_content()).group(0)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, link)
    done = client.post(link, data={"csrf_token": token, "password": "my own long secret",
                                   "confirm": "my own long secret"}, follow_redirects=False)
    assert done.status_code == 302
    home = client.get(done.headers["Location"])
    assert home.status_code == 302 and home.headers["Location"] == "/coordinator/"


def test_invite_says_when_the_mail_server_refused(app, client, login, wards):
    from tests.conftest import free_port

    app.config["SMTP_PORT"] = free_port()
    login("admin")
    token = csrf_token(client, "/coordinator/people")
    page = client.post("/coordinator/people/invite", data={
        "csrf_token": token, "email": "wait@example.org", "role": "connector"},
        follow_redirects=True).get_data(as_text=True)
    assert "E-mail with the link for wait@example.org is queued: the mail server did not " \
           "answer;" in page
    assert "sent." not in page
    with session_scope(app) as s:
        assert s.scalar(select(OutboxMessage.status)) == "retry"


def test_change_role_areas_and_deactivate(app, client, login, wards):
    login("admin")
    with session_scope(app) as s:
        from assetmap.people.users import create_user
        user_id = create_user(s, email="c@example.org", role="connector",
                              password="correct horse battery").id
    path = f"/coordinator/people/{user_id}"
    token = csrf_token(client, path)
    page = client.post(path, data={"csrf_token": token, "action": "save", "role": "coordinator",
                                   "areas": [str(wards["Kilburn"])]},
                       follow_redirects=True).get_data(as_text=True)
    assert "c@example.org is now a coordinator. c@example.org now looks after Kilburn." in page
    page = client.post(path, data={"csrf_token": token, "action": "deactivate"},
                       follow_redirects=True).get_data(as_text=True)
    assert "c@example.org is deactivated" in page
    with session_scope(app) as s:
        user = s.get(User, user_id)
        assert (user.role, user.active, [a.name for a in user.areas]) == (
            "coordinator", False, ["Kilburn"])
    nothing = client.post(path, data={"csrf_token": token})
    assert nothing.status_code == 400
    assert "Nothing was chosen" in nothing.get_data(as_text=True)
    assert client.get("/coordinator/people/99999999999").status_code == 404


def test_an_admin_cannot_demote_or_deactivate_themselves(app, client, login, wards):
    email = login("admin")
    with session_scope(app) as s:
        me = s.scalar(select(User.id).where(User.email == email))
    path = f"/coordinator/people/{me}"
    token = csrf_token(client, path)
    response = client.post(path, data={"csrf_token": token, "action": "save",
                                       "role": "connector"})
    assert response.status_code == 400
    assert "cannot take away your own administrator role" in response.get_data(as_text=True)
    response = client.post(path, data={"csrf_token": token, "action": "deactivate"})
    assert response.status_code == 400
    with session_scope(app) as s:
        assert s.get(User, me).role == "admin" and s.get(User, me).active


def test_a_coordinators_freshness_queue_opens_on_their_area(app, client, login, wards):
    email = login("coordinator")
    with session_scope(app) as s:
        from assetmap.people.accounts import areas_by_ids, find_user
        find_user(s, email).areas = areas_by_ids(s, [wards["Kilburn"], wards["Highgate"]])
    page = client.get("/coordinator/freshness").get_data(as_text=True)
    assert re.search(rf'<option value="{wards["Highgate"]}" selected>', page)
    everything = client.get("/coordinator/freshness?area=all").get_data(as_text=True)
    assert "selected>Highgate" not in everything and " selected>" not in everything.split(
        'id="f-area"')[1].split("</select>")[0]
    # An empty choice (a link or a form that left the ward blank) is every ward too, and the
    # map, the downloads and the ward figures say the same as the page, not the own ward.
    for asked in ("all", ""):
        page = client.get(f"/coordinator/freshness?area={asked}").get_data(as_text=True)
        assert " selected>" not in page.split('id="f-area"')[1].split("</select>")[0]
        for endpoint in ("wards.json", "queue.csv", "queue.geojson"):
            assert f"/coordinator/freshness/{endpoint}?area=all" in page, (asked, endpoint)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login("admin")
    page = client.get("/coordinator/freshness").get_data(as_text=True)
    assert " selected>" not in page.split('id="f-area"')[1].split("</select>")[0]
