from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# tortoise's AddField cannot add a NOT NULL column with a Python default to a table that has
# rows ("Cannot add a NOT NULL column with default value NULL"): the same field, added with a
# database default, which SQLite and PostgreSQL both accept.
WORKSPACE_LANGUAGE = "ALTER TABLE workspace ADD COLUMN language VARCHAR(2) NOT NULL DEFAULT 'es'"


class AddFieldWithDefault(ops.AddField):
    """AddField whose column gets its default in the database too (existing rows take it)."""

    def __init__(self, model_name, name, field, sql):
        super().__init__(model_name=model_name, name=name, field=field)
        self.sql = sql

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor:
            await state_editor.client.execute_script(self.sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0015_statuses')]

    initial = False

    operations = [
        AddFieldWithDefault(
            model_name='Workspace',
            name='language',
            field=fields.CharField(default='es', max_length=2),
            sql=WORKSPACE_LANGUAGE,
        ),
        ops.AddField(
            model_name='AdminBinding',
            name='language',
            field=fields.CharField(null=True, max_length=2),
        ),
    ]
