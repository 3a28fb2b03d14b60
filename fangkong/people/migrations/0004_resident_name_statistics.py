"""Finer statistics for residents' names (PostgreSQL only).

With the default statistics target, the planner guessed that a name prefix such as
'丁' matched 90 of 1,000,000 residents (it matched 4,765), fetched them all through the
name index and sorted them: 92 ms for the command centre's search. With 1,000 it
guesses 4,379, walks the area-code index in order and stops after a page: 6 ms
(bench/pages.py, docs/benchmarks.md).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE people_resident ALTER COLUMN name SET STATISTICS 1000"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE people_resident ALTER COLUMN name SET STATISTICS -1")


class Migration(migrations.Migration):

    dependencies = [
        ("people", "0003_resident_name_prefix"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
