"""`makemessages` that also extracts `_lazy(...)`, the alias of gettext_lazy some modules use.

Those modules import both `gettext as _` (messages built per request) and
`gettext_lazy as _lazy` (labels defined at import time); xgettext knows only Django's own
names, so without this the lazy labels never reached locale/en. Run it as
`python manage.py makemessages -l en --no-location` (the catalogue carries no file
references, so that moving a string does not change it).
"""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_lazy"]
