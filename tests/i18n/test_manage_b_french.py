"""The organizer pages for teams, open calls, screening rules, the pool, the panel, segments,
draws, the funnel, contact rules and themes, read by an owner whose profile says French: the
page is in French (words we wrote for it are there, the English ones are gone), a refused form
says why in French with a 400 and writes nothing, and counts take the French plural (singular
for 0 and 1)."""

import pytest
from django.urls import reverse

from events.models import CallQuota, ContactBlock, OpenCall, PanelAttribute, Segment, Theme
from events.services import contact, draws, teams, themes
from events.services import questionnaire as engine
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    PanelMemberFactory,
    SegmentFactory,
    add_to_team,
    team_of,
)
from tests.open_calls.conftest import in_pool, make_call
from tests.themes.conftest import add_answers, planted

pytestmark = pytest.mark.django_db

NB = "\u00a0"  # before a colon
NNB = "\u202f"  # before ; ? !


@pytest.fixture
def owner():
    return OrganizerFactory(language="fr", display_name="Camille")


@pytest.fixture
def team(owner):
    return team_of(owner)


@pytest.fixture
def fr(owner, client_for):
    return client_for(owner)


@pytest.fixture
def call(owner, team) -> OpenCall:
    return make_call(owner, team=team)


def read(client, name: str, *args, status: int = 200, **query) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == status
    return response.content.decode()


def french(html: str, *present: str, gone: tuple[str, ...] = ()) -> None:
    for words in present:
        assert words in html, words
    for words in gone:
        assert words not in html, words


# Teams


def test_the_team_page_is_in_french(fr, team):
    html = read(fr, "manage:team", team.slug)
    french(
        html,
        "Inviter quelqu’un",
        "Invitations en attente",
        "Envoyer l’invitation",
        "Ce que chaque rôle peut faire",
        "Nom de l’équipe",
        "Jours de repos après la présence à une session",
        "1 membre",
        "valable 7 jours.",
        gone=("Invite someone", "Pending invitations", "Save the settings", "Team name"),
    )


def test_the_new_team_and_leave_pages_are_in_french(fr, team, owner):
    add_to_team(team, OrganizerFactory(), role="owner")  # so that the owner may leave
    french(
        read(fr, "manage:team_create"),
        "Nouvelle équipe",
        "Créer l’équipe",
        "Fuseau horaire par défaut",
        gone=("New team", "Create the team"),
    )
    french(
        read(fr, "manage:team_leave", team.slug),
        f"Quitter {team.name}{NNB}?",
        "Quitter l’équipe",
        "Rester",
        gone=("Leave the team", "Stay</a>"),
    )


def test_the_join_page_is_in_french_for_a_french_reader(team, owner, client):
    invitation = teams.invite_member(team=team, actor=owner, email="dana@example.com", role="door")
    url = reverse("events:team_join", args=[teams.join_token(invitation)])
    html = client.get(url, {"lang": "fr"}).content.decode()
    french(
        html,
        "Invitation à une équipe",
        f"Rejoindre {team.name}",
        "vous invite à rejoindre l’équipe comme",
        "Créer un compte",
        gone=("Team invitation", "or create an account"),
    )


def test_the_join_page_of_a_french_team_is_in_french_for_a_reader_who_named_no_language(
    team, owner, client
):
    team.language = "fr"
    team.save(update_fields=["language"])
    invitation = teams.invite_member(team=team, actor=owner, email="eve@example.com", role="door")
    url = reverse("events:team_join", args=[teams.join_token(invitation)])
    assert "Invitation à une équipe" in client.get(url).content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Team invitation" in english


# Open calls, screening rules, the pool


def test_the_calls_call_and_call_form_pages_are_in_french(fr, call):
    french(
        read(fr, "manage:calls"),
        "Appels à participation",
        "Nouvel appel à participation",
        "Dans le vivier",
        gone=("New open call", "In the pool"),
    )
    french(
        read(fr, "manage:call", call.pk),
        "Règles de sélection",
        "Tirer au sort dans cet appel",
        "Adresse publique",
        "0 dans le vivier · 0 en attente de confirmation de l’e-mail",
        gone=("Screening rules", "Public address", "waiting for email confirmation"),
    )
    french(
        read(fr, "manage:call_edit", call.pk),
        "Modifier l’appel",
        "Titre",
        "Dans votre fuseau horaire. Vide",
        gone=("Edit the call", "In your time zone"),
    )


def test_the_rules_submission_pool_and_results_pages_are_in_french(fr, call):
    ada = in_pool(call, "ada@example.com")
    french(
        read(fr, "manage:call_rules", call.pk),
        "Qui est retenu",
        "Règles sur les réponses",
        "Enregistrer les quotas",
        "Aucune règle",
        gone=("Who qualifies", "Rules on answers", "Save the quotas", "No rule<"),
    )
    french(
        read(fr, "manage:submission", ada.pk),
        "Votre évaluation",
        "Enregistrer mon évaluation",
        f"Sélection{NB}:",
        "Note privée",
        gone=("Your review", "Save my review", "Private note"),
    )
    french(
        read(fr, "manage:pool", call.pk),
        "Vivier",
        "Chercher dans les réponses",
        "Masquer les noms pendant l’évaluation",
        "Jamais invité ni venu",
        gone=("Search the answers", "Hide names while reviewing", "Never invited or attended"),
    )
    french(
        read(fr, "manage:pool_results", call.pk),
        "Résultats",
        "Retour au vivier",
        "1 candidature confirmée.",
        gone=("Back to the pool", "confirmed submission"),
    )


def test_blind_review_still_hides_the_names_in_french(fr, call):
    ada = in_pool(call, "ada@example.com", affiliation="Acme Labs")
    fr.get(reverse("manage:pool", args=[call.pk]), {"blind": "1"})
    html = read(fr, "manage:submission", ada.pk)
    assert f"Candidature n°{NB}{ada.pk}" in html
    assert "Acme Labs" not in html
    assert "Ada" not in html


# The panel, segments, attributes, draws


@pytest.fixture
def panel(team):
    return [
        PanelMemberFactory(team=team, email=f"p{i}@example.org", role="researcher")
        for i in range(3)
    ]


def test_the_panel_member_and_attribute_pages_are_in_french(fr, team, panel, call):
    french(
        read(fr, "manage:panel", team.slug),
        "Panel",
        "Personnes qui remplissent toutes les conditions",
        "Ajouter une condition",
        "Rôle et réponses",
        "Dernier contact",
        "(3 personnes)",
        gone=("Add a condition", "People who match every condition", "Last contacted"),
    )
    french(
        read(fr, "manage:panel_member", team.slug, panel[0].pk),
        "Accord pour être contacté",
        "Peut être invité maintenant",
        "Annulations tardives",
        gone=("Agreed to be contacted", "Late cancellations"),
    )
    french(
        read(fr, "manage:panel_attributes", team.slug),
        "Attributs tirés des réponses",
        "Ajouter l’attribut",
        "Choisissez une question",
        gone=("Attributes from answers", "Add the attribute"),
    )


def test_forgetting_a_person_is_in_french(fr, team, owner, panel):
    french(
        read(fr, "manage:panel_member", team.slug, panel[0].pk),
        "Effacer sur demande",
        "Oublier cette personne",
        gone=("Erase on request", "Forget this person"),
    )
    assert fr.post(reverse("manage:panel_forget", args=[team.slug, panel[0].pk])).status_code == 302
    french(
        read(fr, "manage:panel_forget", team.slug, panel[1].pk),
        "Oublier cette personne\u202f?",
        "Personnes oubliées auparavant",
        "ligne effacée, par",
        gone=("Forget this person?", "People forgotten earlier", "row erased"),
    )


def test_the_segment_pages_are_in_french(fr, team, panel):
    segment = SegmentFactory(team=team, name="Chercheurs")
    french(
        read(fr, "manage:segment", segment.pk),
        "Tirer un échantillon au sort",
        "<strong>3 personnes correspondent</strong> maintenant",
        gone=("Draw a sample", "people match"),
    )
    french(
        read(fr, "manage:segment_edit", segment.pk),
        "Modifier le segment",
        "Enregistrer le segment",
        "Compter les personnes correspondantes",
        gone=("Edit the segment", "Save the segment"),
    )
    french(
        read(fr, "manage:segment_new", team.slug),
        "Nouveau segment",
        "Choisissez un champ",
        gone=("New segment", "Choose a field"),
    )
    french(
        read(fr, "manage:segment_delete", segment.pk),
        f"Supprimer ce segment{NNB}?",
        "Le garder",
        gone=("Delete this segment?", "Keep it"),
    )


def test_the_draw_pages_are_in_french(fr, team, owner, panel, call):
    segment = SegmentFactory(team=team)
    EventFactory(organizer=owner, team=team)
    drawn = draws.draw_sample(team=team, actor=owner, segment=segment, size=2, seed="graine")
    french(
        read(fr, "manage:draw_new", segment.pk),
        "Combien de personnes",
        "Graine (facultative)",
        "Privilégier les personnes jamais venues",
        gone=("How many people", "Seed (optional)"),
    )
    french(
        read(fr, "manage:call_draw", call.pk),
        f"Depuis l’appel « {call.title} »".replace("« ", f"«{NB}").replace(" »", f"{NB}»"),
        gone=("From call",),
    )
    french(
        read(fr, "manage:draw", drawn.pk),
        "Tirés au sort\u00a0: 2 sur 2",
        "Tiré au sort par Camille",
        "Continuer vers l’invitation",
        gone=("drawn</h1>", "Drawn by", "Continue to the invitation"),
    )
    french(
        read(fr, "manage:draws", team.slug),
        "Tirages au sort",
        "2 sur 2",
        gone=("No draws yet", "2 of 2"),
    )


# The funnel, contact rules, themes


def test_the_funnel_pages_are_in_french(fr, team, call):
    french(
        read(fr, "manage:call_funnel", call.pk),
        "Entonnoir",
        "Ce que compte chaque étape",
        "De l’étape précédente",
        gone=("What each step counts", "Of the step before"),
    )
    french(
        read(fr, "manage:team_funnel", team.slug),
        "L’entonnoir de chaque appel",
        gone=("Each call's funnel", "Each call&#x27;s funnel"),
    )


def test_the_funnel_names_its_steps_in_french(fr, call):
    html = read(fr, "manage:call_funnel", call.pk)
    french(
        html,
        '<th scope="row">Formulaire envoyé</th>',
        '<th scope="row">Ont répondu à un questionnaire</th>',
        "Ont confirmé leur adresse e-mail.",
        gone=("Answered a survey", "Confirmed their email address."),
    )


def test_the_condition_editor_names_fields_and_operators_in_french(fr, team):
    html = read(fr, "manage:segment_new", team.slug)
    french(
        html,
        ">Sessions suivies</option>",
        ">vaut au moins</option>",
        ">dans les … derniers jours</option>",
        'label="Dates"',
        gone=("Sessions attended", "is at least", "within the last"),
    )


def test_the_csv_headers_are_in_french(fr, team, call):
    in_pool(call, "ada@example.com")
    pool = b"".join(fr.get(reverse("manage:pool_csv", args=[call.pk])).streaming_content)
    header = pool.decode().splitlines()[0]
    assert header.startswith("Réponse,Date de réponse,E-mail,Nom,Rôle,Affiliation,GitHub,Pays ou")
    assert "Motif de la sélection" in header
    funnel = b"".join(fr.get(reverse("manage:team_funnel_csv", args=[team.slug])).streaming_content)
    assert (
        funnel.decode()
        .splitlines()[0]
        .startswith("Entonnoir,Segment,Étape,Personnes,% de l’étape précédente")
    )
    assert "Formulaire envoyé" in funnel.decode()


def test_the_do_not_contact_page_is_in_french(fr, team):
    french(
        read(fr, "manage:contact_blocks", team.slug),
        f"«{NB}Ne pas contacter{NB}»",
        "Bloquer une adresse",
        "Personne pour l’instant.",
        gone=("Block an address", "Nobody yet."),
    )


def test_the_themes_pages_are_in_french(fr, call):
    question = engine.add_question(
        questionnaire=call.questionnaire, label="What hurts?", kind="long_text"
    )
    add_answers(question, planted(40))
    french(
        read(fr, "manage:question_themes", question.pk),
        "Aucun thème n’a encore été calculé pour cette question.",
        "Calculer les thèmes",
        gone=("No themes have been computed", "Compute themes"),
    )
    theme_set = themes.request(question)
    themes.compute(theme_set.pk)
    french(
        read(fr, "manage:question_themes", question.pk),
        "Thèmes par taille",
        "Mots principaux",
        gone=("Themes by size", "Top words"),
    )
    theme = Theme.objects.filter(theme_set__question=question).first()
    french(
        read(fr, "manage:theme", theme.pk),
        "Tous les thèmes",
        "la plus marquée d’abord" if theme.size <= 1 else "les plus marquées d’abord",
        gone=("All themes", "strongest first"),
    )
    answers = b"".join(fr.get(reverse("manage:theme_csv", args=[theme.pk])).streaming_content)
    assert answers.decode().splitlines()[0] == "Thème,Réponse"


# Refused forms: French, a 400, nothing written


def test_a_bad_team_setting_is_refused_in_french_and_nothing_changes(fr, team):
    response = fr.post(
        reverse("manage:team_settings", args=[team.slug]),
        {
            "settings-name": "Renamed",
            "settings-timezone": "Europe/Paris",
            "settings-language": "fr",
            "settings-invite_cooldown_days": "999",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Vérifiez les paramètres ci-dessous." in html
    assert "inférieure ou égale à 365" in html
    assert "Check the settings below." not in html
    team.refresh_from_db()
    assert team.name != "Renamed"


def test_a_call_that_closes_before_it_opens_is_refused_in_french(fr):
    before = OpenCall.objects.count()
    response = fr.post(
        reverse("manage:call_create"),
        {
            "title": "Appel",
            "slug": "appel",
            "opens_at": "2030-05-02T10:00",
            "closes_at": "2030-05-01T10:00",
        },
    )
    assert response.status_code == 400
    assert "L’appel doit se clôturer après son ouverture." in response.content.decode()
    assert OpenCall.objects.count() == before


def test_a_quota_over_100_percent_is_refused_in_french_and_no_quota_is_saved(fr, call):
    response = fr.post(
        reverse("manage:call_rules", args=[call.pk]),
        {
            "form": "quotas",
            "quota-count": "1",
            "quota-0-field": "role",
            "quota-0-value": "researcher",
            "quota-0-bound": "at_least",
            "quota-0-percent": "150",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Rien n’a été modifié." in html
    assert "Nothing was changed." not in html
    assert not CallQuota.objects.filter(call=call).exists()


def test_an_attribute_without_a_question_is_refused_in_french(fr, team):
    response = fr.post(
        reverse("manage:panel_attributes", args=[team.slug]), {"name": "models_used"}
    )
    assert response.status_code == 400
    assert "Choisissez une question." in response.content.decode()
    assert not PanelAttribute.objects.filter(team=team).exists()


def test_a_segment_with_a_bad_value_is_a_french_page_with_a_400_and_nothing_saved(fr, team):
    response = fr.post(
        reverse("manage:segment_new", args=[team.slug]),
        {"name": "Mauvais", "c-0-field": "attended", "c-0-op": "gte", "c-0-value": "beaucoup"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nouveau segment" in html and "Enregistrer le segment" in html
    assert "Save the segment" not in html
    assert not Segment.objects.filter(team=team).exists()


def test_a_segment_id_that_is_not_a_number_is_refused_in_french(fr, team):
    html = read(fr, "manage:team_funnel", team.slug, status=400, segment="abc")
    assert f"«{NB}abc{NB}» n’est pas l’un des segments de l’équipe." in html


# Plurals: French takes the singular for 0 and 1


@pytest.mark.parametrize(
    ("people", "words"),
    [(0, "(0 personne)"), (1, "(1 personne)"), (2, "(2 personnes)")],
)
def test_the_pool_counts_people_in_french(fr, call, people, words):
    for n in range(people):
        in_pool(call, f"p{n}@example.com")
    assert words in read(fr, "manage:pool", call.pk)


@pytest.mark.parametrize(
    ("blocked", "words"),
    [(0, "0 adresse."), (1, "1 adresse."), (2, "2 adresses.")],
)
def test_the_do_not_contact_list_counts_addresses_in_french(fr, team, owner, blocked, words):
    for n in range(blocked):
        contact.block(team=team, actor=owner, email=f"b{n}@example.com", note="")
    assert ContactBlock.objects.filter(team=team).count() == blocked
    assert words in read(fr, "manage:contact_blocks", team.slug)


@pytest.mark.parametrize(
    ("ticked", "words"),
    [(1, "1 personne étiquetée."), (2, "2 personnes étiquetées.")],
)
def test_tagging_from_the_pool_says_how_many_in_french(fr, call, ticked, words):
    rows = [in_pool(call, f"t{n}@example.com") for n in range(ticked)]
    response = fr.post(
        reverse("manage:pool_action", args=[call.pk]),
        {"action": "tag", "tag": "eu", "scope": "ticked", "ids": [s.pk for s in rows]},
        follow=True,
    )
    assert words in response.content.decode()


def test_english_readers_still_get_english(client_for, call):
    english = OrganizerFactory()
    add_to_team(call.team, english, role="organizer")
    html = read(client_for(english), "manage:pool", call.pk)
    assert "Search the answers" in html
    assert "Chercher dans les réponses" not in html


def test_the_team_language_select_still_saves_in_french(fr, team):
    html = read(fr, "manage:team", team.slug)
    assert 'name="settings-language"' in html
    response = fr.post(
        reverse("manage:team_settings", args=[team.slug]),
        {
            "settings-name": team.name,
            "settings-slug": team.slug,
            "settings-timezone": "Europe/Paris",
            "settings-language": "fr",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Les paramètres de l’équipe sont enregistrés." in response.content.decode()
    team.refresh_from_db()
    assert team.language == "fr"


def test_the_segment_editor_script_gets_its_french_sentences(fr):
    catalogue = fr.get(reverse("javascript_catalog")).content.decode()
    assert "personnes remplissent ces conditions maintenant." in catalogue
    assert "Pas compt\\u00e9" in catalogue or "Pas compté" in catalogue
