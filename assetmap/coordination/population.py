"""Ward populations from the ONS mid-year estimates (a CSV saved from the published table),
so coverage gaps can be weighed by how many people live there."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.errors import ValidationError
from assetmap.models import Area

# "Ward 2023 Code", "WD23CD", "LAD 2023 Code", "Code", "Area code", "geography code"
CODE_RE = re.compile(r"^((ward|lad|area|geography)\s*(\d{2,4})?\s*code|wd\d{2}cd|lad\d{2}cd|code)$",
                     re.IGNORECASE)
# "Total", "All Ages", "All ages", "Population", "Mid-2022 population"
POP_RE = re.compile(r"^(total|all\s*ages|(mid-?\d{4}\s*)?population)$", re.IGNORECASE)


@dataclass(frozen=True)
class PopulationReport:
    updated: int
    unknown: list[str]
    rows: int

    def words(self) -> str:
        text = f"population set for {self.updated} areas from {self.rows} rows"
        if self.unknown:
            some = ", ".join(self.unknown[:5]) + (" …" if len(self.unknown) > 5 else "")
            text += f"; {len(self.unknown)} codes are not areas here ({some})"
        return text


def _column(header: list[str], wanted: str | None, pattern: re.Pattern, what: str,
            path: Path) -> int:
    names = [h.strip() for h in header]
    if wanted:
        if wanted not in names:
            raise ValidationError("FILE", f"{path.name} has no column {wanted!r}")
        return names.index(wanted)
    for i, name in enumerate(names):
        if pattern.match(name):
            return i
    raise ValidationError("FILE", f"{path.name} has no {what} column (looked for e.g. "
                          f"{'Ward 2023 Code' if what == 'area code' else 'Total'}; "
                          f"name it with --{what.split()[-1]}-field)")


def import_population(session: Session, path: Path, *, code_field: str | None = None,
                      population_field: str | None = None) -> PopulationReport:
    """Set `areas.population` by code; every bad row is named; nothing changes on error."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("FILE", f"{path.name} is not a UTF-8 CSV file (save the ONS "
                                      "table as CSV first)") from None
    reader = csv.reader(io.StringIO(text))
    # The ONS tables put a few lines of notes above the header: skip to the header row.
    header: list[str] | None = None
    for row in reader:
        if any(CODE_RE.match(c.strip()) for c in row) or (code_field and code_field in row):
            header = row
            break
    if header is None:
        raise ValidationError("FILE", f"{path.name} has no area code column (looked for e.g. "
                                      "Ward 2023 Code; name it with --code-field)")
    code_at = _column(header, code_field, CODE_RE, "area code", path)
    pop_at = _column(header, population_field, POP_RE, "population", path)
    wanted: dict[str, int] = {}
    rows = 0
    for line, row in enumerate(reader, start=2):
        if len(row) <= max(code_at, pop_at) or not row[code_at].strip():
            continue
        rows += 1
        raw = row[pop_at].strip().replace(",", "")
        if not raw.isdigit():
            raise ValidationError("FILE", f"{path.name} row {line}: population {raw!r} is not "
                                          "a whole number")
        wanted[row[code_at].strip()] = int(raw)
    areas = {a.code: a for a in session.scalars(select(Area).where(
        Area.code.in_(list(wanted))))} if wanted else {}
    for code, people in wanted.items():
        if code in areas:
            areas[code].population = people
    session.flush()
    return PopulationReport(len(areas), sorted(c for c in wanted if c not in areas), rows)
