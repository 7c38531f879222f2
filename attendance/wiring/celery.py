"""The Celery application. Workers start with ``celery -A attendance worker``."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance.wiring.settings")

# DjangoTask adds delay_on_commit: tasks are queued only once the upload is committed.
app = Celery("attendance", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
