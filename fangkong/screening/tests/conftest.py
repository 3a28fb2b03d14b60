import pytest


@pytest.fixture
def analytics(settings, tmp_path):
    """The analytics store and engine settings of one test: a fresh directory, DuckDB,
    one thread (the suite runs in two processes)."""
    settings.ANALYTICS = "duckdb"
    settings.ANALYTICS_DIR = str(tmp_path / "analytics")
    settings.ANALYTICS_THREADS = 1
    settings.ANALYTICS_MEMORY = "512MB"
    return tmp_path / "analytics"
