"""The home page (your classes, today's registers), the health check and the 400 page."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from attendance import access
from attendance.registers import timetable
from attendance.wiring import health as health_checks


@login_required
def home(request):
    classes = access.report_classes(request.user).select_related("teacher")
    # "Today": the timetabled periods of the classes the user teaches, taken or not.
    today = timezone.localdate()
    taught = access.taught_classes(request.user)
    has_timetable = taught.filter(periods__isnull=False).exists()
    return render(request, "attendance/home.html", {
        "classes": classes, "today": today, "has_timetable": has_timetable,
        "today_registers": timetable.registers_on(today, taught) if has_timetable else [],
        "day_off": timetable.day_off(today) if has_timetable else None,
    })


@require_GET
def health(request):
    """Database, job queue and worker reachability for monitoring: 200 when all answer, else 503."""
    result = health_checks.check_health()
    response = JsonResponse(result, status=200 if health_checks.is_healthy(result) else 503)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request, exception):
    """The 400 page (handler400), naming the problem for the limits a person can run into."""
    status, reason = 400, ""
    if isinstance(exception, TooManyFilesSent):
        reason = _("Too many files in one upload: at most %(limit)s at a time. Nothing was saved; upload them in "
                   "smaller groups.") % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    elif isinstance(exception, TooManyFieldsSent):
        reason = _("The form sent too many fields. Nothing was saved.")
    elif isinstance(exception, RequestDataTooBig):
        status, reason = 413, _("The form sent too much data. Nothing was saved.")
    return render(request, "400.html", {"reason": reason}, status=status)


@require_GET
def favicon(request):
    """``/favicon.ico``, which browsers and tools ask for on their own: a redirect to the
    icon in static/ (302, not permanent: its hashed file name changes with each deployment)."""
    return redirect(static("favicon.ico"))
