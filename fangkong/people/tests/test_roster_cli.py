"""`fangkong import-roster` and `fangkong export-roster`."""

import getpass
import io
import json

import pytest
from django.core.management import CommandError, call_command

from fangkong import cli
from fangkong.core.models import AuditEvent
from fangkong.people.models import ImportJob, Resident

from .rosterfiles import csv_bytes, person, read_xlsx, roster, xlsx

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def roster_file(tmp_path, tree):
    path = tmp_path / "东风社区.xlsx"
    people = [person(f"人{i}", room=str(101 + i)) for i in range(3)]
    path.write_bytes(xlsx(roster(*people, person("坏", phone="12"))))
    return path


def test_json_line_comes_last_and_progress_goes_to_stderr(roster_file, tree):
    out, err = run("import_roster", str(roster_file), "--area", tree.community_a.code, "--json")
    assert json.loads(out.strip().splitlines()[-1]) == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert "row 7/7" in err
    event = AuditEvent.objects.get(event="people.roster_import")
    # Command-line actions are recorded as the operating-system user who ran them.
    assert event.actor is None and event.actor_name == f"cli:{getpass.getuser()}"


def test_the_hyphenated_command_through_the_fangkong_entry_point(roster_file, tree, capsys):
    run("import_roster", str(roster_file), "--area", tree.community_a.code)
    cli.main(
        ["fangkong", "import-roster", str(roster_file), "--area", tree.community_a.code, "--json"]
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 1}


def test_report_writes_the_rejected_rows(roster_file, tree, tmp_path):
    report = tmp_path / "rejected.xlsx"
    out, _err = run(
        "import_roster", str(roster_file), "--area", tree.community_a.code, "--report", str(report)
    )
    assert "created 3" in out and "rejected 1" in out
    header, row = read_xlsx(report.read_bytes())
    assert header[0] == "行号 Row" and row[0] == 7 and row[1] == "G 联系电话"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the file is empty"), (csv_bytes([["a", "b"], ["1", "2"]]), "no header row")],
)
def test_a_fatal_file_error_exits_non_zero_with_a_clear_message(tmp_path, tree, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run("import_roster", str(path), "--area", tree.community_a.code, "--json")
    assert not ImportJob.objects.exists()


def test_an_unknown_area_or_file_exits_non_zero(roster_file, tree):
    with pytest.raises(CommandError, match="no area"):
        run("import_roster", str(roster_file), "--area", "999999")
    with pytest.raises(CommandError, match="no such file"):
        run("import_roster", "/nonexistent.xlsx", "--area", tree.community_a.code)
    with pytest.raises(CommandError, match="community or a compound"):
        run("import_roster", str(roster_file), "--area", tree.street.code)


def test_the_system_moves_a_person_registered_elsewhere(tmp_path, tree, resident_b):
    path = tmp_path / "move.csv"
    path.write_bytes(csv_bytes(roster(person("李四", number=resident_b.id_number()))))
    out, _err = run("import_roster", str(path), "--area", tree.community_a.code, "--json")
    assert json.loads(out.splitlines()[-1])["updated"] == 1
    resident_b.refresh_from_db()
    assert resident_b.area_code.startswith(tree.community_a.code)


def test_export_then_import_changes_nothing(tmp_path, tree, resident_a, resident_b):
    out_file = tmp_path / "export.xlsx"
    _out, err = run(
        "export_roster",
        str(out_file),
        "--area",
        tree.community_a.code,
        "--full",
        "--reason",
        "迁移",
    )
    assert "1 residents" in err
    rows = read_xlsx(out_file.read_bytes())
    assert rows[2][6] == resident_a.id_number()
    event = AuditEvent.objects.get(event="people.roster_export")
    assert event.detail == {"rows": 1, "full": True} and event.reason == "迁移"
    before = Resident.objects.get(pk=resident_a.pk).updated_at
    out, _err = run("import_roster", str(out_file), "--area", tree.community_a.code, "--json")
    assert json.loads(out.splitlines()[-1]) == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "rejected": 0,
    }
    assert Resident.objects.get(pk=resident_a.pk).updated_at == before


def test_a_full_export_without_a_reason_writes_nothing(tmp_path, tree, resident_a):
    out_file = tmp_path / "export.xlsx"
    with pytest.raises(CommandError, match="--reason"):
        run("export_roster", str(out_file), "--area", tree.community_a.code, "--full")
    assert not out_file.exists()
    assert not AuditEvent.objects.filter(event="people.roster_export").exists()


def test_export_is_masked_unless_full(tmp_path, tree, resident_a):
    out_file = tmp_path / "export.xlsx"
    run("export_roster", str(out_file), "--area", tree.community_a.code)
    assert read_xlsx(out_file.read_bytes())[2][6] == resident_a.id_masked
