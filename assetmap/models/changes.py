"""Change tokens and the listing change log, both written by database triggers (migration
0018) in the transaction that writes, so every write path is seen, whoever writes.

A token is a value every write to a watched table replaces. Caches held in a process (the
venues snapped onto a walking network, the listings a search ranks) compare the token they
were built at with the current one, one primary-key read per use. It is random, not a count:
a transaction that wrote and rolled back leaves no token behind that a later write could
repeat. The change log says which listing or venue each write touched, numbered in the order
the writers commit (SQLite has one writer at a time; on PostgreSQL the token's row lock,
taken before any listing row's, orders them), so a cache reads only what changed since the
number it was built at. Read the token first, then the log, then the rows: a cache built that
way is at worst brought up to date once too often, never stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Integer, Row, String, bindparam, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from assetmap.db import column_rows
from assetmap.models.base import Base

#: Replaced by writes to activities, their tags, schedules and venues (what ranking reads).
LISTINGS = "listings"
#: Replaced by writes to venues (where they are, for the walking network's snaps).
VENUES = "venues"
#: Replaced by writes to areas (the wards and boroughs a search places its start in).
AREAS = "areas"
#: Not replaced by writes: the highest change number pruned from the log (`prune_changes`).
PRUNED = "listing_changes_pruned"
#: How many of the latest changes the daily job keeps: a process whose listings are older
#: than the oldest kept reads them all again, as after a start.
KEEP_CHANGES = 100_000


class ChangeToken(Base):
    __tablename__ = "change_tokens"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)


class ListingChange(Base):
    """A write touched this listing (itself, its tags or schedule) or this venue; a row naming
    neither says everything changed (a table was emptied)."""

    __tablename__ = "listing_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # numbers never reused after a prune

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int | None] = mapped_column(Integer)
    venue_id: Mapped[int | None] = mapped_column(Integer)


#: Tokens read together, by name (a name with no token maps to None).
Tokens = Mapping[str, int | None]

# Built once: a search reads tokens first thing, and building the statement cost more than
# running it.
_TOKENS = select(ChangeToken.name, ChangeToken.token).where(
    ChangeToken.name.in_(bindparam("names", expanding=True)))


def change_tokens(session: Session, *names: str) -> Tokens:
    """The current tokens of `names`, in one read (as this session sees them: its own
    unflushed and uncommitted writes count); None for a name whose token was never made,
    which a cache takes as "always read again". A search reads the tokens of every cache it
    uses once, at its start."""
    # Through Core (`column_rows`, which flushes first): the ORM's handling of a small select
    # costs more than the read.
    found = {name: token for name, token in
             column_rows(session, _TOKENS, {"names": list(names)})}
    return {name: found.get(name) for name in names}


def change_token(session: Session, name: str) -> int | None:
    """The current token of one name (`change_tokens`)."""
    return change_tokens(session, name)[name]


def has_written(session: Session) -> bool:
    """Whether the session's transaction has written. What it sees is then its own, and is
    not to be held for others: on PostgreSQL a token is replaced once per transaction, so a
    later write of the same transaction leaves the token as it was."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return bool(connection.exec_driver_sql(
            "SELECT txid_current_if_assigned() IS NOT NULL").scalar())
    # SQLite begins a transaction at a transaction's first write (or BEGIN IMMEDIATE).
    driver = connection.connection.driver_connection
    assert driver is not None  # an open connection always has its SQLite connection
    return bool(driver.in_transaction)


def last_change(session: Session) -> int:
    """The number of the latest change logged (0 for none)."""
    return session.scalar(select(func.coalesce(func.max(ListingChange.seq), 0))) or 0


def changes_since(session: Session, seq: int) -> list[Row[Any]] | None:
    """(seq, activity_id, venue_id) of every change after `seq`, in order; None when some of
    them were pruned (read everything again)."""
    changes = list(session.execute(
        select(ListingChange.seq, ListingChange.activity_id, ListingChange.venue_id)
        .where(ListingChange.seq > seq).order_by(ListingChange.seq)))
    pruned = change_token(session, PRUNED)  # after the log: a prune in between is seen here
    return None if pruned is not None and pruned > seq else changes


def prune_changes(session: Session, keep: int = KEEP_CHANGES) -> int:
    """Delete all but the latest `keep` changes, noting the highest number deleted; how many
    were deleted."""
    below = last_change(session) - keep
    if below <= 0:
        return 0
    deleted = session.connection().execute(
        delete(ListingChange).where(ListingChange.seq <= below)).rowcount
    if deleted:
        pruned = session.get(ChangeToken, PRUNED)
        if pruned is None:
            session.add(ChangeToken(name=PRUNED, token=below))
        else:
            pruned.token = max(pruned.token, below)
    return deleted
