"""A building's residents read from one covering index (docs/benchmarks.md, "cold list at
10M"), beside the plain area-code index; vacuumed after 1 % of the rows changed, so that
the scans stay index-only.
"""

from django.db import migrations, models

from fangkong.core.tablesettings import autovacuum_after


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0007_handovers'),
    ]

    operations = [
        autovacuum_after("people_resident", 0.01),  # kept index-only (fangkong.core.tablesettings)
        migrations.AddIndex(
            model_name='resident',
            index=models.Index(fields=['area_code', 'household'], include=('id', 'name', 'id_masked', 'phone_masked', 'birth_date', 'tags'), name='resident_building'),
        ),
    ]
