"""Pages of the API's lists: ``{"count", "next", "previous", "results"}``.

Every list endpoint answers one page at a time: ``?page=N`` (from 1) and ``?page_size=N``
(at most ``API_MAX_PAGE_SIZE``); ``next`` and ``previous`` are the full URLs of the
neighbouring pages, or null. A page that does not exist (past the last, 0, not a number)
is a 404 saying which pages there are.
"""
from django.conf import settings
from django.utils.translation import ngettext
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings


class Pages(PageNumberPagination):
    """DRF's page-number pagination with the page sizes read from the settings.

    ``page_size`` is ``REST_FRAMEWORK["PAGE_SIZE"]`` (``API_PAGE_SIZE``, default 100: a
    class's roster, a session's records and a photo's faces fit one page);
    ``max_page_size`` is ``API_MAX_PAGE_SIZE`` (default 1000), the most a client may ask
    for with ``?page_size=``, so one request's memory and time stay bounded.
    """

    page_size_query_param = "page_size"

    @property
    def page_size(self) -> int:
        return api_settings.PAGE_SIZE

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        """DRF's page of ``queryset``; a page that does not exist raises NotFound (404)
        naming the pages there are, instead of DRF's "Invalid page."."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            size = self.get_page_size(request)
            pages = self.django_paginator_class(queryset, size).num_pages
            raise NotFound(ngettext("There is no page %(page)s of this list: it has %(pages)s page of %(size)s rows "
                                    "at most (?page=1 to ?page=%(pages)s).",
                                    "There is no page %(page)s of this list: it has %(pages)s pages of %(size)s rows "
                                    "at most (?page=1 to ?page=%(pages)s).", pages) % {
                "page": request.query_params.get(self.page_query_param, "")[:20], "pages": pages, "size": size})
