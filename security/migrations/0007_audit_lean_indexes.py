"""Drop the audit trail's indexes that no query needs: every index is paid by every append.

The trail had eleven indexes on PostgreSQL; an audited write paid for all of them. Kept: the
primary key, `actor_code` and `target_code` (the API's and the admin's lookups), the unique
`prev_hash` (no fork), the unique `(shard, sequence)` (one entry per position; the checkpoint
lookups) and `(shard, id)` (the walk of `verify_audit`). Dropped:

- `hash` unique, and its `_like` pattern index: nothing looks an entry up by hash, and two
  entries with one hash would need the same predecessor, which the unique `prev_hash` refuses
  (or an HMAC-SHA256 collision).
- `action` and its `_like` pattern index: only the admin's filter used them.
- `actor_id` (the foreign key's index): lookups by actor use `actor_code`, and members are
  never deleted, so PostgreSQL's and Django's delete checks never need it.
- `created_at` as a B-tree: replaced, on PostgreSQL only, by a BRIN index (time follows the
  insertion order), a few pages for the whole table that an append does not touch until its
  block range is summarised, which keeps time-range lookups (the admin's date filter, "what
  happened that night") off a full scan. SQLite, the demo database, has no BRIN.

Only DDL: no row is updated, so the append-only trigger does not fire, and the seals do not
change. Reversible: the indexes come back on the way down.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

BRIN_INDEX = "audit_entry_created_at_brin"


def create_brin_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("security", "AuditEntry")._meta.db_table)
    schema_editor.execute(f"CREATE INDEX {BRIN_INDEX} ON {table} USING brin (created_at)")


def drop_brin_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {BRIN_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0005_psc_password_flag_and_profession_mismatch"),
        ("security", "0006_audit_shards"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="directory.member",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(max_length=64),
        ),
        migrations.RunPython(create_brin_index, drop_brin_index),
    ]
