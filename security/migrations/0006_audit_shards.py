"""Split the audit trail into chains (shards), each with its own head row.

Existing entries become shard 0 (the column's default, added by DDL: the append-only trigger
does not fire) and keep their seals: shard 0 seals leave the shard out, exactly as before, and
its genesis hash is unchanged. The existing head row (primary key 1) is shard 0's head. The
position of an entry is now unique within its chain, not across the trail.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0005_form_drafts"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="shard",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="sequence",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["shard", "id"], name="audit_entry_shard_id"),
        ),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(
                fields=("shard", "sequence"), name="audit_entry_unique_shard_sequence"
            ),
        ),
    ]
