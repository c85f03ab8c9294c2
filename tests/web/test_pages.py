"""The web app's pages through HTTP (TestClient), on a real SQLite file with the real journeys.

What a caseworker, a manager and an administrator rely on: signing in and out, landing where an
email link points, forms that refuse bad input with the GOV.UK error summary and write nothing, a
stale form refused with what changed, and every view of a case in the read audit.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from carepath.engine.clock import FixedClock
from tests.support import ADMIN, email_for
from tests.web.conftest import PASSWORD, csrf_of, sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from tests.support import Staff

CW = email_for("caseworker")
TM = email_for("team_manager")


def _case(app: App, staff: Staff) -> str:
    return app.cases.open_case("foster_carer_approval", CW, team_id=staff.team_id).ref


def _history_len(app: App, ref: str) -> int:
    _, page = app.reads.history(ref, app.directory.actor(TM))
    return len(page)


def test_an_email_link_lands_on_the_case_after_signing_in(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    r = client.get(f"/cases/{ref}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/sign-in?next=/cases/{ref}"
    assert ref not in client.get(r.headers["location"]).text.split("<main", 1)[1].split("next")[0]
    sign_in(client, CW, next_path=f"/cases/{ref}")
    page = client.get(f"/cases/{ref}")
    assert page.status_code == 200
    assert f"<title>{ref} – carepath" in page.text
    assert "Foster carer" in page.text


def test_sign_in_refuses_a_wrong_password_with_the_error_summary(client: TestClient) -> None:
    page = client.get("/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert token
    r = client.post("/sign-in", data={"email": CW, "password": "wrong password!!", "sign_in_token": token.group(1)})
    assert r.status_code == 400
    assert "govuk-error-summary" in r.text
    assert '<a href="#email">Enter a correct email address and password</a>' in r.text
    assert "carepath_session" not in r.headers.get("set-cookie", "")
    assert client.get("/my-work").status_code == 303


def test_sign_in_never_redirects_off_site(client: TestClient) -> None:
    page = client.get("/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/sign-in",
        data={"email": CW, "password": PASSWORD, "sign_in_token": token.group(1), "next": "//evil.example/x"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_sign_in_form_without_its_token_is_refused(client: TestClient) -> None:
    r = client.post("/sign-in", data={"email": CW, "password": PASSWORD})
    assert r.status_code == 400
    assert "Your sign-in form expired" in r.text


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, CW)
    page = client.get("/my-work")
    assert page.status_code == 200
    cookie = client.cookies.get("carepath_session")
    r = client.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    client.cookies.set("carepath_session", cookie or "")  # the old cookie no longer works
    assert client.get("/my-work").status_code == 303


def test_an_idle_session_signs_in_again(client: TestClient, web_clock: FixedClock) -> None:
    sign_in(client, CW)
    assert client.get("/my-work").status_code == 200
    web_clock.advance(minutes=31)
    r = client.get("/my-work")
    assert r.status_code == 303
    assert "expired=1" in r.headers["location"]
    assert "inactive" in client.get(r.headers["location"]).text


def test_my_work_lists_my_cases_with_their_next_deadline(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    page = client.get("/my-work")
    assert page.status_code == 200
    assert f'href="/cases/{ref}"' in page.text
    assert "FS1" in page.text  # the enquiry's first deadline
    assert "working days left" in page.text or "days left" in page.text
    filtered = client.get("/my-work?journey=child_adoption_pathway").text.split("My cases</h2>", 1)[1]
    assert f'href="/cases/{ref}"' not in filtered


def test_my_work_refuses_a_bad_filter_with_a_clear_page(client: TestClient) -> None:
    sign_in(client, CW)
    r = client.get("/my-work?journey=nonsense")
    assert r.status_code == 400
    assert "no journey" in r.text
    r = client.get("/my-work?status=bogus")
    assert r.status_code == 400


def test_a_move_through_its_generated_form(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    form = client.get(f"/cases/{ref}/actions/send_information")
    assert form.status_code == 200
    data = {
        "csrf_token": csrf_of(form.text),
        "version": re.search(r'name="version" value="(\d+)"', form.text).group(1),  # type: ignore[union-attr]
        "seq": "1",
        "note": "Pack posted",
    }
    r = client.post(f"/cases/{ref}/actions/send_information", data=data)
    assert r.status_code == 303, r.text[-1500:]
    assert web_app.reads.case(ref, web_app.directory.actor(CW)).state == "initial_contact"
    timeline = client.get(f"/cases/{ref}/timeline")
    assert "Pack posted" in timeline.text
    assert "Information sent or call logged" in timeline.text


def test_a_bad_date_is_shown_against_its_field_and_nothing_is_written(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, TM)
    for trigger in ("send_information", "hold_initial_visit"):
        web_app.cases.fire(ref, trigger, TM)
    before = _history_len(web_app, ref)
    form = client.get(f"/cases/{ref}/actions/accept_application")
    assert 'id="application_received_on-day"' in form.text
    base = {"csrf_token": csrf_of(form.text), "version": "3", "seq": "3"}
    r = client.post(
        f"/cases/{ref}/actions/accept_application",
        data={**base, "application_received_on-day": "31", "application_received_on-month": "2"},
    )
    assert r.status_code == 400
    assert '<a href="#application_received_on-year">' in r.text
    assert "must include a year" in r.text
    r = client.post(
        f"/cases/{ref}/actions/accept_application",
        data={
            **base,
            "application_received_on-day": "1",
            "application_received_on-month": "1",
            "application_received_on-year": "2027",
        },
    )
    assert r.status_code == 400
    assert "future" in r.text
    assert 'href="#application_received_on-day"' in r.text
    assert _history_len(web_app, ref) == before
    assert web_app.reads.case(ref, web_app.directory.actor(TM)).state == "initial_visit"


def test_a_stale_form_is_refused_with_what_changed(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    form = client.get(f"/cases/{ref}/actions/send_information")
    version = re.search(r'name="version" value="(\d+)"', form.text).group(1)  # type: ignore[union-attr]
    web_app.cases.note(ref, TM, "Rang the applicant", kind="phone")  # a colleague writes first
    web_app.cases.hold(ref, TM, "Applicant in hospital")
    r = client.post(
        f"/cases/{ref}/actions/send_information",
        data={"csrf_token": csrf_of(form.text), "version": version, "seq": "1"},
    )
    assert r.status_code == 409
    assert "changed since you opened it" in r.text
    assert "Rang the applicant" in r.text
    assert "Put on hold" in r.text
    assert web_app.reads.case(ref, web_app.directory.actor(CW)).state == "on_hold"


def test_a_form_post_without_the_csrf_token_is_refused(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    before = _history_len(web_app, ref)
    r = client.post(f"/cases/{ref}/actions/note", data={"kind": "note", "text": "hello"})
    assert r.status_code == 403
    r = client.post(f"/cases/{ref}/actions/note", data={"kind": "note", "text": "hello", "csrf_token": "forged"})
    assert r.status_code == 403
    assert _history_len(web_app, ref) == before


def test_a_note_and_a_reassignment(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, TM)
    form = client.get(f"/cases/{ref}/actions/note")
    r = client.post(
        f"/cases/{ref}/actions/note",
        data={"csrf_token": csrf_of(form.text), "kind": "visit", "text": "Saw the family at home"},
    )
    assert r.status_code == 303
    form = client.get(f"/cases/{ref}/actions/assign")
    r = client.post(
        f"/cases/{ref}/actions/assign",
        data={"csrf_token": csrf_of(form.text), "owner": TM},
    )
    assert r.status_code == 303, r.text[-1500:]
    assert web_app.reads.case_listing(ref, web_app.directory.actor(TM)).owner == TM
    assert "Saw the family at home" in client.get(f"/cases/{ref}/timeline").text


def test_a_caseworker_cannot_reach_the_manager_pages(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    assert client.get(f"/cases/{ref}/actions/assign").status_code == 403
    assert client.get("/team").status_code == 403
    assert client.get("/admin/users").status_code == 403
    nav = client.get("/my-work").text
    assert 'href="/team"' not in nav
    assert 'href="/admin/users"' not in nav


def test_the_team_page_shows_caseload_and_due_deadlines(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, TM)
    page = client.get("/team")
    assert page.status_code == 200
    assert ref in page.text
    assert "Caseload" in page.text


def test_every_case_view_is_in_the_read_audit(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    client.get(f"/cases/{ref}")
    client.get(f"/cases/{ref}/timeline")
    views = list(web_app.accounts.viewers(ref, ADMIN))
    assert [(v.email, v.what, v.via) for v in views][:2] == [(CW, "timeline", "web"), (CW, "case", "web")]
    client.cookies.clear()
    sign_in(client, ADMIN)
    page = client.get(f"/admin/viewers?ref={ref.lower()}")
    assert page.status_code == 200
    assert CW in page.text


def test_security_headers_and_no_store(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    r = client.get(f"/cases/{ref}")
    assert r.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in r.text
    assert " style=" not in r.text
    cookie = r.request.headers.get("cookie", "")
    assert "carepath_session" in cookie


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient) -> None:
    page = client.get("/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert token
    r = client.post("/sign-in", data={"email": CW, "password": PASSWORD, "sign_in_token": token.group(1)})
    cookie = r.headers["set-cookie"].lower()
    assert "carepath_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_no_case_data_reaches_someone_signed_out(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    for path in (f"/cases/{ref}", f"/cases/{ref}/timeline", "/my-work", "/deadlines", "/team", f"/cases?q={ref}"):
        r = client.get(path)
        assert r.status_code == 303, path
        assert ref not in r.text


def test_bad_input_never_answers_500(client: TestClient, web_app: App, web_staff: Staff) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, TM)
    for path in (
        "/cases/NOPE-2026-0001",
        "/cases/%00%01",
        "/cases/" + "A" * 5000,
        f"/cases/{ref}/actions/nonsense",
        f"/cases/{ref}/actions/" + "x" * 3000,
        f"/cases/{ref}/timeline?after=zzz",
        "/deadlines?after=not-a-cursor",
        "/my-work?stage=" + "%FF" * 10,
        "/cases?q=" + "%00" * 50,
        "/team?team=" + "x" * 500,
    ):
        r = client.get(path)
        assert r.status_code < 500, (path, r.status_code, r.text[-800:])
    form = client.get(f"/cases/{ref}/actions/note")
    token = csrf_of(form.text)
    for data in (
        {"kind": "nonsense", "text": "x"},
        {"kind": "note", "text": "\x00"},
        {"kind": "note", "text": "x" * 100_000},
        {"kind": "note", "text": "ok", "on-day": "99", "on-month": "99", "on-year": "99999"},
        {"kind": "note", "text": "ok", "version": "abc"},
    ):
        r = client.post(f"/cases/{ref}/actions/note", data={**data, "csrf_token": token})
        assert r.status_code < 500, (data, r.text[-800:])
        assert r.status_code == 400


def test_an_administrator_adds_a_user_who_can_then_sign_in(client: TestClient, web_app: App) -> None:
    sign_in(client, ADMIN)
    page = client.get("/admin/users")
    token = csrf_of(page.text)
    bad = client.post(
        "/admin/users",
        data={"csrf_token": token, "email": "new@council.test", "name": "New Worker", "password": "short"},
    )
    assert bad.status_code == 400
    assert '<a href="#roles">Select at least one role</a>' in bad.text
    assert 'href="#password"' in bad.text
    assert "new@council.test" not in [u.email for u in web_app.reads.users(web_app.directory.actor(ADMIN))]
    ok = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "new@council.test",
            "name": "New Worker",
            "roles": ["caseworker"],
            "password": "a long enough first password",
        },
    )
    assert ok.status_code == 200
    assert "new@council.test can now sign in" in ok.text
    client.cookies.clear()
    sign_in(client, "new@council.test", "a long enough first password")
    assert client.get("/my-work").status_code == 200


def test_an_administrator_adds_a_closure(client: TestClient, web_app: App) -> None:
    sign_in(client, ADMIN)
    token = csrf_of(client.get("/admin/calendar").text)
    bad = client.post("/admin/calendar", data={"csrf_token": token, "day-day": "24", "day-month": "12"})
    assert bad.status_code == 400
    assert "must include a year" in bad.text
    ok = client.post(
        "/admin/calendar",
        data={"csrf_token": token, "day-day": "24", "day-month": "12", "day-year": "2026", "reason": "Council closure"},
    )
    assert ok.status_code == 200
    assert "Thursday 24 December 2026 added" in ok.text
    days = [o.day for o in web_app.reads.overrides(web_app.directory.actor(ADMIN))]
    assert date(2026, 12, 24) in days


def test_my_work_has_a_search_box_that_finds_a_case_by_reference(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    assert 'action="/cases"' in client.get("/my-work").text
    r = client.get(f"/cases?q={ref.lower()}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/cases/{ref}"


def test_signed_out_mid_form_keeps_what_was_typed(
    client: TestClient, web_app: App, web_staff: Staff, web_clock: FixedClock
) -> None:
    ref = _case(web_app, web_staff)
    sign_in(client, CW)
    form = client.get(f"/cases/{ref}/actions/note")
    web_clock.advance(minutes=45)  # a long phone call
    r = client.post(
        f"/cases/{ref}/actions/note",
        data={"csrf_token": csrf_of(form.text), "kind": "phone", "text": "Long call about the <b>visit</b>"},
    )
    assert r.status_code == 401
    assert "what you entered is kept" in r.text
    assert 'name="kept:text" value="Long call about the &lt;b&gt;visit&lt;/b&gt;"' in r.text
    assert _history_len(web_app, ref) == 1  # nothing saved while signed out
    token = re.search(r'name="sign_in_token" value="([^"]+)"', r.text)
    assert token
    back = client.post(
        "/sign-in",
        data={
            "email": CW,
            "password": PASSWORD,
            "sign_in_token": token.group(1),
            "next": f"/cases/{ref}/actions/note",
            "kept:kind": "phone",
            "kept:text": "Long call about the <b>visit</b>",
        },
    )
    assert back.status_code == 200
    assert "Check what you entered" in back.text
    assert "Long call about the &lt;b&gt;visit&lt;/b&gt;</textarea>" in back.text
    assert 'value="phone" checked' in back.text
    saved = client.post(
        f"/cases/{ref}/actions/note",
        data={"csrf_token": csrf_of(back.text), "kind": "phone", "text": "Long call about the <b>visit</b>"},
    )
    assert saved.status_code == 303
    assert _history_len(web_app, ref) == 2


def test_my_work_in_the_navigation_counts_my_overdue_deadlines(
    client: TestClient, web_app: App, web_staff: Staff, web_clock: FixedClock
) -> None:
    _case(web_app, web_staff)
    sign_in(client, CW)
    assert "moj-badge" not in client.get("/my-work").text  # nothing overdue yet
    web_clock.advance(days=10)  # the first response (FS1) is now overdue
    sign_in(client, CW)
    page = client.get("/my-work").text
    badge = re.search(r'<span class="moj-badge">(\d+)<span class="govuk-visually-hidden"> ([^<]+)</span>', page)
    assert badge is not None
    assert badge.group(2) == "overdue deadlines on your cases"
    assert int(badge.group(1)) >= 1


def test_a_move_not_in_my_role_is_one_plain_line_and_writes_nothing(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    ref = _case(web_app, web_staff)
    for trigger in ("send_information", "hold_initial_visit"):
        web_app.cases.fire(ref, trigger, TM)
    sign_in(client, CW)
    page = client.get(f"/cases/{ref}")
    before = _history_len(web_app, ref)
    r = client.post(
        f"/cases/{ref}/actions/accept_application",
        data={
            "csrf_token": csrf_of(page.text),
            "application_received_on-day": "3",
            "application_received_on-month": "11",
            "application_received_on-year": "2026",
        },
    )
    assert r.status_code == 400
    assert '<a href="#application_received_on-day">Needs a team manager</a>' in r.text
    assert _history_len(web_app, ref) == before
