from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "attendance"

    def ready(self):
        # Imported here: Django imports apps.py before the models are ready, and these
        # modules need them (app-loading order, not a hidden circle).
        from attendance.wiring import checks  # noqa: F401 - registers the system checks
        from attendance.wiring import signin

        signin.connect_signals()  # and, by importing it, the sign-in signal receivers
        if apps_has_admin():
            from attendance.admin import cover_every_admin

            cover_every_admin()  # every list's date lookups in range, DRF's and Django's too


def apps_has_admin() -> bool:
    from django.apps import apps

    return apps.is_installed("django.contrib.admin")
