"""Stop keeping a discharge letter's admission date in clear.

The admission date was copied from the encrypted content into a clear column, next to the
discharge date, although no alert and no indicator queries it: together the two gave away
the length of stay of every letter to anyone reading the database. It stays in the encrypted
content (`content["admission_date"]`), where every reader already took it from. See
docs/security.md, "Stay dates".

Forwards there is nothing to move: the content always held the date. Backwards, the clear
column is refilled from the content, so that the previous code finds what it stored.
"""

from django.db import migrations

BATCH = 500


def refill_admission_dates(apps, schema_editor):
    LiaisonSheet = apps.get_model("liaison", "LiaisonSheet")
    letters = LiaisonSheet.objects.filter(kind="discharge").order_by("pk")
    last = 0
    while True:
        batch = list(letters.filter(pk__gt=last).only("pk", "code", "content")[:BATCH])
        if not batch:
            return
        for letter in batch:
            admission = (letter.content or {}).get("admission_date") or None
            if admission:
                LiaisonSheet.objects.filter(pk=letter.pk).update(admission_date=admission)
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("liaison", "0002_alter_sheetevent_sheet"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, refill_admission_dates, elidable=False),
        migrations.RemoveField(model_name="liaisonsheet", name="admission_date"),
    ]
