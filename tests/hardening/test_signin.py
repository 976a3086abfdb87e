"""Sign-in resists guessing: wrong passwords are throttled per account and per address (in
the shared store, so every worker counts together), unknown e-mails cost a password check
too, and a session cookie stops working once the user signs out, is deactivated or gets a
new password."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from sqlalchemy import select

from assetmap import create_app, db
from assetmap.config import TestConfig as Settings
from assetmap.db import session_scope
from assetmap.models import User
from assetmap.people import users
from tests.conftest import csrf_token

PASSWORD = "correct horse battery"


def _user(app, email: str | None = None) -> str:
    email = email or f"c-{uuid.uuid4().hex[:8]}@example.org"
    with session_scope(app) as s:
        users.create_user(s, email=email, role="connector", password=PASSWORD)
    return email


def _try(client, email: str, password: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token})


def test_twenty_wrong_passwords_in_a_minute_are_throttled_then_even_the_right_one_waits(
        app, client):
    email = _user(app)
    answers = [_try(client, email, f"guess number {i}") for i in range(20)]
    codes = [r.status_code for r in answers]
    assert codes[0] == 400 and 429 in codes, codes
    throttled = answers[codes.index(429)]
    page = throttled.get_data(as_text=True)
    assert "Too many attempts to sign in.</strong>\n    Try again in 15 minutes." in page
    assert 1 <= int(throttled.headers["Retry-After"]) <= 15 * 60
    # The right password is refused while the limit holds, so guessing cannot carry on.
    assert _try(client, email, PASSWORD).status_code == 429


def test_a_throttled_account_can_sign_in_once_its_window_has_passed(app, client):
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per 2 seconds"
    email = _user(app)
    codes = [_try(client, email, "wrong password!").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    time.sleep(2.2)  # no lockout outlasts its window
    assert _try(client, email, PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_throttled(app, client):
    app.config["LOGIN_RATE_LIMIT_ADDRESS"] = "5 per 15 minutes"
    codes = [_try(client, f"nobody-{i}@example.org", "wrong password!").status_code
             for i in range(7)]
    assert codes[:5] == [400] * 5 and codes[5:] == [429, 429]


def test_throttle_counts_in_the_shared_store_across_workers(database_url, tmp_path):
    """Two app instances (two workers) with one Redis: failures in one throttle the other."""
    url = "redis://127.0.0.1:6379/0"
    prefix = f"assetmap-test-{uuid.uuid4().hex[:8]}"
    apps = [create_app(Settings(database_url, NETWORK_DIR=tmp_path / "n",
                                  RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=prefix,
                                  LOGIN_RATE_LIMIT_ACCOUNT="4 per 15 minutes"))
            for _ in range(2)]
    try:
        email = _user(apps[0])
        first, second = (a.test_client() for a in apps)
        assert [_try(first, email, "wrong password!").status_code for _ in range(4)] == [400] * 4
        assert _try(second, email, PASSWORD).status_code == 429
        assert list(redis.Redis.from_url(url).scan_iter(match=f"*{prefix}*"))
    finally:
        store = redis.Redis.from_url(url)
        for key in store.scan_iter(match=f"*{prefix}*"):
            store.delete(key)
        with apps[0].app_context():
            s = db.get_session()
            for user in s.scalars(select(User)):
                s.delete(user)
            s.commit()
        for a in apps:
            db.dispose(a)


def test_unknown_emails_cost_a_password_check_like_known_ones(app, monkeypatch):
    email = _user(app)
    checked: list[str] = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash",
                        lambda stored, given: checked.append(stored) or real(stored, given))
    with session_scope(app) as s:
        assert users.authenticate(s, "nobody@example.org", PASSWORD) is None
        assert users.authenticate(s, email, "wrong password!") is None
        assert users.authenticate(s, email, PASSWORD) is not None
    assert len(checked) == 3
    # The dummy is a real hash of the same kind, so it takes as long to check.
    assert checked[0].split("$")[0] == checked[1].split("$")[0]


def _signed_in_cookie(app, client, email: str) -> str:
    assert _try(client, email, PASSWORD).status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _works(app, cookie: str) -> bool:
    """Does a copy of the cookie, in another browser, still open a signed-in page?"""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/connector").status_code == 200


def test_a_copied_cookie_is_dead_after_sign_out(app, client):
    email = _user(app)
    cookie = _signed_in_cookie(app, client, email)
    assert _works(app, cookie)
    token = csrf_token(client, "/connector")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _works(app, cookie)
    # Signing in again works, with a new cookie.
    assert _works(app, _signed_in_cookie(app, client, email))


@pytest.mark.parametrize("change", ["deactivate", "password"])
def test_deactivation_and_a_new_password_end_open_sessions(app, client, change):
    email = _user(app)
    cookie = _signed_in_cookie(app, client, email)
    assert _works(app, cookie)
    with session_scope(app) as s:
        user = users.find_user(s, email)
        if change == "deactivate":
            users.deactivate(s, user)
        else:
            users.set_password(s, user, "a brand new password")
    assert not _works(app, cookie)


def test_cli_password_and_deactivate_end_sessions(app, client, runner):
    from assetmap.cli import main

    email = _user(app)
    cookie = _signed_in_cookie(app, client, email)
    out = runner.invoke(main, ["user", "password", email, "--password", "another password"])
    assert out.exit_code == 0, out.output
    assert not _works(app, cookie)
    out = runner.invoke(main, ["user", "deactivate", "nobody@example.org"])
    assert out.exit_code != 0 and out.output.startswith("error:")


def test_a_forged_or_old_style_session_id_signs_nobody_in(app, client):
    email = _user(app)
    _signed_in_cookie(app, client, email)
    with client.session_transaction() as sess:
        user_id = sess["_user_id"]
    assert ":" in user_id and client.get("/connector").status_code == 200
    for forged in (user_id.split(":")[0], "99999999999999999999:0", f"{user_id}1", "1:x",
                   "\x00"):
        with client.session_transaction() as sess:
            sess["_user_id"] = forged
        assert client.get("/connector").status_code == 302, forged
