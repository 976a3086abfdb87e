"""`assetmap user ...`: list, set-role, set-areas, deactivate, reset-password, add --area."""

from __future__ import annotations

import re

from sqlalchemy import select

from assetmap.cli import main
from assetmap.db import session_scope
from assetmap.models import OutboxMessage, User

PASSWORD = "correct horse battery"


def _add(runner, email: str, role: str, *areas: str):
    args = ["user", "add", "--email", email, "--role", role, "--password", PASSWORD]
    for area in areas:
        args += ["--area", area]
    return runner.invoke(main, args)


def test_add_with_areas_list_and_set_areas(runner, app, wards):
    result = _add(runner, "Cora@Example.org", "coordinator", "Belsize", "E05000129")
    assert result.exit_code == 0, result.output
    assert "for Belsize, Bloomsbury" in result.output
    listed = runner.invoke(main, ["user", "list"])
    assert "cora@example.org\tcoordinator\tactive\tBelsize (E05000128), Bloomsbury (E05000129)" \
        in listed.output
    changed = runner.invoke(main, ["user", "set-areas", "cora@example.org", "Highgate"])
    assert changed.exit_code == 0 and "now looks after Highgate" in changed.output
    with session_scope(app) as s:
        user = s.scalar(select(User).where(User.email == "cora@example.org"))
        assert [a.name for a in user.areas] == ["Highgate"]
    cleared = runner.invoke(main, ["user", "set-areas", "cora@example.org"])
    assert "sees all areas" in cleared.output
    with session_scope(app) as s:
        assert s.scalar(select(User).where(User.email == "cora@example.org")).areas == []


def test_unknown_areas_are_all_named_and_nothing_is_added(runner, app, wards):
    result = _add(runner, "x@example.org", "coordinator", "Atlantis", "Belsize", "Lyonesse")
    assert result.exit_code == 2
    assert result.output.strip() == ("error: areas: no ward or borough with code or name "
                                     "'Atlantis', 'Lyonesse'")
    with session_scope(app) as s:
        assert s.scalar(select(User).where(User.email == "x@example.org")) is None


def test_set_role_and_the_last_admin(runner, app, wards):
    _add(runner, "boss@example.org", "admin")
    _add(runner, "helper@example.org", "connector")
    assert "is now a coordinator" in runner.invoke(
        main, ["user", "set-role", "helper@example.org", "coordinator"]).output
    refused = runner.invoke(main, ["user", "set-role", "boss@example.org", "connector"])
    assert refused.exit_code == 2 and "last active administrator" in refused.output
    bad = runner.invoke(main, ["user", "set-role", "nobody@example.org", "admin"])
    assert bad.exit_code == 2 and bad.output.startswith("error: email: no user")
    with session_scope(app) as s:
        assert s.scalar(select(User.role).where(User.email == "helper@example.org")) == \
            "coordinator"


def test_deactivate_stops_sign_in(runner, app, client, wards):
    _add(runner, "gone@example.org", "connector")
    result = runner.invoke(main, ["user", "deactivate", "gone@example.org"])
    assert result.exit_code == 0 and "can no longer sign in" in result.output
    assert "already deactivated" in runner.invoke(
        main, ["user", "deactivate", "gone@example.org"]).output
    from tests.conftest import csrf_token
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "gone@example.org", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 400


def test_reset_password_link_works_once(runner, app, client, wards, monkeypatch):
    monkeypatch.setenv("ASSETMAP_SECRET_KEY", app.config["SECRET_KEY"])  # one site, one key
    _add(runner, "forgot@example.org", "connector")
    result = runner.invoke(main, ["user", "reset-password", "forgot@example.org"])
    assert result.exit_code == 0
    url = result.output.strip()
    path = re.sub(r"^https?://[^/]+", "", url)
    assert path.startswith("/account/set-password/")
    page = client.get(path)
    assert page.status_code == 200 and "forgot@example.org" in page.get_data(as_text=True)
    from tests.conftest import csrf_token
    token = csrf_token(client, path)
    short = client.post(path, data={"password": "short", "confirm": "short",
                                    "csrf_token": token})
    assert short.status_code == 400 and "at least 10 characters" in short.get_data(as_text=True)
    done = client.post(path, data={"password": "a brand new secret", "confirm":
                                   "a brand new secret", "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/home"
    again = client.get(path)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"email": "forgot@example.org", "password":
                                       "a brand new secret", "csrf_token": token}
                       ).status_code == 302


def test_reset_password_by_email_goes_through_the_outbox(runner, app, mailbox, monkeypatch,
                                                         wards):
    monkeypatch.setenv("ASSETMAP_SMTP_PORT", str(mailbox.port))
    _add(runner, "mailme@example.org", "coordinator")
    result = runner.invoke(main, ["user", "reset-password", "mailme@example.org",
                                  "--email-link"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "E-mail with the link for mailme@example.org sent."
    [message] = mailbox.wait_for(1)
    assert "/account/set-password/" in message.get_content()
    with session_scope(app) as s:
        assert s.scalar(select(OutboxMessage.status)) == "sent"


def test_reset_password_says_when_the_mail_server_refused(runner, app, monkeypatch, wards):
    from tests.conftest import free_port

    monkeypatch.setenv("ASSETMAP_SMTP_PORT", str(free_port()))  # nothing listens there
    _add(runner, "later@example.org", "coordinator")
    result = runner.invoke(main, ["user", "reset-password", "later@example.org",
                                  "--email-link"])
    assert result.exit_code == 0
    assert "is queued: the mail server did not answer;" in result.output
    assert " sent." not in result.output
    with session_scope(app) as s:
        assert s.scalar(select(OutboxMessage.status)) == "retry"
