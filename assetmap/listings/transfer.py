"""Spreadsheet import and export (CSV and GeoJSON), round-tripping.

Coordinators keep their lists in spreadsheets. Each row is validated and applied inside its
own savepoint, so a bad row is rejected with its number and reason while the rest import and
nothing already stored is damaged. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap import values, vocab
from assetmap.errors import AssetMapError, ScheduleError, ValidationError
from assetmap.listings.changes import Actor, apply_changes, create_activity
from assetmap.listings.query import ActivityFilter, find_activities
from assetmap.listings.service_area import check_remote_area, resolve_areas
from assetmap.listings.venues import find_or_create_venue
from assetmap.listings.verification import record_verification
from assetmap.models import Activity, Organisation, VerificationEvent
from assetmap.params import id_param
from assetmap.places.geocode import parse_lat_lon
from assetmap.schedule import ScheduleRule, describe_all, parse_schedule
from assetmap.values import cost_as_typed, from_spreadsheet_cell, parse_cost, strip_controls

COLUMNS: tuple[str, ...] = (
    "id", "name", "category", "description", "organisation", "venue_name", "address",
    "postcode", "lat", "lon", "schedule", "cost", "tags", "contact_email", "contact_phone",
    "contact_url", "status", "last_verified_at", "verified_method",
    "intake", "languages", "interpreter", "mode", "service_area", "join_how",
)
COLUMN_HELP = {
    "id": "AssetMap id, to update a listing exported earlier (leave empty for new ones)",
    "name": "the activity's name (required)",
    "category": "a category id or label, e.g. lunch-club or 'Tea dance' (required)",
    "description": "what happens, in plain words",
    "organisation": "the group or provider running it",
    "venue_name": "where it happens (required unless lat/lon or postcode are given)",
    "address": "street address of the venue",
    "postcode": "venue postcode; used to place it when lat/lon are empty",
    "lat": "latitude (WGS84), optional", "lon": "longitude (WGS84), optional",
    "schedule": "e.g. 'Tuesdays 10:00-12:00', 'first Monday 14:00-16:00'; several joined "
                "with ';'",
    "cost": "'free', an amount like '£3.50', or 'small fee'",
    "tags": "suitability tags separated by ';', e.g. 'step-free; drop-in'",
    "contact_email": "", "contact_phone": "", "contact_url": "",
    "status": "active (default), paused, ended or pending",
    "last_verified_at": "date the listing was last checked, e.g. 2026-10-01",
    "verified_method": "how it was checked: " + ", ".join(vocab.VERIFICATION_METHODS),
    "intake": "taking newcomers: open, few-places, full or waiting-list (empty: not said)",
    "languages": "language codes or names separated by ';', e.g. 'en; so; bsl'",
    "interpreter": "yes if an interpreter can come, no if not (empty: not said)",
    "mode": "in-person (default), phone or online",
    "service_area": "for phone and online listings: ward or borough names or codes "
                    "separated by ';', or anywhere",
    "join_how": "for phone and online listings: the number or link, and when",
}
IMPORT_ACTOR_TYPE = "import"


@dataclass
class RowResult:
    row: int
    outcome: str  # created / updated / unchanged / rejected
    name: str | None = None
    activity_id: int | None = None
    reason: str | None = None
    changed: list[str] = field(default_factory=list)
    # A rejected row's column and the problem without it (the web says the column in words).
    column: str | None = None
    problem: str | None = None

    def line(self) -> str:
        what = f"row {self.row}: {self.outcome}"
        if self.name:
            what += f" {self.name!r}"
        if self.activity_id:
            what += f" (id {self.activity_id})"
        if self.changed:
            what += f" [{', '.join(self.changed)}]"
        if self.reason:
            what += f": {self.reason}"
        return what


@dataclass
class ImportReport:
    rows: list[RowResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    def summary(self) -> str:
        return ", ".join(f"{self.count(o)} {o}" for o in ("created", "updated", "unchanged",
                                                          "rejected"))

    def to_dict(self) -> dict:
        return {"summary": {o: self.count(o) for o in ("created", "updated", "unchanged",
                                                       "rejected")},
                "rows": [r.__dict__ for r in self.rows]}


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number as a person counts it, fields) from a CSV or GeoJSON file."""
    return parse_rows(path.name, path.read_bytes())


def parse_rows(name: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a CSV or GeoJSON file's bytes (the CLI's file, the web's upload): all read
    before any is applied, so a bad file (wrong type, no header, unknown columns) changes
    nothing. `name` gives the type by its ending and names the file in errors."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise ValidationError("file", f"import takes .csv or .geojson files, not {name}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("file", f"{name} is not a text file (CSV or GeoJSON saved as "
                                      "UTF-8)") from None
    if not text.strip():
        raise ValidationError("file", f"{name} is empty")
    return _csv_rows(name, text) if suffix == ".csv" else _geojson_rows(name, text)


def _csv_rows(name: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = [strip_controls(f or "").strip().lower() for f in reader.fieldnames or ()]
    if "name" not in headers:
        raise ValidationError("file", f"{name} has no 'name' column in its first row (the "
                                      "header row of column names is missing or wrong)",
                              allowed=list(COLUMNS))
    unknown = [h for h in headers if h and h not in COLUMNS]
    if unknown:
        raise ValidationError("file", f"{name} has columns AssetMap does not know: "
                                      + ", ".join(repr(h) for h in unknown),
                              allowed=list(COLUMNS))
    return [(number, {strip_controls(k or "").strip().lower():
                      from_spreadsheet_cell(strip_controls(v or "").strip())
                      for k, v in row.items() if k and isinstance(v, str | None)})
            for number, row in enumerate(reader, start=2)]  # row 1 is the header


def _geojson_rows(name: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("file", f"{name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationError("file", f"{name} is not a GeoJSON FeatureCollection")
    rows = []
    for number, feature in enumerate(data.get("features") or [], start=1):
        if not isinstance(feature, dict):
            raise ValidationError("file", f"{name}: feature {number} is not a JSON object")
        props = {strip_controls(k).lower(): strip_controls(v) if isinstance(v, str) else v
                 for k, v in (feature.get("properties") or {}).items()}
        geometry = feature.get("geometry") or {}
        if geometry.get("type") == "Point":
            coords = geometry.get("coordinates") or [None, None]
            props["lon"], props["lat"] = coords[0], coords[1]
        if isinstance(props.get("tags"), list):
            props["tags"] = ";".join(props["tags"])
        rows.append((number, props))
    return rows


def _date(raw: str, column: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError(column, f"{raw!r} is not a date like 2026-10-01") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def row_to_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Listing fields from one spreadsheet row (venue handled apart)."""
    fields: dict[str, Any] = {}
    for column in ("name", "category", "description", "contact_email", "contact_phone",
                   "contact_url", "status"):
        if row.get(column) not in (None, ""):
            fields[column] = str(row[column])
    # The same checks as the API, quick edit and suggestions: one per value.
    for column, check in _CHECKS.items():
        if fields.get(column):
            fields[column] = check(fields[column], column)
    if not fields.get("name"):
        raise ValidationError("name", "is required")
    if not fields.get("category"):
        raise ValidationError("category", "is required", allowed=sorted(vocab.CATEGORY_IDS))
    if row.get("schedule"):
        try:
            rules = parse_schedule(str(row["schedule"]))
        except ScheduleError as exc:
            raise ValidationError("schedule", exc.message) from None
        fields["schedules"] = rules
    cost = str(row.get("cost") or "")
    if cost.strip():  # a blank cell leaves the cost as it is
        fields.update(parse_cost(cost))
    if row.get("tags"):
        fields["tags"] = [t for t in re.split(r"[;|]", str(row["tags"])) if t.strip()]
    for column in ("intake", "languages", "interpreter", "mode"):  # checked by validate_fields
        if row.get(column) not in (None, "", []):
            fields[column] = row[column]
    if row.get("join_how") not in (None, ""):
        fields["join_how"] = values.clean_text(str(row["join_how"]), multiline=True)
    return fields


_CHECKS = {
    "name": lambda value, column: values.one_line(value, column, limit=300),
    "category": lambda value, column: values.one_line(value, column),
    "status": lambda value, column: values.one_line(value, column),
    "description": lambda value, column: values.clean_text(value, multiline=True),
    "contact_email": values.email, "contact_phone": values.phone, "contact_url": values.url,
}


def import_file(session: Session, path: Path, *, data_dir: Path,
                actor: Actor | None = None) -> ImportReport:
    actor = actor or Actor(IMPORT_ACTOR_TYPE, f"import of {path.name}")
    return import_rows(session, read_rows(path), data_dir=data_dir, actor=actor)


def import_rows(session: Session, rows: Sequence[tuple[int, dict[str, Any]]], *,
                data_dir: Path, actor: Actor, check_only: bool = False) -> ImportReport:
    """Apply each row in its own savepoint. `check_only` applies the whole set inside one
    more savepoint and rolls it back: the report is what importing would do (a later row
    that matches an earlier new one counts as an update, as it would), and nothing stays."""
    if not check_only:
        return _apply_rows(session, rows, data_dir=data_dir, actor=actor)
    everything = session.begin_nested()
    try:
        return _apply_rows(session, rows, data_dir=data_dir, actor=actor)
    finally:
        everything.rollback()


def _apply_rows(session: Session, rows: Sequence[tuple[int, dict[str, Any]]], *,
                data_dir: Path, actor: Actor) -> ImportReport:
    report = ImportReport()
    for number, row in rows:
        try:
            with session.begin_nested():
                result = _import_row(session, row, data_dir=data_dir, actor=actor)
        except (AssetMapError, ValueError, InvalidOperation) as exc:
            report.rows.append(RowResult(
                number, "rejected", row.get("name") or None, reason=str(exc),
                column=exc.field if isinstance(exc, ValidationError) else None,
                problem=exc.message if isinstance(exc, ValidationError) else str(exc)))
            continue
        result.row = number
        report.rows.append(result)
    return report


def _import_row(session: Session, row: dict[str, Any], *, data_dir: Path,
                actor: Actor) -> RowResult:
    fields = row_to_fields(row)
    if row.get("service_area") not in (None, "", []):
        fields["service_area"] = resolve_areas(session, row["service_area"])
    lat = lon = None
    if row.get("lat") not in (None, "") or row.get("lon") not in (None, ""):
        lat, lon = parse_lat_lon(row.get("lat"), row.get("lon"))
    venue = None
    if row.get("venue_name") or row.get("postcode") or lat is not None:
        venue = find_or_create_venue(
            session, name=values.one_line(
                str(row.get("venue_name") or row.get("address") or fields["name"]),
                "venue_name", limit=300),
            address=values.bounded(str(row.get("address") or ""), "address", limit=500,
                                   multiline=True) or None,
            postcode=row.get("postcode") or None,
            lat=lat, lon=lon, data_dir=data_dir)
        fields["venue_id"] = venue.id
    if row.get("organisation"):
        fields["organisation_id"] = _organisation(
            session, values.one_line(str(row["organisation"]), "organisation", limit=300)).id
    verified = None
    if row.get("last_verified_at"):
        method = str(row.get("verified_method") or "imported")
        if method not in vocab.VERIFICATION_METHODS:
            raise ValidationError("verified_method", f"unknown method {method!r}",
                                  allowed=list(vocab.VERIFICATION_METHODS))
        verified = (_date(str(row["last_verified_at"]), "last_verified_at"), method)
    activity = _match(session, row, fields)
    _check_area(activity, fields)
    if activity is None:
        activity = create_activity(session, fields, actor)
        outcome, changed = "created", []
    else:
        records = apply_changes(session, activity, fields, actor)
        changed = [r.field for r in records]
        outcome = "updated" if records else "unchanged"
    if verified and not session.scalar(select(VerificationEvent.id).where(
            VerificationEvent.activity_id == activity.id,
            VerificationEvent.verified_at == verified[0],
            VerificationEvent.method == verified[1])):
        record_verification(session, activity, verified[1], actor, at=verified[0])
        if outcome == "unchanged":
            outcome, changed = "updated", ["verification"]
        elif outcome == "updated":
            changed.append("verification")
    session.flush()
    return RowResult(0, outcome, activity.name, activity.id, changed=changed)


def _check_area(activity: Activity | None, fields: dict[str, Any]) -> None:
    """A new or re-moded phone or online listing must say its area (older listings that
    never said one still export and re-import unchanged)."""
    mode = fields.get("mode", activity.mode if activity else None)
    area = fields.get("service_area", activity.service_area if activity else None)
    if activity is None or mode != activity.mode or area != activity.service_area:
        check_remote_area(mode, area)


def _organisation(session: Session, name: str) -> Organisation:
    found = session.scalar(select(Organisation).where(
        func.lower(Organisation.name) == name.strip().lower()))
    if found is None:
        found = Organisation(name=name.strip())
        session.add(found)
        session.flush()
    return found


def _match(session: Session, row: dict[str, Any], fields: dict[str, Any]) -> Activity | None:
    if row.get("id"):
        activity = session.get(Activity, id_param(row["id"], "id"))
        if activity is None:
            raise ValidationError("id", f"no listing with id {row['id']}; leave id empty "
                                        "to create a new one")
        return activity
    stmt = select(Activity).where(func.lower(Activity.name) == fields["name"].lower())
    if "venue_id" in fields:
        stmt = stmt.where(Activity.venue_id == fields["venue_id"])
    return session.scalars(stmt.order_by(Activity.id)).first()


# -- export --------------------------------------------------------------------------------

def export_rows(session: Session, flt: ActivityFilter | None = None) -> list[dict[str, Any]]:
    """One dict per listing with the import columns. Public data only: no private notes."""
    flt = flt or ActivityFilter(statuses=vocab.ACTIVITY_STATUSES)
    rows = []
    for activity, lat, lon in find_activities(session, flt):
        venue = activity.venue
        rows.append({
            "id": activity.id, "name": activity.name, "category": activity.category,
            "description": activity.description or "",
            "organisation": activity.organisation.name if activity.organisation else "",
            "venue_name": venue.name if venue else "",
            "address": (venue.address or "") if venue else "",
            "postcode": (venue.postcode or "") if venue else "",
            "lat": "" if lat is None else round(lat, 7),
            "lon": "" if lon is None else round(lon, 7),
            "schedule": describe_all(ScheduleRule.from_dict(r.rule)
                                     for r in activity.schedule_rows),
            "cost": cost_as_typed(activity), "tags": ";".join(activity.tags),
            "contact_email": activity.contact_email or "",
            "contact_phone": activity.contact_phone or "",
            "contact_url": activity.contact_url or "", "status": activity.status,
            "last_verified_at": activity.last_verified_at.isoformat()
            if activity.last_verified_at else "",
            "verified_method": activity.last_verified_method or "",
            "intake": activity.intake or "", "languages": ";".join(activity.languages or ()),
            "interpreter": "" if activity.interpreter is None
            else "yes" if activity.interpreter else "no",
            "mode": activity.mode or "in-person",
            "service_area": ";".join(activity.service_area or ()),
            "join_how": activity.join_how or "",
        })
    return rows


def to_geojson_text(rows: Sequence[dict[str, Any]]) -> str:
    """The GeoJSON file as the CLI writes it and the web downloads it."""
    return json.dumps(to_geojson(rows), indent=1, ensure_ascii=False)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: values.spreadsheet_cell(v) for k, v in row.items()})
    return out.getvalue()


def to_geojson(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    features = []
    for row in rows:
        props = {k: v for k, v in row.items() if k not in ("lat", "lon")}
        props["tags"] = [t for t in row["tags"].split(";") if t]
        for column in ("languages", "service_area"):
            props[column] = [c for c in row.get(column, "").split(";") if c]
        geometry = ({"type": "Point", "coordinates": [row["lon"], row["lat"]]}
                    if row["lat"] != "" else None)
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features}
