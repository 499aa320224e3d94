"""Demo conversations between the demo members (fictional patients), through the services."""

from __future__ import annotations

import io

from django.db import transaction

from directory.models import Member, Organisation
from liaison.selectors import sheets_visible_to
from messaging.models import Conversation
from messaging.services import conversations, messages
from messaging.services.messages import Upload

LEFEVRE = {
    "identity_status": "QUAL",
    "ins": "279035121518989",
    "birth_family_name": "Lefèvre",
    "given_names": "Éloïse Marie",
    "birth_date": "1979-03-15",
    "sex": "F",
    "birth_place_insee": "51215",
}
GARCON = {
    "identity_status": "VALI",
    "birth_family_name": "Garçon",
    "given_names": "Noël",
    "birth_date": "1941-12-25",
    "sex": "M",
    "birth_place_insee": "33063",
}
COEUR = {
    "identity_status": "PROV",
    "birth_family_name": "Cœur",
    "used_family_name": "Bonnet",
    "given_names": "Françoise",
    "birth_date": "1936-07-02",
    "sex": "F",
}


def wound_report_pdf() -> bytes:
    """A one-page wound follow-up sheet, as a nurse would attach it."""
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle("Suivi de plaie")
    lines = [
        "Suivi de plaie - talon droit",
        "Lundi : 2 cm, fond fibrineux, bords calmes.",
        "Jeudi : 3 cm, bords rouges et chauds, écoulement séreux.",
        "Pansement : hydrocolloïde, réfection tous les 2 jours.",
    ]
    for index, line in enumerate(lines):
        page.drawString(72, 770 - index * 22, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _say(author: Member, conversation: Conversation, body: str, **kwargs: object) -> None:
    messages.post_message(actor=author, conversation=conversation, body=body, **kwargs)  # type: ignore[arg-type]


@transaction.atomic
def load_conversations(members: dict[str, Member]) -> int:
    """A few conversations, once (skipped if the demo already has conversations)."""
    if Conversation.objects.exists():
        return 0
    gp, leroy, nurse = members["dr.martin"], members["dr.leroy"], members["ide.petit"]
    pharmacist, social_worker, secretary = (
        members["pharma.durand"],
        members["as.moreau"],
        members["hop.cardio2"],
    )

    # The pharmacist asks the GP about a discharge treatment (about the demo's discharge letter).
    sheet = sheets_visible_to(pharmacist).filter(kind="discharge").order_by("pk").first()
    discharge = conversations.start_conversation(
        actor=pharmacist,
        subject="Traitement de sortie de Mme Lefèvre",
        participants=[gp],
        patient=LEFEVRE,
        liaison_sheet=sheet,
        body="Bonjour Docteur, Mme Lefèvre est passée avec son ordonnance de sortie : furosémide "
        "40 mg/j (nouveau), apixaban poursuivi. Le ramipril est-il bien arrêté ? Elle en a "
        "encore une boîte chez elle.",
    )
    messages.mark_read(actor=gp, conversation=discharge)
    _say(
        gp,
        discharge,
        "Bonjour, oui, le ramipril est arrêté (remplacé à l'hôpital). Pouvez-vous "
        "lui proposer un pilulier ? Je la revois jeudi.",
    )
    messages.mark_read(actor=pharmacist, conversation=discharge)
    _say(
        pharmacist,
        discharge,
        "C'est noté : pilulier préparé pour la semaine, elle passe le prendre demain.",
    )

    # The nurse tells the GP a wound looks worse: urgent, with her follow-up sheet.
    wound_pdf = wound_report_pdf()
    wound = conversations.start_conversation(
        actor=nurse,
        subject="Plaie du talon de M. Garçon",
        participants=[gp],
        patient=GARCON,
        body="La plaie du talon droit s'est agrandie depuis lundi (3 cm), bords rouges et chauds, "
        "écoulement. Pas de fièvre. Pouvez-vous passer, ou faut-il l'adresser aux urgences ?",
        urgent=True,
        files=[Upload(io.BytesIO(wound_pdf), "suivi-plaie.pdf", len(wound_pdf))],
    )
    messages.mark_read(actor=gp, conversation=wound)
    _say(
        gp,
        wound,
        "Merci, je passe ce soir après les consultations. Gardez le pansement "
        "hydrocolloïde d'ici là.",
    )

    # The social worker and a GP organise a return home; the nurse joins them.
    home = conversations.start_conversation(
        actor=social_worker,
        subject="Retour à domicile de Mme Bonnet",
        participants=[leroy],
        patient=COEUR,
        body="Bonjour Docteur, la sortie de Mme Bonnet est prévue vendredi. L'aide à domicile ne "
        "peut commencer que lundi. Sa fille peut-elle assurer le week-end, ou faut-il prévoir "
        "autre chose ?",
    )
    messages.mark_read(actor=leroy, conversation=home)
    _say(
        leroy,
        home,
        "Sa fille sera là tout le week-end. Je passe lundi ; j'ajoute Julie Petit "
        "pour les soins à domicile.",
    )
    conversations.add_participant(actor=leroy, conversation=home, member=nurse)
    _say(nurse, home, "Je passerai lundi matin pour la toilette et la surveillance du poids.")

    # A GP writes to the cardiology secretariat's shared inbox (no patient).
    cardiologie = Organisation.objects.filter(name="Cardiologie").first()
    if cardiologie is not None:
        inbox = conversations.start_conversation(
            actor=gp,
            subject="Délai de consultation en cardiologie",
            organisation_inbox=cardiologie,
            body="Bonjour, quel est en ce moment le délai pour une consultation non urgente ?",
        )
        messages.mark_read(actor=secretary, conversation=inbox)
        _say(
            secretary,
            inbox,
            "Bonjour Docteur, environ trois semaines. Pour une demande urgente, "
            "appelez le secrétariat au 02 38 29 38 40.",
        )
    return Conversation.objects.count()
