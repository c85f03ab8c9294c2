"""The panel coordinator's pages over HTTP: a sitting added, a ready case booked, papers sent,
attendance with quorum, the whole agenda's recommendations in one form, the minutes; refusals show
the GOV.UK error summary and write nothing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.support import email_for
from tests.web.conftest import csrf_of, sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from carepath.config.bootstrap import App
    from carepath.engine.clock import FixedClock
    from tests.support import Staff

CW, TM, PC, ADM = (email_for(r) for r in ("caseworker", "team_manager", "panel_coordinator", "agency_decision_maker"))
TODAY = "2026-11-02"


def ready_case(app: App, staff: Staff) -> str:
    """A foster carer case walked to ready for panel through the service."""
    ref = app.cases.open_case("foster_carer_approval", CW, team_id=staff.team_id).ref
    steps: list[tuple[str, str, dict[str, str]]] = [
        (CW, "send_information", {}),
        (CW, "hold_initial_visit", {}),
        (TM, "accept_application", {"application_received_on": TODAY}),
        (CW, "start_assessment", {}),
        (CW, "record_dbs_checks", {"dbs_checks_on": TODAY}),
        (CW, "record_la_checks", {"la_checks_on": TODAY}),
        (CW, "record_medical", {"medical_on": TODAY}),
        (CW, "record_referee_interviews", {"referees_interviewed_on": TODAY}),
        (CW, "record_training", {"training_completed_on": TODAY}),
        (CW, "complete_report", {"report_completed_on": TODAY, "report_type": "full"}),
        (CW, "share_report", {"report_shared_on": TODAY}),
        (TM, "authorise_report", {"report_authorised_on": TODAY}),
    ]
    for who, trigger, facts in steps:
        app.cases.fire(ref, trigger, who, facts=facts)
    return ref


def members(app: App) -> list[int]:
    roles = [["chair"], ["vice_chair"], ["social_worker"], ["independent"], ["independent"], ["medical_adviser"]]
    out = []
    for i, r in enumerate(roles):
        m = app.panels.add_member(f"Member {i}", f"member{i}@council.test", r, ["fostering"], PC)
        out.append(m.id)
    return out


def _post(client: TestClient, page: str, url: str, data: dict[str, object]) -> object:
    return client.post(url, data={"csrf_token": csrf_of(page), **data})


def test_the_coordinators_day(client: TestClient, web_app: App, web_staff: Staff, web_clock: FixedClock) -> None:
    ref = ready_case(web_app, web_staff)
    ids = members(web_app)
    sign_in(client, PC)
    home = client.get("/panels")
    assert f'href="/cases/{ref}"' in home.text  # the ready queue
    bad = client.post(
        "/panels",
        data={
            "csrf_token": csrf_of(home.text),
            "day-day": "12",
            "day-month": "12",
            "day-year": "2026",
            "panel_type": "fostering",
        },
    )
    assert bad.status_code == 400  # a Saturday
    assert "govuk-error-summary" in bad.text
    r = client.post(
        "/panels",
        data={
            "csrf_token": csrf_of(home.text),
            "day-day": "16",
            "day-month": "11",
            "day-year": "2026",
            "panel_type": "fostering",
            "capacity": "4",
        },
    )
    assert r.status_code == 303, r.text[-1500:]
    sitting = r.headers["location"].split("?")[0]
    page = client.get(sitting).text
    assert "0 booked of 4" in page
    wrong = client.post(f"{sitting}/book", data={"csrf_token": csrf_of(page), "ref": "FC-2026-9999"})
    assert wrong.status_code in (400, 404)
    assert client.post(f"{sitting}/book", data={"csrf_token": csrf_of(page), "ref": ref.lower()}).status_code == 303
    assert web_app.reads.case(ref, web_app.directory.actor(TM)).facts["panel_date"] == "2026-11-16"
    page = client.get(sitting).text
    assert client.post(f"{sitting}/papers", data={"csrf_token": csrf_of(page), "ref": ref}).status_code == 303
    page = client.get(sitting).text
    assert "Sent 2 Nov 2026" in page
    assert (
        client.post(f"{sitting}/attendance", data={"csrf_token": csrf_of(page), "members": ids[2:]}).status_code == 303
    )
    page = client.get(sitting).text
    assert "needs a chair or vice chair" in page
    web_clock.advance(days=14)  # the panel sits on the 16th
    sign_in(client, PC)
    page = client.get(sitting).text
    refused = client.post(
        f"{sitting}/recommendations", data={"csrf_token": csrf_of(page), f"outcome-{ref}": "suitable"}
    )
    assert refused.status_code == 400
    assert "no quorum" in refused.text
    assert web_app.reads.case(ref, web_app.directory.actor(TM)).state == "panel_booked"
    assert client.post(f"{sitting}/attendance", data={"csrf_token": csrf_of(page), "members": ids}).status_code == 303
    page = client.get(sitting).text
    done = client.post(f"{sitting}/recommendations", data={"csrf_token": csrf_of(page), f"outcome-{ref}": "suitable"})
    assert done.status_code == 303, done.text[-2000:]
    assert "Final minutes are due for 1 sitting" in client.get("/panels").text
    case = web_app.reads.case(ref, web_app.directory.actor(TM))
    assert case.state == "panel_recommended"
    assert case.facts["panel_held_on"] == "2026-11-16"
    future = client.post(
        f"{sitting}/minutes",
        data={"csrf_token": csrf_of(page), "received-day": "17", "received-month": "11", "received-year": "2026"},
    )
    assert future.status_code == 400
    assert "in the future" in future.text
    web_clock.advance(days=1)  # the minutes arrive the next day
    sign_in(client, PC)
    page = client.get(sitting).text
    r = client.post(
        f"{sitting}/minutes",
        data={"csrf_token": csrf_of(page), "received-day": "17", "received-month": "11", "received-year": "2026"},
    )
    assert r.status_code == 303, r.text[-2000:]
    assert web_app.reads.case(ref, web_app.directory.actor(TM)).state == "awaiting_adm"
    assert re.search(r"received\s+Tuesday 17 November 2026", client.get(sitting).text)


def test_the_sittings_download_as_a_calendar_without_case_details(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    from datetime import date

    from icalendar import Calendar

    ref = ready_case(web_app, web_staff)
    s = web_app.panels.add_sitting(date(2026, 11, 16), "fostering", PC, place="Room 4")
    web_app.panels.book(ref, s.id, PC)
    sign_in(client, PC)
    r = client.get("/panels/calendar.ics?panel_type=fostering")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    events = list(Calendar.from_ical(r.content).walk("VEVENT"))
    assert [e.decoded("dtstart") for e in events] == [date(2026, 11, 16)]
    assert ref not in r.text
    assert client.get("/panels/calendar.ics?panel_type=bogus").status_code == 400


def test_the_agenda_goes_to_the_members_with_references_only(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    from datetime import date

    from tests.support import ADMIN

    ref = ready_case(web_app, web_staff)
    members(web_app)
    s = web_app.panels.add_sitting(date(2026, 11, 16), "fostering", PC, place="Room 4")
    sign_in(client, PC)
    page = client.get(f"/panels/{s.id}").text
    empty = client.post(f"/panels/{s.id}/agenda", data={"csrf_token": csrf_of(page)})
    assert empty.status_code == 400
    assert "no case booked" in empty.text
    web_app.panels.book(ref, s.id, PC)
    page = client.get(f"/panels/{s.id}").text
    sent = client.post(f"/panels/{s.id}/agenda", data={"csrf_token": csrf_of(page)})
    assert sent.status_code == 200
    assert "on its way to 6 member(s)" in sent.text
    rows = [r for r in web_app.reads.outbox(web_app.directory.actor(ADMIN)) if r.kind == "agenda"]
    assert len(rows) == 1
    assert sorted(rows[0].recipients) == sorted(f"member{i}@council.test" for i in range(6))
    from carepath.notifications.render import render

    with web_app.engine.connect() as conn:
        from sqlalchemy import text

        context = conn.execute(text("select context from outbox where kind = 'agenda'")).scalar_one()
    import json

    rendered = render("agenda", json.loads(context) if isinstance(context, str) else context)
    assert ref in rendered.text
    assert "Member 0" not in rendered.text


def test_each_member_subscribes_to_their_own_sittings_by_a_secret_link(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    from datetime import date

    from icalendar import Calendar

    ids = members(web_app)
    s = web_app.panels.add_sitting(date(2026, 11, 16), "fostering", PC, place="Room 4")
    web_app.panels.add_sitting(date(2026, 11, 30), "fostering", PC)  # one they are not down for
    web_app.panels.attend(s.id, ids, PC)
    sign_in(client, PC)
    page = client.get("/panels/members")
    assert page.status_code == 200
    links = re.findall(r'href="http://testserver(/calendars/[^"]+\.ics)"', page.text)
    assert len(links) == 6
    client.cookies.clear()  # a calendar program has no session
    feed = client.get(links[0])
    assert feed.status_code == 200
    days = [e.decoded("dtstart") for e in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert days == [date(2026, 11, 16)]
    assert client.get("/calendars/not-a-real-link.ics").status_code == 404
    web_app.panels.attend(s.id, ids[1:], PC)
    again = Calendar.from_ical(client.get(links[0]).content)
    assert list(again.walk("VEVENT")) == []
    sign_in(client, CW)
    assert client.get("/panels/members").status_code == 403  # the links are the coordinator's to give


def test_a_case_comes_off_the_agenda_before_the_sitting_with_its_reason(
    client: TestClient, web_app: App, web_staff: Staff
) -> None:
    from datetime import date

    ref = ready_case(web_app, web_staff)
    s = web_app.panels.add_sitting(date(2026, 11, 16), "fostering", PC)
    web_app.panels.book(ref, s.id, PC)
    sign_in(client, PC)
    page = client.get(f"/panels/{s.id}").text
    assert "Take off the agenda" in page
    no_reason = client.post(f"/panels/{s.id}/defer", data={"csrf_token": csrf_of(page), "ref": ref})
    assert no_reason.status_code == 400
    assert f'href="#reason-{ref}"' in no_reason.text  # the error summary links to the reason's input
    assert web_app.panels.sitting(s.id, PC).booked == 1  # nothing written
    done = client.post(
        f"/panels/{s.id}/defer",
        data={"csrf_token": csrf_of(page), "ref": ref, f"reason-{ref}": "medical report not back"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert web_app.panels.sitting(s.id, PC).booked == 0
    assert "Deferred: medical report not back" in client.get(f"/panels/{s.id}").text
    assert f'href="/cases/{ref}"' in client.get("/panels").text  # back in the queue
