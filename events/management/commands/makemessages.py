"""Django's makemessages, also collecting `_lazy("...")`: modules that need both kinds of
gettext import `gettext_lazy as _lazy` beside `gettext as _`, and xgettext only knows the
names it is told."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_lazy"]
