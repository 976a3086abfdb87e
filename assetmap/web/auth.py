"""Sign-in and sign-out, and the role check every non-public route uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from assetmap.connector import session_search as search_store
from assetmap.db import get_session
from assetmap.models import User
from assetmap.params import as_id
from assetmap.people.users import authenticate, end_sessions
from assetmap.web import signin_throttle

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    signin_throttle.init_app(app)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The session's user, if still active and the session was made under their current
    session version (sign-out, deactivation and a new password each move it on)."""
    raw_id, _, version = str(user_id).partition(":")
    number = as_id(raw_id)
    if number is None or not version.isdigit() or len(version) > 12:
        return None
    user = get_session().get(User, number)
    if user is None or not user.active or int(version) != (user.session_version or 0):
        return None
    return user


def role_required(*roles: str) -> Callable:
    """Signed in with one of `roles` (admins pass every check); 403 otherwise."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403, description="Your role does not allow this page.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def home_for(user: User) -> str:
    """Each role's own home: connectors search, coordinators and admins see what needs them."""
    if user.has_role("coordinator"):
        return url_for("coordinator.index")
    return url_for("connector.search")


def _safe_next(target: str | None, user: User) -> str:
    """Only same-site paths, so a crafted link cannot bounce a user to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(
            target).netloc:
        return target
    return home_for(user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        wait = signin_throttle.wait_seconds(email)
        if wait:
            response = make_response(render_template(
                "auth/login.html", form=form, wait_minutes=math.ceil(wait / 60)), 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = authenticate(get_session(), email, form.password.data or "")
        if user is not None:
            login_user(user)
            search_store.forget(session)
            return redirect(_safe_next(request.args.get("next"), user))
        signin_throttle.count_failure(email)
        form.password.errors.append("E-mail or password not recognised.")
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.get("/home")
def home():
    """The signed-in person's own home (the public map for everyone else)."""
    if not current_user.is_authenticated:
        return redirect(url_for("public.index"))
    return redirect(home_for(current_user))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:  # revoke on the server: a copied cookie dies too
        end_sessions(current_user)
        get_session().commit()
    logout_user()
    search_store.forget(session)  # a client's search never outlives the sign-in
    flash("You are signed out.")
    return redirect(url_for("public.index"))
