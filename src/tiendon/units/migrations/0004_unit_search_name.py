# The unit picker's folded names (units.folding.search_name), filled for the units already
# stored; from now on Unit.save() and the seed keep the column in step.

from django.db import migrations, models

from tiendon.units.folding import search_name


def fill_search_names(apps, schema_editor):
    Unit = apps.get_model("units", "Unit")
    units = list(Unit.objects.only("pk", "name", "short_name", "code"))
    for unit in units:
        unit.search_name = search_name(unit.name, unit.short_name, unit.code)
    Unit.objects.bulk_update(units, ["search_name"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ('units', '0003_unit_place_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='unit',
            name='search_name',
            field=models.CharField(default='', editable=False, max_length=1000),
        ),
        migrations.RunPython(fill_search_names, migrations.RunPython.noop, elidable=True),
    ]
