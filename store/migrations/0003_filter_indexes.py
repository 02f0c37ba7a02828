from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_search_sort')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Contact',
            index=Index(fields=['workspace_id', 'last_incoming_at']),
        ),
        ops.RemoveIndex(
            model_name='ContactTag',
            name=None,
            fields=['tag_id'],
        ),
        ops.AddIndex(
            model_name='ContactTag',
            index=Index(fields=['tag_id', 'contact_id']),
        ),
    ]
