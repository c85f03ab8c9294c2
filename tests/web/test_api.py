"""``/api/v1`` with personal API tokens: the same service calls and permission checks as the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support import email_for

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from tests.support import Staff

CW = email_for("caseworker")
TM = email_for("team_manager")
ADMIN = "admin@council.test"


def _token(app: App, email: str) -> dict[str, str]:
    _, raw = app.accounts.issue_token(email, "tests")
    return {"Authorization": f"Bearer {raw}"}


def test_no_token_no_data(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    for path in ("/api/v1/cases", f"/api/v1/cases/{ref}", "/api/v1/deadlines", "/api/v1/me"):
        r = client.get(path)
        assert r.status_code == 401
        assert ref not in r.text
    r = client.get("/api/v1/cases", headers={"Authorization": "Bearer cp_not-a-token"})
    assert r.status_code == 401


def test_a_token_reads_and_moves_a_case(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    h = _token(web_app, CW)
    assert client.get("/api/v1/me", headers=h).json() == {"email": CW, "roles": ["caseworker"]}
    listed = client.get("/api/v1/cases", headers=h).json()
    assert [c["ref"] for c in listed["items"]] == [ref]
    case = client.get(f"/api/v1/cases/{ref.lower()}", headers=h).json()
    assert case["stage"] == "enquiry"
    assert case["version"] == 1
    actions = client.get(f"/api/v1/cases/{ref}/actions", headers=h).json()
    assert "send_information" in [a["trigger"] for a in actions]
    r = client.post(f"/api/v1/cases/{ref}/actions/send_information", headers=h, json={"expected_version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "initial_contact"
    stale = client.post(f"/api/v1/cases/{ref}/actions/hold_initial_visit", headers=h, json={"expected_version": 1})
    assert stale.status_code == 409
    history = client.get(f"/api/v1/cases/{ref}/history", headers=h).json()
    assert [e["trigger"] for e in history["items"]] == ["open", "send_information"]
    deadlines = client.get(f"/api/v1/cases/{ref}/deadlines", headers=h).json()
    assert all({"rule", "class", "source", "due_on", "status", "days"} <= set(d) for d in deadlines)
    views = [(v.what, v.via) for v in web_app.accounts.viewers(ref, "admin@council.test")]
    assert ("api:case", "api") in views


def test_the_api_refuses_what_the_role_may_not_do(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    for trigger in ("send_information", "hold_initial_visit"):
        web_app.cases.fire(ref, trigger, CW)
    h = _token(web_app, CW)
    r = client.post(
        f"/api/v1/cases/{ref}/actions/accept_application",
        headers=h,
        json={"facts": {"application_received_on": "2026-11-01"}},
    )
    assert r.status_code == 403  # only a team manager accepts an application
    admin = _token(web_app, "admin@council.test")
    assert client.get(f"/api/v1/cases/{ref}", headers=admin).status_code == 403
    bad = client.post(
        f"/api/v1/cases/{ref}/actions/accept_application",
        headers=_token(web_app, TM),
        json={"facts": {"application_received_on": "soon"}},
    )
    assert bad.status_code == 400
    assert "application_received_on" in bad.json()["error"]
    assert web_app.reads.case(ref, web_app.directory.actor(TM)).state == "initial_visit"


def test_a_revoked_token_stops_working(client: TestClient, web_app: App, web_staff: Staff) -> None:
    token_id, raw = web_app.accounts.issue_token(CW, "laptop")
    h = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/me", headers=h).status_code == 200
    web_app.accounts.revoke_token(token_id, CW)
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_the_openapi_schema_is_served(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "carepath API"
    assert "/cases/{ref}/actions/{trigger}" in spec["paths"]


def test_a_token_adds_links_reads_and_finds_people(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    other = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    h = _token(web_app, CW)
    r = client.post(
        f"/api/v1/cases/{ref}/people",
        headers=h,
        json={
            "role": "child",
            "given_names": "Amelia",
            "family_name": "Okafor",
            "born_on": "2019-03-14",
            "sex": "female",
            "ethnicity": "BAFR",
        },
    )
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["role"] == "child"
    assert added["born_on"] == "2019-03-14"
    person_id = added["id"]
    assert [p["id"] for p in client.get(f"/api/v1/cases/{ref}/people", headers=h).json()] == [person_id]
    linked = client.post(f"/api/v1/cases/{other}/people/{person_id}", headers=h, json={"role": "child"})
    assert linked.status_code == 201, linked.text
    assert linked.json()["id"] == person_id
    again = client.post(f"/api/v1/cases/{other}/people/{person_id}", headers=h, json={"role": "child"})
    assert again.status_code == 400
    record = client.get(f"/api/v1/people/{person_id}", headers=h).json()
    assert (record["family_name"], record["sex"], record["ethnicity"]) == ("Okafor", "female", "BAFR")
    assert sorted(c["ref"] for c in record["cases"]) == sorted([ref, other])
    assert ("api:person " + str(person_id), "api") in [(v.what, v.via) for v in web_app.accounts.viewers(ref, ADMIN)]
    found = client.get("/api/v1/people", headers=h, params={"name": "Amelia Okafr"}).json()
    assert [p["id"] for p in found["items"]] == [person_id]
    assert (found["total"], found["next"]) == (1, None)
    by_date = client.get("/api/v1/people", headers=h, params={"born": "2019-03-14", "limit": 1}).json()
    assert [p["id"] for p in by_date["items"]] == [person_id]
    assert client.get("/api/v1/people", headers=h).status_code == 400  # neither a name nor a date


def test_the_people_api_refuses_bad_input_and_other_roles_writing_nothing(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    h = _token(web_app, CW)
    body = {"role": "child", "given_names": "Amelia", "family_name": "Okafor"}
    for bad, status in (
        ({"role": "landlord"}, 400),
        ({"born_on": "2030-01-01"}, 400),
        ({"given_names": "a\x00b"}, 400),
        ({"ethnicity": "XXXX"}, 400),
        ({"family_name": None}, 422),
    ):
        r = client.post(f"/api/v1/cases/{ref}/people", headers=h, json={**body, **bad})
        assert r.status_code == status, (bad, r.text)
        assert "error" in r.json()
    assert client.post(f"/api/v1/cases/{ref}/people", headers=_token(web_app, ADMIN), json=body).status_code == 403
    coordinator = _token(web_app, email_for("panel_coordinator"))
    assert client.post(f"/api/v1/cases/{ref}/people", headers=coordinator, json=body).status_code == 403
    assert client.get(f"/api/v1/cases/{ref}/people", headers=h).json() == []
    assert client.get("/api/v1/people/2147483647", headers=h).status_code == 404
    assert client.get("/api/v1/people/0", headers=h).status_code == 422
    assert client.post(f"/api/v1/cases/{ref}/people/2147483647", headers=h, json={"role": "child"}).status_code == 404
    assert client.get("/api/v1/people", headers=_token(web_app, ADMIN), params={"name": "Okafor"}).status_code == 403


def test_a_token_corrects_a_person_and_takes_them_off_a_case_linked_in_error(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    right = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    wrong = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    h = _token(web_app, CW)
    person_id = web_app.persons.add(right, "child", "Amelia", "Okafer", CW, sex="female", contact="c/o carer").person_id
    web_app.persons.link(person_id, wrong, "child", CW)

    fixed = client.patch(f"/api/v1/people/{person_id}", headers=h, json={"family_name": "Okafor", "contact": None})

    assert fixed.status_code == 200, fixed.text
    assert fixed.json() == {
        "id": person_id,
        "given_names": "Amelia",
        "family_name": "Okafor",
        "born_on": None,
        "sex": "female",  # left out: kept
        "ethnicity": None,
        "contact": None,  # null: cleared
        "changed": ["family_name", "contact"],
    }
    same = client.patch(f"/api/v1/people/{person_id}", headers=h, json={"family_name": "Okafor"})
    assert same.status_code == 400
    assert "nothing to change" in same.json()["error"]

    off = client.delete(f"/api/v1/cases/{wrong}/people/{person_id}", headers=h)
    changes = client.get(f"/api/v1/people/{person_id}/changes", headers=h)
    assert changes.status_code == 200, changes.text
    assert [(c["action"], c["case"], c["role"], c["fields"]) for c in changes.json()] == [
        ("person.unlink", wrong, "child", []),
        ("person.correct", None, None, ["family_name", "contact"]),
        ("person.link", wrong, "child", []),
        ("person.add", right, "child", ["given_names", "family_name", "sex", "contact"]),
    ]
    assert "Okafer" not in changes.text  # names of fields, never their values

    assert off.status_code == 200, off.text
    assert off.json() == {"id": person_id, "ref": wrong, "role": "child"}
    assert client.get(f"/api/v1/cases/{wrong}/people", headers=h).json() == []
    last = client.delete(f"/api/v1/cases/{right}/people/{person_id}", headers=h)
    assert last.status_code == 400  # their only case
    assert [p["id"] for p in client.get(f"/api/v1/cases/{right}/people", headers=h).json()] == [person_id]


def test_corrections_and_removals_by_who_may_not_are_refused(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    other = web_app.cases.open_case("foster_carer_approval", CW, team_id=web_staff.team_id).ref
    person_id = web_app.persons.add(ref, "child", "Amelia", "Okafor", CW).person_id
    web_app.persons.link(person_id, other, "child", CW)
    h = _token(web_app, email_for("panel_coordinator"))
    assert client.patch(f"/api/v1/people/{person_id}", headers=h, json={"family_name": "X"}).status_code == 403
    assert client.delete(f"/api/v1/cases/{other}/people/{person_id}", headers=h).status_code == 403
    assert (
        client.patch("/api/v1/people/999999", headers=_token(web_app, CW), json={"family_name": "X"}).status_code == 404
    )
    record = web_app.persons.show(person_id, web_app.directory.actor(CW))
    assert record.person.details.family_name == "Okafor"
    assert sorted(c.case_ref for c in record.cases) == sorted([ref, other])
