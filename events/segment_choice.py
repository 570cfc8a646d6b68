"""The segment an organizer page is narrowed to by `?segment=<id>` (the funnel, the themes):
shared by views, which may not import each other."""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from .models import Segment, Team
from .permissions import get_or_404
from .services import ServiceError, segments

MAX_ID_DIGITS = 10


def chosen_segment(
    request: HttpRequest, team: Team
) -> tuple[Segment | None, list[segments.Condition] | None]:
    """The segment of `?segment=` and its clean definition: nothing asked, (None, None); not a
    number, or a definition naming a removed attribute, a ServiceError (the page says it, 400);
    another team's, or one the viewer may not see, a 404."""
    raw = request.GET.get("segment", "")
    if not raw:
        return None, None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS):
        raise ServiceError(_("“%(raw)s” is not one of the team's segments.") % {"raw": raw[:20]})
    found = get_or_404(
        request, Segment.objects.filter(team=team).select_related("team"), "panel.view", pk=raw
    )
    return found, segments.definition_of(found)
