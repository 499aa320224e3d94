"""CSV import of organisations and members: rejections, dry run, all or nothing.

The `themes` column is the resource guide's (protocols/guide/importer.py), read through the
directory import's registered columns.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from directory.identifiers import luhn_complete
from directory.importer import import_directory
from directory.models import Member, Organisation
from protocols.guide.services import create_theme
from protocols.models import MemberTheme, OrganisationTheme, Theme
from security.exceptions import PermissionDenied
from security.models import AuditEntry

pytestmark = pytest.mark.django_db

GOOD_RPPS = luhn_complete("1000000099")
BAD_RPPS = GOOD_RPPS[:-1] + str((int(GOOD_RPPS[-1]) + 1) % 10)
HEADER = "type;nom;prenom;profession;rpps;structure;type_structure;commune;telephone;themes\n"
VALID = (
    "organisation;Cabinet infirmier des Lilas;;;;;cabinet;Gien;02 38 00 11 22;personnes-agees\n"
    f"membre;Roux;Léa;Infirmière;{GOOD_RPPS};Cabinet infirmier des Lilas;;;;personnes-agees\n"
)
INVALID = (
    f"membre;Blanc;Hugo;infirmier;{BAD_RPPS};;;;;\n"
    "membre;Noir;Zoé;Astrologue;;;;;;\n"
    "membre;;Sans nom;pharmacien;;;;;;\n"
    "organisation;;;;;;pharmacy;Gien;;\n"
)


@pytest.fixture
def themes(db: None) -> dict[str, Theme]:
    return {
        "personnes-agees": create_theme(actor=None, name="Personnes âgées", slug="personnes-agees")
    }


def csv_file(text: str) -> io.BytesIO:
    upload = io.BytesIO(text.encode("utf-8"))
    upload.name = "annuaire.csv"
    return upload


def test_a_dry_run_lists_each_rejected_row_and_why(demo, themes) -> None:
    report = import_directory(
        actor=demo["coord"], fileobj=csv_file(HEADER + VALID + INVALID), dry_run=True
    )
    rejected = {row.line: row.errors for row in report.rejected}
    assert set(rejected) == {4, 5, 6, 7}
    assert "clé de contrôle" in " ".join(rejected[4])
    assert rejected[4][0].startswith("rpps")
    assert rejected[5] == ["profession : profession inconnue « Astrologue »."]
    assert rejected[6] == ["nom, prenom : nom ou prénom manquant."]
    assert rejected[7] == ["nom : nom manquant."]
    assert [row.status for row in report.rows[:2]] == ["ok", "ok"]
    assert (report.organisations_created, report.members_created, report.imported) == (1, 1, False)
    assert not Member.objects.filter(family_name__in=["Roux", "Blanc"]).exists()
    assert not Organisation.objects.filter(name="Cabinet infirmier des Lilas").exists()


def test_one_rejected_row_means_nothing_is_imported(demo, themes) -> None:
    report = import_directory(
        actor=demo["coord"], fileobj=csv_file(HEADER + VALID + INVALID), dry_run=False
    )
    assert report.imported is False
    assert (report.organisations_created, report.members_created) == (0, 0)
    assert len(report.rejected) == 4
    assert not Organisation.objects.filter(name="Cabinet infirmier des Lilas").exists()
    assert not AuditEntry.objects.filter(action="directory.import").exists()


def test_the_valid_rows_are_imported_when_told_to_skip_the_others(demo, themes) -> None:
    report = import_directory(
        actor=demo["coord"],
        fileobj=csv_file(HEADER + VALID + INVALID),
        dry_run=False,
        skip_invalid=True,
    )
    assert report.imported is True
    assert (report.organisations_created, report.members_created) == (1, 1)
    lea = Member.objects.get(family_name="Roux")
    assert (lea.profession, lea.rpps, lea.user.username) == ("infirmier", GOOD_RPPS, "lea-roux")
    assert lea.memberships.get().organisation.name == "Cabinet infirmier des Lilas"
    assert MemberTheme.objects.filter(member=lea, theme__slug="personnes-agees").exists()
    assert OrganisationTheme.objects.filter(
        organisation__name="Cabinet infirmier des Lilas"
    ).exists()
    assert AuditEntry.objects.filter(action="directory.import", extra__members=1).exists()


def test_a_clean_file_is_imported_entirely(demo, themes) -> None:
    report = import_directory(actor=demo["coord"], fileobj=csv_file(HEADER + VALID), dry_run=False)
    assert report.imported
    assert not report.rejected


def test_a_number_already_registered_is_a_row_already_present(demo) -> None:
    taken = demo["dr.martin"].rpps
    text = HEADER + f"membre;Martin;Claire;medecin_generaliste;{taken};;;;;\n"
    report = import_directory(actor=demo["coord"], fileobj=csv_file(text), dry_run=True)
    assert not report.rejected
    assert [row.status for row in report.rows] == ["present"]


def test_only_the_coordination_imports(demo) -> None:
    with pytest.raises(PermissionDenied):
        import_directory(actor=demo["dr.martin"], fileobj=csv_file(HEADER + VALID), dry_run=True)


def test_the_api_takes_a_multipart_upload_and_dry_runs_by_default(demo, client_for, themes) -> None:
    client = client_for(demo["coord"])
    response = client.post(
        "/api/v1/directory-import/", {"file": csv_file(HEADER + VALID)}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["dry_run"], body["imported"], body["accepted"], body["rejected_count"]) == (
        True,
        False,
        2,
        0,
    )
    response = client.post(
        "/api/v1/directory-import/",
        {"file": csv_file(HEADER + VALID + INVALID), "dry_run": "false"},
        format="multipart",
    )
    assert response.json()["imported"] is False
    assert response.json()["rows"][2]["status"] == "rejected"
    response = client.post(
        "/api/v1/directory-import/",
        {
            "file": csv_file(HEADER + VALID + INVALID),
            "dry_run": "false",
            "skip_invalid": "true",
        },
        format="multipart",
    )
    assert response.json()["imported"] is True
    forbidden = client_for(demo["dr.martin"]).post(
        "/api/v1/directory-import/", {"file": csv_file(HEADER)}, format="multipart"
    )
    assert forbidden.status_code == 403


def test_unreadable_files_are_a_400(demo, client_for) -> None:
    client = client_for(demo["coord"])
    for content in (b"", b"nom;prenom\nx;y\n", b"type;nom\n\x00\x00\x00;a\n"):
        upload = io.BytesIO(content)
        upload.name = "x.csv"
        response = client.post("/api/v1/directory-import/", {"file": upload}, format="multipart")
        assert response.status_code in (200, 400), content
    response = client.post(
        "/api/v1/directory-import/", {"file": csv_file("nom;prenom\nx;y\n")}, format="multipart"
    )
    assert response.status_code == 400


def test_a_windows_csv_with_commas_is_read(demo) -> None:
    text = "type,nom,prenom,profession\nmembre,Lefèvre,Noé,pharmacien\n"
    upload = io.BytesIO(text.encode("cp1252"))
    report = import_directory(actor=demo["coord"], fileobj=upload, dry_run=False)
    assert report.imported
    assert Member.objects.filter(family_name="Lefèvre", given_name="Noé").exists()


def test_the_command_dry_runs_unless_applied(demo, themes, tmp_path) -> None:
    path = tmp_path / "annuaire.csv"
    path.write_text(HEADER + VALID + INVALID, encoding="utf-8")
    out = io.StringIO()
    call_command("import_directory", str(path), "--as", "coord", stdout=out)
    assert "line 5: REJECTED" in out.getvalue()
    assert "Dry run" in out.getvalue()
    with pytest.raises(CommandError, match="rejected rows"):
        call_command(
            "import_directory", str(path), "--as", "coord", "--apply", stdout=io.StringIO()
        )
    call_command(
        "import_directory", str(path), "--as", "coord", "--apply", "--skip-invalid", stdout=out
    )
    assert Member.objects.filter(family_name="Roux").exists()
    with pytest.raises(CommandError):
        call_command("import_directory", str(path), "--as", "dr.martin", stdout=io.StringIO())


def test_the_coordinator_page_shows_the_report(demo, themes) -> None:
    web = Client()
    web.force_login(demo["coord"].user)
    assert web.get("/guide/import/").status_code == 200
    page = web.post(
        "/guide/import/", {"file": csv_file(HEADER + VALID + INVALID), "dry_run": "on"}
    ).content.decode()
    assert "Résultat de la simulation" in page
    assert "profession inconnue « Astrologue »" in page
    assert "4 lignes rejetées" in page
    other = Client()
    other.force_login(demo["dr.martin"].user)
    assert other.get("/guide/import/").status_code == 404


def test_the_guide_reads_its_themes_column_and_rejects_an_unknown_theme(demo, themes) -> None:
    text = HEADER + "organisation;Pharmacie du Pont;;;;;pharmacy;Gien;;astrologie\n"
    report = import_directory(actor=demo["coord"], fileobj=csv_file(text), dry_run=True)
    assert report.rejected[0].errors == ["themes : thème inconnu « astrologie »."]


def test_the_page_lists_the_guide_column_with_the_directory_ones(demo) -> None:
    web = Client()
    web.force_login(demo["coord"].user)
    page = web.get("/guide/import/").content.decode()
    assert "Code postal" in page  # French names, the file's keys beside them
    assert "Thèmes" in page


def test_every_error_of_a_line_is_said_not_only_the_first(demo) -> None:
    text = HEADER + f"membre;Blanc;;astrologue;{BAD_RPPS};;;;;\n"
    report = import_directory(actor=demo["coord"], fileobj=csv_file(text), dry_run=True)
    errors = report.rejected[0].errors
    assert len(errors) == 3, errors
    assert errors[0].startswith("nom, prenom")
    assert errors[1].startswith("profession")
    assert errors[2].startswith("rpps")
    assert "clé de contrôle" in errors[2]


def test_rows_already_in_the_directory_are_never_duplicated(demo) -> None:
    """Importing the demo's own people and practice again: "déjà présent", left as they are."""
    text = HEADER + (
        "organisation;MSP DES TILLEULS;;;;;msp;;;\n"
        "membre;Petit;Julie;infirmière;;MSP des Tilleuls;;;;\n"
    )
    before = (Member.objects.count(), Organisation.objects.count())
    report = import_directory(actor=demo["coord"], fileobj=csv_file(text), dry_run=False)
    assert [row.status for row in report.rows] == ["present", "present"]
    assert (report.present, report.rejected) == (2, [])
    assert (Member.objects.count(), Organisation.objects.count()) == before


def test_rows_already_present_are_updated_when_the_person_chooses(demo) -> None:
    text = (
        HEADER
        + f"membre;Martin;Claire;medecin_generaliste;{demo['dr.martin'].rpps};;;;07 11 22 33 44;\n"
    )
    report = import_directory(
        actor=demo["coord"], fileobj=csv_file(text), dry_run=False, existing="update"
    )
    assert [row.status for row in report.rows] == ["updated"]
    assert report.imported
    assert Member.objects.get(pk=demo["dr.martin"].pk).phone == "07 11 22 33 44"
    assert Member.objects.filter(family_name="Martin").count() == 1


def test_the_template_downloads_with_french_headers_and_imports_cleanly(demo, themes) -> None:
    web = Client()
    web.force_login(demo["coord"].user)
    response = web.get("/guide/import/modele.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Type;Nom;Prénom;Profession;Spécialité")
    report = import_directory(actor=demo["coord"], fileobj=csv_file(text), dry_run=True)
    assert (report.rejected, report.organisations_created, report.members_created) == ([], 1, 1)
    other = Client()
    other.force_login(demo["dr.martin"].user)
    assert other.get("/guide/import/modele.csv").status_code == 404


def test_a_real_import_from_the_page_asks_for_confirmation(demo, themes) -> None:
    web = Client()
    web.force_login(demo["coord"].user)
    unconfirmed = web.post("/guide/import/", {"file": csv_file(HEADER + VALID)})
    assert unconfirmed.status_code == 400
    assert "Je confirme" in unconfirmed.content.decode()
    assert not Member.objects.filter(family_name="Roux").exists()

    web.post("/guide/import/", {"file": csv_file(HEADER + VALID), "confirm": "on"})
    assert Member.objects.filter(family_name="Roux").exists()


def test_the_api_chooses_what_happens_to_rows_already_present(demo, client_for) -> None:
    text = HEADER + f"membre;Martin;Claire;medecin_generaliste;{demo['dr.martin'].rpps};;;;;\n"
    response = client_for(demo["coord"]).post(
        "/api/v1/directory-import/",
        {"file": csv_file(text), "existing": "update", "dry_run": "false"},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["present"], body["rows"][0]["status"]) == (1, "updated")


def _membership_entries(member: Member) -> list[tuple[str, object, str, dict[str, object]]]:
    return [
        (entry.action, entry.actor_code, entry.target_type, entry.extra)
        for entry in AuditEntry.objects.filter(
            action__startswith="membership.", target_code=member.code
        ).order_by("id")
    ]


def test_an_import_update_adds_a_structure_as_the_member_page_does(demo) -> None:
    pharmacy = Organisation.objects.get(kind="pharmacy")
    by_page, by_import = demo["ide.petit"], demo["dr.martin"]
    web = Client()
    web.force_login(demo["coord"].user)
    added = web.post(
        f"/annuaire/membres/{by_page.code}/structures/",
        {"organisation": str(pharmacy.code), "role": "member"},
    )
    assert added.status_code == 302
    text = (
        HEADER + f"membre;Martin;Claire;medecin_generaliste;{by_import.rpps};{pharmacy.name};;;;\n"
    )
    for _run in range(2):  # the second run finds the structure held: nothing more is recorded
        report = import_directory(
            actor=demo["coord"], fileobj=csv_file(text), dry_run=False, existing="update"
        )
        assert [row.status for row in report.rows] == ["updated"]
    assert _membership_entries(by_import) == _membership_entries(by_page)
    assert _membership_entries(by_import) == [
        (
            "membership.add",
            demo["coord"].code,
            "directory.member",
            {"organisation": str(pharmacy.code), "role": "member"},
        )
    ]
    assert by_import.memberships.filter(organisation=pharmacy, role="member").count() == 1


def test_a_command_line_import_without_an_account_acts_as_the_system(demo, tmp_path) -> None:
    pharmacy = Organisation.objects.get(kind="pharmacy")
    nurse = demo["ide.petit"]
    path = tmp_path / "annuaire.csv"
    path.write_text(
        HEADER + f"membre;Petit;{nurse.given_name};infirmier;{nurse.rpps};{pharmacy.name};;;;\n",
        encoding="utf-8",
    )
    report = import_directory(actor=None, fileobj=path.open("rb"), dry_run=False, existing="update")
    assert [(row.status, row.errors) for row in report.rows] == [("updated", [])]
    assert _membership_entries(nurse) == [
        (
            "membership.add",
            None,
            "directory.member",
            {"organisation": str(pharmacy.code), "role": "member"},
        )
    ]
    assert AuditEntry.objects.filter(action="directory.import", actor_code=None).exists()
