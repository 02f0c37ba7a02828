from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL sorts ties by id from the index only when id is in it (SQLite's indexes carry the
# rowid already): a city shared by 125k contacts otherwise costs an incremental sort of them.
POSTGRES_SQL = [
    f"CREATE INDEX IF NOT EXISTS idx_contact_{col}_id ON contact (workspace_id, {col}, id)"
    for col in ("name_key", "email", "company", "city", "country")
]


async def forward(apps, schema_editor):
    if schema_editor.DIALECT == "postgres":
        for sql in POSTGRES_SQL:
            await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0003_filter_indexes")]

    initial = False

    operations = [ops.RunPython(forward)]
