"""Students who are one child enrolled twice (e.g. once per class, before students were
school-wide) and whose enrolment photos include a byte-identical file are merged into the
oldest, with their records, photos, templates, consent and memberships
(``roster.merging.merge_identical_enrolments``; each merge is audit-logged). Look-alikes
that are not byte-identical are left for an admin on the "Possible duplicates" page."""
from django.db import migrations


def merge(apps, schema_editor):
    from attendance.roster.merging import merge_identical_enrolments

    merge_identical_enrolments(registry=apps)


class Migration(migrations.Migration):

    dependencies = [
        ("attendance", "0014_different_children"),
    ]

    operations = [
        migrations.RunPython(merge, migrations.RunPython.noop),
    ]
