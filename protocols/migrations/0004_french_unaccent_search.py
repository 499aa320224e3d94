"""Accent-insensitive French search on PostgreSQL: the `french_unaccent` configuration.

PostgreSQL's `french` configuration keeps accents, so "hematome" did not find "hématome"
(typing without accents is common on phones), while the SQLite fallback folds them. This
creates the `unaccent` extension (a trusted extension since PostgreSQL 13: the database owner
may create it) and a copy of `french` whose word mappings run `unaccent` before `french_stem`,
then recomputes the stored search vectors with it.

The GIN index (0002) is on the stored `search_vector` column, not on an expression: the
vector is computed by the services in each write, so `unaccent` not being IMMUTABLE does not
matter and the index stays as it is.

SQLite has neither; there everything here is a no-op.
"""

from django.db import migrations

CONFIG = "french_unaccent"
# The fields of a version that make up the search body, as of this migration (the services
# compute the same document in protocols.services.common.search_parts).
BODY_FIELDS = (
    "legal_reference",
    "change_note",
    "objective",
    "patients",
    "inclusion_criteria",
    "exclusion_criteria",
    "urgent_exclusions",
    "withdrawal_criteria",
    "derogatory_acts",
    "non_derogatory_acts",
    "steps",
    "referral_back",
    "information_flow",
    "training",
    "patient_information",
    "indicators",
    "adverse_events",
)


def create_configuration(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
    schema_editor.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = french)")
    # asciiword and hword_asciipart have no accents to remove: they keep french_stem alone.
    schema_editor.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} "
        "ALTER MAPPING FOR word, hword, hword_part WITH unaccent, french_stem"
    )
    reindex(apps, schema_editor, CONFIG)


def drop_configuration(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    reindex(apps, schema_editor, "french")
    schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
    # Without CASCADE: if something else came to use unaccent, the extension stays.
    schema_editor.execute(
        "DO $$ BEGIN DROP EXTENSION IF EXISTS unaccent; "
        "EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $$"
    )


def reindex(apps, schema_editor, config):
    """Recompute every stored vector with `config` (title A, body B, as the services do)."""
    Protocol = apps.get_model("protocols", "Protocol")
    ProtocolVersion = apps.get_model("protocols", "ProtocolVersion")
    with schema_editor.connection.cursor() as cursor:
        for protocol in Protocol.objects.all().only("pk", "reference"):
            versions = ProtocolVersion.objects.filter(protocol_id=protocol.pk)
            head = (
                versions.filter(status="published").first() or versions.order_by("-number").first()
            )
            if head is None:
                continue
            body = "\n".join([protocol.reference] + [getattr(head, name) for name in BODY_FIELDS])
            cursor.execute(
                "UPDATE protocols_protocol SET search_vector = "
                "setweight(to_tsvector(%s::regconfig, %s), 'A') || "
                "setweight(to_tsvector(%s::regconfig, %s), 'B') WHERE id = %s",
                [config, head.title, config, body, protocol.pk],
            )


class Migration(migrations.Migration):
    dependencies = [("protocols", "0003_structured_sections_and_participation_end")]

    operations = [
        migrations.RunPython(create_configuration, drop_configuration, elidable=False),
    ]
