"""Users: creation with a role, and password checks."""

from __future__ import annotations

import functools
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from assetmap import values, vocab
from assetmap.errors import NotFound, ValidationError
from assetmap.models import User

MIN_PASSWORD = 10


def create_user(session: Session, *, email: str, role: str, password: str,
                name: str | None = None) -> User:
    email = values.email(email.strip().lower(), "email")
    if role not in vocab.ROLES:
        raise ValidationError("role", f"unknown role {role!r}", allowed=list(vocab.ROLES))
    if len(password) < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise ValidationError("email", f"a user with e-mail {email} already exists")
    user = User(email=email, role=role, name=name, password_hash=generate_password_hash(password))
    session.add(user)
    session.flush()
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash nobody's password matches, made once, to check unknown e-mails against."""
    return generate_password_hash(secrets.token_hex(16))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None. An unknown e-mail costs one
    password check too, so the time taken does not tell which e-mails have accounts."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    matches = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None or not user.active or not matches:
        return None
    return user


def end_sessions(user: User) -> None:
    """Revoke every session of `user`: cookies made before now no longer sign them in."""
    user.session_version = (user.session_version or 0) + 1


def set_password(session: Session, user: User, password: str) -> None:
    """A new password (signing the user out everywhere)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    session.flush()


def deactivate(session: Session, user: User) -> None:
    """The user can no longer sign in, and their open sessions end."""
    user.active = False
    end_sessions(user)
    session.flush()


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"there is no user with e-mail {email.strip()}")
    return user
