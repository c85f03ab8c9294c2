"""Tests for engine.calendar: working days, calendar arithmetic and time limits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carepath.engine.calendar import (
    Limit,
    WorkingCalendar,
    add_days,
    add_months,
    add_weeks,
    due_date,
    fraction_point,
    parse_limit,
)
from carepath.engine.errors import InvalidInput

ENG = WorkingCalendar("ENG")
SCT = WorkingCalendar("SCT")

ENG_WLS_BANK_HOLIDAYS_2025_2027 = [
    date(2025, 1, 1),
    date(2025, 4, 18),
    date(2025, 4, 21),
    date(2025, 5, 5),
    date(2025, 5, 26),
    date(2025, 8, 25),
    date(2025, 12, 25),
    date(2025, 12, 26),
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 5, 25),
    date(2026, 8, 31),
    date(2026, 12, 25),
    date(2026, 12, 28),
    date(2027, 1, 1),
    date(2027, 3, 26),
    date(2027, 3, 29),
    date(2027, 5, 3),
    date(2027, 5, 31),
    date(2027, 8, 30),
    date(2027, 12, 27),
    date(2027, 12, 28),
]

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


# --- working days -------------------------------------------------------------------------


def test_good_friday_2026_is_not_a_working_day() -> None:
    assert not ENG.is_working_day(date(2026, 4, 3))
    assert ENG.holiday_name(date(2026, 4, 3)) == "Good Friday"


def test_ordinary_weekday_is_a_working_day() -> None:
    assert ENG.is_working_day(date(2026, 3, 4))
    assert ENG.holiday_name(date(2026, 3, 4)) is None


def test_weekends_are_not_working_days() -> None:
    assert not ENG.is_working_day(date(2026, 3, 7))  # Saturday
    assert not ENG.is_working_day(date(2026, 3, 8))  # Sunday
    assert ENG.holiday_name(date(2026, 3, 7)) is None


@pytest.mark.parametrize("wls", [False, True], ids=["ENG", "WLS"])
@pytest.mark.parametrize("day", ENG_WLS_BANK_HOLIDAYS_2025_2027, ids=str)
def test_every_england_and_wales_bank_holiday_2025_to_2027_is_not_a_working_day(
    day: date, wls: bool
) -> None:
    calendar = WorkingCalendar("WLS") if wls else ENG
    assert not calendar.is_working_day(day)
    assert calendar.holiday_name(day) is not None


def test_eng_weekday_holidays_in_2026_are_exactly_the_listed_ones() -> None:
    year = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    non_working_weekdays = {d for d in year if d.weekday() < 5 and not ENG.is_working_day(d)}
    listed_2026 = {d for d in ENG_WLS_BANK_HOLIDAYS_2025_2027 if d.year == 2026}
    assert non_working_weekdays == listed_2026


def test_boxing_day_2026_falls_on_saturday_and_is_observed_on_monday() -> None:
    assert ENG.holiday_name(date(2026, 12, 26)) == "Boxing Day"
    assert not ENG.is_working_day(date(2026, 12, 28))


def test_scotland_differs_2_january_2026_is_a_holiday_for_sct_but_not_eng() -> None:
    assert not SCT.is_working_day(date(2026, 1, 2))
    assert ENG.is_working_day(date(2026, 1, 2))


def test_scotland_differs_easter_monday_2026_is_worked_in_sct() -> None:
    assert SCT.is_working_day(date(2026, 4, 6))
    assert not ENG.is_working_day(date(2026, 4, 6))


def test_northern_ireland_has_st_patricks_day() -> None:
    nir = WorkingCalendar("NIR")
    assert not nir.is_working_day(date(2026, 3, 17))
    assert ENG.is_working_day(date(2026, 3, 17))


@pytest.mark.parametrize("subdiv", ["UK", "eng", "England", "", "GB"])
def test_unknown_subdivision_is_invalid_input_naming_it(subdiv: str) -> None:
    with pytest.raises(InvalidInput, match=f"subdivision '{subdiv}'"):
        WorkingCalendar(subdiv)


def test_local_closure_is_not_a_working_day() -> None:
    calendar = WorkingCalendar("ENG", closures=[date(2026, 12, 24)])
    assert ENG.is_working_day(date(2026, 12, 24))
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert calendar.holiday_name(date(2026, 12, 24)) == "local closure"


def test_local_closure_pushes_a_due_date() -> None:
    calendar = WorkingCalendar("ENG", closures=[date(2026, 12, 24)])
    limit = parse_limit("3 working days")
    assert due_date(date(2026, 12, 21), limit, ENG) == date(2026, 12, 24)
    assert due_date(date(2026, 12, 21), limit, calendar) == date(2026, 12, 29)


def test_opening_overrides_a_bank_holiday() -> None:
    calendar = WorkingCalendar("ENG", openings=[date(2026, 4, 6)])
    assert calendar.is_working_day(date(2026, 4, 6))
    assert calendar.holiday_name(date(2026, 4, 6)) is None


def test_opening_overrides_a_closure() -> None:
    day = date(2026, 12, 24)
    calendar = WorkingCalendar("ENG", closures=[day], openings=[day])
    assert calendar.is_working_day(day)


def test_opening_does_not_override_a_weekend() -> None:
    calendar = WorkingCalendar("ENG", openings=[date(2026, 3, 7)])
    assert not calendar.is_working_day(date(2026, 3, 7))


def test_with_overrides_adds_to_a_copy() -> None:
    closed = ENG.with_overrides(closures=[date(2026, 12, 24)])
    reopened = closed.with_overrides(openings=[date(2026, 12, 24), date(2026, 12, 28)])
    assert ENG.is_working_day(date(2026, 12, 24))
    assert not closed.is_working_day(date(2026, 12, 24))
    assert reopened.is_working_day(date(2026, 12, 24))
    assert reopened.is_working_day(date(2026, 12, 28))
    assert reopened.subdiv == "ENG"


# --- add_working_days and friends ---------------------------------------------------------


def test_within_7_working_days_of_wed_4_march_2026_is_fri_13_march() -> None:
    assert ENG.add_working_days(date(2026, 3, 4), 7) == date(2026, 3, 13)
    assert due_date(date(2026, 3, 4), parse_limit("7 working days"), ENG) == date(2026, 3, 13)


def test_40_working_days_beginning_with_fri_1_may_2026_is_mon_29_june() -> None:
    limit = parse_limit("40 working days")
    got = due_date(date(2026, 5, 1), limit, ENG, counting="beginning_with")
    assert got == date(2026, 6, 29)
    assert ENG.working_days_beginning_with(date(2026, 5, 1), 40) == date(2026, 6, 29)


def test_40_working_days_after_fri_1_may_2026_is_tue_30_june() -> None:
    assert due_date(date(2026, 5, 1), parse_limit("40 working days"), ENG) == date(2026, 6, 30)


def test_5_working_days_before_panel_wed_8_april_2026_is_mon_30_march() -> None:
    assert ENG.add_working_days(date(2026, 4, 8), -5) == date(2026, 3, 30)
    assert due_date(date(2026, 4, 8), parse_limit("-5 working days"), ENG) == date(2026, 3, 30)


def test_add_zero_working_days_returns_start_even_on_a_holiday() -> None:
    assert ENG.add_working_days(date(2026, 4, 3), 0) == date(2026, 4, 3)


def test_add_working_days_from_a_weekend() -> None:
    assert ENG.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)
    assert ENG.add_working_days(date(2026, 3, 7), -1) == date(2026, 3, 6)


def test_beginning_with_1_working_day_on_saturday_2_may_2026_is_tue_5_may() -> None:
    # Mon 4 May 2026 is the Early May bank holiday, so the first working day is Tue 5 May.
    got = due_date(date(2026, 5, 2), parse_limit("1 working day"), ENG, "beginning_with")
    assert got == date(2026, 5, 5)


def test_beginning_with_1_working_day_on_saturday_9_may_2026_is_mon_11_may() -> None:
    got = due_date(date(2026, 5, 9), parse_limit("1 working day"), ENG, "beginning_with")
    assert got == date(2026, 5, 11)


def test_beginning_with_1_wd_on_sat_2_may_2026_when_may_day_is_worked_is_mon_4_may() -> None:
    # Sat 2026-05-02 -> Mon 2026-05-04 only for a calendar that works the May bank holiday.
    calendar = WorkingCalendar("ENG", openings=[date(2026, 5, 4)])
    got = due_date(date(2026, 5, 2), parse_limit("1 working day"), calendar, "beginning_with")
    assert got == date(2026, 5, 4)


def test_beginning_with_1_working_day_on_a_working_day_is_that_day() -> None:
    assert ENG.working_days_beginning_with(date(2026, 3, 4), 1) == date(2026, 3, 4)


@pytest.mark.parametrize("n", [0, -1])
def test_working_days_beginning_with_needs_n_at_least_1(n: int) -> None:
    with pytest.raises(InvalidInput, match=f"n={n}"):
        ENG.working_days_beginning_with(date(2026, 3, 4), n)


def test_working_days_between_fri_13_and_mon_16_march_2026_is_1() -> None:
    # Due Fri 13 March, still open on Mon 16 March: breached by 1 working day.
    assert ENG.working_days_between(date(2026, 3, 13), date(2026, 3, 16)) == 1


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (date(2026, 3, 4), date(2026, 3, 4), 0),
        (date(2026, 3, 16), date(2026, 3, 13), -1),
        (date(2026, 3, 4), date(2026, 3, 13), 7),
        (date(2026, 4, 2), date(2026, 4, 7), 1),  # Good Friday, weekend, Easter Monday
        (date(2026, 3, 7), date(2026, 3, 8), 0),  # Saturday -> Sunday
        (date(2025, 12, 24), date(2026, 1, 2), 4),  # across the year end
    ],
)
def test_working_days_between_examples(a: date, b: date, expected: int) -> None:
    assert ENG.working_days_between(a, b) == expected


# --- calendar arithmetic ------------------------------------------------------------------


def test_calendar_days_1_may_2026_plus_28_days_is_29_may() -> None:
    assert add_days(date(2026, 5, 1), 28) == date(2026, 5, 29)
    assert due_date(date(2026, 5, 1), parse_limit("28 days"), ENG) == date(2026, 5, 29)


def test_weeks_12_january_2026_plus_10_weeks_is_23_march() -> None:
    assert add_weeks(date(2026, 1, 12), 10) == date(2026, 3, 23)
    assert due_date(date(2026, 1, 12), parse_limit("10 weeks"), ENG) == date(2026, 3, 23)


def test_months_31_october_2025_plus_4_months_is_28_february_2026() -> None:
    assert add_months(date(2025, 10, 31), 4) == date(2026, 2, 28)
    assert due_date(date(2025, 10, 31), parse_limit("4 months"), ENG) == date(2026, 2, 28)


def test_months_29_february_2024_plus_12_months_is_28_february_2025() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert due_date(date(2024, 2, 29), parse_limit("1 year"), ENG) == date(2025, 2, 28)


def test_chained_review_15_april_2026_plus_6_months_is_15_october() -> None:
    assert add_months(date(2026, 4, 15), 6) == date(2026, 10, 15)
    assert due_date(date(2026, 4, 15), parse_limit("6 months"), ENG) == date(2026, 10, 15)


def test_weekend_due_date_is_not_rolled_28_october_2025_plus_4_months() -> None:
    got = due_date(date(2025, 10, 28), parse_limit("4 months"), ENG)
    assert got == date(2026, 2, 28)
    assert got.weekday() == 5  # Saturday, and it stays there


def test_holiday_due_date_is_not_rolled_for_calendar_days() -> None:
    # 2026-03-27 + 7 days = Good Friday 2026-04-03, left as is.
    assert due_date(date(2026, 3, 27), parse_limit("7 days"), ENG) == date(2026, 4, 3)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 31), -2, date(2025, 11, 30)),
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2023, 3, 29), 11, date(2024, 2, 29)),
        (date(2026, 5, 17), 0, date(2026, 5, 17)),
    ],
)
def test_add_months_examples(start: date, n: int, expected: date) -> None:
    assert add_months(start, n) == expected


def test_add_months_out_of_range_overflows() -> None:
    with pytest.raises(OverflowError):
        add_months(date(9999, 12, 1), 1)


# --- due_date counting --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28 days", date(2026, 5, 28)),
        ("1 day", date(2026, 5, 1)),
        ("2 weeks", date(2026, 5, 14)),
        ("1 month", date(2026, 5, 31)),
        ("4 months", date(2026, 8, 31)),
    ],
)
def test_due_date_beginning_with_calendar_periods_include_the_start_day(
    text: str, expected: date
) -> None:
    got = due_date(date(2026, 5, 1), parse_limit(text), ENG, "beginning_with")
    assert got == expected


@pytest.mark.parametrize("text", ["-5 working days", "0 working days", "-3 days", "0 months"])
def test_due_date_beginning_with_needs_a_positive_amount(text: str) -> None:
    with pytest.raises(InvalidInput, match="beginning with"):
        due_date(date(2026, 4, 8), parse_limit(text), ENG, "beginning_with")


def test_due_date_unknown_counting_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="counting 'before'"):
        due_date(date(2026, 4, 8), Limit(5, "days"), ENG, "before")  # type: ignore[arg-type]


def test_due_date_past_the_end_of_the_calendar_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="9999-12-01"):
        due_date(date(9999, 12, 1), Limit(2, "months"), ENG)


# --- limits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 working days", Limit(7, "working_days")),
        ("1 working day", Limit(1, "working_days")),
        ("40 working days", Limit(40, "working_days")),
        ("4 months", Limit(4, "months")),
        ("1 month", Limit(1, "months")),
        ("12 months", Limit(12, "months")),
        ("16 weeks", Limit(16, "weeks")),
        ("1 week", Limit(1, "weeks")),
        ("28 days", Limit(28, "days")),
        ("1 day", Limit(1, "days")),
        ("-5 working days", Limit(-5, "working_days")),
        ("1 year", Limit(12, "months")),
        ("2 years", Limit(24, "months")),
        ("7 wd", Limit(7, "working_days")),
        ("7 WD", Limit(7, "working_days")),
        ("7wd", Limit(7, "working_days")),
        ("  7 Working  Days \n", Limit(7, "working_days")),
        ("4 MONTHS", Limit(4, "months")),
        ("+3 weeks", Limit(3, "weeks")),
    ],
)
def test_parse_limit_accepts(text: str, expected: Limit) -> None:
    assert parse_limit(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("7 wrking days", "limit '7 wrking days': unknown unit 'wrking days'"),
        ("7 fortnights", "unknown unit 'fortnights'"),
        ("7 calendar days", "unknown unit 'calendar days'"),
        ("seven days", "limit 'seven days': expected a whole number"),
        ("7.5 days", "limit '7.5 days'"),
        ("7", "limit '7'"),
        ("days", "limit 'days'"),
        ("", "limit ''"),
        ("   ", "limit '   '"),
        ("7 days 3", "limit '7 days 3'"),
        ("100000 days", "too large"),
    ],
)
def test_parse_limit_rejects_naming_the_text(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        parse_limit(text)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (Limit(7, "working_days"), "7 working days"),
        (Limit(1, "working_days"), "1 working day"),
        (Limit(-5, "working_days"), "-5 working days"),
        (Limit(4, "months"), "4 months"),
        (Limit(1, "months"), "1 month"),
        (Limit(16, "weeks"), "16 weeks"),
        (Limit(1, "weeks"), "1 week"),
        (Limit(28, "days"), "28 days"),
        (Limit(1, "days"), "1 day"),
    ],
)
def test_limit_str(limit: Limit, text: str) -> None:
    assert str(limit) == text
    assert parse_limit(text) == limit


def test_limit_rejects_unknown_unit() -> None:
    with pytest.raises(InvalidInput, match="'fortnights'"):
        Limit(2, "fortnights")  # type: ignore[arg-type]


# --- fraction_point -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, date(2026, 5, 1)),
        (0.5, date(2026, 5, 15)),
        (0.75, date(2026, 5, 22)),
        (0.9, date(2026, 5, 26)),  # 25.2 days -> floor 25
        (1.0, date(2026, 5, 29)),
    ],
)
def test_fraction_point_of_28_day_period(fraction: float, expected: date) -> None:
    assert fraction_point(date(2026, 5, 1), date(2026, 5, 29), fraction) == expected


def test_fraction_point_floors_without_float_error() -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point; the answer is day 29.
    start = date(2026, 1, 1)
    assert fraction_point(start, start + timedelta(days=100), 0.29) == date(2026, 1, 30)


def test_fraction_point_odd_span_floors() -> None:
    assert fraction_point(date(2026, 3, 1), date(2026, 3, 4), 0.5) == date(2026, 3, 2)


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_fraction_point_rejects_fraction_outside_0_to_1(fraction: float) -> None:
    with pytest.raises(InvalidInput, match="fraction"):
        fraction_point(date(2026, 5, 1), date(2026, 5, 29), fraction)


# --- properties ---------------------------------------------------------------------------


@given(d=dates, n=st.integers(min_value=1, max_value=300))
def test_property_working_days_between_inverts_add_working_days(d: date, n: int) -> None:
    assert ENG.working_days_between(d, ENG.add_working_days(d, n)) == n


@given(d=dates, n=st.integers(min_value=1, max_value=300))
def test_property_add_then_subtract_working_days_returns_to_or_before_start(
    d: date, n: int
) -> None:
    back = ENG.add_working_days(ENG.add_working_days(d, n), -n)
    assert back <= d
    assert ENG.is_working_day(back)
    if ENG.is_working_day(d):
        assert back == d


@given(d=dates, n=st.integers(min_value=-240, max_value=240))
def test_property_add_months_never_grows_the_day_number(d: date, n: int) -> None:
    got = add_months(d, n)
    assert got.day <= d.day
    assert (got.year * 12 + got.month) - (d.year * 12 + d.month) == n


@given(
    a=dates, span=st.integers(min_value=-60, max_value=60), subdiv=st.sampled_from(["ENG", "SCT"])
)
def test_property_working_days_between_matches_day_by_day_count(
    a: date, span: int, subdiv: str
) -> None:
    calendar = ENG if subdiv == "ENG" else SCT
    b = a + timedelta(days=span)
    low, high = min(a, b), max(a, b)
    days = [low + timedelta(days=i) for i in range(1, (high - low).days + 1)]
    count = sum(1 for day in days if calendar.is_working_day(day))
    assert calendar.working_days_between(a, b) == (count if b >= a else -count)


@given(a=dates, span=st.integers(min_value=-10, max_value=800), closed=st.sets(dates, max_size=6))
def test_property_closed_weekdays_between_are_the_weekdays_not_worked_in_order(
    a: date, span: int, closed: set[date]
) -> None:
    calendar = ENG.with_overrides(closures=closed)
    b = a + timedelta(days=span)
    days = [a + timedelta(days=i) for i in range(1, span + 1)]
    assert calendar.closed_weekdays_between(a, b) == [
        day for day in days if day.weekday() < 5 and not calendar.is_working_day(day)
    ]


def test_christmas_2026_and_a_closure_are_the_weekdays_a_deadline_skips() -> None:
    calendar = ENG.with_overrides(closures=[date(2026, 12, 29)])
    assert calendar.closed_weekdays_between(date(2026, 12, 20), date(2027, 1, 5)) == [
        date(2026, 12, 25),  # Christmas Day, a Friday
        date(2026, 12, 28),  # Boxing Day falls on Saturday: the substitute Monday
        date(2026, 12, 29),  # the council's closure
        date(2027, 1, 1),  # New Year's Day
    ]
