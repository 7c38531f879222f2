"""The REST API (/api/v1/): the same objects and the same permissions as the web pages.

Every object is reached through ``attendance.access`` (``permissions.py``), uploads go
through ``sessions.upload_class_photos`` with the web form's photo checks, and manual
changes through ``register.set_record`` (audit logged). Descriptors and photo files are
never in the API: photos are linked to the web views that check permission.
"""
