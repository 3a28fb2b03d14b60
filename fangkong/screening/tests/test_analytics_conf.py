import pytest
from django.core.exceptions import ImproperlyConfigured

from fangkong.screening.analytics.conf import analytics_conf, engine_name


@pytest.mark.parametrize(
    ("given", "engine"),
    [
        ("duckdb", "duckdb"),
        ("DuckDB", "duckdb"),
        ("spark", "local[*]"),
        ("local[2]", "local[2]"),
        ("spark://10.0.0.5:7077", "spark://10.0.0.5:7077"),
        ("yarn", "yarn"),
    ],
)
def test_engines_are_duckdb_or_a_spark_master(given, engine):
    assert engine_name(given) == engine


@pytest.mark.parametrize("given", ["postgres", "local[two]", "spark:/x", ""])
def test_anything_else_is_refused_loudly(given):
    with pytest.raises(ImproperlyConfigured):
        engine_name(given)


def test_settings_win_over_defaults_and_bad_values_fail(analytics, settings):
    conf = analytics_conf()
    assert (conf.engine, conf.threads, conf.memory_limit) == ("duckdb", 1, "512MB")
    assert conf.scans_dir == analytics / "scans"
    settings.ANALYTICS_MEMORY = "lots"
    with pytest.raises(ImproperlyConfigured):
        analytics_conf()
    settings.ANALYTICS_MEMORY = "1GB"
    settings.ANALYTICS_THREADS = "0"
    with pytest.raises(ImproperlyConfigured):
        analytics_conf()
