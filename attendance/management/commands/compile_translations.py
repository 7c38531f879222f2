"""python manage.py compile_translations [--force]: the .po catalogues of LOCALE_PATHS
compiled to .mo (pure Python, no msgfmt; README "Languages"). Only those whose .mo is
missing or older than the .po, unless --force."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from attendance.wiring.catalogues import compile_stale


class Command(BaseCommand):
    help = "Compile the translation catalogues (locale/*/LC_MESSAGES/*.po -> .mo) without GNU gettext."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="compile every catalogue, not only stale ones")

    def handle(self, *args, force=False, **options):
        written = []
        for locale_dir in settings.LOCALE_PATHS:
            written += compile_stale(Path(locale_dir), force=force)
        for mo in written:
            self.stdout.write(f"compiled {mo}")
        if not written and options["verbosity"] >= 2:
            self.stdout.write("every catalogue is up to date")
