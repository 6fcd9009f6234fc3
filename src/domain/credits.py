"""Credits: the exact quantity of money that wallets hold and the ledger moves."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidAmount

DECIMAL_PLACES = 2
MINOR_UNITS_PER_CREDIT = 10**DECIMAL_PLACES
MAX_CREDITS = Decimal("1000000000000.00")
_QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)


def exact_decimal(raw: Decimal | int | str) -> Decimal:
    """Read `raw` as an exact decimal; floats are refused because they are not exact."""
    if isinstance(raw, bool) or not isinstance(raw, Decimal | int | str):
        raise InvalidAmount(f"an amount must be an exact decimal, not {type(raw).__name__}")
    try:
        value = Decimal(raw.strip() if isinstance(raw, str) else raw)
    except InvalidOperation:
        raise InvalidAmount(f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise InvalidAmount(f"{raw} is not a finite amount")
    # Counting places is only needed when the exponent allows more than two (every amount
    # that Keel itself produces has two at most).
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -DECIMAL_PLACES and _decimal_places(value) > DECIMAL_PLACES:
        raise InvalidAmount(f"{raw} has more than {DECIMAL_PLACES} decimal places")
    return value


def _decimal_places(value: Decimal) -> int:
    # Read from the digits themselves: normalize() and quantize() round to the context precision.
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


@dataclass(frozen=True, slots=True, order=True)
class Credits:
    """A non-negative, bounded amount of credits with at most two decimal places."""

    value: Decimal

    def __post_init__(self) -> None:
        value = exact_decimal(self.value)
        if value < 0:
            raise InvalidAmount(f"{value} is negative")
        if value > MAX_CREDITS:
            raise InvalidAmount(f"{value} exceeds the maximum of {MAX_CREDITS} credits")
        object.__setattr__(self, "value", value.quantize(_QUANTUM))

    @classmethod
    def positive(cls, raw: Decimal | int | str) -> Credits:
        """An amount to move: like `Credits`, and also greater than zero."""
        credits = cls(exact_decimal(raw))
        if credits.value == 0:
            raise InvalidAmount("an amount to move must be greater than zero")
        return credits

    @classmethod
    def zero(cls) -> Credits:
        return cls(Decimal(0))

    @classmethod
    def from_minor_units(cls, minor_units: int) -> Credits:
        return cls(Decimal(minor_units).scaleb(-DECIMAL_PLACES))

    @property
    def minor_units(self) -> int:
        return int(self.value.scaleb(DECIMAL_PLACES))

    def __add__(self, other: Credits) -> Credits:
        return Credits(self.value + other.value)

    def __sub__(self, other: Credits) -> Credits:
        return Credits(self.value - other.value)

    def __str__(self) -> str:
        return str(self.value)
