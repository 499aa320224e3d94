"""The audited actions of protocols and the guide, declared with their French labels.

Registered with security.actions; services pass these constants to
`security.audit.record(action=...)`. The names are stored in the trail and never change.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from security.actions import register_action

PROTOCOL_CREATE = register_action("protocol.create", _("Création d'un protocole"))
PROTOCOL_UPDATE = register_action("protocol.update", _("Modification d'un protocole"))
VERSION_CREATE = register_action("protocol_version.create", _("Nouvelle version d'un protocole"))
VERSION_UPDATE = register_action(
    "protocol_version.update", _("Modification d'une version de protocole")
)
VERSION_ATTACH = register_action(
    "protocol_version.attach", _("Pièce jointe ajoutée à une version de protocole")
)
VERSION_SUBMIT = register_action(
    "protocol_version.submit", _("Version de protocole soumise à relecture")
)
VERSION_APPROVE = register_action("protocol_version.approve", _("Version de protocole approuvée"))
VERSION_REQUEST_CHANGES = register_action(
    "protocol_version.request_changes", _("Modifications demandées sur une version")
)
VERSION_PUBLISH = register_action(
    "protocol_version.publish", _("Publication d'une version de protocole")
)
VERSION_RETIRE = register_action("protocol_version.retire", _("Retrait d'un protocole"))
VERSION_ACKNOWLEDGE = register_action(
    "protocol_version.acknowledge", _("Lecture et approbation d'une version de protocole")
)
PARTICIPATION_REGISTER = register_action(
    "protocol_participation.register", _("Inscription à un protocole")
)
PARTICIPATION_END = register_action(
    "protocol_participation.end", _("Fin de participation à un protocole")
)

# The guide of the CPTS (protocols.guide) and the directory import it carries.
GUIDE_THEME_CREATE = register_action("guide_theme.create", _("Création d'un thème du guide"))
ORGANISATION_GUIDE_UPDATE = register_action(
    "organisation.guide_update", _("Mise à jour de la fiche guide d'une structure")
)
MEMBER_GUIDE_UPDATE = register_action(
    "member.guide_update", _("Mise à jour de la fiche guide d'un membre")
)

# Patients included in a protocol (the one patient data of the app): every read is audited.
INCLUSION_CREATE = register_action(
    "protocol_inclusion.create", _("Inclusion d'un patient dans un protocole")
)
INCLUSION_END = register_action("protocol_inclusion.end", _("Sortie d'un patient d'un protocole"))
INCLUSION_READ = register_action(
    "protocol_inclusion.read", _("Lecture de l'inclusion d'un patient dans un protocole")
)
INCLUSION_LIST = register_action(
    "protocol_inclusion.list", _("Liste des patients inclus dans un protocole")
)
