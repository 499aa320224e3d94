"""The English interface is complete: every msgid translated, no French word on an English page.

`locale/en` translates the French msgids (French is the source language of the project). A
member who chose English on their account page, or whose browser asks for it, must read
English everywhere they go; what people typed (patients, reasons, protocol titles, message
bodies, names of services) stays as typed. The French pages, in turn, show no English word:
the same pages are read in both languages with the word list of the browser tests.
"""

from __future__ import annotations

import gettext
import os
import re
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import JSONField
from django.test import Client

from directory.models import Organisation
from protocols.models import Inclusion, Protocol
from security.fields import EncryptedValueField
from tests.browser.reading import ENGLISH
from tests.browser.test_every_page_in_a_browser import (
    PAGES,
    Members,
    first_conversation,
    first_protocol,
    fixed,
    member_page,
    sheet_of,
    then,
)

CATALOGUE = Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po"

# Words of the French interface, taken from the templates and the forms: buttons, headings,
# menus, table heads, empty lists. What the demo's people typed is left out of the page's text
# before the check (typed_data). Whole words, case-sensitive.
FRENCH = re.compile(
    r"\b(Accueil|Rechercher|Enregistrer|Envoyer|Annuler|Modifier|Supprimer|Valider|Effacer|"
    r"Messagerie|Fiches|Protocoles|Annuaire|Indicateurs|Déconnexion|Connexion|Aucun|Aucune|"
    r"Brouillons|Classées|Classer|Nouvelle|Nouveau|Accepter|Refuser|Accuser|Objet|"
    r"Destinataires|Préférences|Jetons|Compte|Mot de passe|Langue|Télécharger|Imprimer|"
    r"Précédent|Suivant|Afficher|Statut|Période|Relecture|Publier|Thèmes|Lettre|Lettres|"
    r"Envoyée|Reçue|Urgente|Programmée|non lus|non lue|non lues|Membres|Prénom|Téléphone|"
    r"Rôle|Activer|Désactiver|Retour|Participants inscrits|Ajouter|Quitter|Réponse|Tous|Toutes)\b"
    # and French typography: a space before a colon ("Identité : Qualifiée").
    r"|\w :(?=\s|$)"
)


def organisation_page(name: str) -> Callable[[Members], str]:
    return lambda members: f"/annuaire/organisations/{Organisation.objects.get(name=name).code}/"


def guide_entry(login: str) -> Callable[[Members], str]:
    return lambda members: f"/guide/membres/{members[login].code}/"


def cystitis(suffix: str = "") -> Callable[[Members], str]:
    """A page of the demo's protocol with included patients (NAT-CYSTITE)."""

    def url(members: Members) -> str:
        return f"/protocoles/{Protocol.objects.get(reference='NAT-CYSTITE').code}/{suffix}"

    return url


def ongoing_inclusion(login: str) -> Callable[[Members], str]:
    """The exit form of a patient `login` included and who has not left yet."""

    def url(members: Members) -> str:
        inclusion = Inclusion.objects.filter(
            included_by=members[login], ended_on__isnull=True
        ).first()
        assert inclusion is not None
        return f"/protocoles/{inclusion.protocol.code}/inclusions/{inclusion.code}/sortie/"

    return url


def end_membership(login: str) -> Callable[[Members], str]:
    """The confirmation of taking `login` out of one of their organisations."""

    def url(members: Members) -> str:
        member = members[login]
        membership = member.memberships.order_by("pk").first()
        assert membership is not None
        return f"/annuaire/membres/{member.code}/structures/{membership.organisation.code}/retirer/"

    return url


# Pages the browser test leaves out: every state of a sheet, the printed sheet, the
# protocols' and the guide's inner pages, the account's and the error pages.
MORE_PAGES: dict[str, list[tuple[str, Callable[[Members], str]]]] = {
    "dr.martin": [
        ("brouillon", sheet_of("dr.martin", "referral", "draft")),
        ("fiche refusée", sheet_of("dr.martin", "referral", "cancelled")),
        ("fiche clôturée", sheet_of("dr.martin", "referral", "closed")),
        ("fiche imprimée", then(sheet_of("dr.martin", "discharge", "sent"), "imprimer/")),
        ("protocoles", fixed("/protocoles/")),
        ("protocole", first_protocol("dr.martin")),
        ("guide", fixed("/guide/")),
        ("annuaire", fixed("/annuaire/")),
        ("fiche d'un membre", member_page("hop.cardio")),
        ("fiche d'une structure", organisation_page("Cardiologie")),
        ("ma fiche dans le guide", guide_entry("dr.martin")),
        ("page introuvable", fixed(f"/liaison/{uuid.uuid4()}/")),
    ],
    "hop.cardio": [
        ("fiche reçue", sheet_of("hop.cardio", "referral", "received")),
        ("fiche envoyée", sheet_of("hop.cardio", "referral", "sent")),
        ("refuser", then(sheet_of("hop.cardio", "referral", "received"), "action/decline/")),
        ("patient non venu", sheet_of("hop.cardio", "referral", "no_show")),
        ("lettre envoyée", sheet_of("hop.cardio", "discharge", "sent")),
        ("conversation", first_conversation("hop.cardio")),
        ("nouveau message", fixed("/messagerie/nouvelle/")),
        ("notifications", fixed("/notifications/")),
    ],
    "coord": [
        ("accueil", fixed("/")),
        ("nouveau protocole", fixed("/protocoles/nouveau/")),
        ("thèmes du guide", fixed("/guide/themes/")),
        ("version", then(first_protocol("coord"), "versions/1/")),
        ("relecture", then(first_protocol("coord"), "versions/1/relecture/")),
        ("préférences", fixed("/notifications/preferences/")),
        ("mon compte", fixed("/compte/")),
        ("patients inclus (tous)", cystitis("inclusions/")),
        ("retirer d'une structure", end_membership("hop.cardio")),
    ],
    "ide.petit": [
        ("patients inclus", cystitis("inclusions/")),
        ("inclure un patient", cystitis("inclusions/nouvelle/")),
        ("sortie du protocole", ongoing_inclusion("ide.petit")),
    ],
}


ANONYMOUS_PAGES = [
    "/connexion/",
    "/connexion/mot-de-passe-oublie/",
    "/connexion/mot-de-passe-oublie/envoye/",
    "/connexion/mot-de-passe-oublie/termine/",
    "/connexion/mot-de-passe-oublie/MQ/lien-perime/",  # a link that no longer works
]


class _VisibleText(HTMLParser):
    """The text a person reads or hears: the body's text, labels for screen readers, hints."""

    HIDDEN = frozenset({"script", "style", "template", "head", "title"})
    SPOKEN = ("aria-label", "title", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0
        self.typed = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag == "div" and (self.typed or "markdown" in (dict(attrs).get("class") or "")):
            self.typed += 1  # a protocol's sections: Markdown its authors typed, rendered
        self.parts += [value for name, value in attrs if name in self.SPOKEN and value]
        if tag == "input" and dict(attrs).get("type") in {"submit", "button"}:
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden -= 1
        if tag == "div" and self.typed:
            self.typed -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and not self.typed:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


TEXT_FIELDS = (models.CharField, models.TextField, JSONField, EncryptedValueField)


def typed_data() -> list[str]:
    """What the demo's people typed, which stays as typed whatever the interface language:
    every free text of the demo's rows (decrypted by their fields), never a coded value."""
    data: list[str] = []
    for label in ("directory", "liaison", "messaging", "protocols", "events"):
        for model in apps.get_app_config(label).get_models():
            fields = [
                f.attname
                for f in model._meta.concrete_fields
                if not f.choices and isinstance(f, TEXT_FIELDS)
            ]
            if fields:
                for row in model.objects.only(*fields):
                    data += [s for field in fields for s in _strings(getattr(row, field))]
    typed = {" ".join(s.split()) for s in data}
    return sorted((s for s in typed if len(s) > 3 and not CODE.fullmatch(s)), key=len, reverse=True)


# A machine value kept in a free column (an event's action "receive", a JSON "change": "new",
# a username, a key): not typed by a person, and often the very English word to look for.
CODE = re.compile(r"[a-z0-9_.\-]+")


def without(text: str, data: list[str]) -> str:
    """The text, less each typed value where it stands as a whole (not inside a word)."""
    for typed in data:
        text = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", " ", text)
    return text


def _pages_of(persona: str, members: Members) -> list[tuple[str, str]]:
    pages = PAGES.get(persona, []) + MORE_PAGES.get(persona, [])
    return [(name, url(members)) for name, url in pages]


def _logged_in(persona: str, language: str, members: Members) -> Client:
    """Logged in through the login page, which applies the language chosen on the account."""
    user = members[persona].user
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    response = client.post("/connexion/", {"username": persona, "password": "demo"})
    assert response.status_code == 302, persona
    return client


def _matches(words: re.Pattern[str], text: str) -> list[str]:
    return sorted({match.group(0) for match in words.finditer(text)})


def _read_pages(
    client: Client, pages: list[tuple[str, str]], language: str, data: list[str]
) -> dict[str, str]:
    """Each page's visible text, less what people typed, by "name (path)"."""
    texts = {}
    for name, path in pages:
        response = client.get(path)
        expected = 404 if name == "page introuvable" else 200
        assert response.status_code == expected, (name, path, response.status_code)
        html = response.content.decode()
        assert f'lang="{language}"' in html, (name, path)
        texts[f"{name} ({path})"] = text = without(visible_text(html), data)
        if DUMP:
            with open(DUMP, "a") as out:
                out.write(f"\n### {language} {name} {path}\n{text}\n")
    return texts


def _found(texts: dict[str, str], words: re.Pattern[str]) -> list[str]:
    return [
        f"{page}: {word!r}"
        for page, text in texts.items()
        for word in sorted(_matches(words, text))
    ]


DUMP = os.environ.get("ENGLISH_PAGES_DUMP")  # a file to read the pages' text in, when asked
PERSONAS = sorted(set(PAGES) | set(MORE_PAGES))


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_of_a_persona_reads_in_the_language_chosen(
    persona: str, full_demo: Members
) -> None:
    """English chosen on the account: no French interface word on any page. French (the
    default): no English word on the same pages. Each list finds its own language on the
    other side, so neither check is blind. The whole demo (`manage.py load_demo`) is the
    session's snapshot, replayed."""
    demo = full_demo
    data = typed_data()
    pages = _pages_of(persona, demo)
    english = _read_pages(_logged_in(persona, "en", demo), pages, "en", data)
    french = _read_pages(_logged_in(persona, "fr", demo), pages, "fr", data)

    found = _found(english, FRENCH) + _found(french, ENGLISH)
    assert found == [], "\n".join(found)
    assert len(_matches(FRENCH, " ".join(french.values()))) >= 10
    assert _matches(ENGLISH, " ".join(english.values()))


@pytest.mark.django_db
def test_the_pages_before_login_follow_the_browser_language(client: Client) -> None:
    for language, words in (("en", FRENCH), ("fr", ENGLISH)):
        pages = [(path, path) for path in ANONYMOUS_PAGES]
        client.cookies.clear()
        found = []
        for name, path in pages:
            response = client.get(path, headers={"accept-language": language})
            assert response.status_code == 200, path
            text = visible_text(response.content.decode())
            found += [f"{name}: {w!r}" for w in sorted(_matches(words, text))]
        assert found == [], f"{language}: " + "\n".join(found)


def _catalogue_entries(text: str) -> list[dict[str, str]]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr[n], and their flags."""
    entries: list[dict[str, str]] = []
    entry: dict[str, str] = {}
    key = ""
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry:
                entries.append(entry)
            entry, key = {}, ""
        elif line.startswith("#,"):
            entry["flags"] = line[2:]
        elif line.startswith("#~"):
            entry["obsolete"] = "yes"
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += _unquote(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = _unquote(value)
    return [e for e in entries if e.get("msgid") or "msgid_plural" in e]


def _unquote(quoted: str) -> str:
    return quoted[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def test_every_english_entry_is_translated_and_none_is_fuzzy() -> None:
    entries = _catalogue_entries(CATALOGUE.read_text(encoding="utf-8"))
    assert len(entries) > 1000  # the whole interface, not the liaison loop alone
    untranslated = [
        e["msgid"]
        for e in entries
        if any(not value for key, value in e.items() if key.startswith("msgstr"))
    ]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", "")]
    obsolete = [e["msgid"] for e in entries if "obsolete" in e]
    assert untranslated == []
    assert fuzzy == []
    assert obsolete == []


def test_the_catalogue_check_sees_a_missing_and_a_fuzzy_translation() -> None:
    entries = _catalogue_entries(
        'msgid "Envoyer"\nmsgstr ""\n\n#, fuzzy\nmsgid "Annuler"\nmsgstr "Cancel"\n\n'
        'msgid "{n} fiche"\nmsgid_plural "{n} fiches"\nmsgstr[0] "{n} sheet"\nmsgstr[1] ""\n'
    )
    assert [(e["msgid"], e["msgstr"]) for e in entries[:2]] == [
        ("Envoyer", ""),
        ("Annuler", "Cancel"),
    ]
    assert entries[1]["flags"].strip() == "fuzzy"
    assert entries[2]["msgstr[1]"] == ""


def test_the_compiled_catalogue_is_up_to_date() -> None:
    """The .mo is committed (a fresh checkout needs no gettext): it must say what the .po says."""
    with CATALOGUE.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in _catalogue_entries(CATALOGUE.read_text(encoding="utf-8")):
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            for n, form in ((1, "msgstr[0]"), (2, "msgstr[1]")):
                assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], n) == entry[form]
        elif context is not None:
            assert compiled.pgettext(context, entry["msgid"]) == entry["msgstr"], entry
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"], entry["msgid"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "sentence"),
    [("en", "Live updates interrupted: "), ("fr", "Mises à jour en direct interrompues : ")],
)
def test_the_push_status_line_comes_in_the_language_chosen(
    language: str, sentence: str, demo: Members
) -> None:
    """static/js/push.js writes the sentence the page carries (data-down-text) when the
    stream is down: it is translated with the page, the script holds no French of its own."""
    html = _logged_in("dr.martin", language, demo).get("/").content.decode()
    assert f'data-down-text="{sentence}' in html
    script = (Path(settings.BASE_DIR) / "static/js/push.js").read_text()
    assert "Mises à jour" not in script


STRING_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def _script_strings(path: Path) -> list[str]:
    """The double-quoted string literals of a script, its comment lines left out."""
    return STRING_LITERAL.findall(COMMENT.sub("", path.read_text()))


def test_no_script_writes_a_sentence_of_its_own() -> None:
    """A sentence a script shows comes from its template, translated (data-*): a French
    literal in static/js would stay French on an English page."""
    scripts = sorted((Path(settings.BASE_DIR) / "static/js").glob("*.js"))
    assert scripts
    accented = re.compile(r"[àâçéèêëîïôûùü…]", re.IGNORECASE)
    offenders = [
        f"{path.name}: {text}"
        for path in scripts
        for text in _script_strings(path)
        if accented.search(text) or _matches(FRENCH, text)
    ]
    assert offenders == []


def test_the_script_check_sees_a_french_sentence(tmp_path: Path) -> None:
    script = tmp_path / "x.js"
    script.write_text('// "Envoi…" in a comment is fine\nstate.textContent = "Envoi…";\n')
    assert _script_strings(script) == ["Envoi…"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "sending", "saved"),
    [
        ("en", "Sending…", "Draft saved at {time}"),
        ("fr", "Envoi…", "Brouillon enregistré à {time}"),
    ],
)
def test_the_scripts_sentences_come_in_the_language_chosen(
    language: str, sending: str, saved: str, full_demo: Members
) -> None:
    demo = full_demo
    gp = _logged_in("dr.martin", language, demo)
    assert f'data-saved="{saved}"' in gp.get("/liaison/nouvelle/").content.decode()
    assert 'data-none="' in gp.get("/messagerie/nouvelle/").content.decode()
    cardio = _logged_in("hop.cardio", language, demo)
    conversation = cardio.get(first_conversation("hop.cardio")(demo)).content.decode()
    assert f'data-sending="{sending}"' in conversation
