"""A building's households read from one covering index (docs/benchmarks.md, "cold list at
10M"), beside the plain area-code index; vacuumed after 1 % of the rows changed, so that
the scans stay index-only.
"""

from django.db import migrations, models

from fangkong.core.tablesettings import autovacuum_after


class Migration(migrations.Migration):

    dependencies = [
        ('areas', '0002_area_retired_and_tag_counts'),
    ]

    operations = [
        autovacuum_after("areas_household", 0.01),  # kept index-only (fangkong.core.tablesettings)
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['area_code'], include=('id', 'unit', 'room'), name='household_building'),
        ),
    ]
