"""Tokens get a scope (all, upload, results) and an expiry. Tokens issued before this
had neither: they keep the scope `all` and expire TOKEN_DAYS_GRANTED_ON_MIGRATION days
after the migration runs, so that devices in the field keep working while their
operators issue scoped tokens."""

import datetime as dt

from django.db import migrations, models
from django.utils import timezone

TOKEN_DAYS_GRANTED_ON_MIGRATION = 30


def expire_old_tokens(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    ApiToken.objects.filter(expires_at__isnull=True).update(
        expires_at=timezone.now() + dt.timedelta(days=TOKEN_DAYS_GRANTED_ON_MIGRATION)
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("all", "Everything the user's role may do"),
                    ("upload", "Sampling device: uploads and its configuration"),
                    ("results", "Lab system: results uploads"),
                ],
                default="all",
                max_length=10,
                verbose_name="scope",
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True, verbose_name="expires at"),
        ),
        migrations.RunPython(expire_old_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(verbose_name="expires at"),
        ),
    ]
