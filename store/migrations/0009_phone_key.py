from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_bots')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Contact',
            name='phone_key',
            field=fields.CharField(null=True, max_length=20),
        ),
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['workspace_id', 'phone_key']),
        ),
    ]


async def forward(apps, schema_editor):
    """Canonical phones (where no other contact holds the new form) and their match keys."""
    from store.phones import backfill

    await backfill(schema_editor.client, schema_editor.DIALECT == "postgres")


Migration.operations.append(ops.RunPython(forward))
