"""DRF permission classes that ask ``attendance.access``, so the API allows exactly what the
web pages allow.

Each class checks an object (a class or a session) with one ``access`` function for
reading (GET, HEAD, OPTIONS) and one for changing. Those functions raise
``PermissionDenied`` when the user may not; the permission then refuses with the same
message (HTTP 403; 401 when no credentials were sent).
"""
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext
from rest_framework.permissions import SAFE_METHODS, BasePermission

from attendance import access


class _AccessPermission(BasePermission):
    #: access functions ``(user, pk)`` that return the object or raise PermissionDenied.
    read = staticmethod(access.get_class)
    write = staticmethod(access.get_class)

    def object_pk(self, obj) -> int:
        """The pk the access function is asked about."""
        return obj.pk

    def has_object_permission(self, request, view, obj):
        check = self.read if request.method in SAFE_METHODS else self.write
        try:
            check(request.user, self.object_pk(obj))
        except PermissionDenied as exc:
            if request.method not in SAFE_METHODS and access.is_office_staff(request.user):
                self.message = gettext("Office staff read the register; they cannot upload photos or change it.")
            elif str(exc):
                self.message = str(exc)
            return False
        return True


class ClassReportReader(_AccessPermission):
    """A class (``SchoolClass``): read by whoever may read its report (admins, its teacher,
    office staff: ``access.get_class_for_report``); changed (photos uploaded) only by an
    admin or its teacher (``access.get_class``)."""

    read = staticmethod(access.get_class_for_report)
    write = staticmethod(access.get_class)


class _SessionPermission(_AccessPermission):
    def object_pk(self, obj) -> int:
        # A session, or an object of one (a record, a photo: the browsable API's forms
        # check those too): always the session's pk.
        return getattr(obj, "session_id", None) or obj.pk


class SessionTeacher(_SessionPermission):
    """A session's page, photos and progress (``ClassSession``): admins and the class's
    teacher only, as the session page (``access.get_session``); never office staff."""

    read = staticmethod(access.get_session)
    write = staticmethod(access.get_session)


class SessionReportReader(_SessionPermission):
    """A session's register (``ClassSession``): read as the class report
    (``access.get_session_for_report``: office staff too); changed by hand only by an admin
    or the class's teacher (``access.get_session``)."""

    read = staticmethod(access.get_session_for_report)
    write = staticmethod(access.get_session)


class FaceTeacher(SessionTeacher):
    """A face of a session's photos (``DetectedFace``): read and decided as its session's
    page (``access.get_session``: admins and the class's teacher; never office staff)."""

    def object_pk(self, obj) -> int:
        return obj.photo.session_id
