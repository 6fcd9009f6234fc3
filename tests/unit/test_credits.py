from decimal import Decimal

import pytest

from domain.credits import MAX_CREDITS, Credits
from domain.errors import InvalidAmount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", "1.00"), ("0.1", "0.10"), ("12.50", "12.50"), ("1.500", "1.50"), (7, "7.00")],
)
def test_positive_amounts_are_kept_exactly_with_two_places(raw: str | int, expected: str) -> None:
    assert Credits.positive(raw).value == Decimal(expected)
    assert str(Credits.positive(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0", "greater than zero"),
        ("-1", "negative"),
        ("NaN", "not a finite"),
        ("Infinity", "not a finite"),
        ("-inf", "not a finite"),
        ("ten", "not a number"),
        ("", "not a number"),
        ("1.005", "more than 2 decimal places"),
        ("0.0000000000000000000000000000001", "more than 2 decimal places"),
        ("1e30", "exceeds the maximum"),
        (str(MAX_CREDITS + Decimal("0.01")), "exceeds the maximum"),
    ],
)
def test_invalid_amounts_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidAmount, match=reason):
        Credits.positive(raw)


@pytest.mark.parametrize("raw", [0.1, 1.0, True])
def test_floats_and_booleans_are_refused_because_they_are_not_exact(raw: object) -> None:
    with pytest.raises(InvalidAmount, match="exact decimal"):
        Credits.positive(raw)  # type: ignore[arg-type]


def test_the_maximum_itself_is_allowed() -> None:
    assert Credits.positive(str(MAX_CREDITS)).value == MAX_CREDITS


def test_minor_units_round_trip_exactly() -> None:
    credits = Credits.positive("123456789.07")
    assert credits.minor_units == 12345678907
    assert Credits.from_minor_units(credits.minor_units) == credits


def test_subtracting_below_zero_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="negative"):
        Credits.positive("1") - Credits.positive("2")


def test_adding_beyond_the_maximum_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="exceeds the maximum"):
        Credits(MAX_CREDITS) + Credits.positive("0.01")
