"""Make the audit trail append-only in the database, not only in the application.

- A unique prev_hash: two entries can never claim the same predecessor, so the chain cannot
  fork whatever writes to it.
- On PostgreSQL, a trigger refuses UPDATE and DELETE of audit rows from any client (psql,
  another service, a bug that bypasses the model). SQLite is the demo database and gets no
  trigger: there the model's guards and `verify_audit` are the protection.

TRUNCATE is deliberately not blocked: Django's test flush uses it, and a role able to
TRUNCATE (or to drop the trigger) is the table owner, whom only the hash chain can catch.
"""

from django.db import migrations, models

FUNCTION = "security_auditentry_append_only"
TRIGGER = "security_auditentry_append_only"


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("security", "AuditEntry")._meta.db_table)
    # restrict_violation (23001) is an integrity error, so Django raises IntegrityError.
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END;
        $$
        """,
        params=None,  # no placeholders: the % in RAISE is PL/pgSQL's, not the driver's
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("security", "AuditEntry")._meta.db_table)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0001_keys_and_audit"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(
                fields=("prev_hash",), name="audit_entry_unique_prev_hash"
            ),
        ),
        migrations.RunPython(install_trigger, remove_trigger, elidable=False),
    ]
