from tests.coordinator.conftest import app, make_listing, scenario, wards  # noqa: F401
