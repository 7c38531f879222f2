"""Pages of the API's lists: ``{"count", "next", "previous", "results"}``.

Every list endpoint answers one page at a time: ``?page=N`` (from 1) and ``?page_size=N``
(at most ``API_MAX_PAGE_SIZE``); ``next`` and ``previous`` are the full URLs of the
neighbouring pages, or null. A page past the last is a 404 (DRF's "Invalid page").
"""
from django.conf import settings
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
