"""The application's URLs plus baseline views for benchmarks:

- the cheapest logged-in POST that writes to the database (one INSERT into bench_ping, a table
  the benchmark creates with raw SQL: no model, no migration);
- the cheapest logged-in page: the site's base layout around one line, with no query of its own
  (only the session and user lookups every logged-in page pays for).
"""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from config.urls import urlpatterns as app_urlpatterns


@login_required
@require_POST
def insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_ping (user_id) VALUES (%s)", [request.user.pk])
    return HttpResponse("ok", content_type="text/plain")


PAGE = engines["django"].from_string(
    '{% extends "base.html" %}{% block head_title %}Bench{% endblock %}'
    "{% block content %}<h1>Hello, {{ user.name }}</h1>{% endblock %}"
)


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.render({}, request))


urlpatterns = [
    *app_urlpatterns,
    path("bench/insert/", insert, name="bench_insert"),
    path("bench/page/", page, name="bench_page"),
]
