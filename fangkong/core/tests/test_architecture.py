"""The shape of the code that the import-linter contract (pyproject.toml) cannot say:
the domain apps read other apps through their selectors and services, not their models.
"""

import ast
from pathlib import Path

from fangkong.core.registry import fangkong_apps

# The foundation, built before the registry; it may still read models across apps.
FOUNDATION = {"core", "accounts", "areas", "people", "testing", "labs"}
# The shared vocabulary every app may name directly: the area tree and users.
SHARED_MODELS = {"core", "accounts", "areas"}
# Another app's internals that no app reads: its raw SQL, its import machinery.
INTERNALS = ("ingest", "sql", "roster")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return found


def _code_of(config) -> list[Path]:
    root = Path(config.path)
    return [
        p
        for p in root.rglob("*.py")
        if "tests" not in p.relative_to(root).parts and "migrations" not in p.parts
    ]


def test_domain_apps_read_other_apps_through_selectors_not_models():
    offences = []
    for config in fangkong_apps():
        if config.label in FOUNDATION:
            continue
        for path in _code_of(config):
            for name in _imports(path):
                parts = name.split(".")
                if len(parts) < 3 or parts[0] != "fangkong" or parts[1] == config.label:
                    continue
                if parts[2] == "models" and parts[1] not in SHARED_MODELS:
                    offences.append(f"{path}: {name}")
    assert offences == [], "use the other app's selectors or services:\n" + "\n".join(offences)


def test_no_app_reaches_into_another_apps_internals():
    offences = []
    for config in fangkong_apps():
        for path in _code_of(config):
            for name in _imports(path):
                parts = name.split(".")
                outside = len(parts) >= 3 and parts[0] == "fangkong" and parts[1] != config.label
                if outside and parts[2] in INTERNALS:
                    offences.append(f"{path}: {name}")
    assert offences == [], "\n".join(offences)


def _event_literals() -> set[str]:
    """Every `event="…"` passed to audit_record in the apps' code."""
    found = set()
    for config in fangkong_apps():
        for path in _code_of(config):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.keyword) and node.arg == "event":
                    for value in ast.walk(node.value):
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            found.add(value.value)
    return found


def test_every_audit_event_recorded_is_declared_and_every_declared_one_is_recorded():
    from fangkong.core.audit import event_types

    declared, used = set(event_types()), _event_literals()
    assert used - declared == set(), "declare these in their app's events.py"
    assert declared - used == set(), "declared but never recorded"


def test_audit_events_follow_one_naming_scheme_and_have_a_label():
    from fangkong.core.audit import event_types

    for code, label in event_types().items():
        app, name = code.split(".")
        assert app in {c.label for c in fangkong_apps()} and "_" in name, code
        assert str(label) and str(label) != code
