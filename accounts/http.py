"""The request a signed-in view receives, for type checking."""

from django.http import HttpRequest

from .models import User


class AuthenticatedRequest(HttpRequest):
    """An HttpRequest whose user is signed in: what a view behind `@login_required` (or
    `organizer_required`) is given. A type only; Django builds the request as it always does,
    and the decorator is what makes `user` a `User` rather than an `AnonymousUser`."""

    user: User
