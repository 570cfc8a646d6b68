"""The application's URLs plus one baseline view for benchmarks: the cheapest logged-in POST
that writes to the database (one INSERT into bench_ping, a table the benchmark creates with raw
SQL: no model, no migration)."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from config.urls import urlpatterns as app_urlpatterns


@login_required
@require_POST
def insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_ping (user_id) VALUES (%s)", [request.user.pk])
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [*app_urlpatterns, path("bench/insert/", insert, name="bench_insert")]
