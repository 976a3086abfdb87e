"""Postcodes into the database: the ONS Postcode Directory / NSPL, OS Code-Point Open, or
points derived from an OpenStreetMap extract's addresses.

Files are streamed in chunks of rows (memory stays flat for the full UK's 2.7 million rows),
checked and converted a whole chunk at a time (pandas' C parser reading only the columns used,
pyproj on whole arrays, codes and dates converted once per distinct value), and written
set-wise: each chunk is bulk-loaded (COPY on PostgreSQL, into an UNLOGGED table; one
executemany on SQLite) into an unindexed staging table, and the whole file is then merged into
`postcodes` writing only rows new or different (see `_merge_postgres` for a first load, which
builds the indexes once after the rows are in). Everything happens in the caller's transaction,
so a file that turns out to be bad half way leaves the stored postcodes exactly as they were.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import IO, cast

import numpy as np
import osmium
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy import Column, MetaData, Table, func, select, text
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session

from assetmap.db import copy_csv
from assetmap.errors import ValidationError
from assetmap.models import Area, Postcode
from assetmap.places.geocode import MAX_SPREAD_M, normalise_postcode
from assetmap.places.networks import buffer_m
from assetmap.values import INWARD_CODE, OUTWARD_CODE

CHUNK_ROWS = 100_000
# Every UK postcode (with the Channel Islands and the Isle of Man, which ONSPD includes)
# lies in this box; a point outside it means the file is not what it claims to be.
UK_BOUNDS = (-8.9, 49.1, 2.0, 61.0)  # min lon, min lat, max lon, max lat
# ONSPD's placeholder for a postcode without a grid reference.
NO_GRID_LAT = 99.0
_COMPACT_RE = re.compile(rf"^{OUTWARD_CODE}{INWARD_CODE}$")  # the values rule, no space
_NORMAL_RE = re.compile(rf"{OUTWARD_CODE} {INWARD_CODE}")  # ... as stored: "NW1 2DB"
_SPACES_RE = re.compile(r"\s+")
# Column names used by ONSPD and NSPL releases over the years, in order of preference.
POSTCODE_COLUMNS = ("pcds", "pcd2", "pcd", "postcode")
LAT_COLUMNS = ("lat", "latitude")
LON_COLUMNS = ("long", "lon", "longitude")
TERMINATED_COLUMNS = ("doterm",)
WARD_COLUMNS = ("osward", "ward", re.compile(r"^wd\d\dcd$"))
DISTRICT_COLUMNS = ("oslaua", "laua", re.compile(r"^lad\d\dcd$"))
# OS Code-Point Open's header-less CSVs (Doc/Code-Point_Open_Column_Headers.csv).
CODEPOINT_COLUMNS = ("Postcode", "Positional_quality_indicator", "Eastings", "Northings",
                     "Country_code", "NHS_regional_HA_code", "NHS_HA_code", "Admin_county_code",
                     "Admin_district_code", "Admin_ward_code")


def _staging(prefix: str) -> Table:
    """The columns of `postcodes`, without its keys or indexes: rows on their way in."""
    return Table("postcode_load", MetaData(),
                 *(Column(c.name, c.type) for c in Postcode.__table__.columns), prefixes=[prefix])


_PG_STAGING = _staging("UNLOGGED")  # shared buffers, no WAL; dropped before commit
_SQLITE_STAGING = _staging("TEMPORARY")
_COLUMNS = [c.name for c in Postcode.__table__.columns]


@dataclass
class ImportReport:
    dataset: str
    read: int = 0  # data rows in the file
    kept: int = 0  # postcodes placed, inside the chosen area
    changed: int = 0  # of those, new or different from what was stored
    skipped_no_grid: int = 0
    skipped_outside: int = 0  # outside --within / --bbox
    skipped_invalid: int = 0  # not a well-formed postcode
    terminated: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.kept:,} postcodes from {self.dataset}, {self.changed:,} of them new "
                 f"or changed ({self.read:,} rows read"]
        if self.terminated:
            parts.append(f"{self.terminated:,} no longer in use")
        if self.skipped_outside:
            parts.append(f"{self.skipped_outside:,} outside the chosen area")
        if self.skipped_no_grid:
            parts.append(f"{self.skipped_no_grid:,} without a grid reference")
        if self.skipped_invalid:
            parts.append(f"{self.skipped_invalid:,} not valid postcodes")
        return ", ".join(parts) + ")"


@dataclass(frozen=True)
class Keep:
    """Which points to keep: inside an area's boundary and/or a box (lon/lat)."""

    polygon: shapely.Geometry | None = None
    bbox: tuple[float, float, float, float] | None = None

    def mask(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        keep = np.ones(len(lon), dtype=bool)
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = self.bbox
            keep &= (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)
        if self.polygon is not None:
            keep &= shapely.contains_xy(self.polygon, lon, lat)
        return keep


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """'min_lon,min_lat,max_lon,max_lat' (WGS84) -> a checked tuple."""
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not (values[0] < values[2] and values[1] < values[3]):
        raise ValidationError("--bbox", f"{raw!r}: give min_lon,min_lat,max_lon,max_lat, e.g. "
                              "-0.22,51.51,-0.10,51.58")
    return values


def keep_within(session: Session, area_code: str | None, bbox: str | None,
                *, margin_m: float = 0) -> Keep:
    """The --within AREA / --bbox choice, checked before any file is read."""
    polygon = None
    if area_code:
        wkb = session.scalar(select(func.ST_AsBinary(Area.geom)).where(Area.code == area_code))
        if wkb is None:
            raise ValidationError("--within", f"no area with the code {area_code!r}; see "
                                  "'assetmap place status' for the areas loaded")
        polygon = shapely.from_wkb(bytes(wkb))
        if margin_m:
            polygon = buffer_m(polygon, margin_m)
        shapely.prepare(polygon)
    return Keep(polygon=polygon, bbox=parse_bbox(bbox) if bbox else None)


# -- reading the files ---------------------------------------------------------------------

class _Counting(io.RawIOBase):
    """A binary stream that reports how many bytes have been read (for the progress bar)."""

    def __init__(self, raw: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        buffer[:len(data)] = data
        if self._progress and data:
            self._progress(len(data))
        return len(data)


@dataclass(frozen=True)
class _Member:
    """One CSV to read: a plain file or a member of a zip, and its uncompressed size."""

    path: Path
    member: str | None
    size: int

    def open(self) -> IO[bytes]:
        if self.member is None:
            return self.path.open("rb")
        return zipfile.ZipFile(self.path).open(self.member)

    def first_line(self) -> str:
        with self.open() as fh:
            return fh.readline(65536).decode("utf-8-sig", errors="replace").strip()


@dataclass(frozen=True)
class PostcodeFile:
    """What a file turned out to be: its layout, and the CSVs holding its rows."""

    path: Path
    dataset: str  # "ONSPD / NSPL" or "Code-Point Open"
    members: tuple[_Member, ...]
    columns: dict[str, str]  # our name -> the file's column (ONSPD layout only)

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)


def _find(header: list[str], wanted: tuple) -> str | None:
    lowered = {name.strip().lower(): name for name in header}
    for choice in wanted:
        if isinstance(choice, str):
            if choice in lowered:
                return lowered[choice]
        else:
            for name in lowered:
                if choice.match(name):
                    return lowered[name]
    return None


def _onspd_columns(header: list[str]) -> dict[str, str] | None:
    found = {"postcode": _find(header, POSTCODE_COLUMNS), "lat": _find(header, LAT_COLUMNS),
             "lon": _find(header, LON_COLUMNS)}
    if None in found.values():
        return None
    for key, wanted in (("terminated", TERMINATED_COLUMNS), ("ward", WARD_COLUMNS),
                        ("district", DISTRICT_COLUMNS)):
        name = _find(header, wanted)
        if name:
            found[key] = name
    return found  # type: ignore[return-value]


def _looks_like_codepoint(line: str) -> bool:
    cells = next(csv.reader([line]), [])
    return (len(cells) >= 4 and bool(_COMPACT_RE.match(re.sub(r"\s+", "", cells[0].upper())))
            and cells[2].strip().isdigit() and cells[3].strip().isdigit())


def inspect_file(path: Path) -> PostcodeFile:
    """Which published layout `path` is in; ValidationError naming the file otherwise."""
    where = str(path)
    if not path.is_file():
        raise ValidationError(where, "no such file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            csvs = [_Member(path, info.filename, info.file_size) for info in archive.infolist()
                    if info.filename.lower().endswith(".csv") and not info.is_dir()]
    elif path.suffix.lower() in (".csv", ".txt"):
        csvs = [_Member(path, None, path.stat().st_size)]
    else:
        raise ValidationError(where, "is neither a CSV file nor a zip of CSV files")
    # ONSPD/NSPL: the largest CSV with postcode and coordinate columns (the zip also holds
    # per-area copies and lookup tables).
    for member in sorted(csvs, key=lambda m: -m.size):
        header = next(csv.reader([member.first_line()]), [])
        columns = _onspd_columns(header)
        if columns:
            return PostcodeFile(path, "ONSPD / NSPL", (member,), columns)
    data = [m for m in csvs if m.size and _looks_like_codepoint(m.first_line())]
    if data:
        return PostcodeFile(path, "Code-Point Open", tuple(sorted(data, key=lambda m:
                                                                  m.member or "")), {})
    if not csvs:
        raise ValidationError(where, "the zip holds no CSV files")
    raise ValidationError(where, "no postcode and coordinate columns found: expected the ONS "
                          "Postcode Directory (columns pcds, lat, long) or OS Code-Point Open "
                          "(postcode, quality, eastings, northings)")


def _chunks(source: PostcodeFile, progress: Callable[[int], None] | None
            ) -> Iterator[pd.DataFrame]:
    """DataFrames of CHUNK_ROWS raw string rows with our column names (pandas' C parser,
    only the columns used, plain Python strings: the checks below run on them directly)."""
    for member in source.members:
        with member.open() as raw:
            stream = io.BufferedReader(_Counting(raw, progress), buffer_size=1 << 20)
            if source.dataset == "Code-Point Open":
                reader = pd.read_csv(stream, header=None, usecols=[0, 2, 3, 8, 9],
                                     names=list(CODEPOINT_COLUMNS), dtype=object,
                                     keep_default_na=False, chunksize=CHUNK_ROWS,
                                     encoding="utf-8-sig", encoding_errors="replace",
                                     engine="c")
                rename = {"Postcode": "postcode", "Eastings": "easting",
                          "Northings": "northing", "Admin_district_code": "district",
                          "Admin_ward_code": "ward"}
            else:
                rename = {v: k for k, v in source.columns.items()}
                reader = pd.read_csv(stream, usecols=list(source.columns.values()),
                                     dtype=object, keep_default_na=False,
                                     chunksize=CHUNK_ROWS, encoding="utf-8-sig",
                                     encoding_errors="replace", engine="c")
            try:
                for chunk in reader:
                    yield chunk.rename(columns=rename)
            except (pd.errors.ParserError, ValueError) as exc:
                raise ValidationError(str(source.path), f"cannot be read as CSV: "
                                      f"{str(exc).splitlines()[0]}") from None


_TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


def _normalised(raw: str) -> str | None:
    """'nw12db' -> 'NW1 2DB'; None for anything that is not a full postcode."""
    compact = _SPACES_RE.sub("", raw.upper())
    return f"{compact[:-3]} {compact[-3:]}" if _COMPACT_RE.match(compact) else None


@functools.lru_cache(maxsize=1024)  # bounded: a bad file could hold any text
def _month(raw: str) -> str | None:
    """ONSPD's 'YYYYMM' (doterm) as the first of that month, ISO; None if blank or not one."""
    try:
        return datetime.strptime(raw.strip(), "%Y%m").date().isoformat()
    except ValueError:
        return None


def _mapped(values: pd.Series, convert: Callable, missing: str | None = None) -> np.ndarray:
    """`convert` applied once per distinct value (codes and dates repeat a lot); a missing
    value (None) becomes `missing`."""
    codes, uniques = pd.factorize(values.to_numpy(object))
    return np.array([convert(u) for u in uniques] + [missing], dtype=object)[codes]


def _code(raw: str) -> str | None:
    return raw.strip() or None


@dataclass
class _Rows:
    """A checked chunk, column by column, in the table's terms (dates as ISO text)."""

    postcode: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    terminated: np.ndarray
    ward_code: np.ndarray
    district_code: np.ndarray

    def __len__(self) -> int:
        return len(self.postcode)

    def outward(self) -> list[str]:
        return [p[:-4] for p in self.postcode.tolist()]


def _prepare(chunk: pd.DataFrame, source: PostcodeFile, keep: Keep, report: ImportReport
             ) -> _Rows:
    """Checked rows in the table's columns; raises ValidationError for a file that is wrong.

    Published files already hold normalised postcodes ('NW1 2DB'), so one C-level match per
    row accepts them and only the others are rewritten; codes and dates are converted once
    per distinct value."""
    report.read += len(chunk)
    fast = _NORMAL_RE.fullmatch
    postcode = np.array([v if fast(v) else _normalised(v) for v in chunk["postcode"].tolist()],
                        dtype=object)
    valid = pd.notna(postcode)
    report.skipped_invalid += int((~valid).sum())
    if source.dataset == "Code-Point Open":
        easting = pd.to_numeric(chunk["easting"], errors="coerce").to_numpy(float)
        northing = pd.to_numeric(chunk["northing"], errors="coerce").to_numpy(float)
        placed = np.isfinite(easting) & np.isfinite(northing) & ((easting > 0) | (northing > 0))
        lon, lat = _TO_WGS84.transform(easting, northing)  # the whole chunk in one call
        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        terminated = np.full(len(chunk), None, dtype=object)
    else:
        lat = pd.to_numeric(chunk["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(chunk["lon"], errors="coerce").to_numpy(float)
        placed = np.isfinite(lat) & np.isfinite(lon) & (lat < NO_GRID_LAT)
        terminated = (_mapped(chunk["terminated"], _month) if "terminated" in chunk
                      else np.full(len(chunk), None, dtype=object))
    placed &= valid
    report.skipped_no_grid += int((valid & ~placed).sum())
    min_lon, min_lat, max_lon, max_lat = UK_BOUNDS
    outside = placed & ~((lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat)
                         & (lat <= max_lat))
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValidationError(str(source.path), f"{int(outside.sum()):,} postcodes lie outside "
                              f"the UK (e.g. {postcode[first]} at {lat[first]:.5f}, "
                              f"{lon[first]:.5f}): is this a UK postcode file?")
    wanted = placed & keep.mask(lon, lat)
    report.skipped_outside += int((placed & ~wanted).sum())
    # A postcode repeated within the chunk: the last one stands.
    wanted &= ~pd.Index(postcode).duplicated(keep="last")
    rows = _Rows(postcode[wanted], lat[wanted].round(6), lon[wanted].round(6),
                 terminated[wanted], _codes(chunk, "ward", wanted),
                 _codes(chunk, "district", wanted))
    report.terminated += int(pd.notna(rows.terminated).sum())
    return rows


def _codes(chunk: pd.DataFrame, name: str, wanted: np.ndarray) -> np.ndarray:
    if name not in chunk:
        return np.full(int(wanted.sum()), None, dtype=object)
    return _mapped(chunk[name], _code)[wanted]


# -- writing -------------------------------------------------------------------------------

def _begin_staging(session: Session) -> None:
    """An empty staging table. On PostgreSQL it is UNLOGGED (no WAL for rows that only pass
    through) and `postcodes` is locked against other imports, which would share its name;
    lookups still read the stored rows meanwhile."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("LOCK TABLE postcodes IN SHARE ROW EXCLUSIVE MODE"))
    connection.execute(text("DROP TABLE IF EXISTS postcode_load"))
    (_PG_STAGING if postgres else _SQLITE_STAGING).create(connection)


def _csv_cell(value: str | None) -> str:
    """A value for COPY's CSV: unquoted empty is NULL, anything awkward is quoted."""
    if value is None:
        return ""
    if value == "" or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _stage(session: Session, rows: _Rows, *, derived: bool, dataset: str) -> None:
    """A chunk into the (unindexed) staging table: COPY on PostgreSQL, of CSV text built
    column-wise (floats by repr, codes quoted once per distinct value); one executemany of
    plain tuples on SQLite."""
    if not len(rows):
        return
    lat, lon = rows.lat.tolist(), rows.lon.tolist()
    if session.get_bind().dialect.name == "postgresql":
        flag, name = ("true" if derived else "false"), _csv_cell(dataset)
        ward = _mapped(pd.Series(rows.ward_code), _csv_cell, "")
        district = _mapped(pd.Series(rows.district_code), _csv_cell, "")
        lines = zip(rows.postcode.tolist(), rows.outward(), map(repr, lat), map(repr, lon),
                    (t or "" for t in rows.terminated.tolist()), repeat(flag), repeat(name),
                    ward.tolist(), district.tolist(), strict=False)
        copy_csv(session, _PG_STAGING, _COLUMNS, "\n".join(map(",".join, lines)) + "\n")
        return
    placeholders = ", ".join("?" for _ in _COLUMNS)
    session.connection().exec_driver_sql(
        f"INSERT INTO postcode_load ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
        list(zip(rows.postcode.tolist(), rows.outward(), lat, lon, rows.terminated.tolist(),
                 repeat(derived), repeat(dataset), rows.ward_code.tolist(),
                 rows.district_code.tolist(), strict=False)))


def _merge(session: Session, *, official: bool) -> int:
    """Staged rows into `postcodes`: official rows replace anything; derived rows only fill
    gaps and replace other derived rows. Rows already as staged are not written at all, so
    importing the same file again writes nothing. Returns rows new or changed."""
    if session.get_bind().dialect.name == "postgresql":
        return _merge_postgres(session, official=official)
    names = ", ".join(_COLUMNS)
    others = [c for c in _COLUMNS if c != "postcode"]
    updates = ", ".join(f"{c} = excluded.{c}" for c in others)
    changed = " OR ".join(f"postcodes.{c} IS DISTINCT FROM excluded.{c}" for c in others)
    guard = f"({changed})" + ("" if official else " AND postcodes.derived")
    connection = session.connection()
    # A first load: the secondary indexes are built once afterwards, by sorting, instead of
    # taking millions of random inserts (which would want a page cache as big as the index;
    # with this, SQLite's default cache does and memory stays flat).
    first_load = (connection.exec_driver_sql("SELECT count(*) FROM postcode_load").scalar_one()
                  > connection.exec_driver_sql("SELECT count(*) FROM postcodes").scalar_one())
    rebuild = _drop_indexes(connection) if first_load else []
    # SQLite's DO UPDATE ... WHERE false leaves the row untouched; `WHERE true` is the
    # parser's price for INSERT ... SELECT ... ON CONFLICT.
    result = session.execute(text(f"INSERT INTO postcodes ({names}) SELECT {names} "
                                  f"FROM postcode_load WHERE true ON CONFLICT (postcode) "
                                  f"DO UPDATE SET {updates} WHERE {guard}"))
    for statement in rebuild:
        connection.exec_driver_sql(statement)
    return max(cast(CursorResult, result).rowcount, 0)


def _merge_postgres(session: Session, *, official: bool) -> int:
    """PostgreSQL: the staged rows that are new or differ, found by one hash join, go in by
    INSERT ... ON CONFLICT DO UPDATE; unchanged rows never reach it (DO UPDATE would lock,
    and so write, every existing row even when nothing changed).

    When the new rows outnumber the stored ones (a first load) the changed rows are updated,
    the table's indexes and primary key are dropped, the new rows appended, and the indexes
    built once afterwards (sorted builds, not millions of single inserts), from their own
    definitions so the migrations stay their only home. Lookups wait for this import to
    commit meanwhile. Either way the planner's statistics are refreshed after a big change,
    so the first lookups after an import use the indexes."""
    connection = session.connection()
    connection.execute(text("SET LOCAL work_mem = '256MB'"))
    connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    connection.execute(text("ANALYZE postcode_load"))
    names = ", ".join(f"s.{c}" for c in _COLUMNS)
    others = [c for c in _COLUMNS if c != "postcode"]

    def differs(old: str, new: str) -> str:  # derived rows replace only derived rows
        return ("(" + " OR ".join(f"{old}.{c} IS DISTINCT FROM {new}.{c}" for c in others)
                + ")" + ("" if official else f" AND {old}.derived"))

    stored = connection.execute(text("SELECT count(*) FROM postcodes")).scalar_one()
    staged = connection.execute(text("SELECT count(*) FROM postcode_load")).scalar_one()
    # One row per postcode (a file could repeat one), in key order.
    new_or_changed = (f"SELECT DISTINCT ON (s.postcode) {names} FROM postcode_load AS s "
                      "LEFT JOIN postcodes AS p ON p.postcode = s.postcode "
                      "WHERE p.postcode IS NULL OR {where} ORDER BY s.postcode")
    if staged <= stored:
        updates = ", ".join(f"{c} = excluded.{c}" for c in others)
        result = connection.execute(text(
            f"INSERT INTO postcodes ({', '.join(_COLUMNS)}) "
            f"{new_or_changed.format(where=differs('p', 's'))} ON CONFLICT (postcode) "
            f"DO UPDATE SET {updates} WHERE {differs('postcodes', 'excluded')}"))
        changed = max(result.rowcount, 0)
    else:
        updated = connection.execute(text(
            f"UPDATE postcodes AS p SET {', '.join(f'{c} = s.{c}' for c in others)} "
            f"FROM postcode_load AS s WHERE p.postcode = s.postcode AND {differs('p', 's')}")
        ).rowcount
        rebuild = _drop_indexes(connection)
        inserted = connection.execute(text(
            f"INSERT INTO postcodes ({', '.join(_COLUMNS)}) "
            f"{new_or_changed.format(where='false')}")).rowcount
        for statement in rebuild:
            connection.execute(text(statement))
        changed = max(updated, 0) + max(inserted, 0)
    if changed > stored // 10:
        connection.execute(text("ANALYZE postcodes"))
    connection.execute(text("SET LOCAL work_mem TO DEFAULT"))
    connection.execute(text("SET LOCAL maintenance_work_mem TO DEFAULT"))
    return changed


def _drop_indexes(connection: Connection) -> list[str]:
    """Drops the indexes of `postcodes` (and on PostgreSQL its primary key, which SQLite
    cannot drop); returns the statements that make them again, read from the catalogue."""
    if connection.dialect.name == "sqlite":
        indexes = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'postcodes' AND sql IS NOT NULL").all()
        for name, _ in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        return [definition for _, definition in indexes]
    key = connection.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'postcodes'::regclass AND contype = 'p'")).one()
    indexes = connection.execute(text(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index AS x "
        "JOIN pg_class AS i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = 'postcodes'::regclass AND NOT x.indisprimary")).all()
    for name, _ in indexes:
        connection.execute(text(f'DROP INDEX "{name}"'))
    connection.execute(text(f'ALTER TABLE postcodes DROP CONSTRAINT "{key[0]}"'))
    return ([f'ALTER TABLE postcodes ADD CONSTRAINT "{key[0]}" {key[1]}']
            + [definition for _, definition in indexes])


def _end_staging(session: Session) -> None:
    session.connection().execute(text("DROP TABLE IF EXISTS postcode_load"))


def _store(session: Session, chunks: Iterator[_Rows], *, official: bool, dataset: str) -> int:
    """Chunks staged then merged in one statement per kind of change; returns rows changed."""
    _begin_staging(session)
    for rows in chunks:
        _stage(session, rows, derived=not official, dataset=dataset)
    changed = _merge(session, official=official)
    _end_staging(session)
    return changed


def import_postcodes(session: Session, path: Path, *, keep: Keep | None = None,
                     progress: Callable[[int], None] | None = None) -> ImportReport:
    """Every postcode in an ONSPD/NSPL or Code-Point Open file, merged by postcode.

    Idempotent: importing the same file again changes nothing. Raises ValidationError (the
    caller's transaction then rolls back) for a file that is not a UK postcode file.
    """
    source = inspect_file(Path(path))
    keep = keep or Keep()
    report = ImportReport(source.dataset)

    def checked() -> Iterator[_Rows]:
        for chunk in _chunks(source, progress):
            rows = _prepare(chunk, source, keep, report)
            report.kept += len(rows)
            yield rows

    report.changed = _store(session, checked(), official=True, dataset=source.dataset)
    if report.read == 0:
        raise ValidationError(str(path), "holds no postcode rows")
    return report


# -- derived from OpenStreetMap ------------------------------------------------------------

class _AddressPoints(osmium.SimpleHandler):
    """Points of everything tagged addr:postcode (ways at the mean of their nodes)."""

    def __init__(self) -> None:
        super().__init__()
        self.postcodes: list[str] = []
        self.lats: list[float] = []
        self.lons: list[float] = []

    def _add(self, postcode: str, lat: float, lon: float) -> None:
        self.postcodes.append(postcode)
        self.lats.append(lat)
        self.lons.append(lon)

    def node(self, n) -> None:
        if "addr:postcode" in n.tags and n.location.valid():
            self._add(n.tags["addr:postcode"], n.location.lat, n.location.lon)

    def way(self, w) -> None:
        if "addr:postcode" not in w.tags:
            return
        points = [(nd.lat, nd.lon) for nd in w.nodes if nd.location.valid()]
        if points:
            self._add(w.tags["addr:postcode"], sum(p[0] for p in points) / len(points),
                      sum(p[1] for p in points) / len(points))


@dataclass(frozen=True)
class DerivedPoint:
    postcode: str
    lat: float
    lon: float
    spread_m: float  # the farthest address from the mean


def derive_points(osm_path: Path) -> list[DerivedPoint]:
    """A point per postcode from the addresses that carry it; points whose addresses are
    spread wider than MAX_SPREAD_M (mistyped tags) are left out."""
    handler = _AddressPoints()
    try:
        handler.apply_file(str(osm_path), locations=True)
    except RuntimeError as exc:
        raise ValidationError(str(osm_path), f"cannot be read as OpenStreetMap data: {exc}"
                              ) from None
    groups: dict[str, list[int]] = {}
    for index, raw in enumerate(handler.postcodes):
        try:
            postcode = normalise_postcode(raw)
        except ValidationError:
            continue
        if " " in postcode:
            groups.setdefault(postcode, []).append(index)
    lats, lons = np.asarray(handler.lats), np.asarray(handler.lons)
    points = []
    for postcode, indexes in sorted(groups.items()):
        lat, lon = float(lats[indexes].mean()), float(lons[indexes].mean())
        dy = (lats[indexes] - lat) * 111_195
        dx = (lons[indexes] - lon) * 111_195 * np.cos(np.radians(lat))
        spread = float(np.sqrt(dx * dx + dy * dy).max())
        if spread <= MAX_SPREAD_M:
            points.append(DerivedPoint(postcode, round(lat, 6), round(lon, 6), spread))
    return points


def store_derived(session: Session, points: list[DerivedPoint], *, dataset: str) -> int:
    """Derived points into the table; published (official) rows are never replaced."""
    none = np.full(len(points), None, dtype=object)
    rows = _Rows(np.array([p.postcode for p in points], dtype=object),
                 np.array([p.lat for p in points], dtype=float),
                 np.array([p.lon for p in points], dtype=float), none, none, none)
    return _store(session, iter([rows]), official=False, dataset=dataset)

