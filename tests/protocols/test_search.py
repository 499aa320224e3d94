"""The library: full-text search in French (on the database the suite runs on), and filters."""

from __future__ import annotations

import pytest
from django.db import connection

from protocols import search
from protocols.models import Protocol
from protocols.selectors import protocol_list
from tests.protocols.conftest import first_version, publish_next

pytestmark = pytest.mark.django_db


def titles(member, **query) -> list[str]:
    return [protocol.title for protocol in protocol_list(member, **query)]


def test_stemming_chute_finds_chutes(demo, published) -> None:
    published(title="Prévention des chutes à domicile", steps="1. Évaluer le risque.")
    published(title="Brûlure mictionnelle", steps="1. Bandelette urinaire.")
    assert titles(demo["ide.petit"], q="chute") == ["Prévention des chutes à domicile"]
    assert titles(demo["ide.petit"], q="chutes") == ["Prévention des chutes à domicile"]


def test_it_searches_the_content_not_only_the_title(demo, published) -> None:
    published(title="Conduite à tenir", steps="1. Rechercher un hématome du cuir chevelu.")
    published(title="Autre protocole", steps="1. Rien de particulier.")
    assert titles(demo["ide.petit"], q="hématomes") == ["Conduite à tenir"]
    assert titles(demo["ide.petit"], q="hématome cuir") == ["Conduite à tenir"]
    assert titles(demo["ide.petit"], q="hématome fracture") == []  # every word must match


def test_the_search_document_follows_the_version_in_force(demo, published) -> None:

    version = published(title="Anticoagulants", steps="1. Surveiller la glycémie.")
    publish_next(demo, version, steps="1. Surveiller les saignements.")
    assert titles(demo["ide.petit"], q="saignement") == ["Anticoagulants"]
    assert titles(demo["ide.petit"], q="glycémie") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
def test_postgresql_uses_the_french_configuration_and_ranks(demo, published) -> None:
    published(title="Chutes répétées", steps="1. Bilan.")
    published(title="Plaies", steps="1. Une chute peut causer une plaie.")
    protocols = list(protocol_list(demo["ide.petit"], q="chuter"))
    assert [p.title for p in protocols] == ["Chutes répétées", "Plaies"]  # title (weight A) first
    assert protocols[0].search_rank > protocols[1].search_rank
    assert Protocol.objects.filter(search_vector__isnull=False).count() == 2


def test_it_ignores_accents_in_both_directions(demo, published) -> None:
    """On every database: PostgreSQL through `french_unaccent`, SQLite by folding."""
    published(title="Prévention des chutes", steps="1. Rechercher un hématome.")
    published(title="Angine", steps="1. Test rapide.")
    member = demo["ide.petit"]
    assert titles(member, q="hematome") == ["Prévention des chutes"]
    assert titles(member, q="prevention") == ["Prévention des chutes"]
    assert titles(member, q="PREVENTION hematomes") == ["Prévention des chutes"]
    assert titles(member, q="hématome") == ["Prévention des chutes"]  # accents still match
    assert titles(member, q="angine") == ["Angine"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
def test_postgresql_searches_with_the_unaccent_configuration(demo, published) -> None:
    published(title="Prévention", steps="1. Hématome.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_tsvector('french_unaccent', 'Prévention des hématomes')::text")
        assert cursor.fetchone()[0] == "'hematom':3 'prevent':1"
        cursor.execute(
            "SELECT search_vector::text LIKE %s FROM protocols_protocol", ["%'hematom':%"]
        )
        assert cursor.fetchone()[0] is True
        # The GIN index of migration 0002 is still the one on the stored column.
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s",
            ["protocols_protocol_search_vector_gin"],
        )
        assert "gin (search_vector)" in cursor.fetchone()[0]
    assert search.CONFIG == "french_unaccent"
    assert titles(demo["ide.petit"], q="hematome prevention") == ["Prévention"]


def test_the_fallback_folds_accents_and_strips_french_suffixes() -> None:
    assert search.stems("Chutes ÉPUISÉES cœur") == ["chut", "epuis", "coeur"]
    assert search.stem("chute") == search.stem("chutes") == search.stem("chuter") == "chut"
    assert search.stem("os") == "os"  # too short to cut


def test_drafts_are_found_only_by_the_people_working_on_them(demo, make_protocol) -> None:
    make_protocol(title="Travail en cours sur les chutes")
    assert titles(demo["coord"], q="chutes") == ["Travail en cours sur les chutes"]
    assert titles(demo["ide.petit"], q="chutes") == []


def test_filters_by_kind_status_profession_and_theme(
    demo, published, make_protocol, themes
) -> None:
    published(title="Cystite", kind=Protocol.Kind.NATIONAL, themes=[themes["addictions"]])
    published(
        title="Chute",
        kind=Protocol.Kind.PLURIPROFESSIONAL,
        professions=["masseur_kinesitherapeute"],
        themes=[themes["personnes-agees"]],
    )
    make_protocol(title="Brouillon", delegate_professions=["sage_femme"])
    coord = demo["coord"]
    assert titles(coord, kind="national") == ["Cystite"]
    assert titles(coord, status="draft") == ["Brouillon"]
    assert titles(coord, status="published") == ["Chute", "Cystite"]
    assert titles(coord, profession="masseur_kinesitherapeute") == ["Chute"]
    assert titles(coord, profession="pharmacien") == ["Cystite"]
    assert titles(coord, profession="sage_femme") == ["Brouillon"]
    assert titles(coord, theme="personnes-agees") == ["Chute"]


def test_the_api_searches_and_refuses_unknown_filters(demo, client_for, published) -> None:
    published(title="Prévention des chutes")
    client = client_for(demo["ide.petit"])
    body = client.get("/api/v1/protocols/?q=chute").json()
    assert [p["title"] for p in body["results"]] == ["Prévention des chutes"]
    assert client.get("/api/v1/protocols/?recherche=chute").status_code == 400
    assert client.get("/api/v1/protocols/?kind=inconnu").status_code == 400


def test_the_list_has_a_pinned_query_count(
    demo, client_for, published, django_assert_num_queries, themes
) -> None:
    for index in range(3):
        published(title=f"Protocole {index}", themes=[themes["addictions"]])
    client = client_for(demo["ide.petit"])
    # The coordinator check, the count, the page (with the version in force), the themes.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/protocols/")
    assert response.json()["count"] == 3


def test_a_draft_title_is_searchable_for_its_author(demo, make_protocol) -> None:
    protocol = make_protocol(title="Plaies chroniques")
    assert titles(demo["coord"], q="plaie") == ["Plaies chroniques"]
    assert first_version(protocol).status == "draft"
