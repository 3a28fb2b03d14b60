"""A building's households read from one covering index (docs/benchmarks.md, "cold list at
10M"), replacing the plain area-code index; the prefix index stays, named.

An index-only scan reads the table only for pages not marked all-visible, which every
write unmarks until vacuum marks them again; by default autovacuum comes after a fifth
of the table has changed (2,000,000 rows of 10,000,000). At 1 % (PostgreSQL only) a
day's roster writes are vacuumed the same day, and a vacuum of mostly all-visible pages
reads only the changed ones.
"""

from django.db import migrations, models

AUTOVACUUM = "autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor"


def autovacuum_sooner(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE areas_household SET (autovacuum_vacuum_scale_factor = 0.01, "
            "autovacuum_vacuum_insert_scale_factor = 0.01)"
        )


def autovacuum_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE areas_household RESET ({AUTOVACUUM})")


class Migration(migrations.Migration):

    dependencies = [
        ('areas', '0002_area_retired_and_tag_counts'),
    ]

    operations = [
        migrations.RunPython(autovacuum_sooner, autovacuum_default),
        migrations.AlterField(
            model_name='household',
            name='area_code',
            field=models.CharField(editable=False, max_length=18, verbose_name='area code'),
        ),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['area_code'], include=('id', 'unit', 'room'), name='household_building'),
        ),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['area_code'], name='household_area_prefix', opclasses=['varchar_pattern_ops']),
        ),
    ]
