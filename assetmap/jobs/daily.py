"""The daily freshness job: re-cache due dates, remind organisers, tell coordinators.

Run once a day by the scheduler (`assetmap.jobs.scheduler`), or by hand with `assetmap freshness
run`. Every step can run again without repeating itself, so a missed day or a second run the
same day does no harm:

* reminders: a listing with a contact e-mail is asked "Is this still right?" when it comes due,
  and again (escalating) when still unanswered `REMINDER_DAYS` after its due date — by default
  0, 91 and 182 days, which for a regular group checked every six months is at 6, 9 and 12
  months. An answer (any check) moves the due date, which starts a new round. Each message
  carries the due date and level it was sent for, so no level is sent twice in a round; if the
  job was off for a while only the highest level due is sent.
* digest: once a week each coordinator gets what became stale or very stale in the past week
  in their wards (all wards if they have none), and what is possibly closed.
* coverage: recomputed for every ward a walking network covers.
* change log: the listing change log (`models.changes`, which keeps each process's listings
  up to date) keeps its latest `KEEP_CHANGES` entries; a process further behind reads all.
* trend: how many live listings are fresh, kept (`coordination.trends`) for the freshness
  page's chart (a second run the same day adds a later count; the chart reads a week's last),
  and, once, the weeks before the first count worked out from the checks recorded.

Every message goes through the outbox (`community.outbox`) and is sent at once; failures stay
queued for the scheduler's outbox job to retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask

from assetmap.community.reminders import send_reminders
from assetmap.coordination import trends
from assetmap.coordination.digest import send_digests
from assetmap.coverage import gaps as cov
from assetmap.db import session_scope
from assetmap.freshness import due
from assetmap.freshness.rules import STATE_LABELS, Rules
from assetmap.models.changes import prune_changes
from assetmap.walking.service import walking_service


@dataclass
class JobReport:
    recomputed: due.RecomputeReport | None = None
    snapshot: tuple[int, int] | None = None  # (listings, fresh) kept for the trend chart
    weeks_worked_out: int = 0  # earlier weeks' share fresh worked out from history
    reminders: dict[int, int] = field(default_factory=dict)  # level -> sent
    reminders_failed: int = 0
    digests: int = 0
    coverage: str | None = None
    changes_pruned: int = 0  # listing change log entries deleted

    def lines(self) -> list[str]:
        out = []
        if self.recomputed is not None:
            states = ", ".join(f"{n} {STATE_LABELS[s].lower()}"
                               for s, n in self.recomputed.by_state.items() if n)
            out.append(f"freshness: {self.recomputed.listings} listings ({states}); "
                       f"{self.recomputed.changed} re-cached")
        if self.snapshot is not None:
            out.append(f"trend: {self.snapshot[1]} of {self.snapshot[0]} listings fresh today"
                       + (f"; {self.weeks_worked_out} earlier weeks worked out from the checks "
                          "recorded" if self.weeks_worked_out else ""))
        levels = ", ".join(f"{n} at level {level + 1}" for level, n in sorted(
            self.reminders.items()))
        written = sum(self.reminders.values())
        if self.reminders_failed:
            # Say what reached the mail server, not what was written to the outbox.
            out.append(f"reminders: {written - self.reminders_failed} sent, "
                       f"{self.reminders_failed} not delivered yet (the mail server did not "
                       f"take them; they will be retried) — {written} written ({levels})")
        else:
            out.append(f"reminders: {written} sent" + (f" ({levels})" if levels else ""))
        out.append(f"digests: {self.digests} sent")
        if self.changes_pruned:
            out.append(f"change log: {self.changes_pruned} older entries deleted")
        if self.coverage:
            out.append(f"coverage: {self.coverage}")
        return out


def run_daily(app: Flask, *, now: datetime | None = None, coverage: bool = True) -> JobReport:
    """The whole job, each step in its own transaction."""
    report = JobReport()
    with app.app_context():
        now = now or due.clock(app.config)
        rules = Rules.from_config(app.config)
        with session_scope(app) as session:
            report.recomputed = due.recompute(session, now=now, rules=rules)
        with session_scope(app) as session:
            kept = trends.take_snapshot(session, now)
            report.snapshot = (kept.listings, kept.fresh)
            report.weeks_worked_out = trends.backfill(session, now, rules)
        with session_scope(app) as session:
            report.reminders, report.reminders_failed = send_reminders(
                session, app.config, now=now)
        with session_scope(app) as session:
            report.digests = send_digests(session, app.config, now=now)
        with session_scope(app) as session:
            report.changes_pruned = prune_changes(session)
        if coverage:
            report.coverage = _coverage(app, now)
    return report


def _coverage(app: Flask, now: datetime) -> str:
    minutes = int(app.config.get("COVERAGE_MINUTES") or cov.DEFAULT_MINUTES)
    with session_scope(app) as session:
        done = cov.run(session, walking_service(app).registry, now=now, minutes=minutes)
    wards = len({r.area_id for r in done.results})
    text = f"{wards} wards at {minutes} minutes"
    if done.skipped:
        text += f"; no walking network covers {', '.join(done.skipped)}"
    return text


# -- reminders -----------------------------------------------------------------------------


# -- the weekly digest ---------------------------------------------------------------------


