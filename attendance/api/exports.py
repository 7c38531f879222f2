"""GET /api/v1/exports/registers/: the register for the school's information system, as
JSON or CSV (``Accept: text/csv``), with the permissions of the web page's download
(school admins and office staff: ``access.require_school_exports``)."""
import io

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance import access
from attendance.reports import building, register_export
from attendance.web.forms import ReportRangeForm

from .pagination import Pages


class RegisterCSVRenderer(BaseRenderer):
    """``register_export.write_register_csv`` for a list of rows; an error (a dict with
    ``detail``) as one line of text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, list):
            out = io.StringIO()
            register_export.write_register_csv(out, data)
            return out.getvalue().encode("utf-8")
        detail = data.get("detail", data) if isinstance(data, dict) else data
        return f"{detail}\n".encode("utf-8")


class SchoolExporter(BasePermission):
    """School admins and office staff (``access.require_school_exports``)."""

    message = gettext_lazy("Only school admins and office staff can export the school's registers.")

    def has_permission(self, request, view):
        try:
            access.require_school_exports(request.user)
        except PermissionDenied:
            return False
        return True


_ROWS = inline_serializer("RegisterExportRow", {column: serializers.CharField() for column in register_export.COLUMNS},
                         many=True)


@extend_schema(
    tags=["exports"], summary="The school's registers for the information system",
    description="One row per student per session of every class over the date range (both ends included; without "
                "them the current term, else all dates): the student's school id and name, the class's school id "
                "(its name when it has none), date, period, attendance code and reason. JSON in pages (as "
                "every list), or CSV with `Accept: text/csv`: the whole range in one file, not paginated. "
                "School admins and office staff.",
    parameters=[OpenApiParameter("from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD)."),
                OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (YYYY-MM-DD).")],
    responses={200: _ROWS, 400: OpenApiResponse(description="A wrong date range."),
               403: OpenApiResponse(description="Not a school admin or office staff.")})
class RegisterExport(APIView):
    permission_classes = [IsAuthenticated, SchoolExporter]
    renderer_classes = [JSONRenderer, RegisterCSVRenderer]
    pagination_class = Pages  # JSON only: the CSV is the whole range, as the page's download

    def get(self, request):
        date_range = building.default_range()
        if "from" in request.query_params or "to" in request.query_params:
            form = ReportRangeForm(request.query_params)
            if not form.is_valid():
                raise ValidationError({k: list(v) for k, v in form.errors.items()})
            date_range = building.DateRange(form.cleaned_data["from"], form.cleaned_data["to"])
        rows = register_export.register_rows(access.report_classes(request.user), date_range)
        if request.accepted_renderer.format != "csv":
            paginator = self.pagination_class()
            return paginator.get_paginated_response(paginator.paginate_queryset(rows, request, view=self))
        response = Response(rows)
        response["Content-Disposition"] = f'attachment; filename="registers-{date_range.slug() or "all-dates"}.csv"'
        return response
