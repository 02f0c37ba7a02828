from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

# reset_run gains `kind` and longer `period` / `mode` by hand: tortoise's AlterField rebuilds a
# SQLite table without its UNIQUE (workspace_id, period) constraint (the run's exactly-once
# claim), and its AddField leaves SQLite's new NOT NULL column without a default. SQLite does
# not enforce VARCHAR lengths, so only PostgreSQL widens the columns.
COMMON_SQL = ["ALTER TABLE reset_run ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'reset'"]
POSTGRES_SQL = [
    "ALTER TABLE reset_run ALTER COLUMN period TYPE VARCHAR(10)",
    "ALTER TABLE reset_run ALTER COLUMN mode TYPE VARCHAR(32)",
]


async def forward(apps, schema_editor):
    extra = POSTGRES_SQL if schema_editor.DIALECT == "postgres" else []
    for sql in [*COMMON_SQL, *extra]:
        await schema_editor.client.execute_script(sql)


class AlterFieldState(ops.AlterField):
    """The model state only: `forward` changes the database."""

    async def database_forward(self, *args, **kwargs):
        return None


class AddFieldState(ops.AddField):
    """The model state only: `forward` changes the database."""

    async def database_forward(self, *args, **kwargs):
        return None



class Migration(migrations.Migration):
    dependencies = [('models', '0017_outbox')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['workspace_id', 'received_at']),
        ),
        ops.AlterModelOptions(
            name='ResetRun',
            options={'table': 'reset_run', 'app': 'models', 'unique_together': (('workspace', 'period'),), 'pk_attr': 'id', 'table_description': 'One scheduled deletion of a workspace: a monthly reset (`kind` reset, period `YYYY-MM`)'},
        ),
        AlterFieldState(
            model_name='ResetRun',
            name='mode',
            field=fields.CharField(max_length=32),
        ),
        AlterFieldState(
            model_name='ResetRun',
            name='period',
            field=fields.CharField(max_length=10),
        ),
        AddFieldState(
            model_name='ResetRun',
            name='kind',
            field=fields.CharField(default='reset', max_length=16),
        ),
        ops.RunPython(forward),
        ops.AddField(
            model_name='Workspace',
            name='retention_contact_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Workspace',
            name='retention_message_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Workspace',
            name='retention_set_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Workspace',
            name='retention_set_by',
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
