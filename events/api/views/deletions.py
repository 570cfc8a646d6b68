"""Deletions: what the team's integrations must delete from their copies (models.Tombstone).
A client syncing by `updated_since` never sees a row go; it polls this list too, from the
`next_since` its last poll gave (`http.next_since`), and deletes what it names. A token
sees the kinds of objects its scopes let it read (a registration needs
`registrations:read`, ...)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions

from ...models import Tombstone
from ...services import tombstones
from ..http import api, page_of, paginate, query
from ..permissions import token_of
from ..serializers import DeletionQuery, DeletionSerializer

TAGS = ["deletions"]
Kind = Tombstone.Kind

# The area whose read scope shows a kind: the one of the endpoint that lists it.
AREA = {
    Kind.REGISTRATION: "registrations",
    Kind.INVITATION: "invitations",
    Kind.SUBMISSION: "calls",
    Kind.SURVEY_RESPONSE: "surveys",
    Kind.PANEL_MEMBER: "calls",
    Kind.SEGMENT: "calls",
}


@extend_schema(
    tags=TAGS,
    summary="What was removed: the objects an integration must delete from its copy",
    description="Registrations, invitations, submissions, named survey responses, panel "
    "members and segments that were deleted, or anonymised (erased people, the retention "
    "policy), oldest first: ask again with the `next_since` of the last page as `since` "
    "(a removal still being committed is never before it). "
    f"Kept for {tombstones.KEEP_DAYS} days: a `since` older than that is refused, and the "
    "client resyncs in full. Only the types the token's scopes let it read.",
    parameters=[DeletionQuery],
    responses=page_of(DeletionSerializer, sync=True),
)
@api(["GET"], None)
def deletions(request):
    filters = query(request, DeletionQuery)
    token = token_of(request)
    if "type" in filters:
        area = AREA[filters["type"]]
        if not token.allows(area, "read"):
            raise exceptions.PermissionDenied(
                _("This token lacks the scope %(scope)s.") % {"scope": f"{area}:read"}
            )
        kinds = [filters["type"]]
    else:
        kinds = [kind for kind, area in AREA.items() if token.allows(area, "read")]
    after = filters.get("since")
    oldest = tombstones.kept_since()
    if after is not None and after < oldest:
        raise exceptions.ValidationError(
            {
                "since": [
                    _(
                        "Deletions are kept for %(days)s days and this time is older: some may "
                        "be missing. Sync everything again in full, then ask for deletions "
                        "since the time that full sync began."
                    )
                    % {"days": tombstones.KEEP_DAYS}
                ]
            }
        )
    found = tombstones.since(team_id=token.team_id, after=after, kinds=kinds)
    return paginate(request, found, DeletionSerializer, ordering=("removed_at", "id"), sync=True)
