"""A building's residents read from one covering index (docs/benchmarks.md, "cold list at
10M"), replacing the plain area-code index; the prefix index stays, named. Vacuumed
after 1 % of the rows changed, so that the scans stay index-only.
"""

from django.db import migrations, models

from fangkong.core.tablesettings import autovacuum_after


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0007_handovers'),
    ]

    operations = [
        autovacuum_after("people_resident", 0.01),  # kept index-only (fangkong.core.tablesettings)
        migrations.AlterField(
            model_name='resident',
            name='area_code',
            field=models.CharField(max_length=18, verbose_name='area code'),
        ),
        migrations.AddIndex(
            model_name='resident',
            index=models.Index(fields=['area_code', 'household'], include=('id', 'name', 'id_masked', 'phone_masked', 'birth_date', 'tags'), name='resident_building'),
        ),
        migrations.AddIndex(
            model_name='resident',
            index=models.Index(fields=['area_code'], name='resident_area_prefix', opclasses=['varchar_pattern_ops']),
        ),
    ]
