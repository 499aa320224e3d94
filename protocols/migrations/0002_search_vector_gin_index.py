"""A GIN index on Protocol.search_vector, on PostgreSQL only.

The tsvector column exists on every database (SQLite stores NULL there and searches
`search_folded` instead); the index only makes sense where the column is filled.
"""

from django.db import migrations

INDEX = "protocols_protocol_search_vector_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON protocols_protocol USING GIN (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("protocols", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
