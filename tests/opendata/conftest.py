"""Open data tests: the shared standards data sits beside the repository (../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def shared(*parts: str) -> Path:
    """A file of the shared data; the test is skipped, saying why, when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared data is expected at ../shared beside the "
                    "repository (see README, Tests)")
    return path
