"""A call that is closed, not open yet, or not published refuses submissions with a page
that says so, and keeps nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.models import OpenCall, Submission

from .conftest import call_url, form_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"closes_at": timedelta(hours=-1)}, 410, b"has closed"),
        ({"opens_at": timedelta(days=2)}, 410, b"opens on"),
        ({"status": OpenCall.Status.DRAFT}, 404, b"not open"),
    ],
)
def test_closed_future_and_draft_calls_refuse_submissions_with_a_clear_page(
    call, change, status, words
):
    values = {k: (timezone.now() + v if isinstance(v, timedelta) else v) for k, v in change.items()}
    OpenCall.objects.filter(pk=call.pk).update(**values)
    page = Client().get(call_url(call))
    assert page.status_code == status and words in page.content
    posted = Client().post(call_url(call), form_data(call))
    assert posted.status_code == status and words in posted.content
    assert not Submission.objects.exists()
