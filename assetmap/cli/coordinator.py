"""`assetmap stale`, `assetmap coverage` and `assetmap freshness run`: the coordinators'
freshness and coverage figures on the command line (the same services as the pages)."""

from __future__ import annotations

import json
from datetime import datetime

import click

from assetmap import vocab
from assetmap.cli import app_from_env, main
from assetmap.coverage import gaps as cov
from assetmap.db import session_scope
from assetmap.errors import ValidationError
from assetmap.freshness import queue as fq
from assetmap.freshness.due import clock
from assetmap.freshness.rules import STATE_LABELS, STATES
from assetmap.jobs.daily import run_daily
from assetmap.params import datetime_param, id_param
from assetmap.walking.service import walking_service


def _at(raw: str | None, app) -> datetime:
    """--at: a date or ISO date-time (UTC unless it says otherwise); default now."""
    if not raw:
        return clock(app.config)
    return datetime_param(raw, "--at", example="date like 2026-06-01 or 2026-06-01T09:30")


@main.command("stale")
@click.option("--area", help="A ward: its name, code or id.")
@click.option("--category", help="A category id, e.g. lunch-club.")
@click.option("--source", help="A feed's id: only listings it carries.")
@click.option("--state", help="attention (default: all but fresh), all, or states "
                              "separated by commas.")
@click.option("--assigned", help="any, nobody, or a person's id or e-mail: only checks "
                                 "assigned so.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500),
              help="How many queue entries to print.")
@click.option("--at", "at", help="Work the states out as of this date (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print summary and queue as JSON, as "
                                                      "GET /api/v1/freshness does.")
def stale(area, category, source, state, assigned, limit, at, as_json) -> None:
    """What is going stale: counts by state and by ward, then the most overdue listings."""
    app = app_from_env()
    with app.app_context(), session_scope(app) as session:
        now = _at(at, app)
        flt = fq.QueueFilter.checked(
            session, area=area or "", category=category or "", state=state or "",
            assigned=assigned or "",
            source_id=id_param(source, "source", what="source") if (source or "").strip()
            else None)
        summary = fq.summary(session, flt, now=now)
        page = fq.queue(session, flt, now=now, per_page=limit)
    if as_json:
        click.echo(json.dumps({"summary": summary, "queue": page.to_dict()}, indent=1))
        return
    where = f" in {flt.area_name}" if flt.area_name else ""
    click.echo(f"Freshness{where} as of {now:%Y-%m-%d %H:%M} UTC: {summary['total']} listings")
    for s in STATES:
        click.echo(f"  {STATE_LABELS[s]:<17} {summary['counts'][s]:>7}")
    if summary["by_area"]:
        click.echo("By ward (stale or never checked):")
        for row in summary["by_area"]:
            if not row["total"]:
                click.echo(f"  {row['name']:<32} no listings")
                continue
            click.echo(f"  {row['name']:<32} {row['needs_check']:>6} of {row['total']:<6} "
                       f"({round(row['share_needs_check'] * 100)}%)")
    click.echo(f"Queue: {page.total} listings, most overdue first"
               + (f" (first {len(page.items)})" if page.total > len(page.items) else ""))
    for item in page.items:
        why = f" — {item['reason']}" if item["reason"] else ""
        click.echo(f"  {item['overdue']:<20} {item['state_label']:<16} #{item['id']} "
                   f"{item['name']} ({item['area'] or 'no ward'}); {item['checked']}{why}")


@main.command("coverage")
@click.option("--minutes", default=None, type=click.IntRange(1, 60),
              help="Walking minutes (default: COVERAGE_MINUTES, 15).")
@click.option("--at", "at", help="Count listings fresh as of this date (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print every ward and category as JSON.")
def coverage_cmd(minutes, at, as_json) -> None:
    """Work out and store, per ward, the share of streets within a walk of a fresh listing."""
    app = app_from_env()
    minutes = minutes or int(app.config.get("COVERAGE_MINUTES") or cov.DEFAULT_MINUTES)
    with app.app_context(), session_scope(app) as session:
        done = cov.run(session, walking_service(app).registry, now=_at(at, app),
                       minutes=minutes)
        rows = cov.results(session, minutes=minutes)
        gaps = cov.worst_gaps(session, minutes=minutes)
        everything = [r.to_dict() for c in [None, *sorted(vocab.CATEGORY_IDS)]
                      for r in cov.results(session, minutes=minutes, category=c)]
    if done.skipped and not done.results:
        raise ValidationError("network", "no walking network covers the wards: build one "
                                         "with 'assetmap network build --osm FILE'")
    if as_json:
        click.echo(json.dumps({"minutes": minutes, "skipped": done.skipped,
                               "results": everything}, indent=1))
        return
    click.echo(f"Coverage at {minutes} minutes' walk of an active, fresh listing:")
    for row in rows:
        click.echo(f"  {row.ward:<32} {round(row.share * 100):>3}% of "
                   f"{row.street_m / 1000:.1f} km of streets")
    if gaps:
        click.echo("Biggest gaps:")
        for row in gaps:
            click.echo(f"  {row.sentence}")
    if done.skipped:
        click.echo(f"No walking network covers: {', '.join(done.skipped)}")


@main.group("freshness")
def freshness_group() -> None:
    """The daily freshness job."""


@freshness_group.command("run")
@click.option("--at", "at", help="Run as if it were this date (default: now).")
@click.option("--no-coverage", is_flag=True, help="Skip recomputing coverage.")
def freshness_run(at, no_coverage) -> None:
    """Re-cache due dates, e-mail organisers whose listings came due, send the weekly
    digests, recompute coverage. Safe to run again: nothing is sent twice."""
    app = app_from_env()
    for line in run_daily(app, now=_at(at, app), coverage=not no_coverage).lines():
        click.echo(line)
