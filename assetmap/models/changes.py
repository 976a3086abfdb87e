"""Change tokens: a value that every write to a watched table replaces, in the same transaction.

Caches held in a process (the venues snapped onto a walking network, the listings a search
ranks) compare the token they were built at with the current one, one primary-key read per
use. Database triggers (migration 0018) replace it, so every write path is seen, whoever
writes. A token is random, not a count: a transaction that wrote and rolled back leaves no
token behind that a later write could repeat. On PostgreSQL the token's row lock also
orders the writers of listings, so a token read before rows are read is never newer than
them: a cache built that way is at worst rebuilt once too often, never stale.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from assetmap.models.base import Base

#: Replaced by writes to activities, their tags, schedules and venues (what ranking reads).
LISTINGS = "listings"
#: Replaced by writes to venues (where they are, for the walking network's snaps).
VENUES = "venues"


class ChangeToken(Base):
    __tablename__ = "change_tokens"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)


def change_token(session: Session, name: str) -> int | None:
    """The current token (as this session sees it: its own unflushed and uncommitted writes
    count); None when no write has made one yet, which a cache takes as "always rebuild"."""
    return session.scalar(select(ChangeToken.token).where(ChangeToken.name == name))
