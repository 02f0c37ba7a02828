from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0013_import_jobs")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DuplicateDismissal",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "workspace",
                    fields.ForeignKeyField(
                        "models.Workspace",
                        source_field="workspace_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "contact_a",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_a_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "contact_b",
                    fields.ForeignKeyField(
                        "models.Contact",
                        source_field="contact_b_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("dismissed_by", fields.CharField(max_length=200)),
                ("dismissed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "duplicate_dismissal",
                "app": "models",
                "unique_together": (("contact_a", "contact_b"),),
                "indexes": [Index(fields=["workspace_id"]), Index(fields=["contact_b_id"])],
                "pk_attr": "id",
                "table_description": "A pair of contacts someone said are not duplicates (store.duplicates): lower id first.",
            },
            bases=["Model"],
        ),
    ]


# The duplicate finder (store.duplicates) groups live contacts by a key: partial indexes hold
# only the live rows that have the key, so each grouping reads one small index and no table row.
# merged_into_id (always NULL in them) is a column too: SQLite counts an index as covering only
# when it holds every column the query names (1M contacts: 900 ms a grouping without it).
# The same statements run on SQLite and PostgreSQL.
INDEXES = [
    "CREATE INDEX idx_contact_dupe_phone ON contact (workspace_id, phone_key, merged_into_id)"
    " WHERE merged_into_id IS NULL AND phone_key IS NOT NULL",
    "CREATE INDEX idx_contact_dupe_identifier"
    " ON contact (workspace_id, identifier, merged_into_id)"
    " WHERE merged_into_id IS NULL AND identifier IS NOT NULL",
    "CREATE INDEX idx_contact_dupe_name ON contact (workspace_id, name_key, merged_into_id)"
    " WHERE merged_into_id IS NULL AND name_key IS NOT NULL",
    "CREATE INDEX idx_identity_email ON identity (workspace_id, email) WHERE email IS NOT NULL",
]


async def forward(apps, schema_editor):
    for sql in INDEXES:
        await schema_editor.client.execute_script(sql)


Migration.operations.append(ops.RunPython(forward))
