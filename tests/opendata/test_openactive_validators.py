"""OpenActive's own validators from npm, offline, on the feed AssetMap serves: the RPDE
validator walks it over HTTP and the data model validator checks every item, with the
Activity List read from the shared data (no request leaves the machine)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from urllib.request import urlopen

import pytest
from werkzeug.serving import make_server

from tests.opendata.conftest import ROOT, shared

TOOLS = ROOT / "tools" / "openactive"
FEED = "/openactive/session-series"


@pytest.fixture
def served(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def seed(cache, url: str, data: dict) -> None:
    """What the data model validator's JSON loader caches for `url` (its own file format)."""
    key = hashlib.sha256(url.encode()).hexdigest()
    (cache / f"{key}.json").write_text(json.dumps({
        "errorCode": "error_none", "data": data, "statusCode": 200, "url": url,
        "exception": None, "contentType": "application/ld+json",
        "fetchTime": int(time.time() * 1000)}))


def run_validators(feed_url: str, cache) -> dict:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (make install sets it up)")
    if not (TOOLS / "node_modules" / "@openactive" / "rpde-validator").exists():
        pytest.skip(f"the validators are not installed: run `npm ci --prefix {TOOLS}` "
                    "(make install does)")
    done = subprocess.run(["node", str(TOOLS / "validate.js"), feed_url, str(cache)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_validators_find_no_errors(app, demo, served, tmp_path):
    app.config["OPENACTIVE_PAGE_SIZE"] = 25  # several pages, as a real consumer sees
    activity_list = json.loads(shared("activities", "openactive-activity-list.jsonld")
                               .read_text())
    cache = tmp_path / "openactive-cache"
    cache.mkdir()
    seed(cache, "https://openactive.io/activity-list", activity_list)
    found = run_validators(served + FEED, cache)
    pages = [json.loads(urlopen(served + FEED).read())]  # noqa: S310 - our own test server
    while pages[-1]["items"]:
        pages.append(json.loads(urlopen(pages[-1]["next"]).read()))  # noqa: S310
    published = sum(i["state"] == "updated" for p in pages for i in p["items"])
    assert found["items"] == published > 10  # every published item's data was checked
    assert found["pages"] >= len(pages) > 1  # the RPDE validator walked the whole feed
    assert found["fetched"] == [], "the validators tried to reach the network"
    failures = Counter((e["type"], re.sub(r"\[\d+\]", "[]", str(e.get("path"))),
                        e["message"][:160]) for e in found["rpde"] + found["model"]
                       if e["severity"] == "failure")
    assert not failures, "\n".join(f"{n} x {kind} at {where}: {text}"
                                    for (kind, where, text), n in failures.items())
