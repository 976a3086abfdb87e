"""Postcode import and lookup at the full UK's size, on PostGIS and SpatiaLite.

A synthetic file in the ONS Postcode Directory's layout (all its columns, 2.7 million rows by
default) is imported by `import_postcodes` into a new database of each backend, in a child
process so its peak memory can be read. Figures printed:

- rows/s for the whole file, and for a parse-only pass over the same file (pandas reading the
  same columns in the same chunks, no database): the baseline of this run;
- peak memory growth of the import for the full file and for a tenth of it: equal figures mean
  memory stays flat whatever the file size;
- a second import of the same file (idempotent: nothing changes);
- geocoder lookups of random postcodes against the full table: p50 and p95.

Run: python bench/places.py [--rows 2700000] [--backends postgis,spatialite]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest import fresh_app  # noqa: E402
from sqlalchemy import text  # noqa: E402

from assetmap.db import session_scope  # noqa: E402
from assetmap.places.geocode import geocode_postcode  # noqa: E402
from assetmap.places.postcodes import CHUNK_ROWS, import_postcodes  # noqa: E402

_ONSPD = (  # the column order of the ONS Postcode Directory
    "pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,parish,usertype,oseast1m,osnrth1m,"
    "osgrdind,oshlthau,nhser,ctry,rgn,streg,pcon,eer,teclec,ttwa,pct,itl,statsward,oa01,casward,"
    "npark,lsoa01,msoa01,ur01ind,oac01,oa11,lsoa11,msoa11,wz11,sicbl,bua22,ru11ind,oac11,lat,"
    "long,lep1,lep2,pfa,imd,calncv,icb,oa21,lsoa21,msoa21")
ONSPD_COLUMNS = _ONSPD.split(",")
LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))  # the letters inward codes use
TARGET_S = 60.0  # the whole file on PostGIS
LOOKUPS = 2000


def postcodes(start: int, n: int) -> np.ndarray:
    """Unique, well-formed postcodes: area letters, district, sector, two unit letters."""
    i = np.arange(start, start + n)
    unit, rest = i % 400, i // 400
    sector, rest = rest % 10, rest // 10
    district, area = rest % 10, rest // 10
    first = np.array(list("ABCDEFGHJKLMNOPRSTUWY"))
    outward = (pd.Series(first[area // 21 % 21]) + pd.Series(first[area % 21])
               + pd.Series(district.astype(str)))
    inward = (pd.Series(sector.astype(str)) + pd.Series(LETTERS[unit // 20])
              + pd.Series(LETTERS[unit % 20]))
    return (outward + " " + inward).to_numpy()


def write_file(path: Path, rows: int, seed: int = 7) -> None:
    """The synthetic ONSPD CSV, written in chunks (1 in 10 postcodes terminated)."""
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        fh.write(",".join(ONSPD_COLUMNS) + "\n")
        for start in range(0, rows, 250_000):
            n = min(250_000, rows - start)
            pcds = postcodes(start, n)
            frame = pd.DataFrame({c: "" for c in ONSPD_COLUMNS}, index=range(n))
            frame["pcd"] = frame["pcd2"] = frame["pcds"] = pcds
            frame["dointr"] = "198001"
            frame["doterm"] = np.where(rng.random(n) < 0.1, "201505", "")
            frame["oslaua"] = "E09000" + pd.Series(rng.integers(1, 34, n)).astype(str).str.zfill(3)
            frame["osward"] = "E05000" + pd.Series(rng.integers(100, 999, n)).astype(str)
            frame["ctry"] = "E92000001"
            frame["lat"] = np.round(rng.uniform(50.5, 55.0, n), 6)
            frame["long"] = np.round(rng.uniform(-4.0, 1.5, n), 6)
            frame.to_csv(fh, header=False, index=False)


def parse_only(path: Path) -> float:
    """Seconds to read the same columns in the same chunks, without a database."""
    started = time.perf_counter()
    for _ in pd.read_csv(path, usecols=["pcds", "lat", "long", "doterm", "osward", "oslaua"],
                         dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
        pass
    return time.perf_counter() - started


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1e6


def _import_child(app, path: Path, out: mp.Queue) -> None:
    before = _rss_mb()
    started = time.perf_counter()
    with session_scope(app) as session:
        report = import_postcodes(session, path)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    out.put({"seconds": seconds, "stored": report.changed, "read": report.read,
             "peak_growth_mb": peak - before})


def import_in_child(app, path: Path) -> dict:
    """One import in a forked process, so its peak memory is its own."""
    from assetmap import db  # noqa: PLC0415 - the engine must not cross the fork

    db.dispose(app)
    queue: mp.Queue = mp.get_context("fork").Queue()
    child = mp.get_context("fork").Process(target=_import_child, args=(app, path, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def lookups(app, rows: int) -> tuple[float, float, float]:
    """p50 and p95 ms of geocoder lookups, and the p95 of a bare `SELECT 1` on the same
    connection (the round trip every query pays: the baseline of this run)."""
    rng = random.Random(3)
    wanted = postcodes(0, rows)[[rng.randrange(rows) for _ in range(LOOKUPS)]]
    timings, trips = [], []
    with session_scope(app) as session:
        for postcode in wanted:
            started = time.perf_counter()
            session.execute(text("SELECT 1")).scalar()
            trips.append(time.perf_counter() - started)
            started = time.perf_counter()
            geocode_postcode(str(postcode), app.config["DATA_DIR"], session)
            timings.append(time.perf_counter() - started)
    return (float(np.percentile(timings, 50) * 1e3), float(np.percentile(timings, 95) * 1e3),
            float(np.percentile(trips, 95) * 1e3))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_700_000)
    parser.add_argument("--backends", default="postgis,spatialite")
    parser.add_argument("--lookups-only", action="store_true",
                        help="Skip the import figures (the table is still loaded).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full, tenth = Path(tmp) / "onspd-full.csv", Path(tmp) / "onspd-tenth.csv"
        started = time.perf_counter()
        write_file(full, args.rows)
        print(f"synthetic ONSPD: {args.rows:,} rows, {full.stat().st_size / 1e6:,.0f} MB "
              f"(written in {time.perf_counter() - started:.0f} s)", flush=True)
        if not args.lookups_only:
            write_file(tenth, args.rows // 10)
            parse_s = parse_only(full)
            print(f"baseline, parse only (pandas, same columns and chunks): {parse_s:.1f} s, "
                  f"{args.rows / parse_s:,.0f} rows/s", flush=True)
        for backend in args.backends.split(","):
            if args.lookups_only:
                with fresh_app(backend) as app:
                    with session_scope(app) as session:
                        import_postcodes(session, full)
                    p50, p95, trip95 = lookups(app, args.rows)
                _print_lookups(backend, p50, p95, trip95)
                continue
            with fresh_app(backend) as app:
                small = import_in_child(app, tenth)
            with fresh_app(backend) as app:
                first = import_in_child(app, full)
                again = import_in_child(app, full)
                p50, p95, trip95 = lookups(app, args.rows)
            rate = first["read"] / first["seconds"]
            print(f"{backend}: import {first['seconds']:.1f} s, {rate:,.0f} rows/s "
                  f"({first['seconds'] / parse_s:.1f}x parse-only; target "
                  f"{TARGET_S:.0f} s on PostGIS), {first['stored']:,} new")
            print(f"{backend}: peak memory growth {first['peak_growth_mb']:.0f} MB for the "
                  f"whole file, {small['peak_growth_mb']:.0f} MB for a tenth "
                  f"(ratio {first['peak_growth_mb'] / max(small['peak_growth_mb'], 1):.2f})")
            print(f"{backend}: second import of the same file {again['seconds']:.1f} s "
                  f"({again['stored']:,} rows changed)")
            _print_lookups(backend, p50, p95, trip95)


def _print_lookups(backend: str, p50: float, p95: float, trip95: float) -> None:
    print(f"{backend}: lookup of {LOOKUPS} random postcodes: p50 {p50:.2f} ms, "
          f"p95 {p95:.2f} ms (target 1 ms); a bare SELECT 1: p95 {trip95:.2f} ms "
          f"(ratio {p95 / trip95:.1f})", flush=True)

if __name__ == "__main__":
    main()
