"""The `assetmap` command: real runs against each backend, and one-line errors."""

import json
import subprocess
import sys

from assetmap.cli import main
from tests.conftest import FIXTURES


def test_demo_load_export_import(runner, app, tmp_path):
    result = runner.invoke(main, ["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "72 demo activities" in result.output
    out = tmp_path / "all.geojson"
    result = runner.invoke(main, ["export", "--format", "geojson", "-o", str(out)])
    assert result.exit_code == 0
    assert len(json.loads(out.read_text())["features"]) == 72
    result = runner.invoke(main, ["import", str(out)])
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == ("0 created, 0 updated, 72 unchanged, "
                                                      "0 rejected")


def test_import_with_bad_rows_exits_3_and_reports_them(runner, app):
    result = runner.invoke(main, ["import", str(FIXTURES / "import" / "mixed.csv")])
    assert result.exit_code == 3
    assert "row 4: rejected" in result.output
    assert "3 created, 0 updated, 0 unchanged, 5 rejected" in result.output


def test_user_add_and_bad_role(runner, app):
    ok = runner.invoke(main, ["user", "add", "--email", "a@example.org", "--role",
                              "coordinator", "--password", "a long password"])
    assert ok.exit_code == 0 and "coordinator" in ok.output
    again = runner.invoke(main, ["user", "add", "--email", "a@example.org", "--role",
                                 "coordinator", "--password", "a long password"])
    assert again.exit_code == 2
    assert again.output.strip() == "error: email: a user with e-mail a@example.org already exists"


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assetmap", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_bad_database_url_is_one_line(tmp_path):
    import os

    env = dict(os.environ, ASSETMAP_DATABASE_URL="not a url at all")
    result = run_cli("db", "upgrade", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "ASSETMAP_DATABASE_URL" in result.stderr and "not a database URL" in result.stderr


def test_missing_spatialite_is_one_line(tmp_path):
    import os

    env = dict(os.environ, ASSETMAP_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}",
               SPATIALITE_LIBRARY_PATH="/nonexistent/mod_spatialite")
    result = run_cli("db", "upgrade", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "libsqlite3-mod-spatialite" in result.stderr


def test_unreachable_postgres_is_one_line():
    import os

    env = dict(os.environ,
               ASSETMAP_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = run_cli("db", "upgrade", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "cannot connect to the database" in result.stderr


def test_network_build_match_and_errors(runner, app, tmp_path):
    from assetmap.config import PROJECT_ROOT

    assert runner.invoke(main, ["demo", "load"]).exit_code == 0
    built = runner.invoke(main, ["network", "build", "--osm",
                                 str(PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"),
                                 "--name", "camden"])
    assert built.exit_code == 0 and "network 'camden' built" in built.output
    cache = sorted((tmp_path / "networks").iterdir())
    before = [p.stat().st_mtime_ns for p in cache]

    not_osm = tmp_path / "notes.osm.pbf"
    not_osm.write_text("this is not OpenStreetMap data")
    failed = runner.invoke(main, ["network", "build", "--osm", str(not_osm), "--name",
                                  "camden"])
    assert failed.exit_code == 2
    assert failed.output.startswith("error: --osm:") and failed.output.count("\n") == 1
    assert [p.stat().st_mtime_ns for p in sorted((tmp_path / "networks").iterdir())] == before

    found = runner.invoke(main, ["match", "--postcode", "NW1 2DB", "--minutes", "15",
                                 "--pace", "slow", "--json"])
    assert found.exit_code == 0, found.output
    body = json.loads(found.output)
    assert body["matches"] and all(m["walk_minutes"] <= 15 for m in body["matches"])

    for args, field in ((["--postcode", "ZZ1 1ZZ"], "postcode"),
                        (["--postcode", "NW1 2DB", "--minutes", "90"], "minutes"),
                        (["--postcode", "NW1 2DB", "--pace", "run"], "pace")):
        bad = runner.invoke(main, ["match", *args])
        assert bad.exit_code == 2 and bad.output.startswith(f"error: {field}:")
