"""The "Office staff" group: members read every class's reports, never photos (access.py)."""
from django.db import migrations

OFFICE_STAFF_GROUP = "Office staff"  # access.OFFICE_STAFF_GROUP, frozen here


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=OFFICE_STAFF_GROUP)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=OFFICE_STAFF_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("attendance", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_group, delete_group)]
