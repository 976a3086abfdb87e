from tests.coordinator.conftest import wards  # noqa: F401 - shared fixture
