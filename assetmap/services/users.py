"""Users: creation with a role, and password checks."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from assetmap import values

from .. import vocab
from ..errors import ValidationError
from ..models import User

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


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user
