"""The suggestion rate limit holds across gunicorn workers sharing Redis, under parallel load."""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from tests.community.conftest import valid_api
from tests.conftest import assetmap_serve

pytestmark = pytest.mark.slow
REDIS_URL = os.environ.get("ASSETMAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def served(app, database_url, tmp_path):
    """`assetmap serve` with three workers whose rate limits live in Redis (`app` empties the
    database afterwards)."""
    prefix = f"assetmap-test-{uuid.uuid4().hex[:8]}"
    env = os.environ | {
        "ASSETMAP_DATABASE_URL": database_url, "ASSETMAP_SECRET_KEY": "workers-test",
        "ASSETMAP_RATELIMIT_STORAGE_URI": REDIS_URL, "ASSETMAP_RATELIMIT_KEY_PREFIX": prefix,
        "ASSETMAP_SUGGEST_RATE_LIMIT": "5 per hour",
        "ASSETMAP_NETWORK_DIR": str(tmp_path / "networks"),
    }
    with assetmap_serve(env, workers=3, log_path=tmp_path / "serve.log") as base:
        yield base, prefix
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(match=f"*{prefix}*"):
        store.delete(key)


def test_exactly_the_limit_gets_through_parallel_requests_to_several_workers(served):
    base, prefix = served
    n = 16
    start = threading.Barrier(n)

    def post(i: int) -> int:
        start.wait()
        return requests.post(base + "/api/v1/suggestions",
                             json=valid_api(name=f"Parallel group {i}"), timeout=60).status_code

    with ThreadPoolExecutor(max_workers=n) as pool:
        statuses = list(pool.map(post, range(n)))
    assert sorted(statuses) == [201] * 5 + [429] * (n - 5), statuses
    # The count lives in Redis, under this instance's prefix, shared by every worker.
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{prefix}*"))
    assert requests.post(base + "/api/v1/suggestions", json=valid_api(),
                         timeout=30).status_code == 429
