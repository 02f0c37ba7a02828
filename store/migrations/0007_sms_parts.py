from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_reset')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MessagePart',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('models.Workspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('channel', fields.ForeignKeyField('models.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('external_id', fields.CharField(max_length=128)),
                ('ref', fields.CharField(max_length=64)),
                ('number', fields.SmallIntField()),
                ('total', fields.SmallIntField()),
                ('provider_message_id', fields.CharField(max_length=255)),
                ('set_key', fields.CharField(max_length=255)),
                ('inbound', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('assembled_as', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'message_part', 'app': 'models', 'unique_together': (('channel', 'provider_message_id'),), 'indexes': [Index(fields=['channel_id', 'external_id', 'ref', 'total']), Index(fields=['received_at'])], 'pk_attr': 'id', 'table_description': 'One part of a multipart message (SMS concat): waits for its set, then stays as a dedupe mark.'},
            bases=['Model'],
        ),
    ]
