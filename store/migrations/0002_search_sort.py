from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Contact',
            name='name_key',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Contact',
            name='search_text',
            field=fields.TextField(default='', unique=False),
        ),
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['workspace_id', 'name_key']),
        ),
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['workspace_id', 'company']),
        ),
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['workspace_id', 'city']),
        ),
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['workspace_id', 'country']),
        ),
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['workspace_id', 'created_at']),
        ),
    ]


SQLITE_SQL = [
    # External-content FTS5 over contact.search_text, trigram tokens: substring search of any
    # part of a name, email, phone or custom value; triggers keep it in step with every write.
    "CREATE VIRTUAL TABLE contact_fts USING fts5(search_text, content='contact',"
    " content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER contact_fts_ai AFTER INSERT ON contact BEGIN"
    " INSERT INTO contact_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER contact_fts_ad AFTER DELETE ON contact BEGIN"
    " INSERT INTO contact_fts(contact_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER contact_fts_au AFTER UPDATE OF search_text ON contact BEGIN"
    " INSERT INTO contact_fts(contact_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO contact_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE INDEX idx_contact_phone_num ON contact (workspace_id, length(phone), phone)",
]

POSTGRES_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE INDEX idx_contact_search_trgm ON contact USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX idx_contact_phone_num ON contact (workspace_id, length(phone), phone)",
    # The SQL twin of store.fold.fold for filters (SQLite gets a Python function per connection).
    "CREATE OR REPLACE FUNCTION cg_fold(text) RETURNS text AS"
    " $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT",
]


async def forward(apps, schema_editor):
    """Text indexes per dialect, then the derived columns of existing contacts."""
    from store.text import backfill

    postgres = schema_editor.DIALECT == "postgres"
    for sql in POSTGRES_SQL if postgres else SQLITE_SQL:
        await schema_editor.client.execute_script(sql)
    await backfill(schema_editor.client, postgres)
    if not postgres:
        await schema_editor.client.execute_script("INSERT INTO contact_fts(contact_fts) VALUES ('rebuild')")


Migration.operations.append(ops.RunPython(forward))
