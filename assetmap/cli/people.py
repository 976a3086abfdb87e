"""`assetmap user ...`: list accounts, change role and areas, deactivate, set-password links."""

from __future__ import annotations

import click

from assetmap.cli import app_from_env, user
from assetmap.db import session_scope
from assetmap.freshness.due import clock
from assetmap.people import accounts


def _areas_words(u) -> str:
    return ", ".join(f"{a.name} ({a.code})" for a in sorted(u.areas, key=lambda a: a.name)) \
        or "all areas"


@user.command("list")
def user_list() -> None:
    """Every account: e-mail, role, active or not, and the areas each looks after."""
    with session_scope(app_from_env()) as session:
        users = accounts.list_users(session)
        if not users:
            click.echo("no users yet: add one with 'assetmap user add'")
            return
        for u in users:
            state = "active" if u.active else "deactivated"
            click.echo(f"{u.email}\t{u.role}\t{state}\t{_areas_words(u)}")


@user.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(list(accounts.ROLE_LABELS)))
def user_set_role(email: str, role: str) -> None:
    """Give the user with EMAIL the ROLE connector, coordinator or admin."""
    with session_scope(app_from_env()) as session:
        click.echo(accounts.set_role(session, accounts.find_user(session, email), role))


@user.command("set-areas")
@click.argument("email")
@click.argument("area_codes", nargs=-1)
def user_set_areas(email: str, area_codes: tuple[str, ...]) -> None:
    """The wards or boroughs (codes or names) EMAIL looks after; none means all areas."""
    with session_scope(app_from_env()) as session:
        found = accounts.find_areas(session, area_codes)
        click.echo(accounts.set_areas(session, accounts.find_user(session, email), found))


@user.command("deactivate")
@click.argument("email")
def user_deactivate(email: str) -> None:
    """Stop EMAIL signing in (nothing they did is removed)."""
    with session_scope(app_from_env()) as session:
        click.echo(accounts.deactivate(session, accounts.find_user(session, email)))


@user.command("reactivate")
@click.argument("email")
def user_reactivate(email: str) -> None:
    """Let a deactivated EMAIL sign in again."""
    with session_scope(app_from_env()) as session:
        click.echo(accounts.reactivate(session, accounts.find_user(session, email)))


@user.command("reset-password")
@click.argument("email")
@click.option("--email-link", is_flag=True,
              help="Send the link by e-mail through the outbox instead of printing it.")
def user_reset_password(email: str, email_link: bool) -> None:
    """A one-time set-password link for EMAIL (valid 7 days): printed, or e-mailed."""
    app = app_from_env()
    with session_scope(app) as session:
        found = accounts.find_user(session, email)
        result = accounts.reset_password(session, app.config, found, email=email_link)
        if isinstance(result, str):
            click.echo(result)
        else:
            click.echo(result.words(now=clock(app.config)))
