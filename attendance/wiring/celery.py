"""The Celery application. Workers start with ``celery -A attendance worker``."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance.wiring.settings")

#: The modules that hold tasks, imported by every worker at start: each photo task sits
#: beside the function it wraps; attendance.tasks holds the scheduled ones and the
#: worker_ready handler (tests/test_architecture.py checks every task is registered).
TASK_MODULES = ["attendance.registers.recognition", "attendance.roster.enrolment", "attendance.tasks"]

# DjangoTask adds delay_on_commit: tasks are queued only once the upload is committed.
app = Celery("attendance", task_cls="celery.contrib.django.task:DjangoTask", include=TASK_MODULES)
app.config_from_object("django.conf:settings", namespace="CELERY")
