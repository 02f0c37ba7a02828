from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_audit_target')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ImportJob',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('state', fields.CharField(default='running', max_length=16)),
                ('dry_run', fields.BooleanField(default=False)),
                ('on_conflict', fields.CharField(default='skip', max_length=8)),
                ('rows_done', fields.IntField(default=0)),
                ('rows_total', fields.IntField(default=0)),
                ('result', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('errors_csv', fields.TextField(null=True, unique=False)),
                ('errors_truncated', fields.BooleanField(default=False)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_by', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('heartbeat_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'import_job', 'app': 'models', 'indexes': [Index(fields=['workspace_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A CSV import started through the API: it runs in the background of the process that took'},
            bases=['Model'],
        ),
    ]
