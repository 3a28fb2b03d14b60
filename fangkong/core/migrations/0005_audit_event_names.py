"""Audit event types renamed to one scheme, <app>.<object>_<verb> (fangkong/core/audit.py);
records made before keep their meaning under the new names."""

from django.db import migrations

RENAMED = {
    "area.create": "areas.area_create",
    "grid.create": "areas.grid_create",
    "zone.declare": "areas.zone_declare",
    "zone.lift": "areas.zone_lift",
    "codes.print": "people.codes_print",
    "codes.view": "people.code_view",
    "resident.create": "people.resident_create",
    "resident.reveal": "people.resident_reveal",
    "resident.search_number": "people.resident_search_number",
    "resident.update": "people.resident_update",
    "roster.export": "people.roster_export",
    "roster.import": "people.roster_import",
    "roster.report": "people.roster_report",
    "demo.seed": "people.demo_seed",
    "policy.set": "core.policy_set",
    "token.issue": "accounts.token_issue",
    "token.revoke": "accounts.token_revoke",
    "user.create": "accounts.user_create",
    "user.disable": "accounts.user_disable",
    "user.enable": "accounts.user_enable",
    "user.set_areas": "accounts.user_set_areas",
    "user.set_password": "accounts.user_set_password",
    "user.update": "accounts.user_update",
}


def rename(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(event=old).update(event=new)


def rename_back(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(event=new).update(event=old)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_rate_counter")]

    operations = [migrations.RunPython(rename, rename_back)]
