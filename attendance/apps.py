from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "attendance"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
        from . import signin

        signin.connect_signals()  # and, by importing it, the sign-in signal receivers
