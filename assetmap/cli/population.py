"""`assetmap areas population FILE`: ward populations (ONS mid-year estimates)."""

from __future__ import annotations

from pathlib import Path

import click

from assetmap.cli import app_from_env, main
from assetmap.coordination.population import import_population
from assetmap.db import session_scope
from assetmap.errors import ValidationError


def _areas_group() -> click.Group:
    """The `areas` group, shared with the boundary commands if they are registered first."""
    existing = main.commands.get("areas")
    if isinstance(existing, click.Group):
        return existing

    @main.group("areas")
    def areas() -> None:
        """Wards and boroughs."""

    return areas


@_areas_group().command("population")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--code-field", help="The column with the area codes (default: found by name).")
@click.option("--population-field", help="The column with the people (default: Total, "
                                         "All Ages or Population).")
def areas_population(file: Path, code_field: str | None, population_field: str | None) -> None:
    """Set each area's population from an ONS mid-year estimates CSV (by area code)."""
    if not file.exists():
        raise ValidationError("FILE", f"{file} does not exist")
    with session_scope(app_from_env()) as session:
        report = import_population(session, file, code_field=code_field,
                                   population_field=population_field)
    click.echo(report.words())
