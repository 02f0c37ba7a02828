from tortoise import migrations
from tortoise.migrations import operations as ops

# search_text now carries each identity's scoped id (a WhatsApp BSUID) beside its username and
# external id: recompute it for the contacts that have one, so a search by the BSUID finds them.


async def forward(apps, schema_editor):
    from store.db import ClientTx
    from store.text import refresh

    postgres = schema_editor.DIALECT == "postgres"
    tx = ClientTx(schema_editor.client, "postgres" if postgres else "sqlite")
    rows = await tx.fetch(
        "SELECT DISTINCT contact_id FROM identity WHERE scoped_id IS NOT NULL"
        " AND scoped_id <> external_id"
    )
    await refresh(tx, sorted(int(r[0]) for r in rows))


class Migration(migrations.Migration):
    dependencies = [("models", "0009_phone_key")]

    initial = False

    operations = [ops.RunPython(forward)]
