"""`makemessages` that also extracts `_lazy(...)`, the alias of gettext_lazy some modules use.

Those modules import both `gettext as _` (messages built per request) and
`gettext_lazy as _lazy` (labels defined at import time); xgettext knows only Django's own
names, so without this the lazy labels never reached locale/en. Run it as
`DEBUG=1 python manage.py makemessages -l en --no-location --no-obsolete` (the catalogue
carries no file references, so that moving a string does not change it; without settings
that load, Django falls back to its own command), translate the new entries, then
`compilemessages -l en` (the .mo is committed).
"""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_lazy"]
    # A new msgid comes untranslated rather than with a guess taken from a similar one
    # ("Identité :" got "Identity"): tests/test_english_interface.py names what is missing.
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
