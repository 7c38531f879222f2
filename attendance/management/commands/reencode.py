"""python manage.py reencode: describe every stored descriptor of another face model again
with the current one (attendance/roster/reencode.py), after a change of model or of
FACE_LANDMARK_POINTS. Idempotent; exits 1 when an enrolment photo could not be described."""
from django.core.management.base import BaseCommand, CommandError

from attendance.wiring.checks import SkipStaleDescriptorCheck
from attendance.roster.reencode import reencode_descriptors
from attendance.text import counted


class Command(SkipStaleDescriptorCheck, BaseCommand):
    help = ("Describe stored enrolment photos, class-photo faces and learnt templates again with the current "
            "face model, so the system check attendance.E002 passes.")

    def handle(self, **options):
        result = reencode_descriptors()
        if not result.previous_models:
            self.stdout.write(f"Every stored descriptor is of the current model ({result.model_id}): nothing to do.")
            return
        models = ", ".join(f"{n} of {model}" for model, n in sorted(result.previous_models.items()))
        self.stdout.write(f"Re-encoding for {result.model_id} ({models}):")
        for what, n in result.counts().items():
            self.stdout.write(f"  {n} {what}")
        for line in result.notes:
            self.stdout.write(f"  note: {line}")
        for line in result.failures:
            self.stderr.write(f"  failed: {line}")
        if result.failures:
            raise CommandError(f"{counted(len(result.failures), 'enrolment photo')} could not be described with the current "
                               "model: they are now 'failed'; upload new photos of these students.")
