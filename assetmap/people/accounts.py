"""Accounts after creation: list, role, areas, deactivate, and one-time set-password links.

A set-password link is signed (itsdangerous) and carries a fingerprint of the password hash
it was made against, so it works once: setting the password changes the hash and every
earlier link stops working. Nothing is stored, so no table is needed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import generate_password_hash

from assetmap import vocab
from assetmap.community import outbox as mail
from assetmap.errors import ValidationError
from assetmap.models import Area, OutboxMessage, User
from assetmap.people.users import MIN_PASSWORD, create_user

SALT = "assetmap-set-password"
LINK_DAYS = 7
INVITE_KIND = "invitation"
RESET_KIND = "password-reset"
ROLE_LABELS = {"connector": "Connector", "coordinator": "Coordinator", "admin": "Administrator"}


def find_user(session: Session, email: str) -> User:
    """A user by e-mail (any case); a ValidationError naming `email` if there is none."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise ValidationError("email", f"no user with e-mail {email.strip()}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).options(selectinload(User.areas))
                                .order_by(User.active.desc(), User.role, User.email)))


def find_areas(session: Session, codes: Sequence[str]) -> list[Area]:
    """Areas by code or name (any case); every unknown one is named in one error."""
    found: list[Area] = []
    missing: list[str] = []
    for raw in codes:
        raw = raw.strip()
        if not raw:
            continue
        area = session.scalar(select(Area).where(or_(
            Area.code == raw, func.lower(Area.code) == raw.lower(),
            func.lower(Area.name) == raw.lower())))
        if area is None:
            missing.append(raw)
        elif area not in found:
            found.append(area)
    if missing:
        raise ValidationError("areas", "no ward or borough with code or name "
                              + ", ".join(repr(m) for m in missing))
    return found


def areas_by_ids(session: Session, ids: Sequence[int]) -> list[Area]:
    areas = list(session.scalars(select(Area).where(Area.id.in_(list(ids))))) if ids else []
    if len(areas) != len(set(ids)):
        raise ValidationError("areas", "one of the chosen areas no longer exists; reload the "
                                       "page and choose again")
    return sorted(areas, key=lambda a: a.name)


def _check_role(role: str) -> None:
    if role not in vocab.ROLES:
        raise ValidationError("role", f"unknown role {role!r}", allowed=list(vocab.ROLES))


def set_role(session: Session, user: User, role: str, *, by: User | None = None) -> str:
    _check_role(role)
    if by is not None and by.id == user.id and role != "admin" and user.role == "admin":
        raise ValidationError("role", "you cannot take away your own administrator role; "
                                      "ask another administrator")
    if user.role == role:
        return f"{user.email} is already a {ROLE_LABELS[role].lower()}; nothing changed."
    _keep_an_admin(session, user, leaving=user.role == "admin")
    user.role = role
    session.flush()
    return f"{user.email} is now a {ROLE_LABELS[role].lower()}."


def set_areas(session: Session, user: User, areas: Sequence[Area]) -> str:
    before = {a.id for a in user.areas}
    user.areas = list(areas)
    session.flush()
    if before == {a.id for a in areas}:
        return f"{user.email}'s areas are unchanged."
    if not areas:
        return f"{user.email} now looks after no particular area (sees all areas)."
    return f"{user.email} now looks after {', '.join(a.name for a in areas)}."


def deactivate(session: Session, user: User, *, by: User | None = None) -> str:
    if by is not None and by.id == user.id:
        raise ValidationError("email", "you cannot deactivate your own account")
    if not user.active:
        return f"{user.email} was already deactivated; nothing changed."
    _keep_an_admin(session, user, leaving=user.role == "admin")
    user.active = False
    session.flush()
    return f"{user.email} is deactivated and can no longer sign in."


def reactivate(session: Session, user: User) -> str:
    if user.active:
        return f"{user.email} is already active; nothing changed."
    user.active = True
    session.flush()
    return f"{user.email} can sign in again."


def _keep_an_admin(session: Session, user: User, *, leaving: bool) -> None:
    if not leaving:
        return
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id))
    if not others:
        raise ValidationError("role", "this is the last active administrator; make someone "
                                      "else an administrator first")


# -- set-password links --------------------------------------------------------------------

def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def set_password_token(user: User, secret_key: str) -> str:
    return _serializer(secret_key).dumps({"u": user.id, "h": _fingerprint(user)})


def set_password_url(user: User, config: Mapping) -> str:
    token = set_password_token(user, config["SECRET_KEY"])
    return f"{config['PUBLIC_URL']}/account/set-password/{token}"


class LinkProblem(Exception):
    """A set-password link that cannot be used, with a sentence for the person holding it."""


def user_for_token(session: Session, token: str, secret_key: str) -> User:
    try:
        data = _serializer(secret_key).loads(token, max_age=LINK_DAYS * 86400)
    except SignatureExpired:
        raise LinkProblem(f"This link is more than {LINK_DAYS} days old. Ask an administrator "
                          "for a new one.") from None
    except BadSignature:
        raise LinkProblem("This link is not complete or not one of ours. Copy the whole link "
                          "from the e-mail, or ask an administrator for a new one.") from None
    user = session.get(User, int(data.get("u", 0))) if isinstance(data, dict) else None
    if user is None or not user.active:
        raise LinkProblem("This account is not active. Ask an administrator.")
    if data.get("h") != _fingerprint(user):
        raise LinkProblem("This link has already been used. Sign in with your password, or "
                          "ask an administrator for a new link.")
    return user


def set_password(session: Session, user: User, password: str, confirm: str) -> None:
    errors = []
    if len(password) < MIN_PASSWORD:
        errors.append(ValidationError("password",
                                      f"Enter a password of at least {MIN_PASSWORD} characters"))
    elif password != confirm:
        errors.append(ValidationError("confirm", "The two passwords are not the same"))
    if errors:
        raise errors[0]
    user.password_hash = generate_password_hash(password)
    session.flush()


def _unusable_password() -> str:
    return secrets.token_urlsafe(32)


# -- invitations and resets ----------------------------------------------------------------

@dataclass(frozen=True)
class LinkSent:
    """What happened to a set-password link: always queued; sent now if the server took it."""

    user: User
    url: str
    message: OutboxMessage

    def words(self, *, now: datetime) -> str:
        return mail.delivery_words(self.message, now=now,
                                   what=f"E-mail with the link for {self.user.email}")


def _link_mail(session: Session, user: User, config: Mapping, *, kind: str,
               by: User | None) -> LinkSent:
    url = set_password_url(user, config)
    place = config.get("PLACE_NAME") or "AssetMap"
    if kind == INVITE_KIND:
        subject = f"You are invited to {place}"
        opening = (f"{by.name or by.email if by else 'An administrator'} has invited you to "
                   f"{place} as a {ROLE_LABELS[user.role].lower()}.")
    else:
        subject = f"Set a new password for {place}"
        opening = "A new password was asked for your account."
    body = (f"{opening}\n\nChoose your password here (the link works once, for "
            f"{LINK_DAYS} days):\n{url}\n\nThen sign in with {user.email}.\n")
    message = mail.queue_message(session, kind=kind, to=user.email, subject=subject, body=body,
                                 meta={"user_id": user.id})
    return LinkSent(user, url, message)


def invite(session: Session, config: Mapping, *, email: str, role: str, areas: Sequence[Area],
           name: str | None = None, by: User | None = None, send_now: bool = True) -> LinkSent:
    """A new account without a usable password, and a one-time link by e-mail to set one."""
    _check_role(role)
    user = create_user(session, email=email, role=role, name=name or None,
                       password=_unusable_password())
    user.areas = list(areas)
    session.flush()
    sent = _link_mail(session, user, config, kind=INVITE_KIND, by=by)
    if send_now:
        mail.send(session, sent.message, config)
    return sent


def reset_password(session: Session, config: Mapping, user: User, *, email: bool = True,
                   by: User | None = None) -> LinkSent | str:
    """A one-time link: queued by e-mail (and tried now), or just returned to print."""
    if not user.active:
        raise ValidationError("email", f"{user.email} is deactivated; reactivate them first")
    if not email:
        return set_password_url(user, config)
    sent = _link_mail(session, user, config, kind=RESET_KIND, by=by)
    mail.send(session, sent.message, config)
    return sent
