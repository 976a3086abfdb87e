from tests.conftest import csrf_token


def test_login_logout_round_trip(client, login):
    email = login("coordinator")
    page = client.get("/").get_data(as_text=True)
    assert email in page
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert email not in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused(client, login, app):
    email = login("connector")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": "wrong password!",
                                           "csrf_token": token})
    assert response.status_code == 400
    assert "not recognised" in response.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client, login):
    login("connector")
    response = client.post("/logout", data={})
    assert response.status_code == 400
    assert "csrf_token" in response.get_data(as_text=True)


def test_login_only_redirects_within_the_site(client, app):
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email="c@example.org", role="connector", password="correct horse battery")
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/x", data={
        "email": "c@example.org", "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/connector"


def test_private_verification_notes_only_for_staff(client, session, login):
    from assetmap.listings.changes import Actor, create_activity
    from assetmap.listings.verification import record_verification

    activity = create_activity(session, {"name": "Quiet club", "category": "other"},
                               Actor("user", "tester"))
    record_verification(session, activity, "connector-visited", Actor("user", "tester"),
                        note="Host is lovely; ask for Sam", private=True)
    session.commit()
    public = client.get(f"/api/v1/activities/{activity.id}").get_json()
    assert "verifications" not in public["properties"]
    assert "ask for Sam" not in client.get(f"/activities/{activity.id}").get_data(as_text=True)
    login("connector")
    staff = client.get(f"/api/v1/activities/{activity.id}").get_json()
    assert staff["properties"]["verifications"][0]["note"] == "Host is lovely; ask for Sam"
