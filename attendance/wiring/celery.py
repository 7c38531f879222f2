"""The Celery application. Workers start with ``celery -A attendance worker``."""
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance.wiring.settings")

#: The modules that hold tasks, imported by every worker at start: each photo task sits
#: beside the function it wraps; attendance.tasks holds the scheduled ones and the
#: worker_ready handler (tests/test_architecture.py checks every task is registered).
TASK_MODULES = ["attendance.registers.recognition", "attendance.roster.enrolment", "attendance.tasks"]

# DjangoTask adds delay_on_commit: tasks are queued only once the upload is committed.
app = Celery("attendance", task_cls="celery.contrib.django.task:DjangoTask", include=TASK_MODULES)
app.config_from_object("django.conf:settings", namespace="CELERY")

@signals.worker_init.connect
def refuse_stale_descriptors(**kwargs):
    """A worker does not start while stored descriptors were made by another face model
    than the settings give (system check attendance.E002; ``manage.py reencode`` fixes it).
    Celery's Django fixup runs the system checks at start but only logs their errors.

    Raises:
        SystemExit: with the check's message and hint (Celery's signals log and swallow
            ordinary exceptions).
    """
    # Imported here: this module loads with the settings, before Django's apps are ready;
    # worker_init comes after Celery's Django fixup has set them up.
    from attendance.wiring.checks import stored_descriptors_of_current_model

    errors = stored_descriptors_of_current_model()
    if errors:
        raise SystemExit(f"{errors[0].msg}\nHINT: {errors[0].hint}")
