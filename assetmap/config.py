"""Configuration from ASSETMAP_* environment variables, with a test variant beside it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"ASSETMAP_{name}", default)


class Config:
    """Production defaults; every value can be set as ASSETMAP_<NAME> in the environment."""

    def __init__(self) -> None:
        self.DATABASE_URL: str = _env("DATABASE_URL") or (
            f"sqlite:///{INSTANCE_DIR / 'assetmap.sqlite'}")
        # A random key per process would log everyone out at each restart and break sessions
        # across workers, so `serve` refuses to start without one outside development.
        self.SECRET_KEY: str = _env("SECRET_KEY") or ""
        self.DATA_DIR: Path = Path(_env("DATA_DIR") or PROJECT_ROOT / "data")
        self.NETWORK_DIR: Path = Path(_env("NETWORK_DIR") or INSTANCE_DIR / "networks")
        self.SQL_ECHO: bool = _env("SQL_ECHO", "0") == "1"
        # The basemap: vector tiles built from the local extract (`assetmap tiles build`), or a
        # deployment's own tile service ({z}/{x}/{y} URL; .mvt/.pbf drawn as vector tiles).
        self.TILES_DIR: Path = Path(_env("TILES_DIR") or INSTANCE_DIR / "tiles")
        # An uploaded import file waits here between "check" and "import" (minutes, not days).
        self.UPLOAD_DIR: Path = Path(_env("UPLOAD_DIR") or INSTANCE_DIR / "uploads")
        self.BASEMAP: str = _env("BASEMAP", "") or ""
        self.TILE_URL: str = _env("TILE_URL", "") or ""
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE: bool = _env("SECURE_COOKIES", "0") == "1"
        self.WTF_CSRF_TIME_LIMIT = None  # a form left open during a long session still posts
        self.MAX_CONTENT_LENGTH: int = int(_env("MAX_CONTENT_LENGTH") or 2 * 1024 * 1024)
        self.TESTING = False
        # Outgoing e-mail (organiser checks, reminders, digests) and links inside it.
        self.SMTP_HOST: str = _env("SMTP_HOST", "127.0.0.1") or "127.0.0.1"
        self.SMTP_PORT: int = int(_env("SMTP_PORT") or 25)
        self.SMTP_USER: str | None = _env("SMTP_USER")
        self.SMTP_PASSWORD: str | None = _env("SMTP_PASSWORD")
        self.SMTP_STARTTLS: bool = _env("SMTP_STARTTLS", "0") == "1"
        self.MAIL_FROM: str = _env("MAIL_FROM", "assetmap@localhost") or "assetmap@localhost"
        self.PUBLIC_URL: str = (_env("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
        # Flask-Limiter storage shared by every web worker (memory:// only for one process).
        self.RATELIMIT_STORAGE_URI: str = _env("RATELIMIT_STORAGE_URI", "memory://") or (
            "memory://")
        # Keeps the counts of AssetMap instances that share one Redis apart.
        self.RATELIMIT_KEY_PREFIX: str = _env("RATELIMIT_KEY_PREFIX", "assetmap") or "assetmap"
        # Community suggestions accepted per client address (Flask-Limiter syntax), the least
        # seconds a person plausibly takes over the form (a spam trap), and how long an
        # organiser's "is this still right?" link works.
        self.SUGGEST_RATE_LIMIT: str = _env("SUGGEST_RATE_LIMIT", "5 per hour") or "5 per hour"
        self.SUGGEST_MIN_FILL_SECONDS: float = float(_env("SUGGEST_MIN_FILL_SECONDS") or 3)
        # Wrong passwords allowed per account and per client address before sign-in waits
        # (moving windows in the same storage; no lockout outlasts its window).
        self.LOGIN_RATE_LIMIT_ACCOUNT: str = (_env("LOGIN_RATE_LIMIT_ACCOUNT")
                                              or "10 per 15 minutes")
        self.LOGIN_RATE_LIMIT_ADDRESS: str = (_env("LOGIN_RATE_LIMIT_ADDRESS")
                                              or "30 per 15 minutes")
        self.ORGANISER_LINK_DAYS: int = int(_env("ORGANISER_LINK_DAYS") or 30)
        # Hand-offs: how long the organiser's answer link works; when to ask how it went.
        self.HANDOFF_ANSWER_DAYS: int = int(_env("HANDOFF_ANSWER_DAYS") or 14)
        self.HANDOFF_FOLLOW_UP_DAYS: int = int(_env("HANDOFF_FOLLOW_UP_DAYS") or 21)
        self.DEMO_LABEL: str = _env("DEMO_LABEL", "") or ""
        # The place shown in page titles and headings; default: the borough area's name.
        self.PLACE_NAME: str = _env("PLACE_NAME", "") or ""
        # Metres of street network kept beyond the place's areas (clients near the edge).
        self.NETWORK_MARGIN_M: int = int(_env("NETWORK_MARGIN_M") or 2000)
        # Freshness (docs/FRESHNESS.md): re-check intervals in days, by default and per category
        # ("walking-group=90,days-out=60"); reminders to organisers N days after a listing falls
        # due (at most so many a day); coverage walks of this many minutes. Checked when used.
        self.FRESHNESS_DEFAULT_DAYS: str = _env("FRESHNESS_DEFAULT_DAYS", "182") or "182"
        self.FRESHNESS_INTERVALS: str = _env("FRESHNESS_INTERVALS", "") or ""
        self.FRESHNESS_REMINDER_DAYS: str = (_env("FRESHNESS_REMINDER_DAYS", "0,91,182")
                                             or "0,91,182")
        self.FRESHNESS_REMINDERS_PER_RUN: int = int(_env("FRESHNESS_REMINDERS_PER_RUN") or 200)
        self.COVERAGE_MINUTES: int = int(_env("COVERAGE_MINUTES") or 15)
        # Open data (README, "Open data"): the licence stated on every OpenActive page and the
        # publisher's name on the dataset site.
        self.OPEN_DATA_LICENSE: str = (_env("OPEN_DATA_LICENSE")
                                       or "https://creativecommons.org/licenses/by/4.0/")
        self.OPEN_DATA_PUBLISHER: str = _env("OPEN_DATA_PUBLISHER", "AssetMap") or "AssetMap"

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


class DevConfig(Config):
    def __init__(self) -> None:
        super().__init__()
        if not self.SECRET_KEY:
            key_file = INSTANCE_DIR / "secret_key"
            if not key_file.exists():
                INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
                key_file.write_text(secrets.token_hex(32))
                key_file.chmod(0o600)
            self.SECRET_KEY = key_file.read_text().strip()


class TestConfig(Config):
    def __init__(self, database_url: str, **overrides: object) -> None:
        super().__init__()
        self.DATABASE_URL = database_url
        self.SECRET_KEY = "test-secret-key"
        self.TESTING = True
        for key, value in overrides.items():
            setattr(self, key, value)
