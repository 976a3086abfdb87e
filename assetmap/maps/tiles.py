"""The basemap: vector tiles built from a deployment's own OpenStreetMap extract, and served.

tilemaker (a Debian package) turns the ``.osm.pbf`` into an MBTiles file with the small profile
beside this module (``profile.lua`` chooses features, ``config.json`` the layers and zooms). An
MBTiles file is one SQLite database, so reading a tile is one indexed lookup and every web
worker can open it read-only at once.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import osmium

from assetmap.errors import MissingProgram, ValidationError
from assetmap.walking.registry import NAME

PROFILE = Path(__file__).with_name("profile.lua")
LAYER_CONFIG = Path(__file__).with_name("config.json")
SUFFIX = ".mbtiles"
# The layers the profile writes, in drawing order; tests and the browser style name them.
LAYERS = ("water", "waterway", "green", "buildings", "rail", "roads", "transit", "landmarks")


@dataclass(frozen=True)
class Tileset:
    name: str
    path: Path
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]  # west, south, east, north
    size_bytes: int

    def to_dict(self) -> dict:
        return {"name": self.name, "minzoom": self.minzoom, "maxzoom": self.maxzoom,
                "bounds": list(self.bounds), "size_bytes": self.size_bytes}


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise ValidationError("--name", "use 1 to 64 letters, digits, '-' or '_', starting "
                                        "with a letter or digit")
    return name


def tilemaker_path() -> str:
    """tilemaker on PATH. Without it no tiles are built, and the maps draw the walking
    network's streets instead (web.maps.basemap_config)."""
    path = shutil.which("tilemaker")
    if not path:
        raise MissingProgram("tilemaker is not installed: apt-get install tilemaker (the Debian "
                             "package, not PyPI's); until then the maps draw the walking "
                             "network's streets")
    return path


def extract_bounds(osm_path: Path) -> tuple[float, float, float, float]:
    """The extract's bounding box: from its header, else from its nodes (one streaming pass)."""
    header = osmium.io.Reader(str(osm_path), osmium.osm.osm_entity_bits.NOTHING).header()
    box = header.box()
    if box.valid():
        return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    west = south = math.inf
    east = north = -math.inf
    for node in osmium.FileProcessor(str(osm_path), osmium.osm.NODE):
        if not isinstance(node, osmium.osm.Node):
            continue
        lon, lat = node.location.lon, node.location.lat
        west, east = min(west, lon), max(east, lon)
        south, north = min(south, lat), max(north, lat)
    if west is math.inf:
        raise ValidationError("--osm", f"{osm_path.name} holds no nodes")
    return (west, south, east, north)


def build_tiles(osm_path: Path, name: str, tiles_dir: Path, *, threads: int = 1) -> Tileset:
    """Build ``<tiles_dir>/<name>.mbtiles`` from an extract; the old file stays if this fails."""
    check_name(name)
    osm_path = Path(osm_path)
    if not osm_path.is_file():
        raise ValidationError("--osm", f"{osm_path} does not exist")
    exe = tilemaker_path()
    try:
        bounds = extract_bounds(osm_path)
    except RuntimeError as exc:  # osmium: not an OSM file
        raise ValidationError("--osm", f"{osm_path.name} is not a readable OSM extract "
                              f"({exc})") from None
    tiles_dir = Path(tiles_dir)
    tiles_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}-", suffix=SUFFIX, dir=tiles_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # tilemaker merges into an existing file; it must start from nothing
    bbox = ",".join(f"{v:.7f}" for v in bounds)
    try:
        with tempfile.TemporaryDirectory(prefix="assetmap-tiles-") as work:
            proc = subprocess.run(
                [exe, "--input", str(osm_path.resolve()), "--output", str(tmp),
                 "--config", str(LAYER_CONFIG), "--process", str(PROFILE),
                 "--bbox", bbox, "--threads", str(threads)],
                cwd=work, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0 or not tmp.exists():
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ValidationError("--osm", f"tilemaker could not build tiles: {last[0]}")
        with sqlite3.connect(tmp) as db:
            west, south, east, north = bounds
            meta = {"bounds": f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}",
                    "center": f"{(west + east) / 2:.6f},{(south + north) / 2:.6f},14",
                    "name": name}
            for key, value in meta.items():
                db.execute("DELETE FROM metadata WHERE name = ?", (key,))
                db.execute("INSERT INTO metadata (name, value) VALUES (?, ?)", (key, value))
        final = tiles_dir / f"{name}{SUFFIX}"
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return read_tileset(final)


def read_tileset(path: Path) -> Tileset:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
    bounds = tuple(float(v) for v in meta.get("bounds", "-180,-85,180,85").split(","))
    return Tileset(name=path.name[: -len(SUFFIX)], path=path,
                   minzoom=int(meta.get("minzoom", 0)), maxzoom=int(meta.get("maxzoom", 14)),
                   bounds=bounds,  # type: ignore[arg-type]
                   size_bytes=path.stat().st_size)


class TileStore:
    """The tilesets in a directory; connections are opened read-only, one per thread."""

    def __init__(self, tiles_dir: Path) -> None:
        self.tiles_dir = Path(tiles_dir)
        self._local = threading.local()

    def tilesets(self) -> list[Tileset]:
        if not self.tiles_dir.is_dir():
            return []
        found = []
        for path in sorted(self.tiles_dir.glob(f"*{SUFFIX}")):
            if path.name.startswith("."):
                continue
            try:
                found.append(read_tileset(path))
            except (sqlite3.Error, ValueError):
                continue
        return found

    def tileset(self, name: str) -> Tileset | None:
        if not NAME.fullmatch(name):
            return None
        path = self.tiles_dir / f"{name}{SUFFIX}"
        return read_tileset(path) if path.is_file() else None

    def _connection(self, path: Path) -> sqlite3.Connection:
        cache: dict = getattr(self._local, "connections", None) or {}
        self._local.connections = cache
        st = path.stat()
        key = (path, st.st_ino, st.st_mtime_ns)  # a rebuilt file is reopened
        conn = cache.get(key)
        if conn is None:
            for old in [k for k in cache if k[0] == path]:
                cache.pop(old).close()
            conn = cache[key] = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                check_same_thread=False)
        return conn

    def tile(self, name: str, z: int, x: int, y: int) -> bytes | None:
        """The gzip-compressed tile, b"" for an empty tile inside the set, None without a set."""
        path = self.tiles_dir / f"{name}{SUFFIX}"
        if not NAME.fullmatch(name) or not path.is_file():
            return None
        row = self._connection(path).execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
            "AND tile_row = ?", (z, x, (1 << z) - 1 - y)).fetchone()  # MBTiles rows are TMS
        return row[0] if row else b""


def decode_tile(data: bytes) -> dict:
    """A tile as {layer: [features]} (for tests and benchmarks; needs mapbox-vector-tile)."""
    import mapbox_vector_tile  # noqa: PLC0415 - a dev dependency, not needed to serve

    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return {layer: value["features"] for layer, value in mapbox_vector_tile.decode(data).items()}


def tile_for(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The XYZ tile that holds a point at zoom ``z``."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)

