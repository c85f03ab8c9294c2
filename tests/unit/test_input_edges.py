"""The boundary checks of engine/text.py, the settings loader and the workflow loader's limits, on their own."""

from __future__ import annotations

import math
from datetime import date

import pytest

from carepath.engine.errors import InvalidInput, WorkflowDefinitionError
from carepath.engine.text import (
    choice,
    cursor,
    day_in_range,
    email_address,
    fact_values,
    findable,
    note,
    record_id,
    reference,
)

SURROGATES = "bad \udcff\udcfe bytes"


def refusal(fn: object, *args: object) -> str:
    with pytest.raises(InvalidInput) as refused:
        fn(*args)  # type: ignore[operator]
    return str(refused.value)


def test_fact_values_keep_what_json_holds() -> None:
    facts = {"on": "2026-11-02", "n": 3, "x": 2.5, "ok": True, "none": None, "list": [1, "a", {"k": "v"}]}
    assert fact_values(facts) == facts
    assert fact_values({"blank": ""}) == {"blank": ""}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "fact 'n' is not a finite number"),
        ([1, math.inf], "fact 'n' is not a finite number"),
        ({"a": -math.inf}, "fact 'n' is not a finite number"),
        (2**53, "too large to keep exactly"),
        ("a\x00b", "fact 'n' must be one line without control characters"),
        ("a\r\nb", "fact 'n' must be one line"),
        (SURROGATES, "fact 'n' is not valid UTF-8 text"),
        ("x" * 1001, "fact 'n' is longer than 1000 characters"),
        ("2026-02-30", "fact 'n' is not a real date"),
        ("1066-10-14", "fact 'n' 1066-10-14 is before 1900-01-01"),
        ([[[[["deep"]]]]], "nests lists or objects more than 4 deep"),
        (["x" * 900] * 30, "the facts are too large"),
        (object(), "is not text, a number, yes/no or a list"),
    ],
)
def test_fact_values_refuse_what_cannot_be_kept(value: object, message: str) -> None:
    assert message in refusal(fact_values, {"n": value})


@pytest.mark.parametrize("name", ["", "a b", "1st", "a\x00", "x" * 81, SURROGATES])
def test_fact_names_are_identifiers(name: str) -> None:
    assert "a fact name" in refusal(fact_values, {name: 1})


def test_references() -> None:
    assert reference(" FC-2026-0001 ") == "FC-2026-0001"
    assert reference("SM-LEGACY-1") == "SM-LEGACY-1"
    assert "longer than 40" in refusal(reference, "R" * 41)
    assert "is empty" in refusal(reference, "   ")
    assert "one line" in refusal(reference, "A\r\nB")
    assert "may hold only letters" in refusal(reference, "Jane SMITH dob 2015-03-01")
    assert "may hold only letters" in refusal(reference, "-FC-1")


def test_notes_keep_lines_and_refuse_control_characters() -> None:
    assert note("  first line\nsecond\tline  ") == "first line\nsecond\tline"
    assert note("   ") is None
    assert note(None) is None
    assert refusal(note, "a\x00b") == "the note holds control characters"
    assert refusal(note, "a\x1b[31m") == "the note holds control characters"
    assert refusal(note, SURROGATES) == "the note is not valid UTF-8 text"
    assert refusal(note, "x" * 4001) == "the note is longer than 4000 characters"


@pytest.mark.parametrize(
    "value",
    [
        "c@council.example, leak@evil.example",
        "<c@council.example>",
        '"quoted"@council.example',
        "a..b@council.example",
        "a@council..example",
        "a@-council.example",
        "a@localhost",
        "a" * 65 + "@council.example",
        "a@" + "b" * 64 + ".example",
        f"{SURROGATES}@council.example",
    ],
)
def test_email_addresses_are_one_plain_address(value: str) -> None:
    with pytest.raises(InvalidInput):
        email_address(value)


def test_email_addresses_that_are_fine() -> None:
    assert email_address("Sam.O'Neil+fostering@Council.Example") == "sam.o'neil+fostering@council.example"
    assert email_address("ada.admin@demo.carepath.invalid") == "ada.admin@demo.carepath.invalid"
    assert email_address("x@xn--bcher-kva.example") == "x@xn--bcher-kva.example"


def test_dates_ids_and_cursors_in_range() -> None:
    assert day_in_range(date(2026, 11, 2)) == date(2026, 11, 2)
    assert refusal(day_in_range, date(1, 1, 1), "--on") == "--on 0001-01-01 is before 1900-01-01"
    assert refusal(day_in_range, date(9999, 12, 31), "--on") == "--on 9999-12-31 is after 2100-12-31"
    assert record_id(7) == 7
    assert "from 1 to 2,147,483,647" in refusal(record_id, 0)
    assert "from 1 to 2,147,483,647" in refusal(record_id, 2**31)
    assert cursor(None) is None
    assert cursor("2026-11-02~SM-2026-0001~17") == "2026-11-02~SM-2026-0001~17"
    assert "not one this list gave" in refusal(cursor, "2026-11-02~99999999999999999999")
    assert "longer than 400" in refusal(cursor, "x" * 401)
    assert not findable("SM\x00")
    assert not findable(SURROGATES)
    assert not findable("x" * 401)
    assert findable("SM-2026-0001")


def test_choice_names_the_valid_values_and_the_closest() -> None:
    states = ["enquiry", "visit", "ready_for_panel", "panel"]
    assert choice("visit", states, "--state") == "visit"
    assert refusal(choice, "ready_for_pannel", states, "--state") == (
        "unknown --state: did you mean 'ready_for_panel'? use one of enquiry, panel, ready_for_panel, visit"
    )
    assert refusal(choice, "bogus", ["open", "closed"], "--status") == "unknown --status: use one of closed, open"
    assert len(refusal(choice, "x" * 100_000, states, "--state")) < 200


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CAREPATH_SMTP__PORT", "abc", "bad setting CAREPATH_SMTP__PORT: Input should be a valid integer"),
        ("CAREPATH_CATCHER__PORT", "0", "bad setting CAREPATH_CATCHER__PORT: Input should be greater than or equal"),
        ("CAREPATH_DIGEST_TIME", "25:99", "bad setting CAREPATH_DIGEST_TIME: Input should be in a valid time format"),
        ("CAREPATH_CALENDAR_SUBDIV", "XX", "bad setting CAREPATH_CALENDAR_SUBDIV: Input should be 'ENG'"),
        ("CAREPATH_DATABASE_URL", "bogus", "bad setting CAREPATH_DATABASE_URL: use sqlite:///FILE or postgresql://"),
        ("CAREPATH_CONVENTIONS", "{bad", "bad setting CAREPATH_CONVENTIONS: not valid JSON"),
        ("CAREPATH_BASE_URL", "ftp://x", "bad setting CAREPATH_BASE_URL: use an http:// or https:// address"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carepath.config.settings import load_settings

    monkeypatch.setenv(name, value)
    text = refusal(load_settings)
    assert text.startswith(message), text
    assert "\n" not in text
    assert value not in text or value in ("0",), text


# -- the workflow loader's limits ---------------------------------------------------------------


def _yaml(extra: str) -> str:
    return f"id: x\nversion: 1\ntitle: X\n{extra}\n"


def problem(text: str | bytes) -> str:
    from carepath.workflows.loader import parse_workflow

    with pytest.raises(WorkflowDefinitionError) as refused:
        parse_workflow(text if isinstance(text, str) else text.decode("utf-8", "replace"), "x.v1.yaml")
    return str(refused.value)


def test_aliases_are_allowed_in_moderation_but_not_a_billion_laughs() -> None:
    shared = _yaml("a: &r [1, 2]\nb: *r\nc: *r")
    assert "expands" not in problem(shared)  # refused later for its shape, not for the alias
    laughs = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    assert "x.v1.yaml:9: expands to more than 100,000 values" in problem(_yaml("\n".join(laughs)))


def test_nesting_and_odd_characters_are_named_with_the_line() -> None:
    assert "x.v1.yaml:4: nests deeper than 40 levels" in problem(_yaml("deep: " + "[" * 3000 + "]" * 3000))
    assert "x.v1.yaml:4: nests deeper than 40 levels" in problem(_yaml("me: &m [1, *m]"))
    assert "x.v1.yaml:4: character #x0000 is not allowed" in problem(_yaml("bad: a\x00b"))


def test_file_size_and_encoding(tmp_path: object) -> None:
    from pathlib import Path

    from carepath.workflows.loader import load_workflow

    folder = Path(str(tmp_path))
    big = folder / "big.v1.yaml"
    big.write_text(_yaml("# " + "x" * 1_000_001), encoding="utf-8")
    latin = folder / "latin.v1.yaml"
    latin.write_bytes(_yaml("title2: \xe9t\xe9").encode("latin-1"))
    for path, message in ((big, "file is larger than 1,000,000 bytes"), (latin, "latin.v1.yaml:4: is not UTF-8")):
        with pytest.raises(WorkflowDefinitionError) as refused:
            load_workflow(path)
        assert message in str(refused.value)
