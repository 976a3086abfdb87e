"""The connector's current search, kept out of the address bar and the browser's history.

The search form posts; the view keeps what was typed in the signed session cookie (in the
connector's own browser, nothing on the server) and redirects to the plain `/connector`, which
shows the search again on reload. It is forgotten after `MAX_AGE` seconds, when the connector
presses "Finish with this client", or on signing out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping

KEY = "connector_search"
MAX_AGE = 4 * 3600  # a session with a client, with room to spare
FIELDS = ("postcode", "lat", "lon", "minutes", "pace", "needs", "interests", "day", "time",
          "free", "newcomers", "language")


def keep(store: MutableMapping, form: Mapping, *, now: float | None = None) -> None:
    """Remember the posted search (only its fields: never the CSRF token)."""
    getlist = getattr(form, "getlist", None)
    args = {name: (list(getlist(name)) if getlist else [str(form[name])])
            for name in FIELDS if name in form}
    store[KEY] = {"args": args, "at": now if now is not None else time.time()}


def recall(store: MutableMapping, *, now: float | None = None) -> dict[str, list[str]]:
    """The kept search as query-style lists, or {} when there is none or it has expired."""
    kept = store.get(KEY)
    if not isinstance(kept, dict) or not isinstance(kept.get("args"), dict):
        return {}
    if (now if now is not None else time.time()) - float(kept.get("at") or 0) > MAX_AGE:
        store.pop(KEY, None)
        return {}
    return {str(k): [str(v) for v in values] for k, values in kept["args"].items()
            if isinstance(values, list)}


def forget(store: MutableMapping) -> None:
    store.pop(KEY, None)
