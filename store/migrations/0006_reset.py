from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_fts_trigger_on_change')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ResetTarget',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('models.ResetRun', source_field='run_id', db_constraint=True, to_field='id', related_name='targets', on_delete=OnDelete.CASCADE)),
                ('contact_id', fields.IntField()),
            ],
            options={'table': 'reset_target', 'app': 'models', 'unique_together': (('run', 'contact_id'),), 'pk_attr': 'id', 'table_description': 'A contact a reset run deletes, fixed when the run starts.'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['merged_into_id']),
        ),
        ops.AddIndex(
            model_name='MergeRecord',
            index=Index(fields=['primary_id']),
        ),
        ops.AddIndex(
            model_name='MergeRecord',
            index=Index(fields=['secondary_id']),
        ),
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['identity_id']),
        ),
        ops.AddIndex(
            model_name='Note',
            index=Index(fields=['contact_id']),
        ),
        ops.AddField(
            model_name='ResetRun',
            name='progress',
            field=fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='ResetRun',
            name='requested_by',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ResetRun',
            name='snapshot_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ResetRun',
            name='trigger',
            field=fields.CharField(default='schedule', max_length=16),
        ),
    ]
