"""The OpenAPI document validates, its reference page works under our CSP with assets from
installed packages, and Schemathesis, run against the live server with a token, finds no
5xx and no response that breaks the document."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from openapi_spec_validator import validate

from .conftest import token_for

pytestmark = pytest.mark.django_db
OPENAPI_JSON = "application/vnd.oai.openapi+json"


def test_the_openapi_document_is_valid_openapi_3_1_and_covers_every_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    from events.api import urls

    paths = set(document["paths"])
    for pattern in urls.v1:
        assert "/api/v1/" + str(pattern.pattern).replace("<int:pk>", "{id}") in paths
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    problem = document["paths"]["/api/v1/events/"]["get"]["responses"]["401"]["content"]
    assert "application/problem+json" in problem


def test_the_reference_page_loads_its_assets_from_here_with_no_inline_code(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<style" not in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all('src="/' in attributes for attributes in scripts)
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', page):
        assert finders.find(asset), asset
    starter = client.get("/api/docs/?script=")
    assert starter.status_code == 200 and b"SwaggerUIBundle" in starter.content


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(
    world, live_server, settings, tmp_path
):
    settings.API_REQUESTS_PER_MINUTE = 1_000_000
    secret = token_for(world.team, world.owner)
    # The team's real objects for the paths' ids, so that requests reach past the 404s (the
    # rest of each request is still generated).
    (tmp_path / "schemathesis.toml").write_text(
        "\n".join(
            f'[[operations]]\ninclude-path-regex = "{regex}"\nparameters = {{ id = {pk} }}\n'
            for regex, pk in [
                ("^/api/v1/events/[{]", world.event.pk),
                ("^/api/v1/sessions/", world.session.pk),
                ("^/api/v1/registrations/[{]", world.registration.pk),
                ("^/api/v1/invitations/[{]", world.invitation.pk),
                ("^/api/v1/calls/[{]", world.call.pk),
                ("^/api/v1/submissions/[{]", world.submission.pk),
                ("^/api/v1/segments/[{]", world.segment.pk),
            ]
        )
    )
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Bearer {secret}",
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance,"
            "status_code_conformance",
            "--max-examples",
            "15",
            "--max-time",
            "60",
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "1",
            "--seed",
            "19",
            "--generation-database",
            "none",
            "--no-color",
            "--request-timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
