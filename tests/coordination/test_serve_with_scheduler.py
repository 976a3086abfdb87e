"""`assetmap serve --with-scheduler` (what `make run` starts): the web app and the one
scheduler in one command, so a refused message goes out within a minute of the server
answering, and the scheduler stops with the web server."""

from __future__ import annotations

import os
import re
import time

from sqlalchemy import select

from assetmap.community import outbox as mail
from assetmap.db import session_scope
from assetmap.models import OutboxMessage
from tests.conftest import assetmap_serve, free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_serve_with_scheduler_delivers_waiting_mail(app, database_url, mailbox, tmp_path):
    refused_port = free_port()
    with session_scope(app) as s:
        message = mail.queue_message(s, kind="organiser-check", to="org@example.org",
                                     subject="Is this still right?", body="Please check.")
        mail.send(s, message, {**app.config, "SMTP_PORT": refused_port})
        assert message.status == "retry"
    env = dict(os.environ, ASSETMAP_DATABASE_URL=database_url, ASSETMAP_SECRET_KEY="serve-test",
               ASSETMAP_SMTP_HOST="127.0.0.1", ASSETMAP_SMTP_PORT=str(mailbox.port),
               PYTHONUNBUFFERED="1")
    log = tmp_path / "serve.log"
    started = time.monotonic()
    with assetmap_serve(env, workers=2, log_path=log, extra=("--with-scheduler",)):
        [received] = mailbox.wait_for(1, timeout=60)
        assert time.monotonic() - started < 60
        assert received["To"] == "org@example.org"
        pid = int(re.search(r"scheduler running beside the web app \(process (\d+)\)",
                            log.read_text()).group(1))
        assert _alive(pid)
    with session_scope(app) as s:
        assert s.scalar(select(OutboxMessage.status)) == "sent"
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid), "the scheduler outlived the web server"
