"""The roles of the school's users, decided from the user alone (no model of this app):
school admin, office staff, teacher. ``access`` decides from them who may see what;
``models.SchoolClass.clean`` refuses office staff as a class's teacher with
``check_teacher``. The roles do not combine (see ``access``)."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext


#: The Django auth group of read-only office staff (created by migration 0002).
OFFICE_STAFF_GROUP = "Office staff"


def is_school_admin(user) -> bool:
    """True for a signed-in, active staff user: a school admin sees and does everything."""
    return user.is_authenticated and user.is_active and user.is_staff


def is_office_staff(user) -> bool:
    """True for a signed-in member of the "Office staff" group (who is not a school admin)."""
    return (user.is_authenticated and user.is_active and not user.is_staff
            and user.groups.filter(name=OFFICE_STAFF_GROUP).exists())


def role(user) -> str:
    """"admin", "office" or "teacher": what the pages offer the user."""
    if is_school_admin(user):
        return "admin"
    return "office" if is_office_staff(user) else "teacher"


def teacher_candidates() -> QuerySet:
    """The users the class forms offer as a class's teacher: active teachers, never office
    staff, and no school admin account unless it already teaches a class (made before this
    rule, or by hand in the database): a school admin who also teaches is given a teacher
    account of their own on the Staff page, so the admin account is not offered by mistake."""
    return (get_user_model().objects.filter(is_active=True)
            .filter(Q(is_staff=False) | Q(classes_taught__isnull=False) | Q(classes_co_taught__isnull=False))
            .exclude(is_staff=False, groups__name=OFFICE_STAFF_GROUP).distinct().order_by("username"))


def check_teacher(user) -> None:
    """Raises django.core.exceptions.ValidationError (code "office_staff_teacher") when
    ``user`` is office staff: office staff never see photos or faces, which a class's
    teacher uploads and reviews."""
    if user is not None and is_office_staff(user):
        raise ValidationError(gettext("%(username)s is office staff, who never see photos or faces: a class's "
                                      "teacher must be a teacher (or a school admin).")
                              % {"username": user.get_username()}, code="office_staff_teacher")
