"""Report pages and their CSV and XLSX downloads, for a class or a student over a date range."""
import io
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext as _

from attendance import access
from attendance.reports import building, exports, register_export
from attendance.web.forms import ReportRangeForm
from attendance.web.views.common import form_status


def _report_range(request) -> tuple[ReportRangeForm, building.DateRange]:
    """The date range a report page or download covers: the one asked for (?from=&to=),
    else (none asked for, or a wrong one) the default (the current term, else all dates).
    A wrong one leaves the form's errors: the page shows them with the default, HTTP 400."""
    if "from" in request.GET or "to" in request.GET:
        form = ReportRangeForm(request.GET)
        if form.is_valid():
            return form, building.DateRange(form.cleaned_data["from"], form.cleaned_data["to"])
        return form, building.default_range()
    date_range = building.default_range()
    return ReportRangeForm(initial={"from": date_range.start, "to": date_range.end}), date_range


def _download(request, name: str, fallback, extension: str, content) -> HttpResponse:
    """A report download (``extension`` "csv" or "xlsx") of the range asked for
    (?from=&to=): ``content(date_range)`` gives the file's text or bytes, named after
    ``name`` (``fallback`` when it slugs to nothing) and the range. A wrong range is
    answered 400 with the form's errors, never with a file of another range than asked."""
    form, date_range = _report_range(request)
    if form.errors:
        errors = _("; ").join(m for messages in form.errors.values() for m in messages)
        return HttpResponse(_("Wrong date range: %(errors)s") % {"errors": errors}, status=400,
                            content_type="text/plain; charset=utf-8")
    response = HttpResponse(content(date_range), content_type=_CONTENT_TYPES[extension])
    response["Content-Disposition"] = f'attachment; filename="{_report_filename(name, fallback, date_range, extension)}"'
    return response


_CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


#: Put before a report's CSV for people (class and student reports): without it Excel reads
#: UTF-8 as the computer's own code page, so Chinese (or accented) names come out garbled.
#: Not before the register export, read by the school's information system.
EXCEL_BOM = "\ufeff"


def _csv_text(write, rows, bom: str = "") -> str:
    """The CSV text ``write(out, rows)`` writes (``exports.write_class_csv``, ``write_student_csv``),
    after ``bom`` (``EXCEL_BOM`` or "")."""
    out = io.StringIO()
    out.write(bom)
    write(out, rows)
    return out.getvalue()


def _range_query(date_range: building.DateRange) -> str:
    """The query string giving a download the page's range."""
    return urlencode({"from": date_range.start or "", "to": date_range.end or ""})


def _report_filename(name: str, fallback, date_range: building.DateRange, extension: str) -> str:
    parts = ["attendance", slugify(name) or str(fallback), date_range.slug()]
    return "-".join(p for p in parts if p) + "." + extension


@login_required
def class_report(request, class_id):
    school_class = access.get_class_for_report(request.user, class_id)
    form, date_range = _report_range(request)
    report = building.class_report(school_class, date_range)
    return render(request, "attendance/class_report.html", {
        "school_class": school_class, "report": report, "sessions": report.sessions, "rows": report.rows,
        "codes": report.codes, "form": form, "range_query": _range_query(date_range),
        "threshold": building.threshold(), "chart_data": report.chart_data(), "days": report.rate_by_date(),
    }, status=form_status(form))


@login_required
def class_report_csv(request, class_id):
    school_class = access.get_class_for_report(request.user, class_id)
    return _download(request, school_class.name, school_class.pk, "csv", lambda date_range: _csv_text(
        exports.write_class_csv, building.class_report(school_class, date_range), EXCEL_BOM))


@login_required
def class_report_xlsx(request, class_id):
    school_class = access.get_class_for_report(request.user, class_id)
    return _download(request, school_class.name, school_class.pk, "xlsx", lambda date_range: exports.class_xlsx(
        building.class_report(school_class, date_range)))


@login_required
def student_report(request, student_id):
    """A student's attendance over a date range, in the classes whose reports the user reads."""
    student = access.get_student_for_report(request.user, student_id)
    form, date_range = _report_range(request)
    report = building.student_report(student, access.report_classes(request.user), date_range)
    return render(request, "attendance/student_report.html", {
        "student": student, "report": report, "form": form, "range_query": _range_query(date_range),
        "threshold": building.threshold(), "chart_data": report.chart_data(),
        "can_open_sessions": access.role(request.user) != "office",
    }, status=form_status(form))


@login_required
def student_report_csv(request, student_id):
    student = access.get_student_for_report(request.user, student_id)
    return _download(request, student.name, student.pk, "csv", lambda date_range: _csv_text(
        exports.write_student_csv, building.student_history(student, access.report_classes(request.user), date_range),
        EXCEL_BOM))


@login_required
def student_report_xlsx(request, student_id):
    student = access.get_student_for_report(request.user, student_id)
    return _download(request, student.name, student.pk, "xlsx", lambda date_range: exports.student_xlsx(
        building.student_report(student, access.report_classes(request.user), date_range)))


@login_required
def registers_export(request):
    """The register export for the school's information system: a date range and the CSV
    download (school admins and office staff)."""
    access.require_school_exports(request.user)
    form, date_range = _report_range(request)
    return render(request, "attendance/registers_export.html", {
        "form": form, "date_range": date_range, "range_query": _range_query(date_range),
        "columns": register_export.COLUMNS,
    }, status=form_status(form))


@login_required
def registers_export_csv(request):
    """The CSV of ``register_export.register_rows`` for every class over the asked range."""
    access.require_school_exports(request.user)
    return _download(request, "registers", "school", "csv", lambda date_range: _csv_text(
        register_export.write_register_csv, register_export.register_rows(access.report_classes(request.user),
                                                                          date_range)))
