"""/account/set-password/<token>: the page a one-time link (invitation or reset) opens."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user

from assetmap.db import get_session
from assetmap.errors import ValidationError
from assetmap.people import accounts
from assetmap.people.users import MIN_PASSWORD

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    session = get_session()
    try:
        user = accounts.user_for_token(session, token, current_app.config["SECRET_KEY"])
    except accounts.LinkProblem as problem:
        return render_template("account/link_problem.html", problem=str(problem)), 400
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            accounts.set_password(session, user, request.form.get("password") or "",
                                  request.form.get("confirm") or "")
        except ValidationError as exc:
            errors[exc.field] = exc.message
        else:
            session.commit()
            login_user(user)
            flash("Your password is set and you are signed in.")
            return redirect(url_for("auth.home"))
    return render_template("account/set_password.html", person=user, errors=errors,
                           min_length=MIN_PASSWORD), 400 if errors else 200
