"""The daily job: reminders that escalate, the weekly digest, all through a real SMTP server on
127.0.0.1 and the outbox; the organiser's answer refreshes the listing."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.jobs.daily import run_daily
from assetmap.models import Activity, Area, OutboxMessage
from assetmap.people.users import create_user
from tests.conftest import csrf_token
from tests.coordinator.conftest import HIGHGATE, NOW

LINK_RE = re.compile(r"(http://[^\s]+/organiser/check\?token=[^\s]+)")


def run(app, days: float = 0):
    return run_daily(app, now=NOW + timedelta(days=days), coverage=False)


def outbox(app) -> list[OutboxMessage]:
    with session_scope(app) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_reminders_come_due_escalate_and_are_never_repeated(app, make_listing, mailbox):
    due = make_listing("Lunch club", checks=((190, "phoned"),), email="lunch@example.org")
    make_listing("No e-mail", checks=((190, "phoned"),), email=None, at=HIGHGATE)
    make_listing("Fresh", checks=((30, "phoned"),), email="fresh@example.org")

    report = run(app)
    assert report.reminders == {0: 1}
    (first,) = mailbox.wait_for(1)
    assert first["To"] == "lunch@example.org"
    assert first["Subject"] == "Is your listing still right? Lunch club"
    assert LINK_RE.search(first.get_content())

    assert run(app, 1).reminders == {}  # the same round: nothing again
    assert run(app, 80).reminders == {}  # 88 days after the due date: not yet
    assert run(app, 84).reminders == {1: 1}  # 92 days after: the second (9 months)
    assert run(app, 85).reminders == {}
    # 183 days after: the last (12 months); the one fresh at NOW has come due meanwhile.
    assert run(app, 175).reminders == {2: 1, 0: 1}
    assert run(app, 176).reminders == {}
    mails = [m for m in mailbox.wait_for(4) if m["To"] == "lunch@example.org"]
    assert [m["Subject"].startswith("Reminder:") for m in mails] == [False, True, True]
    assert "have not heard back" in mails[2].get_content()
    rows = [m for m in outbox(app) if m.activity_id == due.id]
    assert [(m.kind, m.meta["reminder_level"], m.status) for m in rows] == [
        ("organiser-check", 0, "sent"), ("organiser-reminder", 1, "sent"),
        ("organiser-reminder", 2, "sent")]
    assert len({m.meta["due_at"] for m in rows}) == 1


def test_after_a_long_gap_only_the_highest_level_is_sent(app, make_listing, mailbox):
    make_listing("Forgotten", checks=((400, "phoned"),), email="gone@example.org")
    assert run(app).reminders == {2: 1}
    assert mailbox.wait_for(1)[0]["Subject"].startswith("Reminder:")


def test_the_organisers_answer_refreshes_the_listing(app, client, login, make_listing,
                                                     mailbox):
    made = make_listing("Tea dance", checks=((200, "connector-visited"),),
                        email="tea@example.org")
    run(app)
    (mail,) = mailbox.wait_for(1)
    link = LINK_RE.search(mail.get_content()).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200 and "Tea dance" in page.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = client.post("/organiser/confirm", data={
        "csrf_token": csrf_token(client, "/" + path), "token": token})
    assert answer.status_code == 200
    login("coordinator")
    items = client.get("/api/v1/freshness?state=all").get_json()["queue"]["items"]
    (item,) = [i for i in items if i["id"] == made.id]
    assert item["state"] == "fresh" and item["last_verified_method"] == "organiser-confirmed"
    assert run(app, 1).reminders == {}  # answered: a new round starts in six months
    with session_scope(app) as s:
        assert s.get(Activity, made.id).freshness_state == "fresh"


def test_weekly_digest_to_coordinators(app, make_listing, mailbox, wards):
    with session_scope(app) as s:
        create_user(s, email="all@example.org", role="coordinator", password="a long password")
        highgate = create_user(s, email="highgate@example.org", role="coordinator",
                               password="a long password")
        highgate.areas = [s.scalar(select(Area).where(Area.name == "Highgate"))]
        create_user(s, email="conn@example.org", role="connector", password="a long password")
    make_listing("Went stale this week", checks=((186, "phoned"),), email=None)
    make_listing("Very stale this week", checks=((367, "phoned"),), email=None, at=HIGHGATE)
    make_listing("Stale for ages", checks=((250, "phoned"),), email=None)
    make_listing("Maybe gone", checks=((20, "phoned"),), closed_days_ago=2, email=None,
                 at=HIGHGATE)

    assert run(app).digests == 2
    mails = {m["To"]: m for m in mailbox.wait_for(2)}
    assert set(mails) == {"all@example.org", "highgate@example.org"}
    everything = mails["all@example.org"].get_content()
    assert mails["all@example.org"]["Subject"] == (
        "AssetMap weekly freshness: 1 became stale, 1 very stale")
    section = everything.split("Became stale this week: 1", 1)[1].split("\n\n", 1)[0]
    assert "Went stale this week" in section and "Stale for ages" not in section
    assert "Very stale this week, Highgate" in everything
    assert "Maybe gone, Highgate" in everything and "missing from the feed" in everything
    assert "/coordinator/freshness" in everything
    mine = mails["highgate@example.org"].get_content()
    assert "== Highgate ==" in mine and "Went stale this week" not in mine
    assert "Very stale this week" in mine and "Maybe gone" in mine

    assert run(app, 1).digests == 0  # weekly
    assert run(app, 7).digests == 2
    assert all(m.status == "sent" for m in outbox(app) if m.kind == "freshness-digest")
    assert len([m for m in outbox(app) if m.kind == "freshness-digest"]) == 4


def test_the_scheduler_runs_it_daily(app, make_listing, mailbox, caplog):
    from assetmap.jobs import scheduler

    built = scheduler.build_scheduler(app)
    job = built.get_job("freshness")
    assert job.func_ref == "assetmap.jobs.scheduler:run_freshness"
    assert job.trigger.interval == timedelta(hours=24)
    make_listing("Lunch club", checks=((200, "phoned"),), email="lunch@example.org")
    caplog.set_level("INFO", logger="assetmap.scheduler")
    scheduler.run_freshness()  # as the scheduler calls it: as of FRESHNESS_NOW here
    assert mailbox.wait_for(1)[0]["To"] == "lunch@example.org"
    assert any("reminders: 1 sent" in r.getMessage() for r in caplog.records)


def test_a_coordinators_reminder_counts_for_the_round(app, client, login, make_listing,
                                                      mailbox):
    """A manual "remind the organiser" counts as the reminder the round has reached, so the
    daily job does not send the same organiser a second e-mail seconds later; the next level
    still comes when it is due."""
    from tests.coordinator.test_freshness_web import post_action

    overdue = make_listing("Chair yoga", checks=((400, "phoned"),), email="yoga@example.org")
    due = make_listing("Lunch club", checks=((190, "phoned"),), email="lunch@example.org",
                       at=HIGHGATE)
    login("coordinator")
    response = post_action(client, {"action": "remind", "ids": [overdue.id, due.id]})
    assert response.status_code == 302
    assert len(mailbox.wait_for(2)) == 2
    assert run(app).reminders == {}  # before the fix: {2: 1, 0: 1}
    assert run(app, 84).reminders == {1: 1}  # the lunch club's next level, when it is due
    mails = mailbox.wait_for(3)
    assert [m["To"] for m in mails].count("yoga@example.org") == 1
    rows = [m for m in outbox(app) if m.activity_id == overdue.id]
    assert [(m.kind, m.meta["counts_for_level"]) for m in rows] == [("organiser-check", 2)]
