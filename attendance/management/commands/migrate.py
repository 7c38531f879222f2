"""python manage.py migrate: Django's, except that stored descriptors of another face model
(system check attendance.E002) do not stop it: ``reencode`` needs the migrated database."""
from django.core.management.commands.migrate import Command as DjangoMigrate

from attendance.wiring.checks import SkipStaleDescriptorCheck


class Command(SkipStaleDescriptorCheck, DjangoMigrate):
    pass
