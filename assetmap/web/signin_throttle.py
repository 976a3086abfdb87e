"""Sign-in throttling: wrong passwords are counted per account and per client address in
Flask-Limiter's shared storage (the same store as the suggestion limit: Redis when several
workers run), each in a moving window.

Only failures count, and a window ends on its own: an attacker can slow a real user down for
at most one window after their last guess, never lock them out for good. While a limit is
reached even the right password is refused, so guessing cannot go on in the background.
Accounts are keyed by a hash of the e-mail address, so the store holds no addresses.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem
from limits import parse as parse_rate

from assetmap.errors import ConfigError
from assetmap.web.suggest import LIMITER

SETTINGS = ("LOGIN_RATE_LIMIT_ACCOUNT", "LOGIN_RATE_LIMIT_ADDRESS")


def init_app(app: Flask) -> None:
    """Check the two limits when the app is built, so a typo stops `serve` at once."""
    for name in SETTINGS:
        try:
            parse_rate(app.config[name])
        except ValueError:
            raise ConfigError(f"ASSETMAP_{name} {app.config[name]!r} is not a rate; write "
                              "e.g. '10 per 15 minutes'") from None


def _scopes(email: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "assetmap"
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [
        (parse_rate(current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"]),
         (prefix, "sign-in-account", account)),
        (parse_rate(current_app.config["LOGIN_RATE_LIMIT_ADDRESS"]),
         (prefix, "sign-in-address", get_remote_address())),
    ]


def _limiter() -> Limiter | None:
    limiter: Limiter | None = current_app.extensions.get(LIMITER)
    return limiter if limiter is not None and limiter.enabled else None


def wait_seconds(email: str) -> int | None:
    """Seconds until this account and address may try again, or None if they may now."""
    limiter = _limiter()
    if limiter is None:
        return None
    wait = 0.0
    try:
        for item, scope in _scopes(email):
            if not limiter.limiter.test(item, *scope):
                stats = limiter.limiter.get_window_stats(item, *scope)
                wait = max(wait, stats.reset_time - time.time())
    except Exception:  # storage down: sign-in still works (and is logged)
        current_app.logger.exception("sign-in throttle storage failed; attempt allowed")
        return None
    return max(1, math.ceil(wait)) if wait > 0 else None


def count_failure(email: str) -> None:
    """Count one wrong password against the account and the address."""
    limiter = _limiter()
    if limiter is None:
        return
    try:
        for item, scope in _scopes(email):
            limiter.limiter.hit(item, *scope)
    except Exception:
        current_app.logger.exception("sign-in throttle storage failed; failure not counted")
