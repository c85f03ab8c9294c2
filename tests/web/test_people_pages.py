"""The people of a case in the browser's forms (TestClient), on a real SQLite file with the real journeys.

What a caseworker relies on: adding a person to a case from its page, linking someone already
recorded on another case, opening a person's page from the case; every bad input shown against its
field in the GOV.UK error summary with what was typed kept and nothing written; another team's
caseworker and the administrator refused and nothing written; a post without its CSRF token refused;
no name in any URL; and every person page view in the read audit.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

import pytest

from tests.support import ADMIN, email_for
from tests.web.conftest import PASSWORD, csrf_of, sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from tests.support import Staff

CW = email_for("caseworker")
TM = email_for("team_manager")
SM = email_for("service_manager")
OTHER = "other.caseworker@council.test"

CHILD = {
    "given_names": "Amelia Rose",
    "family_name": "Okafor",
    "born_on-day": "14",
    "born_on-month": "3",
    "born_on-year": "2019",
    "sex": "female",
    "ethnicity": "BAFR",
    "contact": "c/o foster carer",
    "role": "child",
}


def _case(app: App, staff: Staff) -> str:
    return app.cases.open_case("foster_carer_approval", CW, team_id=staff.team_id).ref


def _people(app: App, ref: str) -> list[tuple[str, str]]:
    """The case's people as (full name, role), read by the service manager (who may read every case)."""
    actor = app.directory.actor(SM)
    return [(p.person.details.full_name, p.role) for p in app.persons.participants(app.reads.case(ref, actor), actor)]


def _other_team_caseworker(app: App) -> int:
    """A caseworker of another team (signing in with the tests' password); that team's id."""
    app.people.add_user(OTHER, "Other Caseworker", ["caseworker"], ADMIN)
    team_id = app.people.add_team("Other team", ADMIN, members=[OTHER])
    app.accounts.set_passwords([OTHER], PASSWORD, ADMIN)
    return team_id


def _add_form(client: TestClient, ref: str) -> str:
    form = client.get(f"/cases/{ref}/people/add")
    assert form.status_code == 200, form.text[-1500:]
    return csrf_of(form.text)


def test_a_caseworker_adds_a_child_from_the_case_page(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    case_page = client.get(f"/cases/{ref}")
    assert f'href="/cases/{ref}/people/add">Add a person</a>' in case_page.text
    assert f'href="/cases/{ref}/people/link">Link someone already recorded</a>' in case_page.text
    r = client.post(f"/cases/{ref}/people/add", data={**CHILD, "csrf_token": _add_form(client, ref)})
    assert r.status_code == 303, r.text[-1500:]
    assert r.headers["location"] == f"/cases/{ref}?added=child"  # the role, never the name, in the URL
    assert _people(web_app, ref) == [("Amelia Rose Okafor", "child")]
    case_page = client.get(r.headers["location"])
    assert "Person added to the case as: Child." in case_page.text
    assert "govuk-notification-banner--success" in case_page.text
    found = re.search(r'href="(/people/(\d+)\?from=' + ref + r')">Amelia Rose Okafor</a>', case_page.text)
    assert found, case_page.text[-3000:]
    person = client.get(found.group(1))
    assert person.status_code == 200
    assert person.headers["cache-control"] == "no-store"
    assert "Okafor" not in person.text.split("<title>")[1].split("</title>")[0]
    for shown in (
        "Amelia Rose",
        "Okafor",
        "Thursday 14 March 2019",
        "Female",
        "Black African (BAFR)",
        "c/o foster carer",
    ):
        assert shown in person.text, shown
    assert f'<a class="govuk-link" href="/cases/{ref}">{ref}</a>' in person.text
    assert f'href="/cases/{ref}" class="govuk-back-link"' in person.text
    views = list(web_app.accounts.viewers(ref, ADMIN))
    assert (views[0].email, views[0].what, views[0].via) == (CW, f"person {found.group(2)}", "web")


def test_only_the_names_are_needed_and_the_optional_fields_stay_empty(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    data = {"given_names": "Sam", "family_name": "Lee", "role": "applicant", "csrf_token": _add_form(client, ref)}
    r = client.post(f"/cases/{ref}/people/add", data=data)
    assert r.status_code == 303, r.text[-1500:]
    actor = web_app.directory.actor(CW)
    (p,) = web_app.persons.participants(web_app.reads.case(ref, actor), actor)
    d = p.person.details
    assert (d.born_on, d.sex, d.ethnicity, d.contact) == (None, None, None, None)
    assert (
        "Person added to the case as: Applicant (prospective foster carer or adopter)."
        in client.get(r.headers["location"]).text
    )


@pytest.mark.parametrize(
    ("changes", "target", "message"),
    [
        ({"given_names": ""}, "given_names", "Enter given names"),
        ({"family_name": "  "}, "family_name", "Enter family name"),
        ({"role": ""}, "role", "Select their role in this case"),
        ({"born_on-year": ""}, "born_on-year", "Date of birth must include a year"),
        ({"born_on-month": "13"}, "born_on-day", "Date of birth must be a real date"),
        ({"born_on-year": "2027"}, "born_on-day", "The date of birth is in the future"),
        ({"born_on-year": "1066"}, "born_on-day", "The date of birth 1066-03-14 is before"),
        ({"sex": "robot"}, "sex", "Unknown sex"),
        ({"ethnicity": "XXXX"}, "ethnicity", "Unknown ethnicity code (DfE)"),
        ({"role": "landlord"}, "role", "Unknown role in the case"),
        ({"given_names": "Amelia\x00"}, "given_names", "The given names must be one line"),
        ({"family_name": "O" * 101}, "family_name", "The family name is longer than 100 characters"),
        ({"contact": "x" * 501}, "contact", "longer than 500 characters"),
    ],
)
def test_each_bad_input_is_shown_against_its_field_and_nothing_is_written(
    client: TestClient, web_app: App, web_staff: Staff, changes: dict[str, str], target: str, message: str
) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    r = client.post(f"/cases/{ref}/people/add", data={**CHILD, **changes, "csrf_token": _add_form(client, ref)})
    assert r.status_code == 400, r.text[-1500:]
    assert "<title>Error: " in r.text
    summary = r.text.split('class="govuk-error-summary"')[1].split("</div>\n</div>")[0]
    assert re.search(f'<a href="#{target}">[^<]*{re.escape(message)}', summary), summary
    assert f'id="{target}"' in r.text  # the summary's link lands on the input
    assert "govuk-form-group--error" in r.text
    if "given_names" not in changes:
        assert 'value="Amelia Rose"' in r.text  # what was typed is kept
    if changes.get("role", "child") == "child":
        assert 'value="child" checked' in r.text
    assert _people(web_app, ref) == []


def test_another_teams_caseworker_and_the_administrator_are_refused_and_nothing_is_written(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    _other_team_caseworker(web_app)
    sign_in(client, CW)
    token = _add_form(client, ref)
    client.post(f"/cases/{ref}/people/add", data={**CHILD, "csrf_token": token})
    person_id = web_app.persons.find(web_app.directory.actor(CW), name="Amelia Okafor").items[0].person.id
    for email in (OTHER, ADMIN):
        client.cookies.clear()
        sign_in(client, email)
        token = csrf_of(client.get(f"/cases/{ref}/people/add").text)  # the 403 page's sign-out form
        for path in (f"/cases/{ref}/people/add", f"/cases/{ref}/people/link", f"/people/{person_id}"):
            assert client.get(path).status_code == 403, (email, path)
        r = client.post(f"/cases/{ref}/people/add", data={**CHILD, "given_names": "Intruder", "csrf_token": token})
        assert r.status_code == 403, (email, r.text[-800:])
        r = client.post(
            f"/cases/{ref}/people/link", data={"person_id": str(person_id), "role": "partner", "csrf_token": token}
        )
        assert r.status_code == 403, (email, r.text[-800:])
    assert _people(web_app, ref) == [("Amelia Rose Okafor", "child")]
    views = {v.email for v in web_app.accounts.viewers(ref, ADMIN)}
    assert OTHER not in views


def test_the_case_page_shows_no_add_link_to_who_may_not_add(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, email_for("panel_coordinator"))
    page = client.get(f"/cases/{ref}")
    assert page.status_code == 200
    assert "/people/add" not in page.text
    assert "/people/link" not in page.text


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    other = _case(web_app, web_staff)
    web_app.persons.add(other, "child", "Amelia", "Okafor", CW)
    person_id = web_app.persons.find(web_app.directory.actor(CW), name="Amelia Okafor").items[0].person.id
    sign_in(client, CW)
    for data in ({}, {"csrf_token": "forged"}):
        r = client.post(f"/cases/{ref}/people/add", data={**CHILD, **data})
        assert r.status_code == 403
        assert "This form has expired" in r.text
        r = client.post(f"/cases/{ref}/people/link", data={"person_id": str(person_id), "role": "child", **data})
        assert r.status_code == 403
    assert _people(web_app, ref) == []


def test_a_caseworker_finds_someone_on_another_case_and_links_them(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    other = _case(web_app, web_staff)
    web_app.persons.add(other, "child", "Amelia", "Okafor", CW, born_on=date(2019, 3, 14))
    web_app.persons.add(other, "birth_parent", "Grace", "Okafor", CW)
    sign_in(client, CW)
    empty = client.get(f"/cases/{ref}/people/link")
    assert empty.status_code == 200
    assert "<table" not in empty.text
    page = client.get(f"/cases/{ref}/people/link", params={"name": "Amelia Okafr"})  # spelling forgiven
    assert page.status_code == 200, page.text[-1500:]
    assert "Amelia Okafor" in page.text
    assert "Thursday 14 March 2019" in page.text
    by_date = client.get(f"/cases/{ref}/people/link", params={"born-day": "14", "born-month": "3", "born-year": "2019"})
    assert "Amelia Okafor" in by_date.text
    assert "Grace Okafor" not in by_date.text
    person_id = int(re.search(r'name="person_id" value="(\d+)"', by_date.text).group(1))  # type: ignore[union-attr]
    r = client.post(
        f"/cases/{ref}/people/link",
        data={"person_id": str(person_id), "role": "child", "name": "Amelia Okafr", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303, r.text[-1500:]
    assert r.headers["location"] == f"/cases/{ref}?linked=child"
    assert "Person linked to the case as: Child." in client.get(r.headers["location"]).text
    assert _people(web_app, ref) == [("Amelia Okafor", "child")]
    again = client.get(f"/cases/{ref}/people/link", params={"name": "Amelia Okafor"})
    assert "Already on this case" in again.text
    person = client.get(f"/people/{person_id}")
    assert f'href="/cases/{ref}">{ref}</a>' in person.text
    assert f'href="/cases/{other}">{other}</a>' in person.text
    refs = {v.what for v in web_app.accounts.viewers(ref, ADMIN)} & {
        v.what for v in web_app.accounts.viewers(other, ADMIN)
    }
    assert f"person {person_id}" in refs  # reached from no case: the view is recorded on each case shown


def test_link_errors_are_shown_with_the_search_kept_and_nothing_is_written(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    other = _case(web_app, web_staff)
    web_app.persons.add(other, "child", "Amelia", "Okafor", CW)
    web_app.persons.add(ref, "applicant", "Grace", "Okafor", CW)
    sign_in(client, CW)
    page = client.get(f"/cases/{ref}/people/link", params={"name": "Okafor"})
    token = csrf_of(page.text)
    amelia = web_app.persons.find(web_app.directory.actor(CW), name="Amelia Okafor").items[0].person.id
    grace = web_app.persons.find(web_app.directory.actor(CW), name="Grace Okafor").items[0].person.id
    for data, target, message in (
        ({"person_id": str(amelia), "role": ""}, f"role-{amelia}", "Select their role in this case"),
        ({"person_id": str(amelia), "role": "landlord"}, f"role-{amelia}", "Unknown role in the case"),
        ({"person_id": "", "role": "child"}, "name", "Choose the person to link from the list"),
        ({"person_id": "abc", "role": "child"}, "name", "Choose the person to link from the list"),
    ):
        r = client.post(f"/cases/{ref}/people/link", data={**data, "name": "Okafor", "csrf_token": token})
        assert r.status_code == 400, (data, r.text[-1500:])
        assert f'<a href="#{target}">{message}' in r.text, (data, r.text[-3000:])
        assert 'value="Okafor"' in r.text  # the search is kept, with its results
        assert f'name="person_id" value="{amelia}"' in r.text
    r = client.post(f"/cases/{ref}/people/link", data={"person_id": str(grace), "role": "partner", "csrf_token": token})
    assert r.status_code == 400
    assert "already" in r.text.lower()
    assert sorted(_people(web_app, ref)) == [("Grace Okafor", "applicant")]
    for params, target in (
        ({"name": "12345"}, "name"),
        ({"name": "x\x00y"}, "name"),
        ({"born-day": "31", "born-month": "2", "born-year": "2019"}, "born-day"),
        ({"born-day": "3", "born-month": "2"}, "born-year"),
        ({"born-day": "3", "born-month": "2", "born-year": "1066"}, "born-day"),
    ):
        r = client.get(f"/cases/{ref}/people/link", params=params)
        assert r.status_code == 400, (params, r.text[-1500:])
        assert f'<a href="#{target}">' in r.text, (params, r.text[-3000:])


def test_bad_input_never_answers_500(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    for path in (
        "/people/0",
        "/people/-1",
        "/people/abc",
        "/people/99999999999999999999",
        "/people/2147483647",
        f"/people/1?from={'A' * 500}",
        "/cases/NOPE-2026-0001/people/add",
        f"/cases/{ref}/people/link?after=zzz&name=Okafor",
        f"/cases/{ref}/people/link?name=" + "%FF" * 300,
        f"/cases/{ref}/people/link?born-day=99&born-month=99&born-year=99999",
    ):
        r = client.get(path)
        assert r.status_code < 500, (path, r.status_code, r.text[-800:])
    assert client.get("/people/2147483647").status_code == 404
    token = _add_form(client, ref)
    for data in (
        {"given_names": "x" * 100_000},
        {"born_on-day": "99", "born_on-month": "99", "born_on-year": "99999"},
        {"born_on-day": "-1"},
        {"sex": "\x00"},
        {"role": "x" * 5000},
    ):
        r = client.post(f"/cases/{ref}/people/add", data={**CHILD, **data, "csrf_token": token})
        assert r.status_code == 400, (data, r.text[-800:])
    for data in ({"person_id": "99999999999", "role": "child"}, {"person_id": "2147483647", "role": "child"}):
        r = client.post(f"/cases/{ref}/people/link", data={**data, "csrf_token": token})
        assert r.status_code < 500, (data, r.text[-800:])
    assert _people(web_app, ref) == []


def test_nobody_comes_to_read_a_person_by_linking_them_to_a_case_of_their_own(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    other_team = _other_team_caseworker(web_app)
    theirs = web_app.cases.open_case("foster_carer_approval", OTHER, team_id=other_team)
    person_id = web_app.persons.add(theirs.ref, "child", "Hidden", "Person", OTHER).person_id
    sign_in(client, CW)
    search = client.get(f"/cases/{ref}/people/link", params={"name": "Hidden Person"})
    assert search.status_code == 200
    assert "Nobody found" in search.text  # the search finds only people on cases the caseworker may read
    assert f'value="{person_id}"' not in search.text
    assert client.get(f"/people/{person_id}").status_code == 403
    r = client.post(
        f"/cases/{ref}/people/link",
        data={"person_id": str(person_id), "role": "child", "csrf_token": csrf_of(search.text)},
    )
    assert r.status_code == 403
    assert "Hidden" not in r.text
    assert _people(web_app, ref) == []


# -- correcting a person's details, and taking them off a case ------------------------------------


def _person(app: App, ref: str, family: str = "Okafer") -> int:
    return app.persons.add(ref, "child", "Amelia", family, CW, born_on=date(2019, 3, 14), sex="female").person_id


def _details(app: App, person_id: int) -> tuple[object, ...]:
    d = app.persons.show(person_id, app.directory.actor(SM)).person.details
    return (d.given_names, d.family_name, d.born_on, d.sex, d.ethnicity, d.contact)


def _correct_form(client: TestClient, person_id: int) -> tuple[str, dict[str, str]]:
    """The correction form's CSRF token, and its fields as the browser would post them unchanged."""
    form = client.get(f"/people/{person_id}/correct")
    assert form.status_code == 200, form.text[-1500:]
    shown = {
        "given_names": "Amelia",
        "family_name": "Okafer",
        "born_on-day": "14",
        "born_on-month": "3",
        "born_on-year": "2019",
        "sex": "female",
        "ethnicity": "",
        "contact": "",
    }
    for name, value in shown.items():  # the form is filled in with the details as recorded
        if name in ("sex", "ethnicity", "contact") or not value:
            continue
        assert f'name="{name}" type="text" value="{value}"' in form.text or f'value="{value}"' in form.text, name
    assert re.search(r'name="sex" type="radio" value="female" checked|value="female"[^>]*checked', form.text)
    return csrf_of(form.text), shown


def test_a_caseworker_corrects_a_mistyped_family_name_and_date_of_birth(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    person_id = _person(web_app, ref)
    sign_in(client, CW)
    page = client.get(f"/people/{person_id}", params={"from": ref})
    assert f'href="/people/{person_id}/correct">Correct their details</a>' in page.text
    token, shown = _correct_form(client, person_id)

    r = client.post(
        f"/people/{person_id}/correct",
        data={**shown, "family_name": "Okafor", "born_on-day": "15", "csrf_token": token},
    )

    assert r.status_code == 303, r.text[-1500:]
    assert r.headers["location"] == f"/people/{person_id}?corrected=family_name,born_on"  # field names, no values
    assert _details(web_app, person_id) == ("Amelia", "Okafor", date(2019, 3, 15), "female", None, None)
    assert "Details corrected: family name and date of birth." in client.get(r.headers["location"]).text
    found = web_app.persons.find(web_app.directory.actor(CW), name="Amelia Okafor")
    assert [f.person.id for f in found] == [person_id]


def test_emptying_an_optional_detail_clears_it(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    person_id = _person(web_app, ref)
    sign_in(client, CW)
    token, shown = _correct_form(client, person_id)

    r = client.post(
        f"/people/{person_id}/correct",
        data={**shown, "born_on-day": "", "born_on-month": "", "born_on-year": "", "csrf_token": token},
    )

    assert r.status_code == 303, r.text[-1500:]
    assert _details(web_app, person_id) == ("Amelia", "Okafer", None, "female", None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "Nothing to change: the details are already these"),
        ({"family_name": ""}, "Enter family name"),
        ({"born_on-month": "13"}, "Date of birth must be a real date"),
        ({"born_on-year": "2090"}, "date of birth"),
        ({"ethnicity": "XXXX"}, "ethnicity"),
    ],
)
def test_a_correction_that_is_wrong_or_changes_nothing_is_shown_and_nothing_is_written(
    client: TestClient, web_app: App, web_staff: Staff, change: dict[str, str], message: str
) -> None:
    ref = _case(web_app, web_staff)
    person_id = _person(web_app, ref)
    before = _details(web_app, person_id)
    sign_in(client, CW)
    token, shown = _correct_form(client, person_id)

    r = client.post(f"/people/{person_id}/correct", data={**shown, **change, "csrf_token": token})

    assert r.status_code == 400
    assert 'class="govuk-error-summary"' in r.text
    assert message.lower() in r.text.lower()
    assert _details(web_app, person_id) == before


def test_who_may_not_correct_gets_no_form_and_nothing_is_written(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    person_id = _person(web_app, ref)
    before = _details(web_app, person_id)
    _other_team_caseworker(web_app)
    for email in (OTHER, email_for("panel_coordinator")):
        sign_in(client, email)
        assert client.get(f"/people/{person_id}/correct").status_code == 403, email
        token = csrf_of(client.get("/my-work").text)
        r = client.post(f"/people/{person_id}/correct", data={"family_name": "Changed", "csrf_token": token})
        assert r.status_code == 403, email
    sign_in(client, email_for("panel_coordinator"))
    page = client.get(f"/people/{person_id}")
    assert page.status_code == 200  # a panel coordinator reads the person, but may not correct them
    assert "Correct their details" not in page.text
    assert _details(web_app, person_id) == before


def test_a_person_linked_in_error_is_taken_off_the_case_and_stays_on_their_own(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    right, wrong = _case(web_app, web_staff), _case(web_app, web_staff)
    person_id = _person(web_app, right)
    web_app.persons.link(person_id, wrong, "child", CW)
    sign_in(client, CW)
    page = client.get(f"/people/{person_id}")
    assert f'href="/cases/{wrong}/people/{person_id}/remove"' in page.text
    confirm = client.get(f"/cases/{wrong}/people/{person_id}/remove")
    assert confirm.status_code == 200
    assert "Take Amelia Okafer off this case?" in confirm.text

    r = client.post(f"/cases/{wrong}/people/{person_id}/remove", data={"csrf_token": csrf_of(confirm.text)})

    assert r.status_code == 303, r.text[-1500:]
    assert r.headers["location"] == f"/cases/{wrong}?removed=child"
    assert "Person taken off the case (they were on it as: Child)." in client.get(r.headers["location"]).text
    assert _people(web_app, wrong) == []
    assert _people(web_app, right) == [("Amelia Okafer", "child")]


def test_a_persons_only_case_is_not_taken_away(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    person_id = _person(web_app, ref)
    sign_in(client, CW)
    page = client.get(f"/people/{person_id}")
    assert "/remove" not in page.text  # no link when it is their only case
    confirm = client.get(f"/cases/{ref}/people/{person_id}/remove")

    r = client.post(f"/cases/{ref}/people/{person_id}/remove", data={"csrf_token": csrf_of(confirm.text)})

    assert r.status_code == 400
    assert "link them to the right case first" in r.text
    assert _people(web_app, ref) == [("Amelia Okafer", "child")]


def test_taking_off_a_person_who_is_not_on_the_case_or_without_the_right_is_refused(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    right, other = _case(web_app, web_staff), _case(web_app, web_staff)
    person_id = _person(web_app, right)
    web_app.persons.link(person_id, other, "child", CW)
    sign_in(client, CW)
    assert client.get(f"/cases/{_case(web_app, web_staff)}/people/{person_id}/remove").status_code == 404
    sign_in(client, email_for("panel_coordinator"))
    assert client.get(f"/cases/{other}/people/{person_id}/remove").status_code == 403
    token = csrf_of(client.get("/my-work").text)
    assert client.post(f"/cases/{other}/people/{person_id}/remove", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/cases/{other}/people/{person_id}/remove", data={}).status_code == 403  # no CSRF token
    assert _people(web_app, other) == [("Amelia Okafer", "child")]


def test_find_a_case_by_a_persons_name_lists_them_with_a_link_to_their_page(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    child = _person(web_app, ref, family="Okafor")
    parent = web_app.persons.add(ref, "birth_parent", "Grace", "Okafor", CW).person_id  # no date of birth
    other_team = _other_team_caseworker(web_app)
    theirs = web_app.cases.open_case("foster_carer_approval", OTHER, team_id=other_team).ref
    web_app.persons.add(theirs, "child", "Hidden", "Okafor", OTHER)
    sign_in(client, CW)

    page = client.get("/cases", params={"q": "Okafr"})  # forgiving spelling

    assert page.status_code == 200
    assert f'<a class="govuk-link" href="/people/{child}">Amelia Okafor</a>' in page.text
    assert f'<a class="govuk-link" href="/people/{parent}">Grace Okafor</a>' in page.text
    assert "Thursday 14 March 2019" in page.text
    assert "Not recorded" in page.text  # Grace's date of birth
    assert "Hidden" not in page.text  # on another team's case only


def test_a_persons_page_lists_the_changes_to_their_record_without_values_or_cases_the_reader_may_not_see(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref, second = _case(web_app, web_staff), _case(web_app, web_staff)
    person_id = _person(web_app, ref)
    web_app.persons.link(person_id, second, "child", CW)
    web_app.persons.correct(person_id, CW, family_name="Okafor", born_on=date(2019, 3, 15))
    other_team = _other_team_caseworker(web_app)
    theirs = web_app.cases.open_case("foster_carer_approval", OTHER, team_id=other_team).ref
    web_app.persons.link(person_id, theirs, "child", SM)
    web_app.persons.unlink(person_id, second, CW)
    sign_in(client, CW)

    page = client.get(f"/people/{person_id}")

    assert page.status_code == 200
    assert page.text.count("Changes to this record") == 1
    changes = page.text.split("Changes to this record")[1]
    rows = [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tbody.*?</tbody>", changes, re.S)[0].split("</tr>")[:-1]
    ]
    assert any(f"Taken off {second} (was on it as: Child)" in r for r in rows)
    assert any("Linked to a case you may not see as: Child" in r for r in rows)  # another team's case
    assert any("Corrected: family name and date of birth" in r for r in rows)
    assert any(f"Linked to {second} as: Child" in r for r in rows)
    assert any(f"Added on {ref} as: Child" in r for r in rows)
    assert "Taken off" in rows[0]  # newest first
    assert len(rows) == 5
    assert theirs not in page.text
    assert "Okafer" not in changes  # never the old value
