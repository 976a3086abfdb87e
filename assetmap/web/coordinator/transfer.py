"""/coordinator/transfer: import and export listings from the web, as `assetmap import` and
`assetmap export` do (the same rows, checks and errors: listings/transfer.py).

Import is two steps. "Check" parses the upload and applies it inside a rolled-back
savepoint, so the coordinator sees what would happen and nothing is stored. The checked bytes
wait on the server under a random token bound to the coordinator for PENDING_FOR; "Import
these listings" applies exactly those bytes. (A second upload would make the coordinator
choose the file again, since browsers cannot refill a file field, and could import a file
other than the one that was checked.)
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Response, current_app, render_template, request
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from assetmap import vocab
from assetmap.connector.session import actor_for
from assetmap.db import get_session
from assetmap.errors import ValidationError
from assetmap.listings.field_words import field_words
from assetmap.listings.query import ActivityFilter
from assetmap.listings.transfer import (
    COLUMN_HELP,
    COLUMNS,
    ImportReport,
    RowResult,
    export_rows,
    import_rows,
    parse_rows,
    to_csv,
    to_geojson_text,
)
from assetmap.values import size_words
from assetmap.web.auth import role_required
from assetmap.web.coordinator import bp
from assetmap.web.suggest import too_large as too_large_elsewhere

PENDING_FOR = 30 * 60  # seconds a checked file waits for "Import these listings"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_KINDS = {".csv": "csv", ".geojson": "geojson", ".json": "geojson"}
LABELS = {"file": "File to import"}


def _page(*, status: int = 200, errors: dict[str, str] | None = None,
          report: ImportReport | None = None, done: bool = False, token: str | None = None,
          file_name: str = "") -> tuple[str, int]:
    return render_template(
        "coordinator/transfer.html", categories=vocab.CATEGORIES, errors=errors or {},
        labels=LABELS, report=report, done=done, token=token, file_name=file_name,
        row_words=row_words, field_words=field_words,
        columns=[(c, COLUMN_HELP.get(c, "")) for c in COLUMNS],
        limit_words=size_words(current_app.config.get("MAX_CONTENT_LENGTH")),
    ), status


def row_words(row: RowResult, file_name: str) -> str:
    """"Row 7, Cost: write 'free', an amount like …": where and what, the column in words."""
    where = ("Item" if _KINDS.get(Path(file_name).suffix.lower()) == "geojson" else "Row")
    what = f"{where} {row.row}"
    if row.column:
        what += f", {field_words(row.column)}"
    problem = row.problem or row.reason or "could not be read"
    return f"{what}: {problem}"


# -- export --------------------------------------------------------------------------------

@bp.get("/transfer")
@role_required("coordinator")
def transfer():
    return _page()


@bp.get("/transfer/listings.<any(csv, geojson):kind>")
@role_required("coordinator")
def transfer_export(kind: str):
    """Every listing (all statuses, as `assetmap export`), or one category's."""
    category = (request.args.get("category") or "").strip()
    flt = ActivityFilter.checked(categories=[category] if category else [], statuses=["all"])
    rows = export_rows(get_session(), flt)
    text = to_csv(rows) if kind == "csv" else to_geojson_text(rows)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"assetmap-listings{'-' + category if category else ''}-{stamp}.{kind}"
    mimetype = "text/csv" if kind == "csv" else "application/geo+json"
    return Response(text, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- import --------------------------------------------------------------------------------

def _pending_dir() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pending_path(token: str, kind: str) -> Path:
    """Bound to the signed-in coordinator: another person's token names no file of theirs."""
    if not _TOKEN.fullmatch(token) or kind not in ("csv", "geojson"):
        raise ValidationError("token", "this check is not known; choose the file again")
    return _pending_dir() / f"import-{current_user.id}-{token}.{kind}"


def _forget_old() -> None:
    cutoff = time.time() - PENDING_FOR
    for old in _pending_dir().glob("import-*"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


@bp.post("/transfer/check")
@role_required("coordinator")
def transfer_check():
    """Check only: what importing the file would do; nothing is saved."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(status=400, errors={"file": "Choose a CSV or GeoJSON file to import"})
    file_name = Path(upload.filename).name
    data = upload.read()
    session = get_session()
    try:
        rows = parse_rows(file_name, data)
    except ValidationError as exc:
        return _page(status=400, errors={"file": exc.message}, file_name=file_name)
    report = import_rows(session, rows, data_dir=current_app.config["DATA_DIR"],
                         actor=actor_for(current_user), check_only=True)
    session.rollback()
    _forget_old()
    token = secrets.token_urlsafe(24)
    kind = _KINDS[Path(file_name).suffix.lower()]
    _pending_path(token, kind).write_bytes(data)
    return _page(report=report, token=f"{token}.{kind}", file_name=file_name)


@bp.post("/transfer/import")
@role_required("coordinator")
def transfer_import():
    """Import exactly the bytes that were checked, as the signed-in coordinator."""
    token, _, kind = (request.form.get("token") or "").partition(".")
    file_name = Path(request.form.get("file_name") or f"upload.{kind}").name
    path = _pending_path(token, kind)
    if not path.exists() or path.stat().st_mtime < time.time() - PENDING_FOR:
        path.unlink(missing_ok=True)
        return _page(status=400, errors={"file": "That check has expired or was already "
                                                 "imported: choose the file again"})
    session = get_session()
    report = import_rows(session, parse_rows(path.name, path.read_bytes()),
                         data_dir=current_app.config["DATA_DIR"], actor=actor_for(current_user))
    session.commit()
    path.unlink(missing_ok=True)
    return _page(report=report, done=True, file_name=file_name)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    """An upload over MAX_CONTENT_LENGTH comes back as this page saying so; any other
    coordinator page answers as the rest of the app does."""
    if request.endpoint == "coordinator.transfer_check":
        return _page(status=413, errors={"file": (
            f"The file is larger than {size_words(current_app.config.get('MAX_CONTENT_LENGTH'))}"
            ": split it into smaller files and import each")})
    return too_large_elsewhere(exc)

