"""Hostile values: amounts, ids and strings that no command may accept.

Each strategy is built from what the README promises (an amount is positive, exact, at most
two places and at most 10^12; ids are UUIDs; ...), never from Keel's own validators, so a
validator that let something through would be caught rather than consulted.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

SQL_LOOKING = [
    "'; DROP TABLE users; --",
    "1; DELETE FROM wallets",
    "' OR '1'='1",
    '"; UPDATE wallets SET balance = 0; --',
    "0 UNION SELECT * FROM ledger_postings",
]
LARGEST_AMOUNT = Decimal(10) ** 12


def _as_any_type(value: Decimal) -> st.SearchStrategy[Any]:
    """The same hostile value as a Decimal, a string, and (when integral) an int."""
    forms: list[Any] = [value, str(value)]
    if value == value.to_integral_value():
        forms.append(int(value))
    return st.sampled_from(forms)


def _hundredths(low: int | None, high: int | None) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-2))


negative_amounts = _hundredths(None, -1).flatmap(_as_any_type)
zero_amounts = st.sampled_from([0, "0", "0.00", "-0", Decimal("0"), Decimal("-0.00"), "0e5"])
not_finite_amounts = st.sampled_from(
    ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", Decimal("NaN"), Decimal("-Infinity")]
)
# A third decimal place that is not zero: 0.001, 12.345, ...
over_precise_amounts = (
    st.integers(1, 10**9)
    .filter(lambda n: n % 10 != 0)
    .map(lambda n: Decimal(n).scaleb(-3))
    .flatmap(_as_any_type)
)
huge_amounts = st.one_of(
    st.just(10**13),
    st.just("1e13"),
    _hundredths(int(LARGEST_AMOUNT * 100) + 1, None).flatmap(_as_any_type),
)
# Floats are never exact enough for money, whatever their value.
float_amounts = st.one_of(st.floats(), st.sampled_from([0.1, 1.5, 10.0, math.nan, math.inf]))
# Without a digit no text is a finite number; Unicode digits count, so all of category Nd goes.
non_numeric_amounts = st.one_of(
    st.text(st.characters(exclude_categories=["Nd", "Cs"]), max_size=20),
    st.sampled_from(["1,5", "1.2.3", "--1", "1-", "0x10", "$5", "5 credits", *SQL_LOOKING]),
)
wrongly_typed_values = st.sampled_from([None, True, False, [], {}, ["1"], {"amount": "1"}])

bad_amounts = st.one_of(
    negative_amounts,
    zero_amounts,
    not_finite_amounts,
    over_precise_amounts,
    huge_amounts,
    float_amounts,
    non_numeric_amounts,
    wrongly_typed_values,
)
"""Values that are never an amount to move, whatever the wallets hold."""


def parses_as_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


malformed_ids = st.one_of(
    st.text(max_size=50).filter(lambda text: not parses_as_uuid(text)),
    st.sampled_from(["", "0", "not-a-uuid", "12345678-1234-5678-1234-56781234567", *SQL_LOOKING]),
    st.integers(),
    wrongly_typed_values.filter(lambda value: value is not None),
)
"""Values that are no id; None is left out, as it means "none" for optional ids."""

unknown_ids = st.uuids()
"""Well-formed ids that name nothing in any database: uuid4 never repeats."""

control_characters = st.characters(categories=["Cc"], exclude_characters="\t\n\r")
"""C0 and C1 controls and DEL, but tabs and line breaks, which descriptions may hold."""


def with_control_character(text: str) -> st.SearchStrategy[str]:
    """`text` with a control character (other than a tab or a line break) inside it.

    Never at either end: names and titles are stripped first, which takes some of them away.
    """
    return st.tuples(st.integers(1, len(text) - 1), control_characters).map(
        lambda where: text[: where[0]] + where[1] + text[where[0] :]
    )


blank_texts = st.sampled_from(["", " ", "\t", "\n", "   \n  "])
bad_titles = st.one_of(
    blank_texts,
    st.integers(201, 400).map(lambda n: "t" * n),
    st.sampled_from(["Design", *SQL_LOOKING]).flatmap(with_control_character),
    # Line breaks and tabs count as control characters in a title, unlike in a description.
    st.sampled_from(["two\nlines", "tab\there", "carriage\rreturn"]),
    wrongly_typed_values,
)
bad_descriptions = st.one_of(
    st.just("d" * 10_001),
    st.sampled_from(["notes", *SQL_LOOKING]).flatmap(with_control_character),
    wrongly_typed_values,
)
bad_emails = st.one_of(
    blank_texts,
    st.sampled_from(["no-at-sign", "@example.com", "a@", "a@b", "a@@b.com", "a b@c.com"]),
    st.sampled_from(SQL_LOOKING),
    st.just("a" * 250 + "@example.com"),
    st.just("ada@example.com").flatmap(with_control_character),
    wrongly_typed_values,
)
bad_usernames = st.one_of(
    blank_texts,
    st.sampled_from(["ab", "-dash-first", ".dot-first", "has space", "Ünïcode", "semi;colon"]),
    st.integers(33, 64).map(lambda n: "u" * n),
    st.sampled_from(SQL_LOOKING),
    st.just("ada_lovelace").flatmap(with_control_character),
    wrongly_typed_values,
)
