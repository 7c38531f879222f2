"""python manage.py staff list | add NAME EMAIL [--role ROLE] [--one-time-password | --link SITE] |
role USERNAME ROLE | deactivate USERNAME | reactivate USERNAME: the Staff page's operations
(attendance/staff.py) for the command line, audit-logged with no user (the system)."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from attendance import staff


class Command(BaseCommand):
    help = "Staff accounts, as the Staff page manages them: list, add, change role, deactivate, reactivate."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="operation", required=True)
        commands.add_parser("list", help="every account: username, name, e-mail, role, active, classes")
        add = commands.add_parser("add", help="add a teacher, office staff or school admin")
        add.add_argument("name")
        add.add_argument("email", help="their e-mail address, also their user name")
        add.add_argument("--role", choices=[r for r, _ in staff.ROLE_CHOICES], default=staff.TEACHER)
        how = add.add_mutually_exclusive_group()
        how.add_argument("--one-time-password", action="store_true",
                         help="print a one-time password (changed at first sign-in)")
        how.add_argument("--link", metavar="SITE", help="print (and e-mail, with EMAIL_HOST) a set-password link on "
                                                       "the site's address, e.g. https://attendance.school.example")
        role = commands.add_parser("role", help="change a user's role")
        role.add_argument("username")
        role.add_argument("role", choices=[r for r, _ in staff.ROLE_CHOICES])
        for name in ("deactivate", "reactivate"):
            commands.add_parser(name, help=f"{name} a user (never deleted)").add_argument("username")

    def handle(self, operation, **options):
        try:
            if operation == "list":
                for member in staff.staff_members():
                    user = member.user
                    self.stdout.write("\t".join([user.get_username(), user.get_full_name(), user.email,
                                                 member.role, "active" if user.is_active else "deactivated",
                                                 ", ".join(member.classes)]))
            elif operation == "add":
                user = staff.add_staff(options["name"], options["email"], options["role"], None)
                self.stdout.write(f"Added {user.get_username()} ({options['role']}).")
                if options["one_time_password"]:
                    self.stdout.write(f"One-time password: {staff.issue_one_time_password(user, None)}")
                elif options["link"]:
                    self.stdout.write(f"Set-password link: {staff.set_password_link(user, options['link'], None)}")
            elif operation == "role":
                staff.change_role(self._user(options["username"]), options["role"], None)
            else:
                staff.set_active(self._user(options["username"]), operation == "reactivate", None)
        except staff.StaffError as exc:
            raise CommandError(str(exc)) from exc

    @staticmethod
    def _user(username):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user
