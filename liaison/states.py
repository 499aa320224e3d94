"""The state machine of a liaison sheet: every action, declared once.

For each action: the documents it applies to, the states it leaves from and the state it
reaches, who may do it (the sender's side, the receiving hospital service, anyone in the
loop), the fields it asks for, and the French words of its button. The services refuse with
`check` (403 for the wrong side, 409 for the wrong state) and the sheet page shows the
buttons of `available`: the same declaration answers both, so a button is shown exactly
when the service would accept its action (tests/liaison/test_states.py walks every state
and persona).

The conditional UPDATE in liaison.services.transitions stays the last word on the state:
two concurrent clicks both pass `check`, one moves the sheet and the other gets a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from directory.models import Member
from liaison.models import LiaisonSheet
from liaison.selectors import (
    has_next_version,
    is_on_recipient_side,
    is_on_sender_side,
    is_participant,
)
from security.exceptions import DomainError, InvalidTransition, PermissionDenied

Status = LiaisonSheet.Status
Kind = LiaisonSheet.Kind
REFERRAL = (Kind.REFERRAL,)
DISCHARGE = (Kind.DISCHARGE,)
BOTH = (Kind.REFERRAL, Kind.DISCHARGE)
EXPERTISE = (Kind.EXPERTISE,)
ALL = (Kind.REFERRAL, Kind.DISCHARGE, Kind.EXPERTISE)
# The loop is open: notes are exchanged, the discharge letter may be written.
OPEN = (Status.SENT, Status.RECEIVED, Status.ACCEPTED, Status.NO_SHOW)
# A tele-expertise request waiting for its expert, or for its requester's precisions.
EXPERTISE_OPEN = (Status.SENT, Status.TAKEN, Status.MORE_INFO_REQUESTED)
EXPERT_SIDE = _("Cette action revient au service expert sollicité.")
REQUESTER_SIDE = _("Cette action revient au demandeur de l'avis.")
EXPERTISE_ONLY = _("Action réservée aux demandes d'avis (télé-expertise).")
# Who may act: the sender's side (the author or their structure), the receiving hospital
# service, either of the two, or anyone named in the loop (they and the copied care team).
SENDER = "sender"
RECIPIENT = "recipient"
SENDER_OR_RECIPIENT = "sender_or_recipient"
LOOP = "loop"
WRONG_SIDE = _("Cette action revient à une autre partie de la boucle.")
REFERRALS_ONLY = _("Action réservée aux fiches d'entrée.")
MISSING_REASON = _("Indiquez le motif.")


@dataclass(frozen=True)
class Action:
    name: str
    label: Any  # the button, in French
    kinds: tuple[str, ...]
    sources: tuple[str, ...]
    side: str
    target: str = ""  # the state reached; "" when the sheet keeps its state
    required: tuple[str, ...] = ()  # what the action asks for (liaison.catalogue names them)
    missing_reason: Any = MISSING_REASON  # said when a required `note` is empty
    wrong_side: Any = WRONG_SIDE
    wrong_state: Any = ""  # "" : "Action impossible : la fiche est à l'état « … »."
    wrong_kind: Any = REFERRALS_ONLY
    # Shown with the other buttons of the "Actions" card (notes and attachments have theirs).
    button: bool = True


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in [
        Action("send", _("Envoyer"), ALL, (Status.DRAFT,), SENDER, Status.SENT,
               wrong_side=_("Cette action revient à l'émetteur."),
               wrong_state=_("Cette fiche a déjà été envoyée."), button=False),
        Action("edit", _("Modifier"), ALL, (Status.DRAFT,), SENDER,
               wrong_side=_("Seul l'émetteur modifie un brouillon."),
               wrong_state=_("Seul un brouillon peut être modifié.")),
        Action("delete", _("Supprimer le brouillon"), ALL, (Status.DRAFT,), SENDER,
               wrong_side=_("Seul l'émetteur supprime un brouillon."),
               wrong_state=_("Seul un brouillon peut être supprimé.")),
        Action("receive", _("Accuser réception"), REFERRAL, (Status.SENT,), RECIPIENT,
               Status.RECEIVED, wrong_side=_("Cette action revient au service destinataire.")),
        Action("accept", _("Accepter"), REFERRAL, (Status.SENT, Status.RECEIVED), RECIPIENT,
               Status.ACCEPTED, required=("planned_date",),
               wrong_side=_("Cette action revient au service destinataire.")),
        Action("decline", _("Refuser"), REFERRAL, (Status.SENT, Status.RECEIVED), RECIPIENT,
               Status.DECLINED, required=("note",),
               missing_reason=_("Indiquez le motif du refus."),
               wrong_side=_("Cette action revient au service destinataire.")),
        Action("discharge", _("Rédiger la lettre de sortie"), REFERRAL,
               (Status.SENT, Status.RECEIVED, Status.ACCEPTED), RECIPIENT,
               wrong_side=_("Seul le service destinataire rédige la lettre de sortie."),
               wrong_state=_("La fiche doit être reçue ou acceptée pour préparer la sortie."),
               wrong_kind=_("Une lettre de sortie répond à une fiche d'entrée.")),
        Action("no_show", _("Patient non venu"), REFERRAL, (Status.ACCEPTED,), RECIPIENT,
               Status.NO_SHOW, wrong_side=_("Cette action revient au service destinataire.")),
        Action("cancel", _("Annuler la demande"), REFERRAL, (Status.SENT, Status.RECEIVED),
               SENDER, Status.CANCELLED, required=("note",),
               missing_reason=_("Indiquez le motif de l'annulation."),
               wrong_side=_("Cette action revient à l'émetteur.")),
        Action("reopen", _("Relancer"), REFERRAL, (Status.NO_SHOW,), SENDER, Status.SENT,
               required=("note",), wrong_side=_("Cette action revient à l'émetteur.")),
        Action("close", _("Clôturer"), REFERRAL, (Status.NO_SHOW,), SENDER, Status.CLOSED,
               wrong_side=_("Cette action revient à l'émetteur.")),
        Action("revise", _("Compléter (nouvelle version)"), DISCHARGE, (Status.SENT,), SENDER,
               wrong_side=_("Seul le service émetteur complète sa lettre."),
               wrong_state=_("Seule une lettre envoyée peut être complétée."),
               wrong_kind=_("Seule une lettre envoyée peut être complétée.")),
        Action("note", _("Ajouter la note"), ALL, (*OPEN, Status.TAKEN, Status.MORE_INFO_REQUESTED,
               Status.ANSWERED), LOOP, required=("note",),
               wrong_side=_("Seuls les membres de la boucle ajoutent des notes."),
               wrong_state=_("La fiche n'est plus ouverte."), button=False),
        Action("attach", _("Joindre"), ALL,
               (Status.DRAFT, Status.SENT, Status.RECEIVED, Status.ACCEPTED, Status.NO_SHOW,
                Status.TAKEN, Status.MORE_INFO_REQUESTED),
               SENDER_OR_RECIPIENT,
               wrong_side=_("Seuls l'émetteur et le service destinataire joignent des fichiers."),
               wrong_state=_("La fiche est close."), button=False),
        # Tele-expertise (expertise.services): the requester asks, an expert of the service
        # takes, asks for more or answers; the requester completes, then acknowledges.
        Action("take", _("Prendre en charge"), EXPERTISE, (Status.SENT,), RECIPIENT,
               Status.TAKEN, wrong_side=EXPERT_SIDE, wrong_kind=EXPERTISE_ONLY,
               wrong_state=_("Cette demande n'attend plus d'être prise en charge.")),
        Action("ask_more", _("Demander des précisions"), EXPERTISE, (Status.TAKEN,), RECIPIENT,
               Status.MORE_INFO_REQUESTED, required=("note",),
               missing_reason=_("Indiquez les précisions attendues."),
               wrong_side=EXPERT_SIDE, wrong_kind=EXPERTISE_ONLY),
        Action("resend", _("Compléter et renvoyer"), EXPERTISE, (Status.MORE_INFO_REQUESTED,),
               SENDER, Status.SENT, wrong_side=REQUESTER_SIDE, wrong_kind=EXPERTISE_ONLY,
               wrong_state=_("Aucune précision n'est demandée sur cette demande.")),
        Action("answer", _("Rendre l'avis"), EXPERTISE, (Status.TAKEN,), RECIPIENT,
               Status.ANSWERED, required=("opinion", "consultation_needed"),
               wrong_side=EXPERT_SIDE, wrong_kind=EXPERTISE_ONLY,
               wrong_state=_("Prenez la demande en charge avant de rendre l'avis.")),
        Action("refuse", _("Décliner la demande"), EXPERTISE, (Status.SENT, Status.TAKEN),
               RECIPIENT, Status.DECLINED, required=("note",),
               missing_reason=_("Indiquez le motif du refus."),
               wrong_side=EXPERT_SIDE, wrong_kind=EXPERTISE_ONLY),
        Action("withdraw", _("Annuler la demande"), EXPERTISE, EXPERTISE_OPEN, SENDER,
               Status.CANCELLED, required=("note",),
               missing_reason=_("Indiquez le motif de l'annulation."),
               wrong_side=REQUESTER_SIDE, wrong_kind=EXPERTISE_ONLY),
        Action("acknowledge", _("J'ai pris connaissance de l'avis"), EXPERTISE,
               (Status.ANSWERED,), SENDER, Status.CLOSED, wrong_side=REQUESTER_SIDE,
               wrong_kind=EXPERTISE_ONLY, wrong_state=_("Aucun avis n'attend votre lecture.")),
    ]
}  # fmt: skip


def _sides(member: Member, sheet: LiaisonSheet) -> set[str]:
    sides = set()
    if is_on_sender_side(member, sheet):
        sides |= {SENDER, SENDER_OR_RECIPIENT, LOOP}
    if is_on_recipient_side(member, sheet):
        sides |= {RECIPIENT, SENDER_OR_RECIPIENT, LOOP}
    if LOOP not in sides and is_participant(member, sheet):
        sides.add(LOOP)
    return sides


def state_refusal(action: Action, sheet: LiaisonSheet) -> DomainError | None:
    """Why the sheet's state forbids the action (409), or None."""
    if sheet.status not in action.sources:
        return InvalidTransition(state_message(action, sheet.status), status=sheet.status)
    if action.name == "revise" and has_next_version(sheet):
        return InvalidTransition(_("Une version plus récente existe déjà."), status=sheet.status)
    return None


def state_message(action: Action, status: str) -> str:
    if action.wrong_state:
        return str(action.wrong_state)
    return str(
        _("Action impossible : la fiche est à l'état « %(status)s ».")
        % {"status": Status(status).label}
    )


def refusal(
    member: Member, sheet: LiaisonSheet, name: str, *, sides: set[str] | None = None
) -> DomainError | None:
    """Why `member` may not do `name` on this sheet now, or None: in the order the API has
    always answered (the document's kind, who asks, then its state)."""
    action = ACTIONS[name]
    if sheet.kind not in action.kinds:
        return InvalidTransition(str(action.wrong_kind), status=sheet.status)
    if action.side not in (sides if sides is not None else _sides(member, sheet)):
        return PermissionDenied(str(action.wrong_side))
    return state_refusal(action, sheet)


def check(member: Member, sheet: LiaisonSheet, name: str, *, state: bool = True) -> Action:
    """The action, or the refusal raised: PermissionDenied (403) or InvalidTransition (409).

    `state=False` leaves the state to the caller's conditional UPDATE (after it has judged
    the fields the action asks for, so a missing reason is a 400 whatever the state).
    """
    action = ACTIONS[name]
    error = refusal(member, sheet, name)
    if error is None:
        return action
    if state or sheet.kind not in action.kinds or isinstance(error, PermissionDenied):
        raise error
    return action  # only the state refuses: the caller's conditional UPDATE will say so


def available(member: Member, sheet: LiaisonSheet) -> list[Action]:
    """The actions `member` may do on this sheet now: the buttons of its page."""
    sides = _sides(member, sheet)
    return [
        action
        for name, action in ACTIONS.items()
        if refusal(member, sheet, name, sides=sides) is None
    ]
