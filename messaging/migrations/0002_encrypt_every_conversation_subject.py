"""Encrypt every conversation subject, not only those about a patient.

Until now a conversation about no patient kept its subject in clear (`subject`), searchable
in SQL; the others had it encrypted (`sealed_subject`). People type patient names in any
subject, so every subject moves to the encrypted column, and the clear column goes.

The encrypted column keeps its database name, `sealed_subject`: the column name is part of
each ciphertext's associated data (security.fields), so renaming it would make every stored
subject undecryptable. Only the model field is renamed to `subject` (no SQL for that).

Reverse: the clear column comes back empty and the subjects stay encrypted. Putting them back
in clear would undo the point of this migration; the previous code reads the encrypted column
anyway (`subject_text`), it just cannot search those subjects.
"""

from django.db import migrations

import security.fields

BATCH = 500


def encrypt_clear_subjects(apps, schema_editor):
    Conversation = apps.get_model("messaging", "Conversation")
    pending = Conversation.objects.exclude(subject="").order_by("pk")
    while True:
        batch = list(pending.only("pk", "code", "subject", "sealed_subject")[:BATCH])
        if not batch:
            return
        for conversation in batch:
            # One save per row: the ciphertext is bound to the row (no bulk update possible).
            conversation.sealed_subject = conversation.sealed_subject or conversation.subject
            conversation.subject = ""
            conversation.save(update_fields=["sealed_subject", "subject"])


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(encrypt_clear_subjects, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="conversation", name="subject"),
        migrations.AlterField(
            model_name="conversation",
            name="sealed_subject",
            field=security.fields.EncryptedTextField(
                blank=True, db_column="sealed_subject", default=""
            ),
        ),
        migrations.RenameField(
            model_name="conversation", old_name="sealed_subject", new_name="subject"
        ),
    ]
