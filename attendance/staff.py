"""The school's staff accounts, managed by school admins on the Staff page (and
``manage.py staff``): list, add a teacher, office staff or school admin, a set-password link
or a one-time password, change a role, deactivate and reactivate. Accounts are never
deleted: a deactivated teacher keeps their classes and records but cannot sign in.

The roles are ``attendance.roles``'s (school admin: ``is_staff``; office staff: the
"Office staff" group; teacher: any other user). Every change writes the audit log
(``AuditEntry.STAFF_CHANGED``).
"""
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _, gettext_lazy, gettext_noop, ngettext

from attendance import audit
from attendance.models import AuditEntry, PasswordChangeRequired, SchoolClass
from attendance.roles import OFFICE_STAFF_GROUP
from attendance.text import validate_single_line_text
from attendance.wiring.signin import revoke_api_tokens

TEACHER, OFFICE, ADMIN = "teacher", "office", "admin"
#: The roles the Staff page offers, as ``roles.role`` names them.
#: ``ROLE_LABELS``: the English names, as the audit log records them; ``ROLE_CHOICES`` and
#: ``role_label``: in the reader's language, for the pages.
ROLE_LABELS = {TEACHER: gettext_noop("Teacher"), OFFICE: gettext_noop("Office staff"),
               ADMIN: gettext_noop("School admin")}
ROLE_CHOICES = [(role, gettext_lazy(label)) for role, label in ROLE_LABELS.items()]


def role_label(staff_role: str) -> str:
    """The role's name in the active language ("Teacher", 老师)."""
    return _(ROLE_LABELS[staff_role])

#: Length of a one-time password in characters of ``secrets.token_urlsafe`` (6 bits
#: each: 14 characters are 84 bits, beyond guessing within the sign-in throttle).
ONE_TIME_PASSWORD_BYTES = 10


class StaffError(Exception):
    """A staff change refused; the message says why. Nothing was changed."""


@dataclass
class StaffMember:
    """One row of the Staff page: the user, their role and the classes they teach."""

    user: object
    role: str
    classes: list[str]

    @property
    def role_label(self) -> str:
        return role_label(self.role)


def staff_members() -> list[StaffMember]:
    """Every user account, active or not, by username, with role and taught classes (names)."""
    users = get_user_model().objects.order_by("username").prefetch_related("groups", "classes_taught",
                                                                            "classes_co_taught")
    return [StaffMember(user, _role_of(user), sorted({c.name for c in [*user.classes_taught.all(),
                                                                         *user.classes_co_taught.all()]}))
            for user in users]


def _role_of(user) -> str:
    """The user's role from their flags, active or not (``roles.role`` says "teacher" for
    anyone inactive, as they may do nothing)."""
    if user.is_staff:
        return ADMIN
    return OFFICE if any(g.name == OFFICE_STAFF_GROUP for g in user.groups.all()) else TEACHER


def _office_group() -> Group:
    return Group.objects.get_or_create(name=OFFICE_STAFF_GROUP)[0]


def _snapshot(user) -> dict:
    return {"username": user.get_username(), "name": user.get_full_name(), "email": user.email,
            "role": _role_of(user), "active": user.is_active}


@transaction.atomic
def add_staff(name: str, email: str, staff_role: str, by) -> object:
    """Create a staff account: the username is the e-mail address (what they sign in with),
    the name is split into first name (first word) and last name (the rest); no usable
    password until a set-password link is used or a one-time password is issued.

    Args:
        name: the person's full name, one line.
        email: their e-mail address (also the username).
        staff_role: TEACHER, OFFICE or ADMIN.
        by: the school admin adding them (audit log).

    Returns the new user. Raises StaffError: a bad name, e-mail or role, or an account
    with that e-mail or username exists.
    """
    name, email = " ".join(name.split()), email.strip().lower()
    try:
        validate_single_line_text(name)
        validate_email(email)
    except ValidationError as exc:
        raise StaffError(" ".join(exc.messages)) from exc
    if not name or len(name) > 300:
        raise StaffError(_("Give the person's name (at most 300 characters)."))
    if staff_role not in ROLE_LABELS:
        raise StaffError(_("Unknown role %(role)s: choose teacher, office or admin.") % {"role": repr(staff_role)})
    User = get_user_model()
    if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
        raise StaffError(_("An account for %(email)s already exists; nothing was added.") % {"email": email})
    first, _space, last = name.partition(" ")
    user = User(username=email, email=email, first_name=first[:150], last_name=last[:150],
                is_staff=staff_role == ADMIN)
    user.set_unusable_password()
    user.save()
    if staff_role == OFFICE:
        user.groups.add(_office_group())
    audit.record(by, AuditEntry.STAFF_CHANGED, user, f"{ROLE_LABELS[staff_role]} {name} ({email}) added",
                 before=None, after=_snapshot(user))
    return user


def set_password_link(user, base_url: str, by, send: bool = True) -> str:
    """A link with which ``user`` chooses their password (Django's password-reset token:
    valid ``settings.PASSWORD_RESET_TIMEOUT`` seconds, 3 days by default, and only until
    the password changes or they sign in). E-mailed to them too when ``send`` and the
    server sends e-mail (``settings.EMAIL_HOST`` set) and they have an address.

    Args:
        base_url: the site's address as the admin reached it ("https://school.example").

    Returns the link, for the admin to pass on. Raises StaffError for an inactive user, the
    admin's own account (they use /password/) or a superuser (no school admin takes one over).
    """
    _refuse_self_or_superuser(user, by, _("You cannot make a set-password link for your own account; ask another "
                                          "school admin."))
    if not user.is_active:
        raise StaffError(_("%(username)s is deactivated: reactivate the account first.")
                         % {"username": user.get_username()})
    path = reverse("password_reset_confirm", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                                     "token": default_token_generator.make_token(user)})
    link = base_url.rstrip("/") + path
    sent = bool(send and settings.EMAIL_HOST and user.email)
    if sent:
        # In the language of the admin who made the link (the page's): the new member has
        # not chosen one yet.
        days = settings.PASSWORD_RESET_TIMEOUT // 86400 or 1
        send_mail(_("Your Class Attendance account"),
                  _("Choose your password for Class Attendance (user name %(username)s):\n\n%(link)s\n\n")
                  % {"username": user.get_username(), "link": link}
                  + ngettext("The link works once and expires in %(days)d day.",
                             "The link works once and expires in %(days)d days.", days) % {"days": days},
                  None, [user.email])
    audit.record(by, AuditEntry.STAFF_CHANGED, user,
                 f"Set-password link made for {user.get_username()}" + (" and e-mailed" if sent else ""),
                 after={"link_emailed": sent})
    return link


@transaction.atomic
def issue_one_time_password(user, by) -> str:
    """Give ``user`` a random password, returned to be shown once to the admin who passes it
    on; at their next sign-in every page sends them to /password/ to choose their own
    (``PasswordChangeRequired``). Their API tokens are revoked (as for any password change).

    Raises StaffError for an inactive user, the admin's own account or a superuser.
    """
    _refuse_self_or_superuser(user, by, _("You cannot issue a one-time password for your own account; ask another "
                                          "school admin."))
    _lock_rows_and_check_admin(user, by)
    if not user.is_active:
        raise StaffError(_("%(username)s is deactivated: reactivate the account first.")
                         % {"username": user.get_username()})
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    user.set_password(password)
    user.save()  # wiring.signin deletes any earlier PasswordChangeRequired row on a password change
    PasswordChangeRequired.objects.update_or_create(user=user, defaults={"set_by": by if by and by.pk else None})
    audit.record(by, AuditEntry.STAFF_CHANGED, user, f"One-time password issued for {user.get_username()}",
                 after={"must_change_password": True})
    return password


def _refuse_self_or_superuser(user, by, own_account: str) -> None:
    """Raise StaffError with ``own_account`` (the refusal, in words) when ``user`` is ``by``,
    or saying so when ``user`` is a superuser."""
    if by is not None and user.pk == getattr(by, "pk", None):
        raise StaffError(own_account)
    if user.is_superuser:
        raise StaffError(_("%(username)s is a superuser, managed with Django's admin or manage.py, not on the Staff "
                           "page.") % {"username": user.get_username()})


def _lock_rows_and_check_admin(user, by) -> None:
    """Locks the rows of ``user`` and of the school admin ``by`` (``select_for_update``, in
    id order), reloads ``user``, and refuses when ``by`` is no longer an active school
    admin: two admins demoting or deactivating each other at the same moment cannot both
    succeed and leave the school without one. ``by`` None (the command line) checks nothing.

    Raises StaffError: ``by`` was demoted or deactivated meanwhile (nothing changed).
    """
    if by is None or not getattr(by, "pk", None):
        user.refresh_from_db()
        return
    rows = {row.pk: row for row in get_user_model().objects.select_for_update()
            .filter(pk__in=[user.pk, by.pk]).order_by("pk")}
    actor = rows.get(by.pk)
    if actor is None or not (actor.is_active and actor.is_staff):
        raise StaffError(_("Your account is no longer a school admin's: nothing was changed."))
    user.refresh_from_db()


def taught_class_names(user) -> list[str]:
    """Names of the classes ``user`` is the teacher or a co-teacher of."""
    return sorted(SchoolClass.objects.filter(Q(teacher=user) | Q(co_teachers=user)).distinct()
                  .values_list("name", flat=True))


@transaction.atomic
def change_role(user, staff_role: str, by) -> None:
    """Make ``user`` a teacher, office staff or school admin.

    Raises StaffError (nothing changed): an unknown role, the admin's own account, a
    superuser, ``by`` no longer a school admin (``_lock_rows_and_check_admin``), or office staff for someone who teaches a class (office staff never see
    photos or faces: give the class another teacher first).
    """
    if staff_role not in ROLE_LABELS:
        raise StaffError(_("Unknown role %(role)s: choose teacher, office or admin.") % {"role": repr(staff_role)})
    _refuse_self_or_superuser(user, by, _("You cannot change the role of your own account; ask another school "
                                          "admin."))
    _lock_rows_and_check_admin(user, by)
    before = _snapshot(user)
    if before["role"] == staff_role:
        return
    if staff_role == OFFICE and (taught := taught_class_names(user)):
        raise StaffError(_("%(username)s teaches %(classes)s: office staff never see photos or faces, so a class's "
                           "teacher cannot be office staff. Give the class another teacher first.")
                         % {"username": user.get_username(), "classes": ", ".join(taught)})
    user.is_staff = staff_role == ADMIN
    user.save(update_fields=["is_staff"])
    if staff_role == OFFICE:
        user.groups.add(_office_group())
    else:
        user.groups.remove(*user.groups.filter(name=OFFICE_STAFF_GROUP))
    audit.record(by, AuditEntry.STAFF_CHANGED, user,
                 f"{user.get_username()}: {ROLE_LABELS[before['role']]} -> {ROLE_LABELS[staff_role]}",
                 before=before, after=_snapshot(user))


@transaction.atomic
def set_active(user, active: bool, by) -> None:
    """Deactivate (``active`` False) or reactivate ``user``. A deactivated user cannot sign
    in or use the API (their tokens are revoked) and keeps their classes, sessions and
    every record; nothing is deleted.

    Raises StaffError: the admin's own account, a superuser, or ``by`` no longer a school
    admin (nothing changed).
    """
    _refuse_self_or_superuser(user, by, _("You cannot deactivate or reactivate your own account; ask another "
                                          "school admin."))
    _lock_rows_and_check_admin(user, by)
    if user.is_active == active:
        return
    before = _snapshot(user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        revoke_api_tokens(user)
    audit.record(by, AuditEntry.STAFF_CHANGED, user,
                 f"{user.get_username()} {'reactivated' if active else 'deactivated'}",
                 before=before, after=_snapshot(user))
