"""python manage.py serve: the production web server (waitress, attendance/wiring/server.py)."""
from django.core.management.base import BaseCommand

from attendance.wiring.server import create_server, waitress_options


class Command(BaseCommand):
    help = "Serve the web app with waitress, its limits set (attendance/wiring/server.py)."

    def add_arguments(self, parser):
        parser.add_argument("--listen", default="127.0.0.1:8000", help="host:port (default 127.0.0.1:8000)")

    def handle(self, listen, **options):
        # Imported here, not at the top: importing wsgi builds the WSGI application
        # (django.setup, every middleware), wanted only when serving, not for --help.
        from attendance.wiring.wsgi import application

        server = create_server(application, listen)
        shown = {key: value for key, value in waitress_options(listen).items() if key != "listen"}
        self.stdout.write(f"Serving on http://{listen}/ with waitress: "
                          + ", ".join(f"{key}={value}" for key, value in shown.items()), ending="\n")
        self.stdout.flush()
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
