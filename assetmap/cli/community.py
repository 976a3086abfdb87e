"""`assetmap organiser ...`: ask organisers to confirm their own listings."""

from __future__ import annotations

import click

from assetmap.cli import app_from_env, main
from assetmap.community.organiser import send_organiser_check
from assetmap.db import session_scope
from assetmap.errors import AssetMapError
from assetmap.listings.changes import get_activity


@main.group()
def organiser() -> None:
    """Organisers' "Is this still right?" links."""


@organiser.command("send")
@click.argument("activity_id", type=int)
def organiser_send(activity_id: int) -> None:
    """E-mail the contact of listing ACTIVITY_ID a personal link to confirm or correct it."""
    app = app_from_env()
    with session_scope(app) as session:
        activity = get_activity(session, activity_id)
        message = send_organiser_check(session, activity, app.config)
        outcome = (message.status, message.to_address, message.id, message.error)
    status, to, message_id, error = outcome
    if status != "sent":
        # The outbox row and link are kept (committed above) so the message is retried.
        raise AssetMapError(f"could not deliver to {to} ({error}); it stays in the outbox "
                            f"(message {message_id}) and will be tried again")
    click.echo(f"sent an organiser check for listing {activity_id} to {to} "
               f"(outbox message {message_id})")
