"""What every endpoint shares: the decorator that makes a function a scoped API view, with
conditional GETs (ETag, If-None-Match -> 304) and idempotent POSTs (Idempotency-Key), and
cursor pagination."""

import hashlib
import json
import re
from base64 import b64decode, b64encode
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from urllib import parse

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import conditional_page
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from ..services import ServiceError, api_tokens
from .errors import PROBLEM, Problem, handle
from .permissions import scoped, token_of

# Printable ASCII without spaces at the ends, as clients generate them (UUIDs, say).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")


def api(methods: list[str], area: str | None) -> Callable:
    """A function view of the API about `area`: token needed, the area's scope checked
    (read for GET, write otherwise), rate limited per token, POSTs idempotent by key, GETs
    answered with an ETag (a 304 to a matching If-None-Match)."""

    def decorator(view: Callable) -> Callable:
        # HEAD wherever GET: the same answer without its body.
        allowed = [*methods, "HEAD"] if "GET" in methods else methods
        inner = api_view(allowed)(permission_classes([scoped(area)])(_idempotent(view)))
        return _private(conditional_page(inner))

    return decorator


def _private(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        # What a token sees depends on the token: no shared cache may keep it.
        patch_vary_headers(response, ["Authorization"])
        response.headers.setdefault("Cache-Control", "private, no-cache")
        return response

    return wrapper


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _idempotent(view: Callable) -> Callable:
    """A POST with an Idempotency-Key runs once, as Stripe's do: the first completed result,
    success or refusal (2xx, 3xx, 4xx), is kept for 24 h and a retry with the same key and
    body gets it again, marked `Idempotent-Replayed: true`. A retry while the first is still
    under way is a 409; the same key with another request is a 422. A failure on our side
    (5xx) keeps nothing: a retry runs again. A refusal's partial writes, if any, are undone:
    only its answer is kept."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None:
            return view(request, *args, **kwargs)
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise Problem(
                "invalid-input",
                _("Check the fields named in errors."),
                errors={
                    "Idempotency-Key": [
                        _("Use 1 to 255 printable ASCII characters, a UUID for instance.")
                    ]
                },
            )
        fingerprint = _fingerprint(request)
        kept, ours = api_tokens.claim_key(token=token_of(request), key=key, fingerprint=fingerprint)
        if not ours:
            return _replay(kept, fingerprint)
        try:
            with transaction.atomic():
                response = _run(view, request, *args, **kwargs)
                if response.status_code < 500:
                    api_tokens.keep_response(
                        kept=kept,
                        status=response.status_code,
                        data=json.loads(json.dumps(response.data, default=str)),
                        location=response.get("Location", ""),
                    )
                    return response
        except BaseException:
            api_tokens.release_key(kept=kept)
            raise
        api_tokens.release_key(kept=kept)
        return response

    return wrapper


def _run(view: Callable, request, *args, **kwargs) -> Response:
    """The view's answer, an error it raises turned into its problem detail here (so that a
    refusal can be kept); a refusal's writes undone. A failure of ours is raised on."""
    try:
        with transaction.atomic():
            response = view(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
            return response
    except REFUSALS as error:
        return handle(error, {"request": request, "view": None})


# What a view raises to refuse (answered 4xx by errors.handle); anything else is ours (5xx).
REFUSALS = (
    exceptions.APIException,
    ServiceError,
    Http404,
    DjangoValidationError,
    DjangoPermissionDenied,
)


def _replay(kept, fingerprint: str) -> Response:
    if kept.fingerprint != fingerprint:
        raise Problem(
            "idempotency-key-reused",
            _(
                "This Idempotency-Key was used for another request. Use a new "
                "key for each new request."
            ),
        )
    if not kept.status:
        raise Problem(
            "idempotency-key-in-use",
            _(
                "A request with this Idempotency-Key is still under way. Try again in a few "
                "seconds: you will get its result."
            ),
            headers={"Retry-After": "1"},
        )
    replay = Response(
        kept.data, status=kept.status, content_type=PROBLEM if kept.status >= 400 else None
    )
    replay["Idempotent-Replayed"] = "true"
    if kept.location:
        replay["Location"] = kept.location
    return replay


# A stamp (`updated_at`, a tombstone's `removed_at`) is the clock when the row is written,
# in Python, a moment before its statement; app servers' and the database's clocks differ a
# little. What `next_since` keeps back for both.
NEXT_SINCE_MARGIN = timedelta(seconds=2)


def next_since() -> datetime:
    """The time from which a client's next sync must ask (`next_since`), read before the
    rows it is given with: every row changed before it and not yet committed can only be in a
    transaction still open, and the rows of a transaction are stamped after it began. So on
    PostgreSQL: the start of the oldest transaction open in this database (idle in one
    included: it may still write), or now, less the margin. A session of another database
    role is seen only by a member of that role or of `pg_read_all_stats` (README, Deletions).
    On SQLite a transaction holds the one write lock from its start: taking it, once every
    open writer is done, leaves none open."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT LEAST(clock_timestamp(), min(xact_start)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND xact_start IS NOT NULL "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            [oldest] = cursor.fetchone()
        return oldest - NEXT_SINCE_MARGIN
    if not connection.in_atomic_block:
        with transaction.atomic():  # BEGIN IMMEDIATE: waits for the open writer, if any
            connection.ensure_connection()
    return timezone.now() - NEXT_SINCE_MARGIN


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("updated_at", "id")
    # A sync list: its pages say `next_since`, the same on every page of one walk (the
    # first page's, carried in the cursor): a row that commits while the client pages
    # may fall behind the cursor, and only the first page's watermark is before it.
    sync = False
    mark: datetime | None = None

    def decode_cursor(self, request):
        try:
            found = super().decode_cursor(request)
            encoded = request.query_params.get(self.cursor_query_param)
            if self.sync and encoded is not None:
                tokens = parse.parse_qs(b64decode(encoded.encode("ascii")).decode("ascii"))
                if "w" in tokens:
                    self.mark = datetime.fromisoformat(tokens["w"][0])
        except (exceptions.NotFound, TypeError, ValueError):
            raise exceptions.ValidationError(
                {"cursor": [_("This cursor is not one this API gave out.")]}
            ) from None
        if self.sync and self.mark is None:
            self.mark = next_since()
        return found

    def encode_cursor(self, cursor):
        if self.mark is None:
            return super().encode_cursor(cursor)
        tokens = {"w": self.mark.isoformat()}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        encoded = b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.sync:
            response.data["next_since"] = self.mark
        return response


def paginate(
    request, queryset, serializer: type[serializers.Serializer], ordering=None, sync=False
):
    """One page of `queryset` (in `ordering`, by default oldest change first), with the
    links to the next and previous pages; a sync list's (`sync`) with its `next_since`."""
    paginator = Cursor()
    paginator.sync = sync
    if ordering:
        paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response(serializer(page, many=True).data)


SYNC_ORDER = ("updated_at", "id")


def synced(queryset, filters: dict, ordering: tuple[str, ...]):
    """`queryset` as a sync asks for it: with `updated_since`, only the rows changed since,
    oldest change first (so a page boundary never skips one); else in `ordering`."""
    if "updated_since" not in filters:
        return queryset, ordering
    return queryset.filter(updated_at__gte=filters["updated_since"]), SYNC_ORDER


_pages: dict[tuple[type, bool], type] = {}


def page_of(item: type[serializers.Serializer], sync=False) -> type[serializers.Serializer]:
    """The schema of one page of `item`s; a sync list's with its `next_since`."""
    if (item, sync) not in _pages:
        name = item.__name__.removesuffix("Serializer") + ("SyncPage" if sync else "Page")
        fields = {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        }
        if sync:
            # Ask next time from it (`updated_since`, `since`): see `next_since()`.
            fields["next_since"] = serializers.DateTimeField()
        _pages[(item, sync)] = type(name, (serializers.Serializer,), fields)
    return _pages[(item, sync)]


class PageQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False, help_text="From `next` or `previous`.")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text="At most 200; 50 by default."
    )


def query(request, serializer: type[serializers.Serializer]) -> dict:
    """The request's query parameters, checked by `serializer` (a 400 problem otherwise)."""
    checked = serializer(data=request.query_params)
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)
