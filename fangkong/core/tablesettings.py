"""Settings of a table that Django's models do not describe, as migration steps."""

from django.db import migrations

AUTOVACUUM = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor")


def autovacuum_after(table: str, share: float) -> migrations.RunPython:
    """Have autovacuum visit `table` after `share` of its rows changed or went in
    (PostgreSQL's default: a fifth; nothing elsewhere); reversed, the default again.

    For a table read by index-only scans: such a scan reads the table's page for every
    row on a page not marked all-visible, and every write unmarks its page until a
    vacuum marks it again. At 10,000,000 rows the default waits for 2,000,000 changes,
    days of roster writes; a vacuum of a mostly all-visible table reads only the pages
    that changed.
    """

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            settings = ", ".join(f"{name} = {share}" for name in AUTOVACUUM)
            schema_editor.execute(f"ALTER TABLE {table} SET ({settings})")

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(AUTOVACUUM)})")

    return migrations.RunPython(forwards, backwards)
