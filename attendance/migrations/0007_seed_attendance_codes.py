"""The four attendance codes every school starts with; renamed and extended in the admin."""
from django.db import migrations

#: (code, label, mark, counts_as, needs_reason, order); the same as attendance.codes.SEEDED.
CODES = [
    ("present", "Present", "✓", "present", False, 10),
    ("late", "Late", "L", "present", False, 20),
    ("absent", "Absent", "✗", "absent", False, 30),
    ("excused", "Excused", "E", "absent", True, 40),
]


def seed(apps, schema_editor):
    AttendanceCode = apps.get_model("attendance", "AttendanceCode")
    for code, label, mark, counts_as, needs_reason, order in CODES:
        AttendanceCode.objects.get_or_create(code=code, defaults={
            "label": label, "mark": mark, "counts_as": counts_as, "needs_reason": needs_reason, "order": order})


def unseed(apps, schema_editor):
    apps.get_model("attendance", "AttendanceCode").objects.filter(code__in=[c[0] for c in CODES]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("attendance", "0006_attendance_codes"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
