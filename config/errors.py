"""Error pages in the site's layout. Django renders 400.html, 403.html, 404.html and 500.html
itself; a 405 (a GET on an address that only takes a form's POST) it answers with an empty
body, which a person sees as a blank page. With DEBUG on (`make run`) it answers a 404 with its
technical page instead of ours."""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.loader import render_to_string
from django.views.defaults import page_not_found


class MethodNotAllowedPage:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            response.content = render_to_string("405.html", request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response


class NotFoundPageInDebug:
    """Under DEBUG, Django answers a 404 with its technical page, which lists every URL pattern
    of the site and is unstyled under our CSP: a newcomer running `make run` should see the
    404 people will see. (A 500 keeps Django's traceback page: that one is worth reading.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No resolver match: the address matched no pattern, and the 404 is Django's own.
        # (A view that answers 404 itself, a feed say, has matched and is left alone.)
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
