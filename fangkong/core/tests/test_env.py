"""The one environment reader: parses what it is given, names the variable when not."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from fangkong.core import env


def test_dotenv_skips_comments_and_blank_lines_and_keeps_equals_in_values():
    text = "# secret\n\nFANGKONG_A = 1\nFANGKONG_B=x=y\nnot a line\n"
    assert env.parse_dotenv(text) == {"FANGKONG_A": "1", "FANGKONG_B": "x=y"}


def test_dotenv_never_overrides_a_variable_already_set(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGKONG_T_SET", "real")
    monkeypatch.delenv("FANGKONG_T_NEW", raising=False)
    path = tmp_path / ".env"
    path.write_text("FANGKONG_T_SET=file\nFANGKONG_T_NEW=file\n", encoding="utf-8")
    env.read_dotenv(path)
    assert env.text("FANGKONG_T_SET") == "real"
    assert env.text("FANGKONG_T_NEW") == "file"
    monkeypatch.delenv("FANGKONG_T_NEW")


def test_unset_variables_take_their_defaults(monkeypatch):
    monkeypatch.delenv("FANGKONG_T", raising=False)
    assert env.integer("FANGKONG_T", 7, low=1, high=9) == 7
    assert env.boolean("FANGKONG_T", True) is True
    assert env.items("FANGKONG_T", "a, b") == ["a", "b"]
    assert env.networks("FANGKONG_T") == []


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("Yes", True), ("on", True), ("0", False), ("off", False)]
)
def test_booleans_are_read_in_their_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FANGKONG_T", raw)
    assert env.boolean("FANGKONG_T", not expected) is expected


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env.integer("FANGKONG_T", 1), "ten", "FANGKONG_T must be an integer, got 'ten'"),
        (lambda: env.integer("FANGKONG_T", 1, low=1, high=5), "6", "between 1 and 5, got 6"),
        (lambda: env.integer("FANGKONG_T", 1, low=1), "0", "between 1 and ∞, got 0"),
        (lambda: env.boolean("FANGKONG_T", False), "maybe", "FANGKONG_T must be a boolean"),
        (lambda: env.key("FANGKONG_T"), "", "FANGKONG_T is not set"),
        (lambda: env.key("FANGKONG_T"), "c2hvcnQ=", "must decode to 32 bytes, got 5"),
        (lambda: env.networks("FANGKONG_T"), "10.0.0.0/8, proxy", "'proxy' is not an address"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(monkeypatch, reader, raw, message):
    monkeypatch.setenv("FANGKONG_T", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def test_a_reader_may_look_somewhere_else_first():
    assert env.integer("FANGKONG_T", 1, lookup={"FANGKONG_T": "4"}.get) == 4
