"""Seal audit entries with a key: a sealed position (`sequence`) and the sealing key's id.

Entries written before this migration stay as they are: the append-only trigger refuses to
update them, and re-sealing them would mean trusting, at upgrade time, whatever the database
holds without saying so. They keep `key_id = ""` and `sequence = NULL` and are verified by
their unkeyed SHA-256 chain, up to the count recorded outside the database in
AUDIT_LEGACY_ENTRIES (docs/security.md). The first sealed entry's HMAC covers the last
legacy hash, so from then on the legacy prefix cannot be rewritten either.

Adding columns is DDL, not UPDATE: the row trigger does not fire. The chain head learns its
position (the number of entries so far) so that the next entry continues the count.
"""

from django.db import migrations, models


def count_existing_entries(apps, schema_editor):
    AuditChainHead = apps.get_model("security", "AuditChainHead")
    AuditEntry = apps.get_model("security", "AuditEntry")
    AuditChainHead.objects.filter(pk=1).update(last_sequence=AuditEntry.objects.count())


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0002_audit_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="sequence",
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="last_sequence",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(count_existing_entries, migrations.RunPython.noop, elidable=False),
    ]
