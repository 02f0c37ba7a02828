from tortoise import migrations
from tortoise.migrations import operations as ops

# The webhook path names search_text in every contact UPDATE (a provider name may fill an
# empty one); SQLite fires "UPDATE OF" triggers whenever the column is assigned, so keep the
# FTS5 rewrite to real changes.
SQLITE_SQL = [
    "DROP TRIGGER IF EXISTS contact_fts_au",
    "CREATE TRIGGER contact_fts_au AFTER UPDATE OF search_text ON contact"
    " WHEN old.search_text IS NOT new.search_text BEGIN"
    " INSERT INTO contact_fts(contact_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO contact_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]


async def forward(apps, schema_editor):
    if schema_editor.DIALECT == "sqlite":
        for sql in SQLITE_SQL:
            await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0004_pg_sort_indexes")]

    initial = False

    operations = [ops.RunPython(forward)]
