"""The audited actions of the directory, declared with their French labels.

Registered with security.actions (found by its autodiscovery of `actions` modules); the
names are stored in the trail and never change.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from security.actions import register_action

DIRECTORY_IMPORT = register_action("directory.import", _("Import de l'annuaire (CSV)"))
MEMBER_CREATE = register_action("member.create", _("Ajout d'un membre à l'annuaire"))
MEMBER_UPDATE = register_action("member.edit", _("Modification d'un membre de l'annuaire"))
MEMBER_DEACTIVATE = register_action("member.deactivate", _("Désactivation d'un membre"))
MEMBER_REACTIVATE = register_action("member.reactivate", _("Réactivation d'un membre"))
MEMBERSHIP_ADD = register_action("membership.add", _("Rattachement d'un membre à une structure"))
MEMBERSHIP_CHANGE_ROLE = register_action(
    "membership.change_role", _("Changement du rôle d'un membre dans une structure")
)
MEMBERSHIP_END = register_action(
    "membership.end", _("Fin du rattachement d'un membre à une structure")
)
