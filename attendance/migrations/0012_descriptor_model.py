"""Every stored descriptor says which model made it (``descriptor_model``); today's rows
were all made by dlib's ResNet v1 on 5-point landmarks, the default settings' model."""
from django.db import migrations, models

#: ``attendance.engine.model_id()`` of the default settings when this migration was written
#: (FACE_LANDMARK_POINTS=5). A literal: a migration must not depend on settings. A site that
#: ran with 68 points is stamped 5pt too, and the system check then asks for ``reencode``.
TODAYS_MODEL_ID = "dlib-resnet-v1/5pt"


def stamp_todays_descriptors(apps, schema_editor):
    """Stamp ``TODAYS_MODEL_ID`` on every stored descriptor: enrolment photos that have one,
    every class-photo face and every learnt template."""
    apps.get_model("attendance", "EnrolmentPhoto").objects.filter(descriptor__isnull=False).update(
        descriptor_model=TODAYS_MODEL_ID)
    apps.get_model("attendance", "DetectedFace").objects.update(descriptor_model=TODAYS_MODEL_ID)
    apps.get_model("attendance", "LearntTemplate").objects.update(descriptor_model=TODAYS_MODEL_ID)


class Migration(migrations.Migration):

    dependencies = [
        ('attendance', '0011_names_without_control_characters'),
    ]

    operations = [
        migrations.AddField(
            model_name='detectedface',
            name='descriptor_model',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='enrolmentphoto',
            name='descriptor_model',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='learnttemplate',
            name='descriptor_model',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(stamp_todays_descriptors, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('record_changed', 'Attendance changed by hand'), ('face_reviewed', 'Face reviewed'), ('student_enrolled', 'Student enrolled'), ('photos_added', 'Enrolment photos added'), ('duplicate_resolved', 'Look-alike photo decided'), ('consent_recorded', 'Consent recorded'), ('consent_withdrawn', 'Consent withdrawn'), ('deleted', 'Deleted'), ('machine_changed', 'Face decision changed by the machine'), ('register_confirmed', 'Register confirmed'), ('template_removed', 'Learnt template removed'), ('reencoded', 'Descriptors re-encoded')], max_length=20),
        ),
    ]
