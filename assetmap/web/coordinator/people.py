"""/coordinator/people (administrators): invite people with a role and areas, change role or
areas, deactivate, send a one-time set-password link. The same rules as `assetmap user`."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from assetmap import values
from assetmap.db import get_session
from assetmap.errors import ValidationError
from assetmap.freshness.due import clock
from assetmap.models import Area, User
from assetmap.people import accounts
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp

MAX_ID = 2**31 - 1
LABELS = {"email": "E-mail", "name": "Name", "role": "Role", "areas": "Areas"}


def _wards() -> list[Area]:
    return list(get_session().scalars(select(Area).where(Area.kind.in_(("ward", "borough")))
                                      .order_by(Area.kind.desc(), Area.name)))


def _chosen_areas() -> tuple[list[int], str | None]:
    raw = request.form.getlist("areas")
    if not all(r.isdigit() and int(r) <= MAX_ID for r in raw):
        return [], "The chosen areas were not understood; reload the page and choose again"
    return [int(r) for r in raw], None


def _user(user_id: int) -> User:
    user = get_session().get(User, user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404, description="There is no such person.")
    return user


def _list_page(form: dict, errors: dict[str, str], status: int = 200):
    return render_template("coordinator/people.html", users=accounts.list_users(get_session()),
                           wards=_wards(), roles=accounts.ROLE_LABELS, form=form,
                           errors=errors, labels=LABELS), status


@bp.get("/people")
@role_required("admin")
def people():
    return _list_page({"role": "connector", "areas": []}, {})


@bp.post("/people/invite")
@role_required("admin")
def people_invite():
    """Every problem with the form is reported at once; what was typed is kept."""
    session = get_session()
    email = (request.form.get("email") or "").strip()
    name = (request.form.get("name") or "").strip()
    role = request.form.get("role") or ""
    area_ids, area_error = _chosen_areas()
    form = {"email": email, "name": name, "role": role, "areas": area_ids}
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter the e-mail address of the person to invite"
    elif not _is_email(email):
        errors["email"] = "Enter an e-mail address like name@example.org"
    elif session.scalar(select(User.id).where(User.email == email.lower())):
        errors["email"] = f"{email} already has an account; change it in the list below"
    if len(name) > 200:
        errors["name"] = "Keep the name to 200 characters or fewer"
    if role not in accounts.ROLE_LABELS:
        errors["role"] = "Choose a role"
    areas: list[Area] = []
    if area_error:
        errors["areas"] = area_error
    else:
        try:
            areas = accounts.areas_by_ids(session, area_ids)
        except ValidationError as exc:
            errors["areas"] = exc.message
    if errors:
        return _list_page(form, errors, 400)
    try:
        sent = accounts.invite(session, current_app.config, email=email, role=role, areas=areas,
                               name=name, by=current_user)
    except ValidationError as exc:
        session.rollback()
        return _list_page(form, {exc.field if exc.field in LABELS else "email": exc.message},
                          400)
    session.commit()
    flash(f"{sent.user.email} invited as a {accounts.ROLE_LABELS[role].lower()}. "
          + sent.words(now=clock(current_app.config)))
    return redirect(url_for("coordinator.people"))


@bp.get("/people/<int:user_id>")
@role_required("admin")
def person(user_id: int):
    user = _user(user_id)
    return render_template("coordinator/person.html", person=user, wards=_wards(),
                           roles=accounts.ROLE_LABELS, errors={}, labels=LABELS,
                           form={"role": user.role, "areas": [a.id for a in user.areas]})


@bp.post("/people/<int:user_id>")
@role_required("admin")
def person_change(user_id: int):
    """One of: save role and areas, deactivate, reactivate, send a set-password link."""
    session = get_session()
    user = _user(user_id)
    action = request.form.get("action") or ""
    try:
        if action == "save":
            role = request.form.get("role") or ""
            area_ids, area_error = _chosen_areas()
            if area_error:
                raise ValidationError("areas", area_error)
            areas = accounts.areas_by_ids(session, area_ids)
            said = [accounts.set_role(session, user, role, by=current_user),
                    accounts.set_areas(session, user, areas)]
        elif action == "deactivate":
            said = [accounts.deactivate(session, user, by=current_user)]
        elif action == "reactivate":
            said = [accounts.reactivate(session, user)]
        elif action == "reset":
            sent = accounts.reset_password(session, current_app.config, user, by=current_user)
            assert isinstance(sent, accounts.LinkSent)  # email=True (the default) always queues
            said = [sent.words(now=clock(current_app.config))]
        else:
            raise ValidationError("action", "Nothing was chosen: use one of the buttons")
    except ValidationError as exc:
        session.rollback()
        user = _user(user_id)
        form = {"role": request.form.get("role") or user.role,
                "areas": [int(a) for a in request.form.getlist("areas") if a.isdigit()]
                if action == "save" else [a.id for a in user.areas]}
        message = exc.message[:1].upper() + exc.message[1:]
        return render_template("coordinator/person.html", person=user, wards=_wards(),
                               roles=accounts.ROLE_LABELS, labels=LABELS, form=form,
                               errors={exc.field if exc.field in LABELS else "action": message}
                               ), 400
    session.commit()
    flash(" ".join(said))
    return redirect(url_for("coordinator.person", user_id=user.id))


def _is_email(text: str) -> bool:
    try:
        values.email(text, "email")
    except ValidationError:
        return False
    return True
